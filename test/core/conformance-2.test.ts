/**
 * Conformance rows 34-65 of spec §9: RestartAllContainers (removal orders, condition,
 * cleanup), CrashLoopBackOff checks, E2E and docs scenarios. Each test names its row.
 */
import { describe, expect, it } from 'vitest';
import { B, Bi, Bs, ctr, mkPod, R, RA, RESET_LAST_STATE, RESET_WAITING, Sim } from './harness.js';

function bsRunning(): Sim {
  const sim = new Sim(Bs('Always')).sync();
  sim.probe('r2', 'startup', 'success').sync();
  sim.probe('r3', 'startup', 'success').sync();
  return sim;
}

describe('spec §9 rows 34-41: reset removal order and cleanup', () => {
  it('row 34: B running, reset in progress -> removal foo3 (k), foo2 (k), foo1 (k); sandbox kept', () => {
    const sim = new Sim(B('Always')).sync();
    sim.mark();
    expect('state' in sim.restartPod()).toBe(true);
    sim.sync();
    expect(sim.kills.map((k) => k.container)).toEqual(['foo3', 'foo2', 'foo1']);
    expect(sim.kills.every((k) => !k.sigterm && !k.preStop)).toBe(true);
    expect(sim.removes).toEqual(['foo3', 'foo2', 'foo1']);
    expect(sim.actions.some((a) => a.type === 'createSandbox' || a.type === 'releaseSandbox')).toBe(false);
  });

  it('row 41: B, cleanup complete -> foo1-foo3 started in the existing sandbox', () => {
    const sim = new Sim(B('Always')).sync();
    sim.mark().restartPod();
    sim.sync();
    expect(sim.starts).toEqual(['foo1', 'foo2', 'foo3']);
    for (const n of ['foo1', 'foo2', 'foo3']) {
      expect(sim.cs(n).restartCount).toBe(1);
      expect(sim.cs(n).state.running).toBeDefined();
    }
  });

  it('row 35: Bi, reset in progress -> remove init3, init2, init1 (no kill)', () => {
    const sim = new Sim(Bi('Always')).sync();
    sim.exit('init1', 0).sync();
    sim.exit('init2', 0).sync();
    sim.exit('init3', 0);
    sim.mark().restartPod();
    const r = sim.reconcileOnce();
    expect(r.actions.filter((a) => a.type === 'remove').map((a) => (a as { container: string }).container)).toEqual(['init3', 'init2', 'init1']);
    expect(r.actions.some((a) => a.type === 'kill')).toBe(false);
  });

  it('row 40: Bi, cleanup complete -> init1 started in the existing sandbox', () => {
    const sim = new Sim(Bi('Always')).sync();
    sim.exit('init1', 0).sync();
    sim.exit('init2', 0).sync();
    sim.exit('init3', 0);
    sim.mark().restartPod();
    sim.sync();
    expect(sim.starts).toEqual(['init1']);
    expect(sim.actions.some((a) => a.type === 'createSandbox')).toBe(false);
    expect(sim.status.phase).toBe('Pending');
  });

  it('row 36: Bs running, reset in progress -> removal foo3, foo2, foo1, r3, r2, r1, all killed', () => {
    const sim = bsRunning();
    sim.mark().restartPod();
    sim.sync();
    expect(sim.kills.map((k) => k.container)).toEqual(['foo3', 'foo2', 'foo1', 'r3', 'r2', 'r1']);
    expect(sim.removes).toEqual(['foo3', 'foo2', 'foo1', 'r3', 'r2', 'r1']);
  });

  it('row 37: init container exit triggers the reset -> init2 (k), init1, then source init3', () => {
    const pod = mkPod({
      restartPolicy: 'Always',
      init: [ctr('init1'), ctr('init2', { restartPolicy: 'Always' }), ctr('init3', { restartPolicy: 'Never', restartPolicyRules: [RA('In', [1])] })],
      containers: [ctr('foo1')],
    });
    const sim = new Sim(pod).sync();
    sim.exit('init1', 0).sync();
    expect(sim.cs('init3').state.running).toBeDefined();
    sim.mark().exit('init3', 1).sync();
    expect(sim.kills.map((k) => k.container)).toEqual(['init2']);
    expect(sim.removes.slice(0, 3)).toEqual(['init2', 'init1', 'init3']);
    expect(sim.starts[0]).toBe('init1');
  });

  it('row 38: sidecar exit triggers the reset -> foo1 (k), r2 (k), r1 (k), then source r3', () => {
    const pod = mkPod({
      restartPolicy: 'Always',
      init: [ctr('r1', { restartPolicy: 'Always' }), ctr('r2', { restartPolicy: 'Always' }), ctr('r3', { restartPolicy: 'Always', restartPolicyRules: [RA('In', [1])] })],
      containers: [ctr('foo1')],
    });
    const sim = new Sim(pod).sync();
    expect(sim.cs('foo1').state.running).toBeDefined();
    sim.mark().exit('r3', 1).sync();
    expect(sim.kills.map((k) => k.container)).toEqual(['foo1', 'r2', 'r1']);
    expect(sim.removes).toEqual(['foo1', 'r2', 'r1', 'r3']);
    expect(sim.starts).toEqual(['r1', 'r2', 'r3', 'foo1']);
  });

  it('row 39: regular container exit triggers the reset -> foo2 (k), foo1 (k), r3 (k), r2 (k), r1 (k), then source foo3', () => {
    const pod = mkPod({
      restartPolicy: 'Always',
      init: [ctr('r1', { restartPolicy: 'Always' }), ctr('r2', { restartPolicy: 'Always' }), ctr('r3', { restartPolicy: 'Always' })],
      containers: [ctr('foo1'), ctr('foo2'), ctr('foo3', { restartPolicy: 'Never', restartPolicyRules: [RA('In', [1])] })],
    });
    const sim = new Sim(pod).sync();
    sim.mark().exit('foo3', 1).sync();
    expect(sim.kills.map((k) => k.container)).toEqual(['foo2', 'foo1', 'r3', 'r2', 'r1']);
    expect(sim.removes).toEqual(['foo2', 'foo1', 'r3', 'r2', 'r1', 'foo3']);
  });
});

describe('spec §9 rows 42-47: AllContainersRestarting condition', () => {
  const pod42 = () => mkPod({ restartPolicy: 'Always', containers: [ctr('container1'), ctr('trigger', { restartPolicy: 'Never', restartPolicyRules: [RA('In', [42])] })] });

  it('row 42: eligible pod pending, no instances -> False, no reason', () => {
    const sim = new Sim(pod42());
    sim.reconcileOnce();
    expect(sim.status.phase).toBe('Pending');
    const c = sim.cond('AllContainersRestarting');
    expect(c?.status).toBe('False');
    expect(c?.reason).toBeUndefined();
  });

  it('row 43: phase Failed -> False, reason PodFailed', () => {
    const sim = new Sim(pod42()).sync();
    sim.state.phase = 'Failed';
    sim.reconcileOnce();
    expect(sim.cond('AllContainersRestarting')).toMatchObject({ status: 'False', reason: 'PodFailed' });
  });

  it('row 44: phase Succeeded -> False, reason PodCompleted', () => {
    const sim = new Sim(pod42()).sync();
    sim.state.phase = 'Succeeded';
    sim.reconcileOnce();
    expect(sim.cond('AllContainersRestarting')).toMatchObject({ status: 'False', reason: 'PodCompleted' });
  });

  it('row 45: trigger exit 42 with container1 running, phase Running -> True, RestartAllContainersStarted', () => {
    const sim = new Sim(pod42()).sync();
    sim.autoExitOnKill = false;
    sim.exit('trigger', 42).reconcileOnce();
    expect(sim.status.phase).toBe('Running');
    expect(sim.cond('AllContainersRestarting')).toMatchObject({
      status: 'True', reason: 'RestartAllContainersStarted', message: 'container exited with restart policy rule',
    });
  });

  it('row 46: condition True while exited instances are still present -> stays True', () => {
    const sim = new Sim(pod42()).sync();
    sim.autoExitOnKill = false;
    expect(sim.exit('trigger', 42).reconcileOnce().requeue).toBe(true); // Begin: published before any kill
    sim.reconcileOnce(); // container1's kill is ordered; it has not exited yet
    const r = sim.reconcileOnce();
    expect(r.actions).toEqual([]);
    expect(sim.state.containers['trigger']?.instance?.phase).toBe('exited');
    expect(sim.cond('AllContainersRestarting')?.status).toBe('True');
  });

  it('row 47: condition True, no instance left -> False, no reason', () => {
    const sim = new Sim(pod42()).sync();
    sim.autoExitOnKill = false;
    sim.exit('trigger', 42).reconcileOnce();
    const before = sim.cond('AllContainersRestarting');
    sim.exit('container1', 137);
    sim.now += 1000;
    sim.sync();
    const c = sim.cond('AllContainersRestarting');
    expect(before?.status).toBe('True');
    expect(c?.status).toBe('False');
    expect(c?.reason).toBeUndefined();
    expect(c?.lastTransitionTime).not.toBe(before?.lastTransitionTime);
  });
});

describe('spec §9 rows 48-50: CrashLoopBackOff checks', () => {
  const pod = () => mkPod({ containers: [ctr('foocontainer')] });

  it('row 48: container running -> no backoff check', () => {
    const sim = new Sim(pod(), { backoffInitialMs: 1000, backoffMaxMs: 60_000 }).sync();
    expect(sim.state.backoff).toEqual({});
    expect(sim.wakeAt).toBeUndefined();
  });

  it('row 49: exited now, no entry, INITIAL 1 s / MAX 60 s -> start allowed, entry created with 1 s', () => {
    const sim = new Sim(pod(), { backoffInitialMs: 1000, backoffMaxMs: 60_000 }).sync();
    sim.mark().exit('foocontainer', 1).sync();
    expect(sim.starts).toEqual(['foocontainer']);
    expect(sim.state.backoff['foocontainer']).toEqual({ delayMs: 1000, lastUpdate: sim.now });
  });

  it('row 50: exited now, entry already advanced for this finish time -> refused, CrashLoopBackOff, retry at finish + 1 s', () => {
    const sim = new Sim(pod(), { backoffInitialMs: 1000, backoffMaxMs: 60_000 }).sync();
    sim.exit('foocontainer', 1).sync();
    sim.mark().exit('foocontainer', 1).sync();
    expect(sim.starts).toEqual([]);
    const w = sim.cs('foocontainer').state.waiting;
    expect(w?.reason).toBe('CrashLoopBackOff');
    expect(w?.message).toBe(`back-off 1s restarting failed container=foocontainer pod=p_default(uid-1)`);
    expect(sim.wakeAt).toBe(sim.now + 1000);
    expect(sim.events.filter((e) => e.reason === 'BackOff')).toHaveLength(1);
    expect(sim.events[0]?.message).toBe('Back-off restarting failed container foocontainer in pod p_default(uid-1)');
  });
});

describe('spec §9 rows 51-55: container restart rules (E2E)', () => {
  it('row 51: P Never, main rp Never R(In,[42]), always exits 42 -> restartCount > 0, phase Running', () => {
    const sim = new Sim(mkPod({ restartPolicy: 'Never', containers: [ctr('main', { restartPolicy: 'Never', restartPolicyRules: [R('In', [42])] })] })).sync();
    for (let i = 0; i < 3; i++) {
      sim.exit('main', 42).sync();
      if (sim.wakeAt !== undefined) sim.fireTimer();
    }
    expect(sim.cs('main').restartCount).toBe(3);
    expect(sim.status.phase).toBe('Running');
  });

  it('row 52: as 51, exits 1 -> not restarted, restartCount 0, phase Failed', () => {
    const sim = new Sim(mkPod({ restartPolicy: 'Never', containers: [ctr('main', { restartPolicy: 'Never', restartPolicyRules: [R('In', [42])] })] })).sync();
    sim.mark().exit('main', 1).sync();
    expect(sim.starts).toEqual([]);
    expect(sim.cs('main').restartCount).toBe(0);
    expect(sim.status.phase).toBe('Failed');
  });

  it('row 53: P Always, main rp Never, exits 1 -> not restarted, phase Failed', () => {
    const sim = new Sim(mkPod({ restartPolicy: 'Always', containers: [ctr('main', { restartPolicy: 'Never' })] })).sync();
    sim.mark().exit('main', 1).sync();
    expect(sim.starts).toEqual([]);
    expect(sim.status.phase).toBe('Failed');
  });

  it('row 54: P Never, main rp Always, exits 1 -> restartCount > 0', () => {
    const sim = new Sim(mkPod({ restartPolicy: 'Never', containers: [ctr('main', { restartPolicy: 'Always' })] })).sync();
    sim.exit('main', 1).sync();
    expect(sim.cs('main').restartCount).toBe(1);
  });

  it('row 55: P Always, main without policy, exits 1 -> restartCount > 0', () => {
    const sim = new Sim(mkPod({ restartPolicy: 'Always', containers: [ctr('main')] })).sync();
    sim.exit('main', 1).sync();
    expect(sim.cs('main').restartCount).toBe(1);
  });
});

/** Every published state of `name` from its removal by the reset until it runs again. */
function statesBetweenRemovalAndRun(sim: Sim, name: string): unknown[] {
  const out: unknown[] = [];
  let removed = false;
  for (const st of sim.history) {
    const cs = [...(st.initContainerStatuses ?? []), ...(st.containerStatuses ?? [])].find((x) => x.name === name);
    if (!cs) continue;
    if (!removed && cs.state.waiting?.reason === 'RestartingAllContainers') removed = true;
    if (removed && cs.state.running) break;
    if (removed) out.push(cs.state);
  }
  return out;
}

describe('D3: statuses during and after an in-place restart (kubelet 1.36, PR #136964)', () => {
  it('2 containers: the source and the last-removed bystander show RestartingAllContainers from removal until they run, then lastState 137 RestartingAllContainers', () => {
    const pod = mkPod({ restartPolicy: 'Never', containers: [ctr('source', { restartPolicy: 'Never', restartPolicyRules: [RA('In', [42])] }), ctr('bystander')] });
    const sim = new Sim(pod).sync();
    sim.history = [];
    sim.exit('source', 42).sync();
    for (const n of ['source', 'bystander']) {
      const states = statesBetweenRemovalAndRun(sim, n);
      expect(states.length, n).toBeGreaterThan(0);
      for (const st of states) expect(st, n).toEqual({ waiting: RESET_WAITING });
      expect(sim.cs(n).state.running, n).toBeDefined();
      expect(sim.cs(n).lastState.terminated, n).toEqual(RESET_LAST_STATE);
      expect(sim.cs(n).restartCount, n).toBe(1);
    }
    // The real exits stay in the reset record: the source's 42 Error, the bystander's SIGKILL.
    expect(sim.closedResets).toHaveLength(1);
    expect(sim.closedResets[0]?.outcome).toBe('completed');
    expect(sim.closedResets[0]?.record.removed).toEqual([
      { container: 'bystander', record: expect.objectContaining({ exitCode: 137, reason: 'Error' }) },
      { container: 'source', record: expect.objectContaining({ exitCode: 42, reason: 'Error' }) },
    ]);
  });

  it('init containers and sidecars removed by a reset show RestartingAllContainers while they wait for their turn, and keep the reset record as lastState until the next instance terminates', () => {
    const pod = mkPod({
      restartPolicy: 'Always',
      init: [ctr('init'), ctr('sidecar', { restartPolicy: 'Always' })],
      containers: [ctr('source', { restartPolicy: 'Never', restartPolicyRules: [RA('In', [42])] }), ctr('regular')],
    });
    const sim = new Sim(pod).sync();
    sim.exit('init', 0).sync();
    sim.history = [];
    sim.exit('source', 42).sync();
    // init runs again first; the others wait for their turn, still showing the reset's state.
    expect(sim.cs('init').state.running).toBeDefined();
    for (const n of ['sidecar', 'source', 'regular']) expect(sim.cs(n).state.waiting, n).toEqual(RESET_WAITING);
    for (const n of ['init', 'sidecar', 'source', 'regular']) expect(sim.cs(n).lastState.terminated, n).toEqual(RESET_LAST_STATE);
    sim.exit('init', 0).sync();
    for (const n of ['init', 'sidecar', 'source', 'regular']) {
      expect(sim.cs(n).lastState.terminated, n).toEqual(RESET_LAST_STATE);
      expect(sim.cs(n).restartCount, n).toBe(1);
    }
    expect(sim.cs('init').state.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
    // The next exit of the regular container replaces the reset record with its own.
    sim.exit('regular', 3).sync();
    expect(sim.cs('regular').lastState.terminated).toMatchObject({ exitCode: 3, reason: 'Error' });
    expect(sim.cs('regular').restartCount).toBe(2);
    expect(sim.cs('source').lastState.terminated).toEqual(RESET_LAST_STATE);
  });
});

describe('spec §9 rows 56-63: RestartAllContainers end to end', () => {
  it('row 56: regular source exits 42 once -> init, sidecar, source, regular each restarted once, phase stays Running', () => {
    const pod = mkPod({
      restartPolicy: 'Never',
      init: [ctr('init'), ctr('sidecar', { restartPolicy: 'Always' })],
      containers: [ctr('source', { restartPolicy: 'Never', restartPolicyRules: [RA('In', [42])] }), ctr('regular')],
    });
    const sim = new Sim(pod).sync();
    sim.exit('init', 0).sync();
    expect(sim.status.phase).toBe('Running');
    sim.history = [];
    sim.exit('source', 42).sync();
    sim.exit('init', 0).sync();
    const phases = sim.phases();
    const reasons = new Set(['init', 'sidecar', 'source', 'regular'].flatMap((n) => sim.waitingReasons(n)));
    expect(phases).toEqual(['Running']);
    expect(reasons.has('RestartingAllContainers')).toBe(true);
    for (const n of ['init', 'sidecar', 'source', 'regular']) {
      expect(sim.cs(n).restartCount, n).toBe(1);
      // D3: lastState is the reset's record, not the removed instance's real exit.
      expect(sim.cs(n).lastState.terminated, n).toEqual(RESET_LAST_STATE);
    }
    expect(sim.cs('source').state.running).toBeDefined();
    expect(sim.cs('regular').state.running).toBeDefined();
    expect(sim.status.phase).toBe('Running');
  });

  it('row 57: sidecar source exits 42 after 30 s -> all four restarted; regular and source-sidecar Running', () => {
    const pod = mkPod({
      restartPolicy: 'Never',
      init: [ctr('init'), ctr('sidecar', { restartPolicy: 'Always' }), ctr('source-sidecar', { restartPolicy: 'Always', restartPolicyRules: [RA('In', [42])] })],
      containers: [ctr('regular')],
    });
    const sim = new Sim(pod).sync();
    sim.exit('init', 0).sync();
    sim.advance(30_000).exit('source-sidecar', 42).sync();
    sim.exit('init', 0).sync();
    for (const n of ['init', 'sidecar', 'source-sidecar', 'regular']) expect(sim.cs(n).restartCount, n).toBe(1);
    expect(sim.cs('regular').state.running).toBeDefined();
    expect(sim.cs('source-sidecar').state.running).toBeDefined();
  });

  it('row 58: init container source exits 42 on its first run -> sidecar, init, source-init restarted; regular starts with restartCount 0; Pending until then', () => {
    const pod = mkPod({
      restartPolicy: 'Never',
      init: [ctr('sidecar', { restartPolicy: 'Always' }), ctr('init'), ctr('source-init', { restartPolicy: 'Never', restartPolicyRules: [RA('In', [42])] })],
      containers: [ctr('regular')],
    });
    const sim = new Sim(pod).sync();
    sim.exit('init', 0).sync();
    sim.exit('source-init', 42).sync();
    expect(sim.status.phase).toBe('Pending');
    sim.exit('init', 0).sync();
    expect(sim.status.phase).toBe('Pending');
    sim.exit('source-init', 0).sync();
    for (const n of ['sidecar', 'init', 'source-init']) expect(sim.cs(n).restartCount, n).toBe(1);
    expect(sim.cs('regular').restartCount).toBe(0);
    expect(sim.cs('regular').state.running).toBeDefined();
    expect(sim.status.phase).toBe('Running');
  });

  it('row 59: two containers with the same rule, source exits 42 once -> one reset, the reset kill of regular is not evaluated', () => {
    const pod = mkPod({
      restartPolicy: 'Never',
      containers: [ctr('source', { restartPolicy: 'Never', restartPolicyRules: [RA('In', [42])] }), ctr('regular', { restartPolicy: 'Never', restartPolicyRules: [RA('In', [42])] })],
    });
    const sim = new Sim(pod).sync();
    sim.termExit.set('regular', 42);
    sim.advance(10_000).exit('source', 42).sync();
    expect(sim.reasons().filter((r) => r === 'RestartingAllContainers')).toHaveLength(1);
    expect(sim.cs('source').restartCount).toBe(1);
    expect(sim.cs('regular').restartCount).toBe(1);
    expect(sim.cs('regular').state.running).toBeDefined();
  });

  it('row 60: source rp Always RA(In,[42]) exits 1, then 42 -> single restart, then a reset; both Running', () => {
    const pod = mkPod({ containers: [ctr('source', { restartPolicy: 'Always', restartPolicyRules: [RA('In', [42])] }), ctr('regular')] });
    const sim = new Sim(pod).sync();
    sim.mark().exit('source', 1).sync();
    expect(sim.starts).toEqual(['source']);
    expect(sim.reasons()).not.toContain('RestartingAllContainers');
    sim.mark().advance(60_000).exit('source', 42).sync();
    expect(sim.reasons()).toContain('RestartingAllContainers');
    expect(sim.starts).toEqual(['source', 'regular']);
    expect(sim.cs('source').state.running).toBeDefined();
    expect(sim.cs('regular').state.running).toBeDefined();
    expect(sim.cs('source').restartCount).toBe(2);
    expect(sim.cs('regular').restartCount).toBe(1);
  });

  it('row 61: standalone pod, source exits 42 every ~60 s -> every container restarted; from the second reset on the pod-level back-off applies', () => {
    const pod = mkPod({
      restartPolicy: 'Never',
      init: [ctr('init'), ctr('sidecar', { restartPolicy: 'Always' })],
      containers: [ctr('source', { restartPolicy: 'Never', restartPolicyRules: [RA('In', [42])] }), ctr('regular')],
    });
    const sim = new Sim(pod).sync();
    sim.exit('init', 0).sync();
    expect(sim.cond('Ready')?.status).toBe('True');
    const waits: string[] = [];
    for (let round = 0; round < 4; round++) {
      sim.advance(60_000).exit('source', 42).sync();
      if (sim.wakeAt !== undefined) {
        waits.push(sim.cs('regular').state.waiting?.message ?? '');
        sim.fireTimer();
      }
      sim.exit('init', 0).sync();
    }
    // Each source exit is 60 s after the restart, so the schedule doubles: none, 10 s, 20 s, 40 s.
    expect(waits).toEqual([
      'back-off 10s restarting all containers pod=p_default(uid-1)',
      'back-off 20s restarting all containers pod=p_default(uid-1)',
      'back-off 40s restarting all containers pod=p_default(uid-1)',
    ]);
    for (const n of ['init', 'sidecar', 'source', 'regular']) expect(sim.cs(n).restartCount, n).toBeGreaterThanOrEqual(1);
    expect(sim.status.phase).toBe('Running');
  });

  it('row 62: 10 sleeping containers, podvisor restarted while removal is in progress -> all 11 restarted and Running', () => {
    const sleepers = Array.from({ length: 10 }, (_, i) => ctr(`sleep${i}`));
    const pod = mkPod({ restartPolicy: 'Never', containers: [ctr('source', { restartPolicy: 'Never', restartPolicyRules: [RA('In', [42])] }), ...sleepers] });
    const sim = new Sim(pod).sync();
    sim.autoExitOnKill = false;
    sim.exit('source', 42).reconcileOnce(); // first kill ordered, never carried out: podvisor dies
    expect(sim.cond('AllContainersRestarting')?.status).toBe('True');
    sim.restartPodvisor();
    sim.autoExitOnKill = true;
    sim.sync();
    expect(sim.cond('AllContainersRestarting')?.status).toBe('False');
    for (const n of ['source', ...sleepers.map((c) => c.name)]) {
      expect(sim.cs(n).restartCount, n).toBeGreaterThan(0);
      expect(sim.cs(n).state.running, n).toBeDefined();
    }
    expect(sim.reasons().filter((r) => r === 'RestartingAllContainers')).toHaveLength(1);
  });

  it('row 63: podvisor restarted during start-up after a reset -> an instance it could not re-adopt is killed and started again despite Never, the pod does not fail', () => {
    const sleepers = Array.from({ length: 10 }, (_, i) => ctr(`sleep${i}`));
    const pod = mkPod({
      restartPolicy: 'Never',
      init: [ctr('init')],
      containers: [ctr('source', { restartPolicy: 'Never', restartPolicyRules: [RA('In', [42])] }), ...sleepers],
    });
    const sim = new Sim(pod).sync();
    sim.exit('init', 0).sync();
    sim.exit('source', 42).sync();
    expect(sim.cs('init').state.running).toBeDefined(); // step 5: init runs again
    sim.restartPodvisor();
    sim.mark().unknown('init', true).sync();
    expect(sim.kills.map((k) => k.container)).toEqual(['init']);
    expect(sim.starts).toEqual(['init']);
    expect(sim.status.phase).toBe('Running');
    sim.exit('init', 0).sync();
    for (const n of ['source', ...sleepers.map((c) => c.name)]) {
      expect(sim.cs(n).restartCount, n).toBeGreaterThan(0);
      expect(sim.cs(n).state.running, n).toBeDefined();
    }
    expect(sim.status.phase).toBe('Running');
  });
});

describe('spec §9 rows 64-65: documentation examples', () => {
  it('row 64: init-once rp Never exits 1 -> not retried, phase Failed, main never ran', () => {
    const pod = mkPod({ restartPolicy: 'Always', init: [ctr('init-once', { restartPolicy: 'Never' })], containers: [ctr('main')] });
    const sim = new Sim(pod).sync();
    sim.mark().exit('init-once', 1).sync();
    expect(sim.starts).toEqual([]);
    expect(sim.status.phase).toBe('Failed');
    expect(sim.cs('main').state.waiting?.reason).toBe('PodInitializing');
    expect(sim.cs('main').restartCount).toBe(0);
  });

  it('row 65: P OnFailure, try-once rp Never exits 1 -> not restarted; on-failure-container restarted on failure; Running', () => {
    const pod = mkPod({ restartPolicy: 'OnFailure', containers: [ctr('try-once', { restartPolicy: 'Never' }), ctr('on-failure-container')] });
    const sim = new Sim(pod).sync();
    sim.mark().exit('try-once', 1).sync();
    expect(sim.starts).toEqual([]);
    expect(sim.status.phase).toBe('Running');
    sim.exit('on-failure-container', 2).sync();
    expect(sim.starts).toEqual(['on-failure-container']);
    expect(sim.status.phase).toBe('Running');
    sim.advance(5000).exit('on-failure-container', 0).sync();
    expect(sim.status.phase).toBe('Failed'); // try-once failed, the other completed
  });
});
