/**
 * A client of the OCI distribution API (v2) for pulling: manifests and blobs of one repository,
 * with the registries' three ways in: anonymous, HTTP Basic, and bearer tokens (a `401` with
 * `WWW-Authenticate: Bearer realm=…,service=…,scope=…` sends the client to the realm for a
 * token, with the user's credentials when it has some). Plain HTTP only for registries the user
 * names as insecure and for loopback ones (as containerd allows them); everything else is HTTPS.
 * Redirects (blob storage on another host) are followed without the registry's credentials.
 */
import { DOCKER_HUB, DOCKER_HUB_API, type ImageRef } from './reference.js';
import { chainCredentials, type Credential, type Credentials } from './credentials.js';
import { PullError } from './errors.js';

/** Options of {@link RegistryClient}. */
export interface RegistryClientOptions {
  credentials: Credentials;
  /** Registries (host[:port]) reached over plain HTTP, besides loopback ones. */
  insecure?: readonly string[];
  /** Until a response's headers arrive (default 30 s). */
  timeoutMs?: number;
  /** Longest pause while a body is read (default 60 s): large layers take as long as they take. */
  idleTimeoutMs?: number;
  /** The `User-Agent` sent. */
  userAgent?: string;
}

/** A fetched manifest (or index): its bytes as served, and what the registry said it is. */
export interface FetchedManifest {
  mediaType: string;
  /** `Docker-Content-Digest`, when the registry sent one. */
  headerDigest?: string;
  body: Buffer;
}

/** Manifests above this size are refused (containerd's limit too). */
const MANIFEST_MAX = 4 * 1024 * 1024;
const REDIRECTS_MAX = 5;

interface Token {
  header: string;
  expiresAt: number;
}

/** True for a loopback registry (`localhost`, `127.0.0.0/8`, `[::1]`), reached over HTTP by default. */
export function isLoopbackRegistry(registry: string): boolean {
  const host = registry.startsWith('[') ? registry.slice(0, registry.indexOf(']') + 1) : registry.replace(/:\d+$/, '');
  return host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Parses a `WWW-Authenticate` header: its scheme and parameters. */
export function parseChallenge(header: string): { scheme: string; params: Record<string, string> } {
  const m = /^\s*(\S+)\s*(.*)$/.exec(header);
  const scheme = (m?.[1] ?? '').toLowerCase();
  const params: Record<string, string> = {};
  const re = /([A-Za-z_][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
  for (const p of (m?.[2] ?? '').matchAll(re)) {
    const key = p[1];
    if (key !== undefined) params[key.toLowerCase()] = (p[2] ?? p[3] ?? '').replace(/\\(.)/g, '$1');
  }
  return { scheme, params };
}

function basic(c: Credential): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}

/** A pull client; one per podvisor process (it caches tokens per repository). */
export class RegistryClient {
  private readonly tokens = new Map<string, Token>();
  private readonly insecure: Set<string>;

  constructor(private readonly opts: RegistryClientOptions) {
    this.insecure = new Set(opts.insecure ?? []);
  }

  /**
   * A client for one pull with a pod's own credentials tried before this client's (its image
   * pull secrets); it has its own tokens, so a token earned with a pod's credentials never
   * serves another pod.
   */
  withCredentials(first: readonly Credentials[]): RegistryClient {
    return first.length === 0 ? this : new RegistryClient({ ...this.opts, credentials: chainCredentials(first, this.opts.credentials) });
  }

  /** The API's base URL for a registry. */
  baseUrl(registry: string): string {
    const host = registry === DOCKER_HUB ? DOCKER_HUB_API : registry;
    const scheme = this.insecure.has(registry) || isLoopbackRegistry(registry) ? 'http' : 'https';
    return `${scheme}://${host}`;
  }

  /** Fetches a manifest or index by tag or digest. */
  async manifest(ref: ImageRef, reference: string, accept: string): Promise<FetchedManifest> {
    const res = await this.get(ref, `manifests/${reference}`, { Accept: accept });
    if (res.status === 404) {
      await res.body?.cancel();
      throw new PullError('NotFound', `${ref.registry}/${ref.repository}:${reference}: not found (manifest unknown)`);
    }
    await this.expectOk(res, ref, `manifest ${reference}`);
    const length = Number(res.headers.get('content-length') ?? '0');
    if (length > MANIFEST_MAX) {
      await res.body?.cancel();
      throw new PullError('Registry', `manifest ${reference} of ${ref.registry}/${ref.repository} is ${length} bytes (more than ${MANIFEST_MAX})`);
    }
    // Read with the limit (a registry need not send a Content-Length).
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body ?? []) {
      size += (chunk as Uint8Array).length;
      if (size > MANIFEST_MAX) {
        await res.body?.cancel().catch(() => undefined);
        throw new PullError('Registry', `manifest ${reference} of ${ref.registry}/${ref.repository} is larger than ${MANIFEST_MAX} bytes`);
      }
      chunks.push(Buffer.from(chunk as Uint8Array));
    }
    const body = Buffer.concat(chunks);
    const out: FetchedManifest = { mediaType: (res.headers.get('content-type') ?? '').split(';')[0]?.trim() ?? '', body };
    const headerDigest = res.headers.get('docker-content-digest');
    if (headerDigest !== null) out.headerDigest = headerDigest;
    return out;
  }

  /** Opens a blob; the caller reads (and verifies) the body. */
  async blob(ref: ImageRef, digest: string): Promise<Response> {
    const res = await this.get(ref, `blobs/${digest}`, {});
    if (res.status === 404) {
      await res.body?.cancel();
      throw new PullError('NotFound', `blob ${digest} of ${ref.registry}/${ref.repository}: not found`);
    }
    await this.expectOk(res, ref, `blob ${digest}`);
    return res;
  }

  private async expectOk(res: Response, ref: ImageRef, what: string): Promise<void> {
    if (res.ok) return;
    const text = (await res.text().catch(() => '')).slice(0, 300);
    let detail = text;
    try {
      const errs = (JSON.parse(text) as { errors?: { code?: string; message?: string }[] }).errors ?? [];
      if (errs.length > 0) detail = errs.map((e) => `${e.code ?? ''}: ${e.message ?? ''}`).join('; ');
    } catch {
      // not the registry's error format
    }
    const name = `${ref.registry}/${ref.repository}`;
    if (res.status === 401 || res.status === 403) {
      const helper = this.opts.credentials.helperFor(ref.registry);
      const hint = helper !== undefined ? ` (its credentials are in ${helper}, which podvisor does not run: put them in the registry config)` : ' (log in: put credentials for it in the registry config)';
      throw new PullError('Unauthorized', `${name}: ${what}: access denied${detail ? `: ${detail}` : ''}${hint}`);
    }
    throw new PullError('Registry', `${name}: ${what}: HTTP ${res.status}${detail ? `: ${detail}` : ''}`);
  }

  /** A GET inside the repository, with authentication and redirects handled. */
  private async get(ref: ImageRef, path: string, headers: Record<string, string>): Promise<Response> {
    const url = `${this.baseUrl(ref.registry)}/v2/${ref.repository}/${path}`;
    const key = `${ref.registry}/${ref.repository}`;
    let res = await this.send(url, headers, this.cachedAuth(key));
    if (res.status === 401) {
      const auth = await this.authenticate(ref, res.headers.get('www-authenticate') ?? '');
      await res.body?.cancel();
      if (auth !== undefined) res = await this.send(url, headers, auth);
    }
    return res;
  }

  private cachedAuth(key: string): string | undefined {
    const t = this.tokens.get(key);
    if (t && t.expiresAt > Date.now()) return t.header;
    this.tokens.delete(key);
    return undefined;
  }

  /** Answers a challenge: a bearer token from the realm, or Basic credentials. */
  private async authenticate(ref: ImageRef, challenge: string): Promise<string | undefined> {
    const { scheme, params } = parseChallenge(challenge);
    const cred = this.opts.credentials.lookup(ref.registry);
    const key = `${ref.registry}/${ref.repository}`;
    if (scheme === 'basic') {
      if (!cred) return undefined;
      const header = basic(cred);
      this.tokens.set(key, { header, expiresAt: Number.MAX_SAFE_INTEGER });
      return header;
    }
    if (scheme !== 'bearer' || params.realm === undefined) return undefined;
    let realm: URL;
    try {
      realm = new URL(params.realm);
    } catch {
      throw new PullError('Registry', `${key}: the registry's token realm ${JSON.stringify(params.realm)} is not a URL`);
    }
    if (params.service !== undefined) realm.searchParams.set('service', params.service);
    realm.searchParams.set('scope', params.scope ?? `repository:${ref.repository}:pull`);
    const res = await this.send(realm.toString(), { Accept: 'application/json' }, cred ? basic(cred) : undefined);
    if (!res.ok) {
      await res.body?.cancel();
      if (res.status === 401 || res.status === 403) {
        throw new PullError('Unauthorized', `${key}: the token service ${realm.origin} refused ${cred ? `the credentials of ${cred.username}` : 'anonymous access'} (HTTP ${res.status})`);
      }
      throw new PullError('Registry', `${key}: the token service ${realm.origin} answered HTTP ${res.status}`);
    }
    const body = await res.json().catch(() => ({})) as { token?: unknown; access_token?: unknown; expires_in?: unknown };
    const token = typeof body.token === 'string' ? body.token : typeof body.access_token === 'string' ? body.access_token : undefined;
    if (token === undefined) throw new PullError('Registry', `${key}: the token service ${realm.origin} returned no token`);
    const expiresIn = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 60;
    const header = `Bearer ${token}`;
    // Renewed a little before it expires.
    this.tokens.set(key, { header, expiresAt: Date.now() + Math.max(1, expiresIn - 10) * 1000 });
    return header;
  }

  /** One request, following redirects (credentials only to the first origin). */
  private async send(url: string, headers: Record<string, string>, auth: string | undefined): Promise<Response> {
    let current = url;
    const origin = new URL(url).origin;
    for (let hops = 0; ; hops++) {
      const h: Record<string, string> = { ...headers, 'User-Agent': this.opts.userAgent ?? 'podvisor' };
      if (auth !== undefined && new URL(current).origin === origin) h.Authorization = auth;
      let res: Response;
      const abort = new AbortController();
      const headersTimer = setTimeout(() => abort.abort(new DOMException('no answer in time', 'TimeoutError')), this.opts.timeoutMs ?? 30_000);
      try {
        res = await fetch(current, { headers: h, redirect: 'manual', signal: abort.signal });
      } catch (err) {
        throw networkError(current, err);
      } finally {
        clearTimeout(headersTimer);
      }
      const location = res.headers.get('location');
      if (res.status < 300 || res.status >= 400 || location === null) return withIdleTimeout(res, abort, this.opts.idleTimeoutMs ?? 60_000);
      await res.body?.cancel();
      if (hops >= REDIRECTS_MAX) throw new PullError('Registry', `${url}: more than ${REDIRECTS_MAX} redirects`);
      current = new URL(location, current).toString();
    }
  }
}

/**
 * The response, its body aborted when no bytes come for `idleMs` (a stalled download), however
 * long the whole transfer takes.
 */
function withIdleTimeout(res: Response, abort: AbortController, idleMs: number): Response {
  if (!res.body) return res;
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => abort.abort(new DOMException(`no data for ${idleMs / 1000}s`, 'TimeoutError')), idleMs);
    timer.unref();
  };
  arm();
  const body = res.body.pipeThrough(new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, ctl) {
      arm();
      ctl.enqueue(chunk);
    },
    flush() {
      clearTimeout(timer);
    },
  }));
  return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
}

function networkError(url: string, err: unknown): PullError {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const code = cause?.code ?? (err as { name?: string }).name ?? '';
  const u = new URL(url);
  if (code === 'TimeoutError') return new PullError('Network', `${u.host}: no answer in time`, { cause: err });
  if (u.protocol === 'https:' && /EPROTO|ERR_SSL|wrong version number/i.test(`${code} ${cause?.message ?? ''}`)) {
    return new PullError('Insecure', `${u.host} does not speak HTTPS: if it is a plain HTTP registry you trust, name it with --insecure-registry ${u.host}`, { cause: err });
  }
  return new PullError('Network', `${u.host}: ${cause?.message ?? (err as Error).message}${code !== '' ? ` (${code})` : ''}`, { cause: err });
}
