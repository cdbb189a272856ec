/**
 * The PATCH body types the API server accepts, applied to plain JSON values: JSON merge patch
 * (RFC 7386) and strategic merge patch (lists merged by their Kubernetes merge key for the Pod
 * fields that have one, directives `$patch`, `$retainKeys`, `$deleteFromPrimitiveList/…`,
 * `$setElementOrder/…`); JSON patch (RFC 6902) is in `json-patch.ts`. All functions are pure
 * and never modify their arguments. Their work is linear in the sizes of the target and the
 * patch: the target is copied once, and list merges find elements through an index, so a
 * patch with many list elements does not cost their square.
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

/** A patch beyond the API server's limits on patches (HTTP 413 `RequestEntityTooLarge`). */
export class PatchTooLargeError extends PatchError {
  constructor(message: string) {
    super(message);
    this.name = 'PatchTooLargeError';
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
  return mergeInto(isObject(target) ? clone(target) : {}, patch);
}

/** Merges `patch` into `out`, which the caller owns (a copy): no level is copied twice. */
function mergeInto(out: { [k: string]: Json }, patch: { [k: string]: Json }): Json {
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else if (!isObject(v)) out[k] = clone(v);
    else {
      const cur = out[k];
      out[k] = mergeInto(isObject(cur) ? cur : {}, v);
    }
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

/** An index key for a merge key value or a primitive list element (equal keys for equal JSON values). */
function indexKey(v: Json | undefined): string {
  return typeof v === 'object' && v !== null ? `j${JSON.stringify(v)}` : `${typeof v}:${String(v)}`;
}

/** Merges a patch list into `orig`, which the caller owns. */
function mergeList(field: string, orig: Json[], patch: Json[]): Json[] {
  if (patch.some((x) => isObject(x) && x.$patch === 'replace')) return stripDirectives(patch) as Json[];
  const key = MERGE_KEYS[field];
  if (key === undefined) {
    if (MERGED_PRIMITIVE_LISTS.has(field)) {
      const out = [...orig];
      const seen = new Set(orig.map(indexKey));
      for (const x of patch) {
        const k = indexKey(x);
        if (!seen.has(k)) {
          seen.add(k);
          out.push(x);
        }
      }
      return out;
    }
    return stripDirectives(patch) as Json[];
  }
  // Elements removed by the patch become holes, filled in at the end, so that the index of
  // every other element stays valid.
  const out: (Json | undefined)[] = orig;
  const at = new Map<string, number>();
  out.forEach((x, i) => {
    if (!isObject(x)) return;
    const k = indexKey(x[key]);
    if (!at.has(k)) at.set(k, i);
  });
  for (const p of patch) {
    if (!isObject(p) || !(key in p)) {
      out.push(stripDirectives(p));
      continue;
    }
    const k = indexKey(p[key]);
    const idx = at.get(k);
    if (p.$patch === 'delete') {
      if (idx !== undefined) {
        out[idx] = undefined;
        at.delete(k);
      }
      continue;
    }
    if (idx !== undefined) {
      const merged = strategicMergeOwned(out[idx], p);
      if (merged === undefined) {
        out[idx] = undefined;
        at.delete(k);
      } else {
        out[idx] = merged;
      }
    } else {
      at.set(k, out.length);
      out.push(stripDirectives(p));
    }
  }
  return out.filter((x): x is Json => x !== undefined);
}

/**
 * Strategic merge patch for Pods: maps merge (a `null` value deletes a key), lists with a merge
 * key merge element by element (an element with `$patch: delete` removes its match), other
 * lists are replaced. Returns undefined when the patch deletes the whole value (`$patch: delete`).
 * Throws {@link PatchError} for an unknown `$patch` directive.
 */
export function strategicMergePatch(target: Json | undefined, patch: Json): Json | undefined {
  return strategicMergeOwned(isObject(patch) && isObject(target) ? clone(target) : target, patch);
}

/** {@link strategicMergePatch} into a `target` the caller owns (a copy, modified in place). */
function strategicMergeOwned(target: Json | undefined, patch: Json): Json | undefined {
  if (!isObject(patch)) return clone(patch);
  const directive = patch.$patch;
  if (directive !== undefined) {
    if (directive === 'replace') return stripDirectives(patch);
    if (directive === 'delete') return undefined;
    if (directive !== 'merge') throw new PatchError(`Unknown patch type: ${JSON.stringify(directive)}`, true);
  }
  const out: { [k: string]: Json } = isObject(target) ? target : {};
  let retain: Set<string> | undefined;
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$patch' || k.startsWith('$setElementOrder/')) continue;
    if (k === '$retainKeys') {
      if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new PatchError('$retainKeys must be a list of strings', true);
      retain = new Set(v as string[]);
      continue;
    }
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const field = k.slice('$deleteFromPrimitiveList/'.length);
      const cur = out[field];
      if (Array.isArray(cur) && Array.isArray(v)) {
        const gone = new Set(v.map(indexKey));
        out[field] = cur.filter((x) => !gone.has(indexKey(x)));
      }
      continue;
    }
    if (k.startsWith('$')) throw new PatchError(`unknown directive ${JSON.stringify(k)}`, true);
    if (v === null) {
      delete out[k];
    } else if (Array.isArray(v)) {
      const cur = out[k];
      out[k] = Array.isArray(cur) ? mergeList(k, cur, v) : (stripDirectives(v) as Json[]);
    } else if (isObject(v)) {
      const merged = strategicMergeOwned(out[k], v);
      if (merged === undefined) delete out[k];
      else out[k] = merged;
    } else {
      out[k] = v;
    }
  }
  if (retain) for (const k of Object.keys(out)) if (!retain.has(k)) delete out[k];
  return out;
}
