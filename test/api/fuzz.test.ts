// Property-based fuzzing of the whole api/ pipeline (parse → select → decode → default →
// validate → render) with 10,000 generated inputs: mutated valid pods (the examples), mutated
// manifest text and bytes, and random text. No exception may escape, every pod error has a
// field path, every file-level error has a line, and the run stays bounded in time and memory
// (generous sanity bounds, not performance assertions).
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import {
  decodeManifestBytes,
  decodePod,
  defaultPod,
  formatInvalidPod,
  invalidStatus,
  loadPods,
  parseManifests,
  renderFieldError,
  renderManifestError,
  selectPods,
  validatePod,
  type FieldError,
  type ManifestError,
} from '../../src/api/index.js';

const EXAMPLES_DIR = join(import.meta.dirname, '..', '..', 'examples');
const exampleTexts = readdirSync(EXAMPLES_DIR)
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => readFileSync(join(EXAMPLES_DIR, f), 'utf8'));
const exampleValues = exampleTexts.map((t) => parseManifests(t).docs[0]?.value);

let checkedPods = 0;
let podsWithErrors = 0;

function assertPodErrors(errors: readonly FieldError[]): void {
  for (const e of errors) {
    if (e.field === '') throw new Error(`error without field path: ${renderFieldError(e)}`);
    renderFieldError(e);
  }
  if (errors.length > 0) {
    podsWithErrors++;
    JSON.stringify(invalidStatus('Pod', 'x', errors));
    formatInvalidPod('x', errors);
  }
  checkedPods++;
}

function assertFileErrors(errors: readonly ManifestError[]): void {
  for (const e of errors) {
    if (typeof e.line !== 'number' || e.line < 1) throw new Error(`file error without line: ${JSON.stringify(e)}`);
    renderManifestError(e);
  }
}

/** The pipeline on text, as the CLI and server run it. */
function runText(text: string): void {
  const r = loadPods(text, 'fuzz.yaml');
  assertFileErrors(r.errors);
  for (const p of r.pods) assertPodErrors(p.errors);
}

/** The pipeline on an in-memory value (reaches values YAML cannot express, e.g. Map or Date). */
function runValue(value: unknown): void {
  const sel = selectPods([{ index: 0, value, line: 1 }], 'fuzz');
  assertFileErrors(sel.errors);
  for (const obj of sel.pods) {
    const d = decodePod(obj.value);
    const pod = defaultPod(d.pod);
    if (d.errors.length > 0) assertPodErrors(d.errors);
    else {
      assertPodErrors(validatePod(pod, { create: false }).errors);
      assertPodErrors(validatePod(pod).errors);
    }
  }
}

function nest(depth: number, leaf: unknown, asArray: boolean): unknown {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = asArray ? [v] : { spec: v };
  return v;
}

const hostile: fc.Arbitrary<unknown> = fc.oneof(
  fc.anything({
    maxDepth: 3,
    withMap: true,
    withSet: true,
    withDate: true,
    withTypedArray: true,
    withNullPrototype: true,
    withBoxedValues: true,
    withSparseArray: true,
  }),
  fc.constantFrom(2 ** 31, -(2 ** 31) - 1, 2 ** 53 + 1, 1e308, -1e308, Infinity, -Infinity, NaN, -0, 0.5, -1, 65536),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom('', ' ', 'Always', 'Never', 'OnFailure', 'Restart', 'RestartAllContainers', 'In', 'NotIn', 'Equals', '-1', '10m', '__proto__', 'constructor'),
  fc.tuple(fc.integer({ min: 1, max: 400 }), fc.boolean()).map(([d, a]) => nest(d, 'x', a)),
  fc.array(fc.integer(), { maxLength: 300 }),
  fc.array(fc.record({ action: fc.constantFrom('Restart', 'RestartAllContainers', 'x'), exitCodes: fc.record({ operator: fc.constantFrom('In', 'NotIn', ''), values: fc.array(fc.integer(), { maxLength: 3 }) }) }), { maxLength: 25 }),
);

type PathKey = string | number;

/** Every path into `v` (the harness stops at depth 12: deep nests are fuzz input, not targets). */
function allPaths(v: unknown, prefix: PathKey[] = [], out: PathKey[][] = []): PathKey[][] {
  out.push(prefix);
  if (prefix.length >= 12) return out;
  if (Array.isArray(v)) v.forEach((item, i) => allPaths(item, [...prefix, i], out));
  else if (v && typeof v === 'object') for (const k of Object.keys(v)) allPaths((v as Record<string, unknown>)[k], [...prefix, k], out);
  return out;
}

type Op = { kind: 'set' | 'delete' | 'dup' | 'rename' | 'add'; at: number; value: unknown; key: string };

function applyOps(base: unknown, ops: readonly Op[]): unknown {
  let root: unknown = structuredClone(base);
  for (const op of ops) {
    const paths = allPaths(root);
    const path = paths[op.at % paths.length] ?? [];
    if (path.length === 0) {
      if (op.kind === 'set') root = op.value;
      continue;
    }
    let parent: unknown = root;
    for (const k of path.slice(0, -1)) parent = (parent as Record<PathKey, unknown>)[k];
    const last = path[path.length - 1] as PathKey;
    const p = parent as Record<PathKey, unknown> & unknown[];
    try {
      mutateAt(p, last, op);
    } catch {
      // Frozen or boxed values cannot be edited; the op is skipped (harness, not code under test).
    }
  }
  return root;
}

function mutateAt(p: Record<PathKey, unknown> & unknown[], last: PathKey, op: Op): void {
  {
    switch (op.kind) {
      case 'set':
        p[last] = op.value;
        break;
      case 'delete':
        if (Array.isArray(p) && typeof last === 'number') p.splice(last, 1);
        else delete p[last];
        break;
      case 'dup':
        // Shared, not cloned: the same subtree twice (as a YAML alias would give).
        if (Array.isArray(p) && typeof last === 'number') p.splice(last, 0, p[last]);
        else p[`${String(last)}2`] = p[last];
        break;
      case 'rename':
        if (!Array.isArray(p)) {
          Object.defineProperty(p, op.key, { value: p[last], enumerable: true, configurable: true, writable: true });
          delete p[last];
        }
        break;
      case 'add': {
        const target = p[last];
        if (target && typeof target === 'object' && !Array.isArray(target)) {
          Object.defineProperty(target, op.key, { value: op.value, enumerable: true, configurable: true, writable: true });
        } else if (Array.isArray(target)) target.push(op.value);
        break;
      }
    }
  }
}

const opArb: fc.Arbitrary<Op> = fc.record({
  kind: fc.constantFrom('set', 'set', 'set', 'delete', 'dup', 'rename', 'add'),
  at: fc.nat(),
  value: hostile,
  key: fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('name', 'restartPolicy', 'image', 'foo', 'grpc', 'configMap', 'status', '__proto__')),
}) as fc.Arbitrary<Op>;

function safeYaml(v: unknown): string | undefined {
  try {
    return stringify(v, { aliasDuplicateObjects: false });
  } catch {
    return undefined;
  }
}

describe('fuzz: parse + decode + default + validate', () => {
  it('survives 10,000 generated and mutated manifests within sanity bounds', () => {
    // Measure retained memory, not garbage awaiting collection (vitest runs with --expose-gc).
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    const heapBefore = process.memoryUsage().heapUsed;
    const start = performance.now();

    // 1. Mutated valid pods, as values and (when YAML can express them) as YAML/JSON text.
    fc.assert(
      fc.property(fc.nat(), fc.array(opArb, { minLength: 1, maxLength: 4 }), fc.nat(3), (which, ops, mode) => {
        const base = exampleValues[which % exampleValues.length];
        const mutated = applyOps(base, ops);
        runValue(mutated);
        if (mode === 0) {
          const text = safeYaml(mutated);
          if (text !== undefined) runText(text);
        } else if (mode === 1) {
          let json: string | undefined;
          try {
            json = JSON.stringify(mutated);
          } catch {
            json = undefined;
          }
          if (json !== undefined) runText(json);
        }
      }),
      { numRuns: 5000, seed: 20260501 },
    );

    // 2. Mutated manifest text and bytes (insertions, deletions, non-UTF-8 bytes read as latin1 or UTF-8).
    const byteEdit = fc.record({ at: fc.nat(), del: fc.nat(8), ins: fc.uint8Array({ maxLength: 12 }) });
    fc.assert(
      fc.property(fc.nat(), fc.array(byteEdit, { minLength: 1, maxLength: 6 }), fc.constantFrom('utf8', 'latin1', 'raw'), (which, edits, enc) => {
        let bytes = Buffer.from(exampleTexts[which % exampleTexts.length] ?? '');
        for (const e of edits) {
          const at = e.at % (bytes.length + 1);
          bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from(e.ins), bytes.subarray(Math.min(bytes.length, at + e.del))]);
        }
        if (enc === 'raw') {
          const d = decodeManifestBytes(bytes, 'fuzz.yaml');
          if (d.ok) runText(d.text);
          else assertFileErrors([d.error]);
        } else {
          runText(bytes.toString(enc));
        }
      }),
      { numRuns: 3000, seed: 20260502 },
    );

    // 3. Random text: unicode, YAML-ish token soup, deep flow nesting, many documents.
    const token = fc.constantFrom('apiVersion: v1', 'kind: Pod', 'kind: List', 'items:', 'spec:', 'containers:', '- name: c', 'image: x', '---', '  ', '\n', '[', ']', '{', '}', ':', '- ', '&a', '*a', '!!binary', '? ', '|', '>', '"', "'", '#', '%YAML 1.2', '\t', '\u0000', '\uFFFD', '<<: *a');
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 200 }),
          fc.array(token, { maxLength: 80 }).map((t) => t.join('')),
          fc.array(token, { maxLength: 40 }).map((t) => t.join('\n')),
          fc.integer({ min: 1, max: 2_000 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`),
          fc.integer({ min: 1, max: 600 }).map((n) => `${Array.from({ length: n }, (_, i) => `${' '.repeat(i % 200)}k${i}:`).join('\n')} v`),
          fc.integer({ min: 1, max: 2_000 }).map((n) => `${'- '.repeat(n)}v`),
          fc.integer({ min: 1, max: 300 }).map((n) => Array(n).fill('---').join('\n')),
        ),
        (text) => runText(text),
      ),
      { numRuns: 2000, seed: 20260503 },
    );

    const seconds = (performance.now() - start) / 1000;
    gc?.();
    const heapGrowthMB = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
    expect(seconds).toBeLessThan(60);
    expect(heapGrowthMB).toBeLessThan(200);
    // The generators really reach validation, not only the decoder.
    expect(checkedPods).toBeGreaterThan(5000);
    expect(podsWithErrors).toBeGreaterThan(1000);
    expect(checkedPods - podsWithErrors).toBeGreaterThan(100);
  }, 120_000);
});
