/**
 * The host runtime's in-process start checks: for a container that sees the host filesystem
 * (no mount namespace), the working dir and the command are checked before launch instead of
 * in the wrapper shell, which spares it a subshell (a fork) per start.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * The wrapper's working-dir and command checks, done in-process for containers that see the
 * host filesystem: `workdir`, `notfound`, `noexec`, or undefined when the start can proceed.
 */
export function precheck(cmd: string, pathVar: string, workingDir: string): 'workdir' | 'notfound' | 'noexec' | undefined {
  try {
    if (!fs.statSync(workingDir).isDirectory()) return 'workdir';
  } catch {
    return 'workdir';
  }
  const executable = (p: string): boolean => {
    try {
      return fs.statSync(p).isFile() && (fs.accessSync(p, fs.constants.X_OK), true);
    } catch {
      return false;
    }
  };
  if (cmd.includes('/')) {
    const p = path.resolve(workingDir, cmd);
    if (!fs.existsSync(p)) return 'notfound';
    return executable(p) ? undefined : 'noexec';
  }
  // A restart looks the same command up again: try the file found last time first.
  const key = `${workingDir}\0${pathVar}\0${cmd}`;
  const known = resolvedCommands.get(key);
  if (known !== undefined && executable(known)) return undefined;
  for (const d of pathVar.split(':')) {
    const p = path.resolve(workingDir, d === '' ? '.' : d, cmd);
    if (executable(p)) {
      if (resolvedCommands.size >= 1024) resolvedCommands.clear();
      resolvedCommands.set(key, p);
      return undefined;
    }
  }
  return 'notfound';
}

/** `precheck`'s PATH lookups: (working dir, PATH, command) → the executable found. */
const resolvedCommands = new Map<string, string>();
