/** Phase (§6.2) and condition (§6.4) tables, container status shape (§7). */
import { describe, expect, it } from 'vitest';
import { Bi, ctr, mkPod, Sim } from './harness.js';

const probe = { exec: { command: ['true'] }, periodSeconds: 10, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 };

describe('§6.2 phase, line by line', () => {
  it('line 1: a terminal phase is final', () => {
    const sim = new Sim(mkPod({ restartPolicy: 'Never', containers: [ctr('a')] })).sync();
    sim.exit('a', 1).sync();
    expect(sim.status.phase).toBe('Failed');
    sim.state.containers['a'] = { ...sim.state.containers['a']!, instance: { id: 'x', phase: 'running', createdAt: 0, started: true, ready: true } };
    sim.reconcileOnce();
    expect(sim.status.phase).toBe('Failed');
  });

  it('line 1a: activeDeadlineSeconds exceeded -> containers stopped, then Failed with DeadlineExceeded', () => {
    const sim = new Sim(mkPod({ activeDeadlineSeconds: 10, containers: [ctr('a')] })).sync();
    expect(sim.wakeAt).toBe(sim.now + 10_000);
    sim.autoExitOnKill = false;
    sim.fireTimer();
    expect(sim.kills.map((k) => k.container)).toEqual(['a']);
    expect(sim.status.phase).toBe('Running');
    sim.exit('a', 143).sync();
    expect(sim.status.phase).toBe('Failed');
    expect(sim.status.reason).toBe('DeadlineExceeded');
    expect(sim.status.message).toBe('Pod was active on the node longer than the specified deadline');
  });

  it('line 4: pending init containers, waiting regular containers and an unstarted sidecar keep the pod Pending', () => {
    const init = new Sim(Bi('Always')).sync();
    expect(init.status.phase).toBe('Pending');
    const sidecar = new Sim(mkPod({ init: [ctr('s', { restartPolicy: 'Always', startupProbe: probe })], containers: [ctr('a')] })).sync();
    expect(sidecar.cs('s').state.running).toBeDefined();
    expect(sidecar.status.phase).toBe('Pending');
  });

  it('line 5: something running -> Running', () => {
    expect(new Sim(mkPod({ containers: [ctr('a')] })).sync().status.phase).toBe('Running');
  });

  it('line 7: a container in CrashLoopBackOff -> Running', () => {
    const sim = new Sim(mkPod({ containers: [ctr('a')] })).sync();
    sim.exit('a', 1).sync();
    sim.exit('a', 1).sync();
    expect(sim.cs('a').state.waiting?.reason).toBe('CrashLoopBackOff');
    expect(sim.status.phase).toBe('Running');
  });

  it('line 8: all exited 0 under Never -> Succeeded; one exited 1 -> Failed', () => {
    const ok = new Sim(mkPod({ restartPolicy: 'Never', containers: [ctr('a'), ctr('b')] })).sync();
    ok.exit('a', 0).exit('b', 0).sync();
    expect(ok.status.phase).toBe('Succeeded');
    const bad = new Sim(mkPod({ restartPolicy: 'Never', containers: [ctr('a'), ctr('b')] })).sync();
    bad.exit('a', 0).exit('b', 1).sync();
    expect(bad.status.phase).toBe('Failed');
  });

  it('line 9: nothing published yet -> Pending', () => {
    const sim = new Sim(mkPod({ containers: [ctr('a')] }));
    sim.reconcileOnce();
    expect(sim.status.phase).toBe('Pending');
    expect(sim.cs('a').state.waiting?.reason).toBe('ContainerCreating');
  });

  it('deletion: Succeeded when every regular container exited 0, otherwise Failed (§8.1 step 7)', () => {
    const sim = new Sim(mkPod({ containers: [ctr('a')] })).sync();
    sim.termExit.set('a', 0);
    sim.delete().sync();
    expect(sim.status.phase).toBe('Succeeded');
    expect(sim.actions.at(-1)).toEqual({ type: 'deletePod' });
    const killed = new Sim(mkPod({ containers: [ctr('a')] })).sync();
    killed.delete().sync();
    expect(killed.status.phase).toBe('Failed');
  });
});

describe('§6.4 conditions', () => {
  it('PodReadyToStartContainers follows the sandbox', () => {
    const sim = new Sim(mkPod({ containers: [ctr('a')] }));
    sim.reconcileOnce();
    expect(sim.cond('PodReadyToStartContainers')?.status).toBe('False');
    expect(sim.actions).toEqual([{ type: 'createSandbox', attempt: 0 }]);
    sim.play({ type: 'createSandbox', attempt: 0 });
    sim.sync();
    expect(sim.cond('PodReadyToStartContainers')?.status).toBe('True');
    expect(sim.cond('PodScheduled')?.status).toBe('True');
    const mp = new Sim(mkPod({ restartPolicy: 'Never', containers: [ctr('a')] })).sync();
    mp.exit('a', 0).sync();
    expect(mp.actions).toContainEqual({ type: 'releaseSandbox' });
    expect(mp.cond('PodReadyToStartContainers')?.status).toBe('False');
  });

  it('Initialized: False with the incomplete names until init completes, then True, and stays True across a reset', () => {
    const sim = new Sim(Bi('Always')).sync();
    expect(sim.cond('Initialized')).toMatchObject({
      status: 'False', reason: 'ContainersNotInitialized', message: 'containers with incomplete status: [init1 init2 init3]',
    });
    sim.exit('init1', 0).sync();
    expect(sim.cond('Initialized')?.message).toBe('containers with incomplete status: [init2 init3]');
    sim.exit('init2', 0).sync();
    sim.exit('init3', 0).sync();
    expect(sim.cond('Initialized')?.status).toBe('True');
    sim.restartPod();
    sim.sync();
    expect(sim.cs('init1').state.running).toBeDefined();
    expect(sim.cond('Initialized')?.status).toBe('True');
  });

  it('Initialized: True without init containers; PodCompleted when the pod Succeeded', () => {
    const sim = new Sim(mkPod({ restartPolicy: 'Never', init: [ctr('i')], containers: [ctr('a')] })).sync();
    sim.exit('i', 0).sync();
    sim.exit('a', 0).sync();
    expect(sim.status.phase).toBe('Succeeded');
    expect(sim.cond('Initialized')).toMatchObject({ status: 'True', reason: 'PodCompleted' });
    expect(sim.cond('ContainersReady')).toMatchObject({ status: 'False', reason: 'PodCompleted' });
    expect(sim.cond('Ready')).toMatchObject({ status: 'False', reason: 'PodCompleted' });
  });

  it('ContainersReady and Ready: unready names (sidecars first), readiness probes, PodFailed', () => {
    const sim = new Sim(mkPod({
      restartPolicy: 'Never',
      init: [ctr('side', { restartPolicy: 'Always', readinessProbe: probe })],
      containers: [ctr('web', { readinessProbe: probe }), ctr('app')],
    })).sync();
    expect(sim.cond('ContainersReady')).toMatchObject({ status: 'False', reason: 'ContainersNotReady', message: 'containers with unready status: [side web]' });
    expect(sim.cond('Ready')).toMatchObject({ status: 'False', reason: 'ContainersNotReady', message: 'containers with unready status: [side web]' });
    sim.probe('side', 'readiness', 'success').probe('web', 'readiness', 'success').sync();
    expect(sim.cond('ContainersReady')?.status).toBe('True');
    expect(sim.cond('Ready')?.status).toBe('True');
    const t = sim.cond('Ready')?.lastTransitionTime;
    sim.advance(5000).probe('web', 'readiness', 'success').sync();
    expect(sim.cond('Ready')?.lastTransitionTime).toBe(t);
    sim.advance(5000).probe('web', 'readiness', 'failure').sync();
    expect(sim.cond('Ready')).toMatchObject({ status: 'False', message: 'containers with unready status: [web]' });
    expect(sim.cond('Ready')?.lastTransitionTime).not.toBe(t);
    expect(sim.cs('web').ready).toBe(false);
    sim.exit('web', 1).exit('app', 0).sync();
    expect(sim.status.phase).toBe('Failed');
    expect(sim.cond('ContainersReady')).toMatchObject({ status: 'False', reason: 'PodFailed' });
  });

  it('Ready: readiness gates without a condition -> ReadinessGatesNotReady', () => {
    const pod = mkPod({ containers: [ctr('a')] });
    pod.spec.readinessGates = [{ conditionType: 'example.com/lb' }];
    const sim = new Sim(pod).sync();
    expect(sim.cond('ContainersReady')?.status).toBe('True');
    expect(sim.cond('Ready')).toMatchObject({
      status: 'False', reason: 'ReadinessGatesNotReady', message: 'corresponding condition of pod readiness gate "example.com/lb" does not exist.',
    });
  });
});

describe('§7 container status shape', () => {
  it('containerStatuses sorted by name, init statuses in spec order, every status present from the first publication', () => {
    const sim = new Sim(mkPod({ init: [ctr('z-init'), ctr('a-init')], containers: [ctr('zeta'), ctr('alpha')] }));
    sim.reconcileOnce();
    expect(sim.status.containerStatuses?.map((s) => s.name)).toEqual(['alpha', 'zeta']);
    expect(sim.status.initContainerStatuses?.map((s) => s.name)).toEqual(['z-init', 'a-init']);
    expect(sim.cs('alpha').state.waiting?.reason).toBe('PodInitializing');
  });

  it('running and terminated states carry times, container IDs and reasons', () => {
    const sim = new Sim(mkPod({ restartPolicy: 'Never', containers: [ctr('a')] })).sync();
    const st = sim.cs('a');
    expect(st.containerID).toMatch(/^host:\/\/a-/);
    expect(st.state.running?.startedAt).toBe('2026-11-22T12:00:00Z');
    sim.advance(3000).exit('a', 0).sync();
    expect(sim.cs('a').state.terminated).toMatchObject({ exitCode: 0, reason: 'Completed', startedAt: '2026-11-22T12:00:00Z', finishedAt: '2026-11-22T12:00:03Z', containerID: st.containerID });
    expect(sim.status.startTime).toBe('2026-11-22T12:00:00Z');
  });
});
