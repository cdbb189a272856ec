/**
 * End-to-end, D3 (kubelet 1.36, PR #136964): the statuses an in-place restart publishes, watched
 * through the API of a real `podvisor serve` with real processes. Every container a reset
 * removes shows `waiting: RestartingAllContainers` from its removal until it runs again, then
 * `lastState.terminated` 137 `RestartingAllContainers` (no times, no containerID) while it runs;
 * the real exit of the source stays in the restart record (`podvisor history`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, cli, daemonRequest, ensureBuilt, freePort, manifest, ROOT, tempDir, until } from './helpers.js';

const REMOVED = { reason: 'RestartingAllContainers', message: 'The container is removed because RestartAllContainers in place' };
const REMOVED_LAST = { exitCode: 137, ...REMOVED };

const tmp = tempDir('podvisor-d3-');
const dataDir = join(tmp.dir, 'data');
let port = 0;
let daemon: ChildProcess | undefined;

beforeAll(async () => {
  ensureBuilt();
  port = await freePort();
  daemon = spawn(process.execPath, [CLI, 'serve', '--stop-pods-on-exit', '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`, '--backoff-initial', '0'], { cwd: ROOT, stdio: 'ignore' });
  await until('serve ready', async () => (await daemonRequest(dataDir, port, '/readyz', { auth: false })).status === 200);
});

afterAll(async () => {
  if (daemon && daemon.exitCode === null) {
    const exited = new Promise((r) => daemon?.once('exit', r));
    daemon.kill('SIGTERM');
    await exited;
  }
  tmp.cleanup();
});

/** Every version of the pod the watch delivers, from the start, until `stop()`. */
function watchPod(name: string): { objects: any[]; stop: () => void } {
  const objects: any[] = [];
  const ca = readFileSync(join(dataDir, 'tls', 'cert.pem'));
  const token = readFileSync(join(dataDir, 'token'), 'utf8').trim();
  const req = https.request({
    host: '127.0.0.1', port, ca, headers: { Authorization: `Bearer ${token}` },
    path: `/api/v1/namespaces/default/pods?watch=true&fieldSelector=${encodeURIComponent(`metadata.name=${name}`)}`,
  }, (res) => {
    let buf = '';
    res.setEncoding('utf8');
    res.on('data', (d: string) => {
      buf += d;
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i).trim();
        buf = buf.slice(i + 1);
        if (line) objects.push(JSON.parse(line).object);
      }
    });
  });
  req.on('error', () => {});
  req.end();
  return { objects, stop: () => req.destroy() };
}

const statusOf = (pod: any, name: string): any =>
  [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])].find((c: any) => c.name === name);

/** A pod whose `source` exits 42 on its first run only (PODVISOR_POD_RESTART_COUNT), with `n` sleeping bystanders. */
function resetPod(name: string, bystanders: number): string {
  const sleepers = Array.from({ length: bystanders }, (_, i) => `
  - name: sleeper-${i + 1}
    image: busybox:1.36
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"]`).join('');
  return `apiVersion: v1
kind: Pod
metadata: {name: ${name}}
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 2
  containers:
  - name: source
    image: busybox:1.36
    restartPolicy: Never
    restartPolicyRules:
    - action: RestartAllContainers
      exitCodes: {operator: In, values: [42]}
    command: ["sh", "-c", "echo run $PODVISOR_POD_RESTART_COUNT of source; if [ \\"$PODVISOR_POD_RESTART_COUNT\\" = 0 ]; then sleep 1; exit 42; fi; trap 'exit 0' TERM; while true; do sleep 0.1; done"]${sleepers}
`;
}

async function scenario(name: string, bystanders: number): Promise<void> {
  const names = ['source', ...Array.from({ length: bystanders }, (_, i) => `sleeper-${i + 1}`)];
  const watch = watchPod(name);
  try {
    const file = manifest(tmp.dir, `${name}.yaml`, resetPod(name, bystanders));
    const applied = await cli(['apply', '-f', file, '--server', `https://127.0.0.1:${port}`, '--data-dir', dataDir]);
    expect(applied.code, applied.stderr).toBe(0);
    // The reset happened and every container runs again.
    const settled = await until(`${name}: all ${names.length} containers running again after the reset`, () => {
      const last = watch.objects.at(-1);
      return last && names.every((n) => statusOf(last, n)?.state.running && statusOf(last, n)?.restartCount === 1) ? last : undefined;
    }, 60_000);
    expect(settled.status.phase).toBe('Running');
    for (const n of names) {
      // From the first status that shows it removed until it runs again: only the reset's waiting state.
      const seen = watch.objects.map((o) => statusOf(o, n)).filter((s) => s !== undefined);
      const removedAt = seen.findIndex((s) => s.state.waiting?.reason === 'RestartingAllContainers');
      expect(removedAt, `${n} was never published as removed`).toBeGreaterThanOrEqual(0);
      const runsAgain = seen.findIndex((s, i) => i > removedAt && s.state.running);
      expect(runsAgain, `${n} never ran again`).toBeGreaterThan(removedAt);
      for (const s of seen.slice(removedAt, runsAgain)) expect(s.state, n).toEqual({ waiting: REMOVED });
      // While it runs again, lastState is the reset's record: 137, no times, no containerID.
      for (const s of seen.slice(runsAgain)) expect(s.lastState, n).toEqual({ terminated: REMOVED_LAST });
    }
    // The phase never went back during the reset (D3).
    const phases = watch.objects.map((o) => o.status?.phase).filter((p) => p !== undefined);
    expect(phases.slice(phases.indexOf('Running'))).toEqual(phases.slice(phases.indexOf('Running')).map(() => 'Running'));
  } finally {
    watch.stop();
  }
  // The source's real exit (42) and the bystanders' SIGKILL stay in the restart record.
  const history = await cli(['history', 'pod', name, '--server', `https://127.0.0.1:${port}`, '--data-dir', dataDir]);
  expect(history.code, history.stderr).toBe(0);
  expect(history.stdout).toMatch(/pod in place\s+-\s+restartPolicyRules\s/);
  expect(history.stdout).toContain('container source exited with code 42 matching restartPolicyRules[0]');
  expect(history.stdout).toContain('source 42');
  if (bystanders > 0) expect(history.stdout).toContain('sleeper-1 137 (SIGKILL)');
  // ... and its output is the previous log (C2).
  const previous = await cli(['logs', name, '-c', 'source', '-p', '--server', `https://127.0.0.1:${port}`, '--data-dir', dataDir]);
  expect(previous.code, previous.stderr).toBe(0);
  expect(previous.stdout).toContain('run 0 of source');
  const records = JSON.parse((await daemonRequest(dataDir, port, `/api/v1/namespaces/default/pods/${name}/restarts`)).body).items;
  const reset = records.find((r: any) => r.level === 'pod');
  expect(reset).toMatchObject({ trigger: 'restartPolicyRules', cause: { kind: 'rule', index: 0, action: 'RestartAllContainers' }, exitCode: 42, rule: 0 });
  expect(reset.removed.map((x: any) => x.container).sort()).toEqual([...names].sort());
  expect(reset.removed.find((x: any) => x.container === 'source')).toMatchObject({ exitCode: 42, reason: 'Error' });
  const deleted = await cli(['delete', 'pod', name, '--server', `https://127.0.0.1:${port}`, '--data-dir', dataDir]);
  expect(deleted.code, deleted.stderr).toBe(0);
}

describe('D3 through the API of podvisor serve (host runtime)', () => {
  it('a 2-container reset: both removed containers show RestartingAllContainers until they run, then lastState 137 RestartingAllContainers; history keeps exit 42', async () => {
    await scenario('d3-two', 1);
  });

  it('an 11-container reset: the same for every one of the 11', async () => {
    await scenario('d3-eleven', 10);
  });
});
