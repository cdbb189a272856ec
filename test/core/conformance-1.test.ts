/**
 * Conformance rows 1-33 of spec §9: restart decisions, init containers, sidecars, ephemeral
 * containers and sandbox loss. Each test names its row.
 */
import { describe, expect, it } from 'vitest';
import { B, Bi, Bs, ctr, mkPod, Sim } from './harness.js';

const probe = { exec: { command: ['true'] }, periodSeconds: 10, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 };

/** Runs Bs until r1-r3 are started and foo1-foo3 running. */
function bsRunning(policy: 'Always' | 'Never' | 'OnFailure'): Sim {
  const sim = new Sim(Bs(policy)).sync();
  sim.probe('r2', 'startup', 'success').sync();
  sim.probe('r3', 'startup', 'success').sync();
  return sim;
}

/** Runs Bi until the three init containers completed (the regular ones are then started). */
function biInitialized(policy: 'Always' | 'Never' | 'OnFailure', stopBefore?: 'init3'): Sim {
  const sim = new Sim(Bi(policy)).sync();
  sim.exit('init1', 0).sync();
  sim.exit('init2', 0).sync();
  if (stopBefore === 'init3') return sim;
  sim.exit('init3', 0).sync();
  return sim;
}

describe('spec §9 rows 1-16: regular containers and sandbox', () => {
  it('row 1: P Always, foo1 exit 0 and foo2 exit 111 -> foo1 and foo2 restarted, foo3 untouched', () => {
    const sim = new Sim(B('Always')).sync();
    expect(sim.status.phase).toBe('Running');
    sim.mark().exit('foo1', 0).exit('foo2', 111).sync();
    expect(sim.starts).toEqual(['foo1', 'foo2']);
    expect(sim.kills).toEqual([]);
    expect(sim.cs('foo1').restartCount).toBe(1);
    expect(sim.cs('foo2').restartCount).toBe(1);
    expect(sim.cs('foo3').restartCount).toBe(0);
    expect(sim.cs('foo2').lastState.terminated?.exitCode).toBe(111);
  });

  it('row 2: P OnFailure, foo1 exit 0 and foo2 exit 111 -> only foo2 restarted', () => {
    const sim = new Sim(B('OnFailure')).sync();
    sim.mark().exit('foo1', 0).exit('foo2', 111).sync();
    expect(sim.starts).toEqual(['foo2']);
    expect(sim.cs('foo1').state.terminated?.reason).toBe('Completed');
    expect(sim.status.phase).toBe('Running');
  });

  it('row 3: P OnFailure, foo1 exit 0 and foo2 created but never started -> foo2 started', () => {
    const sim = new Sim(B('OnFailure')).sync();
    sim.mark().exit('foo1', 0).setCreated('foo2').sync();
    expect(sim.starts).toEqual(['foo2']);
    expect(sim.cs('foo2').state.running).toBeDefined();
  });

  it('row 4: P Never, foo1 exit 0 and foo2 exit 111 -> nothing restarted', () => {
    const sim = new Sim(B('Never')).sync();
    sim.mark().exit('foo1', 0).exit('foo2', 111).sync();
    expect(sim.starts).toEqual([]);
    expect(sim.cs('foo2').state.terminated?.exitCode).toBe(111);
    expect(sim.status.phase).toBe('Running'); // foo3 still runs
  });

  it('row 5: P Always, foo2 liveness failure -> foo2 killed and restarted', () => {
    const pod = B('Always', (cs) => { (cs[1] as { livenessProbe?: unknown }).livenessProbe = probe; });
    const sim = new Sim(pod).sync();
    sim.mark().probe('foo2', 'liveness', 'failure').sync();
    expect(sim.kills).toEqual([{ container: 'foo2', sigterm: true, preStop: false, cause: 'probe' }]);
    expect(sim.starts).toEqual(['foo2']);
    expect(sim.events.find((e) => e.reason === 'Killing')?.message).toBe('Container foo2 failed liveness probe, will be restarted');
    expect(sim.cs('foo2').restartCount).toBe(1);
  });

  it('row 6: P Always, foo2 startup failure -> foo2 killed and restarted', () => {
    const pod = B('Always', (cs) => { (cs[1] as { startupProbe?: unknown }).startupProbe = probe; });
    const sim = new Sim(pod).sync();
    expect(sim.cs('foo2').started).toBe(false);
    sim.mark().probe('foo2', 'startup', 'failure').sync();
    expect(sim.kills.map((k) => k.container)).toEqual(['foo2']);
    expect(sim.starts).toEqual(['foo2']);
    expect(sim.events.find((e) => e.reason === 'Killing')?.message).toBe('Container foo2 failed startup probe, will be restarted');
  });

  it('row 7: P Never, foo2 state unknown -> foo2 killed and started despite Never', () => {
    const sim = new Sim(B('Never')).sync();
    sim.mark().unknown('foo2').sync();
    expect(sim.kills).toEqual([{ container: 'foo2', sigterm: false, preStop: false, cause: 'unknown' }]);
    expect(sim.starts).toEqual(['foo2']);
    expect(sim.events.find((e) => e.reason === 'Killing')?.message).toBe('Container is in "unknown" state, try killing it before restart');
    expect(sim.status.phase).toBe('Running');
  });

  it('row 8: P Never, foo2 created -> foo2 started', () => {
    const sim = new Sim(B('Never')).sync();
    sim.mark().setCreated('foo2').sync();
    expect(sim.starts).toEqual(['foo2']);
  });

  it('row 9: P Always, sandbox lost -> all killed, new sandbox (attempt 1), foo1-foo3 started', () => {
    const sim = new Sim(B('Always')).sync();
    sim.mark().sandboxLost().sync();
    expect(sim.kills.map((k) => k.container).sort()).toEqual(['foo1', 'foo2', 'foo3']);
    expect(sim.actions).toContainEqual({ type: 'createSandbox', attempt: 1 });
    expect(sim.starts).toEqual(['foo1', 'foo2', 'foo3']);
    expect(sim.reasons()).toContain('SandboxChanged');
    expect(sim.events.find((e) => e.reason === 'SandboxChanged')?.message).toBe('Pod sandbox changed, it will be killed and re-created.');
  });

  it('row 10: P OnFailure, sandbox lost with foo2 exited 0 -> new sandbox, foo1 and foo3 started', () => {
    const sim = new Sim(B('OnFailure')).sync();
    sim.exit('foo2', 0).sync();
    sim.mark().sandboxLost().sync();
    expect(sim.actions).toContainEqual({ type: 'createSandbox', attempt: 1 });
    expect(sim.starts).toEqual(['foo1', 'foo3']);
  });

  it('row 11: P Never, sandbox lost with all exited 0 -> no new sandbox, nothing started', () => {
    const sim = new Sim(B('Never')).sync();
    sim.exit('foo1', 0).exit('foo2', 0).exit('foo3', 0).sandboxLost();
    sim.mark().sync();
    expect(sim.actions.some((a) => a.type === 'createSandbox')).toBe(false);
    expect(sim.starts).toEqual([]);
    expect(sim.status.phase).toBe('Succeeded');
  });

  it('row 12: P Never, foo1 and foo2 rp Always, foo1 exit 0 and foo2 exit 111 -> both restarted', () => {
    const sim = new Sim(B('Never', (cs) => { for (const c of cs.slice(0, 2)) c.restartPolicy = 'Always'; })).sync();
    sim.mark().exit('foo1', 0).exit('foo2', 111).sync();
    expect(sim.starts).toEqual(['foo1', 'foo2']);
  });

  it('row 13: P Never, foo1 and foo2 rp OnFailure, foo1 exit 0 and foo2 exit 111 -> only foo2 restarted', () => {
    const sim = new Sim(B('Never', (cs) => { for (const c of cs.slice(0, 2)) c.restartPolicy = 'OnFailure'; })).sync();
    sim.mark().exit('foo1', 0).exit('foo2', 111).sync();
    expect(sim.starts).toEqual(['foo2']);
  });

  it('row 14: as 13, foo1 exit 0 and foo2 created -> foo2 started', () => {
    const sim = new Sim(B('Never', (cs) => { for (const c of cs.slice(0, 2)) c.restartPolicy = 'OnFailure'; })).sync();
    sim.mark().exit('foo1', 0).setCreated('foo2').sync();
    expect(sim.starts).toEqual(['foo2']);
  });

  it('row 15: P Always, foo1 and foo2 rp Never, foo1 exit 0 and foo2 exit 111 -> nothing restarted', () => {
    const sim = new Sim(B('Always', (cs) => { for (const c of cs.slice(0, 2)) c.restartPolicy = 'Never'; })).sync();
    sim.mark().exit('foo1', 0).exit('foo2', 111).sync();
    expect(sim.starts).toEqual([]);
  });

  it('row 16: P Always, foo2 rp OnFailure, sandbox lost with foo2 exited 0 -> new sandbox, foo1 and foo3 started', () => {
    const sim = new Sim(B('Always', (cs) => { (cs[1] as { restartPolicy?: string }).restartPolicy = 'OnFailure'; })).sync();
    sim.exit('foo2', 0).sync();
    sim.mark().sandboxLost().sync();
    expect(sim.actions).toContainEqual({ type: 'createSandbox', attempt: 1 });
    expect(sim.starts).toEqual(['foo1', 'foo3']);
  });
});

describe('spec §9 rows 17-23: init containers', () => {
  it('row 17: Bi, P Always, init3 exit 137 -> init3 restarted', () => {
    const sim = biInitialized('Always', 'init3');
    sim.mark().exit('init3', 137).sync();
    expect(sim.starts).toEqual(['init3']);
    expect(sim.cs('init3').restartCount).toBe(1);
    expect(sim.status.phase).toBe('Pending');
  });

  it('row 18: Bi, P OnFailure, init3 exit 137 -> init3 restarted', () => {
    const sim = biInitialized('OnFailure', 'init3');
    sim.mark().exit('init3', 137).sync();
    expect(sim.starts).toEqual(['init3']);
  });

  it('row 19: Bi, P Never, init3 exit 137 -> pod stopped, phase Failed', () => {
    const sim = biInitialized('Never', 'init3');
    sim.mark().exit('init3', 137).sync();
    expect(sim.starts).toEqual([]);
    expect(sim.status.phase).toBe('Failed');
    expect(sim.actions).toContainEqual({ type: 'releaseSandbox' });
  });

  it('row 20: Bi, P Never, init3 state unknown -> pod stopped, phase Failed', () => {
    const sim = biInitialized('Never', 'init3');
    sim.mark().unknown('init3').sync();
    expect(sim.kills.map((k) => k.container)).toEqual(['init3']);
    expect(sim.events.find((e) => e.reason === 'Killing')?.message).toBe('Init container is in "unknown" state, try killing it before restart');
    expect(sim.starts).toEqual([]);
    expect(sim.status.phase).toBe('Failed');
  });

  it('row 21: Bi, P Always, init3 state unknown -> init3 killed and restarted', () => {
    const sim = biInitialized('Always', 'init3');
    sim.mark().unknown('init3').sync();
    expect(sim.kills.map((k) => k.container)).toEqual(['init3']);
    expect(sim.starts).toEqual(['init3']);
  });

  it('row 22: Bi, no instances at all -> only init1 started', () => {
    const sim = new Sim(Bi('Always')).sync();
    expect(sim.starts).toEqual(['init1']);
    expect(sim.cs('foo1').state.waiting?.reason).toBe('PodInitializing');
    expect(sim.status.phase).toBe('Pending');
  });

  it('row 23: Bi, P Always, init3 created -> init3 started', () => {
    const sim = biInitialized('Always', 'init3');
    sim.mark().setCreated('init3').sync();
    expect(sim.starts).toEqual(['init3']);
  });
});

describe('spec §9 rows 24-30: sidecars (restartable init containers)', () => {
  it('row 24: Bs, P Always, r1 and r3 exited -> r1 and r3 restarted', () => {
    const sim = bsRunning('Always');
    expect(sim.cs('foo1').state.running).toBeDefined();
    sim.mark().exit('r1', 1).exit('r3', 0).sync();
    expect(sim.starts).toEqual(['r1', 'r3']);
  });

  it('row 25: Bs, P Never, r3 exited 137 during initialization -> r3 restarted despite Never, foo1-foo3 not started', () => {
    const sim = new Sim(Bs('Never')).sync();
    sim.probe('r2', 'startup', 'success').sync();
    expect(sim.cs('r3').state.running).toBeDefined();
    sim.mark().exit('r3', 137).sync();
    expect(sim.starts).toEqual(['r3']);
    expect(sim.cs('foo1').state.waiting?.reason).toBe('PodInitializing');
    expect(sim.status.phase).toBe('Pending');
  });

  it('row 26: Bs, P Never, r3 exit 137 with foo1-foo3 running -> r3 restarted', () => {
    const sim = bsRunning('Never');
    sim.mark().exit('r3', 137).sync();
    expect(sim.starts).toEqual(['r3']);
    expect(sim.status.phase).toBe('Running');
  });

  it('row 27: Bs, P Never, foo1-foo3 exit 0 -> sidecars stopped, phase Succeeded', () => {
    const sim = bsRunning('Never');
    sim.mark().exit('foo1', 0).exit('foo2', 0).exit('foo3', 0).sync();
    expect(sim.kills.map((k) => k.container)).toEqual(['r3', 'r2', 'r1']);
    expect(sim.starts).toEqual([]);
    expect(sim.status.phase).toBe('Succeeded');
  });

  it('row 28: Bs, P Always, r3 liveness failed before foo1-foo3 started -> r3 killed and restarted, foo1-foo3 started', () => {
    const sim = new Sim(Bs('Always')).sync();
    sim.probe('r2', 'startup', 'success').sync();
    sim.mark().probe('r3', 'startup', 'success').probe('r3', 'liveness', 'failure').sync();
    expect(sim.kills.map((k) => k.container)).toEqual(['r3']);
    expect(sim.events.find((e) => e.reason === 'Killing')?.message).toBe('Init container r3 failed liveness probe');
    expect(sim.starts).toEqual(['foo1', 'foo2', 'foo3', 'r3']);
  });

  it('row 29: Bs, P Always, r3 startup failure -> r3 killed and restarted', () => {
    const sim = new Sim(Bs('Always')).sync();
    sim.probe('r2', 'startup', 'success').sync();
    sim.mark().probe('r3', 'startup', 'failure').sync();
    expect(sim.kills.map((k) => k.container)).toEqual(['r3']);
    expect(sim.events.find((e) => e.reason === 'Killing')?.message).toBe('Init container r3 failed startup probe');
    expect(sim.starts).toEqual(['r3']);
  });

  it('row 30: Bs, r2 startup probe in progress -> nothing started or killed', () => {
    const sim = new Sim(Bs('Always')).sync();
    expect(sim.starts).toEqual(['r1', 'r2']);
    sim.mark().sync();
    expect(sim.actions).toEqual([]);
    expect(sim.status.phase).toBe('Pending');
  });
});

describe('spec §9 rows 31-33: ephemeral containers, no reset', () => {
  const pod31 = (p: 'Always' | 'Never') => mkPod({ restartPolicy: p, init: [ctr('init1')], containers: [ctr('foo1'), ctr('foo2'), ctr('foo3')], ephemeral: [ctr('debug')] });

  it('row 31: ephemeral debug exited -> nothing restarted', () => {
    const sim = new Sim(pod31('Always')).sync();
    sim.exit('init1', 0).sync();
    sim.inject('debug').sync();
    sim.mark().exit('debug', 1).sync();
    expect(sim.starts).toEqual([]);
    expect(sim.cs('debug').state.terminated?.exitCode).toBe(1);
    expect(sim.cs('debug').restartCount).toBe(0);
  });

  it('row 32: P Never, foo1-foo3 exit 0 with debug running -> pod stopped, debug killed too', () => {
    const sim = new Sim(pod31('Never')).sync();
    sim.exit('init1', 0).sync();
    sim.inject('debug').sync();
    sim.mark().exit('foo1', 0).exit('foo2', 0).exit('foo3', 0).sync();
    expect(sim.kills.map((k) => k.container)).toEqual(['debug']);
    expect(sim.status.phase).toBe('Succeeded');
  });

  it('X4: an ephemeral container added to a running pod starts once and is never restarted', () => {
    const sim = new Sim(mkPod({ restartPolicy: 'Always', containers: [ctr('main')] })).sync();
    expect(sim.starts).toEqual(['main']);
    sim.pod.spec.ephemeralContainers = [ctr('debug')];
    sim.mark().sync();
    expect(sim.starts).toEqual(['debug']);
    expect(sim.cs('debug').state.running).toBeDefined();
    sim.mark().exit('debug', 3).sync();
    sim.mark().sync();
    expect(sim.starts).toEqual([]);
    expect(sim.cs('debug').state.terminated?.exitCode).toBe(3);
    expect(sim.cs('debug').restartCount).toBe(0);
  });

  it('X4/§7.2: an ephemeral container whose creation failed waits with the error and is tried again (back-off); once it ran, never', () => {
    const sim = new Sim(mkPod({ restartPolicy: 'Always', containers: [ctr('main')] })).sync();
    sim.pod.spec.ephemeralContainers = [ctr('debug')];
    sim.failNextStart.set('debug', { reason: 'CreateContainerConfigError', message: 'unable to find target container main' });
    sim.mark().sync();
    expect(sim.starts).toEqual(['debug']);
    expect(sim.cs('debug').state.waiting).toEqual({ reason: 'CreateContainerConfigError', message: 'unable to find target container main' });
    sim.mark().advance(60_000).sync();
    expect(sim.starts).toEqual(['debug']);
    expect(sim.cs('debug').state.running).toBeDefined();
    expect(sim.cs('debug').restartCount).toBe(0);
    sim.mark().exit('debug', 0).advance(60_000).sync();
    expect(sim.starts).toEqual([]);
  });

  it('X4: an ephemeral container starts while an init container still runs (a stuck pod can be debugged)', () => {
    const sim = new Sim(mkPod({ restartPolicy: 'Always', init: [ctr('init1')], containers: [ctr('main')] })).sync();
    expect(sim.starts).toEqual(['init1']);
    sim.pod.spec.ephemeralContainers = [ctr('debug')];
    sim.mark().sync();
    expect(sim.starts).toEqual(['debug']);
    expect(sim.status.phase).toBe('Pending');
  });

  it('row 33: B, no reset in progress -> normal path, nothing removed', () => {
    const sim = new Sim(B('Always')).sync();
    sim.mark().exit('foo2', 1).sync();
    expect(sim.removes).toEqual([]);
    expect(sim.starts).toEqual(['foo2']);
    expect(sim.state.reset).toBeUndefined();
  });
});
