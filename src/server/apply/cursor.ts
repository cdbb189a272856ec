/** Walking a value while filling field sets (see {@link Cursor}). */
import type { FieldSet, PathElement } from './fieldpath.js';

/**
 * A position in a walk over a value: its element and parent. Inserting it into a set finds or
 * makes the set's level of its parent once (cached for the few sets a walk fills), so that
 * filling a set costs one map operation per member, not one per level of its path.
 */
export class Cursor {
  private sets: FieldSet[] | undefined;
  private nodes: FieldSet[] | undefined;

  private constructor(
    readonly parent: Cursor | undefined,
    readonly e: PathElement | undefined,
    /** The index of a list item (for error paths). */
    readonly index: number | undefined,
  ) {}

  /** The root of an object. */
  static root(): Cursor {
    return new Cursor(undefined, undefined, undefined);
  }

  /** The cursor of a child: a field (`index` undefined) or a list item. */
  child(e: PathElement, index?: number): Cursor {
    return new Cursor(this, e, index);
  }

  /** Makes this path a member of `set` (the root is never one). */
  insertInto(set: FieldSet): void {
    if (this.parent && this.e) this.parent.levelIn(set).addMember(this.e);
  }

  /** The level of `set` that holds this cursor's children. */
  private levelIn(set: FieldSet): FieldSet {
    if (!this.parent || !this.e) return set;
    const i = this.sets?.indexOf(set) ?? -1;
    if (i >= 0) return (this.nodes as FieldSet[])[i] as FieldSet;
    const node = this.parent.levelIn(set).descend(this.e);
    (this.sets ??= []).push(set);
    (this.nodes ??= []).push(node);
    return node;
  }

  /** The elements from the root. */
  path(): PathElement[] {
    const out = this.parent ? this.parent.path() : [];
    if (this.e) out.push(this.e);
    return out;
  }

  /** The path as field errors show it: `spec.containers[1].name`. */
  text(): string {
    if (!this.e) return '';
    const head = this.parent ? this.parent.text() : '';
    if ('field' in this.e && this.index === undefined) return head === '' ? this.e.field : `${head}.${this.e.field}`;
    return `${head}[${this.index ?? ''}]`;
  }
}
