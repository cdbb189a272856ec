// API server defaulting (pkg/apis/core/v1/defaults.go), without mutating the input.
import { describe, expect, it } from 'vitest';
import { decodePod, defaultImagePullPolicy, defaultPod, type Pod } from '../../src/api/index.js';
import { basePod, ctr } from './helpers.js';

const pod = (spec: Record<string, unknown> = {}, metadata: Record<string, unknown> = {}): Pod => decodePod(basePod(spec, metadata)).pod;

describe('defaultPod', () => {
  it('fills namespace, restartPolicy, grace period and container fields', () => {
    const d = defaultPod(pod());
    expect(d.metadata.namespace).toBe('default');
    expect(d.spec.restartPolicy).toBe('Always');
    expect(d.spec.terminationGracePeriodSeconds).toBe(30);
    expect(d.spec.containers[0]).toEqual({
      name: 'c',
      image: 'busybox:1.36',
      command: ['sh', '-c', 'true'],
      imagePullPolicy: 'IfNotPresent',
      terminationMessagePath: '/dev/termination-log',
      terminationMessagePolicy: 'File',
    });
  });

  it('keeps values that are set; "" restartPolicy becomes Always; a negative grace period becomes 1', () => {
    expect(defaultPod(pod({ restartPolicy: 'Never', terminationGracePeriodSeconds: 0 }, { namespace: 'ml' }))).toMatchObject({
      metadata: { namespace: 'ml' },
      spec: { restartPolicy: 'Never', terminationGracePeriodSeconds: 0 },
    });
    expect(defaultPod(pod({ restartPolicy: '' })).spec.restartPolicy).toBe('Always');
    expect(defaultPod(pod({ terminationGracePeriodSeconds: -3 })).spec.terminationGracePeriodSeconds).toBe(1);
  });

  it('probe, httpGet, port and lifecycle defaults on every container kind', () => {
    const probe = { httpGet: { port: 8080 } };
    const d = defaultPod(
      pod({
        containers: [ctr('c', { livenessProbe: probe, readinessProbe: { exec: { command: ['true'] }, timeoutSeconds: 0 }, ports: [{ containerPort: 80 }], lifecycle: { preStop: { httpGet: { port: 80, path: '/quit' } } } })],
        initContainers: [ctr('s', { restartPolicy: 'Always', startupProbe: { tcpSocket: { port: 80 }, periodSeconds: 2 } })],
        ephemeralContainers: [ctr('e', { image: 'busybox' })],
      }),
    );
    const c = d.spec.containers[0];
    expect(c?.livenessProbe).toEqual({ httpGet: { port: 8080, path: '/', scheme: 'HTTP' }, timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3 });
    expect(c?.readinessProbe).toMatchObject({ timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3 });
    expect(c?.ports).toEqual([{ containerPort: 80, protocol: 'TCP' }]);
    expect(c?.lifecycle?.preStop?.httpGet).toEqual({ port: 80, path: '/quit', scheme: 'HTTP' });
    expect(d.spec.initContainers?.[0]?.startupProbe).toMatchObject({ periodSeconds: 2, timeoutSeconds: 1 });
    expect(d.spec.ephemeralContainers?.[0]).toMatchObject({ imagePullPolicy: 'Always', terminationMessagePolicy: 'File' });
  });

  it('imagePullPolicy follows the tag', () => {
    const cases: [string | undefined, string][] = [
      ['busybox', 'Always'],
      ['busybox:latest', 'Always'],
      ['docker.io/library/busybox:1.36', 'IfNotPresent'],
      ['localhost:5000/team/app', 'Always'],
      ['localhost:5000/team/app:v2', 'IfNotPresent'],
      [`busybox@sha256:${'a'.repeat(64)}`, 'IfNotPresent'],
      [`busybox:latest@sha256:${'a'.repeat(64)}`, 'Always'],
      ['', 'IfNotPresent'],
      [undefined, 'IfNotPresent'],
      ['Not A Reference', 'IfNotPresent'],
    ];
    for (const [image, policy] of cases) expect(defaultImagePullPolicy(image), String(image)).toBe(policy);
    expect(defaultPod(pod({ containers: [ctr('c', { image: 'x', imagePullPolicy: 'Never' })] })).spec.containers[0]?.imagePullPolicy).toBe('Never');
  });

  it('volumes: no source → emptyDir; hostPath type ""', () => {
    const d = defaultPod(pod({ volumes: [{ name: 'a' }, { name: 'b', hostPath: { path: '/tmp' } }, { name: 'c', emptyDir: { medium: 'Memory' } }] }));
    expect(d.spec.volumes).toEqual([
      { name: 'a', emptyDir: {} },
      { name: 'b', hostPath: { path: '/tmp', type: '' } },
      { name: 'c', emptyDir: { medium: 'Memory' } },
    ]);
  });

  it('requests default to limits for regular and init containers only', () => {
    const res = { limits: { cpu: '1', memory: '1Gi' }, requests: { cpu: '500m' } };
    const d = defaultPod(
      pod({
        containers: [ctr('c', { resources: res })],
        initContainers: [ctr('i', { resources: { limits: { cpu: '2' } } })],
        ephemeralContainers: [ctr('e', { resources: { limits: { cpu: '2' } } })],
      }),
    );
    expect(d.spec.containers[0]?.resources).toEqual({ limits: { cpu: '1', memory: '1Gi' }, requests: { cpu: '500m', memory: '1Gi' } });
    expect(d.spec.initContainers?.[0]?.resources?.requests).toEqual({ cpu: '2' });
    expect(d.spec.ephemeralContainers?.[0]?.resources?.requests).toBeUndefined();
  });

  it('does not mutate its input and is idempotent', () => {
    const input = pod({ volumes: [{ name: 'a' }], containers: [ctr('c', { livenessProbe: { exec: { command: ['x'] } }, resources: { limits: { cpu: '1' } } })] });
    const snapshot = structuredClone(input);
    const once = defaultPod(input);
    expect(input).toEqual(snapshot);
    expect(defaultPod(once)).toEqual(once);
  });
});
