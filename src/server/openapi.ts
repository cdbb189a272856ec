/**
 * The OpenAPI documents of the API: the real Kubernetes schemas of the kinds podvisor serves,
 * trimmed from upstream by `scripts/openapi-extract.mjs` into `src/server/openapi/` (gzip'ed
 * JSON plus `manifest.json`, which names the files and records where they came from).
 *
 * kubectl reads the v3 documents for `kubectl explain`, for the strategic-merge-patch metadata
 * of client-side `apply`, and in its query-parameter verifier: a PATCH operation of the kind that
 * lists the `fieldValidation` parameter tells kubectl the server validates fields itself, so it
 * sends `fieldValidation=Strict` instead of validating client-side.
 *
 * The files are read once, on first use, from next to this module: `src/server/openapi/` under
 * vitest/tsx, `dist/server/openapi/` after `npm run build` (which copies them with
 * `scripts/copy-assets.mjs`). A `dist/` built by a bare `tsc -p tsconfig.build.json` in a source
 * checkout has no copy; then the source tree's files are used.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { DEFAULT_GIT_VERSION } from './discovery.js';

/** One served document. */
export interface OpenApiDocument {
  /** The document as JSON (`Content-Type: application/json`). */
  readonly body: Buffer;
  /** Upper-case hex SHA-512 of `body`, as kube-openapi computes it: the `hash` of its v3 URL. */
  readonly hash: string;
  /** The `ETag` header value: the hash, quoted. */
  readonly etag: string;
}

/** `GET /openapi/v3`: one entry per group-version, keyed `api/v1`, `apis/GROUP/VERSION`. */
export interface OpenApiV3Discovery {
  paths: Record<string, { serverRelativeURL: string }>;
}

/** What `manifest.json` says (only the fields read here). */
interface Manifest {
  documents: Record<string, { file: string }>;
}

const MANIFEST = 'manifest.json';
const V2_KEY = 'v2';

/** Where the generated files are: next to this module, else in the source tree. */
function assetsDir(): URL {
  const candidates = [new URL('./openapi/', import.meta.url), new URL('../../src/server/openapi/', import.meta.url)];
  const found = candidates.find((dir) => existsSync(new URL(MANIFEST, dir)));
  if (!found) throw new Error(`OpenAPI documents not found (looked for ${MANIFEST} in ${candidates.map((c) => c.pathname).join(', ')}); run scripts/openapi-extract.mjs`);
  return found;
}

let loaded: { manifest: Manifest; dir: URL } | undefined;
const documents = new Map<string, OpenApiDocument>();

function manifest(): { manifest: Manifest; dir: URL } {
  if (!loaded) {
    const dir = assetsDir();
    loaded = { dir, manifest: JSON.parse(readFileSync(new URL(MANIFEST, dir), 'utf8')) as Manifest };
  }
  return loaded;
}

/**
 * The document stored under `key` in the manifest, with `info.version` set to the served
 * Kubernetes version (upstream files say `unversioned`; an API server says its gitVersion).
 */
function load(key: string): OpenApiDocument | undefined {
  const cached = documents.get(key);
  if (cached) return cached;
  const { manifest: m, dir } = manifest();
  const entry = m.documents[key];
  if (!entry) return undefined;
  const doc = JSON.parse(gunzipSync(readFileSync(new URL(entry.file, dir))).toString('utf8')) as { info?: Record<string, unknown> };
  doc.info = { ...doc.info, version: DEFAULT_GIT_VERSION };
  const body = Buffer.from(JSON.stringify(doc));
  const hash = createHash('sha512').update(body).digest('hex').toUpperCase();
  const served: OpenApiDocument = { body, hash, etag: `"${hash}"` };
  documents.set(key, served);
  return served;
}

/**
 * `GET /openapi/v2`: the Swagger 2.0 document, JSON only.
 *
 * client-go asks for this document only as protobuf
 * (`application/com.github.proto-openapi.spec.v2@v1.0+protobuf`, `DiscoveryClient.OpenAPISchema`)
 * and has no JSON fallback; check the `Accept` header with {@link openApiContentType} and answer
 * 406, as kube-openapi does for a media type it cannot produce. kubectl 1.32/1.35 then works
 * from the v3 documents: `apply` ignores a failed v2 download (it falls back to its compiled-in
 * patch metadata), and only `kubectl explain --output=plaintext-openapiv2` needs v2.
 */
export function openApiV2(): OpenApiDocument {
  const doc = load(V2_KEY);
  if (!doc) throw new Error('OpenAPI v2 document missing from the manifest');
  return doc;
}

/**
 * `GET /openapi/v3`: the group-versions with a document, each at
 * `/openapi/v3/<path>?hash=<HASH>`. Like kube-openapi, a request for a group-version with a
 * `hash` that matches may be cached forever (`Cache-Control: public, immutable`); one whose
 * `hash` does not match is redirected (301) to the current URL.
 */
export function openApiV3Root(): OpenApiV3Discovery {
  const paths: OpenApiV3Discovery['paths'] = {};
  for (const key of Object.keys(manifest().manifest.documents).sort()) {
    const doc = key === V2_KEY ? undefined : load(key);
    if (doc) paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${doc.hash}` };
  }
  return { paths };
}

/**
 * `GET /openapi/v3/<path>` for `path` `api/v1` or `apis/GROUP/VERSION` (no leading slash, no
 * query): the OpenAPI 3.0 document of that group-version, or undefined (404) for one podvisor
 * does not serve.
 */
export function openApiV3Group(path: string): OpenApiDocument | undefined {
  if (path === V2_KEY) return undefined;
  return load(path);
}

/**
 * The media type to answer an OpenAPI request whose `Accept` header is `accept` with:
 * `application/json` when JSON is acceptable (no header, the full wildcard, `application/*` or
 * `application/json`, with a non-zero q), else undefined, to be answered 406 Not Acceptable.
 * podvisor has no protobuf encoding of the documents.
 */
export function openApiContentType(accept: string | undefined): 'application/json' | undefined {
  if (accept === undefined || accept.trim() === '') return 'application/json';
  for (const clause of accept.split(',')) {
    const [range, ...params] = clause.split(';').map((s) => s.trim().toLowerCase());
    const q = params.find((p) => p.startsWith('q='));
    if (q !== undefined && !(Number(q.slice(2)) > 0)) continue;
    if (range === '*/*' || range === 'application/*' || range === 'application/json') return 'application/json';
  }
  return undefined;
}
