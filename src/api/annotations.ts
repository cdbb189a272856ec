/**
 * podvisor's own settings, carried as annotations under `podvisor.io/` so that every manifest
 * stays a valid Kubernetes Pod (D11). Validation follows spec §1.3 (E13-E15) and §10.1.
 */
import { fieldErrors, type FieldError } from './errors.js';
import { parseGoDuration } from './duration.js';

export const ANN_RESTART_GRACE = 'podvisor.io/restart-grace-period-seconds';
export const ANN_CONTAINER_MAX_RESTARTS = 'podvisor.io/container-max-restarts';
export const ANN_POD_MAX_RESTARTS = 'podvisor.io/pod-max-restarts';
export const ANN_MAX_RECREATES = 'podvisor.io/max-recreates';
export const ANN_RESTART_WINDOW = 'podvisor.io/restart-window';
export const ANN_ESCALATION = 'podvisor.io/escalation';
export const ANN_FREE_EXIT_CODES = 'podvisor.io/free-exit-codes';
export const ANN_BACKOFF_INITIAL = 'podvisor.io/backoff-initial';
export const ANN_BACKOFF_MAX = 'podvisor.io/backoff-max';
export const ANN_BACKOFF_JITTER = 'podvisor.io/backoff-jitter';
/**
 * `"true"` (the sandbox runtime's default): a tiny init (catatonit) is PID 1 of each
 * container's PID namespace and forwards signals to the command, so a command without a
 * SIGTERM handler stops on SIGTERM as on the host runtime (like `docker run --init`; on the oci
 * runtime it is bound into the container at `/dev/init`).
 * `"false"` (the oci runtime's default): the command itself is PID 1, exactly as in a Kubernetes container whose image has
 * no init: signals it has no handler for are ignored, only SIGKILL after the grace period ends it.
 */
export const ANN_CONTAINER_INIT = 'podvisor.io/container-init';
/** Maintained by podvisor on re-created pods (§4.11); users may not set it (E15). */
export const ANN_RECREATIONS = 'podvisor.io/recreations';

/** Annotations that are immutable after creation (§1.1): budget, backoff and grace settings. */
export const IMMUTABLE_PODVISOR_ANNOTATIONS: readonly string[] = [
  ANN_RESTART_GRACE, ANN_CONTAINER_MAX_RESTARTS, ANN_POD_MAX_RESTARTS, ANN_MAX_RECREATES,
  ANN_RESTART_WINDOW, ANN_ESCALATION, ANN_FREE_EXIT_CODES, ANN_BACKOFF_INITIAL, ANN_BACKOFF_MAX,
  ANN_BACKOFF_JITTER, ANN_CONTAINER_INIT,
];

const KNOWN = new Set<string>([...IMMUTABLE_PODVISOR_ANNOTATIONS, ANN_RECREATIONS]);

/** The rungs of the escalation ladder (§10.3), in their only allowed order. */
export type EscalationRung = 'container' | 'pod' | 'recreate' | 'fail';
export const ESCALATION_RUNGS: readonly EscalationRung[] = ['container', 'pod', 'recreate', 'fail'];

/** podvisor settings of one pod, compiled once from its annotations. */
export interface PodvisorSettings {
  /** D8: grace of a reset's kills, seconds; 0 = SIGKILL at once. */
  restartGracePeriodSeconds: number;
  /** Counted restarts a container may have within the window; undefined = unlimited. */
  containerMaxRestarts: number | undefined;
  /** Counted resets the pod may have within the window; undefined = unlimited. */
  podMaxRestarts: number | undefined;
  /** Re-creations over the life of the pod name; undefined = unlimited. */
  maxRecreates: number | undefined;
  /** Sliding window of the budgets, ms (default 10m). */
  restartWindowMs: number;
  /** Escalation ladder (default `container,pod,recreate,fail`). */
  escalation: readonly EscalationRung[];
  /** Exit codes whose restarts never count toward a budget. */
  freeExitCodes: readonly number[];
  /** Per-pod CrashLoopBackOff INITIAL override, ms. */
  backoffInitialMs: number | undefined;
  /** Per-pod CrashLoopBackOff MAX override, ms. */
  backoffMaxMs: number | undefined;
  /** Jitter fraction 0..1 (default 0). */
  backoffJitter: number;
  /** Re-creations so far (`podvisor.io/recreations`, maintained by podvisor). */
  recreations: number;
  /** `podvisor.io/container-init`: an init as PID 1 of each container's PID namespace; undefined = the runtime's default (sandbox: true; oci: false, the command is PID 1 as on Kubernetes). */
  containerInit: boolean | undefined;
}

const NON_NEG_INT = /^\d+$/;
const INT32_MAX = 2_147_483_647;

function parseNonNegInt(v: string): number | undefined {
  if (!NON_NEG_INT.test(v)) return undefined;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : undefined;
}

function parseExitCodes(v: string): number[] | undefined {
  if (v.trim() === '') return [];
  const out: number[] = [];
  for (const part of v.split(',')) {
    const p = part.trim();
    if (!/^[+-]?\d+$/.test(p)) return undefined;
    const n = Number(p);
    if (!Number.isSafeInteger(n) || n > INT32_MAX || n < -INT32_MAX - 1) return undefined;
    out.push(n);
  }
  return out;
}

function parseEscalation(v: string): EscalationRung[] | undefined {
  if (v === '') return undefined;
  const parts = v.split(',').map((p) => p.trim());
  let last = -1;
  const out: EscalationRung[] = [];
  for (const p of parts) {
    const idx = ESCALATION_RUNGS.indexOf(p as EscalationRung);
    if (idx < 0 || idx <= last) return undefined;
    last = idx;
    out.push(p as EscalationRung);
  }
  return out;
}

function parseJitter(v: string): number | undefined {
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(v)) return undefined;
  const n = Number(v);
  return n >= 0 && n <= 1 ? n : undefined;
}

function parseBool(v: string): boolean | undefined {
  return v === 'true' ? true : v === 'false' ? false : undefined;
}

function parseNonNegDuration(v: string): number | undefined {
  const d = parseGoDuration(v);
  return d !== undefined && d >= 0 ? d : undefined;
}

function parsePositiveDuration(v: string): number | undefined {
  const d = parseGoDuration(v);
  return d !== undefined && d > 0 ? d : undefined;
}

const VALIDATORS: Record<string, { parse: (v: string) => unknown; message: string }> = {
  [ANN_RESTART_GRACE]: { parse: parseNonNegInt, message: 'must be a non-negative integer' },
  [ANN_CONTAINER_MAX_RESTARTS]: { parse: parseNonNegInt, message: 'must be a non-negative integer' },
  [ANN_POD_MAX_RESTARTS]: { parse: parseNonNegInt, message: 'must be a non-negative integer' },
  [ANN_MAX_RECREATES]: { parse: parseNonNegInt, message: 'must be a non-negative integer' },
  [ANN_RESTART_WINDOW]: { parse: parsePositiveDuration, message: 'must be a positive duration' },
  [ANN_ESCALATION]: { parse: parseEscalation, message: 'must be an ordered subset of "container,pod,recreate,fail"' },
  [ANN_FREE_EXIT_CODES]: { parse: parseExitCodes, message: 'must be a comma-separated list of integers' },
  [ANN_BACKOFF_INITIAL]: { parse: parseNonNegDuration, message: 'must be a non-negative duration' },
  [ANN_BACKOFF_MAX]: { parse: parseNonNegDuration, message: 'must be a non-negative duration' },
  [ANN_BACKOFF_JITTER]: { parse: parseJitter, message: 'must be a number between 0 and 1' },
  [ANN_CONTAINER_INIT]: { parse: parseBool, message: 'must be "true" or "false"' },
};

/** Options of {@link validatePodvisorAnnotations}. */
export interface AnnotationValidationOptions {
  /** True when podvisor itself writes the pod (a re-creation): `podvisor.io/recreations` allowed. */
  allowManaged?: boolean;
}

/**
 * Validates the `podvisor.io/` annotations. Returns every error (E13, E14, E15) in key order,
 * and one warning text per unknown `podvisor.io/` key (§1.3 rule 7).
 */
export function validatePodvisorAnnotations(
  annotations: Readonly<Record<string, string>> | undefined,
  opts: AnnotationValidationOptions = {},
): { errors: FieldError[]; warnings: string[] } {
  const errors: FieldError[] = [];
  const warnings: string[] = [];
  if (!annotations) return { errors, warnings };
  for (const key of Object.keys(annotations).sort()) {
    if (!key.startsWith('podvisor.io/')) continue;
    const value = annotations[key];
    const path = `metadata.annotations[${key}]`;
    if (key === ANN_RECREATIONS) {
      if (!opts.allowManaged) errors.push(fieldErrors.forbidden(path, 'set by podvisor only'));
      continue;
    }
    const v = VALIDATORS[key];
    if (!v) {
      if (!KNOWN.has(key)) warnings.push(`${path}: unknown podvisor.io annotation, ignored`);
      continue;
    }
    if (typeof value !== 'string' || v.parse(value) === undefined) {
      errors.push(fieldErrors.invalid(path, value, v.message));
    }
  }
  return { errors, warnings };
}

/** Default restart window (§10.1): 10 minutes. */
export const DEFAULT_RESTART_WINDOW_MS = 600_000;

/**
 * Compiles the settings of a pod from its annotations. Invalid values (which validation
 * rejects) fall back to the defaults, so this never throws.
 */
export function readPodvisorSettings(annotations: Readonly<Record<string, string>> | undefined): PodvisorSettings {
  const a = annotations ?? {};
  const get = <T>(key: string, parse: (v: string) => T | undefined): T | undefined => {
    const v = a[key];
    return typeof v === 'string' ? parse(v) : undefined;
  };
  return {
    restartGracePeriodSeconds: get(ANN_RESTART_GRACE, parseNonNegInt) ?? 0,
    containerMaxRestarts: get(ANN_CONTAINER_MAX_RESTARTS, parseNonNegInt),
    podMaxRestarts: get(ANN_POD_MAX_RESTARTS, parseNonNegInt),
    maxRecreates: get(ANN_MAX_RECREATES, parseNonNegInt),
    restartWindowMs: get(ANN_RESTART_WINDOW, parsePositiveDuration) ?? DEFAULT_RESTART_WINDOW_MS,
    escalation: get(ANN_ESCALATION, parseEscalation) ?? ESCALATION_RUNGS,
    freeExitCodes: get(ANN_FREE_EXIT_CODES, parseExitCodes) ?? [],
    backoffInitialMs: get(ANN_BACKOFF_INITIAL, parseNonNegDuration),
    backoffMaxMs: get(ANN_BACKOFF_MAX, parseNonNegDuration),
    backoffJitter: get(ANN_BACKOFF_JITTER, parseJitter) ?? 0,
    recreations: get(ANN_RECREATIONS, parseNonNegInt) ?? 0,
    containerInit: get(ANN_CONTAINER_INIT, parseBool),
  };
}
