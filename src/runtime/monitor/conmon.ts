/**
 * The `conmon` monitor: Debian's conmon (2.1.x, the monitor of CRI-O and Podman) is each
 * container's parent instead of podvisor. It holds the container's stdout and stderr and writes
 * them to a Kubernetes CRI format log (`--log-path k8s-file:…`, one timestamp per line), waits
 * for the exit and writes it atomically to the exit directory (`--exit-dir`) and the bundle
 * (`--persist-dir`). It double-forks and calls setsid, so podvisor can crash, stop or be
 * upgraded while containers run; the next podvisor process re-attaches through the exit
 * directory and the PIDs recorded at launch.
 *
 * conmon drives an OCI runtime: it runs `<runtime> create --bundle B --pid-file P ID` and
 * becomes the subreaper of what that leaves behind. For the `host` and `sandbox` runtimes the
 * "OCI runtime" is a small POSIX shell stand-in written by podvisor ({@link SHIM_SCRIPT}): it
 * runs the bundle's start script (sourced in a background subshell: one exec less) (the runtime's wrapper command, in its own session) in the
 * background, writes its PID and returns; the wrapper is then conmon's child. With the `oci`
 * runtime the same monitor runs crun or runc instead.
 *
 * Cost, measured by `npm run bench`: one conmon process per running container (about 0.36 MB
 * PSS on Debian 12), no process per container in podvisor.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { errText, findExecutable, procStartTime, shq } from '../proc-util.js';
import { ExitDir } from './exit-dir.js';
import { watchSetup } from './setup-channel.js';
import type { LaunchSpec, Launched, Monitor, MonitorRecord, Reattached } from './types.js';

/**
 * The OCI runtime stand-in conmon runs. `create` runs `<bundle>/start` (sourced in a
 * subshell, which its `exec` replaces) with fd 3 appending to
 * the set-up channel and stdin from /dev/null, in the background (so it is re-parented to
 * conmon, the subreaper, when the stand-in exits), and writes its PID; every other verb has
 * nothing to do. conmon's own variables are not passed on: the container's environment is
 * exactly its spec's.
 */
export const SHIM_SCRIPT = `#!/bin/sh
# podvisor's stand-in for an OCI runtime under conmon (written by podvisor; do not edit).
b= p= prev= verb=
for a; do
  case $prev in --bundle) b=$a;; --pid-file) p=$a;; esac
  case $a in create) verb=create;; esac
  prev=$a
done
[ "$verb" = create ] || exit 0
[ -x "$b/start" ] || { echo "podvisor: no start script in $b" >&2; exit 1; }
unset _OCI_SYNCPIPE _OCI_STARTPIPE _OCI_ATTACHPIPE
( . "$b/start" ) 3>>"$b/setup" </dev/null &
echo $! > "$p"
`;

/** Where conmon is looked for besides PATH (Debian's package puts it in /usr/bin). */
const CONMON_PLACES = ['/usr/bin/conmon', '/usr/libexec/podman/conmon', '/usr/local/bin/conmon', '/usr/local/libexec/podman/conmon'];

function isExecutableFile(p: string): boolean {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/** Finds conmon and setsid; the reason when the conmon monitor cannot be used. */
export function findConmon(pathEnv: string): { conmon: string; setsid: string } | { missing: string } {
  const conmon = findExecutable('conmon', pathEnv) ?? CONMON_PLACES.find(isExecutableFile);
  if (conmon === undefined) return { missing: 'conmon is not installed (apt-get install conmon)' };
  const setsid = findExecutable('setsid', pathEnv) ?? ['/usr/bin/setsid', '/bin/setsid'].find(isExecutableFile);
  if (setsid === undefined) return { missing: 'setsid is not installed (apt-get install util-linux)' };
  return { conmon, setsid };
}

/** Options of {@link ConmonMonitor}. */
export interface ConmonOptions {
  conmon: string;
  setsid: string;
  /** podvisor's directory for the monitor: the stand-in, exit files, attach socket links. */
  dir: string;
}

/** Reads the first JSON line conmon writes on its sync pipe (`{"data": <pid or -1>, "message": …}`). */
function readSync(stream: NodeJS.ReadableStream | null): Promise<{ data: number; message?: string } | undefined> {
  return new Promise((resolve) => {
    if (!stream) {
      resolve(undefined);
      return;
    }
    let text = '';
    let done = false;
    const finish = (v: { data: number; message?: string } | undefined): void => {
      if (done) return;
      done = true;
      (stream as unknown as { destroy(): void }).destroy();
      resolve(v);
    };
    stream.on('data', (d: Buffer) => {
      text += d.toString();
      const nl = text.indexOf('\n');
      if (nl < 0) return;
      try {
        const v = JSON.parse(text.slice(0, nl)) as { data?: unknown; message?: unknown };
        const out: { data: number; message?: string } = { data: typeof v.data === 'number' ? v.data : -1 };
        if (typeof v.message === 'string') out.message = v.message;
        finish(out);
      } catch {
        finish(undefined);
      }
    });
    stream.once('end', () => finish(undefined));
    stream.once('close', () => finish(undefined));
    stream.once('error', () => finish(undefined));
  });
}

/** The conmon monitor. Create with {@link ConmonMonitor.create}. */
export class ConmonMonitor implements Monitor {
  readonly kind = 'conmon';
  readonly outlivesPodvisor = true;
  private readonly exits: ExitDir;
  private readonly shim: string;
  private readonly socketDir: string;

  private constructor(private readonly opts: ConmonOptions) {
    this.exits = new ExitDir(path.join(opts.dir, 'exits'));
    this.shim = path.join(opts.dir, 'podvisor-oci-shim');
    this.socketDir = path.join(opts.dir, 'sockets');
  }

  /** Prepares the monitor's directory (stand-in script, exit and socket directories). */
  static async create(opts: ConmonOptions): Promise<ConmonMonitor> {
    const m = new ConmonMonitor(opts);
    await fsp.mkdir(opts.dir, { recursive: true, mode: 0o755 });
    await m.exits.init();
    await fsp.mkdir(m.socketDir, { recursive: true, mode: 0o700 });
    let current = '';
    try {
      current = await fsp.readFile(m.shim, 'utf8');
    } catch {
      // not written yet
    }
    if (current !== SHIM_SCRIPT) {
      const tmp = `${m.shim}.${process.pid}.tmp`;
      await fsp.writeFile(tmp, SHIM_SCRIPT, { mode: 0o755 });
      await fsp.rename(tmp, m.shim);
    }
    return m;
  }

  async launch(spec: LaunchSpec): Promise<Launched> {
    const start = path.join(spec.bundle, 'start');
    // setsid: the wrapper leads its own session and process group (the group kill of a
    // container), and it exec's without forking since it is no group leader.
    await fsp.writeFile(start, `#!/bin/sh\nexec ${shq(this.opts.setsid)} ${spec.argv.map(shq).join(' ')}\n`, { mode: 0o700 });
    const exit = this.exits.wait(spec.id);
    const setup = watchSetup(spec.bundle, exit);
    const conmonPidFile = path.join(spec.bundle, 'conmon.pid');
    const args = [
      '--api-version', '1', '-c', spec.id, '-u', spec.id, '-n', spec.id,
      '-r', this.shim, '-b', spec.bundle, '-p', path.join(spec.bundle, 'pid'), '-P', conmonPidFile,
      '--exit-dir', this.exits.dir, '-0', spec.bundle, '--socket-dir-path', this.socketDir,
      '-l', `k8s-file:${spec.logPath}`, '--no-sync-log', '--log-level', 'error',
    ];
    const child = spawn(this.opts.conmon, args, {
      env: { ...spec.env, _OCI_SYNCPIPE: '3' }, cwd: '/', stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
    });
    const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
    const sync = await Promise.race([readSync(child.stdio[3] as NodeJS.ReadableStream | null), spawnError]);
    if (sync instanceof Error) throw new Error(`cannot start conmon (${this.opts.conmon}): ${errText(sync)}`);
    if (sync === undefined || sync.data <= 0) {
      await this.exits.forget(spec.id);
      throw new Error(`conmon could not start the container: ${sync?.message ?? 'it exited without reporting a PID'}`);
    }
    const launched: Launched = { pid: sync.data, setup, exit };
    try {
      const monitorPid = Number((await fsp.readFile(conmonPidFile, 'utf8')).trim());
      if (Number.isSafeInteger(monitorPid) && monitorPid > 0) launched.monitorPid = monitorPid;
    } catch {
      // conmon writes it before reporting the PID; without it only the container's PID is known
    }
    return launched;
  }

  reattach(id: string, _bundle: string, record: MonitorRecord): Promise<Reattached> {
    const found = this.exits.read(id);
    if (found) return Promise.resolve({ state: 'exited', exit: found });
    const containerAlive = record.pidStartTime !== undefined && procStartTime(record.pid) === record.pidStartTime;
    const monitorAlive = record.monitorPid !== undefined && record.monitorStartTime !== undefined
      && procStartTime(record.monitorPid) === record.monitorStartTime;
    if (monitorAlive) return Promise.resolve({ state: 'running', exit: this.exits.wait(id) });
    // The monitor is gone: nobody will write the exit, unless it did so just now.
    const late = this.exits.read(id);
    if (late) return Promise.resolve({ state: 'exited', exit: late });
    return Promise.resolve({
      state: 'unknown',
      why: containerAlive ? 'its monitor (conmon) is gone while the container still runs' : 'its monitor (conmon) is gone and left no exit record',
    });
  }

  forget(id: string): Promise<void> {
    return this.exits.forget(id);
  }

  close(): void {
    this.exits.close();
  }
}
