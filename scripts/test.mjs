#!/usr/bin/env node
// The project's test command (`npm test`): build, lint, typecheck, then every vitest suite.
// It always ends with one line `N passed, N failed` (lint, typecheck and build count as one
// check each, every vitest test as one), so CI can read the result.
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';

const results = [];
function step(name, cmd, args) {
  process.stdout.write(`\n=== ${name}: ${cmd} ${args.join(' ')}\n`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', shell: false });
  const ok = r.status === 0;
  results.push({ name, ok });
  return ok;
}

const npx = 'npx';
step('build', npx, ['tsc', '-p', 'tsconfig.build.json']);
// The web UI (Vite, into dist/ui): `podvisor serve` serves it at /ui/, test/ui drives it in Chromium.
step('build ui', npx, ['vite', 'build', '--logLevel', 'warn']);
step('lint', npx, ['eslint', '.']);
step('typecheck', npx, ['tsc', '-p', 'tsconfig.json', '--noEmit']);
step('typecheck ui', npx, ['tsc', '-p', 'ui/tsconfig.json', '--noEmit']);

const out = '.test-results.json';
rmSync(out, { force: true });
const extra = process.argv.slice(2);
const vitestOk = step('vitest', npx, ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile=${out}`, ...extra]);

let passed = results.filter((r) => r.name !== 'vitest' && r.ok).length;
let failed = results.filter((r) => r.name !== 'vitest' && !r.ok).length;
let skipped = 0;
try {
  const json = JSON.parse(readFileSync(out, 'utf8'));
  passed += json.numPassedTests ?? 0;
  failed += json.numFailedTests ?? 0;
  skipped += (json.numPendingTests ?? 0) + (json.numTodoTests ?? 0);
  if (!vitestOk && (json.numFailedTests ?? 0) === 0) failed += 1; // suite-level failure
} catch {
  if (!vitestOk) failed += 1;
}
for (const r of results) if (!r.ok) process.stdout.write(`FAILED step: ${r.name}\n`);
process.stdout.write(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
process.exitCode = failed === 0 ? 0 : 1;
