/**
 * The PATCH body types the API server accepts, applied to plain JSON values: JSON merge patch
 * (RFC 7386), strategic merge patch (lists merged by their Kubernetes merge key for the Pod
 * fields that have one, directives `$patch`, `$retainKeys`, `$deleteFromPrimitiveList/…`,
 * `$setElementOrder/…`) and JSON patch (RFC 6902). All functions are pure and never modify
 * their arguments.
 */

/** Any JSON value. */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** A patch that cannot be applied (HTTP 422 from the server), or a malformed patch (`badRequest`: 400). */
export class PatchError extends Error {
  constructor(
    message: string,
    /** True when the patch document itself is malformed (400) rather than not applicable (422). */
    readonly badRequest = false,
  ) {
    super(message);
    this.name = 'PatchError';
  }
}

function isObject(v: unknown): v is { [k: string]: Json } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function clone<T>(v: T): T {
  return v === undefined ? v : structuredClone(v);
}

/** Structural equality of JSON values (object key order ignored). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && jsonEqual(a[k], b[k]));
  }
  return false;
}

/** RFC 7386 JSON merge patch: objects merge recursively, `null` deletes, anything else replaces. */
export function jsonMergePatch(target: Json | undefined, patch: Json): Json {
  if (!isObject(patch)) return clone(patch);
  const out: { [k: string]: Json } = isObject(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = jsonMergePatch(out[k], v);
  }
  return out;
}

/**
 * `patchMergeKey` of the list fields of a Pod (and its status) that use `patchStrategy: merge`
 * (kubernetes/api `core/v1/types.go`). A list not named here is replaced as a whole.
 */
const MERGE_KEYS: Readonly<Record<string, string>> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  volumes: 'name',
  env: 'name',
  imagePullSecrets: 'name',
  ports: 'containerPort',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  hostAliases: 'ip',
  topologySpreadConstraints: 'topologyKey',
  resourceClaims: 'name',
  schedulingGates: 'name',
  ownerReferences: 'uid',
  conditions: 'type',
  containerStatuses: 'name',
  initContainerStatuses: 'name',
  ephemeralContainerStatuses: 'name',
  podIPs: 'ip',
  hostIPs: 'ip',
  resizePolicy: 'resourceName',
};

/** Lists of scalars with `patchStrategy: merge` (set union). */
const MERGED_PRIMITIVE_LISTS: ReadonlySet<string> = new Set(['finalizers']);

function stripDirectives(v: Json): Json {
  if (Array.isArray(v)) return v.filter((x) => !(isObject(x) && typeof x.$patch === 'string')).map(stripDirectives);
  if (!isObject(v)) return v;
  const out: { [k: string]: Json } = {};
  for (const [k, x] of Object.entries(v)) {
    if (k.startsWith('$')) continue;
    if (x === null) continue;
    out[k] = stripDirectives(x);
  }
  return out;
}

function mergeList(field: string, orig: Json[], patch: Json[]): Json[] {
  if (patch.some((x) => isObject(x) && x.$patch === 'replace')) return stripDirectives(patch) as Json[];
  const key = MERGE_KEYS[field];
  if (key === undefined) {
    if (MERGED_PRIMITIVE_LISTS.has(field)) {
      const out = [...orig];
      for (const x of patch) if (!out.some((y) => jsonEqual(x, y))) out.push(x);
      return out;
    }
    return stripDirectives(patch) as Json[];
  }
  const out = orig.map((x) => clone(x));
  for (const p of patch) {
    if (!isObject(p) || !(key in p)) {
      out.push(stripDirectives(p));
      continue;
    }
    const idx = out.findIndex((x) => isObject(x) && jsonEqual(x[key], p[key]));
    if (p.$patch === 'delete') {
      if (idx >= 0) out.splice(idx, 1);
      continue;
    }
    if (idx >= 0) {
      const merged = strategicMergePatch(out[idx], p);
      if (merged === undefined) out.splice(idx, 1);
      else out[idx] = merged;
    } else {
      out.push(stripDirectives(p));
    }
  }
  return out;
}

/**
 * Strategic merge patch for Pods: maps merge (a `null` value deletes a key), lists with a merge
 * key merge element by element (an element with `$patch: delete` removes its match), other
 * lists are replaced. Returns undefined when the patch deletes the whole value (`$patch: delete`).
 * Throws {@link PatchError} for an unknown `$patch` directive.
 */
export function strategicMergePatch(target: Json | undefined, patch: Json): Json | undefined {
  if (!isObject(patch)) return clone(patch);
  const directive = patch.$patch;
  if (directive !== undefined) {
    if (directive === 'replace') return stripDirectives(patch);
    if (directive === 'delete') return undefined;
    if (directive !== 'merge') throw new PatchError(`Unknown patch type: ${JSON.stringify(directive)}`, true);
  }
  const out: { [k: string]: Json } = isObject(target) ? clone(target) : {};
  let retain: string[] | undefined;
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$patch' || k.startsWith('$setElementOrder/')) continue;
    if (k === '$retainKeys') {
      if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new PatchError('$retainKeys must be a list of strings', true);
      retain = v as string[];
      continue;
    }
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const field = k.slice('$deleteFromPrimitiveList/'.length);
      const cur = out[field];
      if (Array.isArray(cur) && Array.isArray(v)) out[field] = cur.filter((x) => !v.some((y) => jsonEqual(x, y)));
      continue;
    }
    if (k.startsWith('$')) throw new PatchError(`unknown directive ${JSON.stringify(k)}`, true);
    if (v === null) {
      delete out[k];
    } else if (Array.isArray(v)) {
      const cur = out[k];
      out[k] = Array.isArray(cur) ? mergeList(k, cur, v) : (stripDirectives(v) as Json[]);
    } else if (isObject(v)) {
      const merged = strategicMergePatch(out[k], v);
      if (merged === undefined) delete out[k];
      else out[k] = merged;
    } else {
      out[k] = v;
    }
  }
  if (retain) for (const k of Object.keys(out)) if (!retain.includes(k)) delete out[k];
  return out;
}

/** One RFC 6902 operation. */
interface JsonPatchOp {
  op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  path: string;
  from?: string;
  value?: Json;
}

function parsePointer(ptr: string): string[] {
  if (ptr === '') return [];
  if (!ptr.startsWith('/')) throw new PatchError(`invalid JSON pointer ${JSON.stringify(ptr)}: must start with /`, true);
  return ptr.slice(1).split('/').map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function arrayIndex(arr: Json[], tok: string, forAdd: boolean, ptr: string): number {
  if (forAdd && tok === '-') return arr.length;
  if (!/^(0|[1-9]\d*)$/.test(tok)) throw new PatchError(`invalid array index ${JSON.stringify(tok)} in ${JSON.stringify(ptr)}`);
  const i = Number(tok);
  if (i > arr.length || (!forAdd && i === arr.length)) throw new PatchError(`index out of range: ${i} in ${JSON.stringify(ptr)}`);
  return i;
}

/** Returns the container addressed by all but the last token, and that last token. */
function locate(doc: Json, ptr: string): { parent: Json[] | { [k: string]: Json }; key: string } {
  const toks = parsePointer(ptr);
  const last = toks.pop();
  if (last === undefined) throw new PatchError('the root cannot be the target of this operation');
  let cur: Json = doc;
  for (const t of toks) {
    if (Array.isArray(cur)) cur = cur[arrayIndex(cur, t, false, ptr)] as Json;
    else if (isObject(cur) && Object.prototype.hasOwnProperty.call(cur, t)) cur = cur[t] as Json;
    else throw new PatchError(`doc is missing path: ${JSON.stringify(ptr)}`);
  }
  if (!Array.isArray(cur) && !isObject(cur)) throw new PatchError(`doc is missing path: ${JSON.stringify(ptr)}`);
  return { parent: cur, key: last };
}

function getAt(doc: Json, ptr: string): Json {
  if (ptr === '') return doc;
  const { parent, key } = locate(doc, ptr);
  if (Array.isArray(parent)) return parent[arrayIndex(parent, key, false, ptr)] as Json;
  if (!Object.prototype.hasOwnProperty.call(parent, key)) throw new PatchError(`doc is missing path: ${JSON.stringify(ptr)}`);
  return parent[key] as Json;
}

function removeAt(doc: Json, ptr: string): Json {
  const { parent, key } = locate(doc, ptr);
  if (Array.isArray(parent)) return parent.splice(arrayIndex(parent, key, false, ptr), 1)[0] as Json;
  if (!Object.prototype.hasOwnProperty.call(parent, key)) throw new PatchError(`unable to remove nonexistent key: ${key}: missing value`);
  const v = parent[key] as Json;
  delete parent[key];
  return v;
}

function addAt(doc: Json, ptr: string, value: Json): Json {
  if (ptr === '') return value;
  const { parent, key } = locate(doc, ptr);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, true, ptr), 0, value);
  else parent[key] = value;
  return doc;
}

function parseOps(patch: unknown): JsonPatchOp[] {
  if (!Array.isArray(patch)) throw new PatchError('json patch must be a list of operations', true);
  return patch.map((o, i) => {
    if (!isObject(o)) throw new PatchError(`json patch operation ${i} is not an object`, true);
    const op = o.op;
    if (op !== 'add' && op !== 'remove' && op !== 'replace' && op !== 'move' && op !== 'copy' && op !== 'test') {
      throw new PatchError(`Unexpected kind: ${JSON.stringify(op ?? null)}`, true);
    }
    if (typeof o.path !== 'string') throw new PatchError(`json patch operation ${i} (${op}) is missing "path"`, true);
    if ((op === 'move' || op === 'copy') && typeof o.from !== 'string') throw new PatchError(`json patch operation ${i} (${op}) is missing "from"`, true);
    if ((op === 'add' || op === 'replace' || op === 'test') && !('value' in o)) throw new PatchError(`json patch operation ${i} (${op}) is missing "value"`, true);
    const r: JsonPatchOp = { op, path: o.path };
    if (typeof o.from === 'string') r.from = o.from;
    if ('value' in o) r.value = o.value as Json;
    return r;
  });
}

/**
 * RFC 6902 JSON patch (`add`, `remove`, `replace`, `move`, `copy`, `test`) applied to a copy of
 * `doc`. Throws {@link PatchError}: `badRequest` for a malformed patch document, otherwise for
 * an operation that does not apply (missing path, failed `test`).
 */
export function applyJsonPatch(doc: Json, patch: unknown): Json {
  const ops = parseOps(patch);
  let cur = clone(doc);
  for (const o of ops) {
    switch (o.op) {
      case 'add':
        cur = addAt(cur, o.path, clone(o.value as Json));
        break;
      case 'remove':
        if (o.path === '') throw new PatchError('the root cannot be removed');
        removeAt(cur, o.path);
        break;
      case 'replace':
        if (o.path === '') {
          cur = clone(o.value as Json);
        } else {
          removeAt(cur, o.path);
          cur = addAt(cur, o.path, clone(o.value as Json));
        }
        break;
      case 'move': {
        const from = o.from as string;
        if (o.path.startsWith(`${from}/`)) throw new PatchError(`cannot move ${JSON.stringify(from)} into its own child ${JSON.stringify(o.path)}`);
        if (from === o.path) break;
        const v = from === '' ? cur : removeAt(cur, from);
        cur = addAt(cur, o.path, v);
        break;
      }
      case 'copy':
        cur = addAt(cur, o.path, clone(getAt(cur, o.from as string)));
        break;
      case 'test': {
        let actual: Json;
        try {
          actual = getAt(cur, o.path);
        } catch {
          throw new PatchError(`testing value ${o.path} failed: test failed`);
        }
        if (!jsonEqual(actual, o.value)) throw new PatchError(`testing value ${o.path} failed: test failed`);
        break;
      }
    }
  }
  return cur;
}
