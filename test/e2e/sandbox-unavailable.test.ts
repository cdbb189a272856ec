/**
 * `--runtime sandbox` and `--runtime oci` where they cannot run: `run` and `serve` refuse at once (exit 2) with a
 * message that says what is missing and how to fix it. Not being root is simulated by a preload
 * module that makes `process.getuid()` answer 1000 (the checks run in the real CLI).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLI, ensureBuilt, ROOT, tempDir } from './helpers.js';

const NOT_ROOT = 'data:text/javascript,process.getuid=()=>1000';

function podvisorAsNonRoot(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', NOT_ROOT, CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

describe('the sandbox runtime where it is unavailable', () => {
  beforeAll(() => ensureBuilt());

  it('run: exit 2 and a message naming the fix, before anything starts', async () => {
    const tmp = tempDir();
    try {
      const r = await podvisorAsNonRoot(['run', '--runtime', 'sandbox', '-f', join(ROOT, 'examples/ml-training.yaml'), '--data-dir', join(tmp.dir, 'data')]);
      expect(r.code).toBe(2);
      // (on a machine that also lacks the packages, their problems follow, each with its apt-get line)
      expect(r.stderr).toMatch(/^error: runtime sandbox is not available: /);
      expect(r.stderr).toContain('the sandbox runtime needs root (it creates network namespaces, cgroups and mounts): run podvisor as root, or use --runtime host');
    } finally {
      tmp.cleanup();
    }
  });

  it('serve: exit 2 with the same message', async () => {
    const tmp = tempDir();
    try {
      const r = await podvisorAsNonRoot(['serve', '--runtime', 'sandbox', '--data-dir', join(tmp.dir, 'data'), '--listen', '127.0.0.1:0']);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('the sandbox runtime needs root');
      expect(r.stderr).toContain('use --runtime host');
    } finally {
      tmp.cleanup();
    }
  });
});

describe('the oci runtime where it is unavailable', () => {
  beforeAll(() => ensureBuilt());

  it('run: exit 2 and every missing part named with its fix (root, runc), before anything starts', async () => {
    const tmp = tempDir();
    try {
      // An empty PATH: runc, tar and setfattr are not found, as on a machine without the packages.
      const r = await podvisorAsNonRoot(['run', '--runtime', 'oci', '-f', join(ROOT, 'examples/ml-training.yaml'), '--data-dir', join(tmp.dir, 'data')], { PATH: join(tmp.dir, 'empty') });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^error: runtime oci is not available: /);
      expect(r.stderr).toContain('the oci runtime needs root (it creates network namespaces, cgroups and mounts): run podvisor as root, or use --runtime host');
      expect(r.stderr).toContain('the oci runtime needs runc: apt-get install runc');
      expect(r.stderr).toContain('the oci runtime needs setfattr for opaque whiteouts: apt-get install attr');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    } finally {
      tmp.cleanup();
    }
  });
});
