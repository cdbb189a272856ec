/**
 * Real Chromium for the UI tests: Debian's `chromium` (installed by `.ci/run`), driven by
 * playwright-core; no browser download. Without it the tests skip on a laptop and fail under
 * `CI=true`.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { ROOT } from '../e2e/helpers.js';

export const CHROMIUM = process.env.PODVISOR_CHROMIUM ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

/** Run the browser tests: Chromium is there, or CI requires them (and then fails without it). */
export const browserTests = CHROMIUM !== undefined || process.env.CI === 'true';

export async function launch(): Promise<Browser> {
  if (CHROMIUM === undefined) throw new Error('Chromium is not installed: apt-get install chromium (or set PODVISOR_CHROMIUM)');
  return chromium.launch({
    executablePath: CHROMIUM,
    // Root in CI has no user namespace sandbox for Chromium; the pages are our own.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
}

/** Where the tests save their screenshots (kept by CI as artifacts; ignored by git). */
export function screenshotPath(name: string): string {
  const dir = join(ROOT, '.test-artifacts');
  mkdirSync(dir, { recursive: true });
  return join(dir, name);
}
