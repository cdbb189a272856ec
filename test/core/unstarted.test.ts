/**
 * §2.4 "created, never started" meets a kill: an instance whose start an earlier podvisor process
 * cut short has no process, so no exit will ever come for it. A reset or a stop that waited for
 * one would wait forever (the chaos soak found a pod stuck in `RestartingAllContainers`, then
 * unable to be re-created). Such an instance is dropped at once instead of killed.
 */
import { describe, expect, it } from 'vitest';
import { ctr, mkPod, RA, Sim } from './harness.js';

describe('a created, never started instance is dropped, never waited for', () => {
  it('a reset: the created container is not killed, the reset completes and starts it again', () => {
    const sim = new Sim(mkPod({ containers: [ctr('t', { restartPolicy: 'Always', restartPolicyRules: [RA('In', [42])] }), ctr('s')] })).sync();
    sim.setCreated('s');
    sim.mark().exit('t', 42).sync();
    expect(sim.kills.map((k) => k.container)).toEqual([]);
    expect(sim.removes).toEqual(['s', 't']);
    expect(sim.starts).toEqual(['t', 's']);
    expect(sim.cs('s').state.running).toBeDefined();
    expect(sim.cond('AllContainersRestarting')?.status).toBe('False');
    expect(sim.closedResets).toHaveLength(1);
  });

  it('a deletion: a created sidecar that already had a kill recorded (as a stuck state was stored) does not hold the deletion', () => {
    const sim = new Sim(mkPod({ init: [ctr('side', { restartPolicy: 'Always' })], containers: [ctr('a')] })).sync();
    sim.setCreated('side');
    const inst = sim.state.containers['side']?.instance;
    if (!inst) throw new Error('no side');
    inst.id = '';
    inst.kill = { cause: 'reset', ordered: true, at: sim.now, restart: false, message: 'Stopping container side to restart all containers', preStop: false, terminated: true, sigterm: false, sigkillAt: sim.now };
    sim.autoExitOnKill = true;
    sim.mark().delete(0).sync();
    expect(sim.kills.map((k) => k.container)).toEqual(['a']);
    expect(sim.actions.map((a) => a.type)).toContain('deletePod');
  });
});
