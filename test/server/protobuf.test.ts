/**
 * What real kubectl sends as Kubernetes protobuf, decoded: a small capture server answers
 * discovery, records every POST (content type and body) and answers with the JSON of the
 * decoded body; each typed command's body must decode to what `--dry-run=client -o json`
 * prints for the same command (but the fields the server sets), with kubectl 1.32 and 1.35.
 * `kubectl debug --copy-to` sends a whole Pod: the source pod is built from the decoder's own
 * schema with every field set to a distinct value, so every field kubectl knows goes through
 * Go's encoder and back. Then the real API server: kubectl's protobuf creates work end to end
 * (JSON responses are decoded by kubectl), and malformed protobuf is a 400.
 *
 * Skipped for a missing kubectl, except on CI (`CI=true`), where a missing kubectl fails.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { isDeepStrictEqual } from 'node:util';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeKubernetesProtobuf, KUBERNETES_PROTOBUF } from '../../src/server/protobuf.js';
import { messageSpec, type MessageSpec } from '../../src/server/protobuf/schema.js';
import { startApi, type TestApi } from './helpers.js';

/** The kubectl binaries to run (1.32 and 1.35 by default), named by the version they report. */
const KUBECTLS = [process.env['KUBECTL'] ?? '/usr/bin/kubectl', process.env['KUBECTL_1_35'] ?? new URL('../../.cache/kubectl-1.35/kubectl', import.meta.url).pathname].map((path) => {
  let version = 'missing';
  try {
    version = (JSON.parse(execFileSync(path, ['version', '--client', '-o', 'json']).toString()) as { clientVersion: { gitVersion: string } }).clientVersion.gitVersion;
  } catch {
    // reported below
  }
  return { name: `kubectl ${version} (${path})`, path, have: version !== 'missing' };
});
const onCi = process.env['CI'] === 'true';
const haveOpenssl = ((): boolean => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs kubectl against `server` with no kubeconfig of the user's. */
function kubectl(path: string, server: string, dir: string, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(path, ['--server', server, '--cache-dir', join(dir, 'cache'), ...args], { timeout: 30_000, env: { ...process.env, KUBECONFIG: join(dir, 'no-kubeconfig') } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout: stdout.toString(), stderr: stderr.toString() });
    });
  });
}

// ------------------------------------------------------------------ the capture server

interface Captured {
  method: string;
  path: string;
  contentType: string;
  accept: string;
  body: Buffer;
  /** The body as JSON (decoded from protobuf, or parsed). */
  value: Record<string, unknown>;
}

const resource = (name: string, kind: string, namespaced: boolean): Record<string, unknown> => ({ name, singularName: '', namespaced, kind, verbs: ['create', 'get', 'list', 'delete'] });
const DISCOVERY: Record<string, unknown> = {
  '/api': { kind: 'APIVersions', versions: ['v1'] },
  '/apis': {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: ['authentication.k8s.io', 'authorization.k8s.io'].map((name) => ({ name, versions: [{ groupVersion: `${name}/v1`, version: 'v1' }], preferredVersion: { groupVersion: `${name}/v1`, version: 'v1' } })),
  },
  '/api/v1': {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: 'v1',
    resources: [resource('namespaces', 'Namespace', false), resource('configmaps', 'ConfigMap', true), resource('secrets', 'Secret', true), resource('pods', 'Pod', true)],
  },
  '/apis/authentication.k8s.io/v1': { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: 'authentication.k8s.io/v1', resources: [resource('selfsubjectreviews', 'SelfSubjectReview', false)] },
  '/apis/authorization.k8s.io/v1': { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: 'authorization.k8s.io/v1', resources: [resource('selfsubjectaccessreviews', 'SelfSubjectAccessReview', false)] },
};

/** What the capture server answers to a create: the object, with a status for the reviews. */
function answer(value: Record<string, unknown>): Record<string, unknown> {
  if (value['kind'] === 'SelfSubjectReview') return { ...value, status: { userInfo: { username: 'alice', groups: ['system:authenticated'] } } };
  if (value['kind'] === 'SelfSubjectAccessReview') return { ...value, status: { allowed: true } };
  return value;
}

async function startCapture(sourcePod: unknown): Promise<{ url: string; captured: Captured[]; close(): Promise<void> }> {
  const captured: Captured[] = [];
  const send = (res: ServerResponse, code: number, body: unknown): void => {
    res.writeHead(code, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const handle = (req: IncomingMessage, res: ServerResponse, body: Buffer): void => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    if (req.method === 'GET' && DISCOVERY[path] !== undefined) return send(res, 200, DISCOVERY[path]);
    if (req.method === 'GET' && path === '/api/v1/namespaces/default/pods/src') return send(res, 200, sourcePod);
    if (req.method === 'POST') {
      const contentType = req.headers['content-type'] ?? '';
      const value = contentType === KUBERNETES_PROTOBUF ? decodeKubernetesProtobuf(body).object : (JSON.parse(body.toString()) as Record<string, unknown>);
      captured.push({ method: req.method, path, contentType, accept: req.headers['accept'] ?? '', body, value });
      return send(res, 201, answer(value));
    }
    send(res, 404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404, message: `${path} not found` });
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        handle(req, res, Buffer.concat(chunks));
      } catch (err) {
        send(res, 500, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'InternalError', code: 500, message: String(err) });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  if (addr === null || typeof addr !== 'object') throw new Error('no address');
  return {
    url: `http://127.0.0.1:${addr.port}`,
    captured,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

// ------------------------------------------------------------------ a pod with every field set

/**
 * A JSON value of `spec` with every field set to a value no other field has (strings `s<n>`,
 * numbers `<n>`, one element per slice and map), so that a field decoded at the wrong place
 * or with the wrong type shows. Only kubectl's Go types decide what survives: fields newer
 * than its version are dropped on its side.
 */
function everyField(spec: MessageSpec, next: () => number): Record<string, unknown> {
  const obj: Record<string, unknown> = {};
  for (const f of spec.fields) {
    const one = (): unknown => {
      if (f.scalar === 'string') return `s${next()}`;
      if (f.scalar === 'int32' || f.scalar === 'int64') return next();
      if (f.scalar === 'bool') return true;
      if (f.scalar === 'bytes') return Buffer.from(`b${next()}`).toString('base64');
      const m = f.message as string;
      if (m === 'meta.Time') return new Date(Date.UTC(2024, 0, 1) + next() * 1000).toISOString().replace('.000Z', 'Z');
      if (m === 'resource.Quantity') return `${next()}`;
      if (m === 'intstr.IntOrString') return next() % 2 === 0 ? next() : `p${next()}`;
      if (m === 'meta.FieldsV1') return { [`f:s${next()}`]: {} };
      return everyField(messageSpec(m), next);
    };
    const v = f.card === 'list' ? [one()] : f.card === 'map' ? { [`k${next()}`]: one() } : one();
    if (f.inline) Object.assign(obj, v);
    else obj[f.name] = v;
  }
  return obj;
}

/** Leaf paths of a JSON value with their values (`spec.containers[0].name`). */
function leaves(v: unknown, path = '', out = new Map<string, unknown>()): Map<string, unknown> {
  if (Array.isArray(v)) v.forEach((x, i) => leaves(x, `${path}[${i}]`, out));
  else if (v !== null && typeof v === 'object' && Object.keys(v).length > 0) for (const [k, x] of Object.entries(v)) leaves(x, path === '' ? k : `${path}.${k}`, out);
  else out.set(path, v);
  return out;
}

function openssl(dir: string): { cert: string; key: string } | undefined {
  const cert = join(dir, 'tls.crt');
  const key = join(dir, 'tls.key');
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=podvisor-test'], { stdio: 'ignore' });
    return { cert, key };
  } catch {
    return undefined;
  }
}

// ------------------------------------------------------------------ kubectl's bodies

for (const k of KUBECTLS) {
  const have = k.have;
  if (!have && onCi) {
    describe(k.name, () => {
      it('is installed on CI', () => {
        throw new Error(`${k.name} not found at ${k.path}`);
      });
    });
  }

  describe.skipIf(!have)(`${k.name}: typed commands send protobuf, decoded as the JSON kubectl prints`, () => {
    let dir: string;
    let capture: Awaited<ReturnType<typeof startCapture>>;
    let tls: { cert: string; key: string } | undefined;
    let counter = 0;
    const pod = everyField(messageSpec('Pod'), () => ++counter);
    const sourcePod = { apiVersion: 'v1', kind: 'Pod', ...pod, metadata: { ...(pod['metadata'] as object), name: 'src', namespace: 'default' } };

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'podvisor-protobuf-'));
      writeFileSync(join(dir, 'binary'), Buffer.from([0, 1, 2, 0xfe, 0xff]));
      tls = openssl(dir);
      capture = await startCapture(sourcePod);
    });

    afterAll(async () => {
      await capture?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    const run = (args: string[]): Promise<Run> => kubectl(k.path, capture.url, dir, args);

    /** Runs the command, returns the one POST it made (protobuf, with a JSON fallback accepted). */
    const post = async (args: string[]): Promise<{ run: Run; req: Captured }> => {
      const before = capture.captured.length;
      const r = await run(args);
      const reqs = capture.captured.slice(before);
      expect(reqs, `${args.join(' ')}: ${r.stderr}`).toHaveLength(1);
      const req = reqs[0] as Captured;
      expect(req.contentType).toBe(KUBERNETES_PROTOBUF);
      expect(req.accept).toContain('application/json');
      expect([...req.body.subarray(0, 4)]).toEqual([0x6b, 0x38, 0x73, 0x00]);
      return { run: r, req };
    };

    /** The body of `create ...` equals `create ... --dry-run=client -o json`, but creationTimestamp (the server's). */
    const matchesDryRun = async (args: string[]): Promise<Record<string, unknown>> => {
      const { run: r, req } = await post(args);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const dry = await run([...args, '--dry-run=client', '-o', 'json']);
      expect(dry.code, dry.stderr).toBe(0);
      const printed = JSON.parse(dry.stdout) as { metadata: Record<string, unknown> };
      delete printed.metadata['creationTimestamp'];
      expect(req.value).toEqual(printed);
      return req.value;
    };

    it('create namespace', async () => {
      expect(await matchesDryRun(['create', 'namespace', 'pb-ns'])).toEqual({ kind: 'Namespace', apiVersion: 'v1', metadata: { name: 'pb-ns' }, spec: {}, status: {} });
    });

    it('create configmap --from-literal (and --from-file of binary data: binaryData)', async () => {
      expect(await matchesDryRun(['create', 'configmap', 'cm', '--from-literal=a=b', '--from-literal=empty='])).toEqual({ kind: 'ConfigMap', apiVersion: 'v1', metadata: { name: 'cm' }, data: { a: 'b', empty: '' } });
      const bin = await matchesDryRun(['create', 'configmap', 'bin', `--from-file=${join(dir, 'binary')}`]);
      expect(bin['binaryData']).toEqual({ binary: 'AAEC/v8=' });
    });

    it('create secret generic (literal, binary file, type)', async () => {
      const s = await matchesDryRun(['create', 'secret', 'generic', 'gen', '--from-literal=user=admin', `--from-file=${join(dir, 'binary')}`, '--type=example.com/t']);
      expect(s).toEqual({ kind: 'Secret', apiVersion: 'v1', metadata: { name: 'gen' }, data: { user: 'YWRtaW4=', binary: 'AAEC/v8=' }, type: 'example.com/t' });
    });

    it('create secret docker-registry', async () => {
      const s = await matchesDryRun(['create', 'secret', 'docker-registry', 'reg', '--docker-server=registry.example', '--docker-username=u', '--docker-password=p', '--docker-email=u@example.com']);
      expect(s['type']).toBe('kubernetes.io/dockerconfigjson');
      const cfg = JSON.parse(Buffer.from((s['data'] as Record<string, string>)['.dockerconfigjson'] ?? '', 'base64').toString()) as { auths: Record<string, unknown> };
      expect(Object.keys(cfg.auths)).toEqual(['registry.example']);
    });

    it.skipIf(!onCi && !haveOpenssl)('create secret tls', async () => {
      if (!tls) throw new Error('openssl failed');
      const s = await matchesDryRun(['create', 'secret', 'tls', 'tls', `--cert=${tls.cert}`, `--key=${tls.key}`]);
      expect(s['type']).toBe('kubernetes.io/tls');
      expect(Buffer.from((s['data'] as Record<string, string>)['tls.crt'] ?? '', 'base64').toString()).toMatch(/^-----BEGIN CERTIFICATE-----/);
    });

    it('auth whoami: a SelfSubjectReview; the JSON answer is what kubectl prints', async () => {
      const { run: r, req } = await post(['auth', 'whoami']);
      expect(req.path).toBe('/apis/authentication.k8s.io/v1/selfsubjectreviews');
      expect(req.value).toEqual({ kind: 'SelfSubjectReview', apiVersion: 'authentication.k8s.io/v1', metadata: {}, status: { userInfo: {} } });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/Username\s+alice/);
    });

    it('auth can-i: a SelfSubjectAccessReview for a resource and for a non-resource URL', async () => {
      const { run: r, req } = await post(['auth', 'can-i', 'get', 'pods']);
      expect(req.path).toBe('/apis/authorization.k8s.io/v1/selfsubjectaccessreviews');
      expect(req.value).toEqual({
        kind: 'SelfSubjectAccessReview',
        apiVersion: 'authorization.k8s.io/v1',
        metadata: {},
        spec: { resourceAttributes: { namespace: 'default', verb: 'get', resource: 'pods' } },
        status: { allowed: false },
      });
      expect(r.stdout.trim()).toBe('yes');
      const sub = await post(['auth', 'can-i', 'list', 'pods', '--subresource=log', '-n', 'kube-system']);
      expect(sub.req.value['spec']).toEqual({ resourceAttributes: { namespace: 'kube-system', verb: 'list', resource: 'pods', subresource: 'log' } });
      const url = await post(['auth', 'can-i', 'get', '/logs']);
      expect(url.req.value['spec']).toEqual({ nonResourceAttributes: { path: '/logs', verb: 'get' } });
    });

    it('debug --copy-to: the whole pod spec, every field kubectl knows, comes back as sent', async () => {
      const keep = ['--keep-labels', '--keep-annotations', '--keep-liveness', '--keep-readiness', '--keep-startup', '--same-node'];
      const { req } = await post(['debug', 'src', '--copy-to=src-copy', '--image=busybox', '--container=dbg', ...keep]);
      expect(req.path).toBe('/api/v1/namespaces/default/pods');
      const copy = req.value as { metadata: Record<string, unknown>; spec: { containers: Record<string, unknown>[] } };
      expect(copy.metadata['name']).toBe('src-copy');
      expect(copy.spec.containers.at(-1)).toMatchObject({ name: 'dbg', image: 'busybox' });
      copy.spec.containers.pop();
      // Every leaf of the copy's spec is the source's (nothing misplaced, no wrong type) ...
      const sent = leaves(pod['spec']);
      const got = leaves(copy.spec);
      const changed = [...got].filter(([p, v]) => !(sent.has(p) && isDeepStrictEqual(sent.get(p), v))).map(([p]) => p);
      // ... but what kubectl debug itself changes.
      expect(changed.filter((p) => !/^(ephemeralContainers|shareProcessNamespace)\b/.test(p))).toEqual([]);
      // And kubectl knows most of the fields: what is missing is newer than it (of the 689
      // leaves of this table's 1.37 PodSpec but the ephemeral containers, which debug leaves
      // out of a copy, 1.32 sends 630 and 1.35 sends 654).
      const kept = [...sent.keys()].filter((p) => !p.startsWith('ephemeralContainers'));
      expect(kept.filter((p) => got.has(p)).length).toBeGreaterThan(0.85 * kept.length);
    });
  });
}

// ------------------------------------------------------------------ against the API server

const first = KUBECTLS.find((k) => k.have);

describe('protobuf bodies against the API server', () => {
  let api: TestApi;
  let dir: string;

  beforeAll(async () => {
    api = await startApi();
    dir = mkdtempSync(join(tmpdir(), 'podvisor-protobuf-api-'));
  });

  afterAll(async () => {
    await api?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(!first)('kubectl create namespace, configmap and secret work end to end (JSON answers)', async () => {
    const k = (args: string[]): Promise<Run> => kubectl(first?.path ?? '', api.url, dir, args);
    const ns = await k(['create', 'namespace', 'pb']);
    expect(ns.stderr).toBe('');
    expect(ns.stdout.trim()).toBe('namespace/pb created');
    const cm = await k(['create', 'configmap', 'cm', '-n', 'pb', '--from-literal=a=b']);
    expect(cm.stderr).toBe('');
    expect(cm.stdout.trim()).toBe('configmap/cm created');
    const secret = await k(['create', 'secret', 'generic', 's', '-n', 'pb', '--from-literal=k=v']);
    expect(secret.stderr).toBe('');
    expect(secret.stdout.trim()).toBe('secret/s created');
    const got = await api.req('/api/v1/namespaces/pb/secrets/s');
    expect(await got.json()).toMatchObject({ kind: 'Secret', metadata: { name: 's', namespace: 'pb' }, data: { k: 'dg==' } });
    const again = await k(['create', 'configmap', 'cm', '-n', 'pb', '--from-literal=a=b']);
    expect(again.stderr.trim()).toBe('error: failed to create configmap: configmaps "cm" already exists');
  });

  it('answers 400 for malformed protobuf, with the API server\'s wording', async () => {
    const post = (path: string, body: Buffer): Promise<Response> => api.req(path, { method: 'POST', body, headers: { 'content-type': KUBERNETES_PROTOBUF } });
    const notProto = await post('/api/v1/namespaces', Buffer.from('{"kind":"Namespace"}'));
    expect(notProto.status).toBe(400);
    expect(await notProto.json()).toMatchObject({
      kind: 'Status',
      reason: 'BadRequest',
      code: 400,
      message: 'the object provided is unrecognized: provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]',
    });
    // kubectl 1.35's `create namespace foo`: cut short (in the envelope), then with a wrong wire type for metadata.name.
    const ns = Buffer.from('6b3873000a0f0a02763112094e616d657370616365121b0a130a03666f6f12001a0022002a0032003800420012001a020a001a002200', 'hex');
    const cut = await post('/api/v1/namespaces', ns.subarray(0, ns.length - 3));
    expect(cut.status).toBe(400);
    expect(await cut.json()).toMatchObject({ reason: 'BadRequest', message: 'the object provided is unrecognized: unexpected EOF' });
    const bad = Buffer.from(ns);
    expect(bad.subarray(25, 30).toString('hex')).toBe('0a03666f6f');
    bad[25] = 0x08;
    const wireType = await post('/api/v1/namespaces', bad);
    expect(wireType.status).toBe(400);
    expect(await wireType.json()).toMatchObject({ reason: 'BadRequest', message: 'Namespace in version "v1" cannot be handled as a Namespace: proto: wrong wireType = 0 for field name' });
    const whole = await post('/api/v1/namespaces', ns);
    expect(whole.status).toBe(201);
    expect(await whole.json()).toMatchObject({ kind: 'Namespace', metadata: { name: 'foo' }, status: { phase: 'Active' } });
    // DeleteOptions in protobuf (client-go's typed Delete): preconditions refused, then honoured.
    const lenDelim = (no: number, data: Buffer | string): Buffer => {
      const d = Buffer.from(data);
      return Buffer.concat([Buffer.from([(no << 3) | 2, d.length]), d]);
    };
    const deleteOptions = (uid: string): Buffer =>
      Buffer.concat([Buffer.from([0x6b, 0x38, 0x73, 0x00]), lenDelim(1, Buffer.concat([lenDelim(1, 'v1'), lenDelim(2, 'DeleteOptions')])), lenDelim(2, lenDelim(2, lenDelim(1, uid)))]);
    const del = (body: Buffer): Promise<Response> => api.req('/api/v1/namespaces/foo', { method: 'DELETE', body, headers: { 'content-type': KUBERNETES_PROTOBUF } });
    const refused = await del(deleteOptions('wrong-uid'));
    expect(refused.status).toBe(409);
    expect(await refused.json()).toMatchObject({ reason: 'Conflict', message: expect.stringContaining('Precondition failed: UID in precondition: wrong-uid') });
    const uid = ((await (await api.req('/api/v1/namespaces/foo')).json()) as { metadata: { uid: string } }).metadata.uid;
    const deleted = await del(deleteOptions(uid));
    expect(deleted.status).toBe(200);
    // The kind in the body must match the URL's, as for JSON.
    const wrong = await post('/api/v1/namespaces/default/configmaps', ns);
    expect(wrong.status).toBe(400);
    expect(await wrong.json()).toMatchObject({ message: 'the kind in the data (Namespace) does not match the expected kind (ConfigMap)' });
  });
});
