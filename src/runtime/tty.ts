/**
 * The terminal helpers: the tools a terminal needs (util-linux `script`, coreutils `stty`), sizes
 * in character cells, the pty slave a process holds (for resizes), and the wrapping of an exec's
 * plan under `script`. Used by the streaming exec with `tty` (exec-stream.ts) and by containers
 * and attaches with `tty` (stdio.ts, attach.ts).
 *
 * With a terminal (`tty`), an exec's plan argv runs under util-linux `script`, which gives it a
 * real pseudo-terminal (podvisor cannot: Node has no openpty, and node-pty is a native module to
 * build; `script` is in bsdutils, which is Essential on Debian and Ubuntu). Flags (util-linux
 * 2.38): `-q` (no "Script started" banner), `-e` (exit with the child's status, 128 + n after
 * signal n), `-E always` (the slave's ECHO flag on: script's stdin is a pipe, so the echo of what
 * the client types must come from the pty, as from a remote terminal), `-c <command>`, and
 * `/dev/null` as the typescript (`-f`, flushing the typescript, is moot then: script writes the
 * terminal's output to its stdout unbuffered). script runs `$SHELL -c`: `SHELL=/bin/sh` for
 * script, the container's own given back to the command. That shell first runs `stty rows H cols
 * W` on the pty (the initial size, set before the real command starts; plus `raw -echo` when the
 * wrapper makes the container's terminal itself, `runc exec -t`, which proxies it through
 * script's: only the container's pty may echo and edit lines), then exec's the plan's argv. A
 * line on fd 4 says the terminal is set up: written by that shell, or with `readyInContext` by
 * the last shell in the container's context (sandbox: after `setsid --ctty` inside the
 * container's PID namespace). The client's input and resizes wait for it (input that came
 * earlier would meet the pty in its first modes). A resize is `stty -F /proc/<script>/fd/<slave>
 * rows H cols W`: script keeps the slave open, and setting its size makes the kernel send
 * SIGWINCH to the terminal's foreground process group (works across mount namespaces; on oci,
 * `runc exec` in the foreground is that group and copies the size to the container's own pty).
 * Ending stdin writes the terminal's EOF character (^D; two when a line is pending: the first
 * only submits it), as a user at a terminal does: in canonical mode the command's read() returns
 * 0, so `cat` ends and an interactive `sh` exits. script's own stdin stays open (at its EOF it
 * would write one ^D itself, after waiting up to 2 s for the terminal's input queue to empty).
 * Without `stdin`, the EOF character is written at once (the command reads an empty terminal).
 * script, sh and stty are the host's.
 */
import * as fs from 'node:fs';
import type { ExecPlan } from './exec-plan.js';
import { DEFAULT_PATH, SH, findExecutable, shq } from './proc-util.js';
import type { TerminalSize } from './types.js';

/** The terminal's EOF character (VEOF, ^D). */
export const EOF_CHAR = '\x04';
/** A terminal dimension as `stty` and the kernel take it (`unsigned short`). */
const MAX_CELLS = 0xffff;

/**
 * Absolute paths of the tools a terminal needs (util-linux `script`, coreutils `stty`), or what
 * to install. Also used for containers with `tty` (`stdio.ts`).
 */
export function ttyTools(): { script: string; stty: string } | { missing: string } {
  const where = `${process.env.PATH ?? ''}:${DEFAULT_PATH}`;
  const script = findExecutable('script', where);
  if (script === undefined) return { missing: 'a terminal (kubectl exec -t) needs script from util-linux, which is not installed: apt-get install bsdutils (util-linux on other distributions)' };
  const stty = findExecutable('stty', where);
  if (stty === undefined) return { missing: 'a terminal (kubectl exec -t) needs stty, which is not installed: apt-get install coreutils' };
  return { script, stty };
}

/** A size in character cells `stty` accepts (an integer from 0 to 65535). */
export function cells(n: number): number {
  return Number.isFinite(n) ? Math.min(MAX_CELLS, Math.max(0, Math.trunc(n))) : 0;
}

/** The plan's argv run under `script` on a new pseudo-terminal (see the module comment). */
export function underScript(plan: ExecPlan, tools: { script: string; stty: string }, size: TerminalSize | undefined): { argv: string[]; env: Record<string, string> } {
  // script runs $SHELL -c: /bin/sh, and the command gets the container's SHELL back.
  const env: Record<string, string> = { ...plan.env, SHELL: SH };
  // A terminal's type, as containerd gives a tty exec (kept when the container sets one).
  if (plan.env.TERM === undefined) env.TERM = 'xterm';
  const shell = plan.env.SHELL !== undefined ? `SHELL=${shq(plan.env.SHELL)}; export SHELL` : 'unset SHELL';
  const modes = [...(plan.ownTerminal === true ? ['raw', '-echo'] : []), ...(size ? ['rows', String(cells(size.height)), 'cols', String(cells(size.width))] : [])];
  const stty = modes.length > 0 ? `${shq(tools.stty)} ${modes.join(' ')} 2>/dev/null; ` : '';
  const ready = plan.readyInContext === true ? '' : 'echo >&4; ';
  const command = `${stty}${ready}${shell}; exec ${plan.argv.map(shq).join(' ')}${plan.readyInContext === true ? '' : ' 4>&-'}`;
  return { argv: [tools.script, '-q', '-e', '-E', 'always', '-c', command, '/dev/null'], env };
}

/**
 * `/proc/<pid>/fd/<n>` of the first pseudo-terminal slave (`/dev/pts/N`) process `pid` holds
 * (`script` keeps its pty's slave open), for `stty -F`; undefined when it has none or is gone.
 */
export function ptySlaveOf(pid: number): string | undefined {
  const dir = `/proc/${pid}/fd`;
  try {
    for (const fd of fs.readdirSync(dir)) {
      if (/^\/dev\/pts\/\d+$/.test(fs.readlinkSync(`${dir}/${fd}`))) return `${dir}/${fd}`;
    }
  } catch {
    // the process is gone
  }
  return undefined;
}
