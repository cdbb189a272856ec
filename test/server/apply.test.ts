/**
 * Server-side apply, unit by unit, as tables: the `FieldsV1` encoding of field sets and the
 * set algebra (structured-merge-diff `fieldpath`), typing, merging and comparing values with
 * the Kubernetes schema (`typed`), pruning and conflicts (`merge.Updater`), and the field
 * manager's layers (managers merged per identity, times, `before-first-apply`,
 * `ancient-changes`, reset), with the API server's conflict message.
 */
import { describe, expect, it } from 'vitest';
import { FieldManager } from '../../src/server/apply/field-manager.js';
import { FieldSet, pathString, pe, type Json, type Path } from '../../src/server/apply/fieldpath.js';
import { conflictStatus, managerKey } from '../../src/server/apply/managed-fields.js';
import { kindSchema, schemaFromOpenApi } from '../../src/server/apply/schema.js';
import { compareTyped, mergeTyped, removeItems, toFieldSet, validateTyped } from '../../src/server/apply/typed.js';
import { ApplyConflicts, Updater, type ApplyResult, type ManagedSets } from '../../src/server/apply/updater.js';
import { managerFromUserAgent, patchFieldOptions } from '../../src/server/apply/writes.js';
import { HttpError } from '../../src/server/status.js';

type Obj = { [k: string]: Json };

const f = pe.field;
const k = (fields: Record<string, Json>): ReturnType<typeof pe.key> => pe.key(Object.entries(fields).map(([name, value]) => ({ name, value })));
/** A path from dotted field names, e.g. `p('data', 'a')`. */
const p = (...parts: (string | ReturnType<typeof pe.key>)[]): Path => parts.map((x) => (typeof x === 'string' ? f(x) : x));
const set = (...paths: Path[]): FieldSet => FieldSet.of(paths);
const v1 = (s: FieldSet): string => JSON.stringify(s.toFieldsV1());

const POD = kindSchema('v1', 'Pod');
const CM = kindSchema('v1', 'ConfigMap');

describe('FieldsV1 encoding of field sets', () => {
  const cases: [string, FieldSet, string][] = [
    ['leaves', set(p('data', 'b'), p('data', 'a')), '{"f:data":{"f:a":{},"f:b":{}}}'],
    ['a member that also has children gets "."', set(p('metadata', 'labels'), p('metadata', 'labels', 'app')), '{"f:metadata":{"f:labels":{".":{},"f:app":{}}}}'],
    ['key elements: fields sorted by name, JSON values', set(p('spec', 'ports', k({ protocol: 'TCP', containerPort: 80 }))), '{"f:spec":{"f:ports":{"k:{\\"containerPort\\":80,\\"protocol\\":\\"TCP\\"}":{}}}}'],
    ['order: fields, then keys, then values, then indexes', set([f('x'), pe.index(1)], [f('x'), pe.value('b')], [f('x'), k({ name: 'a' })], [f('x'), f('z')]), '{"f:x":{"f:z":{},"k:{\\"name\\":\\"a\\"}":{},"v:\\"b\\"":{},"i:1":{}}}'],
    ['values as Go encodes them (HTML escaped)', set([f('finalizers'), pe.value('a<b&c')]), '{"f:finalizers":{"v:\\"a\\\\u003cb\\\\u0026c\\"":{}}}'],
    ['the empty path is never a member', set([]), '{}'],
  ];
  for (const [name, s, json] of cases) {
    it(name, () => {
      expect(v1(s)).toBe(json);
      expect(v1(FieldSet.fromFieldsV1(JSON.parse(json)))).toBe(json);
    });
  }

  it('decoding: "{}" is a member, unknown element types are skipped, a malformed key throws', () => {
    expect(v1(FieldSet.fromFieldsV1({ 'f:a': {}, 'x:future': {}, 'f:b': { 'q:odd': {} } }))).toBe('{"f:a":{},"f:b":{}}');
    expect(FieldSet.fromFieldsV1({ 'f:a': { '.': {}, 'f:b': {} } }).has(p('a'))).toBe(true);
    expect(FieldSet.fromFieldsV1({ 'f:a': { 'f:b': {} } }).has(p('a'))).toBe(false);
    expect(() => FieldSet.fromFieldsV1({ 'k:[1]': {} })).toThrow();
    expect(() => FieldSet.fromFieldsV1([])).toThrow();
  });

  it('paths print as upstream prints them in conflicts', () => {
    expect(pathString(p('spec', 'containers', k({ name: 'c' }), 'image'))).toBe('.spec.containers[name="c"].image');
    expect(pathString([f('spec'), f('ports'), k({ containerPort: 80, protocol: 'TCP' })])).toBe('.spec.ports[containerPort=80,protocol="TCP"]');
    expect(pathString([f('metadata'), f('finalizers'), pe.value('x')])).toBe('.metadata.finalizers[="x"]');
    expect(pathString([f('spec'), f('command'), pe.index(0)])).toBe('.spec.command[0]');
  });
});

describe('set algebra', () => {
  const a = set(p('x', 'a'), p('x', 'b'), p('y'));
  const b = set(p('x', 'b'), p('x', 'c'), p('z'));
  const cases: [string, () => FieldSet, string][] = [
    ['union', () => a.union(b), '{"f:x":{"f:a":{},"f:b":{},"f:c":{}},"f:y":{},"f:z":{}}'],
    ['intersection', () => a.intersection(b), '{"f:x":{"f:b":{}}}'],
    ['difference', () => a.difference(b), '{"f:x":{"f:a":{}},"f:y":{}}'],
    ['difference keeps what lies below a removed member (parent − child = parent)', () => set(p('x'), p('x', 'a')).difference(set(p('x'))), '{"f:x":{"f:a":{}}}'],
    ['recursive difference removes it too', () => set(p('x'), p('x', 'a'), p('y')).recursiveDifference(set(p('x'))), '{"f:y":{}}'],
    ['empty children are not kept', () => set(p('x', 'a')).difference(set(p('x', 'a'))), '{}'],
  ];
  for (const [name, op, json] of cases) it(name, () => expect(v1(op())).toBe(json));
});

describe('the schema, from the served OpenAPI document', () => {
  const { schema, root } = POD;
  /** The type at a path of field names (through list elements). */
  const at = (...names: string[]): ReturnType<typeof schema.resolve> => {
    let atom = schema.resolve(root);
    for (const n of names) {
      if (atom?.list) atom = schema.resolve(atom.list.elem);
      const t = atom?.map?.fields.get(n)?.type;
      atom = t ? schema.resolve(t) : undefined;
    }
    return atom;
  };
  const cases: [string, string[], unknown][] = [
    ['containers: associative by name', ['spec', 'containers'], { relationship: 'associative', keys: ['name'] }],
    ['ports: by containerPort and protocol', ['spec', 'containers', 'ports'], { relationship: 'associative', keys: ['containerPort', 'protocol'] }],
    ['volumes (merge,retainKeys): by name', ['spec', 'volumes'], { relationship: 'associative', keys: ['name'] }],
    ['finalizers: a set', ['metadata', 'finalizers'], { relationship: 'associative', keys: [] }],
    ['command: atomic', ['spec', 'containers', 'command'], { relationship: 'atomic', keys: [] }],
    ['tolerations: atomic', ['spec', 'tolerations'], { relationship: 'atomic', keys: [] }],
  ];
  for (const [name, path, want] of cases) it(`list: ${name}`, () => expect(at(...path)?.list).toMatchObject(want as object));
  it('maps: labels granular, nodeSelector atomic, a LocalObjectReference atomic, quantities untyped scalars', () => {
    expect(at('metadata', 'labels')?.map?.relationship).toBe('separable');
    expect(at('spec', 'nodeSelector')?.map?.relationship).toBe('atomic');
    expect(at('spec', 'imagePullSecrets')?.list?.keys).toEqual(['name']);
    expect(schema.resolve({ named: 'io.k8s.api.core.v1.LocalObjectReference' })?.map?.relationship).toBe('atomic');
    expect(schema.resolve({ named: 'io.k8s.apimachinery.pkg.api.resource.Quantity' })).toEqual({ scalar: 'untyped' });
    expect(kindSchema('v1', 'NoSuchKind').root).toEqual({ named: '__untyped_deduced_' });
  });
});

describe('typed values (the Kubernetes schema)', () => {
  const pod = (spec: Obj, metadata: Obj = { name: 'p' }): Obj => ({ apiVersion: 'v1', kind: 'Pod', metadata, spec });

  it('field sets: list elements by key (defaults fill missing key fields), atomic lists, granular maps, empty maps', () => {
    const s = toFieldSet(POD.schema, pod({
      containers: [{ name: 'c', image: 'i', command: ['a', 'b'], ports: [{ containerPort: 80 }], env: [{ name: 'E', value: '1' }], resources: {} }],
      nodeSelector: { disk: 'ssd' },
    }, { name: 'p', labels: { app: 'a' }, finalizers: ['x'] }), POD.root);
    expect(s.toFieldsV1()).toEqual({
      'f:apiVersion': {}, 'f:kind': {},
      'f:metadata': { 'f:finalizers': { 'v:"x"': {} }, 'f:labels': { 'f:app': {} }, 'f:name': {} },
      'f:spec': {
        'f:containers': {
          'k:{"name":"c"}': {
            '.': {}, 'f:command': {}, 'f:env': { 'k:{"name":"E"}': { '.': {}, 'f:name': {}, 'f:value': {} } }, 'f:image': {}, 'f:name': {},
            'f:ports': { 'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} } }, 'f:resources': {},
          },
        },
        'f:nodeSelector': {},
      },
    });
  });

  it('validation: missing keys, duplicates (unless allowed), wrong types', () => {
    const bad = pod({ containers: [{ image: 'x', name: 'a' }, { name: 'a' }, 'text'] }, { name: 'p', finalizers: ['a', { x: 1 }] });
    expect(validateTyped(POD.schema, bad, POD.root, { allowDuplicates: false }).map((x) => [x.path, x.kind])).toEqual([
      ['metadata.finalizers[1]', 'type'], ['spec.containers[1]', 'duplicate'], ['spec.containers[2]', 'type'],
    ]);
    // A keyed list whose key has no default (core kinds default every key): an element without it cannot be keyed.
    const { schema } = schemaFromOpenApi({ T: { type: 'object', properties: { l: { type: 'array', 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['k'], items: { type: 'object', properties: { k: { type: 'string' }, v: { type: 'string' } } } } } } });
    expect(validateTyped(schema, { l: [{ k: 'a' }, { v: 'b' }] }, { named: 'T' }, { allowDuplicates: false }).map((x) => [x.path, x.kind, x.message])).toEqual([
      ['l[1]', 'key', 'associative list with keys has an element that omits all key fields ["k"] (and doesn\'t have default values for any key fields)'],
    ]);
    expect(validateTyped(POD.schema, pod({ containers: [{ name: 'a' }, { name: 'a' }] }), POD.root, { allowDuplicates: true })).toEqual([]);
    expect(validateTyped(CM.schema, { data: { a: 1 } }, CM.root, { allowDuplicates: false }).map((x) => x.message)).toEqual(['expected string, got 1']);
  });

  const mergeCases: [string, Obj, Obj, Obj][] = [
    ['maps merge key by key', { data: { a: '1', b: '2' } }, { data: { b: 'x', c: '3' } }, { data: { a: '1', b: 'x', c: '3' } }],
    ['containers merge by name; their atomic command is replaced', pod({ containers: [{ name: 'a', image: 'i', command: ['x', 'y'] }, { name: 'b', image: 'j' }] }),
      pod({ containers: [{ name: 'b', image: 'k' }, { name: 'a', command: ['z'] }] }),
      pod({ containers: [{ name: 'b', image: 'k' }, { name: 'a', image: 'i', command: ['z'] }] })],
    ['live-only elements keep their place before the applied ones', pod({ containers: [{ name: 'x' }, { name: 'a', image: 'i' }] }), pod({ containers: [{ name: 'a', image: 'j' }, { name: 'n' }] }),
      pod({ containers: [{ name: 'x' }, { name: 'a', image: 'j' }, { name: 'n' }] })],
    ['ports are keyed by containerPort and protocol (TCP by default)', pod({ containers: [{ name: 'a', ports: [{ containerPort: 80, protocol: 'TCP', name: 'http' }, { containerPort: 80, protocol: 'UDP' }] }] }),
      pod({ containers: [{ name: 'a', ports: [{ containerPort: 80, hostPort: 8080 }] }] }),
      pod({ containers: [{ name: 'a', ports: [{ containerPort: 80, protocol: 'TCP', name: 'http', hostPort: 8080 }, { containerPort: 80, protocol: 'UDP' }] }] })],
    ['sets (finalizers) are unions, in upstream\'s order', { metadata: { finalizers: ['a', 'b'] } }, { metadata: { finalizers: ['c', 'a'] } }, { metadata: { finalizers: ['c', 'a', 'b'] } }],
    ['atomic maps (nodeSelector) are replaced', pod({ nodeSelector: { a: '1' } }), pod({ nodeSelector: { b: '2' } }), pod({ nodeSelector: { b: '2' } })],
  ];
  for (const [name, live, config, want] of mergeCases) {
    it(`merge: ${name}`, () => {
      const schema = 'kind' in live ? POD : CM;
      expect(mergeTyped(schema.schema, live, config, schema.root)).toEqual(want);
    });
  }

  it('merge refuses duplicate keys in the applied configuration', () => {
    expect(() => mergeTyped(POD.schema, pod({ containers: [] }), pod({ containers: [{ name: 'a' }, { name: 'a' }] }), POD.root)).toThrow(/duplicate entries for key \[name="a"\]/);
  });

  it('compare: added, modified, removed (a new map is itself added; list elements are members)', () => {
    const c = compareTyped(CM.schema, { data: { a: '1', b: '2' } }, { data: { a: 'x', c: '3' }, metadata: { labels: { l: 'v' } } }, CM.root);
    expect(v1(c.added)).toBe('{"f:data":{"f:c":{}},"f:metadata":{".":{},"f:labels":{".":{},"f:l":{}}}}');
    expect(v1(c.modified)).toBe('{"f:data":{"f:a":{}}}');
    expect(v1(c.removed)).toBe('{"f:data":{"f:b":{}}}');
    const lists = compareTyped(POD.schema, pod({ containers: [{ name: 'a', image: 'i' }] }), pod({ containers: [{ name: 'b', image: 'i' }] }), POD.root);
    expect(v1(lists.added)).toBe('{"f:spec":{"f:containers":{"k:{\\"name\\":\\"b\\"}":{".":{},"f:image":{},"f:name":{}}}}}');
    expect(v1(lists.removed)).toBe('{"f:spec":{"f:containers":{"k:{\\"name\\":\\"a\\"}":{".":{},"f:image":{},"f:name":{}}}}}');
  });

  it('remove: a member takes its subtree; an emptied map becomes null', () => {
    const live = pod({ containers: [{ name: 'a', image: 'i' }, { name: 'b', image: 'j' }] }, { name: 'p', labels: { x: '1' } });
    const out = removeItems(POD.schema, live, set(p('spec', 'containers', k({ name: 'a' })), p('metadata', 'labels', 'x')), POD.root);
    expect(out).toEqual(pod({ containers: [{ name: 'b', image: 'j' }] }, { name: 'p', labels: null }));
  });
});

describe('apply: prune and conflicts (merge.Updater)', () => {
  const updater = new Updater({ schema: CM.schema, root: CM.root });
  const A = managerKey({ manager: 'a', operation: 'Apply' });
  const B = managerKey({ manager: 'b', operation: 'Apply' });
  const U = managerKey({ manager: 'u', operation: 'Update', apiVersion: 'v1' });
  const cm = (data: Obj, labels?: Obj): Obj => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', ...(labels ? { labels } : {}) }, data });

  /** Applies the steps in order from an empty object; returns the last object and the managers' sets as FieldsV1. */
  const run = (steps: [string, Obj, boolean?][]): { object: Json; sets: Record<string, unknown> } => {
    let live: Json = cm({});
    let managers: ManagedSets = new Map();
    for (const [m, config, force] of steps) {
      const r: ApplyResult = m === U ? { object: config, managers: updater.update(live, config, 'v1', managers, m) } : updater.apply(live, config, 'v1', managers, m, force ?? false);
      live = r.object ?? live;
      managers = r.managers;
    }
    const sets: Record<string, unknown> = {};
    for (const [m, vs] of managers) sets[(JSON.parse(m) as { manager: string }).manager] = vs.set.toFieldsV1();
    return { object: live, sets };
  };

  const table: [string, [string, Obj, boolean?][], Json, Record<string, unknown>][] = [
    ['a key the manager stops applying is pruned', [[A, cm({ x: '1', y: '2' })], [A, cm({ x: '1' })]], cm({ x: '1' }),
      { a: { 'f:apiVersion': {}, 'f:data': { 'f:x': {} }, 'f:kind': {}, 'f:metadata': { 'f:name': {} } } }],
    ['a key another applier also applies is kept, and stays that applier\'s', [[A, cm({ x: '1', y: '2' })], [B, cm({ y: '2' })], [A, cm({ x: '1' })]], cm({ x: '1', y: '2' }),
      { a: { 'f:apiVersion': {}, 'f:data': { 'f:x': {} }, 'f:kind': {}, 'f:metadata': { 'f:name': {} } }, b: { 'f:apiVersion': {}, 'f:data': { 'f:y': {} }, 'f:kind': {}, 'f:metadata': { 'f:name': {} } } }],
    ['a key an updater changed is not pruned (the updater owns it)', [[A, cm({ x: '1', y: '2' })], [U, cm({ x: '1', y: '3' })], [A, cm({ x: '1' })]], cm({ x: '1', y: '3' }),
      { a: { 'f:apiVersion': {}, 'f:data': { 'f:x': {} }, 'f:kind': {}, 'f:metadata': { 'f:name': {} } }, u: { 'f:data': { 'f:y': {} } } }],
    ['an emptied map goes with its last key', [[A, cm({}, { l: 'v' })], [A, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } }]], { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } },
      { a: { 'f:apiVersion': {}, 'f:kind': {}, 'f:metadata': { 'f:name': {} } } }],
    ['forcing takes the field from the other manager', [[A, cm({ x: '1', y: '2' })], [B, cm({ x: '9' }), true]], cm({ x: '9', y: '2' }),
      { a: { 'f:apiVersion': {}, 'f:data': { 'f:y': {} }, 'f:kind': {}, 'f:metadata': { 'f:name': {} } }, b: { 'f:apiVersion': {}, 'f:data': { 'f:x': {} }, 'f:kind': {}, 'f:metadata': { 'f:name': {} } } }],
    ['the same value is co-owned, no conflict', [[A, cm({ x: '1' })], [B, cm({ x: '1' })]], cm({ x: '1' }),
      { a: { 'f:apiVersion': {}, 'f:data': { 'f:x': {} }, 'f:kind': {}, 'f:metadata': { 'f:name': {} } }, b: { 'f:apiVersion': {}, 'f:data': { 'f:x': {} }, 'f:kind': {}, 'f:metadata': { 'f:name': {} } } }],
  ];
  for (const [name, steps, object, sets] of table) {
    it(name, () => {
      const r = run(steps);
      expect(r.object).toEqual(object);
      expect(r.sets).toEqual(sets);
    });
  }

  it('a different value of another manager\'s field is a conflict, per field, with the API server\'s message', () => {
    let err: unknown;
    try {
      run([[U, cm({ x: '1', y: '2' })], [A, cm({ x: '2', y: '3' })]]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ApplyConflicts);
    const s = conflictStatus((err as ApplyConflicts).conflicts);
    expect(s).toMatchObject({ code: 409, reason: 'Conflict', message: 'Apply failed with 2 conflicts: conflicts with "u" using v1:\n- .data.x\n- .data.y' });
    expect(s.details?.causes).toEqual([
      { reason: 'FieldManagerConflict', message: 'conflict with "u" using v1', field: '.data.x' },
      { reason: 'FieldManagerConflict', message: 'conflict with "u" using v1', field: '.data.y' },
    ]);
    const one = conflictStatus([{ manager: A, path: p('data', 'key') }]);
    expect(one.message).toBe('Apply failed with 1 conflict: conflict with "a": .data.key');
    expect(conflictStatus([{ manager: managerKey({ manager: 'kubelet', operation: 'Update', apiVersion: 'v1', subresource: 'status' }), path: p('status', 'phase') }]).message)
      .toBe('Apply failed with 1 conflict: conflict with "kubelet" with subresource "status" using v1: .status.phase');
  });
});

describe('the field manager (managedFields entries)', () => {
  let now = Date.parse('2026-03-04T05:06:07.890Z');
  const fm = (kind = 'ConfigMap'): FieldManager => new FieldManager({ apiVersion: 'v1', kind, now: () => now });
  const cm = (data: Obj): Obj => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'default' }, data });
  const stored = (obj: Obj, managedFields: unknown): Obj => ({ ...obj, metadata: { ...(obj.metadata as Obj), uid: 'u-1', resourceVersion: '7', creationTimestamp: '2026-01-01T00:00:00Z', managedFields: managedFields as Json } });

  it('a create gives its manager what it wrote (a new map is itself a member), with the time in seconds', () => {
    expect(fm().update(undefined, cm({ a: '1' }), 'kubectl-create')).toEqual([
      { manager: 'kubectl-create', operation: 'Update', apiVersion: 'v1', time: '2026-03-04T05:06:07Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:data': { '.': {}, 'f:a': {} } } },
    ]);
    expect(fm().update(undefined, cm({ a: '1' }), '')?.[0]?.manager).toBe('unknown');
  });

  it('updates are merged per manager; a field another manager changes moves to it; times and order', () => {
    const created = fm().update(undefined, cm({ a: '1', b: '2' }), 'kubectl-create');
    now += 60_000;
    const edited = fm().update(stored(cm({ a: '1', b: '2' }), created), cm({ a: '1', b: '3' }), 'kubectl-edit');
    expect(edited?.map((e) => [e.manager, e.time, e.fieldsV1])).toEqual([
      ['kubectl-create', '2026-03-04T05:06:07Z', { 'f:data': { '.': {}, 'f:a': {} } }],
      ['kubectl-edit', '2026-03-04T05:07:07Z', { 'f:data': { 'f:b': {} } }],
    ]);
    now += 60_000;
    const again = fm().update(stored(cm({ a: '1', b: '3' }), edited), cm({ a: '1', b: '3', c: '4' }), 'kubectl-edit');
    expect(again?.map((e) => [e.manager, e.time, e.fieldsV1])).toEqual([
      ['kubectl-create', '2026-03-04T05:06:07Z', { 'f:data': { '.': {}, 'f:a': {} } }],
      ['kubectl-edit', '2026-03-04T05:08:07Z', { 'f:data': { 'f:b': {}, 'f:c': {} } }],
    ]);
    // An update that changes nothing leaves the entries alone.
    expect(fm().update(stored(cm({ a: '1', b: '3', c: '4' }), again), cm({ a: '1', b: '3', c: '4' }), 'other')).toEqual(again);
  });

  it('an object without managed fields does not start tracking on update; [{}] resets them; an apply starts with before-first-apply', () => {
    const untracked = stored(cm({ a: '1' }), undefined);
    expect(fm().update(untracked, cm({ a: '2' }), 'kubectl-edit')).toBeUndefined();
    const tracked = stored(cm({ a: '1' }), fm().update(undefined, cm({ a: '1' }), 'x'));
    expect(fm().update(tracked, cm({ a: '2' }), 'x', true)).toBeUndefined();
    expect(() => fm().apply(untracked, cm({ a: '2' }), 'kubectl', false)).toThrow(ApplyConflicts);
    const r = fm().apply(untracked, cm({ a: '1', b: '2' }), 'kubectl', false);
    expect(r.managedFields?.map((e) => [e.manager, e.operation, e.fieldsV1])).toEqual([
      ['kubectl', 'Apply', { 'f:data': { 'f:a': {}, 'f:b': {} } }],
      ['before-first-apply', 'Update', { 'f:data': { '.': {}, 'f:a': {} } }],
    ]);
  });

  it('at most ten update managers: the oldest are merged into ancient-changes', () => {
    let obj = cm({});
    let mf: unknown;
    for (let i = 0; i < 12; i++) {
      now += 1000;
      const next = cm({ ...(obj.data as Obj), [`k${i}`]: 'v' });
      mf = fm().update(i === 0 ? undefined : stored(obj, mf), next, `m${i}`);
      obj = next;
    }
    const entries = mf as { manager: string; fieldsV1: Obj }[];
    expect(entries.map((e) => e.manager)).toEqual(['ancient-changes', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8', 'm9', 'm10', 'm11']);
    expect(entries[0]?.fieldsV1).toEqual({ 'f:data': { '.': {}, 'f:k0': {}, 'f:k1': {}, 'f:k2': {} } });
  });

  it('an apply that changes nothing keeps the time; one refused for its kind or its managedFields', () => {
    const first = fm().apply(undefined, cm({ a: '1' }), 'kubectl', false);
    now += 60_000;
    const live = stored(first.object, first.managedFields);
    const again = fm().apply(live, cm({ a: '1' }), 'kubectl', false);
    expect(again.changed).toBe(false);
    expect(again.managedFields).toEqual(first.managedFields);
    expect(() => fm().apply(live, { ...cm({}), kind: 'Secret' }, 'kubectl', false)).toThrow('invalid object type: /v1, Kind=Secret');
    expect(() => fm().apply(live, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { managedFields: [] } }, 'kubectl', false)).toThrow('metadata.managedFields must be nil');
  });

  it('kubectl takes over from client-side apply without conflicts where the live value is the last-applied one', () => {
    const lastApplied = '{"apiVersion":"v1","data":{"a":"1"},"kind":"ConfigMap","metadata":{"annotations":{},"name":"c","namespace":"default"}}\n';
    const csa = { ...cm({ a: '1' }), metadata: { name: 'c', namespace: 'default', annotations: { 'kubectl.kubernetes.io/last-applied-configuration': lastApplied } } };
    const live = stored(csa, fm().update(undefined, csa, 'kubectl-client-side-apply'));
    const r = fm().apply(live, cm({ a: '2' }), 'kubectl', false);
    expect((r.object.data as Obj).a).toBe('2');
    expect(((r.object.metadata as Obj).annotations as Obj)['kubectl.kubernetes.io/last-applied-configuration']).toBe('{"apiVersion":"v1","data":{"a":"2"},"kind":"ConfigMap","metadata":{"name":"c","namespace":"default"}}\n');
    expect(() => fm().apply(live, cm({ a: '2' }), 'other', false)).toThrow(ApplyConflicts);
  });

  it('pods: decode-time defaults are owned by the creator, admission-set fields and status are not', () => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', labels: { run: 'p' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] }, status: { phase: 'Running' } };
    const m = fm('Pod');
    expect(m.update(undefined, m.decodeDefaults(pod), 'kubectl-run')?.[0]?.fieldsV1).toEqual({
      'f:metadata': { 'f:labels': { '.': {}, 'f:run': {} } },
      'f:spec': {
        'f:containers': { 'k:{"name":"c"}': { '.': {}, 'f:image': {}, 'f:imagePullPolicy': {}, 'f:name': {}, 'f:resources': {}, 'f:terminationMessagePath': {}, 'f:terminationMessagePolicy': {} } },
        'f:dnsPolicy': {}, 'f:enableServiceLinks': {}, 'f:restartPolicy': {}, 'f:schedulerName': {}, 'f:securityContext': {}, 'f:terminationGracePeriodSeconds': {},
      },
    });
  });
});

describe('request options', () => {
  it('the manager of a user agent: its part before "/", printable, at most 128 bytes', () => {
    const cases: [string | undefined, string][] = [
      ['kubectl-client-side-apply/v1.32.2 (linux/amd64) kubernetes/67a30c0', 'kubectl-client-side-apply'],
      ['kubectl-edit/v1.35.0', 'kubectl-edit'],
      ['node', 'node'],
      ['a\tb/1', 'ab'],
      [`${'x'.repeat(200)}/1`, 'x'.repeat(128)],
      [undefined, ''],
    ];
    for (const [ua, want] of cases) expect(managerFromUserAgent(ua)).toBe(want);
  });

  it('PatchOptions: an apply needs fieldManager; force only with apply; every error at once', () => {
    const q = (s: string): URLSearchParams => new URLSearchParams(s);
    expect(patchFieldOptions(q('fieldManager=m&force=true'), 'x/1', true)).toEqual({ manager: 'm', force: true });
    expect(patchFieldOptions(q(''), 'kubectl-edit/1', false)).toEqual({ manager: 'kubectl-edit', force: false });
    const err = (s: string, apply: boolean): unknown => {
      try {
        patchFieldOptions(q(s), 'x', apply);
      } catch (e) {
        return e instanceof HttpError ? e.status : e;
      }
      return undefined;
    };
    expect(err('', true)).toMatchObject({ code: 422, message: 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch' });
    expect(err('force=false&fieldManager=a%09b', false)).toMatchObject({
      code: 422, message: 'PatchOptions.meta.k8s.io "" is invalid: [force: Forbidden: may not be specified for non-apply patch, fieldManager: Invalid value: "a\\tb": invalid character U+0009 (at position 1)]',
    });
  });
});
