// What ConfigMap, Secret and downward API references resolve to on the node, one case per rule of
// the kubelet's makeEnvironmentVariables and of the configmap/secret/downwardapi/projected volume
// plugins (messages as the kubelet words them).
import { describe, expect, it } from 'vitest';
import type { Container, Pod, Volume } from '../../src/api/types.js';
import {
  expandEnvReferences,
  formatDownwardMap,
  goQuote,
  resolveContainerEnv,
  volumeFiles,
  type ConfigMapLike,
  type EnvContext,
  type EnvResult,
  type SecretLike,
  type VolumeFilesResult,
} from '../../src/core/config-refs.js';

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
const text = (d: Uint8Array): string => Buffer.from(d).toString('utf8');

const CONFIG_MAPS: Record<string, ConfigMapLike> = {
  app: { metadata: { name: 'app', namespace: 'team' }, data: { B_KEY: 'b', A_KEY: 'a', '1-not.an env': 'odd' }, binaryData: { 'blob.bin': b64('\u0000\u0001') } },
  nested: { metadata: { name: 'nested', namespace: 'team' }, data: { 'a.conf': 'x=1\n' } },
};
const SECRETS: Record<string, SecretLike> = {
  creds: { metadata: { name: 'creds', namespace: 'team' }, type: 'Opaque', data: { password: b64('s3cr3t'), user: b64('admin') } },
};

function basePod(c: Partial<Container> = {}, more: Partial<Pod['spec']> = {}): { pod: Pod; c: Container } {
  const container: Container = { name: 'main', image: 'busybox', resources: { limits: { cpu: '250m', memory: '64Mi' }, requests: { cpu: '100m' } }, ...c };
  const pod: Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web-0', namespace: 'team', uid: 'uid-1', labels: { app: 'web', 'example.com/tier': 'front' }, annotations: { note: 'say "hi"\n\tbye', 'Team': 'x' } },
    spec: {
      nodeName: 'ignored-by-env',
      containers: [container, { name: 'side', image: 'busybox', resources: { limits: { memory: '100M' } } }],
      initContainers: [{ name: 'init', image: 'busybox' }],
      ...more,
    },
  };
  return { pod, c: container };
}

const ctx: EnvContext = {
  configMap: (ns, name) => (ns === 'team' ? CONFIG_MAPS[name] : undefined),
  secret: (ns, name) => (ns === 'team' ? SECRETS[name] : undefined),
  podIPs: ['10.88.0.5', 'fd00::5'],
  hostIPs: ['192.168.1.10', 'fe80::1'],
  nodeName: 'node-a',
  nodeAllocatable: { cpu: '8', memory: '16Gi', 'ephemeral-storage': '100Gi' },
  serviceAccountName: 'default',
};

function env(c: Partial<Container>, more: Partial<Pod['spec']> = {}): EnvResult {
  const { pod, c: container } = basePod(c, more);
  return resolveContainerEnv(pod, container, ctx);
}
const vars = (r: EnvResult): Record<string, string> => ('env' in r ? Object.fromEntries(r.env.map((e) => [e.name, e.value])) : { ERROR: r.error.message });
const oneVar = (valueFrom: NonNullable<Container['env']>[number]['valueFrom'], c: Partial<Container> = {}): string | undefined => {
  const r = env({ ...c, env: [{ name: 'V', valueFrom }] });
  return 'env' in r ? r.env.find((e) => e.name === 'V')?.value : `ERROR: ${r.error.message}`;
};
const configError = (message: string): EnvResult => ({ error: { reason: 'CreateContainerConfigError', message } });

describe('resolveContainerEnv: order and precedence', () => {
  it('envFrom first (keys sorted, prefixed), then env in order; a later definition wins in place', () => {
    const r = env({ envFrom: [{ prefix: 'CM_', configMapRef: { name: 'app' } }, { secretRef: { name: 'creds' } }], env: [{ name: 'Z', value: 'z' }, { name: 'CM_A_KEY', value: 'over' }, { name: 'user', value: 'root' }] });
    expect(r).toEqual({
      env: [
        { name: 'CM_1-not.an env', value: 'odd' },
        { name: 'CM_A_KEY', value: 'over' },
        { name: 'CM_B_KEY', value: 'b' },
        { name: 'password', value: 's3cr3t' },
        { name: 'user', value: 'root' },
        { name: 'Z', value: 'z' },
      ],
    });
  });

  it('envFrom keys that are not C identifiers are kept (the 1.36 kubelet checks none); binaryData is not read', () => {
    expect(vars(env({ envFrom: [{ configMapRef: { name: 'app' } }] }))).toEqual({ '1-not.an env': 'odd', A_KEY: 'a', B_KEY: 'b' });
  });

  it('an env var without value nor valueFrom is the empty string', () => {
    expect(vars(env({ env: [{ name: 'EMPTY' }] }))).toEqual({ EMPTY: '' });
  });
});

describe('resolveContainerEnv: missing objects and keys', () => {
  const cases: [string, Partial<Container>, EnvResult][] = [
    ['envFrom of a missing ConfigMap', { envFrom: [{ configMapRef: { name: 'nope' } }] }, configError('configmap "nope" not found')],
    ['envFrom of a missing Secret', { envFrom: [{ secretRef: { name: 'nope' } }] }, configError('secret "nope" not found')],
    ['envFrom of a missing optional object is skipped', { envFrom: [{ configMapRef: { name: 'nope', optional: true } }, { secretRef: { name: 'nope', optional: true } }], env: [{ name: 'A', value: '1' }] }, { env: [{ name: 'A', value: '1' }] }],
    ['configMapKeyRef to a missing ConfigMap', { env: [{ name: 'V', valueFrom: { configMapKeyRef: { name: 'nope', key: 'k' } } }] }, configError('configmap "nope" not found')],
    ['configMapKeyRef to a missing key', { env: [{ name: 'V', valueFrom: { configMapKeyRef: { name: 'app', key: 'k' } } }] }, configError("couldn't find key k in ConfigMap team/app")],
    ['configMapKeyRef does not read binaryData', { env: [{ name: 'V', valueFrom: { configMapKeyRef: { name: 'app', key: 'blob.bin' } } }] }, configError("couldn't find key blob.bin in ConfigMap team/app")],
    ['secretKeyRef to a missing Secret', { env: [{ name: 'V', valueFrom: { secretKeyRef: { name: 'nope', key: 'k' } } }] }, configError('secret "nope" not found')],
    ['secretKeyRef to a missing key', { env: [{ name: 'V', valueFrom: { secretKeyRef: { name: 'creds', key: 'token' } } }] }, configError("couldn't find key token in Secret team/creds")],
    [
      'optional key references leave the variable unset (missing object or key)',
      { env: [{ name: 'A', valueFrom: { configMapKeyRef: { name: 'nope', key: 'k', optional: true } } }, { name: 'B', valueFrom: { configMapKeyRef: { name: 'app', key: 'k', optional: true } } }, { name: 'C', valueFrom: { secretKeyRef: { name: 'creds', key: 'k', optional: true } } }, { name: 'D', valueFrom: { secretKeyRef: { name: 'nope', key: 'k', optional: true } } }] },
      { env: [] },
    ],
    ['the first failure stops the resolution', { envFrom: [{ secretRef: { name: 'gone' } }], env: [{ name: 'V', valueFrom: { configMapKeyRef: { name: 'nope', key: 'k' } } }] }, configError('secret "gone" not found')],
  ];
  for (const [name, c, expected] of cases) it(name, () => expect(env(c)).toEqual(expected));

  it('key references read the value (a Secret base64-decoded)', () => {
    expect(oneVar({ configMapKeyRef: { name: 'app', key: 'A_KEY' } })).toBe('a');
    expect(oneVar({ secretKeyRef: { name: 'creds', key: 'password' } })).toBe('s3cr3t');
  });
});

describe('resolveContainerEnv: $(VAR) expansion', () => {
  const cases: [string, string, string][] = [
    ['a variable defined before', 'x-$(A)-y', 'x-1-y'],
    ['a variable from envFrom', '$(CM_A_KEY)', 'a'],
    ['a variable defined after stays as written', '$(LATER)', '$(LATER)'],
    ['an unknown variable stays as written', '$(NOPE)/bin', '$(NOPE)/bin'],
    ['$$ escapes', '$$(A) $$ $$$(A)', '$(A) $ $1'],
    ['an unclosed reference stays', 'a $(A', 'a $(A'],
    ['a $ before anything else stays', 'cost $5 $', 'cost $5 $'],
  ];
  for (const [name, value, expected] of cases) {
    it(name, () => {
      const r = env({ envFrom: [{ prefix: 'CM_', configMapRef: { name: 'app' } }], env: [{ name: 'A', value: '1' }, { name: 'V', value }, { name: 'LATER', value: 'l' }] });
      expect(vars(r)['V']).toBe(expected);
    });
  }

  it('expansion sees the value a variable has at that point (redefinitions)', () => {
    expect(vars(env({ env: [{ name: 'P', value: '/a' }, { name: 'P', value: '$(P):/b' }, { name: 'Q', value: '$(P)' }] }))).toEqual({ P: '/a:/b', Q: '/a:/b' });
  });

  it('expandEnvReferences maps every complete reference', () => {
    expect(expandEnvReferences('$(a)$(b)', (n) => n.toUpperCase())).toBe('AB');
  });
});

describe('resolveContainerEnv: fieldRef', () => {
  const cases: [string, string, string][] = [
    ['metadata.name', 'metadata.name', 'web-0'],
    ['metadata.namespace', 'metadata.namespace', 'team'],
    ['metadata.uid', 'metadata.uid', 'uid-1'],
    ['a label', "metadata.labels['example.com/tier']", 'front'],
    ['a missing label is empty', "metadata.labels['nope']", ''],
    ['an annotation', "metadata.annotations['Team']", 'x'],
    ['spec.nodeName is the node podvisor runs on', 'spec.nodeName', 'node-a'],
    ['spec.host is the old spelling of spec.nodeName', 'spec.host', 'node-a'],
    ['spec.serviceAccountName', 'spec.serviceAccountName', 'default'],
    ['status.hostIP is the first host IP', 'status.hostIP', '192.168.1.10'],
    ['status.hostIPs joins them with commas', 'status.hostIPs', '192.168.1.10,fe80::1'],
    ['status.podIP is the first pod IP', 'status.podIP', '10.88.0.5'],
    ['status.podIPs joins them with commas', 'status.podIPs', '10.88.0.5,fd00::5'],
  ];
  for (const [name, fieldPath, expected] of cases) it(name, () => expect(oneVar({ fieldRef: { fieldPath } })).toBe(expected));

  it('an unsupported API version is a config error', () => {
    expect(oneVar({ fieldRef: { apiVersion: 'v2', fieldPath: 'metadata.name' } })).toBe('ERROR: unsupported pod version: v2');
  });
});

describe('resolveContainerEnv: resourceFieldRef (ceil of value / divisor, limits default to the node allocatable)', () => {
  const cases: [string, NonNullable<Container['resources']> | undefined, { resource: string; divisor?: string; containerName?: string }, string][] = [
    ['limits.cpu 250m is 1 core, rounded up', undefined, { resource: 'limits.cpu' }, '1'],
    ['limits.cpu in millicores', undefined, { resource: 'limits.cpu', divisor: '1m' }, '250'],
    ['limits.memory in Mi', undefined, { resource: 'limits.memory', divisor: '1Mi' }, '64'],
    ['limits.memory in bytes', undefined, { resource: 'limits.memory' }, '67108864'],
    ['a divisor "0" means 1', undefined, { resource: 'limits.cpu', divisor: '0' }, '1'],
    ['requests.cpu', undefined, { resource: 'requests.cpu', divisor: '1m' }, '100'],
    ['an unset request is 0', undefined, { resource: 'requests.memory' }, '0'],
    ['an unset limit is the node allocatable', {}, { resource: 'limits.cpu' }, '8'],
    ['a zero limit is the node allocatable', { limits: { memory: '0' } }, { resource: 'limits.memory', divisor: '1Gi' }, '16'],
    ['ephemeral-storage defaults too', {}, { resource: 'limits.ephemeral-storage', divisor: '1G' }, '108'],
    ['hugepages are not defaulted', { limits: { 'hugepages-2Mi': '4Mi' } }, { resource: 'limits.hugepages-2Mi', divisor: '1Mi' }, '4'],
    ['another container by name (100M in Mi rounds up)', undefined, { resource: 'limits.memory', divisor: '1Mi', containerName: 'side' }, '96'],
    ['another container by name gets the allocatable too', undefined, { resource: 'limits.cpu', containerName: 'side' }, '8'],
    ['an init container by name is not defaulted (as upstream)', undefined, { resource: 'limits.cpu', containerName: 'init' }, '0'],
    ['an unknown container is a config error', undefined, { resource: 'limits.cpu', containerName: 'nope' }, 'ERROR: container nope not found'],
  ];
  for (const [name, resources, fs, expected] of cases) {
    it(name, () => expect(oneVar({ resourceFieldRef: fs }, resources === undefined ? {} : { resources })).toBe(expected));
  }
});

// ---------------------------------------------------------------- volumes

function files(volume: Volume, pod: Pod = basePod().pod): VolumeFilesResult | undefined {
  return volumeFiles(pod, volume, ctx);
}
const listed = (r: VolumeFilesResult | undefined): [string, string, string][] | string => {
  if (!r) return 'undefined';
  if ('error' in r) return r.error.message;
  return r.files.map((f) => [f.path, text(f.data), f.mode.toString(8)]);
};
const failed = (volume: string, cause: string): string => `MountVolume.SetUp failed for volume "${volume}" : ${cause}`;

describe('volumeFiles: configMap and secret volumes', () => {
  const cases: [string, Volume, ReturnType<typeof listed>][] = [
    ['every key of data and binaryData, mode 0644 by default', { name: 'v', configMap: { name: 'app' } }, [['1-not.an env', 'odd', '644'], ['A_KEY', 'a', '644'], ['B_KEY', 'b', '644'], ['blob.bin', '\u0000\u0001', '644']]],
    ['defaultMode applies to every file', { name: 'v', configMap: { name: 'nested', defaultMode: 0o400 } }, [['a.conf', 'x=1\n', '400']]],
    [
      'items select and rename keys, with their own mode; paths are cleaned',
      { name: 'v', configMap: { name: 'app', defaultMode: 0o440, items: [{ key: 'A_KEY', path: 'conf//a/./key', mode: 0o600 }, { key: 'blob.bin', path: 'bin' }] } },
      [['bin', '\u0000\u0001', '440'], ['conf/a/key', 'a', '600']],
    ],
    ['a missing listed key', { name: 'v', configMap: { name: 'app', items: [{ key: 'k', path: 'k' }] } }, failed('v', 'configmap references non-existent config key: k')],
    ['a missing listed key of an optional ConfigMap is skipped', { name: 'v', configMap: { name: 'app', optional: true, items: [{ key: 'k', path: 'k' }, { key: 'B_KEY', path: 'b' }] } }, [['b', 'b', '644']]],
    ['a missing ConfigMap', { name: 'cfg', configMap: { name: 'nope' } }, failed('cfg', 'configmap "nope" not found')],
    ['a missing optional ConfigMap is an empty volume', { name: 'v', configMap: { name: 'nope', optional: true } }, []],
    ['a secret volume decodes base64', { name: 'v', secret: { secretName: 'creds' } }, [['password', 's3cr3t', '644'], ['user', 'admin', '644']]],
    ['a missing Secret', { name: 'v', secret: { secretName: 'nope' } }, failed('v', 'secret "nope" not found')],
    ['a missing listed secret key', { name: 'v', secret: { secretName: 'creds', items: [{ key: 'token', path: 't' }] } }, failed('v', 'references non-existent secret key: token')],
    ['emptyDir and hostPath are not written here', { name: 'v', emptyDir: {} }, 'undefined'],
  ];
  for (const [name, volume, expected] of cases) it(name, () => expect(listed(files(volume))).toEqual(expected));
});

describe('volumeFiles: downwardAPI volumes', () => {
  const file = (path: string, more: object): Volume => ({ name: 'v', downwardAPI: { items: [{ path, ...more }] } });
  const cases: [string, Volume, ReturnType<typeof listed>][] = [
    ['labels: sorted key="value" lines without a trailing newline', file('labels', { fieldRef: { fieldPath: 'metadata.labels' } }), [['labels', 'app="web"\nexample.com/tier="front"', '644']]],
    ['annotations: values quoted as Go does', file('annotations', { fieldRef: { fieldPath: 'metadata.annotations' } }), [['annotations', 'Team="x"\nnote="say \\"hi\\"\\n\\tbye"', '644']]],
    ['name, with the file mode', file('name', { fieldRef: { fieldPath: 'metadata.name' }, mode: 0o400 }), [['name', 'web-0', '400']]],
    ['one label', file('tier', { fieldRef: { fieldPath: "metadata.labels['example.com/tier']" } }), [['tier', 'front', '644']]],
    ['a container resource, limits defaulted to the node allocatable', file('cpu', { resourceFieldRef: { containerName: 'side', resource: 'limits.cpu', divisor: '1m' } }), [['cpu', '8000', '644']]],
    ['an unknown container', file('cpu', { resourceFieldRef: { containerName: 'nope', resource: 'limits.cpu' } }), failed('v', 'container nope not found')],
  ];
  for (const [name, volume, expected] of cases) it(name, () => expect(listed(files(volume))).toEqual(expected));
});

describe('volumeFiles: projected volumes', () => {
  it('sources merge in order, a later one replacing a file of the same path; defaultMode applies to all', () => {
    const v: Volume = {
      name: 'all',
      projected: {
        defaultMode: 0o440,
        sources: [
          { configMap: { name: 'nested' } },
          { secret: { name: 'creds', items: [{ key: 'user', path: 'a.conf', mode: 0o400 }] } },
          { downwardAPI: { items: [{ path: 'meta/name', fieldRef: { fieldPath: 'metadata.name' } }] } },
          { configMap: { name: 'nope', optional: true } },
        ],
      },
    };
    expect(listed(files(v))).toEqual([['a.conf', 'admin', '400'], ['meta/name', 'web-0', '440']]);
  });

  it('every failing source is reported, identical messages once', () => {
    const v: Volume = { name: 'all', projected: { sources: [{ configMap: { name: 'nope' } }, { secret: { name: 'gone' } }, { configMap: { name: 'nope' } }] } };
    expect(listed(files(v))).toEqual(failed('all', '[configmap "nope" not found, secret "gone" not found]'));
    const r = files({ name: 'all', projected: { sources: [{ secret: { name: 'gone' } }] } });
    expect(r).toEqual({ error: { reason: 'FailedMount', message: failed('all', 'secret "gone" not found'), cause: 'secret "gone" not found' } });
  });
});

describe('Go quoting of downward API maps', () => {
  const cases: [string, string][] = [
    ['plain', '"plain"'],
    ['tab\tnl\ncr\r', '"tab\\tnl\\ncr\\r"'],
    ['q"b\\', '"q\\"b\\\\"'],
    ['été 😀', '"été 😀"'],
    ['nb\u00a0sp', '"nb\\u00a0sp"'],
    ['del\u007f bell\u0007 nul\u0000', '"del\\x7f bell\\a nul\\x00"'],
    ['zw\u200b', '"zw\\u200b"'],
  ];
  for (const [input, expected] of cases) it(JSON.stringify(input), () => expect(goQuote(input)).toBe(expected));

  it('an empty map is the empty string', () => expect(formatDownwardMap({})).toBe(''));
});
