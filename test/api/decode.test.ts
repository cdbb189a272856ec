// Typed decoding: type errors as field errors, unknown fields as warnings, status dropped.
import { describe, expect, it } from 'vitest';
import { decodePod, renderFieldError } from '../../src/api/index.js';
import { basePod, check, ctr } from './helpers.js';

const decode = (v: unknown) => {
  const r = decodePod(v);
  return { ...r, rendered: r.errors.map(renderFieldError) };
};

describe('decodePod', () => {
  it('decodes a valid pod unchanged (apart from fixing apiVersion and kind)', () => {
    const obj = basePod({ restartPolicy: 'Never' }, { labels: { a: 'b' } });
    const r = decode(obj);
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([]);
    expect(r.pod).toEqual(obj);
  });

  it('wrong JSON types are field errors naming the path, with the value', () => {
    const r = decode({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 7, labels: { a: 1 } },
      spec: {
        containers: [{ name: 'c', image: 'busybox', args: 'x', command: [true], stdin: 'yes', ports: [{ containerPort: 1.5 }] }],
        terminationGracePeriodSeconds: '30',
        volumes: { name: 'v' },
      },
    });
    expect(r.rendered).toEqual([
      'metadata.name: Invalid value: 7: must be of type string',
      'metadata.labels[a]: Invalid value: 1: must be of type string',
      'spec.containers[0].args: Invalid value: "x": must be of type array',
      'spec.containers[0].command[0]: Invalid value: true: must be of type string',
      'spec.containers[0].stdin: Invalid value: "yes": must be of type boolean',
      'spec.containers[0].ports[0].containerPort: Invalid value: 1.5: must be of type int32',
      'spec.terminationGracePeriodSeconds: Invalid value: "30": must be of type int64',
      'spec.volumes: Invalid value: {"name":"v"}: must be of type array',
    ]);
    expect(r.errors.every((e) => e.type === 'TypeInvalid')).toBe(true);
  });

  it('numbers outside int32/int64 and non-finite numbers are type errors', () => {
    const r = decode(
      basePod({
        activeDeadlineSeconds: 2 ** 60,
        containers: [ctr('c', { restartPolicy: 'Never', restartPolicyRules: [{ action: 'Restart', exitCodes: { operator: 'In', values: [2147483648, -2147483649, 1e300] } }] })],
      }),
    );
    expect(r.rendered).toEqual([
      'spec.containers[0].restartPolicyRules[0].exitCodes.values[0]: Invalid value: 2147483648: must be of type int32',
      'spec.containers[0].restartPolicyRules[0].exitCodes.values[1]: Invalid value: -2147483649: must be of type int32',
      'spec.containers[0].restartPolicyRules[0].exitCodes.values[2]: Invalid value: 1e+300: must be of type int32',
      `spec.activeDeadlineSeconds: Invalid value: ${2 ** 60}: must be of type int64`,
    ]);
  });

  it('objects and arrays in the wrong place show a short preview', () => {
    const r = decode(basePod({ restartPolicy: { deep: { deeper: { deepest: { x: 'y'.repeat(200) } } } } }));
    expect(r.rendered).toEqual(['spec.restartPolicy: Invalid value: {"deep":{"deeper":{"deepest":{...}}}}: must be of type string']);
  });

  it('unknown fields are warnings with the full path and are dropped', () => {
    const r = decode({ ...basePod({ containers: [ctr('c', { foo: 1 })], extra: true }), top: 1 });
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual(['unknown field "spec.containers[0].foo"', 'unknown field "spec.extra"', 'unknown field "top"']);
    expect(r.pod.spec.containers[0]).not.toHaveProperty('foo');
    // Field names are case-sensitive, like the API server's strict decoding.
    expect(decode({ ...basePod(), Spec: {} }).warnings).toEqual(['unknown field "Spec"']);
  });

  it('status is dropped without error or warning', () => {
    const r = decode({ ...basePod(), status: { phase: 'Running', containerStatuses: 'garbage' } });
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([]);
    expect(r.pod).not.toHaveProperty('status');
  });

  it('Kubernetes fields podvisor does not model: errors when they change what runs, else ignored with a warning; securityContext is modelled', () => {
    const r = decode(
      basePod({
        nodeSelector: { disk: 'ssd' },
        securityContext: { runAsUser: 1000 },
        volumes: [
          { name: 'data', nfs: { server: 'nfs.example.com', path: '/exports' } },
          { name: 'token', projected: { sources: [{ serviceAccountToken: { path: 'token' } }] } },
        ],
        containers: [
          ctr('c', {
            env: [{ name: 'A', valueFrom: { fileKeyRef: { volumeName: 'data', path: 'env', key: 'A' } } }],
            livenessProbe: { grpc: { port: 9000 } },
            securityContext: { privileged: true },
          }),
        ],
      }),
    );
    expect(r.rendered).toEqual([
      'spec.containers[0].env[0].valueFrom.fileKeyRef: Forbidden: not supported by podvisor',
      'spec.containers[0].livenessProbe.grpc: Forbidden: not supported by podvisor',
      'spec.volumes[0].nfs: Forbidden: not supported by podvisor',
      'spec.volumes[1].projected.sources[0].serviceAccountToken: Forbidden: not supported by podvisor',
    ]);
    // securityContext is modelled (the oci runtime applies it): kept in the pod, no warning.
    expect(r.warnings).toEqual([]);
    expect((r.pod.spec as unknown as Record<string, unknown>)['nodeSelector']).toBeDefined();
    expect(r.pod.spec.securityContext).toEqual({ runAsUser: 1000 });
    expect(r.pod.spec.containers[0]?.securityContext).toEqual({ privileged: true });
  });

  it('ConfigMap, Secret and downward API references are modelled: env valueFrom, envFrom and their volumes', () => {
    const fieldRef = { fieldPath: 'metadata.name' };
    const r = decode(
      basePod({
        volumes: [
          { name: 'cfg', configMap: { name: 'x', items: [{ key: 'k', path: 'p', mode: 0o600 }], defaultMode: 0o644, optional: true } },
          { name: 'sec', secret: { secretName: 's', optional: false } },
          { name: 'meta', downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }] } },
          { name: 'all', projected: { sources: [{ configMap: { name: 'x' } }, { secret: { name: 's' } }, { downwardAPI: { items: [{ path: 'n', fieldRef }] } }] } },
        ],
        containers: [
          ctr('c', {
            envFrom: [{ prefix: 'CFG_', configMapRef: { name: 'x', optional: true } }, { secretRef: { name: 's' } }],
            env: [
              { name: 'A', valueFrom: { fieldRef } },
              { name: 'B', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } },
              { name: 'C', valueFrom: { configMapKeyRef: { name: 'x', key: 'k', optional: true } } },
              { name: 'D', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } },
            ],
          }),
        ],
      }),
    );
    expect(r.rendered).toEqual([]);
    expect(r.warnings).toEqual([]);
    expect(r.pod.spec.containers[0]?.env?.[1]?.valueFrom).toEqual({ resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } });
    expect(r.pod.spec.volumes?.[0]?.configMap?.items).toEqual([{ key: 'k', path: 'p', mode: 0o600 }]);
    expect(decode(basePod({ volumes: [{ name: 'v', secret: { defaultMode: '0644' } }] })).rendered).toEqual([
      'spec.volumes[0].secret.defaultMode: Invalid value: "0644": must be of type int32',
    ]);
  });

  it('null means absent; null items become zero values', () => {
    const r = decode({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', labels: null }, spec: { containers: [null], volumes: null } });
    expect(r.errors).toEqual([]);
    expect(r.pod.metadata).toEqual({ name: 'p' });
    expect(r.pod.spec).toEqual({ containers: [{}] });
  });

  it('quantities are checked for syntax', () => {
    const r = decode(basePod({ containers: [ctr('c', { resources: { limits: { memory: '12 Mi', cpu: 0.5, 'x.io/y': '1kk' } } })] }));
    expect(r.rendered).toEqual([
      "spec.containers[0].resources.limits[memory]: Invalid value: \"12 Mi\": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
      "spec.containers[0].resources.limits[x.io/y]: Invalid value: \"1kk\": unable to parse quantity's suffix",
    ]);
  });

  it('never throws on hostile input', () => {
    let deep: unknown = 'x';
    for (let i = 0; i < 100_000; i++) deep = { spec: deep };
    const weird: unknown[] = [
      null,
      undefined,
      42,
      'pod',
      [],
      [basePod()],
      deep,
      { spec: deep },
      { metadata: deep, spec: { containers: deep } },
      { spec: { containers: [deep, 1, 'x', [], null] } },
      { __proto__: null, spec: { containers: [{ name: '__proto__' }] } },
      JSON.parse('{"metadata":{"labels":{"__proto__":"x","constructor":"y"}}}'),
      { spec: { containers: [{ resources: { limits: { cpu: new Uint8Array(3) } } }] } },
      new Date(0),
      new Map([['a', 1]]),
    ];
    for (const v of weird) {
      const r = decodePod(v);
      expect(Array.isArray(r.pod.spec.containers)).toBe(true);
      // The full pipeline also copes with whatever decoding kept.
      expect(() => r.errors.map(renderFieldError)).not.toThrow();
    }
    expect(decodePod(JSON.parse('{"metadata":{"labels":{"__proto__":"x"}}}')).pod.metadata.labels).toEqual(
      JSON.parse('{"__proto__":"x"}'),
    );
  });

  it('the whole pipeline reports decoding errors alone', () => {
    const r = check(basePod({ restartPolicy: 'Sometimes', containers: [ctr('Bad_Name', { args: 'x' })] }));
    expect(r.errors).toEqual(['spec.containers[0].args: Invalid value: "x": must be of type array']);
  });
});
