/**
 * A recording fake runtime for agent tests: every call is logged in `calls`, containers run
 * until the test makes them exit (or a signal does), and what a restarted podvisor finds of
 * earlier instances is an adoption table the test fills ({@link FakeRuntime.adoptRunning},
 * {@link FakeRuntime.adoptExited}; anything else is `unknown`). It decides nothing.
 */
import type { Socket } from 'node:net';
import {
  StartError, StreamUnavailableError, type AdoptedInstance, type AttachStream, type ContainerHandle, type ContainerRuntime, type ContainerStartSpec, type ExecResult,
  type ExecStream, type ExitInfo, type ImageService, type MountSpec, type Sandbox, type SandboxSpec,
} from '../../src/runtime/types.js';
import type { FakeClock } from './fake-clock.js';

/** One container instance of the fake. */
export interface FakeInstance {
  id: string;
  name: string;
  /** What it was started with (none for an instance only adopted). */
  spec?: ContainerStartSpec;
  handle: ContainerHandle;
  exit: (code: number) => void;
  exited: boolean;
  signals: string[];
}

export class FakeRuntime implements ContainerRuntime {
  /** Whether `close({ keepContainers })` may leave containers running (set by the test). */
  containersOutlivePodvisor = false;
  readonly name = 'fake';
  /** Set by a test for a runtime that runs images. */
  images: ImageService | undefined;
  calls: string[] = [];
  instances: FakeInstance[] = [];
  /** Exit code on SIGTERM per container name; undefined = ignores SIGTERM. */
  onTerm = new Map<string, number | undefined>();
  execResult: (cmd: string[]) => ExecResult = () => ({ exitCode: 0, output: '', timedOut: false });
  private seq = 0;
  constructor(private readonly clock: FakeClock) {}
  checkMounts(_m: readonly MountSpec[]): string[] {
    return [];
  }
  sandboxSpecs: SandboxSpec[] = [];
  /** The IP the fake sandbox gets (like the sandbox runtime's); none = the host runtime's 127.0.0.1. */
  sandboxIp: string | undefined;
  /** How many of the next sandbox creations fail. */
  failSandboxes = 0;
  /** How many of the next starts of a container fail with CreateContainerError, by name. */
  failCreates = new Map<string, number>();
  /** What `adoptContainer` answers, by instance ID; an ID not in it is `unknown`. */
  adoptions = new Map<string, AdoptedInstance>();
  /** The IDs `adoptContainer` was asked for, in order. */
  adoptCalls: string[] = [];
  /** The `adopted` set of every `reapOrphans` call (sorted). */
  reaped: string[][] = [];
  /** The options of every `close` call. */
  closes: { keepSandboxes?: boolean; keepContainers?: boolean }[] = [];

  async createSandbox(spec: SandboxSpec): Promise<Sandbox> {
    this.calls.push('createSandbox');
    if (this.failSandboxes > 0) {
      this.failSandboxes--;
      throw new Error('failed to set up the pod network: no IP addresses available in range set');
    }
    this.sandboxSpecs.push(spec);
    return { id: 'sb', podUid: spec.podUid, dir: '/tmp/x', emptyDirPaths: {}, ...(this.sandboxIp ? { ip: this.sandboxIp } : {}) };
  }
  /** The pod UIDs of releaseSandbox calls, in order. */
  readonly released: string[] = [];
  async releaseSandbox(s: Pick<Sandbox, 'podUid'>, o: { deleteData: boolean }): Promise<void> {
    this.calls.push(`releaseSandbox(${o.deleteData})`);
    this.released.push(s.podUid);
  }
  /** A running instance: `exit(code)` ends it at the clock's time. */
  private instance(id: string, name: string, startedAt: number, spec?: ContainerStartSpec): FakeInstance {
    let resolve!: (e: ExitInfo) => void;
    const exited = new Promise<ExitInfo>((r) => (resolve = r));
    const inst: FakeInstance = {
      id, name, exited: false, signals: [], handle: { id, pid: 1000 + ++this.seq, startedAt, exited },
      exit: (code) => {
        if (inst.exited) return;
        inst.exited = true;
        resolve({ exitCode: code, oomKilled: false, finishedAt: this.clock.now() });
      },
    };
    if (spec) inst.spec = spec;
    this.instances.push(inst);
    return inst;
  }
  async startContainer(spec: ContainerStartSpec): Promise<ContainerHandle> {
    this.calls.push(`start ${spec.name}`);
    const failures = this.failCreates.get(spec.name) ?? 0;
    if (failures > 0) {
      this.failCreates.set(spec.name, failures - 1);
      throw new StartError('CreateContainerError', `volume "data": mount point /data cannot be created`);
    }
    return this.instance(`fake://${spec.name}-${this.seq + 1}`, spec.name, this.clock.now(), spec).handle;
  }
  /**
   * Puts an instance an earlier podvisor process started in the adoption table as still
   * running (same ID and start time); returns it, so the test can make it exit.
   */
  adoptRunning(id: string, name: string, startedAt: number): FakeInstance {
    const inst = this.instance(id, name, startedAt);
    this.adoptions.set(id, { state: 'running', handle: inst.handle });
    return inst;
  }
  /** Puts an instance in the adoption table as exited while podvisor was down. */
  adoptExited(id: string, startedAt: number, exit: { exitCode: number; finishedAt: number; oomKilled?: boolean }): void {
    this.adoptions.set(id, { state: 'exited', startedAt, exit: { oomKilled: false, ...exit } });
  }
  /** What `launchedInstances` answers: the launch records an earlier process left. */
  launched: { id: string; container: string; startedAt: number }[] = [];
  launchedInstances(_podUid: string): Promise<{ id: string; container: string; startedAt: number }[]> {
    this.calls.push('launchedInstances');
    return Promise.resolve(this.launched);
  }
  adoptContainer(_podUid: string, id: string): Promise<AdoptedInstance> {
    this.adoptCalls.push(id);
    return Promise.resolve(this.adoptions.get(id) ?? { state: 'unknown' });
  }
  async reapOrphans(_podUid: string, adopted?: ReadonlySet<string>): Promise<number> {
    this.reaped.push([...(adopted ?? [])].sort());
    return 0;
  }
  private find(id: string): FakeInstance | undefined {
    return this.instances.find((i) => i.id === id);
  }
  signal(id: string, signal: 'SIGTERM' | 'SIGKILL' | 'SIGINT' | 'SIGHUP'): void {
    const i = this.find(id);
    if (!i) return;
    this.calls.push(`signal ${i.name} ${signal}`);
    i.signals.push(signal);
    if (signal === 'SIGTERM' && this.onTerm.has(i.name)) {
      const code = this.onTerm.get(i.name);
      if (code !== undefined) i.exit(code);
    } else if (signal === 'SIGTERM') i.exit(143);
  }
  async killAll(id: string): Promise<void> {
    const i = this.find(id);
    if (!i || i.exited) return;
    this.calls.push(`killAll ${i.name}`);
    i.exit(137);
  }
  async exec(id: string, command: string[]): Promise<ExecResult> {
    this.calls.push(`exec ${this.find(id)?.name ?? id} ${command.join(' ')}`);
    return this.execResult(command);
  }
  /** The fake runs no processes: streaming exec and port-forward are unavailable. */
  async execStream(): Promise<ExecStream> {
    throw new StreamUnavailableError('the fake runtime has no exec streams');
  }
  async attach(): Promise<AttachStream> {
    throw new StreamUnavailableError('the fake runtime has no attach');
  }
  async connect(): Promise<Socket> {
    throw new StreamUnavailableError('the fake runtime has no pod network');
  }
  async removeContainer(id: string): Promise<void> {
    this.calls.push(`remove ${this.find(id)?.name ?? id}`);
  }
  logPath(): string | undefined {
    return undefined;
  }
  async close(opts: { keepSandboxes?: boolean; keepContainers?: boolean } = {}): Promise<void> {
    this.closes.push(opts);
  }
  live(name: string): FakeInstance {
    const i = [...this.instances].reverse().find((x) => x.name === name && !x.exited);
    if (!i) throw new Error(`${name} is not running`);
    return i;
  }
}
