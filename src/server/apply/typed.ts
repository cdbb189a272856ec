/**
 * Operations on JSON values typed by a {@link Schema}, with structured-merge-diff's semantics
 * (`sigs.k8s.io/structured-merge-diff/typed`):
 *
 * - {@link validateTyped}: the value fits its type (associative list elements have their keys,
 *   no duplicate keys unless allowed);
 * - {@link toFieldSet}: the fields a value sets (leaves, list elements, map keys, empty maps);
 * - {@link mergeTyped}: an applied configuration over a live value, maps and associative lists
 *   merged element by element, atomic values replaced;
 * - `compareTyped` and `removeItems` (in `typed-compare.ts`): changed fields, fields removed.
 *
 * In the values, `undefined` is an absent field and `null` an explicit null; they differ as
 * upstream's nil and null values do. A value whose JSON type does not fit its schema is typed
 * the way upstream's walkers type it (the first of map, scalar, list its type allows) and its
 * mismatched parts count as absent; only {@link validateTyped} reports them. List items that
 * cannot be keyed make the operations throw a {@link TypedError}.
 */
import { Cursor, FieldSet, pe, type Json, type KeyField, type PathElement } from './fieldpath.js';
import { DEDUCED_REF, type Atom, type ListType, type MapType, type Schema, type TypeRef } from './schema.js';

/** A value that cannot be typed, with its path (`spec.containers[1]`) and what is wrong. */
export interface TypedProblem {
  readonly path: string;
  readonly message: string;
  /** `duplicate` (two list elements with the same key), `key` (a key field missing), `type`, `schema`. */
  readonly kind: 'duplicate' | 'key' | 'type' | 'schema';
  readonly value?: Json;
}

/** Thrown by the operations when a list item cannot be keyed (see {@link TypedProblem}). */
export class TypedError extends Error {
  override readonly name = 'TypedError';
  constructor(readonly problems: readonly TypedProblem[]) {
    super(problems.map((p) => `${p.path}: ${p.message}`).join('; '));
  }
}

/** A value, or absent; a JSON object. */
export type V = Json | undefined;
export type Obj = { [k: string]: Json };

export function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isScalar(v: V): boolean {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}

export function has(o: Obj | undefined, k: string): boolean {
  return o !== undefined && Object.prototype.hasOwnProperty.call(o, k);
}

/** Which part of a type handles a value (upstream's `deduceAtom` then `handleAtom`). */
export type Part = 'map' | 'scalar' | 'list';

export function pick(atom: Atom, v: V): Part | undefined {
  if (v !== undefined && v !== null) {
    if (isScalar(v)) {
      if (atom.scalar) return 'scalar';
    } else if (Array.isArray(v)) {
      if (atom.list) return 'list';
    } else if (atom.map) return 'map';
  }
  return atom.map ? 'map' : atom.scalar ? 'scalar' : atom.list ? 'list' : undefined;
}

/** A map key's type: the declared field's, else the map's element type, else deduced. */
export function fieldType(m: MapType, key: string): TypeRef {
  return m.fields.get(key)?.type ?? m.elem ?? DEDUCED_REF;
}

export function emptyMap(o: Obj | undefined): boolean {
  if (!o) return true;
  for (const k in o) if (has(o, k)) return false;
  return true;
}

/**
 * The path element of a list item: its key fields (missing ones from their defaults) for an
 * associative list of maps, its value for a set; a problem for an item that has none.
 */
export function itemElement(schema: Schema, list: ListType, item: Json, at: () => string): PathElement | TypedProblem {
  if (list.keys.length > 0) {
    if (!isObject(item)) return { path: at(), kind: 'type', message: item === null ? 'associative list with keys may not have a null element' : 'associative list with keys may not have non-map elements' };
    const elemMap = schema.resolve(list.elem)?.map;
    const fields: KeyField[] = [];
    for (const name of list.keys) {
      if (has(item, name)) fields.push({ name, value: item[name] as Json });
      else {
        const def = elemMap?.fields.get(name)?.default;
        if (def !== undefined && def !== null) fields.push({ name, value: def });
      }
    }
    if (fields.length === 0) {
      return { path: at(), kind: 'key', message: `associative list with keys has an element that omits all key fields ${JSON.stringify(list.keys)} (and doesn't have default values for any key fields)` };
    }
    return pe.key(fields);
  }
  if (isObject(item)) return { path: at(), kind: 'type', message: "associative list without keys has an element that's a map type" };
  if (Array.isArray(item)) return { path: at(), kind: 'type', message: 'not supported: associative list with lists as elements' };
  if (item === null) return { path: at(), kind: 'type', message: "associative list without keys has an element that's an explicit null" };
  return pe.value(item);
}

export function isProblem(x: PathElement | TypedProblem): x is TypedProblem {
  return 'message' in x;
}

/** Elements of an associative list's items; throws {@link TypedError} for items without one. */
export function itemElements(schema: Schema, list: ListType, items: readonly Json[], at: Cursor): PathElement[] {
  const out: PathElement[] = [];
  const problems: TypedProblem[] = [];
  items.forEach((item, i) => {
    const e = itemElement(schema, list, item, () => `${at.text()}[${i}]`);
    if (isProblem(e)) problems.push(e);
    else out.push(e);
  });
  if (problems.length > 0) throw new TypedError(problems);
  return out;
}

function keyText(e: PathElement): string {
  if ('key' in e) return `[${e.key.map((k) => `${k.name}=${JSON.stringify(k.value)}`).join(',')}]`;
  if ('value' in e) return `[=${JSON.stringify(e.value)}]`;
  return '';
}

function keyValue(e: PathElement): Json {
  if ('key' in e) return e.key.length === 1 ? (e.key[0] as KeyField).value : Object.fromEntries(e.key.map((k) => [k.name, k.value]));
  if ('value' in e) return e.value;
  return null;
}

function describe(v: Json): string {
  if (Array.isArray(v)) return 'list';
  if (isObject(v)) return 'map';
  return JSON.stringify(v);
}

// ------------------------------------------------------------------ validation

/** Options of {@link validateTyped}. */
export interface ValidateOptions {
  /** Duplicate keys in associative lists are allowed (live objects: upstream's `AllowDuplicates`). */
  allowDuplicates: boolean;
}

/** Every problem of `v` against `tr` (empty when it fits). Undeclared fields are not problems (they are typed as deduced). */
export function validateTyped(schema: Schema, v: Json, tr: TypeRef, opts: ValidateOptions): TypedProblem[] {
  const problems: TypedProblem[] = [];
  const walk = (at: Cursor, value: Json, t: TypeRef): void => {
    const atom = schema.resolve(t);
    const part = atom ? pick(atom, value) : undefined;
    if (!atom || !part) {
      problems.push({ path: at.text(), kind: 'schema', message: 'schema error: no type found' });
      return;
    }
    if (value === null) return;
    if (part === 'map') {
      const m = atom.map as MapType;
      if (!isObject(value)) {
        problems.push({ path: at.text(), kind: 'type', message: `expected map, got ${describe(value)}`, value });
        return;
      }
      for (const k of Object.keys(value)) walk(at.child(pe.field(k)), value[k] as Json, fieldType(m, k));
    } else if (part === 'scalar') {
      const s = atom.scalar;
      const ok = s === 'untyped' ? isScalar(value) : s === 'numeric' ? typeof value === 'number' : s === 'string' ? typeof value === 'string' : typeof value === 'boolean';
      if (!ok) problems.push({ path: at.text(), kind: 'type', message: `expected ${s === 'untyped' ? 'any scalar' : String(s)}, got ${describe(value)}`, value });
    } else {
      const list = atom.list as ListType;
      if (!Array.isArray(value)) {
        problems.push({ path: at.text(), kind: 'type', message: `expected list, got ${describe(value)}`, value });
        return;
      }
      const seen = new Set<string>();
      value.forEach((item, i) => {
        let child: Cursor;
        if (list.relationship === 'associative') {
          const e = itemElement(schema, list, item, () => `${at.text()}[${i}]`);
          if (isProblem(e)) {
            problems.push(e);
            return;
          }
          if (seen.has(e.id) && !opts.allowDuplicates) {
            problems.push({ path: `${at.text()}[${i}]`, kind: 'duplicate', message: `duplicate entries for key ${keyText(e)}`, value: keyValue(e) });
          }
          seen.add(e.id);
          child = at.child(e, i);
        } else child = at.child(pe.index(i), i);
        walk(child, item, list.elem);
      });
    }
  };
  walk(Cursor.root(), v, tr);
  return problems;
}

/**
 * Drops the fields no schema declares (where a map has no type for other keys) from an
 * applied configuration: the kind's decoder already reported them (a warning, or a 400 with
 * `fieldValidation=Strict`), and they are neither merged nor owned.
 */
export function dropUndeclared(schema: Schema, v: Json, tr: TypeRef): Json {
  const atom = schema.resolve(tr);
  const part = atom ? pick(atom, v) : undefined;
  if (part === 'map' && atom?.map && isObject(v)) {
    const m = atom.map;
    const out: Obj = {};
    for (const k of Object.keys(v)) {
      if (!m.fields.has(k) && m.elem === undefined) continue;
      out[k] = dropUndeclared(schema, v[k] as Json, fieldType(m, k));
    }
    return out;
  }
  if (part === 'list' && atom?.list && Array.isArray(v)) {
    const elem = atom.list.elem;
    return v.map((x) => dropUndeclared(schema, x, elem));
  }
  return v;
}

// ------------------------------------------------------------------ field sets

/** The fields `v` sets (`ToFieldSet`). Throws {@link TypedError} for list items without a key. */
export function toFieldSet(schema: Schema, v: Json, tr: TypeRef): FieldSet {
  const set = new FieldSet();
  const walk = (at: Cursor, value: Json, t: TypeRef): void => {
    const atom = schema.resolve(t);
    const part = atom ? pick(atom, value) : undefined;
    if (!atom || !part) return;
    if (part === 'map') {
      const m = atom.map as MapType;
      if (m.relationship === 'atomic') {
        at.insertInto(set);
        return;
      }
      if (!isObject(value)) return;
      for (const k of Object.keys(value)) {
        const x = value[k] as Json;
        const child = at.child(pe.field(k));
        walk(child, x, fieldType(m, k));
        if (x === null || (isObject(x) && emptyMap(x)) || !m.fields.has(k)) child.insertInto(set);
      }
    } else if (part === 'scalar') {
      at.insertInto(set);
    } else {
      const list = atom.list as ListType;
      if (list.relationship === 'atomic') {
        at.insertInto(set);
        return;
      }
      if (!Array.isArray(value)) return;
      const elems = itemElements(schema, list, value, at);
      const seen = new Set<string>();
      const duplicates = new Set<string>();
      for (const e of elems) {
        if (seen.has(e.id)) {
          if (!duplicates.has(e.id)) at.child(e).insertInto(set);
          duplicates.add(e.id);
        } else seen.add(e.id);
      }
      elems.forEach((e, i) => {
        if (duplicates.has(e.id)) return;
        const child = at.child(e, i);
        walk(child, value[i] as Json, list.elem);
        child.insertInto(set);
      });
    }
  };
  walk(Cursor.root(), v, tr);
  return set;
}

/**
 * `set` with every named struct field on the way to a member made a member too
 * (`EnsureNamedFieldsAreMembers`): `spec.containers[name=c].image` also owns `spec` and
 * `spec.containers`, so that removing the set removes empty parents.
 */
export function ensureNamedFieldsAreMembers(schema: Schema, set: FieldSet, tr: TypeRef): FieldSet {
  const out = new FieldSet();
  const atom = schema.resolve(tr);
  for (const m of set.members()) out.addMember(m);
  for (const c of set.children()) {
    let t: TypeRef = {};
    if ('field' in c.pe && atom?.map) {
      if (atom.map.fields.has(c.pe.field)) out.addMember(c.pe);
      t = atom.map.fields.get(c.pe.field)?.type ?? atom.map.elem ?? {};
    } else if ('key' in c.pe && atom?.list) {
      t = atom.list.elem;
    }
    out.setChild(c.pe, ensureNamedFieldsAreMembers(schema, c.set, t));
  }
  return out;
}

// ------------------------------------------------------------------ merge

/**
 * `rhs` merged over `lhs` (`TypedValue.Merge` with upstream's keep-rhs rule): leaves and atomic
 * values from `rhs` where it has them, granular maps key by key, associative lists element by
 * element in the order upstream produces. Undefined when neither has anything. Throws
 * {@link TypedError} for list items without a key, or duplicates in `rhs`.
 */
export function mergeTyped(schema: Schema, lhs: V, rhs: V, tr: TypeRef): V {
  return mergeNode(schema, Cursor.root(), lhs, rhs, tr);
}

function mergeNode(schema: Schema, at: Cursor, lhs: V, rhs: V, tr: TypeRef): V {
  const atom = schema.resolve(tr);
  const part = atom ? pick(atom, rhs !== undefined ? rhs : lhs) : undefined;
  if (part === 'map') return mergeMap(schema, at, atom?.map as MapType, lhs, rhs);
  if (part === 'list') return mergeList(schema, at, atom?.list as ListType, lhs, rhs);
  return rhs !== undefined ? rhs : lhs;
}

function mergeMap(schema: Schema, at: Cursor, t: MapType, lhs: V, rhs: V): V {
  const l = isObject(lhs) ? lhs : undefined;
  const r = isObject(rhs) ? rhs : undefined;
  if (t.relationship === 'atomic' || (emptyMap(l) && emptyMap(r))) return rhs !== undefined ? rhs : lhs;
  const out: Obj = {};
  const visit = (k: string): void => {
    const m = mergeNode(schema, at.child(pe.field(k)), has(l, k) ? l?.[k] : undefined, has(r, k) ? r?.[k] : undefined, fieldType(t, k));
    if (m !== undefined) out[k] = m;
  };
  for (const k of Object.keys(l ?? {})) visit(k);
  for (const k of Object.keys(r ?? {})) if (!has(l, k)) visit(k);
  return emptyMap(out) ? undefined : out;
}

function mergeList(schema: Schema, at: Cursor, t: ListType, lhs: V, rhs: V): V {
  const l = Array.isArray(lhs) ? lhs : undefined;
  const r = Array.isArray(rhs) ? rhs : undefined;
  if (t.relationship === 'atomic' || ((!l || l.length === 0) && (!r || r.length === 0))) return rhs !== undefined ? rhs : lhs;
  const lItems = l ?? [];
  const rItems = r ?? [];
  const rPEs = itemElements(schema, t, rItems, at);
  const lPEs = itemElements(schema, t, lItems, at);
  const rObserved = new Map<string, Json>();
  rPEs.forEach((e, i) => {
    if (rObserved.has(e.id)) throw new TypedError([{ path: `${at.text()}[${i}]`, kind: 'duplicate', message: `duplicate entries for key ${keyText(e)}`, value: keyValue(e) }]);
    rObserved.set(e.id, rItems[i] as Json);
  });
  const lObserved = new Map<string, Json>();
  // A duplicated live element is merged as null (upstream's rule for duplicates).
  lPEs.forEach((e, i) => lObserved.set(e.id, lObserved.has(e.id) ? null : (lItems[i] as Json)));
  const shared = rPEs.filter((e) => lObserved.has(e.id)).map((e) => e.id);
  let sharedAt = 0;
  let nextShared: string | undefined = shared[sharedAt++];
  const mergedR = new Set<string>();
  const out: Json[] = [];
  const item = (e: PathElement, i: number, lv: V, rv: V): void => {
    const m = mergeNode(schema, at.child(e, i), lv, rv, t.elem);
    if (m !== undefined) out.push(m);
  };
  let lI = 0;
  let rI = 0;
  while (lI < lPEs.length || rI < rPEs.length) {
    const before = lI + rI;
    if (lI < lPEs.length && rI < rPEs.length) {
      const e = lPEs[lI] as PathElement;
      if (e.id === (rPEs[rI] as PathElement).id) {
        mergedR.add(e.id);
        item(e, rI, lObserved.get(e.id), rObserved.get(e.id));
        lI++;
        rI++;
        nextShared = shared[sharedAt++];
        continue;
      }
      if (rObserved.has(e.id) && nextShared !== undefined && nextShared !== e.id) {
        lI++;
        continue;
      }
    }
    if (lI < lPEs.length) {
      const e = lPEs[lI] as PathElement;
      if (!rObserved.has(e.id)) {
        item(e, lI, lItems[lI], undefined);
        lI++;
        continue;
      } else if (mergedR.has(e.id)) {
        lI++;
      }
    }
    if (rI < rPEs.length) {
      const e = rPEs[rI] as PathElement;
      mergedR.add(e.id);
      item(e, rI, lObserved.get(e.id), rObserved.get(e.id));
      rI++;
      if (nextShared !== undefined && nextShared === e.id) nextShared = shared[sharedAt++];
    }
    if (lI + rI === before) lI++; // never taken for well-formed lists; a guard against looping
  }
  return out.length > 0 ? out : undefined;
}

// Comparison and removal live in typed-compare.ts.
export { compareTyped, removeItems, type Comparison } from './typed-compare.js';
