/**
 * Server-side apply and managed fields through the HTTP API (the real registry and store, the
 * fake agent): `metadata.managedFields` after create, update, patch and apply of ConfigMaps
 * and pods; pruning on a second apply; the 409 of a conflict with its message and causes;
 * `force`; the 422s of PatchOptions and of an apply body that does not type-check; dry runs;
 * a client's managedFields ignored but for the `[{}]` reset.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { podManifest, startApi, type TestApi } from './helpers.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const CMS = '/api/v1/namespaces/default/configmaps';
const PODS = '/api/v1/namespaces/default/pods';
const APPLY = 'application/apply-patch+yaml';
/** The clock of the server: 2026-05-06T07:08:09Z, moved by the tests. */
let clock = Date.parse('2026-05-06T07:08:09.500Z');

let api: TestApi;

beforeEach(async () => {
  clock = Date.parse('2026-05-06T07:08:09.500Z');
  api = await startApi({ now: () => clock });
});

afterEach(async () => {
  await api.close();
});

function send(method: string, path: string, body: unknown, type = 'application/json', userAgent = 'test-client/1.0'): Promise<Response> {
  return api.req(path, { method, body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': type, 'user-agent': userAgent } });
}

async function ok(res: Response, status = 200): Promise<Obj> {
  const body = (await res.json()) as Obj;
  expect(res.status, JSON.stringify(body)).toBe(status);
  return body;
}

async function get(path: string): Promise<Obj> {
  return ok(await api.req(path));
}

/** The managed fields as `[manager, operation, time, fieldsV1]`. */
function managed(obj: Obj): unknown[] {
  return (obj.metadata.managedFields ?? []).map((e: Obj) => [e.manager, e.operation, e.time, e.fieldsV1]);
}

const cmYaml = (data: Record<string, string>, labels: Record<string, string> = {}): string => `apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
  labels: ${JSON.stringify(labels)}
data: ${JSON.stringify(data)}
`;

describe('ConfigMaps', () => {
  it('create, update and patch keep managedFields per manager (from fieldManager or the user agent), with times', async () => {
    const created = await ok(await send('POST', CMS, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: '1' } }, 'application/json', 'kubectl-create/v1.32.2 (linux/amd64) kubernetes/abc'), 201);
    expect(created.metadata.managedFields).toEqual([
      { manager: 'kubectl-create', operation: 'Update', apiVersion: 'v1', time: '2026-05-06T07:08:09Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:data': { '.': {}, 'f:a': {} } } },
    ]);
    clock += 60_000;
    const put = { ...created, data: { a: '1', b: '2' }, metadata: { ...created.metadata, managedFields: [{ manager: 'forged', operation: 'Apply', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: {} }] } };
    const replaced = await ok(await send('PUT', `${CMS}/c?fieldManager=editor`, put));
    expect(managed(replaced)).toEqual([
      ['kubectl-create', 'Update', '2026-05-06T07:08:09Z', { 'f:data': { '.': {}, 'f:a': {} } }],
      ['editor', 'Update', '2026-05-06T07:09:09Z', { 'f:data': { 'f:b': {} } }],
    ]);
    clock += 60_000;
    const patched = await ok(await send('PATCH', `${CMS}/c`, { data: { a: 'x' }, metadata: { labels: { l: 'v' } } }, 'application/merge-patch+json', 'kubectl-patch/v1.35.0'));
    // kubectl-create lost data.a to kubectl-patch; it still owns the map itself.
    expect(managed(patched)).toEqual([
      ['kubectl-create', 'Update', '2026-05-06T07:08:09Z', { 'f:data': {} }],
      ['editor', 'Update', '2026-05-06T07:09:09Z', { 'f:data': { 'f:b': {} } }],
      ['kubectl-patch', 'Update', '2026-05-06T07:10:09Z', { 'f:data': { 'f:a': {} }, 'f:metadata': { 'f:labels': { '.': {}, 'f:l': {} } } }],
    ]);
    expect((await get(`${CMS}/c`)).metadata.managedFields).toEqual(patched.metadata.managedFields);
  });

  it('[{}] resets managedFields; an untracked object stays untracked on update; an apply gives its fields to before-first-apply', async () => {
    await ok(await send('POST', CMS, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: '1' } }), 201);
    const reset = await ok(await send('PATCH', `${CMS}/c`, { metadata: { managedFields: [{}] } }, 'application/merge-patch+json'));
    expect(reset.metadata.managedFields).toBeUndefined();
    const untracked = await ok(await send('PATCH', `${CMS}/c`, { data: { b: '2' } }, 'application/merge-patch+json'));
    expect(untracked.metadata.managedFields).toBeUndefined();
    const applied = await ok(await send('PATCH', `${CMS}/c?fieldManager=kubectl`, 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {b: "2", c: "3"}\n', APPLY));
    expect(managed(applied)).toEqual([
      ['kubectl', 'Apply', '2026-05-06T07:08:09Z', { 'f:data': { 'f:b': {}, 'f:c': {} } }],
      ['before-first-apply', 'Update', '2026-05-06T07:08:09Z', { 'f:data': { '.': {}, 'f:a': {}, 'f:b': {} } }],
    ]);
  });

  it('apply creates, prunes a key it stopped applying, refuses a conflicting manager (409), and force takes the field', async () => {
    const created = await ok(await send('PATCH', `${CMS}/cfg?fieldManager=kubectl&fieldValidation=Strict&force=false`, cmYaml({ key: 'v', keep: 'k', gone: 'g' }, { app: 'demo' }), APPLY), 201);
    expect(managed(created)).toEqual([['kubectl', 'Apply', '2026-05-06T07:08:09Z', { 'f:data': { 'f:gone': {}, 'f:keep': {}, 'f:key': {} }, 'f:metadata': { 'f:labels': { 'f:app': {} } } }]]);
    clock += 60_000;
    const pruned = await ok(await send('PATCH', `${CMS}/cfg?fieldManager=kubectl`, cmYaml({ key: 'v', keep: 'k' }, { app: 'demo' }), APPLY));
    expect(pruned.data).toEqual({ key: 'v', keep: 'k' });
    expect(managed(pruned)).toEqual([['kubectl', 'Apply', '2026-05-06T07:09:09Z', { 'f:data': { 'f:keep': {}, 'f:key': {} }, 'f:metadata': { 'f:labels': { 'f:app': {} } } }]]);

    const conflict = await send('PATCH', `${CMS}/cfg?fieldManager=other`, 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {key: changed}\n', APPLY);
    expect(conflict.status).toBe(409);
    expect(await conflict.json()).toEqual({
      kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'Conflict', code: 409,
      message: 'Apply failed with 1 conflict: conflict with "kubectl": .data.key',
      details: { causes: [{ reason: 'FieldManagerConflict', message: 'conflict with "kubectl"', field: '.data.key' }] },
    });
    expect((await get(`${CMS}/cfg`)).data.key).toBe('v');

    clock += 60_000;
    const forced = await ok(await send('PATCH', `${CMS}/cfg?fieldManager=other&force=true`, 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {key: changed}\n', APPLY));
    expect(forced.data).toEqual({ key: 'changed', keep: 'k' });
    expect(managed(forced)).toEqual([
      ['kubectl', 'Apply', '2026-05-06T07:09:09Z', { 'f:data': { 'f:keep': {} }, 'f:metadata': { 'f:labels': { 'f:app': {} } } }],
      ['other', 'Apply', '2026-05-06T07:10:09Z', { 'f:data': { 'f:key': {} } }],
    ]);
    // kubectl applying its old value now conflicts with "other"; a PUT by an updater is never a conflict.
    const back = await send('PATCH', `${CMS}/cfg?fieldManager=kubectl`, cmYaml({ key: 'v', keep: 'k' }, { app: 'demo' }), APPLY);
    expect(back.status).toBe(409);
    expect(((await back.json()) as Obj).message).toBe('Apply failed with 1 conflict: conflict with "other": .data.key');
  });

  it('conflicts with update managers name their API version; several conflicts are listed per manager', async () => {
    await ok(await send('POST', CMS, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg' }, data: { key: 'v', other: 'o' } }, 'application/json', 'kubectl-client-side-apply/v1.32.2'), 201);
    const res = await send('PATCH', `${CMS}/cfg?fieldManager=kubectl`, cmYaml({ key: 'new', other: 'new' }), APPLY);
    expect(res.status).toBe(409);
    const s = (await res.json()) as Obj;
    expect(s.message).toBe('Apply failed with 2 conflicts: conflicts with "kubectl-client-side-apply" using v1:\n- .data.key\n- .data.other');
    expect(s.details.causes).toEqual([
      { reason: 'FieldManagerConflict', message: 'conflict with "kubectl-client-side-apply" using v1', field: '.data.key' },
      { reason: 'FieldManagerConflict', message: 'conflict with "kubectl-client-side-apply" using v1', field: '.data.other' },
    ]);
  });

  it('an apply that changes nothing writes nothing; a dry run stores nothing', async () => {
    const first = await ok(await send('PATCH', `${CMS}/cfg?fieldManager=kubectl`, cmYaml({ a: '1' }), APPLY), 201);
    clock += 60_000;
    const again = await ok(await send('PATCH', `${CMS}/cfg?fieldManager=kubectl`, cmYaml({ a: '1' }), APPLY));
    expect(again.metadata.resourceVersion).toBe(first.metadata.resourceVersion);
    expect(again.metadata.managedFields).toEqual(first.metadata.managedFields);
    const dry = await ok(await send('PATCH', `${CMS}/cfg?fieldManager=kubectl&dryRun=All`, cmYaml({ b: '2' }), APPLY));
    expect(dry.data).toEqual({ b: '2' });
    expect(managed(dry)).toEqual([['kubectl', 'Apply', '2026-05-06T07:09:09Z', { 'f:data': { 'f:b': {} }, 'f:metadata': { 'f:labels': {} } }]]);
    expect((await get(`${CMS}/cfg`)).data).toEqual({ a: '1' });
    const dryCreate = await ok(await send('PATCH', `${CMS}/new?fieldManager=kubectl&dryRun=All`, cmYaml({ a: '1' }).replace('name: cfg', 'name: new'), APPLY), 201);
    expect(dryCreate.metadata.managedFields).toHaveLength(1);
    expect((await api.req(`${CMS}/new`)).status).toBe(404);
  });

  it('refuses an apply without fieldManager, force on other patches, a body of the wrong types, managedFields in the body, another kind', async () => {
    const noManager = await send('PATCH', `${CMS}/cfg`, cmYaml({ a: '1' }), APPLY);
    expect(noManager.status).toBe(422);
    expect(await noManager.json()).toMatchObject({
      reason: 'Invalid', message: 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
      details: { name: '', group: 'meta.k8s.io', kind: 'PatchOptions', causes: [{ reason: 'FieldValueRequired', message: 'Required value: is required for apply patch', field: 'fieldManager' }] },
    });
    await ok(await send('PATCH', `${CMS}/cfg?fieldManager=kubectl`, cmYaml({ a: '1' }), APPLY), 201);
    const force = await send('PATCH', `${CMS}/cfg?force=true`, { data: { a: '2' } }, 'application/merge-patch+json');
    expect(force.status).toBe(422);
    expect(((await force.json()) as Obj).message).toBe('PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch');
    const types = await send('PATCH', `${CMS}/cfg?fieldManager=kubectl`, 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg, labels: {a: [x]}}\ndata: {a: 1, b: {c: d}}\n', APPLY);
    expect(types.status).toBe(422);
    const t = (await types.json()) as Obj;
    expect(t.reason).toBe('Invalid');
    expect(t.details.causes.map((c: Obj) => c.field)).toEqual(['metadata.labels[a]', 'data[a]', 'data[b]']);
    const mf = await send('PATCH', `${CMS}/cfg?fieldManager=kubectl`, 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg, managedFields: []}\n', APPLY);
    expect(mf.status).toBe(400);
    expect(((await mf.json()) as Obj).message).toBe('metadata.managedFields must be nil');
    const kindless = await send('PATCH', `${CMS}/cfg?fieldManager=kubectl`, 'metadata: {name: cfg}\ndata: {a: "2"}\n', APPLY);
    expect(kindless.status).toBe(400);
    expect(((await kindless.json()) as Obj).message).toBe('invalid object type: /, Kind=');
    expect((await get(`${CMS}/cfg`)).data).toEqual({ a: '1' });
  });
});

describe('other kinds and odd bodies', () => {
  it('Namespaces and Secrets: the defaults the API server sets while decoding belong to the creator', async () => {
    const ns = await ok(await send('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team' } }, 'application/json', 'kubectl-create/v1.35.0'), 201);
    expect(managed(ns)).toEqual([['kubectl-create', 'Update', '2026-05-06T07:08:09Z', { 'f:metadata': { 'f:labels': { '.': {}, 'f:kubernetes.io/metadata.name': {} } } }]]);
    const secret = await ok(await send('POST', '/api/v1/namespaces/default/secrets', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, stringData: { p: 'x' } }, 'application/json', 'kubectl-create/v1.35.0'), 201);
    expect(managed(secret)).toEqual([['kubectl-create', 'Update', '2026-05-06T07:08:09Z', { 'f:stringData': { '.': {}, 'f:p': {} }, 'f:type': {} }]]);
    const applied = await ok(await send('PATCH', '/api/v1/namespaces/team?fieldManager=kubectl', 'apiVersion: v1\nkind: Namespace\nmetadata: {name: team, labels: {env: dev}}\n', APPLY));
    expect(applied.metadata.labels).toEqual({ env: 'dev', 'kubernetes.io/metadata.name': 'team' });
    expect(managed(applied)[0]).toEqual(['kubectl', 'Apply', '2026-05-06T07:08:09Z', { 'f:metadata': { 'f:labels': { 'f:env': {} } } }]);
  });

  it('odd apply bodies are answered 4xx, never 500', async () => {
    await ok(await send('POST', PODS, podManifest('p')), 201);
    const bodies = [
      '[]', 'just text', 'apiVersion: v1\nkind: Pod\nmetadata: null\n', 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [null]}\n',
      'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: a}, {name: a}]}\n', 'apiVersion: v1\nkind: Pod\nmetadata: {name: p, finalizers: [{a: 1}]}\n',
      'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: x}\n', 'apiVersion: v1\nkind: Pod\nmetadata: {name: p, labels: null}\nspec: null\nstatus: {phase: 7}\n',
      'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: main, ports: [{containerPort: 1}, {containerPort: 1}]}]}\n',
    ];
    for (const body of bodies) {
      for (const name of ['p', 'missing']) {
        const res = await send('PATCH', `${PODS}/${name}?fieldManager=kubectl`, body.replace('name: p', `name: ${name}`), APPLY);
        expect(res.status, `${name}: ${body}`).toBeGreaterThanOrEqual(200);
        expect(res.status, `${name}: ${body} -> ${await res.clone().text()}`).toBeLessThan(500);
        await res.text();
      }
    }
    const dup = await send('PATCH', `${PODS}/p?fieldManager=kubectl`, 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: main, ports: [{containerPort: 1}, {containerPort: 1}]}]}\n', APPLY);
    expect(dup.status).toBe(422);
    expect(((await dup.json()) as Obj).details.causes).toEqual([{ reason: 'FieldValueDuplicate', message: 'Duplicate value: {"containerPort":1,"protocol":"TCP"}', field: 'spec.containers[0].ports[1]' }]);
  });
});

describe('pods', () => {
  const podYaml = (labels: Record<string, string>): string => `apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: ${JSON.stringify(labels)}
spec:
  containers:
  - name: main
    image: busybox
    command: ["sleep", "3600"]
    ports: [{containerPort: 80}]
`;

  it('a created pod\'s managedFields: its manager owns what it wrote and the API server\'s decode-time defaults, not status or admission fields', async () => {
    const created = await ok(await send('POST', PODS, podManifest('p', { labels: { run: 'p' } }), 'application/json', 'kubectl-run/v1.35.0'), 201);
    expect(managed(created)).toEqual([['kubectl-run', 'Update', '2026-05-06T07:08:09Z', {
      'f:metadata': { 'f:labels': { '.': {}, 'f:run': {} } },
      'f:spec': {
        'f:containers': { 'k:{"name":"main"}': { '.': {}, 'f:command': {}, 'f:image': {}, 'f:imagePullPolicy': {}, 'f:name': {}, 'f:resources': {}, 'f:terminationMessagePath': {}, 'f:terminationMessagePolicy': {} } },
        'f:dnsPolicy': {}, 'f:enableServiceLinks': {}, 'f:restartPolicy': {}, 'f:schedulerName': {}, 'f:securityContext': {}, 'f:terminationGracePeriodSeconds': {},
      },
    }]]);
    expect((await get(`${PODS}/p`)).metadata.managedFields).toEqual(created.metadata.managedFields);
  });

  it('apply creates a pod (ports keyed by containerPort and protocol), a second apply changes and prunes its labels', async () => {
    const created = await ok(await send('PATCH', `${PODS}/web?fieldManager=kubectl&force=false`, podYaml({ app: 'web', tier: 'front' }), APPLY), 201);
    expect(managed(created)).toEqual([['kubectl', 'Apply', '2026-05-06T07:08:09Z', {
      'f:metadata': { 'f:labels': { 'f:app': {}, 'f:tier': {} } },
      'f:spec': { 'f:containers': { 'k:{"name":"main"}': { '.': {}, 'f:command': {}, 'f:image': {}, 'f:name': {}, 'f:ports': { 'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} } } } } },
    }]]);
    const again = await ok(await send('PATCH', `${PODS}/web?fieldManager=kubectl`, podYaml({ app: 'web', version: 'v2' }), APPLY));
    expect(again.metadata.labels).toEqual({ app: 'web', version: 'v2' });
    expect(api.fake.getPod('default', 'web')?.metadata.labels).toEqual({ app: 'web', version: 'v2' });
  });

  it('a pod apply that changes a label its creator owns is a conflict; one that changes the spec is refused as any pod update', async () => {
    await ok(await send('POST', PODS, podManifest('web', { labels: { app: 'web' } }), 'application/json', 'kubectl-create/v1.32.2'), 201);
    const conflict = await send('PATCH', `${PODS}/web?fieldManager=kubectl`, podYaml({ app: 'other' }), APPLY);
    expect(conflict.status).toBe(409);
    expect(((await conflict.json()) as Obj).message).toBe('Apply failed with 1 conflict: conflict with "kubectl-create" using v1: .metadata.labels.app');
    const spec = await send('PATCH', `${PODS}/web?fieldManager=kubectl&force=true`, podYaml({ app: 'web' }).replace('busybox', 'busybox:1.36').replace('["sleep", "3600"]', '["sleep", "1"]'), APPLY);
    expect(spec.status).toBe(422);
    expect(((await spec.json()) as Obj).message).toMatch(/^Pod "web" is invalid: spec: Forbidden: pod updates may not change fields other than/);
  });

  it('a pod update or apply stores its managedFields: the applier owns its labels, a later update its own', async () => {
    await ok(await send('PATCH', `${PODS}/web?fieldManager=kubectl`, podYaml({ app: 'web' }), APPLY), 201);
    const applied = await ok(await send('PATCH', `${PODS}/web?fieldManager=kubectl`, podYaml({ app: 'web', tier: 'front' }), APPLY));
    const stored = await get(`${PODS}/web`);
    expect(stored.metadata.managedFields).toEqual(applied.metadata.managedFields);
    const entries = managed(stored) as [string, string, string, Obj][];
    expect(entries.find((m) => m[0] === 'kubectl')?.[3]['f:metadata']).toEqual({ 'f:labels': { 'f:app': {}, 'f:tier': {} } });
    const labelled = await ok(await send('PATCH', `${PODS}/web`, JSON.stringify({ metadata: { labels: { extra: 'x' } } }), 'application/merge-patch+json', 'kubectl-label/v1.35.0'));
    expect(labelled.metadata.labels).toEqual({ app: 'web', tier: 'front', extra: 'x' });
    const m = managed(await get(`${PODS}/web`)) as [string, string, string, Obj][];
    expect(m.map((e) => `${e[0]} ${e[1]}`)).toEqual(['kubectl Apply', 'kubectl-label Update']);
    expect(m[1]?.[3]).toEqual({ 'f:metadata': { 'f:labels': { 'f:extra': {} } } });
  });
});
