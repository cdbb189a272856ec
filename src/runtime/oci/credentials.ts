/**
 * Registry credentials from a Docker config file (`~/.docker/config.json`, what `docker login`
 * and `podman login --authfile` write): `auths.<registry>.auth` (base64 `user:password`) or
 * `username`/`password`. Credential helpers (`credHelpers`, `credsStore`) run programs podvisor
 * does not run; a registry they cover is named in `helpers` so a refusal can say so.
 */
import * as fs from 'node:fs';
import { DOCKER_HUB } from './reference.js';

/** A user name and password for one registry. */
export interface Credential {
  username: string;
  password: string;
}

/** Credentials by registry host. */
export interface Credentials {
  /** The credential for a registry host (`docker.io` included), if any. */
  lookup(registry: string): Credential | undefined;
  /** The credential helper configured for a registry, if any (not run). */
  helperFor(registry: string): string | undefined;
}

/** No credentials at all. */
export const NO_CREDENTIALS: Credentials = { lookup: () => undefined, helperFor: () => undefined };

/** Keys a config may use for a registry: `host`, `https://host`, `https://host/v1/`, … */
function keysOf(registry: string): string[] {
  const hosts = registry === DOCKER_HUB ? [DOCKER_HUB, 'index.docker.io', 'registry-1.docker.io'] : [registry];
  return hosts.flatMap((h) => [h, `https://${h}`, `http://${h}`, `https://${h}/v1/`, `https://${h}/v2/`, `${h}/v1/`]);
}

function normalise(key: string): string {
  return key.replace(/^https?:\/\//, '').replace(/\/v[12]\/?$/, '').replace(/\/$/, '');
}

/**
 * Reads a Docker config file; a missing file is no credentials. Throws with the file's name when
 * it exists but is not a config (a user mistake shown in one line).
 */
export function readDockerConfig(file: string): Credentials {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return NO_CREDENTIALS;
  }
  return parseDockerConfig(text, `registry config ${file}`);
}

/**
 * Credentials from the text of a Docker config (`{"auths": {...}}`, what a
 * `kubernetes.io/dockerconfigjson` Secret holds) or of the legacy `.dockercfg` form (the `auths`
 * map alone). Throws naming `source` when it is not JSON.
 */
export function parseDockerConfig(text: string, source: string): Credentials {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(`${source} is not JSON: ${(err as Error).message}`, { cause: err });
  }
  const obj = typeof raw === 'object' && raw !== null ? raw as Record<string, unknown> : {};
  // The legacy form has the registries at the top level.
  const cfg = ('auths' in obj || 'credHelpers' in obj || 'credsStore' in obj ? obj : { auths: obj }) as { auths?: unknown; credHelpers?: unknown; credsStore?: unknown };
  const creds = new Map<string, Credential>();
  const auths = typeof cfg.auths === 'object' && cfg.auths !== null ? cfg.auths as Record<string, unknown> : {};
  for (const [key, v] of Object.entries(auths)) {
    if (typeof v !== 'object' || v === null) continue;
    const e = v as { auth?: unknown; username?: unknown; password?: unknown };
    if (typeof e.auth === 'string' && e.auth !== '') {
      const decoded = Buffer.from(e.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon > 0) creds.set(normalise(key), { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) });
    } else if (typeof e.username === 'string' && typeof e.password === 'string') {
      creds.set(normalise(key), { username: e.username, password: e.password });
    }
  }
  const helpers = typeof cfg.credHelpers === 'object' && cfg.credHelpers !== null ? cfg.credHelpers as Record<string, unknown> : {};
  const store = typeof cfg.credsStore === 'string' ? cfg.credsStore : undefined;
  return {
    lookup: (registry) => {
      for (const k of keysOf(registry)) {
        const c = creds.get(normalise(k));
        if (c) return c;
      }
      return undefined;
    },
    helperFor: (registry) => {
      for (const k of keysOf(registry)) {
        const h = helpers[k] ?? helpers[normalise(k)];
        if (typeof h === 'string') return `docker-credential-${h}`;
      }
      return store !== undefined ? `docker-credential-${store}` : undefined;
    },
  };
}

/**
 * The credentials of `first` before those of `then` (a pod's image pull secrets before the
 * node's registry config, as the kubelet tries them).
 */
export function chainCredentials(first: readonly Credentials[], then: Credentials): Credentials {
  const all = [...first, then];
  return {
    lookup: (registry) => {
      for (const c of all) {
        const found = c.lookup(registry);
        if (found) return found;
      }
      return undefined;
    },
    helperFor: (registry) => then.helperFor(registry),
  };
}
