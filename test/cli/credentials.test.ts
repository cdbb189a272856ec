/**
 * Credentials: only `podvisor serve` creates a token. A client verb against a data dir without
 * one says so in one line and exits 1, creating nothing (run as the built CLI, as users run it).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureToken, readToken, tokenPath } from '../../src/cli/credentials.js';

const ROOT = join(import.meta.dirname, '..', '..');
let dir = '';

function podvisor(args: string[]): { code: number | null; stdout: string; stderr: string } {
  // No token or endpoint from the environment: the data dir is the only source.
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env['PODVISOR_TOKEN'];
  delete env['PODVISOR_ENDPOINT'];
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'podvisor.js'), ...args], { cwd: ROOT, env, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  // Always build: dist/ must reflect the sources under test.
  spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'ignore', timeout: 120_000 });
  dir = mkdtempSync(join(tmpdir(), 'podvisor-credentials-'));
}, 150_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a client without a token', () => {
  // Port 1 on loopback: nothing may be contacted, the verb must stop before connecting.
  const verbs: [string, string[]][] = [
    ['get pods', ['get', 'pods', '--server', 'https://127.0.0.1:1']],
    ['restart pod', ['restart', 'pod', 'web', '--server', 'https://127.0.0.1:1']],
    ['kubeconfig', ['kubeconfig', '--server', 'https://127.0.0.1:1']],
  ];
  it.each(verbs)('%s: one line, exit 1, no token file created', (_what, args) => {
    const dataDir = mkdtempSync(join(dir, 'data-'));
    const r = podvisor([...args, '--data-dir', dataDir]);
    expect(r.stderr).toBe(`error: no token in ${join(dataDir, 'token')}: start podvisor serve --data-dir ${dataDir} first\n`);
    expect(r.stdout).toBe('');
    expect(r.code).toBe(1);
    expect(readdirSync(dataDir)).toEqual([]);
  });

  it('does not create a missing data dir either', () => {
    const dataDir = join(dir, 'never-served');
    const r = podvisor(['get', 'pods', '--server', 'https://127.0.0.1:1', '--data-dir', dataDir]);
    expect(r.code).toBe(1);
    expect(existsSync(dataDir)).toBe(false);
  });
});

describe('ensureToken and readToken', () => {
  it('ensureToken creates a 0600 token once; readToken reads it and never creates one', () => {
    const dataDir = join(dir, 'served');
    expect(readToken(dataDir)).toBeUndefined();
    expect(existsSync(dataDir)).toBe(false);
    const t = ensureToken(dataDir);
    expect(t).toMatch(/^[0-9a-f]{48}$/);
    expect(statSync(tokenPath(dataDir)).mode & 0o777).toBe(0o600);
    expect(ensureToken(dataDir)).toBe(t);
    expect(readToken(dataDir)).toBe(t);
  });
});
