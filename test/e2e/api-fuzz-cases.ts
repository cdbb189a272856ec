/**
 * What the API fuzz (`api-fuzz.test.ts`) sends: every route of the server's own route table
 * (`ROUTES` of src/server/routes.ts, so a new route is fuzzed without touching the test) made
 * concrete over the resources the daemon serves, odd path segments, malformed bodies and
 * wrong-typed objects.
 */
import fc from 'fast-check';
import { stringify } from 'yaml';
import { GROUPS } from '../../src/server/discovery.js';
import { ROUTES, type Route } from '../../src/server/routes.js';
import type { ServerEnv } from '../../src/server/server-env.js';
import { MARKER, type Req } from './api-fuzz-harness.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** A top-level resource as `GET /api/v1` lists it. */
export interface Served {
  name: string;
  namespaced: boolean;
  verbs: string[];
}

/** One route with its placeholders filled in. */
export interface Concrete {
  route: Route;
  /** Segments of the concrete path. */
  segs: string[];
  /** Indexes of the segments that were placeholders, with the placeholder's name. */
  params: { index: number; name: string }[];
  methods: Method[];
  /** The resource its `{name}` names (`pods` for `pods/{name}/log`), when it has one. */
  resource: string | undefined;
  /** `exec`, `attach`, `portforward`: connection upgrades. */
  streaming: boolean;
}

export const pathOf = (segs: readonly string[]): string => `/${segs.join('/')}`;

/** The existing objects the fuzz aims at, by resource (created by the test before it starts). */
export const NAMES: Record<string, string> = { pods: 'fuzz-target', configmaps: 'fuzz-cm', secrets: 'fuzz-secret', namespaces: 'fuzz-ns' };
/** A valid name no object has. */
export const ABSENT = 'fuzz-absent';

/**
 * Every route of the table made concrete: `{namespace}` is `default`, `{resource}` each served
 * resource its guard (`when`, asked through a registry built from discovery) accepts, `{name}`
 * the object the fuzz created for that resource (or a node's name, or one no object has),
 * `{group}/{version}` each API group.
 */
export function concreteRoutes(served: readonly Served[], nodeName: string): Concrete[] {
  const byName = new Map(served.map((s) => [s.name, s]));
  const env = { registry: { resource: (n: string) => (byName.has(n) ? { def: { namespaced: byName.get(n)?.namespaced } } : undefined) } } as unknown as ServerEnv;
  const out: Concrete[] = [];
  for (const route of ROUTES) {
    const pat = route.path.split('/');
    let choices: Record<string, string>[] = [{}];
    const expand = (key: string, values: readonly string[]): void => {
      choices = choices.flatMap((c) => values.map((v) => ({ ...c, [key]: v })));
    };
    // `{resource}` is one of the registry's kinds: those a literal route serves (`api/v1/nodes`) are not.
    if (pat.includes('{resource}')) expand('resource', served.map((s) => s.name).filter((n) => !ROUTES.some((r) => r.path === `api/v1/${n}`)));
    if (pat.includes('{group}')) {
      choices = choices.flatMap((c) => GROUPS.map((g) => ({ ...c, group: g.name, version: g.version })));
    }
    for (const c of choices) {
      const resource = c['resource'] ?? route.resource ?? (route.path.startsWith('apis/metrics.k8s.io') ? (pat.includes('nodes') ? 'nodes' : 'pods') : undefined);
      const p: Record<string, string> = { ...c, namespace: 'default' };
      if (pat.includes('{name}')) p['name'] = resource === 'nodes' ? nodeName : NAMES[resource ?? ''] ?? ABSENT;
      if (route.when && !route.when(env, p)) continue;
      const params: Concrete['params'] = [];
      const segs = pat.map((s, index) => {
        if (!s.startsWith('{')) return s;
        params.push({ index, name: s.slice(1, -1) });
        return p[s.slice(1, -1)] ?? '';
      });
      out.push({ route, segs, params, methods: Object.keys(route.methods) as Method[], resource, streaming: /\/(exec|attach|portforward)$/.test(route.path) });
    }
  }
  return out;
}

/** The kind of body a route takes: its resource's, or (reviews) the last segment's. */
export const kindOf = (c: Concrete): string => (c.resource !== undefined && NAMES[c.resource] !== undefined ? c.resource : c.route.path.split('/').pop() ?? '');

const METHODS: readonly Method[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];
const VERB_OF: Record<string, string> = { POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };

/** Whether a route of the registry's kinds serves `method` for its resource (by discovery's verbs). */
export function serves(c: Concrete, method: string, served: readonly Served[]): boolean {
  if (!c.route.path.includes('{resource}')) return true;
  return served.find((s) => s.name === c.resource)?.verbs.includes(VERB_OF[method] ?? '') ?? true;
}

/** podvisor's own verbs, whose options are lenient. */
export const isVerb = (c: Concrete): boolean => /\/(restart|recreate)$/.test(c.route.path);

/** A long-running container whose processes carry `marker` in their command line. */
export const podWith = (name: string, marker: string): Record<string, unknown> => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name },
  spec: { terminationGracePeriodSeconds: 0, containers: [{ name: 'main', image: 'busybox', command: ['sh', '-c', 'trap "exit 0" TERM; while :; do sleep 0.2; done', marker] }] },
});

// ------------------------------------------------------------------ credentials

/**
 * Authorization headers that must not pass for `token`: another token of the same length, a
 * longer and a shorter one, other schemes, the token without a scheme, two tokens, no token,
 * a very long one.
 */
export function wrongCredentials(token: string): string[] {
  const wrong = token.replace(/./g, (ch) => (ch === 'a' ? 'b' : 'a'));
  return [
    `Bearer ${wrong}`, `Bearer ${token}x`, `Bearer ${token.slice(0, -1)}`, `Basic ${Buffer.from(`admin:${token}`).toString('base64')}`,
    token, 'Bearer', `Token ${token}`, `Bearer ${token} ${token}`, `Bearer ${wrong.slice(0, 8)}`, `Bearer\t${'x'.repeat(4000)}`,
  ];
}

/** The two upgrades the streaming routes speak: WebSocket (`v5.channel.k8s.io`) and SPDY/3.1. */
export const UPGRADES: readonly Record<string, string>[] = [
  { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Protocol': 'v5.channel.k8s.io' },
  { Connection: 'Upgrade', Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': 'v4.channel.k8s.io' },
];

// ------------------------------------------------------------------ odd path segments

/**
 * Segments the server must refuse before routing, 400 `BadRequest` (`invalid request path`,
 * `invalid escape`): traversal, encoded slashes and backslashes, NUL, broken escapes.
 */
export const TRAVERSAL: readonly string[] = [
  '..', '.', '%2e%2e', '%2E%2e', '%2e', '.%2e', '%2F', `a%2F${MARKER}`, `..%2F..%2F..%2Fescape-target%2F${MARKER}`, '..%2F..%2Fetc%2Fpasswd',
  '%2e%2e%2f%2e%2e%2fescape-target', '%00', `${MARKER}%00.json`, '%5C', `..%5C..%5C${MARKER}`, `a\\${MARKER}`, '..\\..\\escape-target', '%zz', '%', '%E2%82', '%C0%AE%C0%AE',
];

/** Segments that are no name any object can have, nor a route's: 404 `NotFound`. */
export const NOT_FOUND: readonly string[] = [
  `${MARKER}-${'x'.repeat(300)}`, `${MARKER}-${'y'.repeat(5000)}`, `UPPER-${MARKER}`, '%C3%BC', '%F0%9F%92%A9', '....', `-${MARKER}-`, `a..${MARKER}`, '%252e%252e', `${MARKER}%20x`, '~', '*', `${MARKER}:x`, `${MARKER};x`, '%3Cscript%3E', '%0A', '%09', '%7F',
];

/**
 * Names a create must refuse with 422 `Invalid`, whatever the resource: traversal, separators,
 * NUL, unicode, too long, empty.
 */
export const BAD_OBJECT_NAMES: readonly string[] = [
  '..', '.', `../../escape-target/${MARKER}`, `..\\..\\escape-target\\${MARKER}`, `/etc/${MARKER}`, `${MARKER}/x`, `${MARKER}\u0000x`, `${MARKER}\\x`,
  `${MARKER}-${'z'.repeat(300)}`, `${MARKER}-ü`, `UPPER-${MARKER}`, '', ' ', `${MARKER} x`, `%2e%2e%2f${MARKER}`, `${MARKER}\nx`,
];

/**
 * Every route's paths with one segment replaced by an odd one, in every position: the
 * traversal ones must give 400, the others 404, whatever the method. `full` takes every odd
 * segment in every position; else each position gets a rotating share (10 traversal and 4
 * others for placeholders and the last segment, 3 and 2 for the other literals), so that every
 * kind of segment meets every kind of position.
 */
export function oddPathCases(routes: readonly Concrete[], full: boolean): { method: Method; path: string; codes: number[] }[] {
  const out: { method: Method; path: string; codes: number[] }[] = [];
  const seen = new Set<string>();
  let n = 0;
  routes.forEach((c, ci) => {
    c.segs.forEach((_, pos) => {
      const last = pos === c.segs.length - 1;
      const placeholder = c.params.some((p) => p.index === pos) || last;
      const share = (list: readonly string[], k: number): string[] => (full ? [...list] : Array.from({ length: Math.min(k, list.length) }, (_, i) => list[(ci * 3 + pos * 5 + i) % list.length] as string));
      const cases: [string, number][] = [
        ...share(TRAVERSAL, placeholder ? 10 : 3).map((v): [string, number] => [v, 400]),
        ...share(NOT_FOUND, placeholder ? 4 : 2).map((v): [string, number] => [v, 404]),
        // An empty segment; the last one is a trailing slash (the test compares those).
        ...(last ? [] : [['', 404] as [string, number]]),
      ];
      const param = c.params.find((p) => p.index === pos)?.name;
      for (const [v, code] of cases) {
        const segs = [...c.segs];
        segs[pos] = v;
        const path = pathOf(segs);
        if (seen.has(path)) continue;
        seen.add(path);
        // Any method: a path that cannot be is refused before its method is looked at (400),
        // and so are a namespace or a resource that cannot exist and the name of a registry
        // object (404). Elsewhere (metrics, nodes, OpenAPI groups) a method the route lacks
        // may be a 405 first, as the API server answers it.
        const method = METHODS[n++ % METHODS.length] as Method;
        const checked = param === 'namespace' || param === 'resource' || c.route.resource !== undefined || c.route.path.includes('{resource}');
        out.push({ method, path, codes: code === 404 && param !== undefined && !checked && !c.methods.includes(method) ? [404, 405] : [code] });
      }
    });
  });
  return out;
}

// ------------------------------------------------------------------ bodies

/** A valid body of each writable kind, named `name`. */
export function validBody(resource: string, name: string): Record<string, any> {
  switch (resource) {
    case 'pods':
      return {
        apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: { app: 'fuzz' }, annotations: { note: 'x' } },
        spec: {
          terminationGracePeriodSeconds: 0, restartPolicy: 'Never',
          containers: [{ name: 'c', image: 'busybox', command: ['sh', '-c', 'exit 0'], ports: [{ containerPort: 8080 }], env: [{ name: 'A', value: '1' }], volumeMounts: [{ name: 'v', mountPath: '/v' }] }],
          volumes: [{ name: 'v', emptyDir: {} }],
        },
      };
    case 'configmaps':
      return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels: { app: 'fuzz' } }, data: { a: '1' }, immutable: false };
    case 'secrets':
      return { apiVersion: 'v1', kind: 'Secret', metadata: { name }, type: 'Opaque', data: { a: 'MQ==' }, stringData: { b: '2' } };
    case 'namespaces':
      return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { app: 'fuzz' } }, spec: { finalizers: ['kubernetes'] } };
    case 'selfsubjectreviews':
      return { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview', metadata: { name: '' } };
    case 'selfsubjectaccessreviews':
      return { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { namespace: 'default', verb: 'get', resource: 'pods', name: 'x' } } };
    case 'selfsubjectrulesreviews':
      return { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectRulesReview', spec: { namespace: 'default' } };
    default:
      return { apiVersion: 'v1', kind: 'Status', metadata: { name } };
  }
}

/** A body that no route may accept, with the media types it is sent as. */
export interface BadBody {
  what: string;
  body: string | Buffer;
  /** JSON or YAML. */
  yaml?: boolean;
  /** Above the request limit: 413. */
  huge?: boolean;
  /** Sent chunked (the server counts while it reads), else announced by Content-Length (refused from the head). */
  chunked?: boolean;
}

/** The API server's request limit (3 MiB). */
export const MAX_BODY = 3 * 1024 * 1024;

/** A JSON body one byte above the limit. */
const HUGE = `{"a":"${'x'.repeat(MAX_BODY - 7)}"}`;

export function badBodies(valid: Record<string, any>): BadBody[] {
  const text = JSON.stringify(valid);
  const garbage = Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 7919 + 13) % 256));
  return [
    { what: 'empty', body: '' },
    { what: 'whitespace', body: ' \n\t ' },
    { what: 'truncated in half', body: text.slice(0, text.length >> 1) },
    { what: 'truncated by one', body: text.slice(0, -1) },
    { what: 'trailing garbage', body: `${text}}x` },
    { what: 'an array of the object', body: `[${text}]` },
    { what: 'an empty array', body: '[]' },
    { what: 'a string', body: '"Pod"' },
    { what: 'a number', body: '42' },
    { what: 'null', body: 'null' },
    { what: 'true', body: 'true' },
    { what: 'NaN', body: '{"metadata": NaN}' },
    { what: 'single quotes', body: "{'kind': 'Pod'}" },
    { what: 'YAML sent as JSON', body: stringify(valid) },
    { what: 'binary garbage', body: garbage },
    { what: 'BOM and a brace', body: '\uFEFF{' },
    { what: 'NUL bytes', body: Buffer.from([0, 0, 0, 0x7b, 0]) },
    { what: 'invalid UTF-8', body: Buffer.concat([Buffer.from('{"kind":"'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}')]) },
    { what: 'nested 100,000 arrays', body: `${'['.repeat(100_000)}${']'.repeat(100_000)}` },
    { what: 'nested 20,000 objects', body: `${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}` },
    { what: 'YAML nested 5,000 flow levels', body: `${'['.repeat(5000)}${']'.repeat(5000)}`, yaml: true },
    { what: 'YAML nested 2,000 block levels', body: `${'- '.repeat(2000)}x\n`, yaml: true },
    { what: 'YAML alias bomb', body: `a: &a ["${'z'.repeat(1000)}"]\nb: &b [${Array(50).fill('*a').join(',')}]\nc: &c [${Array(50).fill('*b').join(',')}]\nd: [${Array(50).fill('*c').join(',')}]\n`, yaml: true },
    { what: 'YAML with two documents', body: '--- {}\n--- {}\n', yaml: true },
    { what: 'YAML syntax error', body: 'metadata: [unclosed\n  : :', yaml: true },
    { what: 'YAML list', body: '- a\n- b\n', yaml: true },
    { what: `${MAX_BODY + 1} bytes announced`, body: `{"a":"${'x'.repeat(1000)}`, huge: true },
    { what: `${MAX_BODY + 1} bytes, chunked`, body: HUGE, huge: true, chunked: true },
  ];
}

// ------------------------------------------------------------------ wrong types

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type PathKey = string | number;

/** Every path into `v` but the root. */
export function pathsOf(v: unknown, prefix: PathKey[] = [], out: PathKey[][] = []): PathKey[][] {
  if (prefix.length > 0) out.push(prefix);
  if (Array.isArray(v)) v.forEach((x, i) => pathsOf(x, [...prefix, i], out));
  else if (v !== null && typeof v === 'object') for (const k of Object.keys(v)) pathsOf((v as Record<string, unknown>)[k], [...prefix, k], out);
  return out;
}

const typeOf = (v: unknown): string => (Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v);

/** A value of another JSON type than `like` (never null: an optional field may be null). */
export function wrongValue(like: unknown): fc.Arbitrary<Json> {
  const t = typeOf(like);
  const all: [string, fc.Arbitrary<Json>][] = [
    ['string', fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('', '1', 'true', '{}', '[]', `../${MARKER}`))],
    ['number', fc.oneof(fc.integer(), fc.constantFrom(0, -1, 1.5, 1e300, 2 ** 53 + 2))],
    ['boolean', fc.boolean()],
    ['array', fc.array(fc.oneof(fc.string({ maxLength: 4 }), fc.integer()), { minLength: 1, maxLength: 3 })],
    ['object', fc.dictionary(fc.constantFrom('a', 'name', 'kind', '0'), fc.oneof(fc.string({ maxLength: 4 }), fc.integer()), { minKeys: 1, maxKeys: 2 })],
  ];
  return fc.oneof(...all.filter(([k]) => k !== t).map(([, a]) => a));
}

/** `base` with the value at `path` replaced. */
export function replaced(base: Record<string, any>, path: readonly PathKey[], value: Json): Record<string, any> {
  const copy = structuredClone(base);
  let at: any = copy;
  for (const k of path.slice(0, -1)) at = at[k];
  at[path[path.length - 1] as PathKey] = value;
  return copy;
}

/** A JSON pointer to `path`. */
export const pointer = (path: readonly PathKey[]): string => path.map((k) => `/${String(k).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');

const PATCH_JSON = ['application/merge-patch+json', 'application/strategic-merge-patch+json', 'application/json-patch+json'];
const OBJECT_TYPES = ['application/json', 'application/yaml', 'application/vnd.kubernetes.protobuf'];

/**
 * Every write method of every route with each bad body (JSON ones with a JSON media type, the
 * PATCH types in turn; YAML ones as YAML), an unsupported media type and protobuf garbage, with
 * the codes the API server gives: 405 where the resource does not serve the verb, 415 for the
 * media type, 413 above the limit, else 400 or 422. Deletes and podvisor's verbs aim at an
 * object that does not exist (their options are lenient: what they accept meets its 404).
 */
export function malformedCases(routes: readonly Concrete[], served: readonly Served[]): { req: Req; codes: number[]; what: string }[] {
  const out: { req: Req; codes: number[]; what: string }[] = [];
  let k = 0;
  let pair = 0;
  for (const c of routes) {
    for (const method of c.methods.filter((m) => m !== 'GET')) {
      pair++;
      const segs = [...c.segs];
      const nameAt = c.params.find((p) => p.name === 'name')?.index;
      if (nameAt !== undefined && (method === 'DELETE' || isVerb(c))) segs[nameAt] = ABSENT;
      const path = pathOf(segs);
      const valid = validBody(kindOf(c), segs[nameAt ?? -1] ?? 'x');
      const readOnly = !serves(c, method, served);
      const expected = (huge: boolean, type: string): number[] => {
        if (readOnly) return [405];
        if (c.streaming) return [400];
        if (method === 'PATCH' ? !PATCH_JSON.includes(type) && type !== 'application/apply-patch+yaml' : !OBJECT_TYPES.includes(type)) return [415];
        if (huge) return [413];
        if (method === 'DELETE' || isVerb(c)) return [400, 404, 422];
        return [400, 422];
      };
      for (const b of badBodies(valid)) {
        // (Streams read no body; 3 MiB really sent to every third route is enough.)
        if (b.huge && (c.streaming || (b.chunked && pair % 3 !== 0))) continue;
        let type: string;
        if (method === 'PATCH') type = b.yaml ? 'application/apply-patch+yaml' : (PATCH_JSON[k++ % 3] as string);
        else type = b.yaml ? 'application/yaml' : 'application/json';
        // An empty JSON patch is a valid one.
        if (type === 'application/json-patch+json' && b.what === 'an empty array') type = 'application/merge-patch+json';
        const size = b.huge && !b.chunked ? { declaredLength: MAX_BODY + 1 } : {};
        out.push({ req: { method, path, body: b.body, type, chunked: b.chunked === true, timeoutMs: 30_000, ...size }, codes: expected(b.huge === true, type), what: b.what });
      }
      const other = method === 'PATCH' ? 'application/json' : 'text/plain';
      out.push({ req: { method, path, body: JSON.stringify(valid), type: other }, codes: expected(false, other), what: 'unsupported media type' });
      if (method !== 'PATCH') {
        const type = 'application/vnd.kubernetes.protobuf';
        out.push({ req: { method, path, body: Buffer.from([0x6b, 0x38, 0x73, 0x00, 0x0a, 0x03, 0x0a, 0x01, 0xff, 0xff]), type }, codes: expected(false, type), what: 'protobuf garbage' });
      } else {
        out.push({ req: { method, path, body: '{}', type: 'application/merge-patch+json; charset=utf-8; x=' }, codes: readOnly ? [405] : [200, 415], what: 'media type parameters' });
      }
    }
  }
  return out;
}
