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
 * conmon's own start (its exec, libraries, double fork, the stand-in) costs tens of ms, so one
 * instance is prepared ahead ({@link Spare}): the next launch only writes its command and one
 * line to a FIFO, as runc's create/start split does for CRI-O. conmon's bundle is this
 * monitor's (`<dir>/bundles/<id>`), since a spare exists before its pod is known.
 *
 * Cost, measured by `npm run bench`: one conmon process per running container (about 0.33 MB
 * PSS on Debian 12) plus one spare, no process per container in podvisor.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { SH, errText, findExecutable, procStartTime, shq, tryKill, within } from '../proc-util.js';
import { ExitDir } from './exit-dir.js';
import { watchSetup } from './setup-channel.js';
import { joinSpareCgroup, removeSpareCgroup, SparePool, sweepSpareCgroups, WAIT_SCRIPT, writeCommand, type SpareBase } from './spares.js';
import type { LaunchSpec, Launched, Monitor, MonitorExit, MonitorRecord, Reattached, Reservation } from './types.js';

/**
 * The OCI runtime stand-in conmon runs. `create` makes the bundle's `go` FIFO and runs
 * `<bundle>/start` (sourced in a subshell, which its `exec` replaces) with fd 3 appending to
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
[ -f "$b/start" ] || { echo "podvisor: no start script in $b" >&2; exit 1; }
[ -e "$b/go" ] || mkfifo -m 0600 "$b/go" || exit 1
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
  /**
   * A cgroup v1 directory where each spare's future main process joins a leaf of its own
   * (`spare-<id>`) while it waits, off the restart path (see {@link Reservation.cgroup}).
   */
  spareCgroupRoot?: string;
  /** Other cgroup v1 directories (usage accounting) where spares join a leaf of the same name ahead. */
  spareAccountingRoots?: readonly string[];
  /** Spares kept ready (default {@link CONMON_SPARES}). */
  spares?: number;
}

/**
 * Spares kept ready under conmon: an in-place restart starts a pod's containers at once, and
 * each launch without a ready spare waits for a conmon start (20–30 ms). Measured on the
 * 5-container pod of `npm run bench` (b): p50 66–88 ms with 3, 100–135 ms with 1. An idle spare
 * costs about 0.4 MB (conmon and a shell).
 */
export const CONMON_SPARES = 3;

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

/**
 * An instance started ahead: conmon runs, the stand-in ran, and the container's future main
 * process (a shell in its own session) waits on the `go` FIFO of the conmon bundle. Launching
 * writes the command and one line to the FIFO, so conmon's own start (its exec, its double fork
 * and the stand-in, most of a start's cost) is off the restart path, as runc's create/start split
 * takes it off CRI-O's. The FIFO's only writer is this process: if it ends, the shell reads EOF
 * and exits, and conmon with it (no spare outlives podvisor).
 */
interface Spare extends SpareBase {
  bundle: string;
  pid: number;
  monitorPid?: number;
  go: number;
  exit: Promise<MonitorExit>;
}

/** The conmon monitor. Create with {@link ConmonMonitor.create}. */
export class ConmonMonitor implements Monitor {
  readonly kind = 'conmon';
  readonly outlivesPodvisor = true;
  private readonly exits: ExitDir;
  private readonly shim: string;
  private readonly socketDir: string;
  private readonly bundles: string;
  private readonly spares: SparePool<Spare>;

  private constructor(private readonly opts: ConmonOptions) {
    this.exits = new ExitDir(path.join(opts.dir, 'exits'));
    this.shim = path.join(opts.dir, 'podvisor-oci-shim');
    this.socketDir = path.join(opts.dir, 'sockets');
    this.bundles = path.join(opts.dir, 'bundles');
    this.spares = new SparePool((id) => this.startSpare(id), (sp) => this.endSpare(sp), () => randomBytes(16).toString('hex'), opts.spares ?? CONMON_SPARES);
  }

  /**
   * Prepares the monitor's directory (stand-in script, exit, socket and bundle directories) and
   * removes what spares of an earlier process left (they never ran a container).
   */
  static async create(opts: ConmonOptions): Promise<ConmonMonitor> {
    const m = new ConmonMonitor(opts);
    await fsp.mkdir(opts.dir, { recursive: true, mode: 0o755 });
    await m.exits.init();
    await fsp.mkdir(m.socketDir, { recursive: true, mode: 0o700 });
    await fsp.mkdir(m.bundles, { recursive: true, mode: 0o700 });
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
    // Spares of an earlier process (it died while they waited): end them and their files.
    for (const id of await fsp.readdir(m.bundles).catch(() => [] as string[])) {
      const bundle = path.join(m.bundles, id);
      if (!fs.existsSync(path.join(bundle, 'spare'))) continue;
      const pid = Number(fs.readFileSync(path.join(bundle, 'pid'), { encoding: 'utf8', flag: 'a+' }).trim());
      if (pid > 0 && cmdlineOf(pid).includes(bundle)) {
        tryKill(pid, 'SIGKILL');
        // conmon writes into the bundle until its exit record is out.
        await within(m.exits.wait(id), 2_000);
      }
      await fsp.rm(bundle, { recursive: true, force: true }).catch(() => undefined);
      await fsp.rm(path.join(m.socketDir, id), { force: true });
      await m.exits.forget(id);
      await removeSpareCgroup(opts.spareCgroupRoot, id, opts.spareAccountingRoots);
    }
    await sweepSpareCgroups(opts.spareCgroupRoot, opts.spareAccountingRoots);
    return m;
  }

  /** conmon's bundle of an instance (its files, the set-up channel, the FIFO). */
  private bundleOf(id: string): string {
    return path.join(this.bundles, id);
  }

  /**
   * The next launch: a spare when one is ready or being started, else a fresh ID (the launch
   * starts conmon itself).
   */
  async reserve(): Promise<Reservation> {
    const spare = await this.spares.take();
    if (!spare) return { id: randomBytes(16).toString('hex') };
    return spare.cgroup === undefined ? { id: spare.id } : { id: spare.id, cgroup: spare.cgroup };
  }

  /** Starts conmon for `id`, up to the container's future main process waiting on its FIFO. */
  private async startSpare(id: string, joinCgroup = true): Promise<Spare> {
    const bundle = this.bundleOf(id);
    await fsp.mkdir(bundle, { recursive: true, mode: 0o700 });
    await fsp.writeFile(path.join(bundle, 'spare'), '');
    const fifo = path.join(bundle, 'go');
    // setsid: the container's process leads its own session and process group (the group kill
    // of a container); it exec's without forking since it is no group leader.
    await fsp.writeFile(path.join(bundle, 'start'),
      // The stand-in made the FIFO; opening it for reading waits until podvisor opened its end
      // (once conmon reported the PID), the only writer: the read sees EOF as soon as podvisor
      // is gone, so no spare outlives it (one whose podvisor died in between is ended by the
      // next podvisor's create()).
      `exec 4<"$b/go"\nexec ${shq(this.opts.setsid)} ${SH} -c ${shq(WAIT_SCRIPT)} sh "$b/command"\n`, { mode: 0o600 });
    const exit = this.exits.wait(id);
    const conmonPidFile = path.join(bundle, 'conmon.pid');
    const args = [
      '--api-version', '1', '-c', id, '-u', id, '-n', id,
      '-r', this.shim, '-b', bundle, '-p', path.join(bundle, 'pid'), '-P', conmonPidFile,
      '--exit-dir', this.exits.dir, '-0', bundle, '--socket-dir-path', this.socketDir,
      '-l', `k8s-file:${path.join(bundle, 'ctr.log')}`, '--no-sync-log', '--log-level', 'error',
    ];
    const child = spawn(this.opts.conmon, args, { env: { PATH: SPARE_PATH, _OCI_SYNCPIPE: '3' }, cwd: '/', stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
    const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
    // conmon forks: the process spawned here writes the conmon PID file and exits, while the
    // forked one reports the container's PID on the sync pipe, so that report can come first.
    const firstExited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const sync = await Promise.race([readSync(child.stdio[3] as NodeJS.ReadableStream | null), spawnError]);
    // The stand-in made the FIFO before reporting. Read-write: opening never blocks, and the
    // shell's EOF comes only when this process is gone.
    let go = -1;
    if (!(sync instanceof Error) && sync !== undefined && sync.data > 0) {
      try {
        go = fs.openSync(fifo, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
      } catch (err) {
        tryKill(sync.data, 'SIGKILL');
        await within(exit, 2_000);
        await this.exits.forget(id);
        await fsp.rm(bundle, { recursive: true, force: true });
        throw new Error(`cannot open the spare's FIFO: ${errText(err)}`, { cause: err });
      }
    }
    if (sync instanceof Error || sync === undefined || sync.data <= 0) {
      await this.exits.forget(id);
      await fsp.rm(bundle, { recursive: true, force: true });
      if (sync instanceof Error) throw new Error(`cannot start conmon (${this.opts.conmon}): ${errText(sync)}`);
      throw new Error(`conmon could not start the container: ${sync?.message ?? 'it exited without reporting a PID'}`);
    }
    const spare: Spare = { id, bundle, pid: sync.data, go, exit };
    // Without the monitor's PID a later podvisor process cannot tell that conmon still runs,
    // and would take a running container for lost (found by the chaos soak: 1 launch in 1,600).
    await within(firstExited, 2_000);
    let monitorPid = NaN;
    try {
      monitorPid = Number(fs.readFileSync(conmonPidFile, 'utf8').trim());
    } catch {
      // not written: the container's parent is the monitor
    }
    if (!(Number.isSafeInteger(monitorPid) && monitorPid > 0)) monitorPid = parentPidOf(sync.data) ?? NaN;
    if (Number.isSafeInteger(monitorPid) && monitorPid > 1) spare.monitorPid = monitorPid;
    void exit.then(() => { spare.exited = true; });
    const leaf = joinCgroup ? await joinSpareCgroup(this.opts.spareCgroupRoot, id, spare.pid, this.opts.spareAccountingRoots) : undefined;
    if (leaf !== undefined) spare.cgroup = leaf;
    return spare;
  }

  async launch(spec: LaunchSpec): Promise<Launched> {
    // Started for this launch: the runtime's wrapper joins its own leaf, so no spare leaf.
    const spare = this.spares.claim(spec.id) ?? await this.startSpare(spec.id, false);
    const { bundle } = spare;
    const go = spare.go;
    try {
      writeCommand(path.join(bundle, 'command'), spec);
      // conmon writes the log it opened at its start; the runtime's file takes its place (same inode).
      fs.renameSync(path.join(bundle, 'ctr.log'), spec.logPath);
      // No longer a spare from here: a podvisor that dies now leaves a container to re-adopt.
      fs.rmSync(path.join(bundle, 'spare'), { force: true });
      fs.writeSync(go, 'go\n');
    } catch (err) {
      await this.endSpare(spare);
      throw err;
    }
    // Our end stays open until the shell has read its line: it may not have opened the FIFO yet,
    // and a FIFO without a writer would make that open wait forever and drop the line.
    const setup = watchSetup(bundle, spare.exit).finally(() => {
      fs.closeSync(go);
      // The next spare, now that this container runs (after the caller's reaction to the start).
      this.spares.replenishSoon();
    });
    const launched: Launched = { pid: spare.pid, setup, exit: spare.exit };
    if (spare.monitorPid !== undefined) launched.monitorPid = spare.monitorPid;
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

  /** For a reservation never launched: resolves once its process is gone (bounded). */
  async forget(id: string): Promise<void> {
    // Reserved but never launched: its process ends, then its files go.
    if (await this.spares.giveBack(id)) return;
    await this.exits.forget(id);
    await fsp.rm(this.bundleOf(id), { recursive: true, force: true });
    await fsp.rm(path.join(this.socketDir, id), { force: true }); // conmon's link to the bundle
  }

  async close(): Promise<void> {
    await within(this.spares.close(), 2_500);
    this.exits.close();
  }

  /**
   * Ends a spare that will not run a container: its waiting shell is killed (nothing of a
   * container ran in it yet; it may not have opened its FIFO, so closing ours is not enough),
   * then conmon writes its exit and its files go (bounded).
   */
  private async endSpare(sp: Spare): Promise<void> {
    // An exited spare's PID may be another process's by now.
    if (sp.exited !== true) tryKill(sp.pid, 'SIGKILL');
    try {
      fs.closeSync(sp.go);
    } catch {
      // closed by a launch that failed after writing
    }
    await within(sp.exit, 2_000);
    await this.exits.forget(sp.id);
    await fsp.rm(sp.bundle, { recursive: true, force: true });
    await fsp.rm(path.join(this.socketDir, sp.id), { force: true });
    await removeSpareCgroup(this.opts.spareCgroupRoot, sp.id, this.opts.spareAccountingRoots);
  }
}

function cmdlineOf(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

/** PATH of a spare's waiting shell (the container's own environment comes with its command). */
const SPARE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The parent PID of a process (`/proc/PID/stat`), or undefined when it is gone. */
function parentPidOf(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return Number.isSafeInteger(ppid) && ppid > 1 ? ppid : undefined;
  } catch {
    return undefined;
  }
}
