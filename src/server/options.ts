/**
 * Request options from the query and from `DeleteOptions` bodies, checked as the API server's
 * parameter and body decoders check them: `dryRun`, `fieldValidation`, `gracePeriodSeconds`.
 */
import { fieldErrors, VerbatimValue } from '../api/errors.js';
import type { LiteralIndex } from '../api/json-scan.js';
import { badRequest, HttpError, invalid } from './status.js';

/** `fieldValidation`: what to do with unknown and duplicate fields. */
export type FieldValidation = 'Ignore' | 'Warn' | 'Strict';

/** `dryRun`: only `All` is supported; true when present. */
export function dryRunOf(q: URLSearchParams): boolean {
  const values = q.getAll('dryRun').filter((v) => v !== '');
  for (const v of values) if (v !== 'All') throw new HttpError(badRequest(`dryRun: Unsupported value: ${JSON.stringify(v)}: supported values: "All"`));
  return values.length > 0;
}

/** `fieldValidation` (default `Warn`, what kubectl asks for). */
export function fieldValidationOf(q: URLSearchParams): FieldValidation {
  const v = q.get('fieldValidation') ?? '';
  if (v === '') return 'Warn';
  if (v === 'Ignore' || v === 'Warn' || v === 'Strict') return v;
  throw new HttpError(badRequest(`invalid fieldValidation directive: ${v}`));
}

/** The keys of the integer fields of a `DeleteOptions` body, for the raw-JSON scan. */
export const DELETE_OPTIONS_INTEGER_KEYS: ReadonlySet<string> = new Set(['gracePeriodSeconds']);

/**
 * The longest grace period whose deletion time the API server can compute: it adds
 * `time.Second * time.Duration(gracePeriodSeconds)` to now, and a Go `time.Duration` holds at
 * most 2^63-1 ns, about 292 years. Longer ones overflow there; here they are refused (422).
 */
export const MAX_GRACE_PERIOD_SECONDS = 9_223_372_036;

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

function int64Literal(s: string): boolean {
  return /^-?\d+$/.test(s) && BigInt(s) <= INT64_MAX && BigInt(s) >= INT64_MIN;
}

/** The Go decoder's message for a JSON value that does not fit an int64 field of DeleteOptions. */
function notInt64(what: string): HttpError {
  return new HttpError(badRequest(`json: cannot unmarshal ${what} into Go struct field DeleteOptions.gracePeriodSeconds of type int64`));
}

/**
 * The grace period of a delete: from the body's `gracePeriodSeconds` when set, else from the
 * query; undefined when neither sets one. A value that is not an int64 is a 400 (a query that
 * does not parse, a body value that is not an integer literal, such as `1e300` or `1.5`); one
 * beyond {@link MAX_GRACE_PERIOD_SECONDS} is a 422; a negative one means 1 s, as for the API
 * server. `literals` are the body's non-integer number literals (see `api/json-scan.ts`).
 */
export function gracePeriodOf(q: URLSearchParams, body: Record<string, unknown> | undefined, literals: LiteralIndex | undefined): number | undefined {
  let grace: number | undefined;
  /** The value as the client wrote it (a double cannot show every int64). */
  let shown: unknown;
  const qg = q.get('gracePeriodSeconds');
  if (qg !== null && qg !== '') {
    if (!int64Literal(qg)) throw new HttpError(badRequest(`invalid gracePeriodSeconds: ${JSON.stringify(qg)}: must be an integer (int64)`));
    grace = Number(qg);
    shown = new VerbatimValue(qg);
  }
  const bg = body?.gracePeriodSeconds;
  if (body !== undefined && bg !== undefined && bg !== null) {
    if (typeof bg !== 'number') throw notInt64(Array.isArray(bg) ? 'array' : typeof bg === 'object' ? 'object' : typeof bg === 'boolean' ? 'bool' : typeof bg);
    const literal = literals?.get(body)?.get('gracePeriodSeconds');
    if (literal !== undefined) throw notInt64(`number ${literal}`);
    if (!Number.isInteger(bg) || Math.abs(bg) > 2 ** 63) throw notInt64(`number ${String(bg)}`);
    grace = bg;
    shown = bg;
  }
  if (grace !== undefined && grace > MAX_GRACE_PERIOD_SECONDS) {
    throw new HttpError(invalid('DeleteOptions.meta.k8s.io', '', [
      fieldErrors.invalid('gracePeriodSeconds', shown, `must be at most ${MAX_GRACE_PERIOD_SECONDS} (the longest duration the API server can add to a time)`),
    ]));
  }
  return grace !== undefined && grace < 0 ? 1 : grace;
}
