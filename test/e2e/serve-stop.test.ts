/**
 * End-to-end, with `--stop-pods-on-exit` (serve's default leaves containers running under their
 * monitors: test/e2e/outlive.test.ts): stopping `podvisor serve` gracefully (SIGTERM, SIGINT)
 * and stopping its containers is never a pod event
 * (spec C4, §2.4, §4.10, §9 rows 62–63). The daemon exits well within the pods' grace periods,
 * records nothing while it stops (no exit, no restart, no phase change in the store), and the
 * next start resumes every pod exactly as after `kill -9`: instances it finds gone are
 * `ContainerStatusUnknown` and start again, an interrupted in-place restart completes.
 *
 * The same scenarios run on `host` and on `sandbox` (Linux, root; always under `CI=true`, where
 * a sandbox runtime that cannot run fails instead of being skipped), where the pod sandbox must
 * survive the stop and keep its IP.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sandboxAvailability } from '../../src/runtime/sandbox.js';
import { alive, canMount, ensureBuilt, freePort, tempDir, until } from './helpers.js';
import { processesOf, ServeNode, sh } from './serve-node.js';

const sandboxProblem = await sandboxAvailability();
const RUNTIMES = ['host', ...(sandboxProblem === undefined || process.env['CI'] === 'true' ? ['sandbox'] : [])];

const tmp = tempDir('podvisor-stop-');
beforeAll(() => ensureBuilt());
afterAll(() => tmp.cleanup());

let current: ServeNode | undefined;
afterEach(async () => {
  const n = current;
  current = undefined;
  if (!n) return;
  try {
    await n.cleanup();
  } catch {
    n.daemon?.proc.kill('SIGKILL');
  }
});

async function node(runtime: string, name: string): Promise<ServeNode> {
  const n = new ServeNode(runtime, await freePort(), tmp.dir, name, ['--stop-pods-on-exit']);
  current = n;
  await n.start();
  return n;
}

const statusesOf = (pod: any): any[] => [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
const statusOf = (pod: any, name: string): any => statusesOf(pod).find((c) => c.name === name);
const condition = (pod: any, type: string): any => pod.status?.conditions?.find((c: any) => c.type === type);

/**
 * The daemon's log around the stop: exactly one shutdown line, and after it nothing that
 * means a container was started, seen exiting or failed to start (the bug's restart loop).
 */
function expectQuietStop(log: Record<string, unknown>[]): void {
  const at = log.findIndex((l) => String(l['msg']).startsWith('podvisor serve stopping'));
  expect(at, 'shutdown line').toBeGreaterThanOrEqual(0);
  expect(log.filter((l) => String(l['msg']).startsWith('podvisor serve stopping'))).toHaveLength(1);
  const after = log.slice(at + 1).filter((l) => ['container started', 'container exited', 'container start failed', 'action failed'].includes(String(l['msg'])) || Number(l['level']) >= 50);
  expect(after).toEqual([]);
}


for (const rt of RUNTIMES) describe(`runtime ${rt}: a graceful stop of serve is never a pod event`, () => {
  if (rt === 'sandbox') {
    it('the sandbox runtime is available', () => {
      expect(sandboxProblem).toBeUndefined();
    });
  }

  it('SIGTERM: serve exits 0 at once; the store keeps every pod Running with its restart counts; after a start the pods run again, 1 restart each', async () => {
    const n = await node(rt, 'steady');
    const marker = `pv-stop-${rt}-${Math.random().toString(36).slice(2)}`;
    // A pod that ends on any recorded exit (Never), and one that restarts on every exit
    // (Always): before the fix, their exits during the stop made the first Failed and sent the
    // second into a restart loop. `trapper` exits 0 on SIGTERM, `plain` is killed by it (143).
    const containers = `
  - {name: trapper, image: busybox:1.36, command: ${sh("trap 'exit 0' TERM; while true; do sleep 0.1; done", marker)}}
  - {name: plain, image: busybox:1.36, command: ${sh('while true; do sleep 0.1; done', marker)}}`;
    await n.apply(`
apiVersion: v1
kind: Pod
metadata: {name: once}
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 30
  containers:${containers}
---
apiVersion: v1
kind: Pod
metadata: {name: forever}
spec:
  terminationGracePeriodSeconds: 30
  containers:${containers}
`);
    const running = (p: any): boolean => p.status?.phase === 'Running' && statusesOf(p).length === 2 && statusesOf(p).every((c) => c.state?.running);
    const before: Record<string, any> = {};
    for (const name of ['once', 'forever']) before[name] = await until(`${name} running`, async () => { const p = await n.pod(name); return running(p) ? p : undefined; });
    for (const p of Object.values(before)) expect(statusesOf(p).map((c) => c.restartCount)).toEqual([0, 0]);
    const sandbox = rt === 'sandbox' ? JSON.parse(readFileSync(join(n.dataDir, 'runtime', 'pods', before['once'].metadata.uid, 'sandbox.json'), 'utf8')) : undefined;

    const stopped = await n.stop('SIGTERM');
    expect(stopped).toMatchObject({ code: 0, signal: null });
    expect(stopped.ms).toBeLessThan(10_000); // the grace period is 30 s; nothing waits for it
    expectQuietStop(stopped.log);
    // What the store kept is each pod as it was when the stop began: no exit, no restart.
    for (const name of ['once', 'forever']) {
      const rec = n.stored(name);
      expect(rec.pod.status.phase).toBe('Running');
      expect(statusesOf(rec.pod).map((c) => [c.name, c.restartCount, c.containerID, Object.keys(c.state)])).toEqual(
        statusesOf(before[name]).map((c) => [c.name, 0, c.containerID, ['running']]),
      );
      expect(rec.restarts).toEqual([]);
    }
    await until('no container process left', () => processesOf(marker).length === 0, 5_000);
    if (sandbox) {
      // The sandbox survives the stop as it survives a crash.
      expect(alive(sandbox.pausePid)).toBe(true);
      expect(spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout).toContain(sandbox.netns);
    }

    await n.start();
    for (const name of ['once', 'forever']) {
      const p = await until(`${name} running again`, async () => { const x = await n.pod(name); return running(x) && statusesOf(x).every((c) => c.restartCount >= 1) ? x : undefined; });
      expect(p.metadata.uid).toBe(before[name].metadata.uid);
      for (const c of statusesOf(p)) {
        expect(c.restartCount, `${name}/${c.name}`).toBe(1); // the resume restart, nothing else
        expect(c.lastState.terminated.reason, `${name}/${c.name}`).toBe('ContainerStatusUnknown');
      }
      if (sandbox) expect(p.status.podIP).toBe(before[name].status.podIP);
    }
  });

  /**
   * Rows 62–63: `source` (Never, `RestartAllContainers` on 42) exits 42 once (an emptyDir marker
   * remembers it) once the 10 sleepers beside it all run (each says so in a directory; a
   * sleeper not started yet would make the pod Pending). The sleepers ignore SIGTERM, so that
   * the reset's graceful removal (`restart-grace-period-seconds`) keeps `AllContainersRestarting`
   * True for 3 s.
   */
  const resetPod = (name: string, marker: string, withInit: boolean): string => `
apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  annotations: {podvisor.io/restart-grace-period-seconds: "3"}
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 2
  volumes: [{name: marker, emptyDir: {}}]
${withInit ? `  initContainers:
  - {name: init, image: busybox:1.36, command: ${sh('sleep 2; exit 0', marker)}}
` : ''}  containers:
  - name: source
    image: busybox:1.36
    restartPolicy: Never
    restartPolicyRules: [{action: RestartAllContainers, exitCodes: {operator: In, values: [42]}}]
    volumeMounts: [{name: marker, mountPath: ${join(tmp.dir, 'marker')}}]
    command: ${sh(`if [ ! -e ${join(tmp.dir, 'marker', 'failed')} ]; then touch ${join(tmp.dir, 'marker', 'failed')}; while [ $(ls ${join(tmp.dir, `up-${marker}`)} | wc -l) -lt 10 ]; do sleep 0.05; done; exit 42; fi; trap '' TERM; while true; do sleep 0.1; done`, marker)}
${Array.from({ length: 10 }, (_, i) => `  - {name: s${i + 1}, image: busybox:1.36, command: ${sh(`touch ${join(tmp.dir, `up-${marker}`, `s${i + 1}`)}; trap '' TERM; while true; do sleep 0.1; done`, marker)}}`).join('\n')}
`;
  const REGULAR = ['source', ...Array.from({ length: 10 }, (_, i) => `s${i + 1}`)];

  /** After the restart: all 11 regular containers run, each restarted at least once, and the pod never failed. */
  async function expectAllRestarted(n: ServeNode, name: string, uid: string): Promise<any> {
    const p = await until('all 11 containers running again', async () => {
      const x = await n.pod(name);
      const regular = REGULAR.map((c) => statusOf(x, c));
      return regular.every((c) => c?.state?.running && c.restartCount > 0) && condition(x, 'AllContainersRestarting')?.status === 'False' ? x : undefined;
    }, 40_000);
    expect(p.metadata.uid).toBe(uid);
    expect(p.status.phase).toBe('Running');
    expect(p.status.containerStatuses).toHaveLength(11);
    return p;
  }

  const cases: { row: 62 | 63; signal: NodeJS.Signals; sandbox: boolean }[] = [
    { row: 62, signal: 'SIGTERM', sandbox: true },
    { row: 63, signal: 'SIGTERM', sandbox: true },
    { row: 62, signal: 'SIGINT', sandbox: true },
  ];
  for (const c of cases) {
    const when = c.row === 62 ? "during the reset's cleanup (AllContainersRestarting True)" : 'during the start-up after the reset (condition True then False, init running)';
    it.skipIf((rt === 'host' && !canMount()) || (rt === 'sandbox' && !c.sandbox))(`row ${c.row}: ${c.signal} ${when}; after a start all 11 containers run, each restarted`, async () => {
      const n = await node(rt, `row${c.row}-${c.signal}`);
      const marker = `pv-stop-${rt}-${Math.random().toString(36).slice(2)}`;
      mkdirSync(join(tmp.dir, `up-${marker}`), { recursive: true }); // the sleepers say there that they run
      await n.apply(resetPod('reset', marker, c.row === 63));
      const seenTrue = await until('AllContainersRestarting True', async () => { const p = await n.pod('reset'); return condition(p, 'AllContainersRestarting')?.status === 'True' ? p : undefined; }, 40_000);
      const uid = seenTrue.metadata.uid as string;
      if (c.row === 63) {
        await until('cleanup done, init running again', async () => {
          const p = await n.pod('reset');
          return condition(p, 'AllContainersRestarting')?.status === 'False' && statusOf(p, 'init')?.state?.running && statusOf(p, 'init').restartCount > 0;
        }, 20_000);
      }

      const stopped = await n.stop(c.signal);
      expect(stopped).toMatchObject({ code: 0, signal: null });
      expect(stopped.ms).toBeLessThan(15_000); // the sleepers ignore SIGTERM: SIGKILL at the 2 s grace period
      expectQuietStop(stopped.log);
      const rec = n.stored('reset');
      expect(rec.pod.status.phase).toBe('Running');
      if (c.row === 62) {
        // Stopped in the middle of the cleanup, and the store says so: the stop completed nothing.
        expect(condition(rec.pod, 'AllContainersRestarting')?.status).toBe('True');
      } else {
        expect(condition(rec.pod, 'AllContainersRestarting')?.status).toBe('False');
        expect(Object.keys(statusOf(rec.pod, 'init').state)).toEqual(['running']);
      }
      await until('no container process left', () => processesOf(marker).length === 0, 5_000);

      await n.start();
      const p = await expectAllRestarted(n, 'reset', uid);
      if (c.row === 63) {
        // The init instance the stop interrupted ran again despite pod Never (§2.4) and completed.
        const init = statusOf(p, 'init');
        expect(init.state.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
        expect(init.lastState.terminated.reason).toBe('ContainerStatusUnknown');
      }
    });
  }
});
