// Namespace: decoding, the API server's defaults and strategy, and validation with upstream's
// messages (ValidateNamespace, ValidateNamespaceUpdate, status and finalize subresources).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { renderFieldError, type FieldError } from '../../src/api/errors.js';
import {
  canonicalizeNamespace,
  decodeNamespace,
  defaultNamespace,
  FINALIZER_KUBERNETES,
  NAMESPACE_NAME_LABEL,
  prepareNamespaceForUpdate,
  validateNamespace,
  validateNamespaceFinalizeUpdate,
  validateNamespaceStatusUpdate,
  validateNamespaceUpdate,
  type Namespace,
} from '../../src/api/namespace.js';

const render = (errs: readonly FieldError[]): string[] => errs.map(renderFieldError);

const LABEL_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const NAME_PART_MSG =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const NOT_STANDARD = 'name is neither a standard finalizer name nor is it fully qualified';

/** A namespace as stored after a create: defaulted, with the server-set fields. */
function ns(name = 'team-a', more: Partial<Namespace> = {}): Namespace {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, uid: 'u1', resourceVersion: '7', creationTimestamp: '2024-01-02T03:04:05Z', labels: { [NAMESPACE_NAME_LABEL]: name } },
    spec: { finalizers: [FINALIZER_KUBERNETES] },
    status: { phase: 'Active' },
    ...more,
  };
}

describe('decodeNamespace', () => {
  it('decodes a namespace unchanged, apiVersion and kind first', () => {
    const body = { kind: 'Namespace', apiVersion: 'v1', metadata: { name: 'a', labels: { x: 'y' } }, spec: { finalizers: ['kubernetes'] } };
    const r = decodeNamespace(body);
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([]);
    expect(r.typeErrors).toBe(false);
    expect(r.object).toEqual(body);
    expect(Object.keys(r.object)).toEqual(['apiVersion', 'kind', 'metadata', 'spec']);
  });

  it('wrong JSON types are TypeInvalid errors naming the path; unknown fields are warnings', () => {
    const r = decodeNamespace({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 7, labels: { a: 1 }, finalizers: 'x', generation: 1.5 },
      spec: { finalizers: ['ok', false], foo: 1 },
      status: { phase: ['Active'] },
      extra: true,
    });
    expect(render(r.errors)).toEqual([
      'metadata.name: Invalid value: 7: must be of type string',
      'metadata.labels[a]: Invalid value: 1: must be of type string',
      'metadata.finalizers: Invalid value: "x": must be of type array',
      'metadata.generation: Invalid value: 1.5: must be of type int64',
      'spec.finalizers[1]: Invalid value: false: must be of type string',
      'status.phase: Invalid value: ["Active"]: must be of type string',
    ]);
    expect(r.errors.every((e) => e.type === 'TypeInvalid')).toBe(true);
    expect(r.typeErrors).toBe(true);
    expect(r.warnings).toEqual(['unknown field "spec.foo"', 'unknown field "extra"']);
    expect(r.object.spec).toEqual({ finalizers: ['ok', ''] });
  });

  it('a body that is not an object is one error without a path; null is absent', () => {
    expect(render(decodeNamespace('x').errors)).toEqual(['Invalid value: "x": must be of type object']);
    const r = decodeNamespace({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a', labels: null }, spec: null });
    expect(r.errors).toEqual([]);
    expect(r.object).toEqual({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a' } });
  });
});

describe('defaultNamespace (defaults and PrepareForCreate)', () => {
  it('forces the name label, adds the kubernetes finalizer, sets status Active', () => {
    const input: Namespace = {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'a', labels: { [NAMESPACE_NAME_LABEL]: 'other', x: 'y' } },
      status: { phase: 'Terminating', conditions: [{ type: 'T', status: 'True' }] },
    };
    const before = structuredClone(input);
    expect(defaultNamespace(input)).toEqual({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'a', labels: { [NAMESPACE_NAME_LABEL]: 'a', x: 'y' } },
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    });
    expect(input).toEqual(before);
  });

  it('appends kubernetes to other finalizers, once', () => {
    const base: Namespace = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a' } };
    expect(defaultNamespace({ ...base, spec: { finalizers: ['example.com/f'] } }).spec).toEqual({ finalizers: ['example.com/f', 'kubernetes'] });
    expect(defaultNamespace({ ...base, spec: { finalizers: ['kubernetes', 'example.com/f'] } }).spec).toEqual({ finalizers: ['kubernetes', 'example.com/f'] });
  });

  it('with only generateName the label waits for canonicalizeNamespace', () => {
    const d = defaultNamespace({ apiVersion: 'v1', kind: 'Namespace', metadata: { generateName: 'tmp-' } });
    expect(d.metadata.labels).toBeUndefined();
    const named = { ...d, metadata: { ...d.metadata, name: 'tmp-x7k2p' } };
    expect(canonicalizeNamespace(named).metadata.labels).toEqual({ [NAMESPACE_NAME_LABEL]: 'tmp-x7k2p' });
  });
});

describe('prepareNamespaceForUpdate', () => {
  const cur = ns('a', { spec: { finalizers: ['kubernetes', 'example.com/f'] }, status: { phase: 'Active' } });

  it('the main resource keeps spec and status of the stored namespace and forces the label', () => {
    const next = ns('a', { spec: { finalizers: [] }, status: { phase: 'Terminating' } });
    next.metadata.labels = { [NAMESPACE_NAME_LABEL]: 'b', x: 'y' };
    const p = prepareNamespaceForUpdate(next, cur);
    expect(p.spec).toEqual({ finalizers: ['kubernetes', 'example.com/f'] });
    expect(p.status).toEqual({ phase: 'Active' });
    expect(p.metadata.labels).toEqual({ [NAMESPACE_NAME_LABEL]: 'a', x: 'y' });
  });

  it('status keeps the spec and defaults an empty phase; finalize keeps the status', () => {
    const next = ns('a', { spec: { finalizers: [] }, status: {} });
    expect(prepareNamespaceForUpdate(next, cur, 'status')).toMatchObject({ spec: { finalizers: ['kubernetes', 'example.com/f'] }, status: { phase: 'Active' } });
    const fin = prepareNamespaceForUpdate(ns('a', { spec: { finalizers: [] }, status: { phase: 'Terminating' } }), cur, 'finalize');
    expect(fin).toMatchObject({ spec: { finalizers: [] }, status: { phase: 'Active' } });
  });
});

describe('validateNamespace', () => {
  const meta = (m: Namespace['metadata'], spec?: Namespace['spec']): Namespace => ({ apiVersion: 'v1', kind: 'Namespace', metadata: m, ...(spec ? { spec } : {}) });
  const cases: [string, Namespace, string[]][] = [
    ['a valid namespace', ns(), []],
    ['name required', meta({}), ['metadata.name: Required value: name or generateName is required']],
    ['name is a DNS-1123 label', meta({ name: '@test' }), [`metadata.name: Invalid value: "@test": ${LABEL_MSG}`]],
    ['a name with dots is not a label', meta({ name: 'a.b' }), ['metadata.name: Invalid value: "a.b": must not contain dots']],
    ['name at most 63 characters', meta({ name: 'a'.repeat(254) }), [`metadata.name: Invalid value: "${'a'.repeat(254)}": must be no more than 63 characters`]],
    ['generateName may end in a dash', meta({ name: 'tmp-abcde', generateName: 'tmp-' }), []],
    ['generateName is checked as a label prefix', meta({ name: 'x', generateName: 'Tmp-' }), [`metadata.generateName: Invalid value: "Tmp-": ${LABEL_MSG}`]],
    ['metadata.namespace is forbidden', meta({ name: 'a', namespace: 'default' }), ['metadata.namespace: Forbidden: not allowed on this type']],
    ['generation not negative', meta({ name: 'a', generation: -1 }), ['metadata.generation: Invalid value: -1: must be greater than or equal to 0']],
    ['label keys are qualified names', meta({ name: 'a', labels: { 'a b': 'x' } }), [`metadata.labels: Invalid value: "a b": ${NAME_PART_MSG}`]],
    ['annotation keys are qualified names', meta({ name: 'a', annotations: { 'a b': 'x' } }), [`metadata.annotations: Invalid value: "a b": ${NAME_PART_MSG}`]],
    ['annotations at most 256 kB', meta({ name: 'a', annotations: { a: 'x'.repeat(256 * 1024) } }), ['metadata.annotations: Too long: may not be more than 262144 bytes']],
    ['owner references complete', meta({ name: 'a', ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'c' }] }), ['metadata.ownerReferences.uid: Invalid value: "": uid must not be empty']],
    [
      'metadata finalizers: qualified, then the legacy name check per index',
      meta({ name: 'a', finalizers: ['example.com/a b', 'my-finalizer', 'kubernetes'] }),
      [`metadata.finalizers: Invalid value: "example.com/a b": ${NAME_PART_MSG}`, `metadata.finalizers[1]: Invalid value: "my-finalizer": ${NOT_STANDARD}`],
    ],
    [
      'orphan and foregroundDeletion exclude each other',
      meta({ name: 'a', finalizers: ['orphan', 'foregroundDeletion'] }),
      ['metadata.finalizers: Invalid value: []string{"orphan", "foregroundDeletion"}: finalizer orphan and foregroundDeletion cannot be both set'],
    ],
    [
      'managedFields operation and fieldsType',
      meta({ name: 'a', managedFields: [{ manager: 'k\tc', operation: 'Patch', fieldsType: 'FieldsV2' }] }),
      [
        'metadata.managedFields[0].operation: Invalid value: "Patch": must be `Apply` or `Update`',
        'metadata.managedFields[0].fieldsType: Invalid value: "FieldsV2": must be `FieldsV1`',
        'metadata.managedFields[0].manager: Invalid value: "k\\tc": invalid character U+0009 (at position 1)',
      ],
    ],
    ['spec finalizers must be standard without a domain (no index)', meta({ name: 'a' }, { finalizers: ['kubernetes', 'foo'] }), [`spec.finalizers: Invalid value: "foo": ${NOT_STANDARD}`]],
    ['spec finalizers are qualified names', meta({ name: 'a' }, { finalizers: ['example.com/a b'] }), [`spec.finalizers: Invalid value: "example.com/a b": ${NAME_PART_MSG}`]],
  ];
  it.each(cases)('%s', (_name, input, expected) => {
    expect(render(validateNamespace(input))).toEqual(expected);
  });

  it('every error of a create is reported, in the API server order', () => {
    const r = validateNamespace(meta({ name: 'A', namespace: 'x', labels: { 'a b': 'c' } }, { finalizers: ['foo'] }));
    expect(r.map((e) => `${e.type} ${e.field}`)).toEqual(['Invalid metadata.name', 'Forbidden metadata.namespace', 'Invalid metadata.labels', 'Invalid spec.finalizers']);
  });

  it('on update the name label must equal the name', () => {
    expect(render(validateNamespace(ns('a'), { create: false }))).toEqual([]);
    const missing = ns('a');
    missing.metadata.labels = {};
    expect(render(validateNamespace(missing, { create: false }))).toEqual([`metadata.labels[${NAMESPACE_NAME_LABEL}]: Required value: must be 'a'`]);
    const wrong = ns('a');
    wrong.metadata.labels = { [NAMESPACE_NAME_LABEL]: 'b', x: 'y' };
    expect(render(validateNamespace(wrong, { create: false }))).toEqual([
      `metadata.labels[${NAMESPACE_NAME_LABEL}]: Invalid value: map[string]string{"${NAMESPACE_NAME_LABEL}":"b", "x":"y"}: must be 'a'`,
    ]);
    expect(render(validateNamespace(missing))).toEqual([]);
  });
});

describe('validateNamespaceUpdate', () => {
  const cur = ns('a');
  const with_ = (f: (n: Namespace) => void): Namespace => {
    const n = structuredClone(cur);
    f(n);
    return n;
  };
  const cases: [string, Namespace, Namespace, string[]][] = [
    ['an unchanged namespace', cur, cur, []],
    ['labels and annotations may change', with_((n) => (n.metadata.annotations = { a: 'b' })), cur, []],
    ['resourceVersion required', with_((n) => delete n.metadata.resourceVersion), cur, ['metadata.resourceVersion: Invalid value: "": must be specified for an update']],
    [
      'name immutable (the label follows the new name)',
      with_((n) => {
        n.metadata.name = 'b';
        n.metadata.labels = { [NAMESPACE_NAME_LABEL]: 'b' };
      }),
      cur,
      ['metadata.name: Invalid value: "b": field is immutable'],
    ],
    ['uid immutable', with_((n) => (n.metadata.uid = 'u2')), cur, ['metadata.uid: Invalid value: "u2": field is immutable']],
    ['generation not decremented', with_((n) => (n.metadata.generation = 1)), ns('a', { metadata: { ...cur.metadata, generation: 2 } }), ['metadata.generation: Invalid value: 1: must not be decremented']],
    ['creationTimestamp immutable, shown as Go prints a time', with_((n) => (n.metadata.creationTimestamp = '2025-06-01T10:00:00+02:00')), cur, ['metadata.creationTimestamp: Invalid value: 2025-06-01 08:00:00 +0000 UTC: field is immutable']],
    ['the same instant in another zone is no change', with_((n) => (n.metadata.creationTimestamp = '2024-01-02T04:04:05+01:00')), cur, []],
    ['deletionTimestamp immutable', with_((n) => (n.metadata.deletionTimestamp = '2025-01-01T00:00:00Z')), cur, ['metadata.deletionTimestamp: Invalid value: 2025-01-01 00:00:00 +0000 UTC: field is immutable']],
    ['deletionGracePeriodSeconds immutable', with_((n) => (n.metadata.deletionGracePeriodSeconds = 0)), cur, ['metadata.deletionGracePeriodSeconds: Invalid value: 0: field is immutable']],
    [
      'no new finalizers once deleting',
      with_((n) => (n.metadata.finalizers = ['example.com/b', 'example.com/a'])),
      with_((n) => (n.metadata.deletionTimestamp = '2025-01-01T00:00:00Z')),
      [
        'metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{"example.com/a", "example.com/b"}',
        'metadata.deletionTimestamp: Invalid value: null: field is immutable',
      ],
    ],
    ['the new object is validated too', with_((n) => (n.metadata.labels = { [NAMESPACE_NAME_LABEL]: 'a', 'a b': 'c' })), cur, [`metadata.labels: Invalid value: "a b": ${NAME_PART_MSG}`, `metadata.labels: Invalid value: "a b": ${NAME_PART_MSG}`]],
  ];
  it.each(cases)('%s', (_name, next, old, expected) => {
    expect(render(validateNamespaceUpdate(next, old))).toEqual(expected);
  });
});

describe('status and finalize subresources', () => {
  it('status.Phase follows deletionTimestamp', () => {
    expect(render(validateNamespaceStatusUpdate(ns('a'), ns('a')))).toEqual([]);
    expect(render(validateNamespaceStatusUpdate(ns('a', { status: { phase: 'Terminating' } }), ns('a')))).toEqual([
      "status.Phase: Invalid value: \"Terminating\": may only be 'Active' if `deletionTimestamp` is empty",
    ]);
    const deleting = ns('a');
    deleting.metadata.deletionTimestamp = '2025-01-01T00:00:00Z';
    expect(render(validateNamespaceStatusUpdate(deleting, deleting))).toEqual([
      "status.Phase: Invalid value: \"Active\": may only be 'Terminating' if `deletionTimestamp` is not empty",
    ]);
  });

  it('finalize checks each finalizer at its index', () => {
    expect(render(validateNamespaceFinalizeUpdate(ns('a', { spec: { finalizers: ['kubernetes', 'foo'] } }), ns('a')))).toEqual([
      `spec.finalizers[1]: Invalid value: "foo": ${NOT_STANDARD}`,
    ]);
  });
});

describe('properties', () => {
  const label = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);

  it('any DNS-1123 label names a valid namespace once defaulted, and its label stays through an update', () => {
    fc.assert(
      fc.property(label, fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9]{0,8}$/), fc.stringMatching(/^[a-z0-9]{0,8}$/)), (name, labels) => {
        const created = defaultNamespace({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
        expect(validateNamespace(created)).toEqual([]);
        expect(created.metadata.labels?.[NAMESPACE_NAME_LABEL]).toBe(name);
        const stored = { ...created, metadata: { ...created.metadata, resourceVersion: '1' } };
        const next = prepareNamespaceForUpdate({ ...stored, metadata: { ...stored.metadata, labels: {} } }, stored);
        expect(validateNamespaceUpdate(next, stored)).toEqual([]);
      }),
    );
  });

  it('decoding never throws and every error of an object body has a path', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.record({ metadata: fc.anything(), spec: fc.anything(), status: fc.anything() })), (body) => {
        const r = decodeNamespace(body);
        if (typeof body === 'object' && body !== null && !Array.isArray(body) && Object.getPrototypeOf(body) === Object.prototype) {
          for (const e of r.errors) expect(e.field).not.toBe('');
        }
        validateNamespace(r.object);
        render(r.errors);
      }),
    );
  });
});
