/**
 * The `api/` module: Kubernetes Pod types, manifest parsing, decoding, defaulting and
 * validation with the Kubernetes 1.36 API server's rules and messages. Pure: no I/O, no clock.
 *
 * Most callers need only {@link loadPods} (text → checked Pods) and the error renderers.
 */
export type * from './types.js';
export { PODVISOR_ANNOTATION_PREFIX } from './types.js';
export {
  FIELD_ERROR_TYPES,
  VerbatimValue,
  fieldErrors,
  invalidMessage,
  invalidStatus,
  quote,
  renderErrorBody,
  renderFieldError,
  renderValue,
  type FieldError,
  type FieldErrorType,
  type Status,
} from './errors.js';
export { formatGoDuration, parseDurationFlag, parseGoDuration } from './duration.js';
export {
  detectLogFormat,
  formatCriRecord,
  formatRfc3339Nano,
  formatRfc3339NanoFixed,
  parseCriRecord,
  parseRfc3339Nano,
  type CriRecord,
  type CriStream,
  type LogFormat,
} from './cri-log.js';
export * from './annotations.js';
export {
  decodeManifestBytes,
  parseManifests,
  renderManifestError,
  selectPods,
  type BytesResult,
  type ManifestError,
  type ParseResult,
  type ParsedDocument,
  type PodObject,
  type SelectResult,
} from './parse.js';
export { decodePod, isPlainObject, type DecodeResult } from './decode.js';
export { DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS, DEFAULT_TERMINATION_MESSAGE_PATH, defaultImagePullPolicy, defaultPod, podGraceSeconds } from './defaults.js';
export { restartTriggerLabel, type BudgetRung, type RestartTrigger } from './restart-trigger.js';
export {
  MAX_EXIT_CODE_VALUES,
  MAX_RESTART_RULES,
  TOTAL_ANNOTATION_SIZE_LIMIT,
  validatePod,
  type PodValidationOptions,
  type ValidationResult,
} from './validation.js';
export { parseQuantity, type QuantityParse } from './quantity.js';
export { checkDecodedPod, formatInvalidPod, loadPods, podInvalidMessage, podInvalidStatus, type LoadResult, type LoadedPod } from './load.js';
