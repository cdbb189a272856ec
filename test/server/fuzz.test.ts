/**
 * Property-based fuzzing of the HTTP API (issue 11): generated requests over odd paths
 * (traversal, encoded slashes, unicode, long names), query values (huge, negative,
 * non-integers, selectors) and bodies (pods with mutated fields, wrong types, duplicate keys,
 * deep nesting, large strings, JSON patches, YAML) of every media type. Every answer must be
 * below 500, except the one I/O failure the backend injects, every error must be a Kubernetes
 * `Status`, and the server must answer at the end. Bounded in time (about 20 s).
 */
import { request } from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Pod } from '../../src/api/types.js';
import { FakeAgent } from './fake-agent.js';
import { podManifest, startApi, type TestApi } from './helpers.js';

/** The name of a pod whose creation fails with an I/O error (the only 500 allowed). */
const IO_FAILURE = 'eio';

/** The fake agent, but a store write fails for one pod name, as a full disk would. */
class FailingBackend extends FakeAgent {
  override createPod(pod: Pod): Pod {
    if (pod.metadata.name === IO_FAILURE) throw new Error(`EIO: i/o error, write '/store/${IO_FAILURE}.json'`);
    return super.createPod(pod);
  }
}

let api: TestApi;

beforeAll(async () => {
  api = await startApi({ bookmarkIntervalSeconds: 0 });
  // The harness's backend is a plain fake: swap in the failing one behind the same handler.
  const failing = new FailingBackend(api.store, `${api.dir}/fuzz-logs`);
  Object.setPrototypeOf(api.fake, Object.getPrototypeOf(failing));
  for (const name of ['p0', 'p1']) {
    const res = await api.req('/api/v1/namespaces/default/pods', { method: 'POST', body: JSON.stringify(podManifest(name, { containers: ['a', 'b'] })), headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(201);
  }
});

afterAll(async () => {
  await api.close();
});

interface Answer {
  status: number;
  body: string;
}

/** Sends a request with its path byte for byte; a 2xx answer's body is not read (watches and follows never end). */
function send(method: string, path: string, type: string | undefined, body: string | undefined): Promise<Answer> {
  const u = new URL(api.url);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (type !== undefined) headers['content-type'] = type;
    // Node's client frames a DELETE or OPTIONS body only with an explicit length.
    if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
    const r = request({ host: u.hostname, port: u.port, path, method, headers, agent: false }, (res) => {
      const status = res.statusCode ?? 0;
      if (status < 300) {
        res.destroy();
        resolve({ status, body: '' });
        return;
      }
      let b = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (b += d));
      res.on('end', () => resolve({ status, body: b }));
      res.on('error', reject);
    });
    r.on('error', reject);
    r.end(body);
  });
}

// ------------------------------------------------------------------ generators

const oddSegment = fc.oneof(
  fc.constantFrom('..', '.', '%2F', '%2f..', '%00', '%zz', '%', '%E2%82', 'p0', 'p1', IO_FAILURE, 'status', 'log', 'restart', 'recreate', 'restarts', 'watch', 'namespaces', 'default', 'kube-system', 'pods', 'events', 'x'.repeat(300), 'A', '-a-', 'a.b'),
  fc.string({ unit: 'grapheme', maxLength: 12 }).map(encodeURIComponent),
);

const path = fc.oneof(
  fc.tuple(
    fc.constantFrom('/api/v1/namespaces/default/pods', '/api/v1/namespaces/default/pods/p0', '/api/v1/namespaces/default/pods/p1', '/api/v1/pods', '/api/v1/namespaces/default/events', '/api/v1/watch/namespaces/default/pods', '/api/v1/namespaces', '/api/v1', '/api', '/apis', '/version', '/openapi/v3', '/livez', '/metrics', ''),
    fc.array(oddSegment, { maxLength: 3 }),
    fc.boolean(),
  ).map(([base, segs, slash]) => `${base}${segs.map((s) => `/${s}`).join('')}${slash ? '/' : ''}` || '/'),
  fc.array(oddSegment, { maxLength: 6 }).map((segs) => `/${segs.join('/')}`),
);

const queryValue = fc.oneof(
  fc.constantFrom('true', 'false', '1', '0', '-1', '1.5', '1e3', '1e400', 'NaN', '9999999999999999', '99999999999999999999', '3000000', 'All', 'None', 'Strict', 'Warn', 'Ignore', 'Object', 'Metadata', 'a=b,c!=d', 'metadata.name=p0', 'app in (a,b)', '!x', '2026-01-01T00:00:00Z', 'a', ''),
  fc.string({ maxLength: 20 }),
  fc.integer().map(String),
);
const queryKey = fc.constantFrom('watch', 'timeoutSeconds', 'resourceVersion', 'labelSelector', 'fieldSelector', 'gracePeriodSeconds', 'dryRun', 'fieldValidation', 'tailLines', 'limitBytes', 'sinceSeconds', 'sinceTime', 'previous', 'container', 'includeObject', 'allowWatchBookmarks', 'sendInitialEvents', 'timestamps', 'fieldManager', 'force');
// `follow` only with a bound: a followed log of a running container never ends by itself.
const query = fc.array(fc.tuple(queryKey, queryValue), { maxLength: 4 }).map((kv) => (kv.length === 0 ? '' : `?${new URLSearchParams(kv).toString()}`));

const deep = fc.tuple(fc.integer({ min: 100, max: 150_000 }), fc.boolean()).map(([n, arr]) => (arr ? `${'['.repeat(n)}${']'.repeat(n)}` : `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`));

const scalar = fc.oneof(fc.string({ maxLength: 10 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null));
/** A pod manifest with one field replaced by something else. */
const mutatedPod = fc.tuple(
  fc.constantFrom('p0', 'p1', 'new', IO_FAILURE, '', 'UPPER', 'x'.repeat(300)),
  fc.constantFrom('metadata', 'spec', 'spec.containers', 'metadata.labels', 'metadata.annotations', 'spec.terminationGracePeriodSeconds', 'spec.restartPolicy', 'metadata.name', 'kind', 'apiVersion', 'spec.containers.0.ports', 'spec.containers.0.command'),
  fc.oneof(scalar, fc.json({ maxDepth: 3 }).map((j) => JSON.parse(j) as unknown), fc.array(scalar, { maxLength: 3 })),
).map(([name, field, value]) => {
  const pod = podManifest(name) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  const keys = field.split('.');
  let at = pod;
  for (const k of keys.slice(0, -1)) at = (at[k] ??= {}) as typeof pod;
  at[keys[keys.length - 1] as string] = value;
  return JSON.stringify(pod);
});
/** Raw JSON texts JSON.stringify cannot produce. */
const rawJson = fc.constantFrom(
  JSON.stringify(podManifest('dup')).replace('"metadata":{', '"metadata":{"name":"a","name":"b",'),
  JSON.stringify(podManifest('lit')).replace('"spec":{', '"spec":{"terminationGracePeriodSeconds":1e-400,'),
  JSON.stringify(podManifest('big')).replace('"spec":{', '"spec":{"terminationGracePeriodSeconds":1e300,'),
  '{"gracePeriodSeconds": 1e300}',
  '{"gracePeriodSeconds": 9999999999999999}',
  '{"gracePeriodSeconds": -5, "preconditions": {"uid": 7}}',
  '{"kind":"DeleteOptions","dryRun":["All","x"]}',
  '[{"op":"copy","from":"/metadata","path":"/metadata/x"}]',
  `[{"op":"add","path":"/metadata/x","value":[1,2,3]}${',{"op":"copy","from":"/metadata/x","path":"/metadata/x/-"}'.repeat(30)}]`,
  '{"spec":{"containers":[{"$patch":"delete","name":"a"},{"name":"a","$patch":"explode"}]}}',
  '{"$retainKeys":[1]}',
  '\uFEFF{}',
  '{',
  'null',
);
const jsonPatch = fc.array(
  fc.record({ op: fc.constantFrom('add', 'remove', 'replace', 'move', 'copy', 'test', 'nope'), path: fc.constantFrom('', '/', '/metadata', '/metadata/labels/a', '/spec/containers/0', '/spec/containers/-', '/metadata/x/0', '/a~1b', 'x'), from: fc.constantFrom('/metadata', '/spec', '', '/nope'), value: scalar }, { requiredKeys: ['op', 'path'] }),
  { maxLength: 8 },
).map((ops) => JSON.stringify(ops));
const yamlBody = fc.constantFrom(
  'apiVersion: v1\nkind: Pod\nmetadata: {name: y}\nspec:\n  containers: [{name: c, image: i}]\n',
  'a: &a [1, 2]\nb: [*a, *a]\n',
  'metadata: [unclosed',
  'a: 1\na: 2\n',
  '--- {}\n--- {}\n',
  'x: !custom-tag value\n',
  `a: &a "${'z'.repeat(50_000)}"\nb: [${Array.from({ length: 80 }, () => '*a').join(',')}]\n`,
);
const bigString = fc.integer({ min: 1, max: 3 * 1024 * 1024 + 10 }).map((n) => JSON.stringify({ metadata: { annotations: { a: 'x'.repeat(n) } } }));

const body = fc.option(
  fc.oneof(
    { arbitrary: mutatedPod, weight: 5 },
    { arbitrary: rawJson, weight: 3 },
    { arbitrary: jsonPatch, weight: 3 },
    { arbitrary: fc.json({ maxDepth: 4 }), weight: 2 },
    { arbitrary: deep, weight: 2 },
    { arbitrary: yamlBody, weight: 2 },
    { arbitrary: fc.string({ maxLength: 50 }), weight: 1 },
    { arbitrary: bigString, weight: 1 },
  ),
  { freq: 6 },
);

const contentType = fc.option(
  fc.constantFrom('application/json', 'application/yaml', 'application/merge-patch+json', 'application/strategic-merge-patch+json', 'application/json-patch+json', 'application/apply-patch+yaml', 'application/json; charset=utf-8', 'text/plain', '*/*', 'application/vnd.kubernetes.protobuf'),
  { freq: 8 },
);
const patchType = fc.constantFrom('application/merge-patch+json', 'application/strategic-merge-patch+json', 'application/json-patch+json', 'application/apply-patch+yaml');

const method = fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS');

/** One request: method, path with query, content type, body. */
type Req = [string, string, string | null, string | null];

const PODS = '/api/v1/namespaces/default/pods';
const podPath = fc.constantFrom(`${PODS}/p0`, `${PODS}/p1`, `${PODS}/gone`, `${PODS}/${IO_FAILURE}`);

// Requests shaped like each verb (most reach the handlers), plus chaos (most stop at routing).
const request_ = fc.oneof(
  fc.tuple(fc.constant('POST'), query.map((q) => `${PODS}${q}`), fc.constantFrom('application/json', 'application/yaml'), body) as fc.Arbitrary<Req>,
  fc.tuple(fc.constant('PUT'), fc.tuple(podPath, query).map(([p, q]) => p + q), fc.constantFrom('application/json', 'application/yaml'), body) as fc.Arbitrary<Req>,
  fc.tuple(fc.constant('PATCH'), fc.tuple(podPath, query).map(([p, q]) => p + q), patchType, body) as fc.Arbitrary<Req>,
  fc.tuple(fc.constant('DELETE'), fc.tuple(podPath, query).map(([p, q]) => p + q), fc.constant('application/json'), body) as fc.Arbitrary<Req>,
  fc.tuple(fc.constant('GET'), fc.tuple(fc.oneof(podPath, fc.constantFrom(`${PODS}/p0/log`, `${PODS}/p1/status`, PODS, '/api/v1/pods', '/api/v1/events')), query).map(([p, q]) => p + q), fc.constant(null), fc.constant(null)) as fc.Arbitrary<Req>,
  fc.tuple(fc.constantFrom('POST', 'DELETE'), fc.constantFrom(`${PODS}/p0/restart`, `${PODS}/p1/recreate`), fc.constant('application/json'), body) as fc.Arbitrary<Req>,
  fc.tuple(method, fc.tuple(path, query).map(([p, q]) => p + q), contentType, body) as fc.Arbitrary<Req>,
);

// ------------------------------------------------------------------ the property

describe('fuzzing the HTTP API', () => {
  it('answers every generated request below 500 (but the injected I/O failure), every error a Status, and stays up', async () => {
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(request_, async ([m, target, type, b]) => {
        const a = await send(m, target, type ?? undefined, m === 'GET' || m === 'OPTIONS' ? undefined : (b ?? undefined));
        seen.set(a.status, (seen.get(a.status) ?? 0) + 1);
        const io = a.status === 500 && a.body.includes('EIO: i/o error');
        expect(a.status >= 500 && !io, `${m} ${target} (${type ?? 'no type'}) -> ${a.status} ${a.body.slice(0, 300)}`).toBe(false);
        if (a.status >= 400) {
          const s = JSON.parse(a.body) as Record<string, unknown>;
          expect(s, `${m} ${target} -> ${a.body.slice(0, 300)}`).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code: a.status });
          expect(typeof s['message']).toBe('string');
          expect(typeof s['reason']).toBe('string');
        }
      }),
      { numRuns: 1500, interruptAfterTimeLimit: 20_000, markInterruptAsFailure: false, seed: Number(process.env['FUZZ_SEED'] ?? Date.now() % 2 ** 31) },
    );
    // The I/O failure path itself is exercised at least once, whatever the generator drew.
    const res = await send('POST', '/api/v1/namespaces/default/pods', 'application/json', JSON.stringify(podManifest(IO_FAILURE)));
    expect(res.status).toBe(500);
    expect(JSON.parse(res.body)).toMatchObject({ kind: 'Status', reason: 'InternalError', code: 500 });
    // Alive: it lists, and creates and serves a new pod.
    const list = await api.req('/api/v1/pods');
    expect(list.status).toBe(200);
    expect(await list.json()).toMatchObject({ kind: 'PodList', items: expect.any(Array) });
    expect((await send('POST', '/api/v1/namespaces/default/pods', 'application/json', JSON.stringify(podManifest('after-fuzz')))).status).toBe(201);
    expect((await api.req('/api/v1/namespaces/default/pods/after-fuzz')).status).toBe(200);
    expect([...seen.keys()].some((s) => s >= 200 && s < 300)).toBe(true);
    expect([...seen.keys()].filter((s) => s >= 400).length).toBeGreaterThan(3);
  });
});
