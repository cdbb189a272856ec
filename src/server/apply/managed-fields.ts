/**
 * `metadata.managedFields` as the API server encodes it (apimachinery
 * `util/managedfields/internal/managedfields.go`): one entry per manager identity (name,
 * operation, the API version for updates, subresource) with the time of its last change and
 * its fields as `FieldsV1`, entries sorted by operation (`Apply` first), time, manager, API
 * version and subresource. And the 409 an apply conflict is answered with (`conflict.go`).
 */
import type { ManagedFieldsEntry } from '../../api/types.js';
import type { Status } from '../../api/errors.js';
import { failure } from '../status.js';
import { compareStrings, FieldSet, goEscape, pathString } from './fieldpath.js';
import type { ApplyConflict, ManagedSets } from './updater.js';

/** A manager's identity: what upstream's `BuildManagerIdentifier` keeps of an entry. */
export interface ManagerId {
  manager: string;
  operation: 'Apply' | 'Update';
  /** Part of an updater's identity only (an applier is one manager whatever version it applies). */
  apiVersion?: string;
  subresource?: string;
}

/** The identifier of a manager: the entry's JSON without time and fields, as upstream builds it. */
export function managerKey(id: ManagerId): string {
  const o: Record<string, string> = {};
  if (id.manager !== '') o.manager = id.manager;
  o.operation = id.operation;
  if (id.operation === 'Update' && id.apiVersion) o.apiVersion = id.apiVersion;
  if (id.subresource) o.subresource = id.subresource;
  return goEscape(JSON.stringify(o));
}

/** The identity a key encodes, or undefined for a key that is not one (`current-operation`). */
export function parseManagerKey(key: string): ManagerId | undefined {
  try {
    const o = JSON.parse(key) as Record<string, unknown>;
    if (typeof o !== 'object' || o === null || (o.operation !== 'Apply' && o.operation !== 'Update')) return undefined;
    const id: ManagerId = { manager: typeof o.manager === 'string' ? o.manager : '', operation: o.operation };
    if (typeof o.apiVersion === 'string') id.apiVersion = o.apiVersion;
    if (typeof o.subresource === 'string') id.subresource = o.subresource;
    return id;
  } catch {
    return undefined;
  }
}

/** A manager as conflicts name it: `"kubectl"`, `"kubectl-edit" using v1`, `"kubelet" with subresource "status" using v1`. */
export function printManager(key: string): string {
  const id = parseManagerKey(key);
  if (!id) return JSON.stringify(key);
  let s = JSON.stringify(id.manager);
  if (id.subresource) s += ` with subresource ${JSON.stringify(id.subresource)}`;
  if (id.operation === 'Update') s += ` using ${id.apiVersion ?? ''}`;
  return s;
}

/** Every manager's fields and the time of its last change. */
export interface Managed {
  sets: ManagedSets;
  times: Map<string, string | undefined>;
}

/** No manager. */
export function emptyManaged(): Managed {
  return { sets: new Map(), times: new Map() };
}

/** A copy that can be changed without changing `m`. */
export function copyManaged(m: Managed): Managed {
  return { sets: new Map(m.sets), times: new Map(m.times) };
}

/** Decodes stored entries (`DecodeManagedFields`); throws for an entry upstream would not decode. */
export function decodeManagedFields(entries: unknown): Managed {
  const m = emptyManaged();
  if (entries === undefined || entries === null) return m;
  if (!Array.isArray(entries)) throw new Error('managedFields must be a list');
  entries.forEach((raw: unknown, i) => {
    const e = (typeof raw === 'object' && raw !== null ? raw : {}) as ManagedFieldsEntry;
    if (e.operation !== 'Apply' && e.operation !== 'Update') throw new Error('operation must be `Apply` or `Update`');
    if (!e.apiVersion) throw new Error('apiVersion must not be empty');
    if (e.fieldsType !== 'FieldsV1') throw new Error(e.fieldsType ? `invalid fieldsType ${JSON.stringify(e.fieldsType)} in managed fields entry ${i}` : `missing fieldsType in managed fields entry ${i}`);
    const id: ManagerId = { manager: e.manager ?? '', operation: e.operation, apiVersion: e.apiVersion };
    if (e.subresource) id.subresource = e.subresource;
    const key = managerKey(id);
    m.sets.set(key, { set: FieldSet.fromFieldsV1(e.fieldsV1 ?? {}), apiVersion: e.apiVersion, applied: e.operation === 'Apply' });
    m.times.set(key, typeof e.time === 'string' ? e.time : undefined);
  });
  return m;
}

function seconds(t: string | undefined): number {
  if (t === undefined) return 0;
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? 0 : Math.floor(ms / 1000);
}

/** Encodes the managers as stored entries (`encodeManagedFields`), sorted; undefined when there are none. */
export function encodeManagedFields(m: Managed): ManagedFieldsEntry[] | undefined {
  if (m.sets.size === 0) return undefined;
  const out: ManagedFieldsEntry[] = [];
  for (const [key, vs] of m.sets) {
    const id = parseManagerKey(key);
    if (!id) continue;
    const e: ManagedFieldsEntry = { manager: id.manager, operation: vs.applied ? 'Apply' : 'Update', apiVersion: vs.apiVersion };
    const time = m.times.get(key);
    if (time !== undefined) e.time = time;
    e.fieldsType = 'FieldsV1';
    e.fieldsV1 = vs.set.toFieldsV1();
    if (id.subresource) e.subresource = id.subresource;
    if (e.manager === '') delete e.manager;
    out.push(e);
  }
  out.sort((p, q) => {
    if (p.operation !== q.operation) return compareStrings(p.operation ?? '', q.operation ?? '');
    const ps = seconds(p.time);
    const qs = seconds(q.time);
    if (ps !== qs) return ps < qs ? -1 : 1;
    return compareStrings(p.manager ?? '', q.manager ?? '') || compareStrings(p.apiVersion ?? '', q.apiVersion ?? '') || compareStrings(p.subresource ?? '', q.subresource ?? '');
  });
  return out.length > 0 ? out : undefined;
}

/**
 * The API server's answer to an apply that conflicts (`NewConflictError`): 409 `Conflict`,
 * `Apply failed with N conflict(s): …`, one `FieldManagerConflict` cause per field.
 */
export function conflictStatus(conflicts: readonly ApplyConflict[]): Status {
  const sorted = [...conflicts].sort((a, b) => compareStrings(a.manager, b.manager));
  const causes = sorted.map((c) => ({ reason: 'FieldManagerConflict', message: `conflict with ${printManager(c.manager)}`, field: pathString(c.path) }));
  let message: string;
  if (sorted.length === 1) {
    const c = sorted[0] as ApplyConflict;
    message = `Apply failed with 1 conflict: conflict with ${printManager(c.manager)}: ${pathString(c.path)}`;
  } else {
    const lines: string[] = [];
    let last: string | undefined;
    for (const c of sorted) {
      if (c.manager !== last) lines.push(`conflicts with ${printManager(c.manager)}:`);
      last = c.manager;
      lines.push(`- ${pathString(c.path)}`);
    }
    message = `Apply failed with ${sorted.length} conflicts: ${lines.join('\n')}`;
  }
  return failure(409, 'Conflict', message, { causes });
}
