/**
 * The one entry from manifest text to checked Pods: parse, select the Pods, decode, default,
 * validate. The CLI (`podvisor validate`, `podvisor apply`) and the HTTP server use it.
 */
import type { Pod } from './types.js';
import { invalidMessage, invalidStatus, renderFieldError, type FieldError, type Status } from './errors.js';
import { parseManifests, selectPods, type ManifestError } from './parse.js';
import { decodePod, type DecodeResult } from './decode.js';
import { defaultPod } from './defaults.js';
import { validatePod, validateUnmodelledFields, type PodValidationOptions } from './validation.js';

/** One Pod of a manifest, decoded, defaulted and checked. */
export interface LoadedPod {
  /** `metadata.name`, else `metadata.generateName`, else `""`. */
  name: string;
  /** The defaulted pod (also when invalid, for display). */
  pod: Pod;
  /** Every error of the pod, empty when it is valid (see {@link checkDecodedPod}). */
  errors: FieldError[];
  /** API warnings: unknown and ignored fields, unknown `podvisor.io/` annotations, and the like. */
  warnings: string[];
  /** 0-based document index in the file. */
  document: number;
  /** 0-based index in the document's `items`, for Lists. */
  item?: number;
  /** 1-based line of the pod in the file. */
  line?: number;
}

/** Result of {@link loadPods}. */
export interface LoadResult {
  /** Every Pod found, valid or not, in file order. */
  pods: LoadedPod[];
  /** File-level problems (syntax errors with line and column, wrong kinds), in file order. */
  errors: ManifestError[];
}

/**
 * Reads Pods from YAML/JSON manifest text. `source` names the file in errors. `opts` are the
 * validation options (default: creating the pods). Never throws.
 */
export function loadPods(text: string, source = '<input>', opts: PodValidationOptions = {}): LoadResult {
  const parsed = parseManifests(text, source);
  const selected = selectPods(parsed.docs, source);
  const errors = [...parsed.errors, ...selected.errors].sort((a, b) => (a.document ?? 0) - (b.document ?? 0));
  const pods = selected.pods.map((obj): LoadedPod => {
    const { pod, errors: podErrors, warnings } = checkDecodedPod(decodePod(obj.value), opts);
    const name = pod.metadata.name || pod.metadata.generateName || '';
    const loaded: LoadedPod = { name, pod, errors: podErrors, warnings, document: obj.document };
    if (obj.item !== undefined) loaded.item = obj.item;
    if (obj.line !== undefined) loaded.line = obj.line;
    return loaded;
  });
  return { pods, errors };
}

/**
 * The lines kubectl prints for a rejected pod (a 422 `Invalid` status), without trailing
 * newline: `The Pod "NAME" is invalid: <error>` for one error, else the summary line
 * `The Pod "NAME" is invalid:` followed by one `* <error>` line per error (identical errors
 * once). kubectl prefixes the server's `details` with `The`; podvisor drops the trailing
 * space kubectl leaves after the colon of the summary line.
 */
export function formatInvalidPod(name: string, errors: readonly FieldError[]): string {
  const rendered = [...new Set(errors.map(renderFieldError))];
  const head = `The Pod ${JSON.stringify(name)} is invalid:`;
  if (rendered.length === 1) return `${head} ${rendered[0]}`;
  return [head, ...rendered.map((r) => `* ${r}`)].join('\n');
}

/** The API server's message for the pod (`Pod "NAME" is invalid: ...`, spec §1.3 rule 2). */
export function podInvalidMessage(name: string, errors: readonly FieldError[]): string {
  return invalidMessage('Pod', name, errors);
}

/** The HTTP 422 `Status` body for the pod (spec §1.3 rule 2). */
export function podInvalidStatus(name: string, errors: readonly FieldError[]): Status {
  return invalidStatus('Pod', name, errors);
}

/**
 * Defaults and checks a decoded pod: the one place where the CLI and the API server turn a
 * decoded body into the pod to store and its errors and warnings.
 *
 * - Decoding errors (wrong JSON types, unsupported fields) replace the pod's validation errors,
 *   because validating a pod whose fields were dropped would add misleading errors (this
 *   mirrors the API server, which rejects such a body before validation).
 * - The fields podvisor does not model (tolerations, nodeSelector, ...) and `securityContext`
 *   (modelled, but validated with them, as upstream does in the same pass) are checked with the
 *   API server's rules whenever every value had the right JSON type, and their errors follow
 *   the others: one answer lists every error.
 */
export function checkDecodedPod(decoded: DecodeResult, opts: PodValidationOptions = {}): { pod: Pod; errors: FieldError[]; warnings: string[] } {
  const pod = defaultPod(decoded.pod);
  const warnings = [...decoded.warnings];
  const tgps = decoded.pod.spec.terminationGracePeriodSeconds;
  if (tgps !== undefined && tgps < 0) {
    warnings.push('spec.terminationGracePeriodSeconds: must be >= 0; negative values are invalid and will be treated as 1');
  }
  const unmodelled = decoded.typeErrors ? [] : validateUnmodelledFields(decoded.pod, decoded.unmodelled);
  if (decoded.errors.length > 0) return { pod, errors: [...decoded.errors, ...unmodelled], warnings };
  const v = validatePod(pod, opts);
  return { pod, errors: [...v.errors, ...unmodelled], warnings: [...warnings, ...v.warnings] };
}
