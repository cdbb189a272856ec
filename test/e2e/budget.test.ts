/**
 * End-to-end: restart budgets and the escalation ladder (spec §10) with real processes on
 * `podvisor serve`: container restarts, an in-place pod restart (UID and emptyDir kept), a
 * re-create (new UID, fresh emptyDir), then Failed with RestartBudgetExceeded. The same run
 * is checked through /metrics (and promtool) and `podvisor history`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canMount, CLI, cli, daemonRequest, ensureBuilt, freePort, ROOT, tempDir, until } from './helpers.js';

const tmp = tempDir('podvisor-budget-');
let daemon: ChildProcess;
let port = 0;
const dataDir = join(tmp.dir, 'data');

const get = (path: string, auth = true) => daemonRequest(dataDir, port, path, { auth });

beforeAll(async () => {
  ensureBuilt();
  port = await freePort();
  daemon = spawn(process.execPath, [CLI, 'serve', '--stop-pods-on-exit', '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`], { cwd: ROOT, stdio: 'ignore' });
  await until('serve ready', async () => existsSync(join(dataDir, 'tls', 'cert.pem')) && (await get('/readyz')).status === 200);
});

afterAll(async () => {
  await new Promise<void>((resolve) => {
    if (daemon.exitCode !== null) return resolve();
    daemon.once('exit', () => resolve());
    daemon.kill('SIGTERM');
  });
  tmp.cleanup();
});

const pv = (args: string[]) => cli([...args, '--server', `https://127.0.0.1:${port}`, '--data-dir', dataDir]);

describe.skipIf(!canMount())('restart budgets: the whole ladder on podvisor serve', () => {
  it('container -> pod in place (UID and emptyDir kept) -> re-create (new UID, fresh emptyDir) -> Failed', async () => {
    const f = join(tmp.dir, 'ladder.yaml');
    writeFileSync(f, `
apiVersion: v1
kind: Pod
metadata:
  name: ladder
  annotations:
    podvisor.io/container-max-restarts: "1"
    podvisor.io/pod-max-restarts: "1"
    podvisor.io/max-recreates: "1"
    podvisor.io/backoff-initial: "0"
    podvisor.io/backoff-max: "0"
spec:
  terminationGracePeriodSeconds: 1
  volumes: [{name: data, emptyDir: {}}]
  containers:
  - name: a
    image: busybox:1.36
    command: ["sh", "-c", "echo run >> /tmp/podvisor-e2e-ladder/runs; sleep 0.2; exit 1"]
    volumeMounts: [{name: data, mountPath: /tmp/podvisor-e2e-ladder}]
`);
    expect((await pv(['apply', '-f', f])).code).toBe(0);
    const first = JSON.parse((await get('/api/v1/namespaces/default/pods/ladder')).body);
    const uid1 = first.metadata.uid as string;
    const final = await until('pod Failed', async () => {
      const p = JSON.parse((await get('/api/v1/namespaces/default/pods/ladder')).body);
      return p.status?.phase === 'Failed' ? p : undefined;
    });
    const evs = JSON.parse((await get('/api/v1/namespaces/default/events')).body).items.map((e: any) => `${e.reason}: ${e.message}`);
    expect(final.metadata.uid, JSON.stringify(final.status) + evs.join('\n')).not.toBe(uid1);
    expect(final.metadata.annotations['podvisor.io/recreations']).toBe('1');
    expect(final.status.reason).toBe('RestartBudgetExceeded');
    expect(final.status.message).toBe('container a exceeded its restart budget: 2 re-creations within 10m0s');
    // The first instance's volumes are gone with it; the second started with an empty emptyDir:
    // its first run, one container restart, one in-place restart.
    expect(existsSync(join(dataDir, 'runtime', 'pods', uid1, 'volumes'))).toBe(false);
    const runs = readFileSync(join(dataDir, 'runtime', 'pods', final.metadata.uid, 'volumes', 'data', 'runs'), 'utf8').trim().split('\n');
    expect(runs).toHaveLength(3);

    const history = await pv(['history', 'pod', 'ladder']);
    expect(history.code).toBe(0);
    expect(history.stdout).toMatch(/container\s+a\s+policy/);
    expect(history.stdout).toMatch(/pod in place\s+-\s+budget/);
    expect(history.stdout).toMatch(/re-create\s+a\s+budget.*\(old UID /);
    expect(history.stdout).toContain('container restarts, 2 in-place pod restarts, 1 re-creations');

    const events = JSON.parse((await get('/api/v1/namespaces/default/events')).body).items.filter((e: any) => e.reason === 'RestartBudgetExceeded').map((e: any) => e.message);
    expect(events).toContain('container a exceeded its restart budget: 2 restarts within 10m0s, escalating to pod');
    expect(events).toContain('container a exceeded its restart budget: 2 pod restarts within 10m0s, escalating to recreate');
    expect(events).toContain('container a exceeded its restart budget: 2 re-creations within 10m0s, escalating to fail');

    const m = await get('/metrics');
    expect(m.status).toBe(200);
    const line = (re: RegExp): number => Number(re.exec(m.body)?.[1] ?? NaN);
    expect(line(/podvisor_restarts_total\{namespace="default",pod="ladder",level="container",trigger="policy"\} (\d+)/)).toBe(2);
    expect(line(/podvisor_pod_inplace_restarts_total\{namespace="default",pod="ladder"\} (\d+)/)).toBe(2);
    expect(line(/podvisor_pod_recreations_total\{namespace="default",pod="ladder"\} (\d+)/)).toBe(1);
    expect(line(/podvisor_restart_budget_exhaustions_total\{namespace="default",pod="ladder",rung="fail"\} (\d+)/)).toBe(1);
    expect(line(new RegExp(`kube_pod_status_phase\\{namespace="default",pod="ladder",uid="${final.metadata.uid}",phase="Failed"\\} (\\d+)`))).toBe(1);
    expect(line(new RegExp(`kube_pod_container_status_restarts_total\\{namespace="default",pod="ladder",uid="${final.metadata.uid}",container="a"\\} (\\d+)`))).toBe(2);
    // D3: the fresh instance's last in-place restart left lastState = 137 RestartingAllContainers
    // (kube-state-metrics reads lastState, as the kubelet 1.36 publishes it).
    expect(line(new RegExp(`kube_pod_container_status_last_terminated_exitcode\\{namespace="default",pod="ladder",uid="${final.metadata.uid}",container="a"\\} (\\d+)`))).toBe(137);
    expect(line(new RegExp(`kube_pod_container_status_last_terminated_reason\\{namespace="default",pod="ladder",uid="${final.metadata.uid}",container="a",reason="RestartingAllContainers"\\} (\\d+)`))).toBe(1);
    expect(m.body).toMatch(/podvisor_restart_duration_seconds_count\{level="container"\} 2/);
    expect(m.body).not.toContain(`uid="${uid1}"`); // the replaced instance's series are gone
    const promtool = spawnSync('promtool', ['check', 'metrics'], { input: m.body, encoding: 'utf8' });
    if (promtool.error && process.env['CI'] !== 'true') return; // promtool is installed by .ci/run
    expect(promtool.status, `${promtool.stdout}${promtool.stderr}`).toBe(0);
  });

  it('an unauthenticated /metrics request is refused like the API', async () => {
    expect((await get('/metrics', false)).status).toBe(401);
  });

});
