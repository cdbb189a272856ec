/**
 * End-to-end: `kubectl top pod` and `kubectl top node` (kubectl 1.32 and 1.35) against the built
 * `podvisor serve`, whose `metrics.k8s.io` usage comes from the containers' cgroups. The host
 * runtime (the default) gives every container a cgroup of its own when podvisor runs as root;
 * without root there are no per-container counters, so the test needs root (and must run
 * under `CI=true`).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, cli, daemonRequest, ensureBuilt, freePort, ROOT, tempDir, until } from './helpers.js';

const root = process.getuid?.() === 0;
const KUBECTLS = [
  { version: '1.32', path: process.env['KUBECTL'] ?? '/usr/bin/kubectl' },
  { version: '1.35', path: join(ROOT, '.cache/kubectl-1.35/kubectl') },
];
for (const k of KUBECTLS) {
  if (!existsSync(k.path) && process.env['CI'] === 'true') throw new Error(`kubectl ${k.version} not found at ${k.path}: CI must run the kubectl tests (scripts/fetch-kubectl.sh)`);
}
if (!root && process.env['CI'] === 'true') throw new Error('kubectl top needs per-container cgroups: CI must run this test as root');

const tmp = tempDir('podvisor-top-');
let proc: ChildProcess | undefined;
let dataDir = '';
let port = 0;
let kubeconfig = '';
const logs: string[] = [];

const PODS = `
apiVersion: v1
kind: Pod
metadata: {name: busy, labels: {app: top, load: busy}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: burn
    image: busybox
    command: ["sh", "-c", "while :; do :; done"]
---
apiVersion: v1
kind: Pod
metadata: {name: idle, labels: {app: top, load: idle}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: rest
    image: busybox
    command: ["sleep", "3600"]
`;

function kubectl(path: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(path, ['--kubeconfig', kubeconfig, '--cache-dir', join(tmp.dir, `kcache-${path.length}`), ...args], { encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `kubectl top` rows by their first cell: the other cells. */
function rows(out: string): Map<string, string[]> {
  const lines = out.trim().split('\n').slice(1);
  return new Map(lines.map((l) => l.trim().split(/\s+/)).map((cells) => [cells[0] ?? '', cells.slice(1)]));
}

/** Millicores of a `kubectl top` CPU cell (`878m`, or `1` core). */
const millicores = (cell: string | undefined): number => (cell?.endsWith('m') === true ? Number(cell.slice(0, -1)) : Number(cell) * 1000);

/** Bytes of a quantity as metrics-server writes memory (`176Ki`, or bytes). */
const bytes = (q: string): number => (q.endsWith('Ki') ? Number(q.slice(0, -2)) * 1024 : Number(q));

describe.skipIf(!root)('kubectl top against podvisor serve (host runtime, root)', () => {
  beforeAll(async () => {
    ensureBuilt();
    dataDir = join(tmp.dir, 'data');
    port = await freePort();
    proc = spawn(process.execPath, [CLI, 'serve', '--stop-pods-on-exit', '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout?.on('data', (d: Buffer) => logs.push(d.toString()));
    proc.stderr?.on('data', (d: Buffer) => logs.push(d.toString()));
    await until('serve ready', async () => {
      if (proc?.exitCode !== null) throw new Error(`serve exited: ${logs.join('')}`);
      return existsSync(join(dataDir, 'token')) && (await daemonRequest(dataDir, port, '/readyz', { auth: false }).catch(() => undefined))?.status === 200;
    });
    const k = await cli(['kubeconfig', '--server', `https://127.0.0.1:${port}`, '--data-dir', dataDir]);
    expect(k.code, k.stderr).toBe(0);
    kubeconfig = join(tmp.dir, 'kubeconfig');
    writeFileSync(kubeconfig, k.stdout);
    const f = join(tmp.dir, 'pods.yaml');
    writeFileSync(f, PODS);
    const applied = await cli(['apply', '-f', f, '--server', `https://127.0.0.1:${port}`, '--data-dir', dataDir]);
    expect(applied.code, applied.stderr).toBe(0);
    await until('both pods running', async () => {
      const list = JSON.parse((await daemonRequest(dataDir, port, '/api/v1/namespaces/default/pods')).body) as { items: { status?: { phase?: string } }[] };
      return list.items.length === 2 && list.items.every((p) => p.status?.phase === 'Running');
    });
  });

  afterAll(async () => {
    if (proc && proc.exitCode === null) {
      const exited = new Promise((resolve) => proc?.once('exit', resolve));
      proc.kill('SIGTERM');
      await exited;
    }
    tmp.cleanup();
  });

  it('serves pod metrics from the containers\' cgroups: the busy pod uses CPU, both have a working set', async () => {
    const body = JSON.parse((await daemonRequest(dataDir, port, '/apis/metrics.k8s.io/v1beta1/namespaces/default/pods')).body) as { items: { metadata: { name: string }; window: string; containers: { usage: { cpu: string; memory: string } }[] }[] };
    expect(body.items.map((i) => i.metadata.name).sort(), logs.join('').slice(-3000)).toEqual(['busy', 'idle']);
    for (const i of body.items) {
      expect(i.window).toMatch(/^\d+(\.\d+)?(ms|s)$/);
      expect(i.containers[0]?.usage.cpu).toMatch(/^\d+n$/);
      expect(bytes(i.containers[0]?.usage.memory ?? '0')).toBeGreaterThan(0);
    }
  });

  for (const k of KUBECTLS) {
    it.skipIf(!existsSync(k.path))(`kubectl ${k.version}: top pod lists the busy pod above the idle one, with memory; top node prints the node`, async () => {
      // A loaded machine can starve the busy loop for a moment: its lead must show within a few tries.
      const pods = await until(`kubectl ${k.version} top pod to show busy above idle`, () => {
        const r = kubectl(k.path, ['top', 'pod']);
        if (r.status !== 0) throw new Error(r.stderr);
        const t = rows(r.stdout);
        return millicores(t.get('busy')?.[0]) > millicores(t.get('idle')?.[0]) && millicores(t.get('busy')?.[0]) >= 50 ? { out: r.stdout, t } : undefined;
      }, 20_000);
      expect(pods.out.split('\n')[0]).toMatch(/^NAME\s+CPU\(cores\)\s+MEMORY\(bytes\)\s*$/);
      for (const name of ['busy', 'idle']) expect(pods.t.get(name)?.[1], pods.out).toMatch(/^\d+Mi$/);

      const selected = kubectl(k.path, ['top', 'pod', '-l', 'load=busy', '--containers']);
      expect(selected.status, selected.stderr).toBe(0);
      expect(selected.stdout.trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/).slice(0, 2))).toEqual([['busy', 'burn']]);

      const node = kubectl(k.path, ['top', 'node']);
      expect(node.status, node.stderr).toBe(0);
      expect(node.stdout.split('\n')[0]).toMatch(/^NAME\s+CPU\(cores\)\s+CPU(\(%\))?\s+MEMORY\(bytes\)\s+MEMORY(\(%\))?\s*$/);
      const cells = rows(node.stdout).get('podvisor');
      expect(cells, node.stdout).toBeDefined();
      expect(cells?.[0]).toMatch(/^\d+m?$/);
      expect(cells?.[1]).toMatch(/^\d+%$/);
      expect(cells?.[2]).toMatch(/^\d+Mi$/);
      expect(cells?.[3]).toMatch(/^\d+%$/);
    });
  }

  it('a pod that does not exist has no metrics (NotFound, as from metrics-server)', () => {
    const k = KUBECTLS.find((x) => existsSync(x.path));
    if (!k) return;
    const r = kubectl(k.path, ['top', 'pod', 'nope']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('podmetrics.metrics.k8s.io "default/nope" not found');
  });
});
