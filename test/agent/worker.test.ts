/**
 * The agent with a recording fake runtime and a fake clock (ARCHITECTURE.md test layer 2):
 * order of runtime calls, back-off timing through timers, graceful kills, hooks and events.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Container, Pod } from '../../src/api/types.js';
import { FakeClock, settle } from './fake-clock.js';
import type { RecordedEvent, RestartNotice } from '../../src/api/records.js';
import { NodeAgent } from '../../src/agent/node.js';
import { Supervisor } from '../../src/agent/supervisor.js';
import { FileStore } from '../../src/store/file-store.js';
import type { PodState } from '../../src/core/model.js';
import type { ContainerHandle, ContainerStartSpec } from '../../src/runtime/types.js';
import { FakeRuntime } from './fake-runtime.js';
import { admitted } from './admit.js';

function pod(containers: Container[], extra: Partial<Pod['spec']> = {}): Pod {
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'default' },
    spec: { restartPolicy: 'Always', terminationGracePeriodSeconds: 30, containers, ...extra },
  };
}

function setup(p: Pod, core = { backoffInitialMs: 10_000, backoffMaxMs: 300_000 }, gpus?: string[], sandboxIp?: string, prepare?: (rt: FakeRuntime) => void) {
  const clock = new FakeClock();
  const rt = new FakeRuntime(clock);
  rt.sandboxIp = sandboxIp;
  prepare?.(rt);
  const events: RecordedEvent[] = [];
  const restarts: RestartNotice[] = [];
  const sup = new Supervisor({ runtime: rt, clock, core, ...(gpus ? { gpus } : {}), sinks: { onEvent: (e) => events.push(e), onRestart: (n) => restarts.push(n) } });
  const w = sup.add(p);
  return { clock, rt, events, restarts, sup, w };
}

describe('agent worker with a fake runtime and a fake clock', () => {
  it('builds the sandbox from the pod: name, emptyDirs, shareProcessNamespace, podvisor.io/container-init', async () => {
    const p = pod([{ name: 'a', command: ['x'] }], { shareProcessNamespace: true, volumes: [{ name: 'scratch', emptyDir: {} }, { name: 'h', hostPath: { path: '/tmp' } }] });
    const { rt } = setup(p);
    await settle();
    expect(rt.sandboxSpecs).toEqual([{ podUid: expect.any(String), podName: 'web', namespace: 'default', emptyDirs: ['scratch'], shareProcessNamespace: true }]);
    const annotated = setup({ ...p, metadata: { ...p.metadata, annotations: { 'podvisor.io/container-init': 'false' } } });
    await settle();
    expect(annotated.rt.sandboxSpecs[0]?.containerInit).toBe(false);
  });

  it('creates the sandbox, then runs init containers one at a time before the regular ones, in spec order', async () => {
    const { rt, w } = setup(pod([{ name: 'a', command: ['x'] }, { name: 'b', command: ['x'] }], { initContainers: [{ name: 'i1', command: ['x'] }, { name: 'i2', command: ['x'] }] }));
    await settle();
    expect(rt.calls).toEqual(['createSandbox', 'start i1']);
    rt.live('i1').exit(0);
    await settle();
    expect(rt.calls.slice(2)).toEqual(['start i2']);
    rt.live('i2').exit(0);
    await settle();
    expect(rt.calls.slice(-2)).toEqual(['start a', 'start b']);
    expect(w.status?.phase).toBe('Running');
    expect(w.status?.podIP).toBe('127.0.0.1');
  });

  it('publishes the sandbox IP, and a terminal pod keeps the IP it had (its sandbox is released)', async () => {
    const { rt, w } = setup(pod([{ name: 'a', command: ['x'] }], { restartPolicy: 'Never' }), undefined, undefined, '10.88.0.7');
    await settle();
    expect(w.status).toMatchObject({ phase: 'Running', podIP: '10.88.0.7', podIPs: [{ ip: '10.88.0.7' }] });
    rt.live('a').exit(0);
    await settle();
    expect(rt.calls).toContain('releaseSandbox(false)');
    expect(w.status).toMatchObject({ phase: 'Succeeded', podIP: '10.88.0.7', podIPs: [{ ip: '10.88.0.7' }] });
  });

  it('applies CrashLoopBackOff with a timer at the exact deadline (no polling)', async () => {
    const { clock, rt, w, events, restarts } = setup(pod([{ name: 'a', command: ['x'] }]));
    await settle();
    rt.live('a').exit(1);
    await settle();
    expect(rt.calls.filter((c) => c === 'start a')).toHaveLength(2); // first restart immediate
    expect(restarts[0]).toMatchObject({ level: 'container', container: 'a', trigger: 'policy', exitCode: 1, restartCount: 1, backoffMs: 0, latencyMs: 0 });
    clock.t += 2000;
    rt.live('a').exit(1);
    await settle();
    expect(rt.calls.filter((c) => c === 'start a')).toHaveLength(2);
    expect(clock.pending()).toEqual([clock.t + 10_000]);
    expect(w.status?.containerStatuses?.[0]?.state.waiting?.reason).toBe('CrashLoopBackOff');
    expect(events.filter((e) => e.reason === 'BackOff')).toHaveLength(1);
    await clock.advanceTo(clock.t + 9_999);
    expect(rt.calls.filter((c) => c === 'start a')).toHaveLength(2);
    await clock.advanceTo(clock.t + 1);
    expect(rt.calls.filter((c) => c === 'start a')).toHaveLength(3);
    expect(w.status?.containerStatuses?.[0]?.restartCount).toBe(2);
  });

  it('deletion: preStop, SIGTERM, then SIGKILL at the grace deadline for a process ignoring SIGTERM', async () => {
    const { clock, rt, w, events } = setup(pod([{ name: 'a', command: ['x'], lifecycle: { preStop: { exec: { command: ['flush'] } } } }], { terminationGracePeriodSeconds: 5 }));
    await settle();
    rt.onTerm.set('a', undefined);
    w.delete();
    await settle();
    expect(rt.calls.slice(-2)).toEqual(['exec a flush', 'signal a SIGTERM']);
    expect(events.find((e) => e.reason === 'Killing')?.message).toBe('Stopping container a');
    await clock.advanceTo(clock.t + 4_999);
    expect(rt.calls).not.toContain('killAll a');
    await clock.advanceTo(clock.t + 1);
    expect(rt.calls).toContain('killAll a');
    await settle();
    expect(w.state.finished).toBe(true);
    expect(rt.calls.at(-1)).toBe('releaseSandbox(true)');
  });

  it('liveness failure kills through the prober and restarts (event Unhealthy, then Killing)', async () => {
    const probe = { exec: { command: ['check'] }, periodSeconds: 1, failureThreshold: 2, timeoutSeconds: 1 };
    const { clock, rt, events } = setup(pod([{ name: 'a', command: ['x'], livenessProbe: probe }]));
    rt.execResult = (cmd) => (cmd[0] === 'check' ? { exitCode: 1, output: 'not healthy', timedOut: false } : { exitCode: 0, output: '', timedOut: false });
    await settle();
    await clock.advanceTo(clock.t + 1500);
    const killing = events.findIndex((e) => e.reason === 'Killing');
    expect(events.slice(0, killing).filter((e) => e.reason === 'Unhealthy').map((e) => e.message)).toEqual(['Liveness probe failed: not healthy', 'Liveness probe failed: not healthy']);
    expect(events.find((e) => e.reason === 'Killing')?.message).toBe('Container a failed liveness probe, will be restarted');
    expect(rt.calls.filter((c) => c === 'start a')).toHaveLength(2);
  });

  it('a failing postStart hook kills the instance and records FailedPostStartHook', async () => {
    const { rt, events, w } = setup(pod([{ name: 'a', command: ['x'], lifecycle: { postStart: { exec: { command: ['hook'] } } } }], { restartPolicy: 'Never' }));
    rt.execResult = () => ({ exitCode: 1, output: 'boom', timedOut: false });
    await settle();
    expect(events.some((e) => e.reason === 'FailedPostStartHook' && e.message === 'PostStartHook failed')).toBe(true);
    expect(rt.calls).toContain('killAll a');
    expect(w.status?.phase).toBe('Failed');
  });

  it('exposes PODVISOR_RESTART_COUNT and PODVISOR_POD_RESTART_COUNT to each instance', async () => {
    const { rt, w } = setup(pod([{ name: 'a', command: ['x'], restartPolicy: 'Never', restartPolicyRules: [{ action: 'RestartAllContainers', exitCodes: { operator: 'In', values: [42] } }] }]));
    await settle();
    expect(rt.instances[0]?.spec?.env).toMatchObject({ PODVISOR_RESTART_COUNT: '0', PODVISOR_POD_RESTART_COUNT: '0', HOSTNAME: 'web' });
    rt.live('a').exit(42);
    await settle();
    expect(rt.instances[1]?.spec?.env).toMatchObject({ PODVISOR_RESTART_COUNT: '1', PODVISOR_POD_RESTART_COUNT: '1' });
    expect(w.status?.phase).toBe('Running');
  });

  it('restart API: the whole pod in place keeps the sandbox; refusals name the pod', async () => {
    const { rt, w } = setup(pod([{ name: 'a', command: ['x'] }, { name: 'b', command: ['x'] }]));
    await settle();
    expect(w.restart()).toEqual({ ok: true });
    await settle();
    expect(rt.calls.filter((c) => c === 'createSandbox')).toHaveLength(1);
    // §4.3/§4.4: last regular container first; each is killed and removed before the next.
    expect(rt.calls.slice(3)).toEqual(['killAll b', 'remove b', 'killAll a', 'remove a', 'start a', 'start b']);
    expect(w.status?.containerStatuses?.map((c) => c.restartCount)).toEqual([1, 1]);
    w.delete(0);
    await settle();
    const refusal = w.restart('a');
    expect(refusal).toEqual({ refused: true, message: `pod web_default(${w.state.uid}) cannot restart container a: being deleted` });
  });
});

describe('GPU placement (spec §1.4)', () => {
  const gpuPod = (name: string, n: number): Pod => ({
    ...pod([{ name: 'train', command: ['x'], resources: { limits: { 'nvidia.com/gpu': n } }, restartPolicy: 'Never', restartPolicyRules: [{ action: 'RestartAllContainers', exitCodes: { operator: 'In', values: [42] } }] }]),
    metadata: { name, namespace: 'default' },
  });

  it('a pod asking for more GPUs than free stays Pending, Unschedulable, without sandbox, until GPUs free up', async () => {
    const { sup, rt } = setup(gpuPod('a', 2), undefined, ['0', '1', '2']);
    await settle();
    const a = sup.get('default/a')!;
    expect(rt.instances[0]?.spec?.env).toMatchObject({ NVIDIA_VISIBLE_DEVICES: '0,1', CUDA_VISIBLE_DEVICES: '0,1' });
    const b = sup.add(gpuPod('b', 2));
    await settle();
    expect(b.status?.phase).toBe('Pending');
    expect(b.status?.conditions).toEqual([expect.objectContaining({ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/1 nodes are available: 1 Insufficient nvidia.com/gpu (requested 2, free 1 of 3).' })]);
    expect(b.status?.containerStatuses).toBeUndefined();
    expect(rt.calls.filter((c) => c === 'createSandbox')).toHaveLength(1);
    // An in-place restart keeps the devices.
    rt.live('train').exit(42);
    await settle();
    expect(rt.instances[1]?.spec?.env['NVIDIA_VISIBLE_DEVICES']).toBe('0,1');
    expect(b.status?.phase).toBe('Pending');
    // Deleting a frees its GPUs: b is placed and starts.
    a.delete(0);
    await settle();
    sup.remove('default/a');
    await settle();
    expect(b.status?.conditions?.find((c) => c.type === 'PodScheduled')?.status).toBe('True');
    expect(b.status?.phase).toBe('Running');
    expect(rt.instances.at(-1)?.spec?.env['NVIDIA_VISIBLE_DEVICES']).toBe('0,1');
  });
});

describe('failed actions are retried with back-off, never silent (issue: a failed sandbox or container set-up)', () => {
  it('createSandbox fails twice, then succeeds: two FailedCreatePodSandBox events, back-off between attempts, then the pod runs', async () => {
    const { clock, rt, events, w } = setup(pod([{ name: 'a', command: ['x'] }]), undefined, undefined, undefined, (r) => (r.failSandboxes = 2));
    await settle();
    const t0 = clock.t;
    expect(rt.calls).toEqual(['createSandbox']);
    const failed = (): RecordedEvent[] => events.filter((e) => e.reason === 'FailedCreatePodSandBox');
    expect(failed().map((e) => [e.type, e.message])).toEqual([['Warning', 'Failed to create pod sandbox: failed to set up the pod network: no IP addresses available in range set']]);
    expect(w.status?.phase).toBe('Pending');
    expect(w.status?.conditions?.find((c) => c.type === 'PodReadyToStartContainers')?.status).toBe('False');
    // Back-off 10 s after the first failure (a timer, no polling), 20 s after the second.
    expect(clock.pending()).toEqual([t0 + 10_000]);
    await clock.advanceTo(t0 + 9_999);
    expect(rt.calls).toEqual(['createSandbox']);
    await clock.advanceTo(t0 + 10_000);
    expect(rt.calls).toEqual(['createSandbox', 'createSandbox']);
    expect(failed()).toHaveLength(2);
    expect(clock.pending()).toEqual([t0 + 30_000]);
    await clock.advanceTo(t0 + 29_999);
    expect(rt.calls.filter((c) => c === 'createSandbox')).toHaveLength(2);
    await clock.advanceTo(t0 + 30_000);
    await settle();
    expect(rt.calls).toEqual(['createSandbox', 'createSandbox', 'createSandbox', 'start a']);
    expect(failed()).toHaveLength(2);
    expect(w.status?.phase).toBe('Running');
    expect(w.status?.conditions?.find((c) => c.type === 'PodReadyToStartContainers')?.status).toBe('True');
  });

  it('a container create fails twice, then succeeds: two Failed events, CreateContainerError while waiting, back-off between attempts, restartCount 0, never Failed even under Never', async () => {
    const { clock, rt, events, w, restarts } = setup(pod([{ name: 'a', command: ['x'] }], { restartPolicy: 'Never' }));
    rt.failCreates.set('a', 2);
    await settle();
    const t0 = clock.t;
    const failedEvents = (): RecordedEvent[] => events.filter((e) => e.reason === 'Failed');
    expect(failedEvents().map((e) => e.message)).toEqual(['Error: volume "data": mount point /data cannot be created']);
    const cs = () => w.status?.containerStatuses?.[0];
    expect(cs()?.state.waiting).toEqual({ reason: 'CreateContainerError', message: 'volume "data": mount point /data cannot be created' });
    expect(cs()?.lastState).toEqual({});
    expect(cs()?.restartCount).toBe(0);
    expect(w.status?.phase).toBe('Pending');
    expect(clock.pending()).toEqual([t0 + 10_000]);
    await clock.advanceTo(t0 + 10_000);
    expect(rt.calls.filter((c) => c === 'start a')).toHaveLength(2);
    expect(failedEvents()).toHaveLength(2);
    expect(clock.pending()).toEqual([t0 + 30_000]);
    await clock.advanceTo(t0 + 30_000);
    await settle();
    expect(rt.calls.filter((c) => c === 'start a')).toHaveLength(3);
    expect(cs()?.state.running).toBeDefined();
    expect(cs()?.restartCount).toBe(0);
    expect(w.status?.phase).toBe('Running');
    expect(restarts.map((n) => n.trigger)).toEqual(['create-error', 'create-error']);
  });

  it('a kill the runtime fails to carry out is reported (FailedKillPod) and ordered again after a delay', async () => {
    const { clock, rt, events, w } = setup(pod([{ name: 'a', command: ['x'] }, { name: 'b', command: ['x'] }]));
    await settle();
    let failKills = 1;
    const killAll = rt.killAll.bind(rt);
    rt.killAll = async (id: string) => {
      if (failKills-- > 0) throw new Error('permission denied');
      return killAll(id);
    };
    expect(w.restart()).toEqual({ ok: true });
    await settle();
    expect(events.filter((e) => e.reason === 'FailedKillPod').map((e) => e.message)).toEqual(['error killing container b: permission denied']);
    expect(rt.live('b')).toBeDefined();
    await clock.advanceTo(clock.t + 1000);
    await settle();
    expect(rt.calls.slice(-4)).toEqual(['killAll a', 'remove a', 'start a', 'start b']);
    expect(w.status?.containerStatuses?.map((c) => c.restartCount)).toEqual([1, 1]);
  });
});

describe('stop(): podvisor stopping is never a pod event (spec C4, §2.4)', () => {
  /** A runtime whose starts wait for `open()` (a start in flight while podvisor stops). */
  class GatedRuntime extends FakeRuntime {
    open: () => void = () => {};
    private gate = new Promise<void>((r) => (this.open = r));
    override async startContainer(spec: ContainerStartSpec): Promise<ContainerHandle> {
      this.calls.push(`begin ${spec.name}`);
      await this.gate;
      return super.startContainer(spec);
    }
  }

  it('exits seen after stop() are not recorded and nothing is published: a Never pod stays Running; SIGTERM, then SIGKILL at the grace period', async () => {
    const { clock, rt, w, events, restarts } = setup(pod([{ name: 'a', command: ['x'] }, { name: 'b', command: ['x'] }], { restartPolicy: 'Never', terminationGracePeriodSeconds: 5 }));
    await settle();
    expect(w.status?.phase).toBe('Running');
    rt.onTerm.set('b', undefined); // b ignores SIGTERM; a exits 143 on it
    const before = { state: w.state, status: w.status, events: events.length, restarts: restarts.length, calls: rt.calls.length };
    const stopped = w.stop();
    await settle();
    expect(rt.calls.slice(before.calls)).toEqual(['signal a SIGTERM', 'signal b SIGTERM']);
    await clock.advanceTo(clock.t + 4_999);
    expect(rt.calls.slice(before.calls)).toEqual(['signal a SIGTERM', 'signal b SIGTERM']);
    await clock.advanceTo(clock.t + 1);
    await stopped;
    expect(rt.calls.slice(before.calls)).toEqual(['signal a SIGTERM', 'signal b SIGTERM', 'killAll b']);
    // Neither exit (143, 137) was recorded: no Failed phase, no restart, no event, no timer.
    expect(w.state).toBe(before.state);
    expect(w.status).toBe(before.status);
    expect(w.status?.phase).toBe('Running');
    expect(events).toHaveLength(before.events);
    expect(restarts).toHaveLength(before.restarts);
    expect(clock.pending()).toEqual([]);
    // Requests after the stop are ignored as well.
    w.delete(0);
    w.restart();
    await settle();
    expect(rt.calls.slice(before.calls)).toHaveLength(3);
    expect(w.state).toBe(before.state);
  });

  it('a back-off timer and probes due after stop() start and run nothing; their timers are cancelled', async () => {
    const probe = { exec: { command: ['check'] }, periodSeconds: 1 };
    const { clock, rt, w } = setup(pod([{ name: 'a', command: ['x'] }, { name: 'r', command: ['x'], readinessProbe: probe }]));
    await settle();
    rt.live('a').exit(1);
    await settle();
    clock.t += 2000;
    rt.live('a').exit(1);
    await settle();
    expect(w.status?.containerStatuses?.find((c) => c.name === 'a')?.state.waiting?.reason).toBe('CrashLoopBackOff');
    expect(clock.pending()).toContain(clock.t + 10_000); // the back-off timer
    const before = { state: w.state, calls: rt.calls.length };
    await w.stop(); // r exits on SIGTERM at once
    expect(clock.pending()).toEqual([]);
    await clock.advanceTo(clock.t + 60_000);
    expect(rt.calls.slice(before.calls)).toEqual(['signal r SIGTERM']); // no `start a`, no `exec r check`
    expect(w.state).toBe(before.state);
  });

  it('a start that completes after stop() records nothing, the rest of the plan is dropped, and a pod added later is not started', async () => {
    const clock = new FakeClock();
    const rt = new GatedRuntime(clock);
    let published = 0;
    const events: RecordedEvent[] = [];
    const sup = new Supervisor({ runtime: rt, clock, core: { backoffInitialMs: 0, backoffMaxMs: 0 }, sinks: { onStatus: () => published++, onEvent: (e) => events.push(e) } });
    const w = sup.add(pod([{ name: 'a', command: ['x'] }, { name: 'b', command: ['x'] }]));
    await settle();
    expect(rt.calls).toEqual(['createSandbox', 'begin a']);
    const before = { state: w.state, published, events: events.length };
    await sup.stop(); // nothing runs yet: resolves at once
    rt.open();
    await settle();
    expect(rt.calls).toEqual(['createSandbox', 'begin a', 'start a']); // the runtime started it; b is never started
    expect(w.state).toBe(before.state);
    expect(published).toBe(before.published);
    expect(events).toHaveLength(before.events); // no Created/Started
    rt.live('a').exit(1); // and its exit is not watched
    await settle();
    sup.add({ ...pod([{ name: 'c', command: ['x'] }]), metadata: { name: 'late', namespace: 'default' } });
    await settle();
    expect(rt.calls).toEqual(['createSandbox', 'begin a', 'start a']);
    expect(w.state).toBe(before.state);
    expect(published).toBe(before.published);
  });

  it('a graceful deletion in progress: its background kill ends at stop() and sends no SIGKILL at its own deadline', async () => {
    const { clock, rt, w } = setup(pod([{ name: 'a', command: ['x'] }], { terminationGracePeriodSeconds: 30 }));
    await settle();
    rt.onTerm.set('a', undefined);
    const t0 = clock.t;
    w.delete(); // SIGTERM now, SIGKILL due at t0 + 30 s
    await settle();
    expect(rt.calls.at(-1)).toBe('signal a SIGTERM');
    await clock.advanceTo(t0 + 10_000);
    const before = w.state;
    const stopped = w.stop(); // SIGTERM again, SIGKILL due at t0 + 40 s
    await settle();
    await w.drainBackground(); // the deletion's kill task has ended
    await clock.advanceTo(t0 + 30_000);
    expect(rt.calls).not.toContain('killAll a');
    await clock.advanceTo(t0 + 40_000);
    await stopped;
    expect(rt.calls.filter((c) => c === 'killAll a')).toHaveLength(1);
    expect(w.state).toBe(before);
    expect(w.state.finished).toBeUndefined();
  });

  it('the node agent persists nothing after stop(); a new agent on the same store resumes the pod as after a crash', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'podvisor-stop-'));
    try {
      const clock = new FakeClock();
      const core = { backoffInitialMs: 10_000, backoffMaxMs: 300_000 };
      const store = new FileStore<PodState>(dir);
      store.open();
      const agent = new NodeAgent({ store, runtime: new FakeRuntime(clock), clock, core });
      await agent.start();
      agent.createPod(admitted({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { restartPolicy: 'Never', containers: [{ name: 'a', image: 'busybox', command: ['x'] }] } }));
      await settle();
      const file = store.podFile('default', 'p');
      const stored = readFileSync(file, 'utf8');
      expect(JSON.parse(stored).pod.status.phase).toBe('Running');
      const events = agent.listEvents().length;
      await agent.stop(); // the fake container exits 143 on SIGTERM
      await settle();
      expect(readFileSync(file, 'utf8')).toBe(stored);
      expect(agent.listEvents()).toHaveLength(events);

      const store2 = new FileStore<PodState>(dir);
      store2.open();
      const again = new NodeAgent({ store: store2, runtime: new FakeRuntime(clock), clock, core });
      await again.start();
      await settle();
      const p = again.getPod('default', 'p');
      expect(p?.status?.phase).toBe('Running');
      expect(p?.status?.containerStatuses?.[0]).toMatchObject({ restartCount: 1, state: { running: {} }, lastState: { terminated: { reason: 'ContainerStatusUnknown' } } });
      await again.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
