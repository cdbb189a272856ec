/**
 * A PATCH of a pod, from the parsed body to the patched object, with the API server's bounds
 * on what a patch may produce (`k8s.io/apiserver/pkg/endpoints/handlers/patch.go`):
 *
 * - JSON patch: at most 10,000 operations (413), copies adding at most the request limit
 *   (422), see `json-patch.ts`;
 * - every type (JSON, merge, strategic merge, server-side apply): the patched object may not
 *   be larger than the request limit (413 `RequestEntityTooLarge`, as an object the store
 *   refuses for its size) nor nested deeper than the body limit (422); both are measured
 *   without encoding it, so a result of gigabytes is never built or encoded;
 * - duplicate keys of a JSON patch body follow `fieldValidation`: a warning (`Warn`, kubectl's
 *   default) or a 422 (`Strict`), as the API server's strict patch decoding reports them.
 */
import { isPlainObject } from '../api/decode.js';
import { VerbatimValue } from '../api/errors.js';
import type { ParsedBody } from './body.js';
import { measureJson } from './json-measure.js';
import { applyJsonPatch } from './json-patch.js';
import type { FieldValidation } from './options.js';
import { jsonMergePatch, PatchError, PatchTooLargeError, strategicMergePatch, type Json } from './patch.js';
import { badRequest, entityTooLarge, failure, HttpError, invalid, tooLarge } from './status.js';

/** The PATCH media types, in the order the API server lists them. */
export const PATCH_TYPES = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
  'application/apply-patch+yaml',
] as const;

/** One of {@link PATCH_TYPES}. */
export type PatchType = (typeof PATCH_TYPES)[number];

/** Bounds of {@link applyPatch}. */
export interface PatchBounds {
  /** Largest patched object (bytes, encoded), also the JSON patch copy budget and work budget. */
  maxBytes: number;
  /** Deepest nesting of the patched object. */
  maxDepth: number;
}

/** The patched object and the warnings for the response. */
export interface PatchOutcome {
  next: Record<string, unknown>;
  warnings: string[];
}

function preview(v: unknown): string {
  const s = JSON.stringify(v) ?? '';
  return JSON.stringify(s.length > 128 ? `${s.slice(0, 128)}...` : s);
}

/**
 * The bounds every patched object keeps, whatever the patch type (server-side apply's merged
 * object too): 413 past the size limit, 422 past the nesting limit, measured without encoding.
 */
export function checkPatchedBounds(next: unknown, bounds: PatchBounds): void {
  const m = measureJson(next, bounds.maxBytes, bounds.maxDepth);
  if (m.exceeded === 'bytes') throw new HttpError(tooLarge(bounds.maxBytes));
  if (m.exceeded === 'depth') throw new HttpError(failure(422, 'Invalid', `the patched object is nested deeper than ${bounds.maxDepth} levels`));
}

/**
 * Applies `body` (of media type `type`) to the current object `cur`. Rejects with an `HttpError`
 * with the API server's status for a malformed patch (400), one that does not apply (422), or
 * one past a bound (413/422). Server-side apply (`application/apply-patch+yaml`) is not a patch
 * of the current object: the handler gives it to the field manager (`apply/writes.ts`).
 */
export async function applyPatch(type: PatchType, cur: Json, body: ParsedBody, mode: FieldValidation, bounds: PatchBounds): Promise<PatchOutcome> {
  const patch = body.value as Json;
  let next: Json | undefined;
  try {
    switch (type) {
      case 'application/json-patch+json':
        next = await applyJsonPatch(cur, patch, { maxCopyBytes: bounds.maxBytes, maxDepth: bounds.maxDepth, maxWork: bounds.maxBytes });
        break;
      case 'application/merge-patch+json':
        next = jsonMergePatch(cur, patch);
        break;
      default:
        if (!isPlainObject(patch)) throw new PatchError('the patch must be a JSON object', true);
        next = strategicMergePatch(cur, patch);
    }
  } catch (err) {
    if (err instanceof PatchTooLargeError) throw new HttpError(entityTooLarge(err.message));
    if (err instanceof PatchError) throw new HttpError(err.badRequest ? badRequest(err.message) : failure(422, 'Invalid', err.message));
    throw err;
  }
  if (!isPlainObject(next)) throw new HttpError(failure(422, 'Invalid', 'the patched object is not a JSON object'));
  checkPatchedBounds(next, bounds);
  const strict = body.duplicates.map((d) => `${type === 'application/json-patch+json' ? 'json patch ' : ''}duplicate field ${JSON.stringify(d)}`);
  if (strict.length > 0 && mode === 'Strict') {
    throw new HttpError(invalid('', '', [{ type: 'Invalid', field: 'patch', value: new VerbatimValue(preview(next)), detail: `strict decoding error: ${strict.join(', ')}` }]));
  }
  return { next, warnings: mode === 'Warn' ? strict : [] };
}
