/**
 * Field ownership across writes, as structured-merge-diff's `merge.Updater` keeps it
 * (`sigs.k8s.io/structured-merge-diff/merge/update.go`), for one API version:
 *
 * - an update (create, PUT, non-apply PATCH) gives its manager every field it added or
 *   changed and takes those fields from every other manager; removed fields leave everyone;
 * - an apply merges the configuration into the live object, makes the configuration's fields
 *   the manager's whole set, prunes what the manager applied before and no longer applies
 *   (unless another manager owns it), and fails with {@link ApplyConflicts} when it changes a
 *   field another manager owns, unless forced (then the other manager loses the field).
 *
 * Managers are opaque identifiers here (see `managed-fields.ts` for what they encode).
 */
import { FieldSet, pathString, valuesEqual, type Json, type Path } from './fieldpath.js';
import type { Schema, TypeRef } from './schema.js';
import { compareTyped, ensureNamedFieldsAreMembers, mergeTyped, removeItems, toFieldSet, type Comparison } from './typed.js';

/** The fields one manager owns, the API version it wrote them in, and whether it applied them. */
export interface VersionedSet {
  readonly set: FieldSet;
  readonly apiVersion: string;
  readonly applied: boolean;
}

/** Every manager's fields, by manager identifier. */
export type ManagedSets = Map<string, VersionedSet>;

/** One conflict: a field another manager owns. */
export interface ApplyConflict {
  readonly manager: string;
  readonly path: Path;
}

/** An apply that would change fields other managers own. */
export class ApplyConflicts extends Error {
  constructor(readonly conflicts: readonly ApplyConflict[]) {
    super(conflicts.map((c) => `conflict with ${JSON.stringify(c.manager)}: ${pathString(c.path)}`).join('\n'));
    this.name = 'ApplyConflicts';
  }
}

/** What an {@link Updater} needs to know about the objects it tracks. */
export interface UpdaterOptions {
  schema: Schema;
  root: TypeRef;
  /** Fields no manager may own at this endpoint (the status of a main resource: upstream's reset fields). */
  ignored?: FieldSet;
}

/** The result of {@link Updater.apply}: the new object (undefined when nothing changed) and the managers. */
export interface ApplyResult {
  object: Json | undefined;
  managers: ManagedSets;
}

/** Tracks field ownership for one kind at one endpoint. */
export class Updater {
  constructor(private readonly o: UpdaterOptions) {}

  private filter(set: FieldSet): FieldSet {
    return this.o.ignored ? set.recursiveDifference(this.o.ignored) : set;
  }

  private toSet(v: Json): FieldSet {
    return toFieldSet(this.o.schema, v, this.o.root);
  }

  /**
   * Takes the fields `live → next` changed from every manager but `workflow` (a conflict for
   * each, refused unless `force`), and removed fields from everyone. Returns the new sets and
   * the comparison.
   */
  private updateSets(live: Json, next: Json, managers: ManagedSets, workflow: string, force: boolean): { managers: ManagedSets; compare: Comparison } {
    const raw = compareTyped(this.o.schema, live, next, this.o.root);
    const compare: Comparison = { removed: this.filter(raw.removed), modified: this.filter(raw.modified), added: this.filter(raw.added) };
    const changed = compare.modified.union(compare.added);
    const conflicts = new Map<string, FieldSet>();
    const removed = new Set<string>();
    for (const [manager, vs] of managers) {
      if (manager === workflow) continue;
      const c = vs.set.intersection(changed);
      if (!c.empty()) conflicts.set(manager, c);
      if (!compare.removed.empty()) removed.add(manager);
    }
    if (!force && conflicts.size > 0) {
      const list: ApplyConflict[] = [];
      for (const [manager, set] of conflicts) for (const path of set.paths()) list.push({ manager, path });
      throw new ApplyConflicts(list);
    }
    const out: ManagedSets = new Map(managers);
    for (const [manager, c] of conflicts) {
      const vs = out.get(manager) as VersionedSet;
      out.set(manager, { ...vs, set: vs.set.difference(c) });
    }
    for (const manager of removed) {
      const vs = out.get(manager) as VersionedSet;
      out.set(manager, { ...vs, set: vs.set.difference(compare.removed) });
    }
    for (const [manager, vs] of out) if (vs.set.empty()) out.delete(manager);
    return { managers: out, compare };
  }

  /** An update by `manager` from `live` to `next` (`Updater.Update`): the new sets. */
  update(live: Json, next: Json, version: string, managers: ManagedSets, manager: string): ManagedSets {
    const { managers: out, compare } = this.updateSets(live, next, managers, manager, true);
    const previous = out.get(manager)?.set ?? new FieldSet();
    const set = this.filter(previous.difference(compare.removed).union(compare.modified).union(compare.added));
    if (set.empty()) out.delete(manager);
    else out.set(manager, { set, apiVersion: version, applied: false });
    return out;
  }

  /**
   * An apply of `config` by `manager` to `live` (`Updater.Apply`). Throws
   * {@link ApplyConflicts} when not forced and another manager owns a field it changes.
   */
  apply(live: Json, config: Json, version: string, managers: ManagedSets, manager: string, force: boolean): ApplyResult {
    const merged = mergeTyped(this.o.schema, live, config, this.o.root) ?? null;
    const last = managers.get(manager);
    const set = this.filter(this.toSet(config));
    const withNew: ManagedSets = new Map(managers);
    withNew.set(manager, { set, apiVersion: version, applied: true });
    const pruned = this.prune(merged, withNew, last);
    const { managers: out } = this.updateSets(live, pruned, withNew, manager, force);
    return { object: valuesEqual(live, pruned) ? undefined : pruned, managers: out };
  }

  /**
   * Removes what `manager` applied last time (`last`) and did not apply now, unless some
   * manager (this one's new configuration included) owns it (`Updater.prune`).
   */
  private prune(merged: Json, managers: ManagedSets, last: VersionedSet | undefined): Json {
    if (!last || last.set.empty()) return merged;
    const { schema, root } = this.o;
    const named = (s: FieldSet): FieldSet => ensureNamedFieldsAreMembers(schema, s, root);
    const lastNamed = named(last.set);
    let pruned = removeItems(schema, merged, lastNamed, root);
    // Add back what anyone owns (`addBackOwnedItems`).
    let managed = new FieldSet();
    for (const vs of managers.values()) managed = managed.union(vs.set);
    const mergedSet = named(this.toSet(merged));
    pruned = removeItems(schema, merged, mergedSet.difference(named(this.toSet(pruned)).union(named(managed))), root);
    // Keep only removals of what this manager owned (`addBackDanglingItems`).
    const prunedSet = named(this.toSet(pruned));
    return removeItems(schema, merged, mergedSet.difference(prunedSet).intersection(lastNamed), root);
  }
}
