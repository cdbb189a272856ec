// ConfigMap, Secret and downward API references in a Pod, validated and defaulted as a 1.36 API
// server does (validation.go: ValidateEnv, validateEnvVarValueFrom, ValidateEnvFrom, the
// secret/downwardAPI/configMap/projected volume sources; defaults.go for their defaults).
import { describe, expect, it } from 'vitest';
import { canonicalQuantity, parseExactQuantity } from '../../src/api/quantity-exact.js';
import { basePod, check, ctr, type Obj } from './helpers.js';

const SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const KEY_MSG =
  "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";
const MODE_MSG = 'must be a number between 0 and 0777 (octal), both inclusive';
const ENV_PATHS =
  'supported values: "metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName", "spec.serviceAccountName", "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs"';
const VOLUME_PATHS = 'supported values: "metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace", "metadata.uid"';
const BYTE_DIVISORS = '1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei';

/** The errors of a pod whose single container has `env`/`envFrom` as given. */
const envErrors = (extra: Obj): string[] => check(basePod({ containers: [ctr('c', extra)] })).errors;
const oneEnv = (valueFrom: Obj, value?: string): string[] => envErrors({ env: [{ name: 'V', ...(value === undefined ? {} : { value }), valueFrom }] });
const volErrors = (...volumes: Obj[]): string[] => check(basePod({ volumes })).errors;
const E = 'spec.containers[0].env[0].valueFrom';

describe('a valid pod using every reference kind', () => {
  const pod = basePod({
    volumes: [
      { name: 'cfg', configMap: { name: 'app', items: [{ key: 'a.conf', path: 'conf/a.conf', mode: 0o600 }], optional: true } },
      { name: 'sec', secret: { secretName: 'creds' } },
      { name: 'meta', downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }, { path: 'mem', resourceFieldRef: { containerName: 'c', resource: 'limits.memory', divisor: '1Mi' } }] } },
      { name: 'all', projected: { sources: [{ configMap: { name: 'app' } }, { secret: { name: 'creds', items: [{ key: 'k', path: 'k' }] } }, { downwardAPI: { items: [{ path: 'name', fieldRef: { fieldPath: "metadata.annotations['Team']" } }] } }] } },
    ],
    containers: [
      ctr('c', {
        envFrom: [{ prefix: 'APP_', configMapRef: { name: 'app' } }, { secretRef: { name: 'creds-', optional: true } }],
        env: [
          { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
          { name: 'NODE', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'spec.host' } } },
          { name: 'TEAM', valueFrom: { fieldRef: { fieldPath: "metadata.labels['example.com/team']" } } },
          { name: 'CPU', valueFrom: { resourceFieldRef: { resource: 'requests.cpu', divisor: '1000m' } } },
          { name: 'HUGE', valueFrom: { resourceFieldRef: { resource: 'limits.hugepages-2Mi' } } },
          { name: 'K', valueFrom: { configMapKeyRef: { name: 'app', key: 'KEY_NAME' } } },
          { name: 'S', valueFrom: { secretKeyRef: { name: 'creds', key: 'password', optional: true } } },
          { name: 'odd name.1', value: '$(POD)' },
        ],
        volumeMounts: [{ name: 'cfg', mountPath: '/cfg' }, { name: 'sec', mountPath: '/sec' }, { name: 'meta', mountPath: '/meta' }, { name: 'all', mountPath: '/all' }],
      }),
    ],
  });

  it('has no errors (a trailing dash in an envFrom name passes, as upstream masks it)', () => {
    expect(check(pod).errors).toEqual([]);
  });

  it('is defaulted: defaultMode 0644, fieldRef apiVersion v1, divisor "0"', () => {
    const spec = check(pod).loaded.pod.spec;
    expect(spec.volumes?.map((v) => v.configMap?.defaultMode ?? v.secret?.defaultMode ?? v.downwardAPI?.defaultMode ?? v.projected?.defaultMode)).toEqual([420, 420, 420, 420]);
    expect(spec.volumes?.[0]?.emptyDir).toBeUndefined();
    expect(spec.volumes?.[2]?.downwardAPI?.items?.[0]?.fieldRef).toEqual({ apiVersion: 'v1', fieldPath: 'metadata.labels' });
    expect(spec.containers[0]?.env?.[0]?.valueFrom?.fieldRef).toEqual({ apiVersion: 'v1', fieldPath: 'metadata.name' });
    expect(spec.containers[0]?.env?.[4]?.valueFrom?.resourceFieldRef).toEqual({ resource: 'limits.hugepages-2Mi', divisor: '0' });
    expect(check(basePod({ volumes: [{ name: 'v', secret: { secretName: 's', defaultMode: 0o400 } }] })).loaded.pod.spec.volumes?.[0]?.secret?.defaultMode).toBe(0o400);
  });

  it('ephemeral containers may use env and envFrom', () => {
    const r = check(basePod({ ephemeralContainers: [ctr('debug', { envFrom: [{ configMapRef: { name: 'app' } }] })] }), { create: false });
    expect(r.errors).toEqual([]);
  });
});

describe('env[].valueFrom', () => {
  const cases: [string, Obj, string | undefined, string[]][] = [
    ['no source', {}, undefined, [`${E}: Invalid value: "": must specify one of: \`fieldRef\`, \`resourceFieldRef\`, \`configMapKeyRef\` or \`secretKeyRef\``]],
    ['a source with a value', { fieldRef: { fieldPath: 'metadata.name' } }, 'x', [`${E}: Invalid value: "": may not be specified when \`value\` is not empty`]],
    ['two sources', { fieldRef: { fieldPath: 'metadata.name' }, secretKeyRef: { name: 's', key: 'k' } }, undefined, [`${E}: Invalid value: "": may not have more than one field specified at a time`]],
    ['fieldRef: a path env may not use', { fieldRef: { fieldPath: 'spec.restartPolicy' } }, undefined, [`${E}.fieldRef.fieldPath: Unsupported value: "spec.restartPolicy": ${ENV_PATHS}`]],
    ['fieldRef: the whole labels map is for volumes only', { fieldRef: { fieldPath: 'metadata.labels' } }, undefined, [`${E}.fieldRef.fieldPath: Unsupported value: "metadata.labels": ${ENV_PATHS}`]],
    ['fieldRef: an unknown path', { fieldRef: { fieldPath: 'foo' } }, undefined, [`${E}.fieldRef.fieldPath: Invalid value: "foo": error converting fieldPath: field label not supported: foo`]],
    ['fieldRef: a subscript on another field', { fieldRef: { fieldPath: "spec['x']" } }, undefined, [`${E}.fieldRef.fieldPath: Invalid value: "spec['x']": error converting fieldPath: field label does not support subscript: spec['x']`]],
    ['fieldRef: another API version', { fieldRef: { apiVersion: 'v2', fieldPath: 'metadata.name' } }, undefined, [`${E}.fieldRef.fieldPath: Invalid value: "metadata.name": error converting fieldPath: unsupported pod version: v2`]],
    ['fieldRef: an empty fieldPath', { fieldRef: { fieldPath: '' } }, undefined, [`${E}.fieldRef.fieldPath: Required value`]],
    ['fieldRef: a label key that is no qualified name', { fieldRef: { fieldPath: "metadata.labels['a/b/c']" } }, undefined, [
      `${E}.fieldRef: Invalid value: "a/b/c": a valid label key must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ]],
    ['fieldRef: annotation keys are checked lower-cased', { fieldRef: { fieldPath: "metadata.annotations['A_']" } }, undefined, [
      `${E}.fieldRef: Invalid value: "a_": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
    ]],
    ['resourceFieldRef: no resource', { resourceFieldRef: { resource: '' } }, undefined, [`${E}.resourceFieldRef.resource: Required value`]],
    ['resourceFieldRef: an unknown resource', { resourceFieldRef: { resource: 'limits.example.com/gpu' } }, undefined, [
      `${E}.resourceFieldRef.resource: Unsupported value: "limits.example.com/gpu": supported values: "limits.cpu", "limits.ephemeral-storage", "limits.memory", "requests.cpu", "requests.ephemeral-storage", "requests.memory"`,
    ]],
    ['resourceFieldRef: a cpu divisor other than 1m or 1', { resourceFieldRef: { resource: 'limits.cpu', divisor: '2' } }, undefined, [
      `${E}.resourceFieldRef.divisor: Invalid value: "limits.cpu": only divisor's values 1m and 1 are supported with the cpu resource`,
    ]],
    ['resourceFieldRef: a memory divisor in its canonical spelling (1024 is not 1Ki)', { resourceFieldRef: { resource: 'requests.memory', divisor: '1024' } }, undefined, [
      `${E}.resourceFieldRef.divisor: Invalid value: "requests.memory": only divisor's values ${BYTE_DIVISORS} are supported with the memory resource`,
    ]],
    ['resourceFieldRef: an ephemeral-storage divisor', { resourceFieldRef: { resource: 'limits.ephemeral-storage', divisor: '1m' } }, undefined, [
      `${E}.resourceFieldRef.divisor: Invalid value: "limits.ephemeral-storage": only divisor's values ${BYTE_DIVISORS} are supported with the local ephemeral storage resource`,
    ]],
    ['resourceFieldRef: a hugepages divisor', { resourceFieldRef: { resource: 'requests.hugepages-1Gi', divisor: '3' } }, undefined, [
      `${E}.resourceFieldRef.divisor: Invalid value: "requests.hugepages-1Gi": only divisor's values ${BYTE_DIVISORS} are supported with the hugepages resource`,
    ]],
    ['resourceFieldRef: a zero divisor means unset', { resourceFieldRef: { resource: 'limits.cpu', divisor: '0' } }, undefined, []],
    ['configMapKeyRef: no name, no key', { configMapKeyRef: { key: '' } }, undefined, [
      `${E}.configMapKeyRef.name: Invalid value: "": ${SUBDOMAIN_MSG}`,
      `${E}.configMapKeyRef.key: Required value`,
    ]],
    ['configMapKeyRef: a key with a space', { configMapKeyRef: { name: 'x', key: 'a b' } }, undefined, [`${E}.configMapKeyRef.key: Invalid value: "a b": ${KEY_MSG}`]],
    ['secretKeyRef: a key starting with ..', { secretKeyRef: { name: 'x', key: '..k' } }, undefined, [`${E}.secretKeyRef.key: Invalid value: "..k": must not start with '..'`]],
    ['secretKeyRef: the key "."', { secretKeyRef: { name: 'x', key: '.' } }, undefined, [`${E}.secretKeyRef.key: Invalid value: ".": must not be '.'`]],
  ];
  for (const [name, valueFrom, value, expected] of cases) {
    it(name, () => expect(oneEnv(valueFrom, value)).toEqual(expected));
  }

  it('env errors come per variable (name, then valueFrom), before envFrom and volumeMounts', () => {
    expect(envErrors({ env: [{ name: '', valueFrom: {} }, { name: 'a=b' }], envFrom: [{}], volumeMounts: [{ name: 'nope', mountPath: '/x' }] })).toEqual([
      'spec.containers[0].env[0].name: Required value',
      `spec.containers[0].env[0].valueFrom: Invalid value: "": must specify one of: \`fieldRef\`, \`resourceFieldRef\`, \`configMapKeyRef\` or \`secretKeyRef\``,
      `spec.containers[0].env[1].name: Invalid value: "a=b": a valid environment variable name must consist only of printable ASCII characters other than '='`,
      'spec.containers[0].envFrom: Invalid value: "": must specify one of: `configMapRef` or `secretRef`',
      'spec.containers[0].volumeMounts[0].name: Not found: "nope"',
    ]);
  });
});

describe('envFrom', () => {
  const cases: [string, Obj[], string[]][] = [
    ['no source: reported on envFrom itself', [{ prefix: 'P_' }], ['spec.containers[0].envFrom: Invalid value: "": must specify one of: `configMapRef` or `secretRef`']],
    ['two sources', [{ configMapRef: { name: 'a' }, secretRef: { name: 'b' } }], ['spec.containers[0].envFrom: Invalid value: "": may not have more than one field specified at a time']],
    ['a prefix with "="', [{ prefix: 'A=', configMapRef: { name: 'a' } }], [
      `spec.containers[0].envFrom[0].prefix: Invalid value: "A=": a valid environment variable name must consist only of printable ASCII characters other than '='`,
    ]],
    ['an empty name', [{ configMapRef: { name: '' } }], ['spec.containers[0].envFrom[0].configMapRef.name: Required value']],
    ['a name that is no DNS subdomain', [{ secretRef: { name: 'Creds' } }], [`spec.containers[0].envFrom[0].secretRef.name: Invalid value: "Creds": ${SUBDOMAIN_MSG}`]],
  ];
  for (const [name, envFrom, expected] of cases) {
    it(name, () => expect(envErrors({ envFrom })).toEqual(expected));
  }
});

describe('configMap and secret volumes', () => {
  const cases: [string, Obj, string[]][] = [
    ['configMap without a name', { configMap: {} }, ['spec.volumes[0].configMap.name: Required value']],
    ['secret without a secretName', { secret: { name: 'x' } }, ['spec.volumes[0].secret.secretName: Required value']],
    ['defaultMode above 0777', { configMap: { name: 'x', defaultMode: 0o1000 } }, [`spec.volumes[0].configMap.defaultMode: Invalid value: 512: ${MODE_MSG}`]],
    ['a negative defaultMode', { secret: { secretName: 'x', defaultMode: -1 } }, [`spec.volumes[0].secret.defaultMode: Invalid value: -1: ${MODE_MSG}`]],
    ['an item without key and path', { configMap: { name: 'x', items: [{ key: '', path: '' }] } }, ['spec.volumes[0].configMap.items[0].key: Required value', 'spec.volumes[0].configMap.items[0].path: Required value']],
    ['an absolute item path', { secret: { secretName: 'x', items: [{ key: 'k', path: '/etc/k' }] } }, ['spec.volumes[0].secret.items[0].path: Invalid value: "/etc/k": must be a relative path']],
    ['an item path with ..', { configMap: { name: 'x', items: [{ key: 'k', path: 'a/../../k' }] } }, [`spec.volumes[0].configMap.items[0].path: Invalid value: "a/../../k": must not contain '..'`]],
    ['an item path starting with .. (the writer\'s reserved names)', { configMap: { name: 'x', items: [{ key: 'k', path: '..data' }] } }, [`spec.volumes[0].configMap.items[0].path: Invalid value: "..data": must not start with '..'`]],
    ['the item path ..: both errors', { configMap: { name: 'x', items: [{ key: 'k', path: '..' }] } }, [
      `spec.volumes[0].configMap.items[0].path: Invalid value: "..": must not contain '..'`,
      `spec.volumes[0].configMap.items[0].path: Invalid value: "..": must not start with '..'`,
    ]],
    ['an item mode above 0777', { secret: { secretName: 'x', items: [{ key: 'k', path: 'k', mode: 0o4755 }] } }, [`spec.volumes[0].secret.items[0].mode: Invalid value: 2541: ${MODE_MSG}`]],
    ['two sources: the second is refused', { emptyDir: {}, configMap: { name: 'x' } }, ['spec.volumes[0].configMap: Forbidden: may not specify more than 1 volume type']],
  ];
  for (const [name, source, expected] of cases) {
    it(name, () => expect(volErrors({ name: 'v', ...source })).toEqual(expected));
  }

  it('a volume with errors cannot be mounted', () => {
    expect(check(basePod({ volumes: [{ name: 'v', configMap: {} }], containers: [ctr('c', { volumeMounts: [{ name: 'v', mountPath: '/v' }] })] })).errors).toEqual([
      'spec.volumes[0].configMap.name: Required value',
      'spec.containers[0].volumeMounts[0].name: Not found: "v"',
    ]);
  });
});

describe('downwardAPI volumes: files are reported on the volume path, without their index (as upstream)', () => {
  const D = 'spec.volumes[0].downwardAPI';
  const cases: [string, Obj[], string[]][] = [
    ['a file without path', [{ path: '', fieldRef: { fieldPath: 'metadata.name' } }], [`${D}.path: Required value`]],
    ['a file without source', [{ path: 'x' }], [`${D}: Required value: one of fieldRef and resourceFieldRef is required`]],
    ['a file with both sources', [{ path: 'x', fieldRef: { fieldPath: 'metadata.uid' }, resourceFieldRef: { containerName: 'c', resource: 'limits.cpu' } }], [
      `${D}: Invalid value: "resource": fieldRef and resourceFieldRef can not be specified simultaneously`,
    ]],
    ['a path volumes may not use', [{ path: 'x', fieldRef: { fieldPath: 'status.podIP' } }], [`${D}.fieldRef.fieldPath: Unsupported value: "status.podIP": ${VOLUME_PATHS}`]],
    ['resourceFieldRef needs containerName in a volume', [{ path: 'x', resourceFieldRef: { resource: 'limits.cpu' } }], [`${D}.resourceFieldRef.containerName: Required value`]],
    ['a file mode above 0777', [{ path: 'x', fieldRef: { fieldPath: 'metadata.name' }, mode: 0o777 + 1 }], [`${D}.mode: Invalid value: 512: ${MODE_MSG}`]],
    ['an absolute path', [{ path: '/x', fieldRef: { fieldPath: 'metadata.name' } }], [`${D}.path: Invalid value: "/x": must be a relative path`]],
  ];
  for (const [name, items, expected] of cases) {
    it(name, () => expect(volErrors({ name: 'v', downwardAPI: { items } })).toEqual(expected));
  }

  it('a second volume type next to downwardAPI names the path as upstream spells it (sic)', () => {
    expect(volErrors({ name: 'v', hostPath: { path: '/tmp' }, downwardAPI: {} })).toEqual(['spec.volumes[0].downwarAPI: Forbidden: may not specify more than 1 volume type']);
  });
});

describe('projected volumes', () => {
  const P = 'spec.volumes[0].projected';
  it('duplicate paths across sources, a source with two kinds, a source without a name', () => {
    expect(
      volErrors({
        name: 'v',
        projected: {
          defaultMode: 0o2000,
          sources: [
            { secret: { name: 's', items: [{ key: 'a', path: 'p' }] }, configMap: { name: 'c', items: [{ key: 'a', path: 'p' }] } },
            { downwardAPI: { items: [{ path: 'p', fieldRef: { fieldPath: 'metadata.name' } }] } },
            { configMap: { items: [{ key: 'a', path: 'q' }] } },
          ],
        },
      }),
    ).toEqual([
      `${P}.defaultMode: Invalid value: 1024: ${MODE_MSG}`,
      `${P}: Invalid value: "c": conflicting duplicate paths`,
      `${P}.sources[0]: Forbidden: may not specify more than 1 volume type per source`,
      `${P}: Invalid value: "p": conflicting duplicate paths`,
      `${P}.sources[2].configMap.name: Required value`,
    ]);
  });

  it('downwardAPI files of a projection are reported on the projection path', () => {
    expect(volErrors({ name: 'v', projected: { sources: [{ downwardAPI: { items: [{ path: 'x' }] } }] } })).toEqual([
      `${P}.sources[0].downwardAPI: Required value: one of fieldRef and resourceFieldRef is required`,
    ]);
  });

  it('service account tokens are not supported', () => {
    expect(volErrors({ name: 'v', projected: { sources: [{ serviceAccountToken: { path: 't' } }] } })).toEqual([
      `${P}.sources[0].serviceAccountToken: Forbidden: not supported by podvisor`,
    ]);
  });
});

describe('quantities as Quantity.String() spells them', () => {
  const cases: [string, string][] = [
    ['1000m', '1'], ['0.001', '1m'], ['1Ki', '1Ki'], ['1024Ki', '1Mi'], ['1024', '1024'], ['1000', '1k'], ['1e3', '1e3'],
    ['512Ki', '512Ki'], ['0.5Ki', '512'], ['1500', '1500'], ['1.5', '1500m'], ['0', '0'], ['1n', '1n'], ['0.0000000001', '1n'],
  ];
  for (const [input, canonical] of cases) {
    it(`${input} → ${canonical}`, () => {
      const q = parseExactQuantity(input);
      expect(q && canonicalQuantity(q)).toBe(canonical);
    });
  }
});
