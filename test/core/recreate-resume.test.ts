/**
 * §4.10/§4.11: a re-creation decided and stored, then cut short by a podvisor restart before the
 * agent carried it out, is ordered again by the core at the resume, once; a live process never
 * orders it twice.
 */
import { describe, expect, it } from 'vitest';
import { requestPodRecreate } from '../../src/core/plan/index.js';
import { ctr, mkPod, Sim } from './harness.js';

describe('a re-creation cut short by a podvisor restart', () => {
  function decided(): Sim {
    const sim = new Sim(mkPod({ containers: [ctr('a')] })).sync();
    const r = requestPodRecreate(sim.pod, sim.state, sim.now);
    if ('refused' in r) throw new Error(r.message);
    sim.state = r.state;
    sim.autoExitOnKill = true;
    sim.sync();
    expect(sim.state.finished).toBe(true);
    expect(sim.actions.filter((a) => a.type === 'recreatePod')).toHaveLength(1);
    return sim;
  }

  it('is ordered again after the restart, once', () => {
    const sim = decided().mark();
    sim.restartPodvisor().sync();
    expect(sim.actions.map((a) => a.type)).toEqual(['releaseSandbox', 'recreatePod']);
    expect(sim.actions.find((a) => a.type === 'recreatePod')).toMatchObject({ recreations: 1 });
    sim.mark().sync();
    expect(sim.actions).toEqual([]);
  });

  it('is not ordered again without a restart', () => {
    const sim = decided().mark().sync();
    expect(sim.actions).toEqual([]);
  });
});
