/**
 * The node agent over a real file store whose writes fail (a regular file put where a store
 * directory must be, which stops root too), with a fake runtime and a fake clock:
 * - a request whose change cannot be stored fails with StorageFailedError and changes nothing
 *   (no pod, no sandbox, no container, no deletion started);
 * - a worker's report that cannot be stored is logged, never thrown (vitest fails a test on an
 *   unhandled rejection), the API keeps serving what is stored, and the change is stored by the
 *   retry once the fault is gone;
 */
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock, settle } from './fake-clock.js';
import { StorageFailedError } from '../../src/agent/errors.js';
import { admitted } from './admit.js';
import { NodeAgent } from '../../src/agent/node.js';
import type { WatchEvent } from '../../src/agent/node-api.js';
import type { EventObject } from '../../src/api/records.js';
import type { Pod } from '../../src/api/types.js';
import type { PodState } from '../../src/core/model.js';
import {
  StreamUnavailableError, type AdoptedInstance, type AttachStream, type ContainerHandle, type ContainerRuntime, type ContainerStartSpec, type ExecResult, type ExecStream, type ExitInfo,
  type Sandbox, type SandboxSpec,
} from '../../src/runtime/types.js';
import { FileStore } from '../../src/store/file-store.js';



/** Containers run until they are told to exit or get a signal (then they exit 143/137). */
class FakeRuntime implements ContainerRuntime {
  readonly containersOutlivePodvisor = false;
  adoptContainer(): Promise<AdoptedInstance> {
    return Promise.resolve({ state: 'unknown' });
  }
  readonly name = 'fake';
  calls: string[] = [];
  private readonly exits = new Map<string, (code: number) => void>();
  private seq = 0;
  constructor(private readonly clock: FakeClock) {}
  checkMounts(): string[] {
    return [];
  }
  async createSandbox(spec: SandboxSpec): Promise<Sandbox> {
    this.calls.push('createSandbox');
    return { id: 'sb', podUid: spec.podUid, dir: '/nonexistent', emptyDirPaths: {} };
  }
  async releaseSandbox(): Promise<void> {
    this.calls.push('releaseSandbox');
  }
  async startContainer(spec: ContainerStartSpec): Promise<ContainerHandle> {
    this.calls.push(`start ${spec.name}`);
    const id = `fake://${spec.name}-${++this.seq}`;
    let done = false;
    const exited = new Promise<ExitInfo>((resolve) => {
      this.exits.set(id, (exitCode) => {
        if (done) return;
        done = true;
        resolve({ exitCode, oomKilled: false, finishedAt: this.clock.now() });
      });
    });
    return { id, pid: 1000 + this.seq, startedAt: this.clock.now(), exited };
  }
  /** Makes the newest instance of `name` exit with `code`. */
  exit(name: string, code: number): void {
    const id = [...this.exits.keys()].reverse().find((k) => k.startsWith(`fake://${name}-`));
    if (id) this.exits.get(id)?.(code);
  }
  signal(id: string, signal: string): void {
    this.calls.push(`signal ${signal}`);
    this.exits.get(id)?.(143);
  }
  async killAll(id: string): Promise<void> {
    this.exits.get(id)?.(137);
  }
  async exec(): Promise<ExecResult> {
    return { exitCode: 0, output: '', timedOut: false };
  }
  async execStream(): Promise<ExecStream> {
    throw new StreamUnavailableError('no exec streams in this fake');
  }
  async attach(): Promise<AttachStream> {
    throw new StreamUnavailableError('no attach in this fake');
  }
  async connect(): Promise<Socket> {
    throw new StreamUnavailableError('no pod network in this fake');
  }
  async removeContainer(): Promise<void> {}
  logPath(): string | undefined {
    return undefined;
  }
  async close(): Promise<void> {}
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const manifest = (name: string, extra: Partial<Pod['spec']> = {}): Pod => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' },
  spec: { restartPolicy: 'Never', terminationGracePeriodSeconds: 5, containers: [{ name: 'c', image: 'busybox', command: ['x'] }], ...extra },
});

async function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'podvisor-agent-store-'));
  dirs.push(dir);
  const clock = new FakeClock();
  const rt = new FakeRuntime(clock);
  const store = new FileStore<PodState>(dir);
  store.open();
  const logs: { level: string; msg: string; fields: Record<string, unknown> }[] = [];
  const agent = new NodeAgent({ store, runtime: rt, clock, core: { backoffInitialMs: 10_000, backoffMaxMs: 300_000 }, log: (level, msg, fields) => logs.push({ level, msg, fields }) });
  await agent.start();
  const watched: WatchEvent<Pod>[] = [];
  agent.subscribe({ pod: (e) => watched.push(e), event: (_e: WatchEvent<EventObject>) => {} });
  /** Puts a regular file where the pods directory is (moved aside); returns the repair. */
  const breakStore = (): (() => void) => {
    const pods = join(dir, 'pods');
    renameSync(pods, `${pods}.aside`);
    writeFileSync(pods, 'not a directory');
    return () => {
      rmSync(pods);
      renameSync(`${pods}.aside`, pods);
    };
  };
  /** The record as a fresh store reads it from disk. */
  const onDisk = (name: string) => {
    const s = new FileStore<PodState>(dir);
    s.open();
    return s.getPod('default', name);
  };
  return { dir, clock, rt, store, agent, logs, watched, breakStore, onDisk };
}

describe('node agent: store failures', () => {
  it('a create that cannot be stored fails with StorageFailedError and leaves nothing: no pod, no sandbox, no container', async () => {
    const t = await setup();
    t.agent.createPod(admitted(manifest('first')));
    await settle();
    const repair = t.breakStore();
    t.rt.calls = [];
    const watchedBefore = t.watched.length;
    let err: unknown;
    try {
      t.agent.createPod(admitted(manifest('second')));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StorageFailedError);
    expect((err as StorageFailedError).message).toMatch(/^cannot store the create of pod default\/second: /);
    await settle();
    expect(t.agent.getPod('default', 'second')).toBeUndefined();
    expect(t.agent.listPods().map((p) => p.metadata.name)).toEqual(['first']);
    expect(t.rt.calls).toEqual([]);
    expect(t.watched.length).toBe(watchedBefore);

    repair();
    const pod = t.agent.createPod(admitted(manifest('second')));
    expect(pod.metadata.name).toBe('second');
    await settle();
    expect(t.agent.getPod('default', 'second')?.status?.phase).toBe('Running');
    expect(t.onDisk('second')?.pod.status?.phase).toBe('Running');
  });

  it('a worker status that cannot be stored is logged and kept, the API serves what is stored, and the retry stores it', async () => {
    const t = await setup();
    t.agent.createPod(admitted(manifest('web')));
    await settle();
    expect(t.agent.getPod('default', 'web')?.status?.phase).toBe('Running');
    const repair = t.breakStore();
    t.rt.exit('c', 0); // Succeeded: the worker reports a new status (and an event)
    await settle();
    expect(t.logs.some((l) => l.level === 'error' && l.msg.startsWith('cannot store pod') && l.fields['pod'] === 'default/web')).toBe(true);
    expect(t.agent.getPod('default', 'web')?.status?.phase).toBe('Running'); // not ahead of the disk
    await t.clock.advance(1_000); // a retry that fails again backs off
    expect(t.agent.getPod('default', 'web')?.status?.phase).toBe('Running');

    repair();
    await t.clock.advance(2_000);
    expect(t.agent.getPod('default', 'web')?.status?.phase).toBe('Succeeded');
    expect(t.onDisk('web')?.pod.status?.phase).toBe('Succeeded');
    expect(t.watched.at(-1)).toMatchObject({ type: 'MODIFIED', object: { status: { phase: 'Succeeded' } } });
  });

  it('a delete that cannot be stored fails and does not start the deletion', async () => {
    const t = await setup();
    t.agent.createPod(admitted(manifest('web')));
    await settle();
    const repair = t.breakStore();
    expect(() => t.agent.deletePod('default', 'web')).toThrow(StorageFailedError);
    await settle();
    expect(t.rt.calls.filter((c) => c.startsWith('signal'))).toEqual([]);
    expect(t.agent.getPod('default', 'web')?.metadata.deletionTimestamp).toBeUndefined();
    repair();
    expect(t.agent.deletePod('default', 'web').metadata.deletionTimestamp).toBeDefined();
    await settle();
    expect(t.agent.getPod('default', 'web')).toBeUndefined();
    expect(t.onDisk('web')).toBeUndefined();
  });

  it('a deletion that completes while the store fails keeps the pod until its record is removed, then publishes DELETED', async () => {
    const t = await setup();
    t.agent.createPod(admitted(manifest('web')));
    await settle();
    t.agent.deletePod('default', 'web');
    const repair = t.breakStore(); // before the container's exit is processed
    await settle();
    expect(t.rt.calls).toContain('releaseSandbox');
    expect(t.agent.getPod('default', 'web')?.metadata.deletionTimestamp).toBeDefined();
    expect(t.watched.some((e) => e.type === 'DELETED')).toBe(false);
    repair();
    await t.clock.advance(1_000);
    expect(t.agent.getPod('default', 'web')).toBeUndefined();
    expect(t.onDisk('web')).toBeUndefined();
    expect(t.watched.at(-1)?.type).toBe('DELETED');
    // The name is free again.
    t.agent.createPod(admitted(manifest('web')));
    await settle();
    expect(t.agent.getPod('default', 'web')?.status?.phase).toBe('Running');
  });
});
