/**
 * End-to-end: the CLI finds its daemon with `--data-dir` alone. `podvisor serve` records where
 * it listens in `<data-dir>/endpoint.json` (also a port the system picked with
 * `--listen 127.0.0.1:0`, and a unix socket); `podvisor get pods` and a kubeconfig from
 * `podvisor kubeconfig`, used by the real kubectl, reach it without `--server`. Once the daemon
 * stopped (cleanly or by `kill -9`), and against a certificate of another data dir, a client
 * prints one line naming the fix and exits 1: never a stack trace.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureTls } from '../../src/cli/credentials.js';
import { CLI, cli, ensureBuilt, manifest, ROOT, tempDir, until } from './helpers.js';

const tmp = tempDir('podvisor-endpoint-');

/** The kubectl the test drives: 1.35 from scripts/fetch-kubectl.sh, else the machine's. */
const KUBECTL = [join(ROOT, '.cache/kubectl-1.35/kubectl'), process.env['KUBECTL'] ?? '/usr/bin/kubectl'].find((p) => existsSync(p));
if (KUBECTL === undefined && process.env['CI'] === 'true') throw new Error('no kubectl found: CI must run the kubectl tests (scripts/fetch-kubectl.sh)');

/** The client's environment: no endpoint or token from the developer's shell. */
const CLEAN_ENV = { PODVISOR_ENDPOINT: '', PODVISOR_TOKEN: '' };
const pv = (args: string[]) => cli(args, { timeoutMs: 30_000, env: CLEAN_ENV });

interface Daemon {
  proc: ChildProcess;
  dataDir: string;
  logs: string[];
  exited: Promise<number | null>;
}

const daemons: Daemon[] = [];

/** Starts `podvisor serve --data-dir DIR ARGS` and waits until its endpoint record names it. */
async function serve(dataDir: string, args: string[]): Promise<{ daemon: Daemon; record: any }> {
  const proc = spawn(process.execPath, [CLI, 'serve', '--stop-pods-on-exit', '--monitor', 'direct', '--data-dir', dataDir, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: string[] = [];
  proc.stdout?.on('data', (d: Buffer) => logs.push(d.toString()));
  proc.stderr?.on('data', (d: Buffer) => logs.push(d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const daemon = { proc, dataDir, logs, exited };
  daemons.push(daemon);
  const record = await until(`endpoint.json of pid ${proc.pid}`, () => {
    if (proc.exitCode !== null) throw new Error(`serve exited ${proc.exitCode}: ${logs.join('')}`);
    const file = join(dataDir, 'endpoint.json');
    if (!existsSync(file)) return undefined;
    const rec = JSON.parse(readFileSync(file, 'utf8'));
    return rec.pid === proc.pid && rec.stoppedAt === undefined ? rec : undefined;
  });
  return { daemon, record };
}

afterAll(async () => {
  for (const d of daemons) {
    if (d.proc.exitCode === null && d.proc.signalCode === null) {
      d.proc.kill('SIGTERM');
      await d.exited;
    }
  }
  tmp.cleanup();
});

beforeAll(() => ensureBuilt());

/** One line on stderr, `error: ...`, and no trace of a stack. */
function expectOneLine(stderr: string): string {
  expect(stderr.endsWith('\n')).toBe(true);
  expect(stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(stderr).toMatch(/^error: /);
  expect(stderr).not.toMatch(/\n\s+at /);
  return stderr.trimEnd();
}

describe('serve --listen 127.0.0.1:0: clients find it with --data-dir alone', () => {
  const dataDir = join(tmp.dir, 'data');
  let daemon: Daemon;
  let url = '';

  beforeAll(async () => {
    const started = await serve(dataDir, ['--listen', '127.0.0.1:0']);
    daemon = started.daemon;
    expect(started.record.listeners).toHaveLength(1);
    url = started.record.listeners[0];
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(url).not.toBe('https://127.0.0.1:0');
    expect(url).not.toBe('https://127.0.0.1:7443');
    expect(started.record.ca).toBe(join(dataDir, 'tls', 'cert.pem'));
    expect(Date.parse(started.record.startedAt)).toBeGreaterThan(Date.now() - 120_000);
  });

  it('podvisor apply and get pods reach the recorded endpoint', async () => {
    const f = manifest(tmp.dir, 'web.yaml', `
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: c, image: busybox:1.36, command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"]}
`);
    const applied = await pv(['apply', '-f', f, '--data-dir', dataDir]);
    expect(applied.stderr).toBe('');
    expect(applied.stdout).toBe('pod/web created\n');
    const got = await until('web listed', async () => {
      const r = await pv(['get', 'pods', '--data-dir', dataDir]);
      return r.code === 0 && /^web\s/m.test(r.stdout) ? r : undefined;
    });
    expect(got.stdout.split('\n')[0]).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$/);
  });

  it('podvisor kubeconfig writes the real endpoint, the CA and the token; kubectl uses it', async () => {
    const k = await pv(['kubeconfig', '--data-dir', dataDir]);
    expect(k.stderr).toBe('');
    expect(k.code).toBe(0);
    expect(k.stdout).toContain(`server: ${url}\n`);
    expect(k.stdout).toContain(`certificate-authority-data: ${readFileSync(join(dataDir, 'tls', 'cert.pem')).toString('base64')}`);
    expect(k.stdout).toContain(`token: ${readFileSync(join(dataDir, 'token'), 'utf8').trim()}`);
    if (KUBECTL === undefined) return;
    const kubeconfig = join(tmp.dir, 'kubeconfig');
    writeFileSync(kubeconfig, k.stdout);
    const r = spawnSync(KUBECTL, ['--kubeconfig', kubeconfig, '--cache-dir', join(tmp.dir, 'kcache'), 'get', 'pods'], { encoding: 'utf8', timeout: 30_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^web\s/m);
  });

  it('a certificate the data dir\'s CA did not sign: one line naming the CA file and the data dir', async () => {
    const other = join(tmp.dir, 'other');
    mkdirSync(other, { mode: 0o700 });
    writeFileSync(join(other, 'token'), 'other-token\n');
    ensureTls(other);
    const r = await pv(['get', 'pods', '--server', url, '--data-dir', other]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(expectOneLine(r.stderr)).toBe(`error: the certificate of podvisor serve at ${url} is not signed by ${join(other, 'tls', 'cert.pem')}, the CA of data dir ${other} (self-signed certificate); pass the --data-dir of the podvisor serve listening there`);
  });

  it('after a clean stop: the record says stopped; get pods prints one line naming the fix and exits 1', async () => {
    daemon.proc.kill('SIGTERM');
    expect(await daemon.exited).toBe(0);
    const rec = JSON.parse(readFileSync(join(dataDir, 'endpoint.json'), 'utf8'));
    expect(rec.stoppedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    const r = await pv(['get', 'pods', '--data-dir', dataDir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(expectOneLine(r.stderr)).toBe(`error: podvisor serve --data-dir ${dataDir} is not running (it stopped at ${rec.stoppedAt}; it listened on ${url}): start it with \`podvisor serve --data-dir ${dataDir}\``);
  });
});

describe('serve --socket only: clients find the socket; after kill -9 the record is stale', () => {
  const dataDir = join(tmp.dir, 'sock-data');
  const socket = join(tmp.dir, 'api.sock');
  let daemon: Daemon;

  beforeAll(async () => {
    const started = await serve(dataDir, ['--socket', socket]);
    daemon = started.daemon;
    expect(started.record.listeners).toEqual([`unix://${socket}`]);
    expect(started.record.ca).toBeUndefined();
  });

  it('get pods goes over the recorded socket; kubeconfig says kubectl cannot use it', async () => {
    const r = await pv(['get', 'pods', '--data-dir', dataDir]);
    expect(r.stderr).toBe('No resources found in default namespace.\n');
    expect(r.code).toBe(0);
    const k = await pv(['kubeconfig', '--data-dir', dataDir]);
    expect(k.code).toBe(1);
    expect(expectOneLine(k.stderr)).toBe('error: kubectl cannot use a unix socket; serve with --listen HOST:PORT and point --server at it');
  });

  it('after kill -9: get pods says the recorded pid has exited, in one line, and exits 1', async () => {
    daemon.proc.kill('SIGKILL');
    await daemon.exited;
    const pid = daemon.proc.pid;
    const r = await pv(['get', 'pods', '--data-dir', dataDir]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(expectOneLine(r.stderr)).toBe(`error: podvisor serve --data-dir ${dataDir} is not running (pid ${pid} recorded in ${join(dataDir, 'endpoint.json')} has exited without a clean stop; it listened on unix://${socket}): start it with \`podvisor serve --data-dir ${dataDir}\``);
  });
});
