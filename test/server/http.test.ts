/**
 * In-process request tests of the API server: the handler on a real `node:http` server with
 * the fake agent behind it, driven with `fetch` (and raw `node:http` requests where a path must
 * reach the server unnormalized).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { createConnection, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApiServer } from '../../src/server/http.js';
import { LineReader, podManifest, startApi, until, type TestApi } from './helpers.js';

const TABLE = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';
const PODS = '/api/v1/namespaces/default/pods';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

async function json(res: Response): Promise<Obj> {
  return (await res.json()) as Obj;
}

function post(api: TestApi, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return api.req(path, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } });
}

function patch(api: TestApi, path: string, type: string, body: unknown): Promise<Response> {
  return api.req(path, { method: 'PATCH', body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': type } });
}

async function create(api: TestApi, name: string, extra: Parameters<typeof podManifest>[1] = {}): Promise<Obj> {
  const ns = extra.namespace ?? 'default';
  await ensureNamespace(api, ns);
  const res = await post(api, `/api/v1/namespaces/${ns}/pods`, podManifest(name, extra));
  expect(res.status).toBe(201);
  return json(res);
}

/** Creates a namespace unless it exists (201 or 409). */
async function ensureNamespace(api: TestApi, ns: string): Promise<void> {
  const res = await post(api, '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  expect([201, 409]).toContain(res.status);
}

/** A request whose path goes to the server byte for byte (fetch would normalize `..`). */
function raw(url: string, path: string, opts: { method?: string; socketPath?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const r = request({ host: u.hostname, port: u.port, path, method: opts.method ?? 'GET', socketPath: opts.socketPath, headers: opts.headers }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    r.on('error', reject);
    r.end();
  });
}

let api: TestApi;

describe('discovery, health, auth', () => {
  beforeEach(async () => {
    api = await startApi({ token: 'secret' });
  });
  afterEach(async () => {
    await api.close();
  });

  it('serves /api, /apis and /api/v1 as kubectl expects', async () => {
    const res = await api.req('/api', { headers: { accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.get('cache-control')).toBe('no-cache, private');
    expect(await json(res)).toEqual({ kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1' }] });
    expect(await json(await api.req('/apis'))).toMatchObject({ kind: 'APIGroupList' });
    const v1 = await json(await api.req('/api/v1'));
    expect(v1.kind).toBe('APIResourceList');
    expect(v1.groupVersion).toBe('v1');
    const byName = new Map<string, Obj>((v1.resources as Obj[]).map((r) => [r.name as string, r]));
    expect(byName.get('pods')).toMatchObject({ namespaced: true, kind: 'Pod', shortNames: ['po'], verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] });
    for (const n of ['pods/log', 'pods/status', 'pods/restart', 'pods/recreate']) expect(byName.get(n)?.kind).toBe('Pod');
    expect(byName.get('events')).toMatchObject({ namespaced: true, kind: 'Event', verbs: ['get', 'list', 'watch'] });
    expect(byName.get('namespaces')).toMatchObject({ namespaced: false, kind: 'Namespace', shortNames: ['ns'], verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] });
    expect(byName.get('configmaps')).toMatchObject({ namespaced: true, kind: 'ConfigMap', shortNames: ['cm'] });
    expect(byName.get('secrets')).toMatchObject({ namespaced: true, kind: 'Secret' });
  });

  it('serves /version and the OpenAPI documents (v3 per group-version, v2 as JSON or 406 for protobuf only)', async () => {
    const v = await json(await api.req('/version?timeout=5s'));
    expect(v).toMatchObject({ major: '1', minor: '36', gitVersion: 'v1.36.0-podvisor' });
    expect(v.platform).toMatch(/^linux\//);
    const root = await json(await api.req('/openapi/v3'));
    const url = root.paths['api/v1'].serverRelativeURL as string;
    expect(url).toMatch(/^\/openapi\/v3\/api\/v1\?hash=[0-9A-F]+$/);
    const doc = await json(await api.req(url));
    const op = doc.paths['/api/v1/namespaces/{namespace}/pods/{name}'].patch as Obj;
    expect(op['x-kubernetes-group-version-kind']).toEqual({ group: '', version: 'v1', kind: 'Pod' });
    expect((op.parameters as Obj[]).map((p) => p.name)).toContain('fieldValidation');
    const cached = await api.req(url);
    expect(cached.headers.get('cache-control')).toBe('public, immutable');
    expect(cached.headers.get('etag')).toMatch(/^"[0-9A-F]+"$/);
    const stale = await api.req('/openapi/v3/api/v1?hash=0', { redirect: 'manual' });
    expect(stale.status).toBe(301);
    expect(stale.headers.get('location')).toBe(url);
    expect((await json(await api.req('/openapi/v2'))).definitions['io.k8s.api.core.v1.Pod']).toBeDefined();
    const proto = await api.req('/openapi/v2', { headers: { accept: 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf' } });
    expect(proto.status).toBe(406);
    expect((await api.req('/openapi/v3/apis/nope.io/v1')).status).toBe(404);
  });

  it('serves the authentication and authorization groups: whoami and can-i for the token\'s user', async () => {
    const groups = await json(await api.req('/apis'));
    expect(groups.groups.map((g: Obj) => g.name)).toEqual(['authentication.k8s.io', 'authorization.k8s.io', 'metrics.k8s.io']);
    expect((await json(await api.req('/apis/authorization.k8s.io/v1'))).resources.map((r: Obj) => r.name)).toEqual(['selfsubjectaccessreviews', 'selfsubjectrulesreviews']);
    const who = await post(api, '/apis/authentication.k8s.io/v1/selfsubjectreviews', { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' });
    expect(who.status).toBe(201);
    expect((await json(who)).status.userInfo).toEqual({ username: 'podvisor-admin', groups: ['system:masters', 'system:authenticated'] });
    const spec = { resourceAttributes: { namespace: 'default', verb: 'get', resource: 'pods' } };
    const can = await post(api, '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec });
    expect(can.status).toBe(201);
    expect(await json(can)).toMatchObject({ kind: 'SelfSubjectAccessReview', spec, status: { allowed: true } });
    const none = await post(api, '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: {} });
    expect(none.status).toBe(422);
    const rules = await json(await post(api, '/apis/authorization.k8s.io/v1/selfsubjectrulesreviews', { kind: 'SelfSubjectRulesReview', spec: { namespace: 'default' } }));
    expect(rules.status.resourceRules).toEqual([{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }]);
    expect((await api.req('/apis/authentication.k8s.io/v1/selfsubjectreviews')).status).toBe(405);
  });

  it('answers /livez, /readyz, /healthz and /version without a token (as the API server), everything else needs it', async () => {
    for (const p of ['/livez', '/readyz', '/healthz']) {
      const res = await fetch(api.url + p);
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('ok');
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(res.headers.get('cache-control')).toBe('no-cache, private');
    }
    for (const auth of [undefined, 'Bearer wrong', 'Basic c2VjcmV0', 'Bearer secretsecret']) {
      const res = await fetch(`${api.url}/api/v1/namespaces/default/pods`, { headers: auth ? { authorization: auth } : {} });
      expect(res.status).toBe(401);
      expect(await json(res)).toEqual({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });
    }
    expect((await fetch(`${api.url}/version`)).status).toBe(200);
    expect((await fetch(`${api.url}/api`)).status).toBe(401);
    expect((await fetch(`${api.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${api.url}/api`, { headers: { authorization: 'Bearer secret' } })).status).toBe(200);
  });

  it('logs one structured line per request', async () => {
    await api.req('/api');
    await api.req('/nope');
    await until(() => api.logs.length >= 2);
    const [a, b] = api.logs;
    expect(a).toMatchObject({ level: 'info', msg: 'http request', fields: { method: 'GET', path: '/api', status: 200 } });
    expect(typeof a?.fields['durationMs']).toBe('number');
    expect(b?.fields).toMatchObject({ method: 'GET', path: '/nope', status: 404 });
  });
});

describe('pods', () => {
  beforeEach(async () => {
    api = await startApi();
  });
  afterEach(async () => {
    await api.close();
  });

  it('create → get → list (JSON)', async () => {
    const created = await create(api, 'web', { labels: { app: 'web' } });
    expect(created.metadata).toMatchObject({ name: 'web', namespace: 'default' });
    expect(created.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    const got = await api.req(`${PODS}/web`);
    expect(got.status).toBe(200);
    expect((await json(got)).metadata.uid).toBe(created.metadata.uid);
    const status = await json(await api.req(`${PODS}/web/status`));
    expect(status.metadata.uid).toBe(created.metadata.uid);
    const list = await json(await api.req(PODS));
    expect(list.kind).toBe('PodList');
    expect(list.apiVersion).toBe('v1');
    expect(list.metadata.resourceVersion).toBe(api.fake.resourceVersion());
    expect(list.metadata.continue ?? '').toBe('');
    expect(list.items.map((p: Obj) => p.metadata.name)).toEqual(['web']);
    await create(api, 'other', { namespace: 'team' });
    const all = await json(await api.req('/api/v1/pods?limit=500'));
    expect(all.items.map((p: Obj) => `${p.metadata.namespace}/${p.metadata.name}`)).toEqual(['default/web', 'team/other']);
    expect((await json(await api.req('/api/v1/namespaces/team/pods'))).items).toHaveLength(1);
  });

  it('lists and gets as Tables with the kubectl pod columns', async () => {
    await create(api, 'web');
    api.fake.restartPod('default', 'web', { container: 'main' });
    const t = await json(await api.req(`${PODS}?limit=500`, { headers: { accept: TABLE } }));
    expect(t.kind).toBe('Table');
    expect(t.apiVersion).toBe('meta.k8s.io/v1');
    expect(t.columnDefinitions.map((c: Obj) => [c.name, c.priority])).toEqual([
      ['Name', 0], ['Ready', 0], ['Status', 0], ['Restarts', 0], ['Age', 0], ['IP', 1], ['Node', 1], ['Nominated Node', 1], ['Readiness Gates', 1],
    ]);
    expect(t.rows).toHaveLength(1);
    const [name, ready, status, restarts, age, ip, node, nominated, gates] = t.rows[0].cells as string[];
    expect([name, ready, status, nominated, gates]).toEqual(['web', '1/1', 'Running', '<none>', '<none>']);
    expect(restarts).toMatch(/^1 \(\d+s ago\)$/);
    expect(age).toMatch(/^\d+s$/);
    expect(ip).toMatch(/^10\.244\.0\.\d+$/);
    expect(node).toBe('podvisor');
    expect(t.rows[0].object).toEqual({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: api.fake.getPod('default', 'web')?.metadata });
    const full = await json(await api.req(`${PODS}?includeObject=Object`, { headers: { accept: TABLE } }));
    expect(full.rows[0].object.kind).toBe('Pod');
    expect(full.rows[0].object.spec.containers[0].name).toBe('main');
    const one = await json(await api.req(`${PODS}/web`, { headers: { accept: TABLE } }));
    expect(one.kind).toBe('Table');
    expect(one.rows.map((r: Obj) => r.cells[0])).toEqual(['web']);
    const beta = await json(await api.req(PODS, { headers: { accept: 'application/json;as=Table;v=v1beta1;g=meta.k8s.io' } }));
    expect(beta.apiVersion).toBe('meta.k8s.io/v1beta1');
  });

  it('shows Terminating while a pod is being deleted', async () => {
    await create(api, 'web');
    api.fake.deleteDelayMs = 10_000;
    api.fake.deletePod('default', 'web', 30);
    const t = await json(await api.req(PODS, { headers: { accept: TABLE } }));
    expect(t.rows[0].cells[2]).toBe('Terminating');
  });

  it('supports dryRun=All, API warnings and fieldValidation', async () => {
    const dry = await post(api, `${PODS}?dryRun=All`, podManifest('dry'));
    expect(dry.status).toBe(201);
    expect(api.fake.getPod('default', 'dry')).toBeUndefined();
    const m = podManifest('warned') as Obj;
    m.metadata.annotations = { 'podvisor.io/unknown': 'x' };
    m.spec.bogus = true;
    const warned = await post(api, PODS, m);
    expect(warned.status).toBe(201);
    expect(warned.headers.get('warning')).toBe('299 - "unknown field \\"spec.bogus\\"", 299 - "metadata.annotations[podvisor.io/unknown]: unknown podvisor.io annotation, ignored"');
    m.metadata.name = 'strict';
    const strict = await post(api, `${PODS}?fieldValidation=Strict&fieldManager=kubectl-client-side-apply`, m);
    expect(strict.status).toBe(400);
    expect((await json(strict)).message).toBe('Pod in version "v1" cannot be handled as a Pod: strict decoding error: unknown field "spec.bogus"');
    m.metadata.name = 'ignored';
    const ignored = await post(api, `${PODS}?fieldValidation=Ignore`, m);
    expect(ignored.status).toBe(201);
    expect(ignored.headers.get('warning')).toBe('299 - "metadata.annotations[podvisor.io/unknown]: unknown podvisor.io annotation, ignored"');
  });

  it('answers AlreadyExists, Invalid, BadRequest and NotFound as the API server does', async () => {
    await create(api, 'web');
    const again = await post(api, PODS, podManifest('web'));
    expect(again.status).toBe(409);
    expect(await json(again)).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'AlreadyExists', message: 'pods "web" already exists', code: 409, details: { name: 'web', kind: 'pods' } });
    const bad = podManifest('bad') as Obj;
    bad.spec.restartPolicy = 'Sometimes';
    delete bad.spec.containers[0].image;
    const invalid = await post(api, PODS, bad);
    expect(invalid.status).toBe(422);
    const s = await json(invalid);
    expect(s).toMatchObject({ kind: 'Status', reason: 'Invalid', code: 422, details: { name: 'bad', kind: 'Pod' } });
    expect(s.message).toBe('Pod "bad" is invalid: [spec.containers[0].image: Required value, spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"]');
    expect(s.details.causes).toEqual([
      { reason: 'FieldValueRequired', message: 'Required value', field: 'spec.containers[0].image' },
      { reason: 'FieldValueNotSupported', message: 'Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"', field: 'spec.restartPolicy' },
    ]);
    const mismatch = await post(api, PODS, podManifest('x', { namespace: 'other' }));
    expect(mismatch.status).toBe(400);
    expect((await json(mismatch)).message).toBe('the namespace of the provided object does not match the namespace sent on the request');
    const malformed = await post(api, PODS, '{"apiVersion": "v1", ');
    expect(malformed.status).toBe(400);
    expect(await json(malformed)).toMatchObject({ kind: 'Status', reason: 'BadRequest', code: 400 });
    const wrongKind = await post(api, PODS, { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' } });
    expect(wrongKind.status).toBe(400);
    const missing = await api.req(`${PODS}/nope`);
    expect(missing.status).toBe(404);
    expect(await json(missing)).toEqual({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'pods "nope" not found', reason: 'NotFound', details: { name: 'nope', kind: 'pods' }, code: 404 });
  });

  it('refuses oversized bodies (413), unknown patch types (415), wrong methods (405) and unknown paths (404)', async () => {
    const big = JSON.stringify({ ...podManifest('big'), pad: 'x'.repeat(3 * 1024 * 1024) });
    const tooBig = await post(api, PODS, big);
    expect(tooBig.status).toBe(413);
    expect(await json(tooBig)).toMatchObject({ kind: 'Status', reason: 'RequestEntityTooLarge', code: 413, message: 'Request entity too large: limit is 3145728' });
    expect(api.fake.calls.filter((c) => c[0] === 'createPod')).toHaveLength(0);
    await create(api, 'web');
    const weird = await patch(api, `${PODS}/web`, 'text/plain', 'labels please');
    expect(weird.status).toBe(415);
    expect(await json(weird)).toMatchObject({ reason: 'UnsupportedMediaType', code: 415 });
    const put = await api.req(PODS, { method: 'PUT', body: '{}', headers: { 'content-type': 'application/json' } });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET, POST');
    expect(await json(put)).toMatchObject({ kind: 'Status', reason: 'MethodNotAllowed', code: 405 });
    expect((await api.req(`${PODS}/web/log`, { method: 'POST' })).status).toBe(405);
    expect((await api.req(`${PODS}/web/restart`)).status).toBe(405);
    // A streaming subresource without an upgrade is a bad request, as on the API server.
    const plainExec = await api.req(`${PODS}/web/exec?command=true&stdout=true`);
    expect(plainExec.status).toBe(400);
    expect(await json(plainExec)).toMatchObject({ kind: 'Status', message: 'Upgrade request required', code: 400 });
    for (const p of ['/apis/apps/v1', '/api/v2', '/api/v1/deployments', '/api/v1/namespaces/default/deployments', `${PODS}/web/shell`, '/metrics2']) {
      const res = await api.req(p);
      expect(res.status, p).toBe(404);
      expect(res.headers.get('content-type')).toBe('application/json');
      expect(await json(res)).toMatchObject({ kind: 'Status', code: 404 });
    }
  });

  it('rejects path traversal and invalid names before reaching the backend', async () => {
    await create(api, 'web');
    const calls = api.fake.calls.length;
    for (const p of [`${PODS}/..`, `${PODS}/%2e%2e`, `${PODS}/..%2F..%2Fetc%2Fpasswd`, '/api/v1/namespaces/..%2fkube-system/pods', `${PODS}/web/..%2Flog`, `${PODS}/%ZZ`]) {
      const r = await raw(api.url, p);
      expect(r.status, p).toBe(400);
      expect(JSON.parse(r.body)).toMatchObject({ kind: 'Status', reason: 'BadRequest' });
    }
    for (const [p, msg] of [[`${PODS}/Bad_Name`, 'pods "Bad_Name" not found'], [`${PODS}/-x/log`, 'pods "-x" not found'], ['/api/v1/namespaces/Not.A.Label/pods', 'namespaces "Not.A.Label" not found']] as const) {
      const r = await raw(api.url, p, { method: p.endsWith('pods') ? 'GET' : 'DELETE' });
      expect(r.status, p).toBe(404);
      expect(JSON.parse(r.body).message).toBe(msg);
    }
    expect(api.fake.calls.length).toBe(calls);
  });

  it('filters lists with label selectors', async () => {
    await create(api, 'a', { labels: { app: 'web', tier: 'front' } });
    await create(api, 'b', { labels: { app: 'db' } });
    await create(api, 'c');
    await create(api, 'd', { labels: { app: 'web' }, namespace: 'other' });
    const names = async (path: string, selector: string): Promise<string[]> => {
      const res = await api.req(`${path}?labelSelector=${encodeURIComponent(selector)}`);
      expect(res.status, selector).toBe(200);
      return (await json(res)).items.map((p: Obj) => p.metadata.name as string);
    };
    expect(await names(PODS, 'app=web')).toEqual(['a']);
    expect(await names(PODS, 'app==web')).toEqual(['a']);
    expect(await names(PODS, 'app!=web')).toEqual(['b', 'c']);
    expect(await names(PODS, 'app in (web, db)')).toEqual(['a', 'b']);
    expect(await names(PODS, 'app notin (web)')).toEqual(['b', 'c']);
    expect(await names(PODS, 'tier')).toEqual(['a']);
    expect(await names(PODS, '!tier')).toEqual(['b', 'c']);
    expect(await names(PODS, 'app=web,tier=front')).toEqual(['a']);
    expect(await names(PODS, 'app=web,tier!=front')).toEqual([]);
    expect(await names('/api/v1/pods', 'app=web')).toEqual(['a', 'd']);
    expect(await names(PODS, '')).toEqual(['a', 'b', 'c']);
    const bad = await api.req(`${PODS}?labelSelector=${encodeURIComponent('app in web')}`);
    expect(bad.status).toBe(400);
    expect((await json(bad)).message).toMatch(/^unable to parse requirement/);
  });

  it('filters lists with field selectors', async () => {
    await create(api, 'a');
    await create(api, 'b');
    await create(api, 'c', { namespace: 'other' });
    const names = async (path: string, selector: string): Promise<string[]> =>
      (await json(await api.req(`${path}?fieldSelector=${encodeURIComponent(selector)}`))).items.map((p: Obj) => p.metadata.name as string);
    expect(await names(PODS, 'metadata.name=a')).toEqual(['a']);
    expect(await names(PODS, 'metadata.name==b')).toEqual(['b']);
    expect(await names(PODS, 'metadata.name!=a')).toEqual(['b']);
    expect(await names('/api/v1/pods', 'metadata.namespace=other')).toEqual(['c']);
    expect(await names('/api/v1/pods', 'status.phase=Running,metadata.namespace!=other')).toEqual(['a', 'b']);
    expect(await names(PODS, 'status.phase!=Running')).toEqual([]);
    expect(await names(PODS, 'spec.nodeName=podvisor')).toEqual(['a', 'b']);
    const bad = await api.req(`${PODS}?fieldSelector=spec.foo%3Dx`);
    expect(bad.status).toBe(400);
    expect((await json(bad)).message).toBe('field label not supported: spec.foo');
  });

  it('PUT replaces labels; a name mismatch is 400', async () => {
    await create(api, 'web');
    const cur = await json(await api.req(`${PODS}/web`));
    cur.metadata.labels = { put: 'yes' };
    const res = await api.req(`${PODS}/web`, { method: 'PUT', body: JSON.stringify(cur), headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(200);
    expect((await json(res)).metadata.labels).toEqual({ put: 'yes' });
    cur.metadata.name = 'other';
    const mism = await api.req(`${PODS}/web`, { method: 'PUT', body: JSON.stringify(cur), headers: { 'content-type': 'application/json' } });
    expect(mism.status).toBe(400);
    expect((await json(mism)).message).toBe('the name of the object (other) does not match the name on the URL (web)');
  });

  it('PATCH: merge, strategic merge and JSON patch of labels; the backend gets the full object', async () => {
    await create(api, 'web', { labels: { app: 'web', old: 'x' } });
    const merge = await patch(api, `${PODS}/web`, 'application/merge-patch+json', { metadata: { labels: { tier: 'front', old: null } } });
    expect(merge.status).toBe(200);
    expect((await json(merge)).metadata.labels).toEqual({ app: 'web', tier: 'front' });
    const last = api.fake.calls.filter((c) => c[0] === 'updatePod').at(-1) as [string, string, string, Obj];
    expect(last[3].spec.containers[0].command).toEqual(['sleep', '3600']);
    expect(last[3].metadata.uid).toBe(api.fake.getPod('default', 'web')?.metadata.uid);
    const smp = await patch(api, `${PODS}/web`, 'application/strategic-merge-patch+json', { metadata: { labels: { smp: '1', tier: null } } });
    expect(smp.status).toBe(200);
    expect((await json(smp)).metadata.labels).toEqual({ app: 'web', smp: '1' });
    const jp = await patch(api, `${PODS}/web`, 'application/json-patch+json', [
      { op: 'test', path: '/metadata/labels/app', value: 'web' },
      { op: 'add', path: '/metadata/labels/x~1y', value: 'z' },
      { op: 'replace', path: '/metadata/labels/smp', value: '2' },
      { op: 'remove', path: '/metadata/labels/app' },
    ]);
    expect(jp.status).toBe(200);
    expect((await json(jp)).metadata.labels).toEqual({ smp: '2', 'x/y': 'z' });
    const failedTest = await patch(api, `${PODS}/web`, 'application/json-patch+json', [{ op: 'test', path: '/metadata/labels/smp', value: 'nope' }]);
    expect(failedTest.status).toBe(422);
    const malformed = await patch(api, `${PODS}/web`, 'application/json-patch+json', { op: 'add' });
    expect(malformed.status).toBe(400);
    const missing = await patch(api, `${PODS}/nope`, 'application/merge-patch+json', { metadata: { labels: { a: 'b' } } });
    expect(missing.status).toBe(404);
  });

  it('PATCH: images and activeDeadlineSeconds may change as on the API server; any other spec change is 422; SMP merges containers by name', async () => {
    await create(api, 'web');
    const image = await patch(api, `${PODS}/web`, 'application/strategic-merge-patch+json', { spec: { containers: [{ name: 'main', image: 'busybox:1.37' }] } });
    expect(image.status).toBe(200);
    expect((await json(image)).spec.containers[0].image).toBe('busybox:1.37');
    expect(api.fake.getPod('default', 'web')?.spec.containers[0]?.image).toBe('busybox:1.37');
    expect((await patch(api, `${PODS}/web`, 'application/merge-patch+json', { spec: { activeDeadlineSeconds: 50 } })).status).toBe(200);
    expect((await patch(api, `${PODS}/web`, 'application/merge-patch+json', { spec: { activeDeadlineSeconds: 40 } })).status).toBe(200);
    const raised = await patch(api, `${PODS}/web`, 'application/merge-patch+json', { spec: { activeDeadlineSeconds: 60 } });
    expect((await json(raised)).message).toBe('Pod "web" is invalid: spec.activeDeadlineSeconds: Invalid value: 60: must be less than or equal to previous value');
    const unset = await patch(api, `${PODS}/web`, 'application/merge-patch+json', { spec: { activeDeadlineSeconds: null } });
    expect((await json(unset)).message).toBe('Pod "web" is invalid: spec.activeDeadlineSeconds: Invalid value: "null": must not update from a positive integer to nil value');
    const emptied = await patch(api, `${PODS}/web`, 'application/strategic-merge-patch+json', { spec: { containers: [{ name: 'main', image: '' }] } });
    expect((await json(emptied)).message).toContain('spec.containers[0].image: Required value');
    const res = await patch(api, `${PODS}/web`, 'application/merge-patch+json', { spec: { terminationGracePeriodSeconds: 5 } });
    expect(res.status).toBe(422);
    const s = await json(res);
    expect(s.reason).toBe('Invalid');
    expect(s.message).toMatch(/^Pod "web" is invalid: spec: Forbidden: pod updates may not change fields other than /);
    expect(s.details).toMatchObject({ name: 'web', kind: 'Pod', causes: [{ reason: 'FieldValueForbidden', field: 'spec' }] });
    // kubectl apply sends the container list of the manifest: merged by name, the defaulted fields stay.
    const smp = await patch(api, `${PODS}/web`, 'application/strategic-merge-patch+json', {
      metadata: { labels: { a: 'b' } },
      spec: { $setElementOrder: undefined, '$setElementOrder/containers': [{ name: 'main' }], containers: [{ name: 'main', image: 'busybox' }] },
    });
    expect(smp.status).toBe(200);
    expect((await json(smp)).metadata.labels).toEqual({ a: 'b' });
    const stale = await patch(api, `${PODS}/web`, 'application/merge-patch+json', { metadata: { resourceVersion: '1', labels: { c: 'd' } } });
    expect(stale.status).toBe(409);
    expect((await json(stale)).reason).toBe('Conflict');
  });

  it('PATCH: server-side apply creates a missing pod and merges into an existing one; dry-run changes nothing', async () => {
    const yaml = 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: ssa\n  labels: {app: ssa}\nspec:\n  containers:\n  - name: main\n    image: busybox\n';
    const created = await patch(api, `${PODS}/ssa?fieldManager=kubectl&fieldValidation=Strict&force=false`, 'application/apply-patch+yaml', yaml);
    expect(created.status).toBe(201);
    const again = await patch(api, `${PODS}/ssa?fieldManager=kubectl&force=false`, 'application/apply-patch+yaml', yaml.replace('{app: ssa}', '{app: ssa, v: "2"}'));
    expect(again.status).toBe(200);
    expect((await json(again)).metadata.labels).toEqual({ app: 'ssa', v: '2' });
    const broken = await patch(api, `${PODS}/ssa`, 'application/apply-patch+yaml', 'metadata: [unclosed');
    expect(broken.status).toBe(400);
    const dry = await patch(api, `${PODS}/ssa?dryRun=All`, 'application/merge-patch+json', { metadata: { labels: { dry: 'run' } } });
    expect(dry.status).toBe(200);
    expect((await json(dry)).metadata.labels).toEqual({ app: 'ssa', v: '2', dry: 'run' });
    expect(api.fake.getPod('default', 'ssa')?.metadata.labels).toEqual({ app: 'ssa', v: '2' });
  });

  it('DELETE returns the pod with deletionTimestamp; grace from the body wins over the query', async () => {
    await create(api, 'web');
    api.fake.deleteDelayMs = 100;
    const res = await api.req(`${PODS}/web?gracePeriodSeconds=7`, { method: 'DELETE', body: JSON.stringify({ kind: 'DeleteOptions', apiVersion: 'v1', gracePeriodSeconds: 3, propagationPolicy: 'Background' }), headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(200);
    const pod = await json(res);
    expect(pod.metadata.deletionTimestamp).toBeDefined();
    expect(api.fake.calls.find((c) => c[0] === 'deletePod')).toEqual(['deletePod', 'default', 'web', 3]);
    await until(() => api.fake.getPod('default', 'web') === undefined);
    expect((await api.req(`${PODS}/web`)).status).toBe(404);
    expect((await api.req(`${PODS}/web`, { method: 'DELETE' })).status).toBe(404);
    await create(api, 'q');
    expect((await api.req(`${PODS}/q?gracePeriodSeconds=0`, { method: 'DELETE' })).status).toBe(200);
    expect(api.fake.calls.filter((c) => c[0] === 'deletePod').at(-1)).toEqual(['deletePod', 'default', 'q', 0]);
    await create(api, 'pre');
    const pre = await api.req(`${PODS}/pre`, { method: 'DELETE', body: JSON.stringify({ preconditions: { uid: 'not-the-uid' } }), headers: { 'content-type': 'application/json' } });
    expect(pre.status).toBe(409);
    expect(api.fake.getPod('default', 'pre')?.metadata.deletionTimestamp).toBeUndefined();
    const dry = await api.req(`${PODS}/pre?dryRun=All`, { method: 'DELETE' });
    expect(dry.status).toBe(200);
    expect(api.fake.getPod('default', 'pre')?.metadata.deletionTimestamp).toBeUndefined();
  });

  it('podvisor verbs: restart and recreate reach the agent; its refusals are 409 Conflict', async () => {
    await create(api, 'web', { containers: ['a', 'b'] });
    const one = await post(api, `${PODS}/web/restart`, { container: 'a' });
    expect(one.status).toBe(200);
    const pod = await json(one);
    expect(pod.status.containerStatuses.map((c: Obj) => c.restartCount)).toEqual([1, 0]);
    expect(api.fake.calls.find((c) => c[0] === 'restartPod')?.[3]).toMatchObject({ container: 'a' });
    const all = await api.req(`${PODS}/web/restart`, { method: 'POST', headers: { 'user-agent': 'tester/1' } });
    expect(all.status).toBe(200);
    expect(api.fake.calls.filter((c) => c[0] === 'restartPod').at(-1)?.[3]).toEqual({ requestedBy: 'api (tester/1)' });
    const byQuery = await api.req(`${PODS}/web/restart?container=b`, { method: 'POST' });
    expect(byQuery.status).toBe(200);
    expect(api.fake.calls.filter((c) => c[0] === 'restartPod').at(-1)?.[3]).toMatchObject({ container: 'b' });
    const uid = pod.metadata.uid as string;
    const re = await post(api, `${PODS}/web/recreate`, { requestedBy: 'ops' });
    expect(re.status).toBe(200);
    expect((await json(re)).metadata.uid).not.toBe(uid);
    expect(api.fake.calls.filter((c) => c[0] === 'recreatePod').at(-1)?.[3]).toEqual({ requestedBy: 'ops' });
    expect((await post(api, `${PODS}/nope/restart`, {})).status).toBe(404);
    api.fake.refusal = 'pod web cannot be restarted: being deleted';
    const refused = await post(api, `${PODS}/web/restart`, {});
    expect(refused.status).toBe(409);
    expect(await json(refused)).toMatchObject({ kind: 'Status', reason: 'Conflict', code: 409, message: 'pod web cannot be restarted: being deleted', details: { name: 'web', kind: 'pods' } });
    const refusedR = await post(api, `${PODS}/web/recreate`, {});
    expect(refusedR.status).toBe(409);
    expect((await post(api, `${PODS}/web/restart`, { container: 3 })).status).toBe(400);
    // A container the pod does not have is a bad request (as for logs and exec), before any refusal.
    const unknown = await post(api, `${PODS}/web/restart`, { container: 'nope' });
    expect(unknown.status).toBe(400);
    expect(await json(unknown)).toMatchObject({ kind: 'Status', reason: 'BadRequest', code: 400, message: 'container nope is not valid for pod web' });
    expect((await api.req(`${PODS}/web/restart?container=nope`, { method: 'POST' })).status).toBe(400);
    expect((await post(api, `${PODS}/web/restart`, '[1]')).status).toBe(400);
  });

  it('namespaces are objects: the system ones exist, others are created', async () => {
    await create(api, 'x', { namespace: 'team' });
    const list = await json(await api.req('/api/v1/namespaces'));
    expect(list.kind).toBe('NamespaceList');
    expect(list.items.map((n: Obj) => n.metadata.name)).toEqual(['default', 'kube-node-lease', 'kube-public', 'kube-system', 'team']);
    expect(list.items[4]).toMatchObject({ kind: 'Namespace', metadata: { labels: { 'kubernetes.io/metadata.name': 'team' } }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } });
    expect((await json(await api.req('/api/v1/namespaces/default'))).metadata.name).toBe('default');
    const none = await api.req('/api/v1/namespaces/nope');
    expect(none.status).toBe(404);
    expect((await json(none)).message).toBe('namespaces "nope" not found');
    const t = await json(await api.req('/api/v1/namespaces', { headers: { accept: TABLE } }));
    expect(t.columnDefinitions.map((c: Obj) => c.name)).toEqual(['Name', 'Status', 'Age']);
    expect(t.rows.map((r: Obj) => r.cells.slice(0, 2))).toEqual([['default', 'Active'], ['kube-node-lease', 'Active'], ['kube-public', 'Active'], ['kube-system', 'Active'], ['team', 'Active']]);
  });
});

describe('watch', () => {
  beforeEach(async () => {
    api = await startApi({ bookmarkIntervalSeconds: 0.1 });
  });
  afterEach(async () => {
    await api.close();
  });

  it('streams ADDED, MODIFIED and DELETED from a resourceVersion and ends at timeoutSeconds', async () => {
    await create(api, 'before');
    const rv = (await json(await api.req(PODS))).metadata.resourceVersion as string;
    const res = await api.req(`${PODS}?watch=1&resourceVersion=${rv}&timeoutSeconds=2`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.get('transfer-encoding')).toBe('chunked');
    const lines = new LineReader(res);
    await create(api, 'web');
    const added = await lines.json();
    expect(added.type).toBe('ADDED');
    expect((added.object as Obj).metadata.name).toBe('web');
    await patch(api, `${PODS}/web`, 'application/merge-patch+json', { metadata: { labels: { a: 'b' } } });
    const modified = await lines.json();
    expect(modified.type).toBe('MODIFIED');
    expect((modified.object as Obj).metadata.labels).toEqual({ a: 'b' });
    api.fake.deleteDelayMs = 20;
    await api.req(`${PODS}/web`, { method: 'DELETE' });
    expect((await lines.json()).type).toBe('MODIFIED');
    const deleted = await lines.json();
    expect(deleted.type).toBe('DELETED');
    expect((deleted.object as Obj).metadata.name).toBe('web');
    const t0 = Date.now();
    expect(await lines.next(4000)).toBeUndefined();
    expect(Date.now() - t0).toBeLessThan(2500);
    await until(() => api.api.registry.watcherCount === 0);
  });

  it('without resourceVersion starts with ADDED for existing pods; honours selectors; stops when the client leaves', async () => {
    await create(api, 'a', { labels: { app: 'web' } });
    await create(api, 'b', { labels: { app: 'db' } });
    const res = await api.req(`${PODS}?watch=true&labelSelector=app%3Dweb`);
    const lines = new LineReader(res);
    const first = await lines.json();
    expect([first.type, (first.object as Obj).metadata.name]).toEqual(['ADDED', 'a']);
    await patch(api, `${PODS}/b`, 'application/merge-patch+json', { metadata: { labels: { app: 'web' } } });
    const joined = await lines.json();
    expect([joined.type, (joined.object as Obj).metadata.name]).toEqual(['ADDED', 'b']);
    await patch(api, `${PODS}/a`, 'application/merge-patch+json', { metadata: { labels: { app: 'gone' } } });
    const left = await lines.json();
    expect([left.type, (left.object as Obj).metadata.name]).toEqual(['DELETED', 'a']);
    expect(api.api.registry.watcherCount).toBe(1);
    await lines.cancel();
    await until(() => api.api.registry.watcherCount === 0);
  });

  it('filters by fieldSelector (how kubectl delete waits) and sends BOOKMARKs when allowed', async () => {
    await create(api, 'web');
    await create(api, 'other');
    const rv = api.fake.resourceVersion();
    const res = await api.req(`${PODS}?allowWatchBookmarks=true&fieldSelector=metadata.name%3Dweb&resourceVersion=${rv}&watch=true`);
    const lines = new LineReader(res);
    const bm = await lines.json();
    expect(bm.type).toBe('BOOKMARK');
    expect((bm.object as Obj).metadata.resourceVersion).toBe(rv);
    api.fake.deleteDelayMs = 10;
    api.fake.deletePod('default', 'other', 0);
    api.fake.deletePod('default', 'web', 0);
    const seen: string[] = [];
    while (!seen.includes('DELETED')) {
      const e = await lines.json();
      if (e.type !== 'BOOKMARK') seen.push(`${e.type}`);
      if (e.type !== 'BOOKMARK') expect((e.object as Obj).metadata.name).toBe('web');
    }
    expect(seen).toEqual(['MODIFIED', 'DELETED']);
    await lines.cancel();
  });

  it('answers sendInitialEvents=true with 422 so that kubectl 1.35 falls back to list + watch', async () => {
    const res = await api.req(`${PODS}?allowWatchBookmarks=true&fieldSelector=metadata.name%3Dweb&resourceVersionMatch=NotOlderThan&sendInitialEvents=true&timeoutSeconds=60&watch=true`);
    expect(res.status).toBe(422);
    const s = await json(res);
    expect(s).toMatchObject({ kind: 'Status', reason: 'Invalid', code: 422 });
    expect(s.message).toBe('ListOptions.meta.k8s.io "" is invalid: sendInitialEvents: Forbidden: sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled');
    expect(api.api.registry.watcherCount).toBe(0);
  });

  it('sends one-row Tables with column definitions to kubectl get -w', async () => {
    await create(api, 'web');
    const rv = api.fake.resourceVersion();
    const res = await api.req(`${PODS}?resourceVersion=${rv}&watch=true`, { headers: { accept: TABLE } });
    const lines = new LineReader(res);
    api.fake.restartPod('default', 'web', {});
    const e = await lines.json();
    expect(e.type).toBe('MODIFIED');
    const t = e.object as Obj;
    expect(t.kind).toBe('Table');
    expect(t.columnDefinitions).toHaveLength(9);
    expect(t.rows).toHaveLength(1);
    expect(t.rows[0].cells.slice(0, 3)).toEqual(['web', '1/1', 'Running']);
    expect(t.rows[0].cells[3]).toMatch(/^1 \(\d+s ago\)$/);
    await lines.cancel();
  });

  it('watches events, also through the legacy /watch/ path', async () => {
    await create(api, 'web');
    const rv = api.fake.resourceVersion();
    const res = await api.req(`/api/v1/watch/namespaces/default/events?resourceVersion=${rv}&fieldSelector=reason%3DKilling`);
    const lines = new LineReader(res);
    const pod = api.fake.getPod('default', 'web');
    if (!pod) throw new Error('no pod');
    api.fake.recordEvent(pod, 'Unhealthy', 'Liveness probe failed: nope', 'Warning', 'main');
    api.fake.recordEvent(pod, 'Killing', 'Stopping container main', 'Normal', 'main');
    const e = await lines.json();
    expect(e.type).toBe('ADDED');
    expect((e.object as Obj).reason).toBe('Killing');
    await lines.cancel();
  });
});

describe('logs', () => {
  beforeEach(async () => {
    api = await startApi();
  });
  afterEach(async () => {
    await api.close();
  });

  it('returns the log as text/plain with tailLines, limitBytes and timestamps', async () => {
    await create(api, 'web');
    const file = api.fake.writeLog('default', 'web', 'main', 'one\ntwo\nthree\nfour\n');
    const all = await api.req(`${PODS}/web/log`);
    expect(all.status).toBe(200);
    expect(all.headers.get('content-type')).toBe('text/plain');
    expect(all.headers.get('cache-control')).toBe('no-cache, private');
    expect(await all.text()).toBe('one\ntwo\nthree\nfour\n');
    expect(await (await api.req(`${PODS}/web/log?container=main&tailLines=2`)).text()).toBe('three\nfour\n');
    expect(await (await api.req(`${PODS}/web/log?tailLines=0`)).text()).toBe('');
    expect(await (await api.req(`${PODS}/web/log?tailLines=10`)).text()).toBe('one\ntwo\nthree\nfour\n');
    expect(await (await api.req(`${PODS}/web/log?limitBytes=6`)).text()).toBe('one\ntw');
    const stamped = await (await api.req(`${PODS}/web/log?timestamps=true&tailLines=2`)).text();
    const mtime = statSync(file, { bigint: true }).mtimeNs;
    const lines = stamped.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    for (const l of lines) expect(l).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z (three|four)$/);
    const [stamp] = (lines[0] ?? '').split(' ');
    const [sec, frac = ''] = (stamp ?? '').replace('Z', '').split('.');
    expect(BigInt(Date.parse(`${sec}Z`)) * 1_000_000n + BigInt(frac.padEnd(9, '0'))).toBe(mtime);
    api.fake.writeLog('default', 'web', 'main', 'no newline at end');
    expect(await (await api.req(`${PODS}/web/log?tailLines=1`)).text()).toBe('no newline at end');
    const bad = await api.req(`${PODS}/web/log?tailLines=-1`);
    expect(bad.status).toBe(422);
  });

  it('serves previous logs and the kubelet errors for missing ones', async () => {
    await create(api, 'web');
    const noPrev = await api.req(`${PODS}/web/log?previous=true`);
    expect(noPrev.status).toBe(400);
    expect((await json(noPrev)).message).toBe('previous terminated container "main" in pod "web" not found');
    const noCur = await api.req(`${PODS}/web/log`);
    expect(noCur.status).toBe(400);
    api.fake.writeLog('default', 'web', 'main', 'earlier\n', true);
    expect(await (await api.req(`${PODS}/web/log?previous=1`)).text()).toBe('earlier\n');
    const pod = api.fake.pods.get('default/web');
    if (!pod?.status?.containerStatuses?.[0]) throw new Error('no pod');
    pod.status.containerStatuses[0].state = { waiting: { reason: 'CrashLoopBackOff' } };
    const waiting = await api.req(`${PODS}/web/log`);
    expect((await json(waiting)).message).toBe('container "main" in pod "web" is waiting to start: CrashLoopBackOff');
    expect((await api.req(`${PODS}/nope/log`)).status).toBe(404);
  });

  it('needs a container name when the pod has several; refuses unknown containers', async () => {
    await create(api, 'multi', { containers: ['a', 'b'] });
    const res = await api.req(`${PODS}/multi/log`);
    expect(res.status).toBe(400);
    expect(await json(res)).toMatchObject({ kind: 'Status', reason: 'BadRequest', code: 400, message: 'a container name must be specified for pod multi, choose one of: [a b]' });
    const unknown = await api.req(`${PODS}/multi/log?container=c`);
    expect(unknown.status).toBe(400);
    expect((await json(unknown)).message).toBe('container c is not valid for pod multi');
    api.fake.writeLog('default', 'multi', 'b', 'from b\n');
    expect(await (await api.req(`${PODS}/multi/log?container=b`)).text()).toBe('from b\n');
  });

  it('follows a running container until it exits', async () => {
    await create(api, 'web');
    api.fake.writeLog('default', 'web', 'main', 'start\n');
    const res = await api.req(`${PODS}/web/log?follow=true&timestamps=true`);
    expect(res.status).toBe(200);
    const lines = new LineReader(res);
    expect(await lines.next()).toMatch(/Z start$/);
    api.fake.appendLog('default', 'web', 'main', 'more ');
    api.fake.appendLog('default', 'web', 'main', 'and more\n');
    expect(await lines.next()).toMatch(/^\S+Z more and more$/);
    api.fake.appendLog('default', 'web', 'main', 'last\n');
    api.fake.stopContainer('default', 'web', 'main');
    expect(await lines.next()).toMatch(/Z last$/);
    expect(await lines.next(3000)).toBeUndefined();
  });

  it('ends a follow when a new instance of the container writes another log file', async () => {
    await create(api, 'web');
    api.fake.writeLog('default', 'web', 'main', 'first instance\n');
    const lines = new LineReader(await api.req(`${PODS}/web/log?follow=true`));
    expect(await lines.next()).toBe('first instance');
    api.fake.writeLog('default', 'web', 'main', 'second instance\n', false, '.1');
    expect(api.fake.containerRunning('default', 'web', 'main')).toBe(true);
    expect(await lines.next(3000)).toBeUndefined();
  });
});

describe('events', () => {
  beforeEach(async () => {
    api = await startApi();
  });
  afterEach(async () => {
    await api.close();
  });

  it('lists events with field selectors (as kubectl describe asks)', async () => {
    const a = await create(api, 'a');
    await create(api, 'b');
    const pod = api.fake.getPod('default', 'a');
    if (!pod) throw new Error('no pod');
    api.fake.recordEvent(pod, 'BackOff', 'Back-off restarting failed container main in pod a', 'Warning', 'main');
    const sel = `involvedObject.name=a,involvedObject.namespace=default,involvedObject.uid=${a.metadata.uid as string}`;
    const list = await json(await api.req(`/api/v1/namespaces/default/events?fieldSelector=${encodeURIComponent(sel)}&limit=500`));
    expect(list.kind).toBe('EventList');
    expect(list.metadata.resourceVersion).toBeDefined();
    expect(list.items.map((e: Obj) => e.reason)).toEqual(['Scheduled', 'Created', 'Started', 'BackOff']);
    const q = async (s: string): Promise<string[]> => (await json(await api.req(`/api/v1/events?fieldSelector=${encodeURIComponent(s)}`))).items.map((e: Obj) => `${e.involvedObject.name}:${e.reason}`);
    expect(await q('type=Warning')).toEqual(['a:BackOff']);
    expect(await q('reason=Started,involvedObject.name!=a')).toEqual(['b:Started']);
    expect(await q('involvedObject.kind=Pod,involvedObject.fieldPath=spec.containers{main},involvedObject.name=b')).toEqual(['b:Created', 'b:Started']);
    expect((await api.req('/api/v1/events?fieldSelector=nope%3D1')).status).toBe(400);
    const t = await json(await api.req('/api/v1/namespaces/default/events', { headers: { accept: TABLE } }));
    expect(t.columnDefinitions.filter((c: Obj) => c.priority === 0).map((c: Obj) => c.name)).toEqual(['Last Seen', 'Type', 'Reason', 'Object', 'Message']);
    expect(t.rows.at(-1).cells.slice(1, 4)).toEqual(['Warning', 'BackOff', 'pod/a']);
    const name = list.items[0].metadata.name as string;
    expect((await json(await api.req(`/api/v1/namespaces/default/events/${name}`))).reason).toBe('Scheduled');
    expect((await api.req('/api/v1/namespaces/default/events/nope')).status).toBe(404);
  });
});

describe('listen', () => {
  it('serves a Unix socket with mode 0600, replaces a stale socket file and removes it on close', async () => {
    const t = await startApi();
    try {
      const sock = join(t.dir, 'api.sock');
      const stale = spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(sock)}, () => process.exit(0))`]);
      expect(stale.status).toBe(0);
      expect(statSync(sock).isSocket()).toBe(true);
      const server = createApiServer({ backend: t.fake, store: t.store });
      const l = await server.listen({ socket: sock });
      expect(l.address).toBe(`unix://${sock}`);
      expect(statSync(sock).mode & 0o777).toBe(0o600);
      const r = await raw('http://localhost', '/api', { socketPath: sock });
      expect(r.status).toBe(200);
      expect(JSON.parse(r.body).kind).toBe('APIVersions');
      await expect(server.listen({ socket: sock })).rejects.toThrow(/in use/);
      await l.close();
      expect(existsSync(sock)).toBe(false);
      const file = join(t.dir, 'not-a-socket');
      writeFileSync(file, 'keep me');
      await expect(server.listen({ socket: file })).rejects.toThrow(/not a socket/);
      expect(existsSync(file)).toBe(true);
    } finally {
      await t.close();
    }
  });

  it('serves HTTPS when given a key and certificate', async () => {
    const t = await startApi();
    try {
      const key = readFileSync(new URL('./fixtures/localhost-key.pem', import.meta.url));
      const cert = readFileSync(new URL('./fixtures/localhost-cert.pem', import.meta.url));
      const l = await createApiServer({ backend: t.fake, store: t.store, token: 't' }).listen({ host: '127.0.0.1', port: 0, tls: { key, cert } });
      expect(l.address).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const body = await new Promise<string>((resolve, reject) => {
        const u = new URL(`${l.address}/api`);
        httpsRequest({ host: u.hostname, port: u.port, path: u.pathname, ca: cert, headers: { authorization: 'Bearer t' } }, (res) => {
          let b = '';
          res.on('data', (d: Buffer) => (b += d.toString()));
          res.on('end', () => resolve(b));
        }).on('error', reject).end();
      });
      expect(JSON.parse(body).kind).toBe('APIVersions');
      await l.close();
    } finally {
      await t.close();
    }
  });

  it('answers plain HTTP on the TLS port as the API server does: 400 Client sent an HTTP request to an HTTPS server', async () => {
    const t = await startApi();
    try {
      const key = readFileSync(new URL('./fixtures/localhost-key.pem', import.meta.url));
      const cert = readFileSync(new URL('./fixtures/localhost-cert.pem', import.meta.url));
      const server = createApiServer({ backend: t.fake, store: t.store });
      const l = await server.listen({ host: '127.0.0.1', port: 0, tls: { key, cert } });
      const plain = l.address.replace('https://', 'http://');
      const r = await raw(plain, '/api');
      expect(r.status).toBe(400);
      expect(r.body).toBe('Client sent an HTTP request to an HTTPS server.\n');
      // A silent connection does not keep close waiting; TLS still works afterwards.
      const idle = createConnection({ host: '127.0.0.1', port: Number(new URL(l.address).port) });
      await new Promise<void>((resolve) => idle.once('connect', () => resolve()));
      const body = await new Promise<string>((resolve, reject) => {
        const u = new URL(`${l.address}/livez`);
        httpsRequest({ host: u.hostname, port: u.port, path: u.pathname, ca: cert }, (res) => {
          let b = '';
          res.on('data', (d: Buffer) => (b += d.toString()));
          res.on('end', () => resolve(b));
        }).on('error', reject).end();
      });
      expect(body).toBe('ok');
      // A kept-alive TLS connection is ended by close (close does not wait for the client).
      const agent = new HttpsAgent({ keepAlive: true, ca: cert });
      const sockets: Socket[] = [];
      await new Promise<void>((resolve, reject) => {
        const r = httpsRequest(`${l.address}/livez`, { agent }, (res) => {
          res.resume();
          res.on('end', () => resolve());
        });
        r.on('socket', (s) => sockets.push(s));
        r.on('error', reject).end();
      });
      const ended = Promise.all(sockets.map((s) => new Promise<void>((resolve) => (s.destroyed ? resolve() : s.once('close', () => resolve())))));
      await l.close();
      await ended;
      agent.destroy();
      server.close();
      idle.destroy();
    } finally {
      await t.close();
    }
  });

  it('serves TCP and ends open watches on close', async () => {
    const t = await startApi();
    try {
      const server = createApiServer({ backend: t.fake, store: t.store });
      const l = await server.listen({ host: '127.0.0.1', port: 0 });
      expect(l.address).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const res = await fetch(`${l.address}${PODS}?watch=true`);
      expect(res.status).toBe(200);
      await until(() => server.registry.watcherCount === 1);
      await l.close();
      await until(() => server.registry.watcherCount === 0);
      server.close();
    } finally {
      await t.close();
    }
  });
});
