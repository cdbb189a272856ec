/**
 * End-to-end, issue 12: containers outlive `podvisor serve`. With its default (no
 * `--stop-pods-on-exit`) a crash (`kill -9`) or a graceful stop (`SIGTERM`) of serve leaves every
 * container running under its monitor (conmon); the next start re-adopts them (same container
 * ID, same PID, restartCount unchanged) and decides the exits that happened while it was down
 * with their real codes and times, in the order they happened: a `Restart` under the policy
 * first, then a `RestartAllContainers` rule (an in-place pod restart). A `Never` pod whose only
 * container completed while serve was down is `Succeeded`. Logs carry each line's own time,
 * `--since` selects by it, and lines printed while serve was down are there.
 *
 * Host runtime always; sandbox on Linux as root (always under `CI=true`).
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sandboxAvailability } from '../../src/runtime/sandbox.js';
import { alive, CLI, cli, daemonRequest, ensureBuilt, freePort, ROOT, tempDir, until } from './helpers.js';
import { forOci, ociProblem, ociRegistry, stopOciRegistry } from './oci-images.js';
import { processesOf, ServeNode, sh } from './serve-node.js';

const sandboxProblem = await sandboxAvailability();
const ociMissing = await ociProblem();
const RUNTIMES = ['host', ...(sandboxProblem === undefined || process.env['CI'] === 'true' ? ['sandbox'] : []), ...(ociMissing === undefined ? ['oci'] : [])];

const tmp = tempDir('podvisor-outlive-');
beforeAll(() => ensureBuilt());
afterAll(async () => {
  await stopOciRegistry();
  tmp.cleanup();
});

let current: ServeNode | undefined;
let marker = '';
afterEach(async () => {
  const n = current;
  current = undefined;
  if (!n) return;
  try {
    await n.cleanup();
  } catch {
    n.daemon?.proc.kill('SIGKILL');
  }
  // Deleting the pods ends every container and its monitor.
  await until('no container process left', () => processesOf(marker).length === 0, 10_000);
});

/**
 * A node of `runtime`; on oci the scenarios run on the e2e busybox image, with the temp dir as a
 * hostPath and an init as PID 1 (see oci-images.ts).
 */
async function newNode(runtime: string, name: string): Promise<ServeNode> {
  const n = new ServeNode(runtime, await freePort(), tmp.dir, name, runtime === 'oci' ? ['--image-dir', join(tmp.dir, 'images')] : []);
  if (runtime === 'oci') n.transform = async (yaml) => forOci(yaml, { busybox: (await ociRegistry()).busybox, hostDirs: [tmp.dir], init: true });
  return n;
}

async function node(runtime: string, name: string): Promise<ServeNode> {
  const n = await newNode(runtime, name);
  current = n;
  marker = `pv-outlive-${runtime}-${Math.random().toString(36).slice(2)}`;
  await n.start();
  return n;
}

/** conmon processes of a data dir. */
function monitorsOf(dataDir: string): number[] {
  return readdirSync('/proc').filter((e) => /^\d+$/.test(e)).map(Number).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'conmon' && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dataDir) && alive(pid);
    } catch {
      return false;
    }
  });
}

const statusesOf = (pod: any): any[] => [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
const statusOf = (pod: any, name: string): any => statusesOf(pod).find((c) => c.name === name);
const readLines = (f: string): string[] => (existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter((l) => l !== '') : []);

/** Serve goes down with `how`: `kill -9` (a crash) or SIGTERM (a graceful stop). */
async function down(n: ServeNode, how: 'SIGKILL' | 'SIGTERM'): Promise<void> {
  if (how === 'SIGKILL') await n.kill();
  else expect(await n.stop('SIGTERM')).toMatchObject({ code: 0, signal: null });
}

for (const rt of RUNTIMES) describe(`runtime ${rt}: containers outlive serve`, () => {
  if (rt === 'sandbox') {
    it('the sandbox runtime is available', () => {
      expect(sandboxProblem).toBeUndefined();
    });
  }

  for (const how of ['SIGKILL', 'SIGTERM'] as const) {
    it(`${how === 'SIGKILL' ? 'kill -9' : 'SIGTERM'}: running containers are re-adopted, exits while down are decided in order with their real times`, async () => {
      const n = await node(rt, `outlive-${how}`);
      const dir = join(tmp.dir, `${rt}-${how}-files`);
      const wait = (trigger: string): string => `while [ ! -e ${dir}/${trigger}-$n ]; do sleep 0.05; done`;
      const count = (name: string): string => `n=$(cat ${dir}/${name}.count 2>/dev/null || echo 0); echo $((n+1)) > ${dir}/${name}.count`;
      mkdirSync(dir, { recursive: true });
      await n.apply(`
apiVersion: v1
kind: Pod
metadata: {name: outlive}
spec:
  restartPolicy: Always
  terminationGracePeriodSeconds: 2
  containers:
  - {name: sleeper, image: busybox:1.36, command: ${sh(`echo $$ >> ${dir}/sleeper.pids; trap 'exit 0' TERM; while true; do sleep 0.1; done`, marker)}}
  - {name: seven, image: busybox:1.36, command: ${sh(`${count('seven')}; ${wait('go7')}; echo "seven $n exits"; exit 7`, marker)}}
  - name: source
    image: busybox:1.36
    restartPolicy: Always
    restartPolicyRules: [{action: RestartAllContainers, exitCodes: {operator: In, values: [42]}}]
    command: ${sh(`${count('source')}; ${wait('go42')}; exit 42`, marker)}
`);
      const running = (p: any): boolean => p.status?.phase === 'Running' && (p.status.containerStatuses ?? []).length === 3 && p.status.containerStatuses.every((c: any) => c.state?.running);
      const before = await until('outlive running', async () => { const p = await n.pod('outlive'); return running(p) ? p : undefined; });
      // On sandbox, $$ is a PID of the container's own PID namespace: only the host checks liveness.
      const sleeperPid = Number(readLines(join(dir, 'sleeper.pids'))[0]);
      const hostPids = rt === 'host';
      if (hostPids) expect(alive(sleeperPid)).toBe(true);
      const sleeperProcs = processesOf(`sleeper.pids`).filter((p) => processesOf(marker).includes(p)).sort();

      // Down 1: seven exits 7 while serve is down.
      await down(n, how);
      if (hostPids) expect(alive(sleeperPid)).toBe(true); // stopping is not killing
      expect(processesOf('sleeper.pids').sort()).toEqual(sleeperProcs);
      const exitTime = Date.now();
      writeFileSync(join(dir, 'go7-0'), '');
      await until('seven exited while serve is down', () => readLines(join(dir, 'seven.count')).length > 0 && processesOf(`${dir}/go7-0`).length === 0, 10_000);
      await new Promise((r) => setTimeout(r, 300)); // the exit is in the past when serve starts again
      const restartedAt = Date.now();
      await n.start();
      const p1 = await until('seven restarted', async () => {
        const p = await n.pod('outlive');
        return statusOf(p, 'seven')?.restartCount === 1 && statusOf(p, 'seven').state?.running ? p : undefined;
      });
      const sleeper = statusOf(p1, 'sleeper');
      expect(sleeper.restartCount).toBe(0);
      expect(sleeper.containerID).toBe(statusOf(before, 'sleeper').containerID);
      expect(sleeper.state.running.startedAt).toBe(statusOf(before, 'sleeper').state.running.startedAt);
      expect(readLines(join(dir, 'sleeper.pids')).map(Number)).toEqual([sleeperPid]); // started once, never again
      expect(processesOf('sleeper.pids').sort()).toEqual(sleeperProcs); // the very same processes
      const seven = statusOf(p1, 'seven').lastState.terminated;
      expect(seven).toMatchObject({ exitCode: 7, reason: 'Error', containerID: statusOf(before, 'seven').containerID });
      const finished = Date.parse(seven.finishedAt);
      expect(finished).toBeGreaterThanOrEqual(Math.floor(exitTime / 1000) * 1000);
      expect(finished).toBeLessThan(restartedAt); // its real time, before serve came back
      expect(statusOf(p1, 'source')).toMatchObject({ restartCount: 0, containerID: statusOf(before, 'source').containerID });
      // The line seven printed while serve was down is its previous log.
      const prev = await cli(['logs', 'outlive', '-c', 'seven', '-p', '--server', `https://127.0.0.1:${n.port}`, '--data-dir', n.dataDir]);
      expect(prev.stdout).toBe('seven 0 exits\n');

      // Down 2: seven exits 7, then source exits 42; after the start, in that order: a container
      // restart of seven, then an in-place pod restart triggered by source's rule.
      await down(n, how);
      writeFileSync(join(dir, 'go7-1'), '');
      await until('seven exited again', () => processesOf(`${dir}/go7-1`).length === 0, 10_000);
      await new Promise((r) => setTimeout(r, 50)); // distinct finish times
      writeFileSync(join(dir, 'go42-0'), '');
      await until('source exited 42', () => processesOf(`${dir}/go42-0`).length === 0, 10_000);
      await n.start();
      const p2 = await until('the in-place pod restart done', async () => {
        const p = await n.pod('outlive');
        return running(p) && statusOf(p, 'source').restartCount >= 1 && statusOf(p, 'sleeper').restartCount >= 1 ? p : undefined;
      }, 40_000);
      const records = (await n.get('/api/v1/namespaces/default/pods/outlive/restarts')).items as any[];
      const summary = records.map((r) => [r.level, r.container ?? '', r.exitCode ?? null]);
      expect(summary).toEqual([['container', 'seven', 7], ['container', 'seven', 7], ['pod', '', 42]]);
      expect(records[2].description).toMatch(/source.*42/);
      expect(records[2].removed.find((x: any) => x.container === 'source')).toMatchObject({ exitCode: 42 });
      // The sleeper ran from the first start until the in-place restart removed it.
      expect(statusOf(p2, 'sleeper').lastState.terminated).toMatchObject({ exitCode: 137, reason: 'RestartingAllContainers' });
      expect(statusOf(p2, 'sleeper').restartCount).toBe(1); // the in-place restart only, nothing for serve's restarts
      // As upstream (D3): every container the reset removed shows 137 RestartingAllContainers; the
      // real exits are in the restart record.
      expect(statusOf(p2, 'source').lastState.terminated).toMatchObject({ exitCode: 137, reason: 'RestartingAllContainers' });
      expect(records[2].removed.find((x: any) => x.container === 'sleeper')).toMatchObject({ exitCode: 137 });
      for (const p of sleeperProcs) expect(alive(p)).toBe(false);
    }, 120_000);
  }

  it('upgrade: containers started by one installation are re-adopted by another', async () => {
    // The "old" installation: a copy of the built package somewhere else (its own bin/ and dist/).
    const old = join(tmp.dir, `old-install-${rt}`);
    mkdirSync(old, { recursive: true });
    for (const d of ['bin', 'dist']) cpSync(join(ROOT, d), join(old, d), { recursive: true });
    cpSync(join(ROOT, 'package.json'), join(old, 'package.json'));
    symlinkSync(join(ROOT, 'node_modules'), join(old, 'node_modules'));
    const n = await newNode(rt, 'upgrade');
    n.cli = join(old, 'bin', 'podvisor.js');
    current = n;
    marker = `pv-outlive-${rt}-${Math.random().toString(36).slice(2)}`;
    await n.start();
    await n.apply(`
apiVersion: v1
kind: Pod
metadata: {name: longjob}
spec:
  containers:
  - {name: a, image: busybox:1.36, command: ${sh('while true; do sleep 0.1; done', marker)}}
  - {name: b, image: busybox:1.36, command: ${sh('while true; do sleep 0.1; done', marker)}}
`);
    const before = await until('longjob running', async () => { const p = await n.pod('longjob'); return p.status?.containerStatuses?.every((c: any) => c.state?.running) ? p : undefined; });
    const pids = processesOf(marker);
    expect(pids.length).toBeGreaterThanOrEqual(2); // on sandbox, each container's wrappers too
    await n.stop('SIGTERM');
    n.cli = CLI; // the new installation
    await n.start();
    const after = await until('re-adopted by the new installation', async () => { const p = await n.pod('longjob'); return p.status?.containerStatuses?.every((c: any) => c.state?.running) ? p : undefined; });
    expect(after.status.containerStatuses.map((c: any) => [c.name, c.containerID, c.restartCount, c.state.running.startedAt]))
      .toEqual(before.status.containerStatuses.map((c: any) => [c.name, c.containerID, 0, c.state.running.startedAt]));
    expect(processesOf(marker).sort()).toEqual(pids.sort());
  });

  it('no process of a deleted pod survives, monitors included', async () => {
    const n = await node(rt, 'delete');
    await n.apply(`
apiVersion: v1
kind: Pod
metadata: {name: doomed}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: a, image: busybox:1.36, command: ${sh('while true; do sleep 0.1; done', marker)}}
  - {name: b, image: busybox:1.36, command: ${sh("trap '' TERM; while true; do sleep 0.1; done", marker)}}
`);
    const running = await until('doomed running', async () => { const p = await n.pod('doomed'); return p.status?.phase === 'Running' ? p : undefined; });
    // The monitors of this pod's containers (serve may also hold a spare, which belongs to no pod).
    const ids = (running.status.containerStatuses as any[]).map((c) => String(c.containerID).replace(/^\w+:\/\//, ''));
    const podMonitors = (): number[] => monitorsOf(n.dataDir).filter((pid) => ids.some((id) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(id)));
    expect(podMonitors()).toHaveLength(2);
    await n.kill(); // re-adopted containers are deleted as completely as started ones
    await n.start();
    await until('re-adopted', async () => (await n.pod('doomed')).status?.containerStatuses?.every((c: any) => c.restartCount === 0 && c.state?.running));
    await daemonRequest(n.dataDir, n.port, '/api/v1/namespaces/default/pods/doomed', { method: 'DELETE' });
    await until('doomed gone', async () => (await n.get('/api/v1/namespaces/default/pods/doomed')).kind === 'Status', 20_000);
    expect(processesOf(marker)).toEqual([]);
    await until('no monitor of the pod left', () => podMonitors().length === 0, 5_000);
  });

  it('a Never pod whose only container completed while serve was down is Succeeded', async () => {
    const n = await node(rt, 'never');
    const go = join(tmp.dir, `${rt}-never-go`);
    await n.apply(`
apiVersion: v1
kind: Pod
metadata: {name: once}
spec:
  restartPolicy: Never
  containers:
  - {name: job, image: busybox:1.36, command: ${sh(`while [ ! -e ${go} ]; do sleep 0.05; done; echo done`, marker)}}
`);
    await until('once running', async () => (await n.pod('once')).status?.phase === 'Running');
    await n.kill();
    writeFileSync(go, '');
    await until('the job completed while serve is down', () => processesOf(go).length === 0, 10_000);
    await n.start();
    const p = await until('once Succeeded', async () => { const x = await n.pod('once'); return x.status?.phase === 'Succeeded' ? x : undefined; });
    expect(statusOf(p, 'job')).toMatchObject({ restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } });
  });

  it('logs: each line has its own time, --since selects by it, a line printed while serve was down is kept', async () => {
    const n = await node(rt, 'logs');
    const go = join(tmp.dir, `${rt}-logs-go`);
    await n.apply(`
apiVersion: v1
kind: Pod
metadata: {name: talker}
spec:
  containers:
  - {name: c, image: busybox:1.36, command: ${sh(`for i in 1 2 3 4 5; do echo line $i; sleep 1; done; while [ ! -e ${go} ]; do sleep 0.05; done; echo while down; touch ${go}.done; while true; do sleep 1; done`, marker)}}
`);
    const server = ['--server', `https://127.0.0.1:${n.port}`, '--data-dir', n.dataDir];
    const stamped = async (): Promise<{ time: number; text: string }[]> => (await cli(['logs', 'talker', '--timestamps', ...server])).stdout
      .split('\n').filter((l) => l !== '').map((l) => ({ time: Date.parse(l.slice(0, l.indexOf(' '))), text: l.slice(l.indexOf(' ') + 1) }));
    await until('four lines', async () => (await stamped()).length >= 4, 20_000);
    // --since=2s selects by each line's own time: lines younger than 2 s are in, older ones out.
    const t0 = Date.now();
    const recent = (await cli(['logs', 'talker', '--since', '2s', ...server])).stdout.split('\n').filter((l) => l !== '');
    const t1 = Date.now();
    const all = await stamped();
    const expectedIn = all.filter((l) => l.time >= t1 - 2000 && l.time < t0).map((l) => l.text);
    const expectedOut = all.filter((l) => l.time < t0 - 2000).map((l) => l.text);
    for (const l of expectedIn) expect(recent).toContain(l);
    for (const l of expectedOut) expect(recent).not.toContain(l);
    expect(expectedOut.length).toBeGreaterThanOrEqual(1);
    await until('five lines', async () => (await stamped()).length === 5, 20_000);
    await n.kill();
    writeFileSync(go, '');
    await until('the line printed while serve is down', () => existsSync(`${go}.done`), 10_000);
    await n.start();
    const adopted = await until('talker re-adopted', async () => { const p = await n.pod('talker'); return statusOf(p, 'c')?.state?.running ? p : undefined; });
    expect(statusOf(adopted, 'c').restartCount, (n.daemon?.out ?? []).join('').split('\n').filter((l) => /adopt|resum|exited/.test(l)).join('\n')).toBe(0);
    const r = await cli(['logs', 'talker', '--timestamps', ...server]);
    const lines = r.stdout.split('\n').filter((l) => l !== '');
    expect(lines.map((l) => l.slice(l.indexOf(' ') + 1))).toEqual(['line 1', 'line 2', 'line 3', 'line 4', 'line 5', 'while down']);
    const times = lines.map((l) => Date.parse(l.slice(0, l.indexOf(' '))));
    for (let i = 1; i < 5; i++) {
      expect(times[i]! - times[i - 1]!).toBeGreaterThan(800);
      expect(times[i]! - times[i - 1]!).toBeLessThan(3000);
    }
    // The line printed while serve was down has the time it was printed, before serve came back.
    expect(times[5]!).toBeLessThan(Date.now() - 100);
  }, 60_000);
});

describe('podvisor run with the conmon monitor', () => {
  it('leaves no monitor and no container behind when it ends (here at its --timeout)', async () => {
    const dataDir = join(tmp.dir, 'run-conmon');
    const m = `pv-run-${Math.random().toString(36).slice(2)}`;
    const file = join(tmp.dir, 'run-conmon.yaml');
    writeFileSync(file, `
apiVersion: v1
kind: Pod
metadata: {name: brief}
spec:
  restartPolicy: Never
  containers:
  - {name: done, image: busybox:1.36, command: ${sh('echo hi', m)}}
  - {name: forever, image: busybox:1.36, command: ${sh('while true; do sleep 0.1; done', m)}}
`);
    const r = await cli(['run', '-f', file, '--monitor', 'conmon', '--data-dir', dataDir, '--timeout', '2s']);
    expect(r.code, r.stderr).toBe(124);
    expect(processesOf(m)).toEqual([]);
    expect(monitorsOf(dataDir)).toEqual([]);
  }, 30_000);
});
