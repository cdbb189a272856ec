/**
 * Field paths and sets of fields, as structured-merge-diff defines them
 * (`sigs.k8s.io/structured-merge-diff/fieldpath`): a {@link PathElement} selects a struct
 * field or map key (`f:`), an element of an associative list by its key fields (`k:`), an
 * element of a set by its value (`v:`) or an element of an atomic list by index (`i:`). A
 * {@link FieldSet} is a tree of such elements whose members are the fields it owns; it is what
 * `metadata.managedFields[].fieldsV1` encodes (`FieldsV1`: every key a serialized element,
 * `"."` marking a node that is also a member).
 *
 * Sets are built by inserting paths, then only read: the set operations return new sets that
 * may share unchanged subtrees with their operands. Members and children are kept in maps and
 * sorted once, on first read, so that building a set of n paths costs n log n, not n².
 */

import { compareStrings, compareValues, goEscape, goJson, isObject, type Json } from './values.js';
import { SmallMap } from './small-map.js';

export { compareStrings, compareValues, goEscape, goJson, valuesEqual, type Json } from './values.js';
export { Cursor } from './cursor.js';

/** One key field of an associative list element (`k:{"name":"c"}`). */
export interface KeyField {
  readonly name: string;
  readonly value: Json;
}

/**
 * One step of a path (exactly one of field, key, value, index), with `id`, its `FieldsV1`
 * serialization (see {@link serializeElement}), computed once when it is made.
 */
export type PathElement =
  | { readonly field: string; readonly id: string }
  | { readonly key: readonly KeyField[]; readonly id: string }
  | { readonly value: Json; readonly id: string }
  | { readonly index: number; readonly id: string };

/** A path from the root of an object. */
export type Path = readonly PathElement[];

/** Element constructors (the only way to make elements: they compute the id). */
export const pe = {
  field: (name: string): PathElement => ({ field: name, id: `f:${name}` }),
  /** Key fields are sorted by name, as upstream keeps them. */
  key(fields: readonly KeyField[]): PathElement {
    const key = fields.length < 2 ? fields : [...fields].sort((a, b) => compareStrings(a.name, b.name));
    return { key, id: `k:{${key.map((k) => `${goEscape(JSON.stringify(k.name))}:${goJson(k.value)}`).join(',')}}` };
  },
  value: (value: Json): PathElement => ({ value, id: `v:${goJson(value)}` }),
  index: (index: number): PathElement => ({ index, id: `i:${index}` }),
};

function kindRank(e: PathElement): number {
  if ('field' in e) return 0;
  if ('key' in e) return 1;
  if ('value' in e) return 2;
  return 3;
}

/** The order of path elements (`PathElement.Compare`): fields, keys, values, indexes. */
export function compareElements(a: PathElement, b: PathElement): number {
  const ra = kindRank(a);
  const rb = kindRank(b);
  if (ra !== rb) return ra < rb ? -1 : 1;
  if ('field' in a && 'field' in b) return compareStrings(a.field, b.field);
  if ('key' in a && 'key' in b) {
    for (let i = 0; i < Math.min(a.key.length, b.key.length); i++) {
      const x = a.key[i] as KeyField;
      const y = b.key[i] as KeyField;
      const c = compareStrings(x.name, y.name) || compareValues(x.value, y.value);
      if (c !== 0) return c;
    }
    return a.key.length < b.key.length ? -1 : a.key.length === b.key.length ? 0 : 1;
  }
  if ('value' in a && 'value' in b) return compareValues(a.value, b.value);
  if ('index' in a && 'index' in b) return a.index < b.index ? -1 : a.index === b.index ? 0 : 1;
  return 0;
}

/** Go's `%v` of a value in a path (`value.ToString`): strings quoted, lists in brackets. */
function valueToString(v: Json): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(valueToString).join(',')}]`;
  return Object.keys(v).sort(compareStrings).map((k) => `${k}=${valueToString(v[k] as Json)}`).join('');
}

/** An element as upstream prints it in conflicts: `.data`, `[name="c"]`, `[="a"]`, `[0]`. */
export function elementString(e: PathElement): string {
  if ('field' in e) return `.${e.field}`;
  if ('key' in e) return `[${e.key.map((k) => `${k.name}=${valueToString(k.value)}`).join(',')}]`;
  if ('value' in e) return `[=${valueToString(e.value)}]`;
  return `[${e.index}]`;
}

/** A path as upstream prints it: `.spec.containers[name="c"].image`. */
export function pathString(p: Path): string {
  return p.map(elementString).join('');
}

/** The `FieldsV1` key of an element: `f:name`, `k:{"name":"c"}`, `v:"a"`, `i:0`. Also its identity. */
export function serializeElement(e: PathElement): string {
  return e.id;
}

/** A `FieldsV1` key that names an element type podvisor does not know (upstream skips those). */
class UnknownElementType extends Error {}

/** Parses a `FieldsV1` key; throws for a malformed one, {@link UnknownElementType} for an unknown type. */
function parseElement(s: string): PathElement {
  if (s.length < 2 || s[1] !== ':') throw new Error(`malformed path element ${JSON.stringify(s)}`);
  const rest = s.slice(2);
  switch (s[0]) {
    case 'f':
      return pe.field(rest);
    case 'v':
      return pe.value(JSON.parse(rest) as Json);
    case 'k': {
      const o = JSON.parse(rest) as unknown;
      if (!isObject(o)) throw new Error(`malformed key ${JSON.stringify(rest)}`);
      return pe.key(Object.entries(o).map(([name, value]) => ({ name, value })));
    }
    case 'i':
      if (!/^[+-]?\d+$/.test(rest)) throw new Error(`malformed index ${JSON.stringify(rest)}`);
      return pe.index(Number.parseInt(rest, 10));
    default:
      throw new UnknownElementType(s);
  }
}

/** A child of a level: its element and the set below it. */
export interface FieldSetNode {
  readonly pe: PathElement;
  readonly set: FieldSet;
}

/** A set of fields: members, and children that hold members further down. */
export class FieldSet {
  // Allocated on first use: sets of list elements are many and most have no children.
  private memberMap: SmallMap<PathElement> | undefined;
  private childMap: SmallMap<FieldSetNode> | undefined;
  private sortedMembers: PathElement[] | undefined;
  private sortedChildren: FieldSetNode[] | undefined;

  /** A set of the given paths. */
  static of(paths: Iterable<Path>): FieldSet {
    const s = new FieldSet();
    for (const p of paths) s.insert(p);
    return s;
  }

  /** Adds one path (its parents are not added). The empty path (the whole object) is never a member. */
  insert(path: Path): void {
    if (path.length === 0) return;
    const last = path.length - 1;
    let s = last > 0 ? this.descend(path[0] as PathElement) : undefined;
    for (let i = 1; i < last && s; i++) s = s.descend(path[i] as PathElement);
    (s ?? this).addMember(path[last] as PathElement);
  }

  /** Adds `e` as a member of this level (building only). */
  addMember(e: PathElement): void {
    this.memberMap ??= new SmallMap();
    if (this.memberMap.has(e.id)) return;
    this.memberMap.set(e.id, e);
    this.sortedMembers = undefined;
  }

  /** The child set under `e`, made empty when missing (building only: a child left empty must get members). */
  descend(e: PathElement): FieldSet {
    this.childMap ??= new SmallMap();
    let n = this.childMap.get(e.id);
    if (!n) {
      n = { pe: e, set: new FieldSet() };
      this.childMap.set(e.id, n);
      this.sortedChildren = undefined;
    }
    return n.set;
  }

  /** Sets the child set under `e` (building only; an empty set is not kept). */
  setChild(e: PathElement, set: FieldSet): void {
    if (set.empty()) this.childMap?.delete(e.id);
    else (this.childMap ??= new SmallMap()).set(e.id, { pe: e, set });
    this.sortedChildren = undefined;
  }

  /** Members of this level, in upstream order. */
  members(): readonly PathElement[] {
    this.sortedMembers ??= this.memberMap ? [...this.memberMap.values()].sort(compareElements) : [];
    return this.sortedMembers;
  }

  /** Children of this level, in upstream order. */
  children(): readonly FieldSetNode[] {
    this.sortedChildren ??= this.childMap ? [...this.childMap.values()].sort((a, b) => compareElements(a.pe, b.pe)) : [];
    return this.sortedChildren;
  }

  /** Whether `e` is a member of this level. */
  hasMember(e: PathElement): boolean {
    return this.memberMap?.has(e.id) ?? false;
  }

  /** The child set under `e`, if any. */
  child(e: PathElement): FieldSet | undefined {
    return this.childMap?.get(e.id)?.set;
  }

  /** The paths below `e`, without `e` (empty when none). */
  withPrefix(e: PathElement): FieldSet {
    return this.child(e) ?? new FieldSet();
  }

  /** Whether `path` is a member. */
  has(path: Path): boolean {
    if (path.length === 0) return false;
    const last = path.length - 1;
    let s = last > 0 ? this.child(path[0] as PathElement) : undefined;
    for (let i = 1; i < last && s; i++) s = s.child(path[i] as PathElement);
    if (last > 0 && !s) return false;
    return (s ?? this).hasMember(path[last] as PathElement);
  }

  /** No member at any depth. */
  empty(): boolean {
    if (this.memberMap && this.memberMap.size > 0) return false;
    for (const n of this.childMap?.values() ?? []) if (!n.set.empty()) return false;
    return true;
  }

  /** Every member path, members of a level before its children's (upstream's `Iterate`). */
  paths(): Path[] {
    const out: Path[] = [];
    const walk = (s: FieldSet, prefix: PathElement[]): void => {
      for (const m of s.members()) out.push([...prefix, m]);
      for (const c of s.children()) walk(c.set, [...prefix, c.pe]);
    };
    walk(this, []);
    return out;
  }

  /** Members of either. */
  union(o: FieldSet): FieldSet {
    const out = new FieldSet();
    for (const e of this.memberMap?.values() ?? []) out.addMember(e);
    for (const e of o.memberMap?.values() ?? []) out.addMember(e);
    for (const [k, n] of this.childMap?.entries() ?? []) {
      const m = o.childMap?.get(k);
      out.putChild(m ? { pe: n.pe, set: n.set.union(m.set) } : n);
    }
    for (const [k, m] of o.childMap?.entries() ?? []) if (!this.childMap?.has(k)) out.putChild(m);
    return out;
  }

  /** Members of both. */
  intersection(o: FieldSet): FieldSet {
    const out = new FieldSet();
    for (const [k, e] of this.memberMap?.entries() ?? []) if (o.memberMap?.has(k)) out.addMember(e);
    for (const [k, n] of this.childMap?.entries() ?? []) {
      const m = o.childMap?.get(k);
      if (!m) continue;
      const i = n.set.intersection(m.set);
      if (!i.empty()) out.putChild({ pe: n.pe, set: i });
    }
    return out;
  }

  /**
   * Members of this set that `o` does not have. A member of `o` removes only that member,
   * not what lies below it here (upstream's `Difference`: parent − child = parent).
   */
  difference(o: FieldSet): FieldSet {
    const out = new FieldSet();
    for (const [k, e] of this.memberMap?.entries() ?? []) if (!o.memberMap?.has(k)) out.addMember(e);
    for (const [k, n] of this.childMap?.entries() ?? []) {
      const m = o.childMap?.get(k);
      if (!m) {
        out.putChild(n);
        continue;
      }
      const d = n.set.difference(m.set);
      if (!d.empty()) out.putChild({ pe: n.pe, set: d });
    }
    return out;
  }

  /** Like {@link difference}, but a member of `o` also removes everything below it. */
  recursiveDifference(o: FieldSet): FieldSet {
    const out = new FieldSet();
    for (const [k, e] of this.memberMap?.entries() ?? []) if (!o.memberMap?.has(k)) out.addMember(e);
    for (const [k, n] of this.childMap?.entries() ?? []) {
      if (o.memberMap?.has(k)) continue;
      const m = o.childMap?.get(k);
      if (!m) {
        out.putChild(n);
        continue;
      }
      const d = n.set.recursiveDifference(m.set);
      if (!d.empty()) out.putChild({ pe: n.pe, set: d });
    }
    return out;
  }

  private putChild(n: FieldSetNode): void {
    (this.childMap ??= new SmallMap()).set(n.pe.id, n);
    this.sortedChildren = undefined;
  }

  /** The same members (sets are compared by content). */
  equals(o: FieldSet): boolean {
    return JSON.stringify(this.toFieldsV1()) === JSON.stringify(o.toFieldsV1());
  }

  /** The `FieldsV1` encoding: keys in upstream order, `"."` first where a child is also a member. */
  toFieldsV1(): { [k: string]: Json } {
    return this.emit(false);
  }

  private emit(self: boolean): { [k: string]: Json } {
    const out: { [k: string]: Json } = {};
    const members = this.members();
    const children = this.children();
    if (self && (members.length > 0 || children.length > 0)) out['.'] = {};
    let mi = 0;
    let ci = 0;
    while (mi < members.length || ci < children.length) {
      const m = members[mi];
      const c = children[ci];
      const order = m === undefined ? 1 : c === undefined ? -1 : compareElements(m, c.pe);
      if (order < 0 && m) {
        out[serializeElement(m)] = {};
        mi++;
      } else if (order > 0 && c) {
        out[serializeElement(c.pe)] = c.set.emit(false);
        ci++;
      } else if (c) {
        out[serializeElement(c.pe)] = c.set.emit(true);
        mi++;
        ci++;
      }
    }
    return out;
  }

  /**
   * Reads a `FieldsV1` value (upstream's `FromJSON`): keys of unknown element types are
   * skipped; throws for a value that is not such an encoding.
   */
  static fromFieldsV1(v: unknown): FieldSet {
    const { children } = readLevel(v);
    return children ?? new FieldSet();
  }
}

function readLevel(v: unknown): { children: FieldSet | undefined; member: boolean } {
  if (!isObject(v)) throw new Error('a FieldsV1 node must be a JSON object');
  let member = false;
  let children: FieldSet | undefined;
  for (const [k, sub] of Object.entries(v)) {
    if (k === '.') {
      member = true;
      continue;
    }
    let e: PathElement;
    try {
      e = parseElement(k);
    } catch (err) {
      if (err instanceof UnknownElementType) continue;
      throw err;
    }
    const r = readLevel(sub);
    if (r.member) {
      children ??= new FieldSet();
      children.insert([e]);
    }
    if (r.children) {
      children ??= new FieldSet();
      const existing = children.child(e);
      children.setChild(e, existing ? existing.union(r.children) : r.children);
    }
  }
  return { children, member: member || children === undefined };
}
