/**
 * `kubectl debug --target=C`: the start spec of an ephemeral container with a
 * `targetContainerName` carries the runtime ID of the target's running instance
 * (`ContainerStartSpec.targetPidOf`), and without a running target the container is not started
 * (`CreateContainerConfigError`, the kubelet's `unable to find target container C`). Both the
 * pure builder (`containerStartSpec`) and the worker that fills it in (fake runtime and clock).
 */
import { describe, expect, it } from 'vitest';
import type { Container, EphemeralContainer, Pod } from '../../src/api/types.js';
import { containerStartSpec, targetContainerOf } from '../../src/agent/container-spec.js';
import { Supervisor } from '../../src/agent/supervisor.js';
import type { RecordedEvent } from '../../src/api/records.js';
import type { Sandbox } from '../../src/runtime/types.js';
import { FakeClock, settle } from './fake-clock.js';
import { FakeRuntime } from './fake-runtime.js';

function pod(containers: Container[], ephemeralContainers?: EphemeralContainer[], extra: Partial<Pod['spec']> = {}): Pod {
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'default' },
    spec: { restartPolicy: 'Always', terminationGracePeriodSeconds: 30, containers, ...(ephemeralContainers ? { ephemeralContainers } : {}), ...extra },
  };
}

const sandbox: Sandbox = { id: 'sb', podUid: 'uid-1', dir: '/tmp/x', emptyDirPaths: {} };
const ctx = { restartCount: 0, podRestartCount: 0, gpus: [] };
const app: Container = { name: 'app', command: ['sleep', '1000'] };
const debug: EphemeralContainer = { name: 'debugger', command: ['ps'], targetContainerName: 'app' };

describe('containerStartSpec: an ephemeral container\'s target', () => {
  it('carries the runtime ID of the target\'s running instance', () => {
    const p = pod([app], [debug]);
    const asked: string[] = [];
    const built = containerStartSpec(p, debug, sandbox, { ...ctx, runningInstance: (c) => { asked.push(c); return c === 'app' ? 'sandbox://0123abcd' : undefined; } });
    expect(built).toMatchObject({ spec: { name: 'debugger', argv: ['ps'], targetPidOf: 'sandbox://0123abcd' } });
    expect(asked).toEqual(['app']);
  });

  it('is a configuration error when the target has no running instance (the kubelet\'s message)', () => {
    const p = pod([app], [debug]);
    expect(containerStartSpec(p, debug, sandbox, { ...ctx, runningInstance: () => undefined })).toEqual({ configError: 'unable to find target container app' });
    expect(containerStartSpec(p, debug, sandbox, ctx)).toEqual({ configError: 'unable to find target container app' });
  });

  it('leaves it out for an ephemeral container without a target, and for regular containers', () => {
    const plain: EphemeralContainer = { name: 'plain', command: ['ps'] };
    const empty: EphemeralContainer = { name: 'empty', command: ['ps'], targetContainerName: '' };
    const p = pod([app], [plain, empty]);
    const running = { ...ctx, runningInstance: () => 'sandbox://0123abcd' };
    for (const c of [plain, empty, app]) {
      const built = containerStartSpec(p, c, sandbox, running);
      if (!('spec' in built)) throw new Error(`no spec for ${c.name}`);
      expect(built.spec.targetPidOf).toBeUndefined();
      expect(targetContainerOf(p, c)).toBeUndefined();
    }
    expect(targetContainerOf(pod([app], [debug]), debug)).toBe('app');
  });
});

describe('the worker fills in an ephemeral container\'s target', () => {
  function setup(p: Pod) {
    const clock = new FakeClock();
    const rt = new FakeRuntime(clock);
    const events: RecordedEvent[] = [];
    const sup = new Supervisor({ runtime: rt, clock, core: { backoffInitialMs: 10_000, backoffMaxMs: 300_000 }, sinks: { onEvent: (e) => events.push(e) } });
    const w = sup.add(p);
    return { rt, events, w };
  }

  it('kubectl debug --target=app on a running pod: the start spec carries app\'s instance ID; one without a target has none', async () => {
    const p = pod([app, { name: 'side', command: ['sleep', '1000'] }]);
    const { rt, w } = setup(p);
    await settle();
    const target = rt.live('app');
    w.setSpec({ ...p.spec, ephemeralContainers: [debug, { name: 'plain', command: ['ps'] }] });
    await settle();
    expect(rt.calls.slice(-2)).toEqual(['start debugger', 'start plain']);
    expect(rt.live('debugger').spec?.targetPidOf).toBe(target.id);
    expect(rt.live('debugger').spec?.targetPidOf).toBe(w.runningInstance('app'));
    expect(rt.live('plain').spec).toBeDefined();
    expect(rt.live('plain').spec?.targetPidOf).toBeUndefined();
    const st = w.status?.ephemeralContainerStatuses?.find((s) => s.name === 'debugger');
    expect(st?.state.running).toBeDefined();
  });

  it('a target that does not run: not started, CreateContainerConfigError and a Failed event with the kubelet\'s message', async () => {
    const p = pod([app, { name: 'done', command: ['true'] }], undefined, { restartPolicy: 'OnFailure' });
    const { rt, events, w } = setup(p);
    await settle();
    rt.live('done').exit(0); // completed under OnFailure: never started again
    await settle();
    w.setSpec({ ...p.spec, ephemeralContainers: [{ name: 'debugger', command: ['ps'], targetContainerName: 'done' }] });
    await settle();
    expect(rt.calls).not.toContain('start debugger');
    expect(events.filter((e) => e.reason === 'Failed').map((e) => [e.message, e.involvedObject.fieldPath]))
      .toEqual([['Error: unable to find target container done', 'spec.ephemeralContainers{debugger}']]);
    const st = w.status?.ephemeralContainerStatuses?.find((s) => s.name === 'debugger');
    expect(st?.state).toEqual({ waiting: { reason: 'CreateContainerConfigError', message: 'unable to find target container done' } });
    expect(w.status?.phase).toBe('Running'); // the pod goes on untouched
  });
});
