/**
 * `podvisor run --report`: the file is rewritten as the run goes, whole, so a run killed
 * outright still leaves its timeline so far.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ReportFile } from '../../src/cli/report-pods.js';
import { cli, ensureBuilt, manifest, tempDir, until } from '../e2e/helpers.js';

const tmp = tempDir('podvisor-report-file-');
afterAll(() => tmp.cleanup());

describe('ReportFile', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('coalesces changes into one write per delay, and writes at once at the end', () => {
    vi.useFakeTimers();
    const file = join(tmp.dir, 'coalesce.html');
    let renders = 0;
    const errors: Error[] = [];
    const r = new ReportFile(file, () => `<html>${++renders}</html>`, (e) => errors.push(e), 1000);
    r.changed();
    r.changed();
    r.changed();
    expect(existsSync(file)).toBe(false);
    vi.advanceTimersByTime(1000);
    expect(readFileSync(file, 'utf8')).toBe('<html>1</html>');
    r.changed();
    expect(r.flush()).toBeUndefined(); // the pending write is replaced by this one
    vi.advanceTimersByTime(5000);
    expect(renders).toBe(2);
    expect(readFileSync(file, 'utf8')).toBe('<html>2</html>');
    expect(readdirSync(tmp.dir).filter((f) => f.includes('.tmp'))).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('tells of the first failure of a series only, and leaves the final failure to the caller', () => {
    vi.useFakeTimers();
    const file = join(tmp.dir, 'r.html');
    const errors: Error[] = [];
    expect(new ReportFile(file, () => 'one', (e) => errors.push(e), 10).flush()).toBeUndefined();
    // A path below a file cannot be written by anyone, root included.
    const bad = new ReportFile(join(file, 'below.html'), () => 'two', (e) => errors.push(e), 10);
    bad.changed();
    vi.advanceTimersByTime(10);
    bad.changed();
    vi.advanceTimersByTime(10);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toMatch(/ENOTDIR/);
    expect(bad.flush()?.message).toMatch(/ENOTDIR/);
    expect(errors).toHaveLength(1); // the final failure is the caller's to say
    expect(readFileSync(file, 'utf8')).toBe('one');
  });
});

describe('podvisor run --report, killed outright', () => {
  beforeAll(() => ensureBuilt());

  it('leaves a whole page with the runs up to the kill', async () => {
    const m = manifest(tmp.dir, 'crash.yaml', `apiVersion: v1
kind: Pod
metadata: {name: crash}
spec:
  restartPolicy: Always
  containers:
    - name: main
      image: busybox:1.36
      command: ["sh", "-c", "echo run $PODVISOR_RESTART_COUNT; exit 1"]
`);
    const file = join(tmp.dir, 'killed.html');
    let pid: number | undefined;
    const done = cli(['run', '-f', m, '--report', file, '--backoff-initial', '300ms', '--backoff-max', '300ms', '--data-dir', join(tmp.dir, 'data')], { onSpawn: (p) => (pid = p), timeoutMs: 60_000 });
    const failedRuns = (): number => (existsSync(file) ? readFileSync(file, 'utf8').match(/data-outcome="failed"/g)?.length ?? 0 : 0);
    await until('the report shows three failed runs while the run goes on', () => failedRuns() >= 3, 30_000);
    expect(pid).toBeDefined();
    process.kill(pid as number, 'SIGKILL');
    const r = await done;
    expect(r.code).toBeNull(); // killed: no report written at the end
    expect(r.stdout).not.toContain('report:');
    const html = readFileSync(file, 'utf8');
    expect(html).toMatch(/<\/html>\s*$/);
    expect(failedRuns()).toBeGreaterThanOrEqual(3);
    expect(html).toContain('data-lane="main"');
  });
});
