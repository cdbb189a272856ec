/**
 * End-to-end API fuzz (issue 16, item 4) against a real `podvisor serve` (host runtime) whose
 * cwd, HOME, TMPDIR and XDG dirs are a fresh temp root around its data dir:
 *
 * - every route of the server's route table (`ROUTES`, so new routes are covered), every
 *   method, with and without Upgrade headers: no token, a wrong token, a wrong scheme give 401;
 *   the open routes (health, version) answer without one;
 * - traversal and odd names in every path position, the `container` and `ports` queries and
 *   the names of created objects: 400, 404 or 422 as the API server, never a file outside the
 *   data dir;
 * - malformed, wrong-typed, huge and deeply nested bodies on every write route and media type;
 * - slow clients (one byte a second) while other requests are answered in time;
 * - 100 watches opened and dropped, five rounds: slots released, memory bounded;
 * - create/delete races on one name: consistent state, no stray container processes.
 *
 * Every error must be a `Status` whose code is the HTTP status; at the end the daemon runs,
 * logged no crash and no 500, and grew its memory within bounds. Bounded in time: the tests
 * take 20 to 45 s on a loaded 2-core machine and their timeouts add up to 90 s, after the
 * build and the daemon's start. Fixed seeds; `FUZZ_FULL=1` sends every odd segment in every
 * position instead of a rotating share, `FUZZ_RUNS`/`FUZZ_SEED` more or other wrong-typed bodies. The helpers are in `api-fuzz-harness.ts` (daemon,
 * client, Status check, file snapshots) and `api-fuzz-cases.ts` (routes, segments, bodies).
 */
import fc from 'fast-check';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isOpenPath, ROUTES } from '../../src/server/routes.js';
import {
  ABSENT, BAD_OBJECT_NAMES, concreteRoutes, isVerb, kindOf, malformedCases, MAX_BODY, NAMES, oddPathCases, pathOf, pathsOf, podWith, pointer, replaced, serves, UPGRADES, validBody,
  wrongCredentials, wrongValue, type Concrete, type Served,
} from './api-fuzz-cases.js';
import { describeReq, expectStatus, FuzzDaemon, markedOutside, MARKER, pool, tree, type Answer, type Req, type Trickle } from './api-fuzz-harness.js';
import { ensureBuilt, until } from './helpers.js';
import { processesOf } from './serve-node.js';

const FULL = process.env['FUZZ_FULL'] === '1';
/** The wrong-typed bodies: how many, from which seed (fixed unless exploring with FUZZ_RUNS / FUZZ_SEED). */
const RUNS = Number(process.env['FUZZ_RUNS'] ?? 250);
const SEED = Number(process.env['FUZZ_SEED'] ?? 20261607);
const RUN = `${MARKER}${process.pid}`;
const PODS = '/api/v1/namespaces/default/pods';
const CMS = '/api/v1/namespaces/default/configmaps';

const d = new FuzzDaemon();
let routes: Concrete[] = [];
let served: Served[] = [];
let fsBefore = new Map<string, string>();
let markedBefore: string[] = [];
let rssStart = 0;
/** Requests sent, for the summary line. */
let sent = 0;

const send = async (r: Req): Promise<Answer> => {
  sent++;
  return d.send(r);
};

/** Sends and checks: the answer's code is one of `codes`, and an error is a proper Status. */
async function check(r: Req, codes: readonly number[], label = ''): Promise<Answer> {
  const a = await send(r);
  const what = `${describeReq(r)}${label === '' ? '' : ` [${label}]`}`;
  expect(codes, `${what} -> ${a.status} ${a.body.slice(0, 300)}`).toContain(a.status);
  if (a.status >= 400) expectStatus(a, what);
  return a;
}

beforeAll(async () => {
  ensureBuilt();
  await d.start();
  const json = async (path: string): Promise<any> => JSON.parse((await send({ path, read: true })).body);
  for (const [path, body] of [
    [PODS, podWith(NAMES['pods'] as string, `${RUN}-target`)],
    [CMS, validBody('configmaps', NAMES['configmaps'] as string)],
    ['/api/v1/namespaces/default/secrets', validBody('secrets', NAMES['secrets'] as string)],
    ['/api/v1/namespaces', validBody('namespaces', NAMES['namespaces'] as string)],
  ] as const) {
    const a = await send({ method: 'POST', path, body: JSON.stringify(body), read: true });
    expect(a.status, a.body).toBe(201);
  }
  await until('the target pod runs', async () => (await json(`${PODS}/fuzz-target`)).status?.containerStatuses?.[0]?.state?.running !== undefined, 30_000);
  served = ((await json('/api/v1')).resources as Served[]).filter((r) => !r.name.includes('/'));
  const node = (await json('/api/v1/nodes')).items[0].metadata.name as string;
  routes = concreteRoutes(served, node);
  fsBefore = tree(d.root, [d.dataDir]);
  markedBefore = markedOutside(d.root);
  rssStart = d.rss();
}, 120_000);

afterAll(async () => {
  try {
    if (d.alive()) {
      for (const p of JSON.parse((await d.send({ path: PODS, read: true })).body).items as any[]) {
        await d.send({ method: 'DELETE', path: `${PODS}/${p.metadata.name}?gracePeriodSeconds=0` });
      }
    }
  } finally {
    await d.stop();
    d.cleanup();
  }
}, 60_000);

describe('API fuzz against podvisor serve', () => {
  it('covers every route of the table; 401 Status without a valid bearer token on each but the open ones, any method, with or without Upgrade', async () => {
    // Every route is reached by at least one concrete path, and the table's `open` agrees with the check the server runs.
    for (const r of ROUTES) expect(routes.some((c) => c.route === r), `route ${r.path} has no concrete path`).toBe(true);
    for (const c of routes) expect(isOpenPath(pathOf(c.segs)), pathOf(c.segs)).toBe(c.route.open === true);
    const creds = ['none', ...wrongCredentials(d.token)];
    const wrong = creds[1] as string;
    const tasks: (() => Promise<unknown>)[] = [];
    routes.forEach((c, ci) => {
      const path = pathOf(c.segs) + (c.streaming ? '?command=id&stdout=true&ports=80' : '');
      // A method the route lacks: the token is checked before the method (401, not 405).
      const methods: string[] = [...c.methods, c.methods.includes('PUT') ? 'OPTIONS' : 'PUT'];
      methods.forEach((method, mi) => {
        const body = method === 'GET' || method === 'OPTIONS' ? undefined : JSON.stringify(validBody(c.resource ?? '', ABSENT));
        // No token always; two more credentials per method, rotating, so every kind meets every route.
        for (const k of [0, 1 + ((ci + mi) % (creds.length - 1)), 1 + ((ci + mi + 5) % (creds.length - 1))]) {
          const auth = creds[k] as string;
          tasks.push(async () => {
            const a = await send({ method, path, auth, body });
            if (c.route.open) {
              expect([200, 405], `${method} ${path} needs no token`).toContain(a.status);
              if (a.status === 405) expectStatus(a, `${method} ${path}`);
            } else {
              const s = expectStatus(a, describeReq({ method, path, auth, body }), [401]);
              expect(s).toMatchObject({ reason: 'Unauthorized', message: 'Unauthorized' });
            }
          });
        }
        // With the token the route is there (not a 401): a method it lacks is a 405.
        if (!c.route.open && method === methods[methods.length - 1]) tasks.push(() => check({ method, path, body }, [405]));
      });
      if (c.streaming || ci % 7 === 0) {
        UPGRADES.forEach((headers, ui) => tasks.push(async () => {
          const a = await send({ method: 'GET', path, auth: ui === 0 ? 'none' : wrong, headers });
          if (c.route.open) expect(a.status).toBe(200);
          else expectStatus(a, `upgrade ${path}`, [401]);
        }));
      }
    });
    // Nothing is done without the token; a large body is refused without being read.
    tasks.push(() => check({ method: 'POST', path: PODS, auth: 'none', body: JSON.stringify(podWith(`${MARKER}-unauth`, RUN)) }, [401]));
    tasks.push(() => check({ method: 'DELETE', path: `${PODS}/fuzz-target`, auth: wrong }, [401]));
    tasks.push(() => check({ method: 'PUT', path: '/api/v1/nonexistent/path', auth: 'none', body: 'x'.repeat(MAX_BODY + 10) }, [401]));
    await pool(8, tasks);
    expect((await send({ path: `${PODS}/fuzz-target` })).status).toBe(200);
    expect((await send({ path: `${PODS}/${MARKER}-unauth` })).status).toBe(404);
    console.log(`api fuzz: ${routes.length} concrete paths of ${ROUTES.length} routes, ${tasks.length} unauthenticated requests`);
  }, 8_000);

  it('refuses traversal and odd names in every path position (400/404 Status, never 5xx) and trailing slashes change nothing', async () => {
    const tasks: (() => Promise<unknown>)[] = oddPathCases(routes, FULL).map(({ method, path, codes }) => () => check({ method, path, body: method === 'GET' ? undefined : '{}' }, codes));
    for (const c of routes.filter((r) => r.methods.includes('GET'))) {
      const path = pathOf(c.segs);
      tasks.push(async () => {
        const [plain, slash] = [await send({ path }), await send({ path: `${path}/` })];
        expect(slash.status, `GET ${path}/`).toBe(plain.status);
        if (slash.status >= 400) expectStatus(slash, `GET ${path}/`);
      });
    }
    // The query positions that name things: containers and ports.
    const pod = `${PODS}/fuzz-target`;
    // (An empty container is no container: the default one.)
    for (const name of BAD_OBJECT_NAMES.filter((n) => n !== '')) {
      const q = encodeURIComponent(name);
      tasks.push(() => check({ path: `${pod}/log?container=${q}` }, [400]));
      tasks.push(() => check({ path: `${pod}/exec?command=true&stdout=true&container=${q}` }, [400]));
      tasks.push(() => check({ method: 'POST', path: `${pod}/attach?stdout=true&container=${q}`, headers: UPGRADES[0] }, [400]));
      tasks.push(() => check({ method: 'POST', path: `${pod}/exec?command=id&stdout=true&container=${q}`, headers: UPGRADES[1] }, [400]));
      // podvisor's own verb: an unknown container is a bad request too (409 is for the pod's state).
      tasks.push(() => check({ method: 'POST', path: `${pod}/restart?container=${q}` }, [400]));
      tasks.push(() => check({ method: 'POST', path: `${pod}/restart`, body: JSON.stringify({ container: name }) }, [400]));
      tasks.push(() => check({ path: `${pod}/portforward?ports=${q}` }, [400]));
    }
    await pool(8, tasks);
    console.log(`api fuzz: ${tasks.length} requests with odd path segments and names`);
  }, FULL ? 300_000 : 14_000);

  it('refuses objects with odd names and keys (422, or 400 for a namespace that contradicts the URL); none is stored', async () => {
    const collections: Record<string, string> = { pods: PODS, configmaps: CMS, secrets: '/api/v1/namespaces/default/secrets', namespaces: '/api/v1/namespaces' };
    const tasks: (() => Promise<unknown>)[] = [];
    for (const [resource, path] of Object.entries(collections)) {
      for (const name of BAD_OBJECT_NAMES) {
        tasks.push(() => check({ method: 'POST', path, body: JSON.stringify(validBody(resource, name)) }, [422]));
        tasks.push(() => check({ method: 'POST', path, body: JSON.stringify({ ...validBody(resource, ''), metadata: { generateName: name === '' ? '-' : name } }) }, [422]));
      }
      if (resource !== 'namespaces') {
        tasks.push(() => check({ method: 'POST', path, body: JSON.stringify({ ...validBody(resource, `${MARKER}-ns`), metadata: { name: `${MARKER}-ns`, namespace: `../${MARKER}` } }) }, [400]));
      }
    }
    const pod = (f: (p: any) => void): string => {
      const p = validBody('pods', `${MARKER}-pod`);
      f(p);
      return JSON.stringify(p);
    };
    const bad = [`../${MARKER}`, '..', '.', `a/${MARKER}`, `a\\${MARKER}`, `${MARKER}\u0000`, 'Ü'];
    for (const v of bad) {
      tasks.push(() => check({ method: 'POST', path: PODS, body: pod((p) => (p.spec.containers[0].name = v)) }, [422]));
      tasks.push(() => check({ method: 'POST', path: PODS, body: pod((p) => { p.spec.volumes[0].name = v; p.spec.containers[0].volumeMounts[0].name = v; }) }, [422]));
      for (const kind of ['configmaps', 'secrets']) {
        const o = validBody(kind, `${MARKER}-keys`);
        o['data'] = { [v]: kind === 'secrets' ? 'MQ==' : '1' };
        tasks.push(() => check({ method: 'POST', path: collections[kind] as string, body: JSON.stringify(o) }, [422]));
      }
    }
    for (const sub of [`../../escape-target/${MARKER}`, `/${MARKER}`, '..', `a/../../${MARKER}`]) {
      tasks.push(() => check({ method: 'POST', path: PODS, body: pod((p) => (p.spec.containers[0].volumeMounts[0].subPath = sub)) }, [422]));
    }
    tasks.push(() => check({ method: 'POST', path: CMS, body: JSON.stringify({ ...validBody('configmaps', `${MARKER}-dd`), data: { '..data': 'x' } }) }, [422]));
    await pool(8, tasks);
    for (const list of ['/api/v1/pods', '/api/v1/configmaps', '/api/v1/secrets', '/api/v1/namespaces']) {
      const names = (JSON.parse((await send({ path: list, read: true })).body).items as any[]).map((o) => o.metadata.name as string);
      expect(names.filter((n) => n.includes(MARKER)), list).toEqual([]);
    }
  }, 5_000);

  it('refuses malformed, huge and deeply nested bodies on every write route and media type (400, 413, 415, 422; 405 where the verb is not served)', async () => {
    const tasks = malformedCases(routes, served).map(({ req, codes, what }) => () => check(req, codes, what));
    // The reviews type-check their bodies as the objects do (they echoed `verb: 5` back in a 201).
    for (const [path, body] of [
      ['/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', { kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { verb: 5, resource: ['pods'] } } }],
      ['/apis/authentication.k8s.io/v1/selfsubjectreviews', { kind: 'SelfSubjectReview', metadata: 5 }],
      ['/apis/authorization.k8s.io/v1/selfsubjectrulesreviews', { kind: 'SelfSubjectRulesReview', spec: { namespace: ['default'] } }],
    ] as const) tasks.push(() => check({ method: 'POST', path, body: JSON.stringify(body) }, [422]));
    await pool(6, tasks);
    console.log(`api fuzz: ${tasks.length} malformed bodies`);
    expect(d.alive()).toBe(true);
  }, 16_000);

  it('refuses wrong-typed objects on every write route (fast-check, fixed seed): 400 or 422, never stored', async () => {
    const targets = routes.flatMap((c) => c.methods.filter((m) => m === 'POST' || m === 'PUT' || m === 'PATCH').map((method) => ({ c, method })))
      .filter(({ c, method }) => !c.streaming && !isVerb(c) && serves(c, method, served));
    expect(targets.length).toBeGreaterThan(10);
    const PATCHES = ['application/merge-patch+json', 'application/strategic-merge-patch+json', 'application/apply-patch+yaml', 'application/json-patch+json'];
    const arb = fc.tuple(fc.nat(targets.length - 1), fc.nat(), fc.nat(3), fc.boolean()).chain(([ti, pi, enc, yaml]) => {
      const { c, method } = targets[ti] as (typeof targets)[number];
      const nameAt = c.params.find((p) => p.name === 'name')?.index;
      const name = method === 'POST' ? `${MARKER}-new` : (c.segs[nameAt ?? -1] ?? 'x');
      const base = validBody(kindOf(c), name);
      const paths = pathsOf(base);
      const path = paths[pi % paths.length] ?? ['metadata'];
      let at: any = base;
      for (const key of path) at = at[key];
      return wrongValue(at).map((value) => ({ c, method, path, value, body: replaced(base, path, value), enc, yaml }));
    });
    let runs = 0;
    await fc.assert(fc.asyncProperty(arb, async ({ c, method, path, value, body, enc, yaml }) => {
      runs++;
      const url = pathOf(c.segs);
      let r: Req;
      if (method === 'PATCH') {
        const type = PATCHES[enc] as string;
        const text = type === 'application/json-patch+json' ? JSON.stringify([{ op: 'add', path: pointer(path), value }]) : type.includes('yaml') ? stringify(body) : JSON.stringify(body);
        r = { method, path: url, type, body: text };
      } else {
        r = { method, path: url, type: yaml ? 'application/yaml' : 'application/json', body: yaml ? stringify(body) : JSON.stringify(body) };
      }
      await check(r, [400, 422]);
    }), { numRuns: RUNS, seed: SEED, endOnFailure: true });
    expect(runs).toBe(RUNS);
    const names = (JSON.parse((await send({ path: '/api/v1/pods', read: true })).body).items as any[]).map((o) => o.metadata.name as string);
    expect(names.filter((n) => n.includes(MARKER))).toEqual([]);
  }, RUNS > 250 ? 600_000 : 8_000);

  it('answers others in time while slow clients trickle headers and bodies at one byte a second; protocol garbage gets a 4xx', async () => {
    const head = (method: string, path: string, extra = ''): string => `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${d.token}\r\n${extra}`;
    // Headers one byte at a time; a body one byte at a time (authenticated: it is read); nothing
    // at all; a TLS handshake that never completes.
    const trickles: Trickle[] = [];
    for (let i = 0; i < 3; i++) trickles.push(await d.trickle({ tls: true, rest: `${head('GET', PODS)}X-Slow: ${'s'.repeat(64)}\r\n\r\n` }));
    for (let i = 0; i < 3; i++) {
      trickles.push(await d.trickle({ tls: true, first: `${head('POST', CMS, 'Content-Type: application/json\r\nContent-Length: 100000\r\n')}\r\n`, rest: JSON.stringify(validBody('configmaps', `${MARKER}-slow`)) }));
    }
    for (let i = 0; i < 2; i++) trickles.push(await d.trickle({ tls: false, rest: '' }));
    for (let i = 0; i < 2; i++) trickles.push(await d.trickle({ tls: false, first: Buffer.from([0x16, 0x03, 0x01]), rest: Buffer.from(Array.from({ length: 64 }, (_, j) => (j * 31) % 256)) }));
    const pace = setInterval(() => trickles.forEach((t) => t.step()), 1000);
    let slowest = 0;
    let answered = 0;
    try {
      const end = Date.now() + 4000;
      while (Date.now() < end) {
        for (const r of [{ path: PODS, read: true }, { path: '/api/v1/pods', read: true }, { path: '/readyz', read: true, auth: 'none' }, { path: `${CMS}/fuzz-cm`, read: true }] as Req[]) {
          const a = await send({ ...r, timeoutMs: 2000 });
          expect(a.status).toBe(200);
          slowest = Math.max(slowest, a.ms);
          answered++;
        }
        const w = await send({ method: 'PATCH', path: `${CMS}/fuzz-cm`, type: 'application/merge-patch+json', body: JSON.stringify({ data: { slow: String(answered) } }), timeoutMs: 2000 });
        expect(w.status).toBe(200);
      }
      // They still hold their connections: the server neither dropped them nor waited on them.
      expect(trickles.filter((t) => t.closed()).length).toBe(0);
    } finally {
      clearInterval(pace);
      for (const t of trickles) t.end();
    }
    console.log(`api fuzz: ${answered} requests answered beside ${trickles.length} slow clients, slowest ${slowest.toFixed(0)} ms`);
    expect(answered).toBeGreaterThan(10);
    expect(slowest).toBeLessThan(2000);

    // Below HTTP: Node's parser answers as Go's net/http does, a plain 400, 431 or 505 (no
    // Status: the request never reached the API), and closes; the daemon carries on.
    const answers: [string, RegExp][] = [
      ['GARBAGE\r\n\r\n', /^HTTP\/1\.[01] 400 /],
      ['GET /\u00e9 HTTP/1.1\r\nHost: x\r\n\r\n', /^HTTP\/1\.[01] 400 /],
      [`GET ${PODS} HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n`, /^HTTP\/1\.[01] 400 /],
      [`GET ${PODS} HTTP/9.9\r\n\r\n`, /^HTTP\/1\.[01] (400|505) /],
      // 431, or a reset that loses it: the server closes with the rest of the headers unread.
      [`GET ${PODS} HTTP/1.1\r\nHost: x\r\nX-Big: ${'h'.repeat(20_000)}\r\n\r\n`, /^(HTTP\/1\.[01] 431 |$)/],
    ];
    for (const [bytes, answer] of answers) expect((await d.exchange(bytes)).split('\r\n')[0], JSON.stringify(bytes.slice(0, 60))).toMatch(answer);
    expect((await send({ path: PODS })).status).toBe(200);
  }, 10_000);

  it('opens 100 watches at once and drops them abruptly, five rounds: every slot comes back, the 101st is a 429 Status, memory stays bounded', async () => {
    const rv = JSON.parse((await send({ path: CMS, read: true })).body).metadata.resourceVersion as string;
    const paths = [
      `${PODS}?watch=true`, `/api/v1/pods?watch=1&allowWatchBookmarks=true`, `${CMS}?watch=true&resourceVersion=${rv}`, '/api/v1/watch/namespaces/default/configmaps',
      `/api/v1/watch/namespaces/default/pods/fuzz-target`, '/api/v1/namespaces?watch=true', '/api/v1/namespaces/default/events?watch=true', '/api/v1/secrets?watch=true&labelSelector=app%3Dfuzz',
      '/api/v1/watch/namespaces/fuzz-ns', `${CMS}?watch=true&fieldSelector=metadata.name%3Dfuzz-cm&timeoutSeconds=3000000`,
    ];
    // Some as Tables, some asking for an upgrade (which a watch does not do: it is served on the raw connection).
    const extra = (i: number): string => (i % 4 === 0 ? 'Accept: application/json;as=Table;v=v1;g=meta.k8s.io\r\n' : i % 10 === 5 ? 'Connection: Upgrade\r\nUpgrade: websocket\r\n' : '');
    const open = (i: number): ReturnType<FuzzDaemon['openWatch']> => d.openWatch(paths[i % paths.length] as string, extra(i));
    /** Opens watch `i`, again while the server answers 429 (slots of dropped watches are released asynchronously). */
    const admitted = async (i: number): ReturnType<typeof open> => {
      const end = Date.now() + 8_000;
      for (;;) {
        const w = await open(i);
        if (w.status === 200) return w;
        w.raw.destroy();
        expect(w.status).toBe(429);
        if (Date.now() > end) throw new Error('a watch slot was never released');
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    // Each round's 100 are admitted only once the last round's drops released their slots (the per-client limit is 100).
    const rss: number[] = [d.rss()];
    for (let round = 0; round < 5; round++) {
      const watches = await Promise.all(Array.from({ length: 100 }, (_, i) => admitted(i)));
      // The limit holds: the 101st from the same client is refused with Retry-After.
      const refused = await send({ path: `${PODS}?watch=true`, read: true });
      expectStatus(refused, 'the 101st watch', [429]);
      expect(refused.headers['retry-after']).toBe('1');
      // Events fan out to them while they are dropped.
      const patches = Array.from({ length: 5 }, (_, i) => send({ method: 'PATCH', path: `${CMS}/fuzz-cm`, type: 'application/merge-patch+json', body: JSON.stringify({ data: { round: `${round}-${i}`, pad: 'p'.repeat(20_000) } }) }));
      watches.forEach((w, i) => {
        if (i % 3 === 0) w.raw.resetAndDestroy();
        else if (i % 3 === 1) w.tls.destroy();
        else w.tls.end();
      });
      for (const p of await Promise.all(patches)) expect(p.status).toBe(200);
      rss.push(d.rss());
      expect((await send({ path: PODS, timeoutMs: 2000 })).status).toBe(200);
    }
    console.log(`api fuzz: 5 rounds of 100 watches, daemon RSS ${rss.map((r) => r.toFixed(0)).join(' -> ')} MiB`);
    expect(Math.max(...rss) - (rss[0] as number)).toBeLessThan(100);
  }, 12_000);

  it('survives create/delete races on one name: every answer expected, one pod at most, its containers run and no other\'s do', async () => {
    const name = 'fuzz-race';
    const markers: string[] = [];
    const codes = new Map<string, number>();
    const note = (k: string, a: Answer): void => void codes.set(`${k} ${a.status}`, (codes.get(`${k} ${a.status}`) ?? 0) + 1);
    for (let round = 0; round < 20; round++) {
      const mk = (k: string): Req => {
        const marker = `${RUN}-race-${round}-${k}`;
        markers.push(marker);
        return { method: 'POST', path: PODS, body: JSON.stringify(podWith(name, marker)), read: true };
      };
      const del: Req = { method: 'DELETE', path: `${PODS}/${name}?gracePeriodSeconds=${round % 2}`, read: true };
      const cm: Req[] = [
        { method: 'POST', path: CMS, body: JSON.stringify({ ...validBody('configmaps', name), data: { v: `a${round}` } }), read: true },
        { method: 'DELETE', path: `${CMS}/${name}`, read: true },
        { method: 'PUT', path: `${CMS}/${name}`, body: JSON.stringify({ ...validBody('configmaps', name), data: { v: `b${round}` } }), read: true },
      ];
      const [a, x, b, ...rest] = await Promise.all([send(mk('a')), send(del), send(mk('b')), ...cm.map((r) => send(r))]);
      for (const [k, ans, ok] of [['POST pod', a, [201, 409]], ['DELETE pod', x, [200, 202, 404]], ['POST pod', b, [201, 409]], ['POST cm', rest[0], [201, 409]], ['DELETE cm', rest[1], [200, 404]], ['PUT cm', rest[2], [200, 404, 409]]] as const) {
        const r = ans as Answer;
        note(k, r);
        expect(ok as readonly number[], `${k} -> ${r.status} ${r.body.slice(0, 200)}`).toContain(r.status);
        if (r.status >= 400) expectStatus(r, k);
        else expect(JSON.parse(r.body).metadata?.name ?? JSON.parse(r.body).details?.name).toBe(name);
      }
    }
    console.log(`api fuzz: races ${[...codes].map(([k, v]) => `${k}: ${v}`).join(', ')}`);
    expect(codes.get('POST pod 201') ?? 0).toBeGreaterThan(0);
    // Settled: no pod, or one that runs, with exactly its own container's processes alive.
    const live = await until('the raced pod settles', async () => {
      const g = await send({ path: `${PODS}/${name}`, read: true });
      if (g.status === 404) return { marker: undefined as string | undefined };
      const p = JSON.parse(g.body);
      if (p.metadata.deletionTimestamp || p.status?.containerStatuses?.[0]?.state?.running === undefined) return undefined;
      return { marker: p.spec.containers[0].command[3] as string };
    }, 6_000);
    await until('only the live pod\'s container runs', () => markers.every((m) => (processesOf(m).length > 0) === (m === live.marker)), 6_000);
    const list = JSON.parse((await send({ path: PODS, read: true })).body).items as any[];
    expect(list.filter((p) => p.metadata.name === name).length).toBe(live.marker === undefined ? 0 : 1);
    const cmNow = await send({ path: `${CMS}/${name}`, read: true });
    expect([200, 404]).toContain(cmNow.status);
    if (cmNow.status === 200) expect(JSON.parse(cmNow.body).data.v).toMatch(/^[ab]\d+$/);
    // Deleted, nothing of it remains.
    await send({ method: 'DELETE', path: `${PODS}/${name}?gracePeriodSeconds=0` });
    await until('the raced pod is gone with its processes', async () => (await send({ path: `${PODS}/${name}`, read: true })).status === 404 && markers.every((m) => processesOf(m).length === 0), 6_000);
  }, 14_000);

  it('ends alive: answers, logged no crash and no 500, wrote nothing outside its data dir, memory bounded', async () => {
    expect(d.alive()).toBe(true);
    const list = await send({ path: '/api/v1/pods', read: true, timeoutMs: 2000 });
    expect(list.status).toBe(200);
    expect(JSON.parse(list.body).kind).toBe('PodList');
    expect((await send({ path: `${PODS}/fuzz-target`, read: true })).status).toBe(200);
    expect(d.logProblems()).toEqual([]);
    // Not a file more or less around the data dir, nothing in the traversal target, no marked name in the places a traversal reaches.
    const after = tree(d.root, [d.dataDir]);
    expect([...after].filter(([p, v]) => fsBefore.get(p) !== v)).toEqual([]);
    expect([...fsBefore.keys()].filter((p) => !after.has(p))).toEqual([]);
    expect(tree(d.escapeDir).size).toBe(0);
    expect(markedOutside(d.root)).toEqual(markedBefore);
    const rss = d.rss();
    console.log(`api fuzz: ${sent} requests; daemon RSS ${rssStart.toFixed(0)} -> ${rss.toFixed(0)} MiB`);
    expect(rss - rssStart).toBeLessThan(200);
  }, 3_000);
});
