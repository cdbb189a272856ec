/**
 * Test helpers for the api/ suites: a minimal valid pod and a one-call check through the
 * whole pipeline (parse → select → decode → default → validate).
 */
import { loadPods, renderFieldError, type FieldError, type LoadedPod, type PodValidationOptions } from '../../src/api/index.js';

/** A plain (untyped) manifest object, as a test builds it. */
export type Obj = Record<string, unknown>;

/** A minimal valid pod manifest with one container `c`; `spec` fields can be overridden. */
export function basePod(spec: Obj = {}, metadata: Obj = {}): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', ...metadata },
    spec: { containers: [{ name: 'c', image: 'busybox:1.36', command: ['sh', '-c', 'true'] }], ...spec },
  };
}

/** A container object named `name` with extra fields. */
export function ctr(name: string, extra: Obj = {}): Obj {
  return { name, image: 'busybox:1.36', command: ['sh', '-c', 'true'], ...extra };
}

/** What the pipeline says about one pod manifest object. */
export interface Checked {
  /** Rendered errors `<path>: <type>[: <value>]: <detail>`, in order. */
  errors: string[];
  warnings: string[];
  raw: FieldError[];
  loaded: LoadedPod;
}

/** Runs one manifest object through `loadPods` (as JSON) and returns its single pod's result. */
export function check(obj: Obj, opts: PodValidationOptions = {}): Checked {
  const r = loadPods(JSON.stringify(obj), 'test.json', opts);
  if (r.errors.length > 0 || r.pods.length !== 1) {
    throw new Error(`expected exactly one pod, got ${r.pods.length} and errors ${JSON.stringify(r.errors)}`);
  }
  const loaded = r.pods[0] as LoadedPod;
  return { errors: loaded.errors.map(renderFieldError), warnings: loaded.warnings, raw: loaded.errors, loaded };
}

/** `n` restart rules `Restart In [i]`. */
export function rules(n: number): Obj[] {
  return Array.from({ length: n }, (_, i) => ({ action: 'Restart', exitCodes: { operator: 'In', values: [i] } }));
}
