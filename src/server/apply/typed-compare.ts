/** Comparing typed values and removing fields from them (see `typed.ts`). */
import { Cursor, FieldSet, pe, valuesEqual, type Json, type PathElement } from './fieldpath.js';
import type { Atom, ListType, MapType, Schema, TypeRef } from './schema.js';
import { emptyMap, fieldType, has, isObject, isProblem, itemElement, itemElements, pick, type Obj, type Part, type V } from './typed.js';

/** What changed from one value to another (`typed.Comparison`). */
export interface Comparison {
  removed: FieldSet;
  modified: FieldSet;
  added: FieldSet;
}

/** The fields added, modified and removed from `lhs` to `rhs` (`TypedValue.Compare`). Throws {@link TypedError} for list items without a key. */
export function compareTyped(schema: Schema, lhs: V, rhs: V, tr: TypeRef): Comparison {
  const c: Comparison = { removed: new FieldSet(), modified: new FieldSet(), added: new FieldSet() };
  compareNode(schema, c, Cursor.root(), lhs, rhs, tr);
  return c;
}

function compareNode(schema: Schema, c: Comparison, at: Cursor, lhs: V, rhs: V, tr: TypeRef): void {
  const atom = schema.resolve(tr);
  if (!atom) return;
  const pl = pick(atom, lhs);
  const pr = pick(atom, rhs);
  let inLeaf: boolean;
  if (rhs === undefined) inLeaf = compareAs(schema, c, at, atom, pl, lhs, rhs);
  else if (lhs === undefined || pl === pr) inLeaf = compareAs(schema, c, at, atom, pr, lhs, rhs);
  else {
    compareAs(schema, c, at, atom, pl, lhs, rhs);
    inLeaf = compareAs(schema, c, at, atom, pr, lhs, rhs);
  }
  if (!inLeaf) {
    if (lhs === undefined) at.insertInto(c.added);
    else if (rhs === undefined) at.insertInto(c.removed);
  }
}

/** Compares under one part of the type; returns true when the node was a leaf. */
function compareAs(schema: Schema, c: Comparison, at: Cursor, atom: Atom, part: Part | undefined, lhs: V, rhs: V): boolean {
  const leaf = (): true => {
    if (lhs === undefined) at.insertInto(c.added);
    else if (rhs === undefined) at.insertInto(c.removed);
    else if (!valuesEqual(lhs, rhs)) at.insertInto(c.modified);
    return true;
  };
  if (part === 'map') {
    const m = atom.map as MapType;
    const l = isObject(lhs) ? lhs : undefined;
    const r = isObject(rhs) ? rhs : undefined;
    if (m.relationship === 'atomic' || (emptyMap(l) && emptyMap(r))) return leaf();
    const visit = (k: string): void => compareNode(schema, c, at.child(pe.field(k)), has(l, k) ? l?.[k] : undefined, has(r, k) ? r?.[k] : undefined, fieldType(m, k));
    for (const k of Object.keys(l ?? {})) visit(k);
    for (const k of Object.keys(r ?? {})) if (!has(l, k)) visit(k);
    return false;
  }
  if (part === 'scalar') return leaf();
  if (part === 'list') {
    const t = atom.list as ListType;
    const l = Array.isArray(lhs) ? lhs : undefined;
    const r = Array.isArray(rhs) ? rhs : undefined;
    if (t.relationship === 'atomic' || ((!l || l.length === 0) && (!r || r.length === 0))) return leaf();
    compareItems(schema, c, at, t, l ?? [], r ?? []);
    return false;
  }
  return false;
}

function compareItems(schema: Schema, c: Comparison, at: Cursor, t: ListType, l: readonly Json[], r: readonly Json[]): void {
  const lPEs = itemElements(schema, t, l, at);
  const rPEs = itemElements(schema, t, r, at);
  const order: PathElement[] = [];
  const lValues = new Map<string, Json[]>();
  const rValues = new Map<string, Json[]>();
  lPEs.forEach((e, i) => {
    const had = lValues.get(e.id);
    if (had) had.push(l[i] as Json);
    else {
      lValues.set(e.id, [l[i] as Json]);
      order.push(e);
    }
  });
  rPEs.forEach((e, i) => {
    const had = rValues.get(e.id);
    if (had) had.push(r[i] as Json);
    else {
      rValues.set(e.id, [r[i] as Json]);
      if (!lValues.has(e.id)) order.push(e);
    }
  });
  order.forEach((e, i) => {
    const ll = lValues.get(e.id) ?? [];
    const rl = rValues.get(e.id) ?? [];
    const child = at.child(e, i);
    if (ll.length <= 1 && rl.length <= 1) compareNode(schema, c, child, ll[0], rl[0], t.elem);
    else if (ll.length >= 2 && rl.length >= 2) {
      if (!(ll.length === rl.length && ll.every((x, j) => valuesEqual(x, rl[j])))) child.insertInto(c.modified);
    } else if (ll.length >= 2) {
      if (rl.length > 0) compareNode(schema, c, child, undefined, rl[0], t.elem);
      child.insertInto(c.removed);
    } else {
      if (ll.length > 0) compareNode(schema, c, child, ll[0], undefined, t.elem);
      child.insertInto(c.added);
    }
  });
}

// ------------------------------------------------------------------ remove

/**
 * `v` without the members of `set` (`TypedValue.RemoveItems`): a removed member takes its
 * subtree with it; a map or list left empty becomes null, as upstream leaves it.
 */
export function removeItems(schema: Schema, v: Json, set: FieldSet, tr: TypeRef): Json {
  const atom = schema.resolve(tr);
  const part = atom ? pick(atom, v) : undefined;
  if (part === 'map') {
    const m = atom?.map as MapType;
    if (!isObject(v) || emptyMap(v) || m.relationship === 'atomic') return null;
    const out: Obj = {};
    for (const k of Object.keys(v)) {
      const e = pe.field(k);
      if (set.hasMember(e)) continue;
      const sub = set.child(e);
      out[k] = sub && !sub.empty() ? removeItems(schema, v[k] as Json, sub, fieldType(m, k)) : (v[k] as Json);
    }
    return emptyMap(out) ? null : out;
  }
  if (part === 'list') {
    const t = atom?.list as ListType;
    if (!Array.isArray(v) || v.length === 0 || t.relationship === 'atomic') return null;
    const out: Json[] = [];
    for (const x of v) {
      const e = itemElement(schema, t, x, () => '');
      if (isProblem(e)) {
        out.push(x);
        continue;
      }
      if (set.hasMember(e)) continue;
      const sub = set.child(e);
      out.push(sub && !sub.empty() ? removeItems(schema, x, sub, t.elem) : x);
    }
    return out.length > 0 ? out : null;
  }
  return v;
}
