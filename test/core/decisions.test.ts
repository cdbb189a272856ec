/**
 * podvisor decision scenarios P1-P11 (spec §9, decisions D2-D10) and restart budget
 * scenarios B1-B5 (spec §10). P6, P7 and B6 are validation rows: see test/api.
 */
import { describe, expect, it } from 'vitest';
import type { Container } from '../../src/api/types.js';
import { ctr, mkPod, RA, RESET_LAST_STATE, Sim } from './harness.js';

const probe = { exec: { command: ['true'] }, periodSeconds: 10, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 };

describe('podvisor decisions P1-P11', () => {
  it('P1: P Always, a exits 1 repeatedly, no rules -> no AllContainersRestarting condition at any time', () => {
    const sim = new Sim(mkPod({ containers: [ctr('a')] })).sync();
    for (let i = 0; i < 4; i++) {
      sim.exit('a', 1).sync();
      if (sim.wakeAt !== undefined) sim.fireTimer();
    }
    expect(sim.cs('a').restartCount).toBe(4);
    expect(sim.history.every((st) => !st.conditions?.some((c) => c.type === 'AllContainersRestarting'))).toBe(true);
  });

  it('P2: restart API called while a runs -> condition True then False; a restarted once with lastState 137 RestartingAllContainers (D3); condition stays published', () => {
    const sim = new Sim(mkPod({ containers: [ctr('a')] })).sync();
    expect(sim.cond('AllContainersRestarting')).toBeUndefined();
    sim.autoExitOnKill = false;
    sim.restartPod();
    sim.reconcileOnce();
    expect(sim.cond('AllContainersRestarting')).toMatchObject({
      status: 'True', reason: 'RestartRequested', message: 'pod restart requested through the podvisor API',
    });
    expect(sim.events.map((e) => e.message)).toContain('Restarting all containers in place: pod restart requested through the podvisor API');
    sim.autoExitOnKill = true;
    sim.exit('a', 137).sync();
    expect(sim.cs('a').restartCount).toBe(1);
    expect(sim.cs('a').lastState.terminated).toEqual(RESET_LAST_STATE);
    expect(sim.cs('a').state.running).toBeDefined();
    // The real exit (137 Error, SIGKILL by the reset) is in the restart record.
    expect(sim.closedResets.at(-1)?.record.removed).toEqual([{ container: 'a', record: expect.objectContaining({ exitCode: 137, reason: 'Error' }) }]);
    const c = sim.cond('AllContainersRestarting');
    expect(c?.status).toBe('False');
    expect(c?.reason).toBeUndefined();
    // Later exits keep it published (D2: from the first API reset on).
    sim.exit('a', 1).sync();
    expect(sim.cond('AllContainersRestarting')?.status).toBe('False');
  });

  it('P3: two resets 1 s apart -> the first restart is immediate, the second waits 10 s from the source finish with CrashLoopBackOff', () => {
    const pod = mkPod({ restartPolicy: 'Never', containers: [ctr('src', { restartPolicy: 'Never', restartPolicyRules: [RA('In', [42])] }), ctr('other')] });
    const sim = new Sim(pod).sync();
    sim.advance(1000).exit('src', 42).sync();
    expect(sim.cs('src').state.running).toBeDefined();
    expect(sim.wakeAt).toBeUndefined();
    sim.advance(1000).exit('src', 42);
    const finishedAt = sim.now;
    sim.mark().sync();
    for (const n of ['src', 'other']) {
      expect(sim.cs(n).state.waiting).toEqual({ reason: 'CrashLoopBackOff', message: 'back-off 10s restarting all containers pod=p_default(uid-1)' });
    }
    expect(sim.events.find((e) => e.reason === 'BackOff')?.message).toBe('Back-off restarting all containers in pod p_default(uid-1)');
    expect(sim.starts).toEqual([]);
    expect(sim.wakeAt).toBe(finishedAt + 10_000);
    sim.fireTimer();
    expect(sim.starts).toEqual(['src', 'other']);
    expect(sim.status.phase).toBe('Running');
  });

  it('P4: a exits 3 once, b has RA(NotIn,[0]) -> the reset kills b with 137 and exactly one reset happens', () => {
    const pod = mkPod({
      restartPolicy: 'Never',
      containers: [ctr('a', { restartPolicy: 'Never', restartPolicyRules: [RA('In', [3])] }), ctr('b', { restartPolicy: 'Never', restartPolicyRules: [RA('NotIn', [0])] })],
    });
    const sim = new Sim(pod).sync();
    sim.exit('a', 3).sync();
    expect(sim.kills).toEqual([{ container: 'b', sigterm: false, preStop: false, cause: 'reset' }]);
    expect(sim.cs('b').lastState.terminated?.exitCode).toBe(137);
    expect(sim.reasons().filter((r) => r === 'RestartingAllContainers')).toHaveLength(1);
    expect(sim.cs('a').state.running).toBeDefined();
    expect(sim.cs('b').state.running).toBeDefined();
  });

  it('P5: liveness kill of a container under Never that ignores SIGTERM -> it reports 137 and RA(In,[137]) starts a reset', () => {
    const pod = mkPod({ restartPolicy: 'Never', containers: [ctr('a', { restartPolicy: 'Never', restartPolicyRules: [RA('In', [137])], livenessProbe: probe })] });
    const sim = new Sim(pod).sync();
    sim.ignoreTerm.add('a');
    sim.probe('a', 'liveness', 'failure').sync();
    expect(sim.events.find((e) => e.reason === 'Killing')?.message).toBe('Container a failed liveness probe');
    expect(sim.reasons()).toContain('RestartingAllContainers');
    expect(sim.cs('a').restartCount).toBe(1);
    expect(sim.cs('a').lastState.terminated?.exitCode).toBe(137);
    expect(sim.cs('a').state.running).toBeDefined();
  });

  it('P8: restart-grace-period-seconds 5, container traps SIGTERM and exits 0 -> SIGTERM not SIGKILL, no preStop; the restart record shows 0 Completed, lastState the reset record (D3)', () => {
    const pod = mkPod({
      annotations: { 'podvisor.io/restart-grace-period-seconds': '5' },
      containers: [ctr('a', { lifecycle: { preStop: { exec: { command: ['true'] } } } })],
    });
    const sim = new Sim(pod).sync();
    sim.termExit.set('a', 0);
    sim.mark().restartPod();
    sim.sync();
    expect(sim.kills).toEqual([{ container: 'a', sigterm: true, preStop: false, cause: 'reset' }]);
    const kill = sim.actions.find((a) => a.type === 'kill');
    expect(kill && kill.type === 'kill' ? kill.sigkillAt - sim.now : -1).toBe(5000);
    expect(sim.cs('a').lastState.terminated).toEqual(RESET_LAST_STATE);
    expect(sim.closedResets.at(-1)?.record.removed).toEqual([{ container: 'a', record: expect.objectContaining({ exitCode: 0, reason: 'Completed' }) }]);
  });

  it('P9: delete with sidecars s1, s2 and regular c -> c gets SIGTERM first, then s2, then s1; SIGKILL never less than 2 s after SIGTERM', () => {
    const pod = mkPod({
      grace: 30,
      init: [ctr('s1', { restartPolicy: 'Always' }), ctr('s2', { restartPolicy: 'Always' })],
      containers: [ctr('c')],
    });
    const sim = new Sim(pod).sync();
    sim.autoExitOnKill = false;
    const t0 = sim.now;
    sim.mark().delete();
    sim.reconcileOnce();
    let kills = sim.actions.filter((a) => a.type === 'kill');
    expect(kills.map((k) => k.type === 'kill' && k.container)).toEqual(['c']);
    expect(sim.events.filter((e) => e.reason === 'Killing').map((e) => e.container)).toEqual(['c', 's1', 's2']);
    // c takes 29 s to exit; s2 then gets SIGTERM with the 2 s minimum window past the deadline.
    sim.advance(29_500).exit('c', 143);
    sim.reconcileOnce();
    kills = sim.actions.filter((a) => a.type === 'kill');
    expect(kills.map((k) => k.type === 'kill' && k.container)).toEqual(['c', 's2']);
    const s2 = kills[1];
    expect(s2?.type === 'kill' && s2.sigkillAt).toBe(sim.now + 2000);
    sim.advance(2000).exit('s2', 137);
    sim.reconcileOnce();
    kills = sim.actions.filter((a) => a.type === 'kill');
    expect(kills.map((k) => k.type === 'kill' && k.container)).toEqual(['c', 's2', 's1']);
    const s1 = kills[2];
    expect(s1?.type === 'kill' && s1.sigkillAt).toBeGreaterThanOrEqual(Math.max(t0 + 30_000, sim.now + 2000));
    sim.exit('s1', 143);
    sim.reconcileOnce();
    expect(sim.actions.at(-1)).toEqual({ type: 'deletePod' });
    expect(sim.status.phase).toBe('Failed');
  });

  it('P10: exit 0, SIGKILL and memory limit -> Completed/0, Error/137, OOMKilled/137', () => {
    const pod = mkPod({ restartPolicy: 'Never', containers: [ctr('ok'), ctr('killed'), ctr('oom')] });
    const sim = new Sim(pod).sync();
    sim.exit('ok', 0).exit('killed', 137).exit('oom', 137, { oom: true }).sync();
    expect(sim.cs('ok').state.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
    expect(sim.cs('killed').state.terminated).toMatchObject({ exitCode: 137, reason: 'Error' });
    expect(sim.cs('oom').state.terminated).toMatchObject({ exitCode: 137, reason: 'OOMKilled' });
  });

  it('P11: a reset never moves the phase: Running stays Running, Pending (init running) stays Pending', () => {
    const running = new Sim(mkPod({ restartPolicy: 'Never', containers: [ctr('a', { restartPolicy: 'Never', restartPolicyRules: [RA('In', [1])] }), ctr('b')] })).sync();
    running.history = [];
    running.exit('a', 1).sync();
    expect(running.reasons()).toContain('RestartingAllContainers');
    expect(running.phases()).toEqual(['Running']);

    const pending = new Sim(mkPod({
      restartPolicy: 'Never',
      init: [ctr('i1'), ctr('i2', { restartPolicy: 'Never', restartPolicyRules: [RA('In', [1])] })],
      containers: [ctr('b')],
    })).sync();
    pending.exit('i1', 0).sync();
    pending.history = [];
    pending.exit('i2', 1).sync();
    expect(pending.reasons()).toContain('RestartingAllContainers');
    expect(pending.phases()).toEqual(['Pending']);
    pending.exit('i1', 0).sync();
    pending.exit('i2', 0).sync();
    expect(pending.status.phase).toBe('Running');
  });
});

describe('restart budgets B1-B5 (spec §10)', () => {
  const budgetPod = (ann: Record<string, string>) =>
    mkPod({
      annotations: { 'podvisor.io/backoff-initial': '0', 'podvisor.io/backoff-max': '0', ...ann },
      containers: [ctr('a'), ctr('b')],
    });

  it('B1: a exits 1 three times with container-max-restarts 2 -> two container restarts, then a reset with reason RestartBudgetExceeded', () => {
    const sim = new Sim(budgetPod({ 'podvisor.io/container-max-restarts': '2', 'podvisor.io/pod-max-restarts': '1' })).sync();
    sim.mark().advance(1000).exit('a', 1).sync();
    sim.advance(1000).exit('a', 1).sync();
    expect(sim.starts).toEqual(['a', 'a']);
    expect(sim.reasons()).not.toContain('RestartingAllContainers');
    sim.autoExitOnKill = false;
    sim.advance(1000).exit('a', 1).reconcileOnce();
    expect(sim.cond('AllContainersRestarting')).toMatchObject({
      status: 'True', reason: 'RestartBudgetExceeded', message: 'container a exceeded its restart budget: 3 restarts within 10m0s',
    });
    const ev = sim.events.find((e) => e.reason === 'RestartBudgetExceeded');
    expect(ev?.type).toBe('Warning');
    expect(ev?.message).toBe('container a exceeded its restart budget: 3 restarts within 10m0s, escalating to pod');
    sim.autoExitOnKill = true;
    sim.exit('b', 137).sync();
    expect(sim.cs('a').state.running).toBeDefined();
    expect(sim.cs('b').restartCount).toBe(1);
  });

  it('B2: after the reset, a exceeds its budget again -> the reset would exceed pod-max-restarts, the pod is re-created', () => {
    const sim = new Sim(budgetPod({ 'podvisor.io/container-max-restarts': '2', 'podvisor.io/pod-max-restarts': '1' })).sync();
    for (let i = 0; i < 3; i++) sim.advance(1000).exit('a', 1).sync();
    expect(sim.reasons()).toContain('RestartingAllContainers');
    sim.mark().advance(1000).exit('a', 1).sync();
    // Two escalations: the container budget climbs to `pod`, the pod budget then to `recreate`.
    expect(sim.events.filter((e) => e.reason === 'RestartBudgetExceeded').map((e) => e.message)).toEqual([
      'container a exceeded its restart budget: 3 restarts within 10m0s, escalating to pod',
      'container a exceeded its restart budget: 2 pod restarts within 10m0s, escalating to recreate',
    ]);
    expect(sim.kills.map((k) => k.cause)).toEqual(['stop']);
    expect(sim.actions).toContainEqual({ type: 'recreatePod', recreations: 1 });
    expect(sim.state.finished).toBe(true);
    // The stop names the container whose exit led to it (the re-creation record's `container`).
    expect(sim.state.stopping).toMatchObject({ reason: 'Recreate', source: 'a', trigger: { kind: 'budget', rung: 'recreate' } });
  });

  it('B3: as B2 with max-recreates 0 -> no re-creation; the pod ends Failed with reason RestartBudgetExceeded', () => {
    const sim = new Sim(budgetPod({ 'podvisor.io/container-max-restarts': '2', 'podvisor.io/pod-max-restarts': '1', 'podvisor.io/max-recreates': '0' })).sync();
    for (let i = 0; i < 4; i++) sim.advance(1000).exit('a', 1).sync();
    expect(sim.actions.some((a) => a.type === 'recreatePod')).toBe(false);
    expect(sim.status.phase).toBe('Failed');
    expect(sim.status.reason).toBe('RestartBudgetExceeded');
    expect(sim.status.message).toBe('container a exceeded its restart budget: 1 re-creations within 10m0s');
    expect(sim.events.filter((e) => e.reason === 'RestartBudgetExceeded').at(-1)?.message).toBe('container a exceeded its restart budget: 1 re-creations within 10m0s, escalating to fail');
  });

  it('B4: container-max-restarts 1, escalation container,fail -> the first exit restarts a, the second fails the pod', () => {
    const sim = new Sim(mkPod({
      annotations: { 'podvisor.io/container-max-restarts': '1', 'podvisor.io/escalation': 'container,fail', 'podvisor.io/backoff-initial': '0' },
      containers: [ctr('a')],
    })).sync();
    sim.mark().advance(1000).exit('a', 1).sync();
    expect(sim.starts).toEqual(['a']);
    sim.advance(1000).exit('a', 1).sync();
    expect(sim.starts).toEqual(['a']);
    expect(sim.reasons()).not.toContain('RestartingAllContainers');
    expect(sim.status.phase).toBe('Failed');
    expect(sim.status.reason).toBe('RestartBudgetExceeded');
    expect(sim.status.message).toBe('container a exceeded its restart budget: 2 restarts within 10m0s');
  });

  it('B5: free-exit-codes 3 -> exits 3 never count; the first exit 1 restarts a, the second escalates', () => {
    const sim = new Sim(mkPod({
      annotations: { 'podvisor.io/container-max-restarts': '1', 'podvisor.io/free-exit-codes': '3', 'podvisor.io/backoff-initial': '0' },
      containers: [ctr('a')],
    })).sync();
    for (let i = 0; i < 5; i++) sim.advance(1000).exit('a', 3).sync();
    expect(sim.cs('a').restartCount).toBe(5);
    expect(sim.reasons()).not.toContain('RestartBudgetExceeded');
    sim.advance(1000).exit('a', 1).sync();
    expect(sim.cs('a').restartCount).toBe(6);
    expect(sim.reasons()).not.toContain('RestartBudgetExceeded');
    sim.advance(1000).exit('a', 1).sync();
    expect(sim.reasons()).toContain('RestartBudgetExceeded');
    expect(sim.reasons()).toContain('RestartingAllContainers');
  });

  it('budget window slides: restarts older than the window no longer count', () => {
    const sim = new Sim(mkPod({
      annotations: { 'podvisor.io/container-max-restarts': '1', 'podvisor.io/restart-window': '1m', 'podvisor.io/escalation': 'container,fail', 'podvisor.io/backoff-initial': '0' },
      containers: [ctr('a')],
    })).sync();
    sim.advance(1000).exit('a', 1).sync();
    sim.advance(61_000).exit('a', 1).sync();
    expect(sim.cs('a').restartCount).toBe(2);
    expect(sim.status.phase).toBe('Running');
  });
});

describe('manual container restart (§2.8) and API refusals (§4.1 T2)', () => {
  it('restarts one container at once, without back-off and without counting toward a budget', () => {
    const sim = new Sim(mkPod({ annotations: { 'podvisor.io/container-max-restarts': '0' }, containers: [ctr('a'), ctr('b')] })).sync();
    sim.exit('a', 1).sync(); // escalates: the budget is 0
    const fresh = new Sim(mkPod({ annotations: { 'podvisor.io/container-max-restarts': '0' }, containers: [ctr('a'), ctr('b')] })).sync();
    for (let i = 0; i < 3; i++) {
      expect('state' in fresh.restartContainer('a')).toBe(true);
      fresh.sync();
    }
    expect(fresh.cs('a').restartCount).toBe(3);
    expect(fresh.events.filter((e) => e.reason === 'Killing').map((e) => e.message)).toEqual(Array(3).fill('Stopping container a to restart it on request'));
    expect(fresh.reasons()).not.toContain('RestartBudgetExceeded');
    expect(fresh.reasons()).not.toContain('BackOff');
    expect(sim.reasons()).toContain('RestartBudgetExceeded');
  });

  it('refuses init containers, running resets and terminal or deleted pods with a message naming the pod and state', () => {
    const sim = new Sim(mkPod({ restartPolicy: 'Never', init: [ctr('i')], containers: [ctr('a')] })).sync();
    expect(sim.restartContainer('i')).toEqual({ refused: true, message: 'pod p_default(uid-1) cannot restart container i: init container' });
    sim.exit('i', 0).sync();
    sim.autoExitOnKill = false;
    sim.restartPod();
    sim.reconcileOnce();
    expect(sim.restartContainer('a')).toEqual({ refused: true, message: 'pod p_default(uid-1) cannot restart container a: restarting all containers' });
    sim.autoExitOnKill = true;
    sim.exit('a', 137).sync();
    sim.exit('i', 0).sync();
    sim.exit('a', 0).sync();
    expect(sim.status.phase).toBe('Succeeded');
    expect(sim.restartPod()).toEqual({ refused: true, message: 'pod p_default(uid-1) cannot be restarted: Succeeded' });
    const del = new Sim(mkPod({ containers: [ctr('a')] })).sync();
    del.autoExitOnKill = false;
    del.delete().reconcileOnce();
    expect(del.restartPod()).toEqual({ refused: true, message: 'pod p_default(uid-1) cannot be restarted: being deleted' });
  });
});

describe('races between exits and kills', () => {
  it('a probe kill ordered after the process had already exited does not decide the restart: the exit is ordinary', () => {
    const sim = new Sim(mkPod({ restartPolicy: 'OnFailure', containers: [ctr('a', { livenessProbe: probe })] })).sync();
    const finishedAt = sim.now;
    sim.advance(5);
    sim.autoExitOnKill = false;
    sim.probe('a', 'liveness', 'failure').reconcileOnce(); // the kill is ordered at now
    // The exit that had already happened (code 0) is reported only now.
    sim.state = { ...sim.state };
    const inst = sim.state.containers['a']?.instance;
    expect(inst?.kill?.cause).toBe('probe');
    sim.state.containers['a']!.instance = { ...inst!, phase: 'exited', exitCode: 0, finishedAt };
    sim.mark().sync();
    expect(sim.starts).toEqual([]);
    expect(sim.status.phase).toBe('Succeeded');
  });
});

describe('re-create through the API (§4.11)', () => {
  it('stops the pod gracefully, without rule evaluation, then asks for a new instance; refuses a deleted pod', async () => {
    const { requestPodRecreate } = await import('../../src/core/plan/index.js');
    const sim = new Sim(mkPod({ containers: [ctr('a', { restartPolicy: 'Never', restartPolicyRules: [RA('In', [143])] })] })).sync();
    const r = requestPodRecreate(sim.pod, sim.state, sim.now);
    expect('state' in r).toBe(true);
    if ('state' in r) sim.state = r.state;
    sim.mark().sync();
    expect(sim.kills).toEqual([{ container: 'a', sigterm: true, preStop: false, cause: 'stop' }]);
    expect(sim.reasons()).not.toContain('RestartingAllContainers');
    expect(sim.actions).toContainEqual({ type: 'recreatePod', recreations: 1 });
    expect(sim.state.finished).toBe(true);
    const del = new Sim(mkPod({ containers: [ctr('a')] })).sync();
    del.autoExitOnKill = false;
    del.delete().reconcileOnce();
    expect(requestPodRecreate(del.pod, del.state, del.now)).toEqual({ refused: true, message: 'pod p_default(uid-1) cannot be re-created: being deleted' });
  });
});

describe('re-creation holds the phase', () => {
  it('the instance being replaced never reports Failed or Succeeded', async () => {
    const { requestPodRecreate } = await import('../../src/core/plan/index.js');
    const sim = new Sim(mkPod({ containers: [ctr('a')] })).sync();
    const r = requestPodRecreate(sim.pod, sim.state, sim.now);
    if ('state' in r) sim.state = r.state;
    sim.history = [];
    sim.sync();
    expect(sim.phases()).toEqual(['Running']);
  });
});

describe('budget ladder tables (§10.3)', () => {
  it('a ladder without recreate skips it: container,pod,fail fails the pod when the pod budget is exceeded', () => {
    const sim = new Sim(mkPod({
      annotations: { 'podvisor.io/container-max-restarts': '1', 'podvisor.io/pod-max-restarts': '0', 'podvisor.io/escalation': 'container,pod,fail', 'podvisor.io/backoff-initial': '0' },
      containers: [ctr('a')],
    })).sync();
    sim.advance(1000).exit('a', 1).sync();
    sim.advance(1000).exit('a', 1).sync();
    expect(sim.actions.some((a) => a.type === 'recreatePod')).toBe(false);
    expect(sim.status.phase).toBe('Failed');
    expect(sim.status.message).toBe('container a exceeded its restart budget: 1 pod restarts within 10m0s');
    expect(sim.events.filter((e) => e.reason === 'RestartBudgetExceeded').map((e) => e.message)).toEqual([
      'container a exceeded its restart budget: 2 restarts within 10m0s, escalating to pod',
      'container a exceeded its restart budget: 1 pod restarts within 10m0s, escalating to fail',
    ]);
  });

  it('budgets and CrashLoopBackOff combine: every restart that happens still waits its back-off', () => {
    const sim = new Sim(mkPod({ annotations: { 'podvisor.io/container-max-restarts': '3', 'podvisor.io/escalation': 'container,fail' }, containers: [ctr('a')] })).sync();
    sim.advance(1000).exit('a', 1).sync(); // restart 1: immediate (first restart)
    sim.advance(1000).exit('a', 1).sync(); // restart 2: waits 10 s
    expect(sim.cs('a').state.waiting?.reason).toBe('CrashLoopBackOff');
    sim.fireTimer();
    sim.advance(1000).exit('a', 1).sync(); // restart 3: waits 20 s
    expect(sim.cs('a').state.waiting?.message).toContain('back-off 20s');
    sim.fireTimer();
    expect(sim.cs('a').restartCount).toBe(3);
    sim.advance(1000).exit('a', 1).sync(); // the 4th would exceed the budget: fail, without waiting
    expect(sim.status.phase).toBe('Failed');
    expect(sim.status.reason).toBe('RestartBudgetExceeded');
  });

  it('restarts leaving the window stop counting, so a slow crash loop never escalates', () => {
    const sim = new Sim(mkPod({ annotations: { 'podvisor.io/container-max-restarts': '2', 'podvisor.io/restart-window': '1m', 'podvisor.io/backoff-initial': '0' }, containers: [ctr('a')] })).sync();
    for (let i = 0; i < 6; i++) sim.advance(31_000).exit('a', 1).sync();
    expect(sim.cs('a').restartCount).toBe(6);
    expect(sim.reasons()).not.toContain('RestartBudgetExceeded');
  });
});

describe('definition change (§2.4): an image updated through the API', () => {
  it('kills the running container gracefully and starts it from the new definition, whatever the policy; rules are not evaluated; the restart is not counted toward a budget', () => {
    const sim = new Sim(mkPod({ restartPolicy: 'Never', containers: [ctr('a', { image: 'busybox:1.36', restartPolicyRules: [RA('In', [143])] }), ctr('b')] })).sync();
    expect(sim.starts).toEqual(['a', 'b']);
    sim.pod = { ...sim.pod, spec: { ...sim.pod.spec, containers: sim.pod.spec.containers.map((c) => (c.name === 'a' ? { ...c, image: 'busybox:1.37' } : c)) } };
    sim.sync();
    expect(sim.kills).toEqual([{ container: 'a', sigterm: true, preStop: false, cause: 'definition' }]);
    expect(sim.events.map((e) => e.message)).toContain('Container a definition changed, will be restarted');
    expect(sim.starts).toEqual(['a', 'b', 'a']);
    expect(sim.cs('a').restartCount).toBe(1);
    expect(sim.cs('a').state.running).toBeDefined();
    // The exit (143) matched RestartAllContainers, but a definition kill is never evaluated against rules (C4).
    expect(sim.reasons()).not.toContain('RestartingAllContainers');
    expect(sim.cs('b').restartCount).toBe(0);
    // Nothing more happens once it runs the new definition.
    sim.sync();
    expect(sim.kills).toHaveLength(1);
  });

  it('a sidecar is killed with the init container message; an instance without a recorded definition is left alone', () => {
    const sim = new Sim(mkPod({ init: [ctr('side', { restartPolicy: 'Always', image: 'x:1' })], containers: [ctr('a')] })).sync();
    sim.pod = { ...sim.pod, spec: { ...sim.pod.spec, initContainers: [{ ...(sim.pod.spec.initContainers?.[0] as Container), image: 'x:2' }] } };
    sim.sync();
    expect(sim.events.map((e) => e.message)).toContain('Init container side definition changed');
    expect(sim.cs('side').restartCount).toBe(1);
    const old = new Sim(mkPod({ containers: [ctr('a', { image: 'x:1' })] })).sync();
    const inst = old.state.containers['a']?.instance;
    if (inst) delete inst.specImage; // created by an earlier podvisor
    old.pod = { ...old.pod, spec: { ...old.pod.spec, containers: [{ ...(old.pod.spec.containers[0] as Container), image: 'x:2' }] } };
    old.sync();
    expect(old.kills).toEqual([]);
  });
});
