/**
 * Test fixture for the OCI image puller: real registries on loopback (Debian's `docker-registry`,
 * i.e. CNCF distribution 2.8) and real images built from Debian's busybox-static with GNU tar and
 * umoci, pushed with skopeo. Nothing leaves 127.0.0.1.
 *
 * ```ts
 * startRegistry(opts?: { tokenAuth?: boolean }): Promise<TestRegistry>
 * buildImages(reg: TestRegistry, opts?: { tokenRegistry?: TestRegistry }): Promise<BuiltImages>
 * fixtureProblem(): string | undefined   // why the fixture cannot run here (a tool is missing)
 * LAYERS_IMAGE                           // what the images contain, for assertions
 * MEDIA, ACCEPT_ALL                      // media types; an Accept header for every manifest type
 * fetchToken(token, scopes, creds?)      // a Bearer token from a token registry's server
 * run(cmd, args, { env?, input? })       // execFile that rejects with stderr
 * ```
 *
 * Registries (`startRegistry`): plain HTTP on `127.0.0.1:<free port>`, filesystem storage in a
 * temp dir, deletes enabled, access log on. `requests()` lists `METHOD /uri` of every request the
 * registry served, in order, parsed from its access log (`accessLog()` adds status and user
 * agent). The registry writes a log line after it has answered, so a client can see its response
 * before the line exists: call `settle()` first (it sends a marker request, waits until the marker
 * is logged and returns `requests()`); to look at what a test did, take
 * `const n = (await reg.settle()).length` before and `(await reg.settle()).slice(n)` after.
 * Marker and readiness requests are not listed. `buildImages` leaves its own pushes and manifest
 * GETs in the log.
 *
 * With `tokenAuth: true` the registry uses the Docker token flow: an anonymous request gets 401
 * with `WWW-Authenticate: Bearer realm="http://127.0.0.1:P/token",service="podvisor-test-registry"`
 * (plus `scope=` on repository URLs). The token server (`token.realm`) answers
 * `GET /token?service=…&scope=repository:NAME:pull,push` (several `scope`s allowed) only with HTTP
 * Basic `tester:secret` (else 401) with `{token, access_token, expires_in: 300, issued_at}`: an
 * RS256 JWT whose header carries the self-signed certificate (`x5c`) the registry trusts, granting
 * the requested actions. `token.requests()` lists the token requests (`GET /token?…`, including
 * refused ones).
 *
 * Images (`buildImages`); digests are computed from the bytes the registry serves (and checked
 * against its `Docker-Content-Digest`); `layers`/`config` are those of the linux/amd64 manifest:
 * - `podvisor-test/layers:v1`: OCI manifest, config with linux/amd64, 3 `tar+gzip` layers:
 *   1. `bin/busybox` (static) and relative applet symlinks `bin/sh -> busybox`, …; `etc/motd`
 *      (`layer1`), `data/keep`, `data/gone`, `opq/old1`, `opq/old2`, `usr/lib/marker`;
 *   2. whiteout `data/.wh.gone`, opaque whiteout `opq/.wh..wh..opq` plus `opq/new`, a hard link
 *      `hl/b` to `hl/a` (a tar hard link entry), absolute symlinks `abs -> /etc/motd` and
 *      `lib -> /usr/lib` (a directory of layer 1);
 *   3. `etc/motd` = `layer3`.
 *   Config: Cmd `/bin/sh -c 'echo hello'`, Env `PATH=/bin GREETING=from-image`, WorkingDir
 *   `/data`, no User. See `LAYERS_IMAGE` for the merged tree.
 * - `podvisor-test/zstd:v1`: the same image with `tar+zstd` layers (same config, same diff_ids).
 * - `podvisor-test/multi:v1`: OCI image index (linux/amd64, linux/arm64); both manifests use the
 *   layers above, with their own configs (`architecture`, Env plus `PLATFORM=amd64|arm64`).
 * - `podvisor-test/multi-docker:v1`: the same as a Docker manifest list
 *   (`application/vnd.docker.distribution.manifest.list.v2+json`) of Docker v2 schema 2 manifests
 *   (skopeo's conversion: `rootfs.diff.tar.gzip` layers, the same layer and config blobs, the
 *   config referenced as `application/vnd.docker.container.image.v1+json`).
 * - `podvisor-test/private:v1` on `tokenRegistry` (when given): the layers image.
 * The OCI manifests are umoci's: they leave out the optional `mediaType` field, so a client must
 * go by the response's Content-Type (or the index's descriptor); the index and the Docker
 * manifests carry it.
 *
 * How: GNU tar builds the layer tars from directories (sorted, owner 0:0, fixed mtime), umoci puts
 * them in an OCI layout (`init`, `new`, `raw add-layer`, `config`), skopeo converts locally (zstd
 * into a second OCI layout, v2s2 into `dir:` copies) and pushes everything with
 * `--preserve-digests`, so the registry gets exactly these manifests and skopeo's blob-info cache
 * cannot swap a blob for another compression of it. The index and the manifest list are PUT with
 * `fetch`. Manifests of an index are pushed by digest (no extra tags). Builds are deterministic
 * (fixed times; the digests change only with the host's busybox). A build with the token registry
 * takes about 2 s (ten skopeo runs): do it once per test file, in `beforeAll`.
 *
 * skopeo 1.9 limitation met: `skopeo copy --dest-compress-format zstd … docker://` silently keeps
 * gzip layers when the registry already has the gzip blobs (it reuses them through its blob-info
 * cache); converting into a fresh local OCI layout first and pushing that with
 * `--preserve-digests` does produce `tar+zstd` layers.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes, randomUUID, sign, X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, copyFile, link, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';

// ------------------------------------------------------------------------------- media types

export const MEDIA = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

/** Every manifest media type, for `Accept`. */
export const ACCEPT_ALL = [MEDIA.ociIndex, MEDIA.ociManifest, MEDIA.dockerList, MEDIA.dockerManifest].join(', ');

// ------------------------------------------------------------------------------- image content

const APPLETS = ['sh', 'ls', 'cat', 'id', 'touch', 'sleep', 'echo', 'tar', 'stat', 'readlink'] as const;

/** What the layers image (and the zstd, multi, private images) contain, for assertions. */
export const LAYERS_IMAGE = {
  cmd: ['/bin/sh', '-c', 'echo hello'],
  env: ['PATH=/bin', 'GREETING=from-image'],
  workingDir: '/data',
  /** busybox applets, each `bin/<name> -> busybox`. */
  applets: APPLETS,
  /** The root file system after applying the three layers in order. */
  merged: {
    /** Regular files and their content (`bin/busybox` is /bin/busybox of the host). */
    files: {
      'etc/motd': 'layer3\n',
      'data/keep': 'keep\n',
      'opq/new': 'new\n',
      'usr/lib/marker': 'marker\n',
      'hl/a': 'hardlink\n',
      'hl/b': 'hardlink\n',
    } as Record<string, string>,
    /** Paths that must not exist: whited out, hidden by the opaque dir, or whiteout markers. */
    absent: ['data/gone', 'opq/old1', 'opq/old2', 'data/.wh.gone', 'opq/.wh..wh..opq'],
    /** Symlinks and their targets, as stored. */
    symlinks: { abs: '/etc/motd', lib: '/usr/lib', ...Object.fromEntries(APPLETS.map((a) => [`bin/${a}`, 'busybox'])) } as Record<string, string>,
    /** Paths that are one inode. */
    hardLinks: [['hl/a', 'hl/b']] as [string, string][],
  },
} as const;

/** Fixed times so that the same build gives the same digests. */
const MTIME = 1_700_000_000;
const CREATED = new Date(MTIME * 1000).toISOString();

// ------------------------------------------------------------------------------- types

export interface AccessLogEntry { method: string; uri: string; status: number; userAgent: string }

export interface TestRegistry {
  /** `127.0.0.1:PORT` (plain HTTP). */
  host: string;
  /** `METHOD /uri` of every request served, in order, from the access log (see the module comment). */
  requests(): string[];
  /** The same with status and user agent. */
  accessLog(): AccessLogEntry[];
  /** Waits until every request answered so far is in the log; returns `requests()`. */
  settle(): Promise<string[]>;
  /** Present when started with `tokenAuth: true`. */
  token?: TokenServer;
  /** Kills the registry (and token server) and removes its temp dir. */
  stop(): Promise<void>;
}

export interface TokenServer {
  /** `http://127.0.0.1:PORT/token`. */
  realm: string;
  /** The `service` of the challenge and the JWT `aud`. */
  service: string;
  /** The JWT `iss`. */
  issuer: string;
  user: string;
  password: string;
  /** `GET /token?…` of every token request, in order (also the refused ones). */
  requests(): string[];
}

export interface BuiltImage {
  /** `127.0.0.1:PORT/podvisor-test/layers:v1`. */
  ref: string;
  /** `podvisor-test/layers`. */
  repository: string;
  tag: string;
  /** Digest of the manifest (or index / list) as the registry serves it. */
  digest: string;
  /** Its media type. */
  mediaType: string;
  /** Layer digests of the (linux/amd64) manifest. */
  layers: string[];
  /** Config digest of the (linux/amd64) manifest. */
  config: string;
}

export interface MultiImage extends BuiltImage {
  /** `linux/amd64` -> manifest digest. */
  platforms: Record<string, string>;
}

export interface BuiltImages {
  layers: BuiltImage;
  zstd: BuiltImage;
  multi: MultiImage;
  multiDocker: MultiImage;
  /** On the token registry, when one was given. */
  private?: BuiltImage;
}

// ------------------------------------------------------------------------------- tools

const TOOLS = ['docker-registry', 'skopeo', 'umoci', 'tar', 'zstd', 'openssl'];
const BUSYBOX = '/bin/busybox';

function onPath(cmd: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((d) => d !== '' && existsSync(join(d, cmd)));
}

/** Why the fixture cannot run on this machine (a missing tool), or undefined. */
export function fixtureProblem(): string | undefined {
  const missing = TOOLS.filter((t) => !onPath(t));
  if (!existsSync(BUSYBOX)) missing.push(BUSYBOX);
  return missing.length > 0 ? `missing: ${missing.join(', ')} (Debian: docker-registry skopeo umoci tar zstd openssl busybox-static)` : undefined;
}

/** Runs a command; rejects with its stderr when it fails. */
export function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: Buffer } = {}): Promise<{ stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { env: opts.env ?? process.env, encoding: 'buffer', maxBuffer: 256 << 20, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${err.message}\n${stderr.toString()}`));
      else resolve({ stdout, stderr: stderr.toString() });
    });
    if (opts.input) child.stdin?.end(opts.input);
  });
}

const sha256 = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** Polls `fn` every 20 ms until it returns a value; throws at the deadline. */
async function poll<T>(fn: () => Promise<T | undefined> | T | undefined, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function freePort(): Promise<number> {
  const srv = createNetServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => resolve());
  });
  const addr = srv.address();
  await new Promise((r) => srv.close(r));
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  return addr.port;
}

// ------------------------------------------------------------------------------- token server

const SERVICE = 'podvisor-test-registry';
const ISSUER = 'podvisor-test-token-issuer';
const USER = 'tester';
const PASSWORD = 'secret';

const b64url = (b: Buffer | string): string => Buffer.from(b).toString('base64url');

/** `repository:NAME:pull,push` -> an access claim (the name may contain `:`, the actions not). */
function accessOf(scope: string): { type: string; name: string; actions: string[] } | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first <= 0 || last <= first) return undefined;
  return { type: scope.slice(0, first), name: scope.slice(first + 1, last), actions: scope.slice(last + 1).split(',').filter((a) => a !== '') };
}

async function startTokenServer(dir: string): Promise<{ server: Server; token: TokenServer; certPath: string }> {
  const keyPath = join(dir, 'token.key');
  const certPath = join(dir, 'token.crt');
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '2', '-subj', `/CN=${ISSUER}`]);
  const key = await readFile(keyPath, 'utf8');
  const certDer = new X509Certificate(await readFile(certPath)).raw.toString('base64');
  const log: string[] = [];
  const expected = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    log.push(`${req.method ?? '?'} ${req.url ?? ''}`);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.method !== 'GET' || url.pathname !== '/token') {
      res.writeHead(404).end();
      return;
    }
    if (req.headers.authorization !== expected) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="podvisor-test"', 'content-type': 'application/json' })
        .end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'user tester, password secret' }] }));
      return;
    }
    const access = url.searchParams.getAll('scope').flatMap((s) => s.split(' ')).map(accessOf).filter((a) => a !== undefined);
    const now = Math.floor(Date.now() / 1000);
    const header = { typ: 'JWT', alg: 'RS256', x5c: [certDer] };
    const claims = {
      iss: ISSUER, sub: USER, aud: url.searchParams.get('service') ?? SERVICE,
      exp: now + 300, nbf: now - 10, iat: now, jti: randomUUID(), access,
    };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const jwt = `${input}.${b64url(sign('sha256', Buffer.from(input), key))}`;
    res.writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ token: jwt, access_token: jwt, expires_in: 300, issued_at: new Date(now * 1000).toISOString() }));
  };

  const server = createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('token server has no port');
  return {
    server, certPath,
    token: { realm: `http://127.0.0.1:${addr.port}/token`, service: SERVICE, issuer: ISSUER, user: USER, password: PASSWORD, requests: () => [...log] },
  };
}

// ------------------------------------------------------------------------------- registry

/** Apache combined log format, as distribution writes it to stdout. */
const ACCESS_LINE = /^\S+ \S+ \S+ \[[^\]]*\] "(\S+) (\S+) [^"]*" (\d{3}) \S+ "[^"]*" "([^"]*)"/;
const MARK = 'podvisor-fixture-mark=';

function registryConfig(dir: string, port: number, auth: { token: TokenServer; certPath: string } | undefined): string {
  const lines = [
    'version: 0.1',
    'log:',
    '  level: info',
    '  accesslog:',
    '    disabled: false',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(dir, 'storage')}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    `  secret: ${randomBytes(16).toString('hex')}`,
  ];
  if (auth) {
    lines.push(
      'auth:',
      '  token:',
      `    realm: ${auth.token.realm}`,
      `    service: ${auth.token.service}`,
      `    issuer: ${auth.token.issuer}`,
      `    rootcertbundle: ${auth.certPath}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** Starts `docker-registry serve` on a free loopback port (see the module comment). */
export async function startRegistry(opts: { tokenAuth?: boolean } = {}): Promise<TestRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'podvisor-registry-'));
  let tokenServer: Server | undefined;
  try {
    const auth = opts.tokenAuth ? await startTokenServer(dir) : undefined;
    tokenServer = auth?.server;
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const cfg = join(dir, 'config.yml');
      await writeFile(cfg, registryConfig(dir, port, auth));
      const started = await launch(cfg, `127.0.0.1:${port}`);
      if ('retry' in started) {
        if (attempt < 5) continue;
        throw new Error(`docker-registry could not listen: ${started.retry}`);
      }
      const { child, entries } = started;
      const host = `127.0.0.1:${port}`;
      let marks = 0;
      const visible = (): AccessLogEntry[] => entries.filter((e) => !e.uri.includes(MARK));
      const reg: TestRegistry = {
        host,
        requests: () => visible().map((e) => `${e.method} ${e.uri}`),
        accessLog: () => visible().map((e) => ({ ...e })),
        settle: async () => {
          const mark = `${MARK}${++marks}`;
          await (await fetch(`http://${host}/v2/?${mark}`)).arrayBuffer();
          await poll(() => (entries.some((e) => e.uri.endsWith(mark)) ? true : undefined), 10_000, `access log line of ${mark}`);
          return reg.requests();
        },
        stop: async () => {
          await stopChild(child);
          if (tokenServer) await new Promise((r) => tokenServer?.close(r));
          await rm(dir, { recursive: true, force: true });
        },
      };
      if (auth) reg.token = auth.token;
      return reg;
    }
  } catch (err) {
    if (tokenServer) await new Promise((r) => tokenServer?.close(r));
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** Spawns the registry and waits until `GET /v2/` answers (any status); `retry` when the port was taken. */
async function launch(cfg: string, host: string): Promise<{ child: ChildProcess; entries: AccessLogEntry[] } | { retry: string }> {
  // With util-linux's setpriv (it execs), the registry dies with the test process if stop() is
  // never called (a killed vitest worker).
  const argv = ['docker-registry', 'serve', cfg];
  const [cmd, ...args] = onPath('setpriv') ? ['setpriv', '--pdeathsig', 'KILL', '--', ...argv] : argv;
  const child = spawn(cmd ?? 'docker-registry', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const entries: AccessLogEntry[] = [];
  let stderr = '';
  let partial = '';
  let exited: string | undefined;
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      const m = ACCESS_LINE.exec(line);
      if (m) entries.push({ method: m[1] ?? '', uri: m[2] ?? '', status: Number(m[3]), userAgent: m[4] ?? '' });
    }
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-8192);
  });
  child.on('error', (err) => { exited = err.message; });
  child.on('exit', (code, signal) => { exited ??= `exited with ${signal ?? code}`; });
  try {
    await poll(async () => {
      if (exited !== undefined) throw new Error(`docker-registry ${exited}: ${stderr}`);
      try {
        const res = await fetch(`http://${host}/v2/?${MARK}ready`, { signal: AbortSignal.timeout(2000) });
        await res.arrayBuffer();
        return true;
      } catch {
        return undefined;
      }
    }, 15_000, `docker-registry on ${host}`);
  } catch (err) {
    await stopChild(child);
    if (/address already in use/.test(stderr)) return { retry: stderr };
    throw err;
  }
  return { child, entries };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return; // not started, or gone
  const gone = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await gone;
  clearTimeout(timer);
}

// ------------------------------------------------------------------------------- registry API client

/** A Bearer token from the registry's token server, for `scope`s like `repository:NAME:pull`. */
export async function fetchToken(token: TokenServer, scopes: string[], creds: { user: string; password: string } = token): Promise<string> {
  const url = new URL(token.realm);
  url.searchParams.set('service', token.service);
  for (const s of scopes) url.searchParams.append('scope', s);
  const res = await fetch(url, { headers: { authorization: `Basic ${Buffer.from(`${creds.user}:${creds.password}`).toString('base64')}` } });
  const body = await res.text();
  if (res.status !== 200) throw new Error(`token server: ${res.status} ${body}`);
  return (JSON.parse(body) as { token: string }).token;
}

/** A request to the registry API, with a token for `repository:<repo>:pull,push` on a token registry. */
async function api(reg: TestRegistry, repo: string, path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (reg.token) headers.set('authorization', `Bearer ${await fetchToken(reg.token, [`repository:${repo}:pull,push`])}`);
  return fetch(`http://${reg.host}/v2/${repo}/${path}`, { ...init, headers });
}

/** A manifest as served: bytes, media type, digest (checked against `Docker-Content-Digest`). */
async function getManifest(reg: TestRegistry, repo: string, ref: string): Promise<{ raw: Buffer; mediaType: string; digest: string }> {
  const res = await api(reg, repo, `manifests/${ref}`, { headers: { accept: ACCEPT_ALL } });
  const raw = Buffer.from(await res.arrayBuffer());
  if (res.status !== 200) throw new Error(`GET ${repo} manifest ${ref}: ${res.status} ${raw.toString()}`);
  const digest = sha256(raw);
  const served = res.headers.get('docker-content-digest');
  if (served !== digest) throw new Error(`${repo}:${ref}: Docker-Content-Digest ${served} but the body hashes to ${digest}`);
  return { raw, mediaType: (res.headers.get('content-type') ?? '').split(';')[0] ?? '', digest };
}

interface Descriptor { mediaType: string; digest: string; size: number; platform?: { architecture: string; os: string } }
interface ImageManifest { config: Descriptor; layers: Descriptor[] }
interface IndexManifest { manifests: Descriptor[] }

/** Describes an image as the registry serves it (for an index: its linux/amd64 manifest's layers). */
async function inspectImage(reg: TestRegistry, repo: string, tag: string): Promise<MultiImage> {
  const top = await getManifest(reg, repo, tag);
  const base = { ref: `${reg.host}/${repo}:${tag}`, repository: repo, tag, digest: top.digest, mediaType: top.mediaType, platforms: {} as Record<string, string> };
  let manifest = top;
  if (top.mediaType === MEDIA.ociIndex || top.mediaType === MEDIA.dockerList) {
    const index = JSON.parse(top.raw.toString()) as IndexManifest;
    for (const m of index.manifests) if (m.platform) base.platforms[`${m.platform.os}/${m.platform.architecture}`] = m.digest;
    const amd64 = base.platforms['linux/amd64'];
    if (amd64 === undefined) throw new Error(`${repo}:${tag}: no linux/amd64 manifest`);
    manifest = await getManifest(reg, repo, amd64);
  }
  const m = JSON.parse(manifest.raw.toString()) as ImageManifest;
  return { ...base, layers: m.layers.map((l) => l.digest), config: m.config.digest };
}

// ------------------------------------------------------------------------------- building

async function writeTree(root: string, entries: [path: string, kind: 'file' | 'exe' | 'symlink' | 'hardlink', value?: string][]): Promise<void> {
  for (const [p, kind, value = ''] of entries) {
    const full = join(root, p);
    await mkdir(dirname(full), { recursive: true });
    if (kind === 'file') {
      await writeFile(full, value);
    } else if (kind === 'exe') {
      await copyFile(value, full);
    } else if (kind === 'symlink') {
      await symlink(value, full);
    } else {
      await link(join(root, value), full);
    }
  }
  await fixModes(root);
}

/** Modes independent of the umask: dirs and bin/busybox 0755, files 0644 (symlinks have none). */
async function fixModes(dir: string, rel = ''): Promise<void> {
  for (const e of await readdir(join(dir, rel), { withFileTypes: true })) {
    const p = join(rel, e.name);
    if (e.isSymbolicLink()) continue;
    await chmod(join(dir, p), e.isDirectory() || p === 'bin/busybox' ? 0o755 : 0o644);
    if (e.isDirectory()) await fixModes(dir, p);
  }
}

/** A layer tar of a directory: sorted, numeric owner 0:0, fixed mtime, no pax time records. */
async function tarLayer(root: string, out: string, top: string[]): Promise<void> {
  await run('tar', [
    '--sort=name', '--owner=0', '--group=0', '--numeric-owner', `--mtime=@${MTIME}`,
    '--format=posix', '--pax-option=delete=atime,delete=ctime', '-C', root, '-cf', out, ...top,
  ]);
}

/** The layout's tags: v1 (layers image), amd64 and arm64 (the index's manifests). */
async function buildLayout(work: string): Promise<string> {
  const l1 = join(work, 'l1');
  const l2 = join(work, 'l2');
  const l3 = join(work, 'l3');
  await writeTree(l1, [
    ['bin/busybox', 'exe', BUSYBOX],
    ...APPLETS.map((a): [string, 'symlink', string] => [`bin/${a}`, 'symlink', 'busybox']),
    ['etc/motd', 'file', 'layer1\n'],
    ['data/keep', 'file', 'keep\n'],
    ['data/gone', 'file', 'gone\n'],
    ['opq/old1', 'file', 'old1\n'],
    ['opq/old2', 'file', 'old2\n'],
    ['usr/lib/marker', 'file', 'marker\n'],
  ]);
  await writeTree(l2, [
    ['data/.wh.gone', 'file'],
    ['opq/.wh..wh..opq', 'file'],
    ['opq/new', 'file', 'new\n'],
    ['hl/a', 'file', 'hardlink\n'],
    ['hl/b', 'hardlink', 'hl/a'],
    ['abs', 'symlink', '/etc/motd'],
    ['lib', 'symlink', '/usr/lib'],
  ]);
  await writeTree(l3, [['etc/motd', 'file', 'layer3\n']]);
  await tarLayer(l1, join(work, 'l1.tar'), ['bin', 'data', 'etc', 'opq', 'usr']);
  await tarLayer(l2, join(work, 'l2.tar'), ['abs', 'data', 'hl', 'lib', 'opq']);
  await tarLayer(l3, join(work, 'l3.tar'), ['etc']);

  const oci = join(work, 'oci');
  const hist = ['--history.created', CREATED];
  await run('umoci', ['init', '--layout', oci]);
  await run('umoci', ['new', '--image', `${oci}:v1`]);
  for (const [i, l] of ['l1', 'l2', 'l3'].entries()) {
    await run('umoci', ['raw', 'add-layer', '--image', `${oci}:v1`, ...hist, '--history.created_by', `podvisor-test layer ${i + 1}`, join(work, `${l}.tar`)]);
  }
  await run('umoci', [
    'config', '--image', `${oci}:v1`, ...hist, '--created', CREATED, '--os', 'linux', '--architecture', 'amd64',
    ...LAYERS_IMAGE.cmd.flatMap((c) => ['--config.cmd', c]),
    ...LAYERS_IMAGE.env.flatMap((e) => ['--config.env', e]),
    '--config.workingdir', LAYERS_IMAGE.workingDir,
  ]);
  for (const arch of ['amd64', 'arm64']) {
    await run('umoci', ['config', '--image', `${oci}:v1`, '--tag', arch, ...hist, '--architecture', arch, '--config.env', `PLATFORM=${arch}`]);
  }
  return oci;
}

/** Runs skopeo isolated from the host's registries.conf and auth file. */
function skopeo(work: string, args: string[]): Promise<{ stdout: Buffer; stderr: string }> {
  const env = { ...process.env, CONTAINERS_REGISTRIES_CONF: join(work, 'registries.conf'), REGISTRY_AUTH_FILE: join(work, 'auth.json') };
  return run('skopeo', ['--insecure-policy', '--tmpdir', work, ...args], { env });
}

/** Pushes exactly the given manifest (no conversion, no blob substitution). */
async function push(work: string, src: string, reg: TestRegistry, dest: string): Promise<void> {
  const creds = reg.token ? ['--dest-creds', `${reg.token.user}:${reg.token.password}`] : [];
  await skopeo(work, ['copy', '-q', '--preserve-digests', '--dest-tls-verify=false', ...creds, src, `docker://${reg.host}/${dest}`]);
}

async function putIndex(reg: TestRegistry, repo: string, tag: string, mediaType: string, manifests: Descriptor[]): Promise<void> {
  const body = JSON.stringify({ schemaVersion: 2, mediaType, manifests });
  const res = await api(reg, repo, `manifests/${tag}`, { method: 'PUT', headers: { 'content-type': mediaType }, body });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`PUT ${repo}:${tag}: ${res.status} ${text}`);
}

/** The manifest of tag `tag` of an OCI layout. */
async function layoutManifest(oci: string, tag: string): Promise<Descriptor> {
  const index = JSON.parse(await readFile(join(oci, 'index.json'), 'utf8')) as { manifests: (Descriptor & { annotations?: Record<string, string> })[] };
  const m = index.manifests.find((d) => d.annotations?.['org.opencontainers.image.ref.name'] === tag);
  if (!m) throw new Error(`no tag ${tag} in ${oci}`);
  return { mediaType: m.mediaType, digest: m.digest, size: m.size };
}

/** A `dir:` copy's manifest descriptor. */
async function dirManifest(dir: string): Promise<Descriptor> {
  const raw = await readFile(join(dir, 'manifest.json'));
  return { mediaType: (JSON.parse(raw.toString()) as { mediaType: string }).mediaType, digest: sha256(raw), size: raw.length };
}

/**
 * Builds the test images once and pushes them to `reg` (and the private one to
 * `opts.tokenRegistry`, which must have been started with `tokenAuth: true`).
 */
export async function buildImages(reg: TestRegistry, opts: { tokenRegistry?: TestRegistry } = {}): Promise<BuiltImages> {
  const work = await mkdtemp(join(tmpdir(), 'podvisor-oci-build-'));
  try {
    await writeFile(join(work, 'registries.conf'), '');
    const oci = await buildLayout(work);
    const ociZstd = join(work, 'oci-zstd');
    const v2s2 = { amd64: join(work, 'v2s2-amd64'), arm64: join(work, 'v2s2-arm64') };
    await Promise.all([
      skopeo(work, ['copy', '-q', '--dest-compress-format', 'zstd', `oci:${oci}:v1`, `oci:${ociZstd}:v1`]),
      skopeo(work, ['copy', '-q', '--format', 'v2s2', `oci:${oci}:amd64`, `dir:${v2s2.amd64}`]),
      skopeo(work, ['copy', '-q', '--format', 'v2s2', `oci:${oci}:arm64`, `dir:${v2s2.arm64}`]),
    ]);
    const ociFor = { amd64: await layoutManifest(oci, 'amd64'), arm64: await layoutManifest(oci, 'arm64') };
    const dockerFor = { amd64: await dirManifest(v2s2.amd64), arm64: await dirManifest(v2s2.arm64) };
    const arches = ['amd64', 'arm64'] as const;

    await Promise.all([
      push(work, `oci:${oci}:v1`, reg, 'podvisor-test/layers:v1'),
      push(work, `oci:${ociZstd}:v1`, reg, 'podvisor-test/zstd:v1'),
      ...arches.map((a) => push(work, `oci:${oci}:${a}`, reg, `podvisor-test/multi@${ociFor[a].digest}`)),
      ...arches.map((a) => push(work, `dir:${v2s2[a]}`, reg, `podvisor-test/multi-docker@${dockerFor[a].digest}`)),
      ...(opts.tokenRegistry ? [push(work, `oci:${oci}:v1`, opts.tokenRegistry, 'podvisor-test/private:v1')] : []),
    ]);
    await Promise.all([
      putIndex(reg, 'podvisor-test/multi', 'v1', MEDIA.ociIndex, arches.map((a) => ({ ...ociFor[a], platform: { architecture: a, os: 'linux' } }))),
      putIndex(reg, 'podvisor-test/multi-docker', 'v1', MEDIA.dockerList, arches.map((a) => ({ ...dockerFor[a], platform: { architecture: a, os: 'linux' } }))),
    ]);

    const strip = ({ platforms: _p, ...img }: MultiImage): BuiltImage => img;
    const [layers, zstd, multi, multiDocker, priv] = await Promise.all([
      inspectImage(reg, 'podvisor-test/layers', 'v1'),
      inspectImage(reg, 'podvisor-test/zstd', 'v1'),
      inspectImage(reg, 'podvisor-test/multi', 'v1'),
      inspectImage(reg, 'podvisor-test/multi-docker', 'v1'),
      opts.tokenRegistry ? inspectImage(opts.tokenRegistry, 'podvisor-test/private', 'v1') : undefined,
    ]);
    const images: BuiltImages = { layers: strip(layers), zstd: strip(zstd), multi, multiDocker };
    if (priv) images.private = strip(priv);
    return images;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------------------- a busybox image for e2e runs

/** The e2e image: `<host>/busybox:1.36`, one layer with busybox and every applet, accounts, `/tmp`. */
export const BUSYBOX_IMAGE = {
  repository: 'busybox',
  tag: '1.36',
  /** A non-root account of the image (`app`, 1000:1000). */
  user: { name: 'app', uid: 1000, gid: 1000 },
  env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
} as const;

/**
 * Builds the e2e busybox image (root by default, like Docker Hub's `busybox`) and pushes it to
 * `reg`; returns its reference (`127.0.0.1:PORT/busybox:1.36`).
 */
export async function buildBusybox(reg: TestRegistry): Promise<string> {
  const work = await mkdtemp(join(tmpdir(), 'podvisor-busybox-build-'));
  try {
    await writeFile(join(work, 'registries.conf'), '');
    const root = join(work, 'root');
    const applets = (await run(BUSYBOX, ['--list'])).stdout.toString().split('\n').filter((a) => a !== '' && a !== 'busybox');
    const u = BUSYBOX_IMAGE.user;
    await writeTree(root, [
      ['bin/busybox', 'exe', BUSYBOX],
      ...applets.map((a): [string, 'symlink', string] => [`bin/${a}`, 'symlink', 'busybox']),
      ['etc/passwd', 'file', `root:x:0:0:root:/root:/bin/sh\n${u.name}:x:${u.uid}:${u.gid}:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n`],
      ['etc/group', 'file', `root:x:0:\n${u.name}:x:${u.gid}:\nnogroup:x:65534:\n`],
      ['root/.keep', 'file', ''],
      ['home/app/.keep', 'file', ''],
      ['tmp/.keep', 'file', ''],
    ]);
    await chmod(join(root, 'tmp'), 0o1777);
    await tarLayer(root, join(work, 'layer.tar'), ['bin', 'etc', 'home', 'root', 'tmp']);
    const oci = join(work, 'oci');
    const hist = ['--history.created', CREATED];
    await run('umoci', ['init', '--layout', oci]);
    await run('umoci', ['new', '--image', `${oci}:v1`]);
    await run('umoci', ['raw', 'add-layer', '--image', `${oci}:v1`, ...hist, '--history.created_by', 'podvisor-test busybox', join(work, 'layer.tar')]);
    await run('umoci', [
      'config', '--image', `${oci}:v1`, ...hist, '--created', CREATED, '--os', 'linux', '--architecture', process.arch === 'arm64' ? 'arm64' : 'amd64',
      '--config.cmd', 'sh', ...BUSYBOX_IMAGE.env.flatMap((e) => ['--config.env', e]),
    ]);
    await push(work, `oci:${oci}:v1`, reg, `${BUSYBOX_IMAGE.repository}:${BUSYBOX_IMAGE.tag}`);
    return `${reg.host}/${BUSYBOX_IMAGE.repository}:${BUSYBOX_IMAGE.tag}`;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
