/**
 * What the end-to-end tests of the streaming verbs (exec, cp, port-forward, attach, run -it,
 * debug) share: the two kubectl versions and the three runtimes, each with why it cannot run
 * here (never accepted under CI=true, where a missing kubectl or runtime fails the file).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { sandboxAvailability } from '../../src/runtime/sandbox.js';
import { ROOT } from './helpers.js';
import { ociProblem } from './oci-images.js';

const CI = process.env['CI'] === 'true';

/** kubectl 1.32 (Debian's, or $KUBECTL) and 1.35 (scripts/fetch-kubectl.sh). */
export const KUBECTLS = [
  { version: '1.32', path: process.env['KUBECTL'] ?? '/usr/bin/kubectl' },
  { version: '1.35', path: join(ROOT, '.cache/kubectl-1.35/kubectl') },
];
for (const k of KUBECTLS) {
  if (!existsSync(k.path) && CI) throw new Error(`kubectl ${k.version} not found at ${k.path}: CI must run the kubectl tests (scripts/fetch-kubectl.sh)`);
}

const sandboxProblem = await sandboxAvailability();
if (sandboxProblem !== undefined && CI) throw new Error(`the sandbox runtime must run on CI: ${sandboxProblem}`);

/** The runtimes, with why each cannot run here (undefined: it can). */
export const RUNTIMES = [
  { runtime: 'host', skip: undefined as string | undefined },
  { runtime: 'sandbox', skip: sandboxProblem },
  { runtime: 'oci', skip: await ociProblem() },
];

/** A finished command. */
export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Terminal output without escape sequences (ESC [ … letter). */
export function plain(out: string): string {
  return out.split(String.fromCharCode(27)).map((p, i) => (i === 0 ? p : p.replace(/^\[[0-9;?]*[A-Za-z]/, ''))).join('');
}
