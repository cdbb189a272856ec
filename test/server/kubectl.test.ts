/**
 * The real `kubectl` against the API server (with the fake agent behind it): apply with default
 * (strict, server-side) validation, get (Table), get -o json, get -w, describe, logs, delete
 * (graceful, waits for DELETED), the API server's error texts. The server runs on HTTPS with a
 * self-signed test certificate, because kubectl never sends a bearer token over plain HTTP
 * (client-go reads a kubeconfig's user credentials only for TLS transports). Skipped when kubectl is missing,
 * except on CI (`CI=true`), where a missing kubectl fails.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatCriRecord, formatRfc3339Nano, formatRfc3339NanoFixed } from '../../src/api/cri-log.js';
import { startApi, until, writeKubeconfig, type TestApi } from './helpers.js';

const KUBECTL = process.env['KUBECTL'] ?? '/usr/bin/kubectl';
const haveKubectl = existsSync(KUBECTL);
const TOKEN = 'kubectl-test-token';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

if (!haveKubectl && process.env['CI'] === 'true') {
  describe('real kubectl', () => {
    it('is installed on CI', () => {
      throw new Error(`kubectl not found at ${KUBECTL} (set KUBECTL or install it)`);
    });
  });
}

describe.skipIf(!haveKubectl)('real kubectl against the API server', () => {
  let api: TestApi;
  let kubeconfig: string;
  let cacheDir: string;

  const kubectl = (args: string[], timeoutMs = 20_000): Promise<Run> =>
    new Promise((resolve) => {
      execFile(KUBECTL, ['--kubeconfig', kubeconfig, '--cache-dir', cacheDir, ...args], { timeout: timeoutMs, env: { ...process.env, KUBECONFIG: kubeconfig } }, (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout: stdout.toString(), stderr: stderr.toString() });
      });
    });

  const manifest = (name: string, extra = ''): string => {
    const file = join(api.dir, `${name}.yaml`);
    writeFileSync(file, `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  labels:
    app: demo${extra}
spec:
  containers:
  - name: main
    image: busybox
    command: ["sleep", "3600"]
`);
    return file;
  };

  beforeAll(async () => {
    // HTTPS: kubectl (client-go) only sends credentials over TLS; see the last test.
    api = await startApi({ token: TOKEN }, true);
    kubeconfig = writeKubeconfig(api, TOKEN);
    cacheDir = join(api.dir, 'kube-cache');
  });

  afterAll(async () => {
    await api?.close();
  });

  it('apply -f creates a pod with the default (server-side) validation', async () => {
    const r = await kubectl(['apply', '-f', manifest('web')]);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('pod/web created');
    expect(r.code).toBe(0);
    const create = api.fake.calls.find((c) => c[0] === 'createPod');
    expect(create).toBeDefined();
    const ann = (create?.[1] as { metadata: { annotations: Record<string, string> } }).metadata.annotations;
    expect(ann['kubectl.kubernetes.io/last-applied-configuration']).toContain('"name":"web"');
  });

  it('re-apply: unchanged, then a label change goes through a strategic merge patch', async () => {
    const same = await kubectl(['apply', '-f', manifest('web')]);
    expect(same.stdout.trim()).toBe('pod/web unchanged');
    const changed = await kubectl(['apply', '-f', manifest('web', '\n    tier: front')]);
    expect(changed.stderr).toBe('');
    expect(changed.stdout.trim()).toBe('pod/web configured');
    expect(api.fake.getPod('default', 'web')?.metadata.labels).toEqual({ app: 'demo', tier: 'front' });
  });

  it('get pods prints the Table columns and the row', async () => {
    const r = await kubectl(['get', 'pods']);
    expect(r.code).toBe(0);
    const [header, row, ...rest] = r.stdout.trimEnd().split('\n');
    expect(header?.split(/\s{2,}/)).toEqual(['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE']);
    expect(row?.split(/\s+/).slice(0, 4)).toEqual(['web', '1/1', 'Running', '0']);
    expect(row?.split(/\s+/)[4]).toMatch(/^\d+s$/);
    expect(rest).toEqual([]);
    const wide = await kubectl(['get', 'pods', '-o', 'wide']);
    expect(wide.stdout.split('\n')[0]?.split(/\s{2,}/)).toEqual(['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', 'IP', 'NODE', 'NOMINATED NODE', 'READINESS GATES']);
    expect(wide.stdout.split('\n')[1]).toMatch(/10\.244\.0\.\d+\s+podvisor\s+<none>\s+<none>/);
    const sel = await kubectl(['get', 'pods', '-l', 'tier in (front)', '--field-selector', 'status.phase=Running', '-o', 'name']);
    expect(sel.stdout.trim()).toBe('pod/web');
    const none = await kubectl(['get', 'pods', '-l', 'tier!=front']);
    expect(none.stderr.trim()).toBe('No resources found in default namespace.');
  });

  it('get pod -o json returns the pod', async () => {
    const r = await kubectl(['get', 'pod', 'web', '-o', 'json']);
    expect(r.code).toBe(0);
    const pod = JSON.parse(r.stdout) as { kind: string; metadata: { name: string; uid: string }; status: { phase: string } };
    expect(pod.kind).toBe('Pod');
    expect(pod.metadata.name).toBe('web');
    expect(pod.metadata.uid).toBe(api.fake.getPod('default', 'web')?.metadata.uid);
    expect(pod.status.phase).toBe('Running');
  });

  it('get pods -w shows a MODIFIED row', async () => {
    const child = spawn(KUBECTL, ['--kubeconfig', kubeconfig, '--cache-dir', cacheDir, 'get', 'pods', '-w', '--request-timeout', '15s']);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await until(() => out.split('\n').filter((l) => l.startsWith('web')).length >= 1, 10_000);
      // Give kubectl time to open the watch after the initial list.
      await until(() => api.api.registry.watcherCount > 0, 10_000);
      api.fake.restartPod('default', 'web', { container: 'main' });
      await until(() => out.split('\n').filter((l) => l.startsWith('web')).length >= 2, 10_000);
      const rows = out.trimEnd().split('\n');
      expect(rows[0]?.split(/\s{2,}/)).toEqual(['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE']);
      expect(rows[2]).toMatch(/^web\s+1\/1\s+Running\s+1 \(\d+s ago\)\s+\d+s$/);
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('describe pod shows the pod and its Events', async () => {
    const r = await kubectl(['describe', 'pod', 'web']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Name:\s+web$/m);
    expect(r.stdout).toMatch(/^Status:\s+Running$/m);
    expect(r.stdout).toMatch(/^Events:$/m);
    // kubectl 1.35 prefixes the message with the event's fieldPath.
    expect(r.stdout).toMatch(/Normal\s+Started\s+\S+\s+podvisor\s+(spec\.containers\{main\}: )?Started container main/);
    expect(r.stdout).toMatch(/Stopping container main to restart it on request/);
    const ev = await kubectl(['get', 'events']);
    expect(ev.stdout.split('\n')[0]?.split(/\s{2,}/)).toEqual(['LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE']);
    expect(ev.stdout).toMatch(/Normal\s+Started\s+pod\/web\s+Started container main/);
    const ns = await kubectl(['get', 'namespaces']);
    expect(ns.stdout).toMatch(/^default\s+Active\s+\d+s$/m);
  });

  it('logs prints the container log', async () => {
    api.fake.writeLog('default', 'web', 'main', 'hello from main\nsecond line\n');
    const r = await kubectl(['logs', 'web']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('hello from main\nsecond line\n');
    const tail = await kubectl(['logs', 'web', '--tail', '1', '--timestamps']);
    expect(tail.stdout).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z second line\n$/);
    const prev = await kubectl(['logs', 'web', '-p']);
    expect(prev.stderr.trim()).toBe('Error from server (BadRequest): previous terminated container "main" in pod "web" not found');
  });

  it('logs of a CRI log file: content only, --timestamps, --since, --since-time, --tail', async () => {
    const now = BigInt(Date.now()) * 1_000_000n;
    const min = 60_000_000_000n;
    const [old, recent, last] = [now - 120n * min, now - 30n * min + 123_456_789n, now - min / 60n];
    api.fake.writeLog('default', 'web', 'main', [
      formatCriRecord(old, 'stdout', false, 'two hours ago'),
      formatCriRecord(recent, 'stderr', true, 'half an hour '),
      formatCriRecord(recent + 1n, 'stderr', false, 'ago'),
      formatCriRecord(last, 'stdout', false, 'a second ago'),
    ].join(''));
    const all = await kubectl(['logs', 'web']);
    expect(all.stderr).toBe('');
    expect(all.stdout).toBe('two hours ago\nhalf an hour ago\na second ago\n');
    const since = await kubectl(['logs', 'web', '--timestamps', '--since=1h']);
    expect(since.stderr).toBe('');
    expect(since.stdout).toBe(`${formatRfc3339NanoFixed(recent)} half an hour ago\n${formatRfc3339NanoFixed(last)} a second ago\n`);
    const sinceTime = formatRfc3339Nano(((now - 40n * min) / 1_000_000_000n) * 1_000_000_000n);
    expect((await kubectl(['logs', 'web', `--since-time=${sinceTime}`])).stdout).toBe('half an hour ago\na second ago\n');
    expect((await kubectl(['logs', 'web', '--tail=1', '--since=5m'])).stdout).toBe('a second ago\n');
    expect((await kubectl(['logs', 'web', '--since=1s'])).stdout).toBe('');
  });

  it('podvisor verbs through kubectl create --raw', async () => {
    const body = join(api.dir, 'restart.json');
    writeFileSync(body, '{"container":"main"}');
    const r = await kubectl(['create', '--raw', '/api/v1/namespaces/default/pods/web/restart', '-f', body]);
    expect(r.stderr).toBe('');
    expect((JSON.parse(r.stdout) as { status: { containerStatuses: { restartCount: number }[] } }).status.containerStatuses[0]?.restartCount).toBe(2);
  });

  it('an invalid manifest gives the API server text', async () => {
    const file = join(api.dir, 'bad.yaml');
    writeFileSync(file, 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: bad\nspec:\n  restartPolicy: Sometimes\n  containers:\n  - name: main\n');
    const r = await kubectl(['apply', '-f', file]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('The Pod "bad" is invalid: ');
    expect(r.stderr).toContain('* spec.containers[0].image: Required value');
    expect(r.stderr).toContain('* spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"');
    const unknown = join(api.dir, 'unknown.yaml');
    writeFileSync(unknown, 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: odd\nspec:\n  bogus: 1\n  containers:\n  - name: main\n    image: busybox\n');
    const u = await kubectl(['apply', '-f', unknown]);
    expect(u.stderr).toContain('strict decoding error: unknown field "spec.bogus"');
    expect(api.fake.getPod('default', 'odd')).toBeUndefined();
  });

  it('get pod nope gives NotFound', async () => {
    const r = await kubectl(['get', 'pod', 'nope']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe('Error from server (NotFound): pods "nope" not found');
  });

  it('delete pod waits until the pod is gone', async () => {
    api.fake.deleteDelayMs = 300;
    const r = await kubectl(['delete', 'pod', 'web']);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toMatch(/^pod "web" deleted( from default namespace)?$/);
    expect(r.code).toBe(0);
    expect(api.fake.getPod('default', 'web')).toBeUndefined();
  });

  it('apply --server-side creates (upsert) and then updates', async () => {
    const file = manifest('ssa');
    const r = await kubectl(['apply', '--server-side', '-f', file]);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('pod/ssa serverside-applied');
    const again = await kubectl(['apply', '--server-side', '-f', manifest('ssa', '\n    tier: back')]);
    expect(again.stderr).toBe('');
    expect(api.fake.getPod('default', 'ssa')?.metadata.labels).toEqual({ app: 'demo', tier: 'back' });
  });

  it('over plain HTTP kubectl sends no token, so a token-protected server answers 401', async () => {
    const plain = await startApi({ token: TOKEN });
    try {
      const kc = join(plain.dir, 'kubeconfig');
      writeFileSync(kc, `apiVersion: v1
kind: Config
clusters: [{name: p, cluster: {server: "${plain.url}", insecure-skip-tls-verify: true}}]
users: [{name: p, user: {token: ${TOKEN}}}]
contexts: [{name: p, context: {cluster: p, user: p}}]
current-context: p
`);
      const r = await new Promise<Run>((resolve) => {
        execFile(KUBECTL, ['--kubeconfig', kc, '--cache-dir', join(plain.dir, 'cache'), 'get', 'pods'], { timeout: 20_000 }, (err, stdout, stderr) => {
          resolve({ code: err ? 1 : 0, stdout: stdout.toString(), stderr: stderr.toString() });
        });
      });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('You must be logged in to the server');
      // Everything but the open paths (as on the API server: /version, health) is refused.
      const closed = plain.logs.filter((l) => l.msg === 'http request' && !['/version', '/livez', '/readyz', '/healthz'].includes(String(l.fields['path'])));
      expect(closed.length).toBeGreaterThan(0);
      expect(closed.every((l) => l.fields['status'] === 401)).toBe(true);
    } finally {
      await plain.close();
    }
  });
});
