#!/usr/bin/env node
// Copies the files the compiled code reads at run time and tsc does not emit (the OpenAPI
// documents of src/server/openapi/, see src/server/openapi.ts) from src/ to dist/, keeping their
// paths. Run by `npm run build` and `prepare` after `tsc -p tsconfig.build.json`.
import { cpSync, existsSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Directories under src/ copied as they are. */
const ASSET_DIRS = ['server/openapi'];

for (const dir of ASSET_DIRS) {
  const from = join(ROOT, 'src', dir);
  const to = join(ROOT, 'dist', dir);
  if (!existsSync(from)) throw new Error(`copy-assets: ${from} is missing`);
  rmSync(to, { recursive: true, force: true });
  cpSync(from, to, { recursive: true });
}
