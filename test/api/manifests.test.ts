// Bundles: the Namespaces, ConfigMaps and Secrets of a manifest next to its Pods (selectObjects,
// loadManifests): selection (also as List items), decoding and validation with the API server's
// rules and messages, every error at once with its document and line.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { renderFieldError } from '../../src/api/errors.js';
import { checkManifestObject, formatInvalidObject, loadManifests, loadPods, type LoadedObject } from '../../src/api/load.js';
import { parseManifests, renderManifestError, selectObjects, selectPods } from '../../src/api/parse.js';

const BUNDLE = `apiVersion: v1
kind: Namespace
metadata: {name: demo}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: demo}
data: {mode: slow}
binaryData: {blob: "AAE="}
---
apiVersion: v1
kind: Secret
metadata: {name: creds}
data: {user: YWRtaW4=}
stringData: {password: s3cret}
---
apiVersion: v1
kind: Pod
metadata: {name: reader}
spec:
  containers:
    - name: c
      image: busybox:1.36
`;

const render = (o: { errors: Parameters<typeof renderFieldError>[0][] }): string[] => o.errors.map(renderFieldError);
const summary = (o: LoadedObject): [string, string, string | undefined, number, number | undefined, number | undefined] => [
  o.kind, o.name, o.object.metadata.namespace, o.document, o.item, o.line,
];

describe('selectObjects', () => {
  it('picks Pods, Namespaces, ConfigMaps and Secrets in file order, also List items', () => {
    const text = `${BUNDLE}---
apiVersion: v1
kind: List
items:
  - {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}
  - {apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {containers: [{name: c, image: x}]}}
`;
    const r = selectObjects(parseManifests(text, 'b.yaml').docs, 'b.yaml');
    expect(r.errors).toEqual([]);
    expect(r.objects.map((o) => [o.kind, o.document, o.item, o.line])).toEqual([
      ['Namespace', 0, undefined, 1],
      ['ConfigMap', 1, undefined, 5],
      ['Secret', 2, undefined, 11],
      ['Pod', 3, undefined, 17],
      ['ConfigMap', 4, 0, 28],
      ['Pod', 4, 1, 29],
    ]);
  });

  it('typed Lists (ConfigMapList, SecretList, NamespaceList) may omit their items\' kind and apiVersion', () => {
    const text = `apiVersion: v1
kind: ConfigMapList
items:
  - metadata: {name: a}
  - {apiVersion: v1, kind: ConfigMap, metadata: {name: b}}
  - {apiVersion: v1, kind: Secret, metadata: {name: c}}
---
apiVersion: v1
kind: SecretList
items: [{metadata: {name: s}}]
---
apiVersion: v1
kind: NamespaceList
items: [{metadata: {name: n}}, 7]
`;
    const r = selectObjects(parseManifests(text, 'l.yaml').docs, 'l.yaml');
    expect(r.objects.map((o) => [o.kind, o.document, o.item])).toEqual([
      ['ConfigMap', 0, 0],
      ['ConfigMap', 0, 1],
      ['Secret', 1, 0],
      ['Namespace', 2, 0],
    ]);
    expect(r.errors.map(renderManifestError)).toEqual([
      'l.yaml:6: document 1: items[2]: kind "Secret" is not supported: a ConfigMapList holds ConfigMap objects',
      'l.yaml:14: document 3: items[1]: expected a Namespace object, got number',
    ]);
  });

  it('other kinds and apiVersions stay errors naming the kind, with document and line', () => {
    const text = [
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n',
      'apiVersion: v2\nkind: ConfigMap\nmetadata: {name: c}\n',
      'apiVersion: v1\nkind: List\nitems:\n  - {apiVersion: v1, kind: Service}\n  - {apiVersion: v1beta1, kind: Secret}\n  - {kind: ConfigMap}\n  - "x"\n',
      'apiVersion: v1\nkind: ServiceList\nitems: []\n',
    ].join('---\n');
    const r = selectObjects(parseManifests(text, 'k.yaml').docs, 'k.yaml');
    expect(r.objects).toEqual([]);
    expect(r.errors.map(renderManifestError)).toEqual([
      'k.yaml:1:1: document 1: kind "Deployment" is not supported: podvisor reads Pods and the Namespaces, ConfigMaps and Secrets they use (kind Pod, Namespace, ConfigMap or Secret, or a List of them)',
      'k.yaml:5:1: document 2: apiVersion "v2" is not supported for kind ConfigMap, expected "v1"',
      'k.yaml:12: document 3: items[0]: kind "Service" is not supported: podvisor reads Pods, Namespaces, ConfigMaps and Secrets',
      'k.yaml:13: document 3: items[1]: apiVersion "v1beta1" is not supported for kind Secret, expected "v1"',
      'k.yaml:14: document 3: items[2]: apiVersion not set',
      'k.yaml:15: document 3: items[3]: expected an object, got string',
      'k.yaml:17:1: document 4: kind "ServiceList" is not supported: podvisor reads Pods and the Namespaces, ConfigMaps and Secrets they use (kind Pod, Namespace, ConfigMap or Secret, or a List of them)',
    ]);
  });

  it('selectPods and loadPods keep refusing every kind but Pods, with their message', () => {
    const sel = selectPods(parseManifests(BUNDLE, 'b.yaml').docs, 'b.yaml');
    expect(sel.pods.map((p) => p.document)).toEqual([3]);
    expect(sel.errors.map(renderManifestError)).toEqual([
      'b.yaml:1:1: document 1: kind "Namespace" is not supported: podvisor runs Pods (kind Pod, List or PodList)',
      'b.yaml:5:1: document 2: kind "ConfigMap" is not supported: podvisor runs Pods (kind Pod, List or PodList)',
      'b.yaml:11:1: document 3: kind "Secret" is not supported: podvisor runs Pods (kind Pod, List or PodList)',
    ]);
    const list = 'apiVersion: v1\nkind: List\nitems:\n  - {apiVersion: v1, kind: ConfigMap}\n---\napiVersion: v1\nkind: ConfigMapList\nitems: []\n';
    expect(loadPods(list, 'l.yaml').errors.map(renderManifestError)).toEqual([
      'l.yaml:4: document 1: items[0]: kind "ConfigMap" is not supported: podvisor runs Pods',
      'l.yaml:6:1: document 2: kind "ConfigMapList" is not supported: podvisor runs Pods (kind Pod, List or PodList)',
    ]);
  });
});

describe('loadManifests', () => {
  it('returns the objects next to the pods: namespaces defaulted, Secrets in their stored form', () => {
    const r = loadManifests(BUNDLE, 'b.yaml');
    expect(r.errors).toEqual([]);
    expect(r.pods.map((p) => [p.name, p.pod.metadata.namespace, p.errors])).toEqual([['reader', 'default', []]]);
    expect(r.objects.map(summary)).toEqual([
      ['Namespace', 'demo', undefined, 0, undefined, 1],
      ['ConfigMap', 'settings', 'demo', 1, undefined, 5],
      ['Secret', 'creds', 'default', 2, undefined, 11],
    ]);
    for (const o of r.objects) expect([o.name, o.errors, o.warnings]).toEqual([o.name, [], []]);
    const [, cm, secret] = r.objects;
    expect(cm?.object).toEqual({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: 'demo' }, data: { mode: 'slow' }, binaryData: { blob: 'AAE=' } });
    // stringData merged into data (base64), type defaulted, as the API server stores it.
    expect(secret?.object).toEqual({
      apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds', namespace: 'default' },
      data: { user: 'YWRtaW4=', password: 'czNjcmV0' }, type: 'Opaque',
    });
  });

  it('the request namespace applies to every namespaced object that names none; a Namespace has none', () => {
    const text = `${BUNDLE}---
apiVersion: v1
kind: Namespace
metadata: {name: other, namespace: ignored}
`;
    const r = loadManifests(text, 'b.yaml', { namespace: 'team' });
    expect(r.objects.map((o) => [o.kind, o.object.metadata.namespace])).toEqual([
      ['Namespace', undefined],
      ['ConfigMap', 'demo'],
      ['Secret', 'team'],
      ['Namespace', undefined],
    ]);
    expect(r.objects[3]?.errors).toEqual([]);
    expect(r.pods[0]?.pod.metadata.namespace).toBe('team');
  });

  it('validates each object as the API server does on create, every error at once, with document, item and line', () => {
    const text = `apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: ConfigMap
    metadata: {name: Bad_Name, namespace: Not_A_Label}
    data: {"a b": x, dup: "v"}
    binaryData: {dup: AA==}
  - apiVersion: v1
    kind: Secret
    metadata: {name: basic}
    type: kubernetes.io/basic-auth
---
apiVersion: v1
kind: Namespace
metadata: {name: Upper}
spec: {finalizers: [bad/name/x]}
`;
    const r = loadManifests(text, 'v.yaml');
    expect(r.errors).toEqual([]);
    expect(r.objects.map((o) => [o.kind, o.name, o.document, o.item, o.line])).toEqual([
      ['ConfigMap', 'Bad_Name', 0, 0, 4],
      ['Secret', 'basic', 0, 1, 9],
      ['Namespace', 'Upper', 1, undefined, 14],
    ]);
    const [cm, secret, ns] = r.objects as [LoadedObject, LoadedObject, LoadedObject];
    expect(render(cm)).toEqual([
      expect.stringMatching(/^metadata\.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of/),
      expect.stringMatching(/^metadata\.namespace: Invalid value: "Not_A_Label": a lowercase RFC 1123 label must consist of/),
      expect.stringMatching(/^data\[a b\]: Invalid value: "a b": a valid config key must consist of alphanumeric characters/),
      'data[dup]: Invalid value: "dup": duplicate of key present in binaryData',
    ]);
    expect(render(secret)).toEqual(['data[username]: Required value', 'data[password]: Required value']);
    expect(render(ns)[0]).toMatch(/^metadata\.name: Invalid value: "Upper": a lowercase RFC 1123 label must consist of/);
    expect(render(ns).some((e) => e.startsWith('spec.finalizers: Invalid value: "bad/name/x"'))).toBe(true);
  });

  it('decoding errors (wrong JSON types, bad base64) replace validation; unknown fields are warnings; secret values are redacted', () => {
    const text = `apiVersion: v1
kind: ConfigMap
metadata: {name: UPPER}
data: {num: 1}
colour: red
---
apiVersion: v1
kind: Secret
metadata: {name: s}
data: {k: "%%%"}
stringData: {t: 5}
`;
    const r = loadManifests(text, 'd.yaml');
    const [cm, secret] = r.objects as [LoadedObject, LoadedObject];
    expect(render(cm)).toEqual(['data[num]: Invalid value: 1: must be of type string']);
    expect(cm.warnings).toEqual(['unknown field "colour"']);
    expect(render(secret)).toEqual([
      'data[k]: Invalid value: "<secret contents redacted>": illegal base64 data at input byte 0',
      'stringData[t]: Invalid value: "<secret contents redacted>": must be of type string',
    ]);
  });

  it('an object with only generateName is validated as if named from it', () => {
    const ok = checkManifestObject({ kind: 'ConfigMap', value: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: 'cfg-' } }, document: 0 });
    expect([ok.name, ok.errors]).toEqual(['cfg-', []]);
    const bad = checkManifestObject({ kind: 'Secret', value: { apiVersion: 'v1', kind: 'Secret', metadata: { generateName: 'Bad_' } }, document: 0 });
    expect(render(bad)).toEqual([expect.stringMatching(/^metadata\.generateName: Invalid value: "Bad_": /)]);
    const none = checkManifestObject({ kind: 'Namespace', value: { apiVersion: 'v1', kind: 'Namespace', metadata: {} }, document: 0 });
    expect(render(none)).toEqual(['metadata.name: Required value: name or generateName is required']);
  });

  it('file-level errors come in file order next to the objects', () => {
    const r = loadManifests(`${BUNDLE}---\napiVersion: v1\nkind: Service\n---\nkind: [\n`, 'f.yaml');
    expect(r.objects).toHaveLength(3);
    expect(r.pods).toHaveLength(1);
    expect(r.errors.map((e) => [e.document, e.line])).toEqual([[4, 25], [5, 29]]);
  });
});

describe('formatInvalidObject', () => {
  it('renders kubectl\'s lines for any kind', () => {
    const one = [{ type: 'Required' as const, field: 'data[tls.key]', detail: '' }];
    expect(formatInvalidObject('Secret', 'tls', one)).toBe('The Secret "tls" is invalid: data[tls.key]: Required value');
    expect(formatInvalidObject('ConfigMap', 'c', [...one, { type: 'Forbidden' as const, field: 'data', detail: 'no' }])).toBe(
      'The ConfigMap "c" is invalid:\n* data[tls.key]: Required value\n* data: Forbidden: no',
    );
  });
});

describe('never throws', () => {
  it('on any value, of any kind, alone or as List items', () => {
    const kinds = ['Namespace', 'ConfigMap', 'Secret'] as const;
    fc.assert(
      fc.property(fc.constantFrom(...kinds), fc.anything(), fc.anything(), (kind, metadata, data) => {
        const value = { apiVersion: 'v1', kind, metadata, data, stringData: data, binaryData: data, spec: data };
        const o = checkManifestObject({ kind, value, document: 0 });
        for (const e of o.errors) expect(typeof renderFieldError(e)).toBe('string');
        const sel = selectObjects([{ index: 0, value: { apiVersion: 'v1', kind: 'List', items: [value, metadata, data] }, line: 1 }], 'fuzz');
        for (const e of sel.errors) expect(renderManifestError(e)).toMatch(/^fuzz:1: document 1: items\[\d\]: /);
      }),
      { numRuns: 300 },
    );
  });
});
