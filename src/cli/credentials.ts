/**
 * Credentials and the places they live: the data dir, the API token and the daemon's TLS
 * key and certificate. Kept apart from the verbs so that the rule "only the daemon creates
 * credentials" is visible in one module: `serve` calls the `ensure*` functions, clients only
 * read (a client that created a token would invent one the running daemon does not accept).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../store/file-store.js';

/** Default data dir: `$XDG_STATE_HOME/podvisor`, else `~/.local/state/podvisor`. */
export function defaultDataDir(): string {
  const xdg = process.env['XDG_STATE_HOME'];
  return join(xdg && xdg !== '' ? xdg : join(homedir(), '.local', 'state'), 'podvisor');
}

/** Default TCP endpoint (loopback only). */
export const DEFAULT_LISTEN = '127.0.0.1:7443';

/** Path of the API token file of a data dir. */
export function tokenPath(dataDir: string): string {
  return join(dataDir, 'token');
}

/**
 * The API token of a data dir, created (random, mode 0600, in a 0700 dir) when missing. Only
 * the daemon calls this: it is the one that accepts the token.
 */
export function ensureToken(dataDir: string): string {
  const file = tokenPath(dataDir);
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    writeFileAtomic(file, `${randomBytes(24).toString('hex')}\n`);
  }
  return readFileSync(file, 'utf8').trim();
}

/**
 * The API token of a data dir, or undefined when there is no token file (no daemon has run
 * with this data dir). Never creates anything; other read failures (permissions) throw.
 */
export function readToken(dataDir: string): string | undefined {
  try {
    return readFileSync(tokenPath(dataDir), 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** The names the daemon's certificate is valid for: clients must connect to one of them. */
export const TLS_NAMES: readonly string[] = ['127.0.0.1', '::1', 'localhost'];

/** Paths of the daemon's TLS key and self-signed certificate. */
export function tlsPaths(dataDir: string): { key: string; cert: string } {
  return { key: join(dataDir, 'tls', 'key.pem'), cert: join(dataDir, 'tls', 'cert.pem') };
}

/**
 * The daemon's TLS key and self-signed certificate (for {@link TLS_NAMES}),
 * created with openssl on first use. TLS is needed because kubectl sends a bearer token
 * only over HTTPS; `podvisor kubeconfig` embeds this certificate as the cluster's CA.
 */
export function ensureTls(dataDir: string): { key: Buffer; cert: Buffer } {
  const p = tlsPaths(dataDir);
  if (!existsSync(p.key) || !existsSync(p.cert)) {
    mkdirSync(join(dataDir, 'tls'), { recursive: true, mode: 0o700 });
    const r = spawnSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '3650',
      '-subj', '/CN=podvisor', '-addext', `subjectAltName=${TLS_NAMES.map((n) => (/^[\d.]+$|:/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(',')}`,
      '-keyout', p.key, '-out', p.cert,
    ], { encoding: 'utf8' });
    if (r.status !== 0) {
      throw new Error(`cannot create a TLS certificate with openssl (${r.error?.message ?? r.stderr.trim()}); install openssl or serve only on --socket`);
    }
  }
  return { key: readFileSync(p.key), cert: readFileSync(p.cert) };
}
