/**
 * Field management of HTTP writes, for the generic handlers (`handlers/objects.ts`):
 *
 * - the request's manager: `fieldManager` (checked as `CreateOptions`, `UpdateOptions` or
 *   `PatchOptions` are, 422), else the user agent up to its first `/` (`kubectl-edit`,
 *   `kubectl-client-side-apply`, ...), as the API server derives it; an apply requires
 *   `fieldManager`, and `force` is only for applies;
 * - the managed fields a create, PUT or non-apply PATCH stores ({@link managedFieldsOfWrite});
 * - an apply: the object to store and its managed fields, or the API server's 400, 409
 *   (conflicts) or 422 ({@link applyConfiguration}).
 *
 * What to store goes to the registry through `write-context.ts`.
 */
import { VerbatimValue, fieldErrors, type FieldError } from '../../api/errors.js';
import type { ManagedFieldsEntry } from '../../api/types.js';
import type { LiteralIndex } from '../../api/json-scan.js';
import type { KindDef } from '../registry/types.js';
import { badRequest, HttpError, invalid } from '../status.js';
import { ApplyRefused, FieldManager, type Applied } from './field-manager.js';
import type { Json } from './fieldpath.js';
import { conflictStatus } from './managed-fields.js';
import { TypedError, type TypedProblem } from './typed.js';
import { ApplyConflicts } from './updater.js';

export { decided, lazyDecision, withManagedFields } from './write-context.js';

type Obj = { [k: string]: Json };

/** Upstream's `FieldManagerMaxLength` (bytes). */
const FIELD_MANAGER_MAX_LENGTH = 128;
/** Go's `unicode.IsPrint`: letters, marks, numbers, punctuation, symbols and the ASCII space. */
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `ValidateFieldManager`: at most 128 bytes, printable characters only. */
function fieldManagerErrors(manager: string): FieldError[] {
  const errs: FieldError[] = [];
  if (Buffer.byteLength(manager) > FIELD_MANAGER_MAX_LENGTH) errs.push(fieldErrors.tooLong('fieldManager', FIELD_MANAGER_MAX_LENGTH));
  let at = 0;
  for (const ch of manager) {
    if (!PRINTABLE.test(ch)) {
      const code = (ch.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0');
      errs.push(fieldErrors.invalid('fieldManager', manager, `invalid character U+${code} (at position ${at})`));
    }
    at += Buffer.byteLength(ch);
  }
  return errs;
}

/** The manager named by a user agent: its part before the first `/`, printable characters, at most 128 bytes (`prefixFromUserAgent`). */
export function managerFromUserAgent(userAgent: string | undefined): string {
  const head = (userAgent ?? '').split('/')[0] ?? '';
  let out = '';
  for (const ch of head) {
    if (!PRINTABLE.test(ch)) continue;
    if (Buffer.byteLength(out + ch) > FIELD_MANAGER_MAX_LENGTH) break;
    out += ch;
  }
  return out;
}

/**
 * The manager of a create (`CreateOptions`) or update (`UpdateOptions`): `fieldManager`, else
 * from the user agent. A `fieldManager` that is too long or not printable is a 422.
 */
export function writeManager(query: URLSearchParams, userAgent: string | undefined, options: 'CreateOptions' | 'UpdateOptions'): string {
  const given = query.get('fieldManager') ?? '';
  const errs = fieldManagerErrors(given);
  if (errs.length > 0) throw new HttpError(invalid(`${options}.meta.k8s.io`, '', errs));
  return given !== '' ? given : managerFromUserAgent(userAgent);
}

/** What a PATCH's query says about field management. */
export interface PatchFieldOptions {
  manager: string;
  force: boolean;
}

/**
 * `ValidatePatchOptions`: an apply needs `fieldManager`; `force` is refused on other patches;
 * the manager's characters and length. Every error at once (422 `PatchOptions.meta.k8s.io`).
 */
export function patchFieldOptions(query: URLSearchParams, userAgent: string | undefined, apply: boolean): PatchFieldOptions {
  const given = query.get('fieldManager') ?? '';
  const errs: FieldError[] = [];
  if (apply && given === '') errs.push(fieldErrors.required('fieldManager', 'is required for apply patch'));
  if (!apply && query.has('force')) errs.push(fieldErrors.forbidden('force', 'may not be specified for non-apply patch'));
  errs.push(...fieldManagerErrors(given));
  if (errs.length > 0) throw new HttpError(invalid('PatchOptions.meta.k8s.io', '', errs));
  const f = (query.get('force') ?? 'false').toLowerCase();
  return { manager: given !== '' ? given : managerFromUserAgent(userAgent), force: f !== 'false' && f !== '0' };
}

/** `[{}]` (one entry with nothing set): the documented way to clear an object's managed fields. */
function isReset(v: unknown): boolean {
  if (!Array.isArray(v) || v.length !== 1) return false;
  const e: unknown = v[0];
  return isObject(e) && Object.values(e).every((x) => x === null || x === '');
}

/** A copy of a value as plain JSON. */
function plain(o: unknown): Obj {
  return JSON.parse(JSON.stringify(o)) as Obj;
}

/**
 * The managed fields to store when `manager` creates (`live` undefined) or updates an object
 * to `body` (a whole object: the PUT body, or the patched object). A body that does not decode
 * is refused by the resource; its managed fields are then those of the live object.
 */
export function managedFieldsOfWrite<T extends { metadata: object }>(
  def: KindDef<T>, live: T | undefined, body: Record<string, unknown>, manager: string, now: () => number, literals?: LiteralIndex,
): ManagedFieldsEntry[] | undefined {
  const liveObj = live ? plain(live) : undefined;
  const keep = (liveObj?.metadata as { managedFields?: ManagedFieldsEntry[] } | undefined)?.managedFields;
  try {
    const d = def.decode(body, literals);
    if (d.errors.length > 0) return keep;
    const fm = new FieldManager({ apiVersion: def.apiVersion, kind: def.kind, now });
    const meta = isObject(body.metadata) ? body.metadata : {};
    return fm.update(liveObj, fm.decodeDefaults(plain(d.obj)), manager, isReset(meta.managedFields));
  } catch {
    // Not expected (decoding and the field manager do not throw); the live object's stay, as upstream's `UpdateNoErrors` keeps them.
    return keep;
  }
}

/** Drops null map values (outside `status`), as decoding into the API types does: what prune and the zero object leave. */
function dropNulls(v: Json, top = true): Json {
  if (Array.isArray(v)) return v.map((x) => dropNulls(x, false));
  if (!isObject(v)) return v;
  const out: Obj = {};
  for (const [k, x] of Object.entries(v)) {
    if (x === null) continue;
    out[k] = top && k === 'status' ? x : dropNulls(x, false);
  }
  return out;
}

function problemError(p: TypedProblem): FieldError {
  const field = p.path;
  if (p.kind === 'duplicate') return fieldErrors.duplicate(field, p.value ?? null);
  if (p.kind === 'key') return fieldErrors.required(field, p.message);
  const shown = p.value === undefined ? new VerbatimValue('null') : typeof p.value === 'object' && p.value !== null ? new VerbatimValue(JSON.stringify(p.value).slice(0, 128)) : p.value;
  return fieldErrors.invalid(field, shown, p.message);
}

/**
 * Server-side apply of `config` by `manager` to `live` (undefined: created): the object to
 * write and its managed fields. Throws the API server's answers: 400 for a configuration of
 * another kind or with `metadata.managedFields`, 409 `Conflict` with a cause per field another
 * manager owns (unless `force`), 422 for one that cannot be merged (list elements without
 * their key, duplicate keys).
 */
export function applyConfiguration<T extends { metadata: object }>(
  def: KindDef<T>, live: T | undefined, config: Record<string, unknown>, manager: string, force: boolean, now: () => number,
): Applied {
  const fm = new FieldManager({ apiVersion: def.apiVersion, kind: def.kind, now });
  const name = isObject(config.metadata) && typeof config.metadata.name === 'string' ? config.metadata.name : '';
  try {
    const r = fm.apply(live ? plain(live) : undefined, plain(config), manager, force);
    return { ...r, object: dropNulls(r.object) as Obj };
  } catch (err) {
    if (err instanceof ApplyConflicts) throw new HttpError(conflictStatus(err.conflicts));
    if (err instanceof ApplyRefused) {
      if (err.kind === 'badRequest') throw new HttpError(badRequest(err.message));
      throw new HttpError(invalid(def.kind, name, err.problems.map(problemError)));
    }
    if (err instanceof TypedError) throw new HttpError(invalid(def.kind, name, err.problems.map(problemError)));
    throw err;
  }
}
