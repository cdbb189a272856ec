#!/usr/bin/env node
// Trims the upstream Kubernetes OpenAPI documents to what podvisor serves and writes them into
// src/server/openapi/, where src/server/openapi.ts serves them (`/openapi/v2`, `/openapi/v3`).
// Only the paths of the served resources (SERVED below) and the definitions, schemas and
// parameters reachable from them are kept; nothing else is changed. kubectl reads these for
// `kubectl explain`, for the strategic-merge-patch metadata of client-side `apply`, and for its
// query-parameter verifier (an operation with a `fieldValidation` parameter lets kubectl leave
// validation to the server).
//
// Usage:
//   node scripts/openapi-extract.mjs <upstream-dir> [--v3-base <older-upstream-dir>]
//        [--source <text>] [--v3-base-source <text>] [--out <dir>]
//
// <upstream-dir> has the layout of a Kubernetes source tree: api/openapi-spec/swagger.json (the
// v2 document, required) and api/openapi-spec/v3/<api__v1|apis__GROUP__VERSION>_openapi.json.
// A served group-version whose v3 file is there is trimmed from it, verbatim.
//
// A group-version whose v3 file is missing (a client library's copy of a release carries only
// swagger.json) is derived from the v2 document with kube-openapi's rules for the v3 builder,
// and needs --v3-base: an older release in the same layout with both documents. Before deriving,
// the script proves the conversion on that release: converting its v2 document must reproduce
// its v3 document exactly, for every served path and every schema reachable from them, or the
// script stops. The v3 `default` values come from Go types (zero values of non-pointer fields),
// which the v2 document does not carry: they are taken from the base release where the schema
// and property exist there, and otherwise guessed by the rules the base release follows (an
// item of a list or a value of a map of strings defaults to "", a required string to "", a
// required integer to 0, ...); every guessed default is listed in the manifest.
//
// --source and --v3-base-source are free text recorded in the manifest (where the documents
// came from: repository, commit, release branch); the git blob id and sha256 of every input
// file are recorded too, so a copy can be matched against an upstream tree.
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual, parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';

/**
 * What podvisor serves, one group-version a line: the resources (and `resource/subresource`)
 * whose paths are kept. Adding a kind is adding its resource name here.
 */
const SERVED = [
  { groupVersion: 'v1', resources: ['pods', 'pods/status', 'pods/log', 'pods/ephemeralcontainers', 'pods/exec', 'pods/attach', 'pods/portforward', 'namespaces', 'namespaces/status', 'namespaces/finalize', 'configmaps', 'secrets', 'events'] },
  { groupVersion: 'authentication.k8s.io/v1', resources: ['selfsubjectreviews'] },
  { groupVersion: 'authorization.k8s.io/v1', resources: ['selfsubjectaccessreviews'] },
];

/**
 * Fields the served documents must have (Kubernetes 1.34+ container restart rules, which
 * podvisor implements). The script stops if the upstream documents lack one: then they are too
 * old for podvisor, and the fields would have to be added here from the Go types
 * (staging/src/k8s.io/api/core/v1/types.go) as an explicit patch.
 */
const REQUIRED_FIELDS = [
  ['io.k8s.api.core.v1.Container', 'restartPolicyRules'],
  ['io.k8s.api.core.v1.ContainerRestartRule', 'action'],
  ['io.k8s.api.core.v1.ContainerRestartRule', 'exitCodes'],
  ['io.k8s.api.core.v1.ContainerRestartRuleOnExitCodes', 'operator'],
  ['io.k8s.api.core.v1.ContainerRestartRuleOnExitCodes', 'values'],
];

const DEFINITIONS = '#/definitions/';
const PARAMETERS = '#/parameters/';
const SCHEMAS = '#/components/schemas/';
const WRITE_METHODS = ['post', 'put', 'patch'];
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

// ------------------------------------------------------------------------------------ helpers

/** A failure the user must act on: printed without a stack. */
class ExtractError extends Error {}

function fail(message) {
  throw new ExtractError(message);
}

function readJson(path) {
  return JSON.parse(readFileSync(path, 'utf8'));
}

/** A deep copy of a JSON value. */
function clone(x) {
  return JSON.parse(JSON.stringify(x));
}

/** A copy with every object's keys sorted, as upstream writes its documents. */
function sortKeys(x) {
  if (Array.isArray(x)) return x.map(sortKeys);
  if (x === null || typeof x !== 'object') return x;
  return Object.fromEntries(Object.keys(x).sort().map((k) => [k, sortKeys(x[k])]));
}

/** `api/v1` or `apis/GROUP/VERSION`: the path of a group-version below `/` and `/openapi/v3/`. */
function gvPath(groupVersion) {
  return groupVersion.includes('/') ? `apis/${groupVersion}` : `api/${groupVersion}`;
}

/** Upstream's v3 file name for a group-version: `api__v1_openapi.json`. */
function v3FileName(groupVersion) {
  return `${gvPath(groupVersion).replaceAll('/', '__')}_openapi.json`;
}

/** Git's object id of a file's content (what `git ls-tree` shows), and its sha256. */
function fileIds(path) {
  const data = readFileSync(path);
  const blob = createHash('sha1').update(`blob ${data.length}\0`).update(data).digest('hex');
  return { gitBlob: blob, sha256: createHash('sha256').update(data).digest('hex'), bytes: data.length };
}

/**
 * The paths of `doc` that serve the resources of one SERVED entry: collection and object, at
 * cluster scope and in a namespace, and the subresources named. The deprecated `/watch/` paths
 * are not served. Stops if a resource has no path (a typo in SERVED).
 */
function servedPaths(doc, { groupVersion, resources }) {
  const prefix = `/${gvPath(groupVersion)}`;
  const wanted = new Map([[`${prefix}/`, 'group-version root']]);
  for (const entry of resources) {
    const [resource, sub] = entry.split('/');
    const bases = [`${prefix}/${resource}`, `${prefix}/namespaces/{namespace}/${resource}`];
    for (const base of bases) {
      if (sub) wanted.set(`${base}/{name}/${sub}`, entry);
      else {
        wanted.set(base, entry);
        wanted.set(`${base}/{name}`, entry);
      }
    }
  }
  const found = Object.keys(doc.paths).filter((p) => wanted.has(p)).sort();
  for (const entry of resources) {
    if (!found.some((p) => wanted.get(p) === entry)) fail(`no path serves ${groupVersion} ${entry}`);
  }
  return found;
}

/**
 * Names reachable through `$ref`s from `roots`, by prefix (`#/definitions/`, ...), following
 * refs through the referenced objects. `lookup(prefix, name)` gives the referenced object.
 */
function reachable(roots, prefixes, lookup) {
  const seen = Object.fromEntries(prefixes.map((p) => [p, new Set()]));
  const walk = (x) => {
    if (Array.isArray(x)) return x.forEach(walk);
    if (x === null || typeof x !== 'object') return;
    for (const [k, v] of Object.entries(x)) {
      if (k === '$ref' && typeof v === 'string') {
        const prefix = prefixes.find((p) => v.startsWith(p));
        if (!prefix) fail(`unexpected $ref ${v}`);
        const name = v.slice(prefix.length);
        if (seen[prefix].has(name)) continue;
        const target = lookup(prefix, name);
        if (target === undefined) fail(`dangling $ref ${v}`);
        seen[prefix].add(name);
        walk(target);
      } else walk(v);
    }
  };
  walk(roots);
  return Object.fromEntries(prefixes.map((p) => [p, [...seen[p]].sort()]));
}

/** Stops unless every write operation of `paths` keeps `fieldValidation` and its group-version-kind. */
function checkWriteOperations(paths, label) {
  for (const [path, item] of Object.entries(paths)) {
    for (const method of WRITE_METHODS) {
      const op = item[method];
      if (!op) continue;
      if (!op['x-kubernetes-group-version-kind']) fail(`${label}: ${method} ${path} has no x-kubernetes-group-version-kind`);
      // connect operations (exec, attach, portforward) take no object, hence no fieldValidation
      if (op['x-kubernetes-action'] === 'connect') continue;
      const names = [...(item.parameters ?? []), ...(op.parameters ?? [])].map((p) => p.name ?? p.$ref);
      if (!names.some((n) => n === 'fieldValidation' || n?.startsWith(`${PARAMETERS}fieldValidation`))) {
        fail(`${label}: ${method} ${path} has no fieldValidation parameter`);
      }
    }
  }
}

/** Stops unless the schemas (v2 definitions or v3 schemas) have every REQUIRED_FIELDS entry. */
function checkRequiredFields(schemas, label) {
  for (const [name, field] of REQUIRED_FIELDS) {
    if (!schemas[name]?.properties?.[field]) fail(`${label}: ${name} has no ${field}; the upstream documents are older than Kubernetes 1.34 (see REQUIRED_FIELDS)`);
  }
}

// ------------------------------------------------------------------------------------ trimming

/** The v2 document with only the served paths and what they reach. */
function trimV2(v2) {
  const paths = SERVED.flatMap((gv) => servedPaths(v2, gv));
  const kept = Object.fromEntries(paths.map((p) => [p, v2.paths[p]]));
  const refs = reachable(kept, [DEFINITIONS, PARAMETERS], (prefix, name) => (prefix === DEFINITIONS ? v2.definitions : v2.parameters)[name]);
  const doc = {
    swagger: v2.swagger,
    info: v2.info,
    paths: kept,
    definitions: Object.fromEntries(refs[DEFINITIONS].map((n) => [n, v2.definitions[n]])),
    parameters: Object.fromEntries(refs[PARAMETERS].map((n) => [n, v2.parameters[n]])),
    security: v2.security,
    securityDefinitions: v2.securityDefinitions,
  };
  checkWriteOperations(doc.paths, 'v2');
  checkRequiredFields(doc.definitions, 'v2');
  return sortKeys(doc);
}

/** A v3 group-version document with only the served paths and the schemas they reach. */
function trimV3(v3, gv) {
  const paths = servedPaths(v3, gv);
  const kept = Object.fromEntries(paths.map((p) => [p, v3.paths[p]]));
  const refs = reachable(kept, [SCHEMAS], (_, name) => v3.components.schemas[name]);
  return sortKeys({
    openapi: v3.openapi,
    info: v3.info,
    paths: kept,
    components: {
      schemas: Object.fromEntries(refs[SCHEMAS].map((n) => [n, v3.components.schemas[n]])),
      ...(v3.components.securitySchemes ? { securitySchemes: v3.components.securitySchemes } : {}),
    },
  });
}

// ------------------------------------------------------------------------------------ v2 -> v3

/**
 * Converts v2 documents to v3 the way kube-openapi's v3 builder writes the same Go types:
 * refs point into components/schemas; a ref with siblings (description, default) is wrapped in
 * `allOf`; non-body parameters carry their type in `schema`; the body parameter becomes
 * `requestBody` with one entry per consumed media type, responses one per produced media type;
 * `consumes`, `produces` and `schemes` go.
 */
class V2ToV3 {
  /**
   * @param v2 the v2 document
   * @param base the v3 document of the same group-version of an older release (defaults and
   *   oneOf types are taken from it), or undefined
   */
  constructor(v2, base) {
    this.v2 = v2;
    this.base = base?.components?.schemas ?? {};
    /** Defaults guessed where the base release has no counterpart: `Schema.path: value`. */
    this.guessed = [];
  }

  /** The group-version document for `gv`. */
  document(gv, info) {
    const paths = Object.fromEntries(servedPaths(this.v2, gv).map((p) => [p, this.pathItem(this.v2.paths[p])]));
    const refs = reachable(paths, [SCHEMAS], (_, name) => (this.v2.definitions[name] ? this.schemaFor(name) : undefined));
    const schemas = Object.fromEntries(refs[SCHEMAS].map((n) => [n, this.schemaFor(n)]));
    const securitySchemes = this.v2.securityDefinitions;
    return sortKeys({ openapi: '3.0.0', info, paths, components: { schemas, ...(securitySchemes ? { securitySchemes } : {}) } });
  }

  schemaFor(name) {
    this.cache ??= new Map();
    if (!this.cache.has(name)) {
      const schema = this.refs(this.v2.definitions[name]);
      const base = this.base[name];
      // kube-openapi's OpenAPIV3OneOfTypes: a v3 schema states the alternatives v2 collapses
      // into one type (IntOrString, Quantity).
      if (base?.oneOf && !schema.oneOf) {
        delete schema.type;
        schema.oneOf = base.oneOf;
      }
      this.defaults(schema, base, name);
      this.cache.set(name, this.wrap(schema));
    }
    return this.cache.get(name);
  }

  /** A deep copy with refs pointing into components/schemas. Extensions, enums and examples stay as they are. */
  refs(x) {
    if (Array.isArray(x)) return x.map((e) => this.refs(e));
    if (x === null || typeof x !== 'object') return x;
    const out = {};
    for (const [k, v] of Object.entries(x)) {
      if (k === '$ref') out[k] = SCHEMAS + v.slice(DEFINITIONS.length);
      else if (k.startsWith('x-') || k === 'enum' || k === 'default' || k === 'example') out[k] = clone(v);
      else out[k] = this.refs(v);
    }
    return out;
  }

  /** Wraps every ref that has siblings in `allOf`, as the v3 builder does. */
  wrap(x) {
    if (Array.isArray(x)) return x.map((e) => this.wrap(e));
    if (x === null || typeof x !== 'object') return x;
    const out = {};
    for (const [k, v] of Object.entries(x)) out[k] = k.startsWith('x-') || k === 'enum' || k === 'default' || k === 'example' ? v : this.wrap(v);
    if (out.$ref && Object.keys(out).length > 1) {
      const { $ref, ...rest } = out;
      return { allOf: [{ $ref }], ...rest };
    }
    return out;
  }

  /**
   * Adds the v3 `default`s to `schema` (a definition, or a property, item or map value of one):
   * from `base`, its counterpart in the older release, or where there is none by the rules the
   * base release follows (see the header), recorded in `guessed`.
   */
  defaults(schema, base, path) {
    if (base && typeof base === 'object') {
      if ('default' in base && !('default' in schema)) schema.default = clone(base.default);
      if (base.allOf && !schema.allOf) base = { ...base, ...base.allOf[0] };
    }
    for (const [name, prop] of Object.entries(schema.properties ?? {})) {
      const counterpart = base?.properties?.[name];
      if (!counterpart && !('default' in prop) && (schema.required ?? []).includes(name)) this.guess(prop, `${path}.${name}`);
      this.defaults(prop, counterpart, `${path}.${name}`);
    }
    for (const key of ['items', 'additionalProperties']) {
      const inner = schema[key];
      if (inner === null || typeof inner !== 'object') continue;
      const counterpart = base?.[key];
      if (!counterpart && !('default' in inner)) this.guess(inner, `${path}[${key}]`);
      this.defaults(inner, counterpart, `${path}[${key}]`);
    }
  }

  /** Sets the zero value of a non-pointer Go type as `default`, if the type tells it. */
  guess(schema, path) {
    const target = schema.$ref ? this.v2.definitions[schema.$ref.slice(SCHEMAS.length)] : schema;
    let value;
    if (schema.$ref) value = target?.type === 'object' ? {} : undefined;
    else if (target.type === 'string' && target.format !== 'byte') value = '';
    else if (target.type === 'integer') value = 0;
    else if (target.type === 'boolean') value = false;
    if (value === undefined) return;
    schema.default = value;
    this.guessed.push(`${path}: ${JSON.stringify(value)}`);
  }

  parameter(p) {
    const resolved = p.$ref ? this.v2.parameters[p.$ref.slice(PARAMETERS.length)] : p;
    const { type, items, uniqueItems, ...rest } = resolved;
    const schema = {};
    if (type !== undefined) schema.type = type;
    if (items !== undefined) schema.items = items;
    if (uniqueItems !== undefined) schema.uniqueItems = uniqueItems;
    return { ...rest, schema };
  }

  operation(op) {
    const { consumes, produces, schemes: _schemes, parameters, responses, ...rest } = op;
    const out = { ...rest };
    const params = [];
    for (const p of parameters ?? []) {
      const resolved = p.$ref ? this.v2.parameters[p.$ref.slice(PARAMETERS.length)] : p;
      if (resolved.in !== 'body') {
        params.push(this.parameter(p));
        continue;
      }
      const schema = this.wrap(this.refs(resolved.schema));
      out.requestBody = { content: Object.fromEntries((consumes ?? ['*/*']).map((m) => [m, { schema }])) };
      if (resolved.required) out.requestBody.required = true;
    }
    if (params.length) out.parameters = params;
    out.responses = Object.fromEntries(Object.entries(responses ?? {}).map(([code, r]) => {
      const { schema, ...response } = r;
      if (!schema) return [code, response];
      const converted = this.wrap(this.refs(schema));
      return [code, { ...response, content: Object.fromEntries((produces ?? []).map((m) => [m, { schema: converted }])) }];
    }));
    return out;
  }

  pathItem(item) {
    return Object.fromEntries(Object.entries(item).map(([k, v]) => [k, k === 'parameters' ? v.map((p) => this.parameter(p)) : k.startsWith('x-') ? v : this.operation(v)]));
  }
}

/** The first place where `a` and `b` differ, as a JSON path, or undefined. */
function firstDifference(a, b, path = '$') {
  if (isDeepStrictEqual(a, b)) return undefined;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object' || Array.isArray(a) !== Array.isArray(b)) return `${path}: ${JSON.stringify(a)?.slice(0, 200)} != ${JSON.stringify(b)?.slice(0, 200)}`;
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const d = firstDifference(a[k], b[k], `${path}[${JSON.stringify(k)}]`);
    if (d) return d;
  }
  return `${path}: differs`;
}

/**
 * Proves the v2 -> v3 conversion on a release that has both documents: the converted served
 * document must equal the trimmed upstream one.
 */
function proveConversion(baseV2, baseV3, gv) {
  const expected = trimV3(baseV3, gv);
  const converted = new V2ToV3(baseV2, baseV3).document(gv, expected.info);
  const diff = firstDifference(converted, expected);
  if (diff) fail(`v2 -> v3 conversion does not reproduce the base release's ${gvPath(gv.groupVersion)} document: ${diff}`);
}

// ------------------------------------------------------------------------------------ main

function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      'v3-base': { type: 'string' },
      source: { type: 'string' },
      'v3-base-source': { type: 'string' },
      out: { type: 'string', default: join(ROOT, 'src/server/openapi') },
    },
  });
  if (positionals.length !== 1) fail('usage: node scripts/openapi-extract.mjs <upstream-dir> [--v3-base <older-upstream-dir>] [--source <text>] [--v3-base-source <text>] [--out <dir>]');
  const specDir = (dir) => join(resolve(dir), 'api/openapi-spec');
  const upstream = specDir(positionals[0]);
  const base = values['v3-base'] ? specDir(values['v3-base']) : undefined;
  const inputs = {};
  const load = (path) => {
    if (!existsSync(path)) fail(`missing ${path}`);
    inputs[path] = fileIds(path);
    return readJson(path);
  };

  const v2 = load(join(upstream, 'swagger.json'));
  const v2Doc = trimV2(v2);
  const out = resolve(values.out);
  const files = [];
  const manifest = {
    generatedBy: 'scripts/openapi-extract.mjs',
    source: values.source ?? null,
    v3BaseSource: base ? (values['v3-base-source'] ?? null) : null,
    served: SERVED,
    inputs: {},
    documents: {},
    guessedDefaults: [],
  };
  files.push(['v2.json.gz', v2Doc, 'v2']);
  manifest.documents.v2 = { file: 'v2.json.gz', origin: 'trimmed', paths: Object.keys(v2Doc.paths).length, definitions: Object.keys(v2Doc.definitions).length };

  let baseV2;
  for (const gv of SERVED) {
    const key = gvPath(gv.groupVersion);
    const file = join(upstream, 'v3', v3FileName(gv.groupVersion));
    let doc;
    let origin;
    if (existsSync(file)) {
      doc = trimV3(load(file), gv);
      origin = 'trimmed';
    } else {
      if (!base) fail(`${file} is missing: give --v3-base <older-upstream-dir> to derive it from swagger.json`);
      baseV2 ??= load(join(base, 'swagger.json'));
      const baseV3 = load(join(base, 'v3', v3FileName(gv.groupVersion)));
      proveConversion(baseV2, baseV3, gv);
      const converter = new V2ToV3(v2, baseV3);
      doc = converter.document(gv, baseV3.info);
      manifest.guessedDefaults.push(...converter.guessed);
      origin = 'derived from swagger.json (v3 defaults from --v3-base)';
    }
    checkWriteOperations(doc.paths, key);
    if (key === 'api/v1') checkRequiredFields(doc.components.schemas, key);
    const name = `v3-${key.replaceAll('/', '__')}.json.gz`;
    files.push([name, doc, key]);
    manifest.documents[key] = { file: name, origin, paths: Object.keys(doc.paths).length, schemas: Object.keys(doc.components.schemas).length };
  }
  for (const [path, ids] of Object.entries(inputs)) manifest.inputs[path.startsWith(upstream) ? `upstream:${path.slice(upstream.length + 1)}` : `v3-base:${path.slice(base.length + 1)}`] = ids;

  mkdirSync(out, { recursive: true });
  for (const f of readdirSync(out)) if (f.endsWith('.json.gz')) rmSync(join(out, f));
  for (const [name, doc, key] of files) {
    const json = Buffer.from(JSON.stringify(doc));
    const gz = gzipSync(json, { level: 9 });
    writeFileSync(join(out, name), gz);
    Object.assign(manifest.documents[key], { bytes: json.length, gzipBytes: gz.length });
    process.stdout.write(`${join(out, name)}: ${json.length} bytes JSON, ${gz.length} gzip\n`);
  }
  writeFileSync(join(out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  if (manifest.guessedDefaults.length) process.stdout.write(`guessed v3 defaults (no counterpart in --v3-base):\n  ${manifest.guessedDefaults.join('\n  ')}\n`);
}

try {
  main();
} catch (e) {
  if (!(e instanceof ExtractError)) throw e;
  process.stderr.write(`openapi-extract: ${e.message}\n`);
  process.exitCode = 1;
}
