#!/usr/bin/env node
// The validation fuzz at benchmark scale (issue 16, item 4): the generation of
// test/api/fuzz.test.ts (10,000 manifests in `npm test`), here over N manifests (100,000 in
// the benchmark) against the built pipeline in dist/ (parse → select → decode → default →
// validate → render). The generators live in the test file, which dist/ does not contain, so
// they are reimplemented here, with the same families in the same proportions (half mutated
// example pods, 30 % byte edits of the examples, 20 % random text) and the same seeds, and
// the same sanity bounds, scaled by N/10,000 where they count: no exception escapes, every pod
// error has a field path, every file-level error a line, at most 60 s per 10,000 manifests, at most
// 200 MB of retained heap, and the generators reach validation (more than half the inputs are
// validated pods, more than a tenth have errors, more than 1 % are valid).
//
//   node scripts/bench-fuzz.mjs [N]       (default 100000; needs `npm run build` first)
//
// `benchValidationFuzz(n)` is exported for `npm run bench`: it prints one summary line and
// returns { count, seconds, perManifestMs, heapGrowthMB, checkedPods, podsWithErrors, yamlWarnings, failed, failures }.
import { Buffer } from 'node:buffer';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import fc from 'fast-check';
import { stringify } from 'yaml';
import {
  decodeManifestBytes, decodePod, defaultPod, formatInvalidPod, invalidStatus, loadPods, parseManifests, renderFieldError, renderManifestError, selectPods, validatePod,
} from '../dist/api/index.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const EXAMPLES = join(ROOT, 'examples');
/** The seeds of test/api/fuzz.test.ts: with them the first 10,000 inputs are the test's own. */
const SEEDS = [20260501, 20260502, 20260503];
/** At most this many failures are kept with their input (all are counted). */
const KEEP = 20;

function nest(depth, leaf, asArray) {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = asArray ? [v] : { spec: v };
  return v;
}

const hostile = fc.oneof(
  fc.anything({ maxDepth: 3, withMap: true, withSet: true, withDate: true, withTypedArray: true, withNullPrototype: true, withBoxedValues: true, withSparseArray: true }),
  fc.constantFrom(2 ** 31, -(2 ** 31) - 1, 2 ** 53 + 1, 1e308, -1e308, Infinity, -Infinity, NaN, -0, 0.5, -1, 65536),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom('', ' ', 'Always', 'Never', 'OnFailure', 'Restart', 'RestartAllContainers', 'In', 'NotIn', 'Equals', '-1', '10m', '__proto__', 'constructor'),
  fc.tuple(fc.integer({ min: 1, max: 400 }), fc.boolean()).map(([d, a]) => nest(d, 'x', a)),
  fc.array(fc.integer(), { maxLength: 300 }),
  fc.array(fc.record({ action: fc.constantFrom('Restart', 'RestartAllContainers', 'x'), exitCodes: fc.record({ operator: fc.constantFrom('In', 'NotIn', ''), values: fc.array(fc.integer(), { maxLength: 3 }) }) }), { maxLength: 25 }),
);

/** Every path into `v` (stopping at depth 12: deep nests are input, not targets). */
function allPaths(v, prefix = [], out = []) {
  out.push(prefix);
  if (prefix.length >= 12) return out;
  if (Array.isArray(v)) v.forEach((item, i) => allPaths(item, [...prefix, i], out));
  else if (v && typeof v === 'object') for (const k of Object.keys(v)) allPaths(v[k], [...prefix, k], out);
  return out;
}

function mutateAt(p, last, op) {
  switch (op.kind) {
    case 'set':
      p[last] = op.value;
      break;
    case 'delete':
      if (Array.isArray(p) && typeof last === 'number') p.splice(last, 1);
      else delete p[last];
      break;
    case 'dup':
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
      if (target && typeof target === 'object' && !Array.isArray(target)) Object.defineProperty(target, op.key, { value: op.value, enumerable: true, configurable: true, writable: true });
      else if (Array.isArray(target)) target.push(op.value);
      break;
    }
  }
}

function applyOps(base, ops) {
  let root = globalThis.structuredClone(base);
  for (const op of ops) {
    const paths = allPaths(root);
    const path = paths[op.at % paths.length] ?? [];
    if (path.length === 0) {
      if (op.kind === 'set') root = op.value;
      continue;
    }
    let parent = root;
    for (const k of path.slice(0, -1)) parent = parent[k];
    try {
      mutateAt(parent, path[path.length - 1], op);
    } catch {
      // Frozen or boxed values cannot be edited: the op is skipped (harness, not code under test).
    }
  }
  return root;
}

const opArb = fc.record({
  kind: fc.constantFrom('set', 'set', 'set', 'delete', 'dup', 'rename', 'add'),
  at: fc.nat(),
  value: hostile,
  key: fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('name', 'restartPolicy', 'image', 'foo', 'grpc', 'configMap', 'status', '__proto__')),
});

const token = fc.constantFrom('apiVersion: v1', 'kind: Pod', 'kind: List', 'items:', 'spec:', 'containers:', '- name: c', 'image: x', '---', '  ', '\n', '[', ']', '{', '}', ':', '- ', '&a', '*a', '!!binary', '? ', '|', '>', '"', "'", '#', '%YAML 1.2', '\t', '\u0000', '\uFFFD', '<<: *a');
const randomText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.array(token, { maxLength: 80 }).map((t) => t.join('')),
  fc.array(token, { maxLength: 40 }).map((t) => t.join('\n')),
  fc.integer({ min: 1, max: 2_000 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`),
  fc.integer({ min: 1, max: 600 }).map((n) => `${Array.from({ length: n }, (_, i) => `${' '.repeat(i % 200)}k${i}:`).join('\n')} v`),
  fc.integer({ min: 1, max: 2_000 }).map((n) => `${'- '.repeat(n)}v`),
  fc.integer({ min: 1, max: 300 }).map((n) => Array(n).fill('---').join('\n')),
);
const byteEdit = fc.record({ at: fc.nat(), del: fc.nat(8), ins: fc.uint8Array({ maxLength: 12 }) });

function safeYaml(v) {
  try {
    return stringify(v, { aliasDuplicateObjects: false });
  } catch {
    return undefined;
  }
}

/** Runs the validation fuzz over `n` generated manifests; returns its figures (see the header). */
export async function benchValidationFuzz(n = 100_000) {
  const exampleTexts = readdirSync(EXAMPLES).filter((f) => f.endsWith('.yaml')).sort().map((f) => readFileSync(join(EXAMPLES, f), 'utf8'));
  const exampleValues = exampleTexts.map((t) => parseManifests(t).docs[0]?.value);
  let checkedPods = 0;
  let podsWithErrors = 0;
  let failed = 0;
  const failures = [];
  const fail = (family, input, err) => {
    failed++;
    if (failures.length < KEEP) failures.push({ family, error: err instanceof Error ? err.message : String(err), input: String(input).slice(0, 300) });
  };

  const podErrors = (errors) => {
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
  };
  const fileErrors = (errors) => {
    for (const e of errors) {
      if (typeof e.line !== 'number' || e.line < 1) throw new Error(`file error without line: ${JSON.stringify(e)}`);
      renderManifestError(e);
    }
  };
  const runText = (text) => {
    const r = loadPods(text, 'fuzz.yaml');
    fileErrors(r.errors);
    for (const p of r.pods) podErrors(p.errors);
  };
  const runValue = (value) => {
    const sel = selectPods([{ index: 0, value, line: 1 }], 'fuzz');
    fileErrors(sel.errors);
    for (const obj of sel.pods) {
      const d = decodePod(obj.value);
      const pod = defaultPod(d.pod);
      if (d.errors.length > 0) podErrors(d.errors);
      else {
        podErrors(validatePod(pod, { create: false }).errors);
        podErrors(validatePod(pod).errors);
      }
    }
  };
  /** The property records a failure instead of stopping: a benchmark counts them all. */
  const each = (family, fn) => (...args) => {
    try {
      fn(...args);
    } catch (err) {
      fail(family, JSON.stringify(args, (_k, v) => (typeof v === 'bigint' ? String(v) : v)) ?? String(args), err);
    }
    return true;
  };

  // The YAML library reports odd input (collection keys, ...) as process warnings, which Node
  // prints one by one; they are counted instead while the fuzz runs.
  let yamlWarnings = 0;
  const printers = process.listeners('warning');
  process.removeAllListeners('warning');
  process.on('warning', () => yamlWarnings++);
  // Retained memory, not garbage awaiting collection: a collector also without --expose-gc.
  if (typeof globalThis.gc !== 'function') v8.setFlagsFromString('--expose-gc');
  const gc = typeof globalThis.gc === 'function' ? globalThis.gc : vm.runInNewContext('gc');
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const start = performance.now();
  const runs = [Math.round(n * 0.5), Math.round(n * 0.3)];
  runs.push(n - runs[0] - runs[1]);

  // 1. Mutated example pods, as values and (when YAML can express them) as YAML or JSON text.
  fc.assert(fc.property(fc.nat(), fc.array(opArb, { minLength: 1, maxLength: 4 }), fc.nat(3), each('mutated pod', (which, ops, mode) => {
    const mutated = applyOps(exampleValues[which % exampleValues.length], ops);
    runValue(mutated);
    if (mode === 0) {
      const text = safeYaml(mutated);
      if (text !== undefined) runText(text);
    } else if (mode === 1) {
      let json;
      try {
        json = JSON.stringify(mutated);
      } catch {
        json = undefined;
      }
      if (json !== undefined) runText(json);
    }
  })), { numRuns: runs[0], seed: SEEDS[0] });

  // 2. Byte edits of the examples, read as UTF-8, Latin-1 or raw bytes.
  fc.assert(fc.property(fc.nat(), fc.array(byteEdit, { minLength: 1, maxLength: 6 }), fc.constantFrom('utf8', 'latin1', 'raw'), each('byte edit', (which, edits, enc) => {
    let bytes = Buffer.from(exampleTexts[which % exampleTexts.length] ?? '');
    for (const e of edits) {
      const at = e.at % (bytes.length + 1);
      bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from(e.ins), bytes.subarray(Math.min(bytes.length, at + e.del))]);
    }
    if (enc === 'raw') {
      const d = decodeManifestBytes(bytes, 'fuzz.yaml');
      if (d.ok) runText(d.text);
      else fileErrors([d.error]);
    } else runText(bytes.toString(enc));
  })), { numRuns: runs[1], seed: SEEDS[1] });

  // 3. Random text: binary, YAML token soup, deep nesting, many keys, many documents.
  fc.assert(fc.property(randomText, each('random text', (text) => runText(text))), { numRuns: runs[2], seed: SEEDS[2] });

  const seconds = (performance.now() - start) / 1000;
  // Warnings are emitted on the next tick: let the last ones arrive before the printers return.
  await new Promise((r) => setTimeout(r, 0));
  process.removeAllListeners('warning');
  for (const l of printers) process.on('warning', l);
  gc();
  const heapGrowthMB = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
  // The sanity bounds of the test, scaled to n.
  const limitSeconds = 60 * Math.max(1, n / 10_000);
  const bounds = [
    [seconds <= limitSeconds, `${seconds.toFixed(1)} s (bound ${limitSeconds} s: 60 s per 10,000)`],
    [heapGrowthMB < 200, `${heapGrowthMB.toFixed(0)} MB of retained heap (bound 200)`],
    [checkedPods > n * 0.5, `${checkedPods} pods validated (bound > ${n * 0.5})`],
    [podsWithErrors > n * 0.1, `${podsWithErrors} pods with errors (bound > ${n * 0.1})`],
    [checkedPods - podsWithErrors > n * 0.01, `${checkedPods - podsWithErrors} valid pods (bound > ${n * 0.01})`],
  ];
  for (const [ok, what] of bounds) if (!ok) fail('bounds', '', new Error(what));
  const result = { count: n, seconds, perManifestMs: (seconds * 1000) / n, heapGrowthMB, checkedPods, podsWithErrors, yamlWarnings, failed, failures };
  console.log(`validation fuzz: ${n} manifests in ${seconds.toFixed(1)} s (${result.perManifestMs.toFixed(3)} ms each), ${checkedPods} pods validated, ${podsWithErrors} with errors, heap +${heapGrowthMB.toFixed(0)} MB, ${yamlWarnings} YAML warnings, ${failed} failures`);
  for (const f of failures) console.log(`  FAILURE (${f.family}): ${f.error}\n    input: ${f.input}`);
  return result;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const n = Number(process.argv[2] ?? 100_000);
  if (!Number.isInteger(n) || n < 10) {
    console.error('usage: node scripts/bench-fuzz.mjs [N]   (N manifests, at least 10; default 100000)');
    process.exit(2);
  }
  const r = await benchValidationFuzz(n);
  process.exitCode = r.failed === 0 ? 0 : 1;
}
