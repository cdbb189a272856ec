// `podvisor run` with a bundle: the files' ConfigMaps and Secrets are the lookups of the pods'
// references, and a pod that waits for an object (or key) the files do not have can never start.
import { describe, expect, it } from 'vitest';
import { loadManifests, type LoadedObject } from '../../src/api/load.js';
import type { Container, Pod } from '../../src/api/types.js';
import { BundleObjects, missingReferences, unstartableReason } from '../../src/cli/run.js';
import { resolveContainerEnv } from '../../src/core/config-refs.js';

const OBJECTS = `apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {mode: slow}
binaryData: {blob: AAE=}
---
apiVersion: v1
kind: Secret
metadata: {name: creds}
stringData: {password: s3cret}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: other}
data: {mode: fast}
`;

function bundle(text = OBJECTS): BundleObjects {
  const b = new BundleObjects();
  for (const o of loadManifests(text, 'b.yaml').objects) expect(b.add(o)).toBeUndefined();
  return b;
}

function pod(container: Partial<Container>, volumes: Pod['spec']['volumes'] = []): Pod {
  return {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'app', namespace: 'default' },
    spec: { containers: [{ name: 'main', image: 'busybox', ...container }], volumes },
  } as Pod;
}

describe('BundleObjects', () => {
  it('serves the ConfigMaps and Secrets (stored form) by namespace and name; the env resolves from them', () => {
    const lookups = bundle().lookups();
    expect(lookups.configMap('default', 'settings')?.data).toEqual({ mode: 'slow' });
    expect(lookups.configMap('other', 'settings')?.data).toEqual({ mode: 'fast' });
    expect(lookups.configMap('default', 'nope')).toBeUndefined();
    expect(lookups.secret('default', 'creds')?.data).toEqual({ password: 'czNjcmV0' });
    const p = pod({
      env: [
        { name: 'MODE', valueFrom: { configMapKeyRef: { name: 'settings', key: 'mode' } } },
        { name: 'PASS', valueFrom: { secretKeyRef: { name: 'creds', key: 'password' } } },
        { name: 'NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      ],
    });
    const env = resolveContainerEnv(p, p.spec.containers[0] as Container, { ...lookups, nodeAllocatable: {}, podIPs: [], hostIPs: [], nodeName: 'n' });
    expect(env).toEqual({ env: [{ name: 'MODE', value: 'slow' }, { name: 'PASS', value: 's3cret' }, { name: 'NAME', value: 'app' }] });
  });

  it('refuses an object twice in one namespace; accepts Namespaces and ignores generateName-only objects', () => {
    const b = bundle();
    const again = loadManifests('apiVersion: v1\nkind: Secret\nmetadata: {name: creds}\n', 'b.yaml').objects[0] as LoadedObject;
    expect(b.add(again)).toBe('secret default/creds appears twice; names must be unique per namespace');
    const ns = loadManifests('apiVersion: v1\nkind: Namespace\nmetadata: {name: demo}\n', 'n.yaml').objects[0] as LoadedObject;
    expect(b.add(ns)).toBeUndefined();
    expect(b.add(ns)).toBe('namespace demo appears twice; names must be unique');
    const generated = loadManifests('apiVersion: v1\nkind: ConfigMap\nmetadata: {generateName: g-}\n', 'g.yaml').objects[0] as LoadedObject;
    expect(b.add(generated)).toBeUndefined();
    expect(b.add(generated)).toBeUndefined();
  });
});

describe('missingReferences', () => {
  const lookups = bundle().lookups();

  it('names the objects and keys that env, envFrom and mounted volumes need and the run lacks; optional ones never', () => {
    const p = pod(
      {
        envFrom: [{ configMapRef: { name: 'absent-cm' } }, { secretRef: { name: 'absent-opt', optional: true } }],
        env: [
          { name: 'A', valueFrom: { configMapKeyRef: { name: 'settings', key: 'nokey' } } },
          // env reads a ConfigMap's data only, never its binaryData
          { name: 'B', valueFrom: { configMapKeyRef: { name: 'settings', key: 'blob' } } },
          { name: 'C', valueFrom: { secretKeyRef: { name: 'gone', key: 'k' } } },
          { name: 'D', valueFrom: { secretKeyRef: { name: 'gone2', key: 'k', optional: true } } },
          { name: 'E', value: 'literal', valueFrom: { secretKeyRef: { name: 'ignored', key: 'k' } } },
        ],
        volumeMounts: [{ name: 'cfg', mountPath: '/c' }, { name: 'proj', mountPath: '/p' }],
      },
      [
        { name: 'cfg', configMap: { name: 'settings', items: [{ key: 'blob', path: 'b' }, { key: 'x', path: 'x' }] } },
        { name: 'proj', projected: { sources: [{ secret: { name: 'creds', items: [{ key: 'password', path: 'p' }] } }, { configMap: { name: 'vol-cm' } }, { secret: { name: 'opt', optional: true } }] } },
        { name: 'unmounted', secret: { secretName: 'never-read' } },
      ],
    );
    expect(missingReferences(p, p.spec.containers[0] as Container, lookups)).toEqual([
      'ConfigMap "absent-cm"',
      'key "nokey" of ConfigMap "settings"',
      'key "blob" of ConfigMap "settings"',
      'Secret "gone"',
      'key "x" of ConfigMap "settings"',
      'ConfigMap "vol-cm"',
    ]);
  });

  it('is empty when everything is there', () => {
    const p = pod({ envFrom: [{ configMapRef: { name: 'settings' } }], volumeMounts: [{ name: 's', mountPath: '/s' }] }, [{ name: 's', secret: { secretName: 'creds' } }]);
    expect(missingReferences(p, p.spec.containers[0] as Container, lookups)).toEqual([]);
  });
});

describe('unstartableReason', () => {
  const lookups = bundle().lookups();
  const waiting = (p: Pod, reason: string, message?: string): Pod => ({
    ...p,
    status: { containerStatuses: [{ name: 'main', image: 'busybox', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason, ...(message ? { message } : {}) } }, lastState: {} }] },
  } as Pod);
  const p = pod({ env: [{ name: 'A', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'a' } } }] });

  it('after the first attempt: one line naming the pod, the container, the missing object and the kubelet\'s reason', () => {
    expect(unstartableReason(waiting(p, 'CreateContainerConfigError', 'configmap "cfg" not found'), lookups)).toEqual({
      pod: 'app',
      message: 'pod default/app can never start: container "main" needs ConfigMap "cfg", which the given files do not have (CreateContainerConfigError: configmap "cfg" not found)',
    });
  });

  it('a volume that cannot be set up (ContainerCreating with the FailedMount message) counts too', () => {
    const v = pod({ volumeMounts: [{ name: 'v', mountPath: '/v' }] }, [{ name: 'v', secret: { secretName: 'nope' } }]);
    expect(unstartableReason(waiting(v, 'ContainerCreating', 'MountVolume.SetUp failed for volume "v" : secret "nope" not found'), lookups)?.message).toBe(
      'pod default/app can never start: container "main" needs Secret "nope", which the given files do not have (ContainerCreating: MountVolume.SetUp failed for volume "v" : secret "nope" not found)',
    );
  });

  it('not before the first attempt, and not for a config error that is not about objects', () => {
    expect(unstartableReason(waiting(p, 'ContainerCreating'), lookups)).toBeUndefined();
    expect(unstartableReason(p, lookups)).toBeUndefined();
    const noRefs = pod({});
    expect(unstartableReason(waiting(noRefs, 'CreateContainerConfigError', 'container "main" has no command'), lookups)).toBeUndefined();
  });
});
