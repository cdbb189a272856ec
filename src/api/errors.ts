/**
 * Field errors in the Kubernetes API server's format (k8s.io/apimachinery
 * `pkg/util/validation/field/errors.go`): `<path>: <type phrase>[: <value>]: <detail>`.
 * Spec §1.3 and decision D7.
 */

/** The error types podvisor produces, with the API server's type phrase and cause reason. */
export const FIELD_ERROR_TYPES = {
  Required: { phrase: 'Required value', reason: 'FieldValueRequired', showsValue: false },
  NotSupported: { phrase: 'Unsupported value', reason: 'FieldValueNotSupported', showsValue: true },
  Forbidden: { phrase: 'Forbidden', reason: 'FieldValueForbidden', showsValue: false },
  TooMany: { phrase: 'Too many', reason: 'FieldValueTooMany', showsValue: true },
  TooLong: { phrase: 'Too long', reason: 'FieldValueTooLong', showsValue: false },
  Invalid: { phrase: 'Invalid value', reason: 'FieldValueInvalid', showsValue: true },
  TypeInvalid: { phrase: 'Invalid value', reason: 'FieldValueTypeInvalid', showsValue: true },
  Duplicate: { phrase: 'Duplicate value', reason: 'FieldValueDuplicate', showsValue: true },
  NotFound: { phrase: 'Not found', reason: 'FieldValueNotFound', showsValue: true },
} as const;

export type FieldErrorType = keyof typeof FIELD_ERROR_TYPES;

/** One validation error. `value` is omitted from the rendering for Required/Forbidden/TooLong. */
export interface FieldError {
  type: FieldErrorType;
  /** Field path such as `spec.containers[0].restartPolicyRules[1].action`. */
  field: string;
  /** The offending value (rendered Go-style: strings quoted, numbers bare). */
  value?: unknown;
  /** The text after the value, e.g. `supported values: "In", "NotIn"`. */
  detail: string;
}

/** Go's %q-ish quoting of a string, as the API server renders string values. */
export function quote(s: string): string {
  return JSON.stringify(s);
}

/**
 * A bad value that renders verbatim, without quoting: used where the offending value is not a
 * scalar (e.g. an object given where a string was expected) and the decoder shows a short,
 * truncated JSON preview of it instead of the whole value.
 */
export class VerbatimValue {
  /** @param text what the error shows in place of the value, as is. */
  constructor(readonly text: string) {}
  /** The text, so that string conversion shows the same as the rendering. */
  toString(): string {
    return this.text;
  }
  /** Serializes as the text (e.g. in a stored error). */
  toJSON(): string {
    return this.text;
  }
}

/** Renders a value the way apimachinery does for the common scalar cases. */
export function renderValue(v: unknown): string {
  if (v instanceof VerbatimValue) return v.text;
  if (typeof v === 'string') return quote(v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (v === null || v === undefined) return 'null';
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

/** The part of a rendered error after `<path>: ` (the `details.causes[].message` text). */
export function renderErrorBody(e: FieldError): string {
  const t = FIELD_ERROR_TYPES[e.type];
  const parts: string[] = [t.phrase];
  if (t.showsValue && 'value' in e) parts.push(renderValue(e.value));
  if (e.detail !== '') parts.push(e.detail);
  return parts.join(': ');
}

/** Full rendering: `<path>: <body>`. */
export function renderFieldError(e: FieldError): string {
  return e.field === '' ? renderErrorBody(e) : `${e.field}: ${renderErrorBody(e)}`;
}

/** Constructors, named after apimachinery's `field.Required`, `field.NotSupported`, … */
export const fieldErrors = {
  required: (field: string, detail: string): FieldError => ({ type: 'Required', field, detail }),
  forbidden: (field: string, detail: string): FieldError => ({ type: 'Forbidden', field, detail }),
  invalid: (field: string, value: unknown, detail: string): FieldError => ({ type: 'Invalid', field, value, detail }),
  typeInvalid: (field: string, value: unknown, detail: string): FieldError => ({ type: 'TypeInvalid', field, value, detail }),
  duplicate: (field: string, value: unknown): FieldError => ({ type: 'Duplicate', field, value, detail: '' }),
  tooMany: (field: string, actual: number, max: number): FieldError => ({
    type: 'TooMany', field, value: actual, detail: `must have at most ${max} items`,
  }),
  tooLong: (field: string, max: number): FieldError => ({
    type: 'TooLong', field, detail: `may not be more than ${max} bytes`,
  }),
  notSupported: (field: string, value: unknown, supported: readonly string[]): FieldError => ({
    type: 'NotSupported', field, value, detail: `supported values: ${supported.map(quote).join(', ')}`,
  }),
};

/** A Kubernetes `Status` object (meta/v1), as returned by the API server on errors. */
export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message: string;
  reason: string;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    /** Upstream omits an empty `reason` or `field` (`omitempty`), as an InternalError's cause has. */
    causes?: { reason?: string; message: string; field?: string }[];
    /** With 429 `TooManyRequests`: when the client may try again. */
    retryAfterSeconds?: number;
  };
  code: number;
}

/**
 * The message of an Invalid error for a pod, as the API server builds it
 * (`errors.NewInvalid`): one error inline, several in brackets, identical strings once.
 */
export function invalidMessage(kind: string, name: string, errors: readonly FieldError[]): string {
  // A Set: a body with a hundred thousand bad list elements has as many errors.
  const rendered = [...new Set(errors.map(renderFieldError))];
  const body = rendered.length === 1 ? rendered[0] : `[${rendered.join(', ')}]`;
  return `${kind} "${name}" is invalid: ${body}`;
}

/** Builds the HTTP 422 `Status` for an invalid object (spec §1.3 rule 2). */
export function invalidStatus(kind: string, name: string, errors: readonly FieldError[]): Status {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: invalidMessage(kind, name, errors),
    reason: 'Invalid',
    details: {
      name,
      kind,
      causes: errors.map((e) => ({
        reason: FIELD_ERROR_TYPES[e.type].reason,
        message: renderErrorBody(e),
        field: e.field,
      })),
    },
    code: 422,
  };
}
