/**
 * Containers outlive podvisor (issue 12, spec §2.4 "Unknown after a podvisor restart", §4.10),
 * the agent's side, with the recording fake runtime and a fake clock: a stop with
 * `keepContainers` signals nothing; the next process re-adopts what still runs, replays the exits
 * that happened while it was down (oldest first, each decided by the normal rules) and restarts
 * what is lost as `ContainerStatusUnknown`.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RecordedEvent, RestartNotice } from '../../src/api/records.js';
import type { Container, Pod } from '../../src/api/types.js';
import { NodeAgent } from '../../src/agent/node.js';
import { Supervisor } from '../../src/agent/supervisor.js';
import type { PodWorker } from '../../src/agent/worker.js';
import type { PodState } from '../../src/core/model.js';
import { FileStore } from '../../src/store/file-store.js';
import { FakeClock, settle } from './fake-clock.js';
import { FakeRuntime } from './fake-runtime.js';
import { admitted } from './admit.js';

const CORE = { backoffInitialMs: 10_000, backoffMaxMs: 300_000 };

function pod(containers: Container[], extra: Partial<Pod['spec']> = {}): Pod {
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'default' },
    spec: { restartPolicy: 'Always', terminationGracePeriodSeconds: 30, containers, ...extra },
  };
}

/** One podvisor process: a supervisor over a fresh fake runtime, everything it reports recorded. */
function life(clock: FakeClock, p: Pod, state?: PodState, prepare?: (rt: FakeRuntime) => void) {
  const rt = new FakeRuntime(clock);
  prepare?.(rt);
  const events: RecordedEvent[] = [];
  const restarts: RestartNotice[] = [];
  const statuses: Pod[] = [];
  const logs: { msg: string; fields: Record<string, unknown> }[] = [];
  const sup = new Supervisor({
    runtime: rt, clock, core: CORE,
    sinks: { onEvent: (e) => events.push(e), onRestart: (n) => restarts.push(n), onStatus: (q) => statuses.push(structuredClone(q)), log: (_l, msg, fields) => logs.push({ msg, fields }) },
  });
  const w = sup.add(p, state);
  return { rt, events, restarts, statuses, logs, sup, w };
}

/** Starts a pod, lets `before` act on it, then stops podvisor keeping the containers. */
async function firstLife(p: Pod, before?: (l: ReturnType<typeof life>, clock: FakeClock) => Promise<void>) {
  const clock = new FakeClock();
  const l = life(clock, p);
  await settle();
  await before?.(l, clock);
  await l.w.stop({ keepContainers: true });
  return { clock, first: l, pod: l.w.pod, state: l.w.state };
}

const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const statusOf = (w: PodWorker, name: string) => w.status?.containerStatuses?.find((c) => c.name === name);
const idOf = (state: PodState, name: string): string => state.containers[name]?.instance?.id ?? '';

describe('stop({ keepContainers }): podvisor stops, its containers do not', () => {
  it('sends no signal, resolves at once even for a container ignoring SIGTERM, and records nothing afterwards', async () => {
    const clock = new FakeClock();
    const { rt, w, events } = life(clock, pod([{ name: 'a', command: ['x'] }], { restartPolicy: 'Never' }));
    await settle();
    rt.onTerm.set('a', undefined);
    const before = { state: w.state, calls: rt.calls.length, events: events.length };
    await w.stop({ keepContainers: true });
    expect(rt.calls.slice(before.calls)).toEqual([]);
    expect(clock.pending()).toEqual([]);
    rt.live('a').exit(1); // later, under its monitor: not this process's business
    await settle();
    expect(w.state).toBe(before.state);
    expect(events).toHaveLength(before.events);
  });

  it('the node agent: stop({ keepContainers }) signals nothing and persists nothing; the next agent re-adopts the container', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'podvisor-adopt-'));
    try {
      const clock = new FakeClock();
      const store = new FileStore<PodState>(dir);
      store.open();
      const rt = new FakeRuntime(clock);
      const agent = new NodeAgent({ store, runtime: rt, clock, core: CORE });
      await agent.start();
      agent.createPod(admitted({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { restartPolicy: 'Never', containers: [{ name: 'a', image: 'busybox', command: ['x'] }] } }));
      await settle();
      const file = store.podFile('default', 'p');
      const stored = readFileSync(file, 'utf8');
      const before = JSON.parse(stored).pod.status.containerStatuses[0];
      const calls = rt.calls.length;
      await agent.stop({ keepContainers: true });
      expect(rt.calls.slice(calls)).toEqual([]);
      expect(readFileSync(file, 'utf8')).toBe(stored);

      clock.t += 30_000;
      const store2 = new FileStore<PodState>(dir);
      store2.open();
      const rt2 = new FakeRuntime(clock);
      rt2.adoptRunning(before.containerID, 'a', Date.parse(before.state.running.startedAt));
      const again = new NodeAgent({ store: store2, runtime: rt2, clock, core: CORE });
      await again.start();
      await settle();
      expect(rt2.calls).toEqual(['createSandbox']);
      const p = again.getPod('default', 'p');
      expect(p?.status?.phase).toBe('Running');
      expect(p?.status?.containerStatuses?.[0]).toEqual(before);
      rt2.live('a').exit(0); // and it is supervised: its exit ends the Never pod
      await settle();
      expect(again.getPod('default', 'p')?.status?.phase).toBe('Succeeded');
      await again.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stop() without it still stops the containers (SIGTERM)', async () => {
    const clock = new FakeClock();
    const { rt, w } = life(clock, pod([{ name: 'a', command: ['x'] }]));
    await settle();
    await w.stop();
    expect(rt.calls.at(-1)).toBe('signal a SIGTERM');
  });
});

describe('resume after a podvisor restart: re-adoption', () => {
  it('a running instance is re-adopted: same ID, restartCount and start time, no event, probes again; its later exit is recorded and restarted normally', async () => {
    const probe = { exec: { command: ['check'] }, periodSeconds: 5 };
    const { clock, pod: p, state } = await firstLife(pod([{ name: 'a', command: ['x'] }, { name: 'r', command: ['x'], readinessProbe: probe }]), async (l, c) => {
      c.t += 1000;
      l.rt.live('a').exit(1); // restarted at once: restartCount 1, back-off entry 10 s
      await settle();
    });
    const aId = idOf(state, 'a');
    const rId = idOf(state, 'r');
    const startedA = state.containers['a']?.instance?.startedAt ?? 0;
    clock.t += 60_000;
    let a2!: ReturnType<FakeRuntime['adoptRunning']>;
    const second = life(clock, p, state, (rt) => {
      a2 = rt.adoptRunning(aId, 'a', startedA);
      rt.adoptRunning(rId, 'r', state.containers['r']?.instance?.startedAt ?? 0);
    });
    await settle();
    const { rt, w, events, logs } = second;
    expect(rt.adoptCalls.sort()).toEqual([aId, rId].sort());
    expect(rt.reaped).toEqual([[aId, rId].sort()]);
    expect(rt.calls).toEqual(['createSandbox']);
    expect(events.filter((e) => ['Created', 'Started', 'Killing'].includes(e.reason))).toEqual([]);
    expect(statusOf(w, 'a')).toMatchObject({ containerID: aId, restartCount: 1, state: { running: { startedAt: iso(startedA) } } });
    expect(w.status?.phase).toBe('Running');
    expect(logs.find((l) => l.msg === 'pod resumed after a podvisor restart')?.fields).toMatchObject({ adopted: 2, exitedWhileDown: 0, lost: 0 });
    // Probes run again against the adopted instance.
    await clock.advance(5_000);
    expect(rt.calls).toContain('exec r check');
    // Its exit is an ordinary exit: recorded, then restarted under the stored back-off entry
    // (the previous exit was 66 s ago, within the 600 s window: wait 10 s).
    const t = clock.t;
    a2.exit(3);
    await settle();
    expect(statusOf(w, 'a')).toMatchObject({ restartCount: 1, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 3, containerID: aId } } });
    await clock.advanceTo(t + 10_000);
    expect(rt.calls.filter((c) => c === 'start a')).toHaveLength(1);
    expect(statusOf(w, 'a')).toMatchObject({ restartCount: 2, state: { running: {} } });
  });

  it('a request recorded while the runtime answers is kept and acted on once the instances are known (a deletion kills the adopted one)', async () => {
    const { clock, pod: p, state } = await firstLife(pod([{ name: 'a', command: ['x'] }], { terminationGracePeriodSeconds: 5 }));
    const { rt, w, events } = life(clock, p, state, (r) => r.adoptRunning(idOf(state, 'a'), 'a', clock.t));
    w.delete(); // before the adoption completed
    await settle();
    expect(events.map((e) => e.reason)).toEqual(['Killing']);
    expect(rt.calls.slice(0, 2)).toEqual(['createSandbox', 'signal a SIGTERM']);
    expect(rt.calls.at(-1)).toBe('releaseSandbox(true)');
    expect(w.state.finished).toBe(true);
  });

  it('a reset interrupted by the stop (§4.10): its target found running stays a target, is killed, and the reset completes', async () => {
    const { clock, pod: p, state } = await firstLife(pod([{ name: 'a', command: ['x'] }, { name: 'b', command: ['x'] }]), async (l) => {
      l.rt.killAll = async () => {
        throw new Error('permission denied'); // b's kill fails: the reset is still removing when podvisor stops
      };
      expect(l.w.restart()).toEqual({ ok: true });
      await settle();
    });
    expect(state.reset?.step).toBe('removing');
    clock.t += 500;
    const { rt, w, restarts } = life(clock, p, state, (r) => {
      r.adoptRunning(idOf(state, 'a'), 'a', clock.t - 10_000);
      r.adoptRunning(idOf(state, 'b'), 'b', clock.t - 10_000);
    });
    await settle();
    expect(rt.calls).toEqual(['createSandbox']); // the failed kill is ordered again 1 s after the failure
    await clock.advance(500);
    expect(rt.calls).toEqual(['createSandbox', 'killAll b', 'remove b', 'killAll a', 'remove a', 'start a', 'start b']);
    expect(restarts.map((n) => [n.level, n.trigger])).toEqual([['pod', 'api']]);
    expect(w.status?.containerStatuses?.map((c) => c.restartCount)).toEqual([1, 1]);
    expect(w.state.reset).toBeUndefined();
  });

  it('an instance recorded as created but found running is started, not started again', async () => {
    const { clock, pod: p, state } = await firstLife(pod([{ name: 'a', command: ['x'] }]));
    const created: PodState = structuredClone(state);
    const inst = created.containers['a']?.instance;
    if (!inst) throw new Error('no instance');
    inst.phase = 'created';
    delete inst.startedAt;
    clock.t += 5_000;
    const { rt, w, events } = life(clock, p, created, (r) => r.adoptRunning(inst.id, 'a', clock.t - 4_000));
    await settle();
    expect(rt.calls).toEqual(['createSandbox']);
    expect(events.filter((e) => e.reason === 'Started' || e.reason === 'Created')).toEqual([]);
    expect(statusOf(w, 'a')).toMatchObject({ containerID: inst.id, restartCount: 0, state: { running: { startedAt: iso(clock.t - 4_000) } } });
  });

  /** The state a stop leaves while the start of `a` is in flight: `creating`, no ID, counted. */
  function inFlight(state: PodState, restartCount: number, last?: PodState['containers'][string]['last'], orderedAt = 0): PodState {
    const s: PodState = structuredClone(state);
    const c = s.containers['a'];
    if (!c) throw new Error('no container');
    c.restartCount = restartCount;
    if (last) c.last = last;
    c.instance = { id: '', phase: 'creating', createdAt: orderedAt, started: false, ready: false };
    return s;
  }

  it('a start in flight at the stop that launched nothing: started once as that same start (no count, no Unknown), even in a Never pod', async () => {
    const { clock, pod: p, state } = await firstLife(pod([{ name: 'a', command: ['x'] }], { restartPolicy: 'Never' }));
    clock.t += 5_000;
    const { rt, w, restarts, logs } = life(clock, p, inFlight(state, 0));
    await settle();
    expect(rt.calls).toEqual(['launchedInstances', 'createSandbox', 'start a']);
    expect(statusOf(w, 'a')).toMatchObject({ restartCount: 0, state: { running: {} }, lastState: {} });
    expect(restarts).toEqual([]);
    expect(logs.find((l) => l.msg === 'pod resumed after a podvisor restart')?.fields).toMatchObject({ adopted: 0, lost: 0 });
  });

  it('a start in flight at the stop that did launch: its launch record is adopted running under its ID, not started again', async () => {
    const { clock, pod: p, state } = await firstLife(pod([{ name: 'a', command: ['x'] }]));
    const old = idOf(state, 'a');
    clock.t += 5_000;
    const last = { containerID: old, exitCode: 1, reason: 'Error', startedAt: clock.t - 9_000, finishedAt: clock.t - 6_000 };
    const { rt, w, events, restarts } = life(clock, p, inFlight(state, 1, last), (r) => {
      // The earlier instance's record is still there (claimed as lastState): never taken for the new one.
      r.launched = [{ id: old, container: 'a', startedAt: clock.t - 9_000 }, { id: 'fake://a-new', container: 'a', startedAt: clock.t - 4_000 }, { id: 'fake://b-1', container: 'b', startedAt: clock.t - 3_000 }];
      r.adoptRunning('fake://a-new', 'a', clock.t - 4_000);
    });
    await settle();
    expect(rt.adoptCalls).toEqual(['fake://a-new']);
    expect(rt.reaped).toEqual([['fake://a-new']]);
    expect(rt.calls).toEqual(['launchedInstances', 'createSandbox']);
    expect(statusOf(w, 'a')).toMatchObject({ containerID: 'fake://a-new', restartCount: 1, state: { running: { startedAt: iso(clock.t - 4_000) } } });
    expect(events.filter((e) => e.reason === 'Started' || e.reason === 'Created')).toEqual([]);
    expect(restarts).toEqual([]);
  });

  it('a start in flight that launched nothing, with records of older instances still there: none of them is taken for it (they were launched before the start was ordered)', async () => {
    const { clock, pod: p, state } = await firstLife(pod([{ name: 'a', command: ['x'] }]));
    const old = idOf(state, 'a');
    clock.t += 5_000;
    const last = { containerID: 'fake://a-2', exitCode: 0, reason: 'Completed', startedAt: clock.t - 3_000, finishedAt: clock.t - 2_000 };
    const { rt, w, restarts } = life(clock, p, inFlight(state, 2, last, clock.t - 1_000), (r) => {
      // Two instances ago (not the last one, so unclaimed): exited, its record not removed yet.
      r.launched = [{ id: old, container: 'a', startedAt: clock.t - 5_000 }, { id: 'fake://a-2', container: 'a', startedAt: clock.t - 3_000 }];
      r.adoptExited(old, clock.t - 5_000, { exitCode: 0, finishedAt: clock.t - 4_000 });
    });
    await settle();
    expect(rt.adoptCalls).toEqual([]);
    expect(rt.calls).toEqual(['launchedInstances', 'createSandbox', 'start a']);
    expect(statusOf(w, 'a')).toMatchObject({ restartCount: 2, state: { running: {} }, lastState: { terminated: { containerID: 'fake://a-2' } } });
    expect(restarts).toEqual([]);
  });

  it('a start in flight whose launch exited while podvisor was down: that exit is decided by the rules (Never: terminated, not started again)', async () => {
    const { clock, pod: p, state } = await firstLife(pod([{ name: 'a', command: ['x'] }], { restartPolicy: 'Never' }));
    clock.t += 5_000;
    const { rt, w } = life(clock, p, inFlight(state, 0), (r) => {
      r.launched = [{ id: 'fake://a-new', container: 'a', startedAt: clock.t - 4_000 }];
      r.adoptExited('fake://a-new', clock.t - 4_000, { exitCode: 0, finishedAt: clock.t - 1_000 });
    });
    await settle();
    expect(rt.calls).toEqual(['launchedInstances', 'createSandbox', 'releaseSandbox(false)']); // no start: the pod is done
    expect(statusOf(w, 'a')).toMatchObject({ containerID: 'fake://a-new', restartCount: 0, state: { terminated: { exitCode: 0, finishedAt: iso(clock.t - 1_000) } } });
    expect(w.status?.phase).toBe('Succeeded');
  });

  it('a pod that finished before podvisor restarted, deleted afterwards: its data is deleted though this process never had its sandbox', async () => {
    const { clock, pod: p, state } = await firstLife(pod([{ name: 'a', command: ['x'] }], { restartPolicy: 'Never' }), async ({ rt }) => {
      rt.live('a').exit(0);
      await settle();
      expect(rt.calls.at(-1)).toBe('releaseSandbox(false)'); // finished: logs and records stay until deletion
    });
    clock.t += 5_000;
    const { rt, w } = life(clock, p, state);
    await settle();
    expect(rt.calls).toEqual([]); // done: nothing to adopt, no sandbox is made again
    w.delete(0);
    await settle();
    expect(rt.calls.at(-1)).toBe('releaseSandbox(true)');
    expect(rt.released.at(-1)).toBe(state.uid);
  });

  it('a re-creation decided and stored, cut short by the stop before it was carried out: carried out at the resume (new UID, the old data deleted)', async () => {
    const { clock, pod: p, state } = await firstLife(pod([{ name: 'a', command: ['x'] }]), async ({ rt }) => {
      rt.live('a').exit(1);
      await settle();
    });
    clock.t += 5_000;
    // As a process killed right after storing the decision leaves it: finished, still stopping.
    const stored: PodState = { ...structuredClone(state), finished: true, stopping: { reason: 'Recreate', at: clock.t - 1_000, deadline: clock.t + 29_000, trigger: { kind: 'api' } } };
    const { rt, sup } = life(clock, p, stored);
    await settle();
    expect(rt.calls.slice(0, 2)).toEqual(['createSandbox', 'releaseSandbox(true)']);
    expect(rt.released[0]).toBe(state.uid);
    const fresh = sup.get('default/web');
    expect(fresh?.state.uid).toBeTruthy();
    expect(fresh?.state.uid).not.toBe(state.uid);
    expect(fresh?.pod.metadata.annotations?.['podvisor.io/recreations']).toBe('1');
    expect(rt.calls).toContain('start a');
  });

  it('unknown (no monitor found it): ContainerStatusUnknown, restarted without rules; reapOrphans gets no adopted ID', async () => {
    const { clock, pod: p, state } = await firstLife(pod([{ name: 'a', command: ['x'], restartPolicy: 'Never', restartPolicyRules: [{ action: 'Restart', exitCodes: { operator: 'In', values: [7] } }] }], { restartPolicy: 'Never' }));
    clock.t += 5_000;
    const { rt, w, logs } = life(clock, p, state);
    await settle();
    expect(rt.reaped).toEqual([[]]);
    expect(rt.calls).toEqual(['createSandbox', 'remove fake://a-1', 'start a']);
    expect(statusOf(w, 'a')).toMatchObject({ restartCount: 1, state: { running: {} }, lastState: { terminated: { exitCode: 137, reason: 'ContainerStatusUnknown' } } });
    expect(w.status?.phase).toBe('Running');
    expect(logs.find((l) => l.msg === 'pod resumed after a podvisor restart')?.fields).toMatchObject({ adopted: 0, exitedWhileDown: 0, lost: 1 });
  });
});

describe('resume after a podvisor restart: exits that happened while podvisor was down', () => {
  it('a start cut short by the stop (created, never started) when an exit while down restarts all containers: it is dropped, not waited for, and the pod restarts in place', async () => {
    const { clock, pod: p, state } = await firstLife(pod([
      { name: 't', command: ['x'], restartPolicy: 'Always', restartPolicyRules: [{ action: 'RestartAllContainers', exitCodes: { operator: 'In', values: [42] } }] },
      { name: 's', command: ['x'] },
    ], { initContainers: [{ name: 'i', command: ['x'] }] }), async ({ rt }) => {
      rt.live('i').exit(0);
      await settle();
    });
    const t0 = clock.t;
    clock.t = t0 + 10_000;
    // s's start was in flight at the stop (and launched nothing); t exited 42 meanwhile.
    const stored: PodState = structuredClone(state);
    const s = stored.containers['s'];
    if (!s) throw new Error('no s');
    s.instance = { id: '', phase: 'creating', createdAt: t0 + 1_000, started: false, ready: false };
    const { rt, w, restarts } = life(clock, p, stored, (r) => {
      r.adoptExited(idOf(state, 't'), t0, { exitCode: 42, finishedAt: t0 + 5_000 });
    });
    await settle();
    // The in-place restart went on without waiting for s: init again, then both containers.
    expect(rt.calls.filter((c) => c.startsWith('start'))).toEqual(['start i']);
    rt.live('i').exit(0);
    await settle();
    expect(rt.calls.filter((c) => c.startsWith('start'))).toEqual(['start i', 'start t', 'start s']);
    expect(restarts.map((n) => [n.level, n.exitCode])).toEqual([['pod', 42]]);
    expect(w.status?.conditions?.find((c) => c.type === 'AllContainersRestarting')?.status).toBe('False');
    expect(statusOf(w, 's')).toMatchObject({ state: { running: {} } });
  });

  it('two exits are decided one at a time in finishedAt order: a exits 7 (Restart), then b exits 42 (RestartAllContainers)', async () => {
    const rules = (action: 'Restart' | 'RestartAllContainers', code: number) => [{ action, exitCodes: { operator: 'In' as const, values: [code] } }];
    // b first in the spec: the order of the replay is the order of the exits, not of the spec.
    const { clock, pod: p, state } = await firstLife(pod([
      { name: 'b', command: ['x'], restartPolicy: 'Never', restartPolicyRules: rules('RestartAllContainers', 42) },
      { name: 'a', command: ['x'], restartPolicy: 'Never', restartPolicyRules: rules('Restart', 7) },
    ], { restartPolicy: 'Never' }));
    const t0 = clock.t;
    const aDown = t0 + 20_000;
    const bDown = t0 + 50_000;
    clock.t = t0 + 100_000;
    const { rt, w, events, restarts, statuses, logs } = life(clock, p, state, (r) => {
      r.adoptExited(idOf(state, 'b'), t0, { exitCode: 42, finishedAt: bDown });
      r.adoptExited(idOf(state, 'a'), t0, { exitCode: 7, finishedAt: aDown });
    });
    await settle();
    expect(logs.find((l) => l.msg === 'pod resumed after a podvisor restart')?.fields).toMatchObject({ adopted: 0, exitedWhileDown: 2, lost: 0 });
    expect(logs.filter((l) => l.msg === 'container exited while podvisor was down').map((l) => [l.fields['container'], l.fields['exitCode']])).toEqual([['a', 7], ['b', 42]]);
    // a's exit first: a container restart by its rule, with the real exit as lastState.
    expect(restarts.map((n) => [n.level, n.trigger, n.container, n.exitCode])).toEqual([
      ['container', 'restartPolicyRules[0]', 'a', 7],
      ['pod', 'restartPolicyRules', undefined, 42],
    ]);
    const aRestarted = statuses.findIndex((s) => s.status?.containerStatuses?.find((c) => c.name === 'a')?.restartCount === 1);
    expect(aRestarted).toBeGreaterThanOrEqual(0);
    expect(statuses[aRestarted]?.status?.containerStatuses?.find((c) => c.name === 'a')?.lastState).toEqual({
      terminated: { exitCode: 7, reason: 'Error', startedAt: iso(t0), finishedAt: iso(aDown), containerID: idOf(state, 'a') },
    });
    // Then b's exit: the in-place restart of the pod (the sandbox is kept).
    const resetAt = statuses.findIndex((s) => s.status?.conditions?.some((c) => c.type === 'AllContainersRestarting' && c.status === 'True'));
    expect(resetAt).toBeGreaterThan(aRestarted);
    // The runtime saw a restarted first (its new instance is then a reset target), then the
    // reset: the sandbox is re-attached once and kept.
    expect(rt.calls).toEqual(['createSandbox', 'remove fake://a-2', 'start a', 'killAll a', 'remove a', 'remove fake://b-1', 'start b', 'start a']);
    expect(events.map((e) => `${e.reason} ${e.container ?? ''}`.trim())).toEqual([
      'Created a', 'Started a', 'RestartingAllContainers', 'Killing a', 'Created b', 'Started b', 'Created a', 'Started a',
    ]);
    expect(w.status?.phase).toBe('Running');
    expect(w.state.resetCount).toBe(1);
    expect(statusOf(w, 'a')).toMatchObject({ restartCount: 2, state: { running: {} } });
    expect(statusOf(w, 'b')).toMatchObject({ restartCount: 1, state: { running: {} } });
  });

  it('CrashLoopBackOff from the real finishedAt: an exit whose back-off already elapsed restarts at once', async () => {
    const { clock, pod: p, state } = await firstLife(pod([{ name: 'a', command: ['x'] }]), async (l) => {
      l.rt.live('a').exit(1); // restarted at once; the back-off entry is 10 s from now on
      await settle();
    });
    const t0 = clock.t;
    clock.t = t0 + 30_000;
    const { rt, w, events } = life(clock, p, state, (r) => r.adoptExited(idOf(state, 'a'), t0, { exitCode: 1, finishedAt: t0 + 2_000 }));
    await settle();
    expect(rt.calls).toContain('start a');
    expect(events.filter((e) => e.reason === 'BackOff')).toEqual([]);
    expect(statusOf(w, 'a')).toMatchObject({ restartCount: 2, state: { running: {} }, lastState: { terminated: { exitCode: 1, finishedAt: iso(t0 + 2_000) } } });
  });

  it('CrashLoopBackOff from the real finishedAt: an exit whose back-off has not elapsed waits the remaining time only', async () => {
    const { clock, pod: p, state } = await firstLife(pod([{ name: 'a', command: ['x'] }]), async (l) => {
      l.rt.live('a').exit(1);
      await settle();
    });
    const t0 = clock.t;
    clock.t = t0 + 30_000;
    const { rt, w, events } = life(clock, p, state, (r) => r.adoptExited(idOf(state, 'a'), t0, { exitCode: 1, finishedAt: t0 + 25_000 }));
    await settle();
    expect(rt.calls).not.toContain('start a');
    expect(statusOf(w, 'a')).toMatchObject({ restartCount: 1, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 1, finishedAt: iso(t0 + 25_000) } } });
    expect(events.filter((e) => e.reason === 'BackOff')).toHaveLength(1);
    expect(clock.pending()).toEqual([t0 + 35_000]); // 5 s left of the 10 s back-off
    await clock.advanceTo(t0 + 34_999);
    expect(rt.calls).not.toContain('start a');
    await clock.advanceTo(t0 + 35_000);
    expect(rt.calls.filter((c) => c === 'start a')).toHaveLength(1);
    expect(statusOf(w, 'a')).toMatchObject({ restartCount: 2, state: { running: {} } });
  });

  it('a back-off wait stored at the stop resumes with its timer at the same deadline', async () => {
    const { clock, pod: p, state } = await firstLife(pod([{ name: 'a', command: ['x'] }]), async (l, c) => {
      l.rt.live('a').exit(1);
      await settle();
      c.t += 2_000;
      l.rt.live('a').exit(1); // refused: back-off 10 s until now + 10 s
      await settle();
    });
    const retryAt = state.containers['a']?.backoffWait?.retryAt ?? 0;
    expect(retryAt).toBe(clock.t + 10_000);
    clock.t += 7_000;
    const { rt, w } = life(clock, p, state);
    await settle();
    expect(rt.adoptCalls).toEqual([]); // nothing ran: nothing to adopt
    expect(rt.calls).toEqual(['createSandbox']);
    expect(clock.pending()).toEqual([retryAt]);
    await clock.advanceTo(retryAt - 1);
    expect(rt.calls).not.toContain('start a');
    await clock.advanceTo(retryAt);
    expect(rt.calls).toContain('start a');
    expect(statusOf(w, 'a')?.restartCount).toBe(2);
  });

  it('a Never pod whose only container completed while podvisor was down is Succeeded, with the real exit', async () => {
    const { clock, pod: p, state } = await firstLife(pod([{ name: 'a', command: ['x'] }], { restartPolicy: 'Never' }));
    const t0 = clock.t;
    clock.t = t0 + 60_000;
    const { rt, w } = life(clock, p, state, (r) => r.adoptExited(idOf(state, 'a'), t0, { exitCode: 0, finishedAt: t0 + 40_000 }));
    await settle();
    expect(w.status?.phase).toBe('Succeeded');
    expect(statusOf(w, 'a')).toMatchObject({ restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed', finishedAt: iso(t0 + 40_000) } } });
    expect(rt.calls).not.toContain('start a');
    expect(rt.calls).toContain('releaseSandbox(false)');
  });

  it('an OOM kill found is recorded as OOMKilled', async () => {
    const { clock, pod: p, state } = await firstLife(pod([{ name: 'a', command: ['x'] }], { restartPolicy: 'Never' }));
    const t0 = clock.t;
    clock.t = t0 + 60_000;
    const { w } = life(clock, p, state, (r) => r.adoptExited(idOf(state, 'a'), t0, { exitCode: 137, oomKilled: true, finishedAt: t0 + 1_000 }));
    await settle();
    expect(w.status?.phase).toBe('Failed');
    expect(statusOf(w, 'a')?.state.terminated).toMatchObject({ exitCode: 137, reason: 'OOMKilled', finishedAt: iso(t0 + 1_000) });
  });

  it('an exit of an adopted instance reported during the replay is recorded after the exits found (it is later)', async () => {
    // c first in the spec: recorded in the same reconcile, c's exit would be decided first.
    const { clock, pod: p, state } = await firstLife(pod([{ name: 'c', command: ['x'] }, { name: 'a', command: ['x'] }]));
    const t0 = clock.t;
    clock.t = t0 + 60_000;
    const { restarts } = life(clock, p, state, (r) => {
      r.adoptRunning(idOf(state, 'c'), 'c', t0).exit(5); // already exited when podvisor asks: its exit is reported at once
      r.adoptExited(idOf(state, 'a'), t0, { exitCode: 1, finishedAt: t0 + 30_000 });
    });
    await settle();
    expect(restarts.map((n) => [n.container, n.exitCode])).toEqual([['a', 1], ['c', 5]]);
  });
});
