/**
 * End-to-end: the built CLI (`podvisor run`) with real processes on the host and sandbox runtimes.
 * Workloads use PODVISOR_RESTART_COUNT / PODVISOR_POD_RESTART_COUNT (and emptyDir marker
 * files where volumes are the point) to behave differently on later attempts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandboxAvailability } from '../../src/runtime/sandbox.js';
import { canMount, cli, ensureBuilt, hostPidOf, manifest, ROOT, statuses, tempDir } from './helpers.js';
import { forOci, ociProblem, ociRegistry, stopOciRegistry } from './oci-images.js';

const tmp = tempDir();
beforeAll(() => ensureBuilt());
afterAll(async () => {
  await stopOciRegistry();
  tmp.cleanup();
});

/**
 * The same scenarios run on `host`, on `sandbox` and on `oci` (Linux, root; always under
 * `CI=true`, where a runtime that cannot run fails the first test instead of being skipped).
 * PIDs that containers report are mapped to host PIDs with {@link hostPidOf}. On `oci` the
 * scenarios run on a busybox image pulled from a registry on 127.0.0.1 (see `oci-images.ts`):
 * every `busybox:1.36` becomes that image, the test's temp dir is a hostPath volume (the marker
 * files), and an init is PID 1 (`podvisor.io/container-init: "true"`, as on the sandbox
 * runtime) so that a `sleep` stops on SIGTERM; `oci.test.ts` covers the command as PID 1.
 */
const sandboxProblem = await sandboxAvailability();
const ociMissing = await ociProblem();
const RUNTIMES = ['host', ...(sandboxProblem === undefined || process.env['CI'] === 'true' ? ['sandbox'] : []), ...(ociMissing === undefined ? ['oci'] : [])];
let runtime = 'host';
/** Images of the oci runs (a store shared by every scenario, as on a real node). */
const imageDir = join(tmp.dir, 'images');

/** The manifest as the current runtime runs it (see the comment of RUNTIMES). */
async function prepare(yaml: string): Promise<string> {
  if (runtime !== 'oci') return yaml;
  return forOci(yaml, { busybox: (await ociRegistry()).busybox, hostDirs: [tmp.dir], init: true });
}

/** `--runtime <runtime>` and what it needs. */
function runtimeFlags(): string[] {
  return ['--runtime', runtime, ...(runtime === 'oci' ? ['--image-dir', imageDir] : [])];
}

/** Runs a manifest; returns the final pod JSON and the live view (stderr). */
async function run(yaml: string, flags: string[] = [], name = `pod-${Math.random().toString(36).slice(2)}.yaml`) {
  const f = manifest(tmp.dir, name, await prepare(yaml));
  const r = await cli(['run', '-f', f, '-o', 'json', '-w', ...runtimeFlags(), '--data-dir', join(tmp.dir, `data-${runtime}-${name}`), ...flags], { timeoutMs: 90_000 });
  let pod: any;
  try {
    pod = JSON.parse(r.stdout);
  } catch {
    throw new Error(`no JSON on stdout (exit ${r.code})\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  }
  return { ...r, pod, st: statuses(pod) };
}

const sh = (script: string): string => JSON.stringify(['sh', '-c', script]);

for (const rt of RUNTIMES) describe(`runtime ${rt}`, () => {
beforeAll(() => {
  runtime = rt;
});

if (rt === 'sandbox') {
  it('the sandbox runtime is available', () => {
    expect(sandboxProblem).toBeUndefined();
  });
}
if (rt === 'host') {
  it('a pod that names images gets one notice that the host runtime does not run them, naming --runtime oci; a securityContext a warning', async () => {
    const r = await run(`
apiVersion: v1
kind: Pod
metadata: {name: notice}
spec:
  restartPolicy: Never
  containers:
  - {name: a, image: registry.example.com/training:v2.0, command: ${sh('exit 0')}, securityContext: {runAsUser: 1000}}
`);
    expect(r.code, r.stderr).toBe(0);
    const notices = r.stderr.split('\n').filter((l) => l.startsWith('notice:'));
    expect(notices).toEqual([
      'notice: pod/notice: the host runtime runs each command from this machine\'s file system; its image (registry.example.com/training:v2.0) is not pulled: use --runtime oci to run images',
    ]);
    expect(r.stderr).toContain('Warning: spec.containers[0].securityContext: not applied by the host runtime (use --runtime oci), ignored\n');
  });
}
if (rt === 'oci') {
  it('the oci runtime is available and its registry serves the busybox image', async () => {
    expect(ociMissing).toBeUndefined();
    expect((await ociRegistry()).busybox).toMatch(/^127\.0\.0\.1:\d+\/busybox:1\.36$/);
  });
}

describe('podvisor run: restart decisions with real processes', () => {
  it('restarts on an exit-code rule, then the pod succeeds', async () => {
    const r = await run(`
apiVersion: v1
kind: Pod
metadata: {name: rule}
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: busybox:1.36
    command: ${sh('if [ "$PODVISOR_RESTART_COUNT" -lt 2 ]; then exit 42; fi; exit 0')}
    restartPolicy: Never
    restartPolicyRules:
    - {action: Restart, exitCodes: {operator: In, values: [42]}}
`, ['--backoff-initial', '0']);
    expect(r.code).toBe(0);
    expect(r.pod.status.phase).toBe('Succeeded');
    expect(r.st.main.restartCount).toBe(2);
    expect(r.st.main.lastState.terminated.exitCode).toBe(42);
    expect(r.stderr).toMatch(/RESTART container {2}pod\/rule \[main\] #1: exit code 42 matched restartPolicyRules\[0\] \(Restart\)/);
  });

  it('does not restart on a mismatch: pod Failed, restartCount 0, exit code 1', async () => {
    const r = await run(`
apiVersion: v1
kind: Pod
metadata: {name: mismatch}
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: busybox:1.36
    command: ${sh('exit 3')}
    restartPolicy: Never
    restartPolicyRules:
    - {action: Restart, exitCodes: {operator: In, values: [42]}}
`);
    expect(r.code).toBe(1);
    expect(r.pod.status.phase).toBe('Failed');
    expect(r.st.main.restartCount).toBe(0);
    expect(r.st.main.state.terminated).toMatchObject({ exitCode: 3, reason: 'Error' });
  });

  it('a try-once init container that fails fails the pod; the main container never runs', async () => {
    const failing = await run(`
apiVersion: v1
kind: Pod
metadata: {name: try-once}
spec:
  initContainers:
  - {name: init-once, image: busybox:1.36, restartPolicy: Never, command: ${sh('echo trying; exit 1')}}
  containers:
  - {name: main, image: busybox:1.36, command: ${sh('sleep 100')}}
`);
    expect(failing.code).toBe(1);
    expect(failing.pod.status.phase).toBe('Failed');
    expect(failing.st['init-once'].restartCount).toBe(0);
    expect(failing.st['init-once'].state.terminated.exitCode).toBe(1);
    expect(failing.st.main.state.waiting.reason).toBe('PodInitializing');
  });

  it('per-container policies in one pod: Never is not restarted, OnFailure is', async () => {
    const r = await run(`
apiVersion: v1
kind: Pod
metadata: {name: mixed}
spec:
  restartPolicy: OnFailure
  containers:
  - {name: try-once, image: busybox:1.36, restartPolicy: Never, command: ${sh('exit 1')}}
  - {name: on-failure, image: busybox:1.36, command: ${sh('if [ "$PODVISOR_RESTART_COUNT" = 0 ]; then sleep 0.3; exit 2; fi; exit 0')}}
`, ['--backoff-initial', '0']);
    expect(r.st['try-once'].restartCount).toBe(0);
    expect(r.st['on-failure'].restartCount).toBe(1);
    expect(r.st['on-failure'].state.terminated.exitCode).toBe(0);
    expect(r.pod.status.phase).toBe('Failed');
  });

  it('CrashLoopBackOff delays follow the configured schedule (first restart at once, then 300ms, 600ms, 600ms)', async () => {
    const d = join(tmp.dir, `crashloop-${runtime}`);
    // Nanoseconds: GNU date; busybox's date has no %N, so /proc/uptime there (10 ms steps).
    const r = await run(`
apiVersion: v1
kind: Pod
metadata: {name: crashloop}
spec:
  restartPolicy: OnFailure
  containers:
  - {name: c, image: busybox:1.36, command: ${sh(`mkdir -p ${d}; t=$(date +%s%N); case $t in *N) t=$(awk '{printf "%.0f", $1 * 1000000000}' /proc/uptime);; esac; echo $t >> ${d}/starts; if [ "$PODVISOR_RESTART_COUNT" -lt 4 ]; then exit 1; fi; exit 0`)}}
`, ['--backoff-initial', '300ms', '--backoff-max', '600ms']);
    expect(r.pod.status.phase).toBe('Succeeded');
    expect(r.st.c.restartCount).toBe(4);
    expect([...r.stderr.matchAll(/Back-off restarting failed container c/g)]).toHaveLength(3);
    const starts = readFileSync(join(d, 'starts'), 'utf8').trim().split('\n').map((x) => Number(BigInt(x) / 1_000_000n));
    const gaps = starts.slice(1).map((t, i) => t - (starts[i] as number));
    // Each delay counts from the previous exit, which follows its start by a few ms.
    const expected = [0, 300, 600, 600];
    gaps.forEach((g, i) => {
      expect(g, `gap ${i}: ${gaps.join(', ')}`).toBeGreaterThanOrEqual((expected[i] as number) - (runtime === 'oci' ? 15 : 5));
      expect(g, `gap ${i}: ${gaps.join(', ')}`).toBeLessThan((expected[i] as number) + 1500);
    });
  });

  it('a sidecar restarts under pod restartPolicy Never', async () => {
    const r = await run(`
apiVersion: v1
kind: Pod
metadata: {name: sidecar}
spec:
  restartPolicy: Never
  initContainers:
  - {name: side, image: busybox:1.36, restartPolicy: Always, command: ${sh('if [ "$PODVISOR_RESTART_COUNT" = 0 ]; then exit 1; fi; sleep 100')}}
  containers:
  - {name: main, image: busybox:1.36, command: ${sh('sleep 1.5; exit 0')}}
`, ['--backoff-initial', '0']);
    expect(r.code).toBe(0);
    expect(r.pod.status.phase).toBe('Succeeded');
    expect(r.st.side.restartCount).toBeGreaterThanOrEqual(1);
  });

  it('a liveness probe failure kills and restarts the container', async () => {
    const r = await run(`
apiVersion: v1
kind: Pod
metadata: {name: liveness}
spec:
  restartPolicy: OnFailure
  containers:
  - name: c
    image: busybox:1.36
    command: ${sh('if [ "$PODVISOR_RESTART_COUNT" -ge 1 ]; then exit 0; fi; sleep 100')}
    livenessProbe:
      exec: {command: ["sh", "-c", "exit 1"]}
      initialDelaySeconds: 1   # the second instance exits 0 at once, before its first probe
      periodSeconds: 1
      failureThreshold: 1
    terminationGracePeriodSeconds: 2
`, ['--backoff-initial', '0']);
    expect(r.st.c.restartCount).toBe(1);
    expect(r.stderr).toContain('Liveness probe failed');
    expect(r.stderr).toContain('Container c failed liveness probe, will be restarted');
    expect(r.st.c.lastState.terminated.exitCode).toBe(143);
    expect(r.pod.status.phase).toBe('Succeeded');
  });

  it('graceful termination: SIGTERM first, SIGKILL after terminationGracePeriodSeconds', async () => {
    const r = await run(`
apiVersion: v1
kind: Pod
metadata: {name: graceful}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: polite, image: busybox:1.36, command: ${sh('trap "echo got TERM; exit 0" TERM; while true; do sleep 0.1; done')}}
  - {name: stubborn, image: busybox:1.36, command: ${sh('trap "" TERM; while true; do sleep 0.1; done')}}
`, ['--timeout', '1s']);
    expect(r.code).toBe(124);
    expect(r.st.polite.state.terminated.exitCode).toBe(0);
    expect(r.st.stubborn.state.terminated.exitCode).toBe(137);
    const t = r.st.stubborn.state.terminated;
    expect(Date.parse(t.finishedAt) - Date.parse(r.pod.status.startTime)).toBeGreaterThanOrEqual(1000);
  });
});

if (rt === 'sandbox' || rt === 'oci') describe('podvisor run: what the sandbox adds (OOMKilled, the pod IP)', () => {
  it('a memory hog is OOMKilled with 137, restarted by a rule on 137, and the pod then succeeds', async () => {
    const r = await run(`
apiVersion: v1
kind: Pod
metadata: {name: hog}
spec:
  restartPolicy: Never
  containers:
  - name: trainer
    image: busybox:1.36
    resources: {limits: {memory: 32Mi}}
    restartPolicy: Never
    restartPolicyRules: [{action: Restart, exitCodes: {operator: In, values: [137]}}]
    command: ${sh('if [ "$PODVISOR_RESTART_COUNT" = 0 ]; then exec tail /dev/zero; fi; echo recovered')}
`, ['--timeout', '60s']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.pod.status.phase).toBe('Succeeded');
    expect(r.st.trainer.restartCount).toBe(1);
    expect(r.st.trainer.lastState.terminated).toMatchObject({ exitCode: 137, reason: 'OOMKilled' });
    expect(r.st.trainer.state.terminated).toMatchObject({ exitCode: 0, reason: 'Completed' });
    expect(r.stderr).toContain('#1: exit code 137 (OOMKilled) matched restartPolicyRules[0] (Restart)');
  });

  it('probes reach the pod: tcpSocket and httpGet go to the pod IP, where the container listens in its own network namespace', async () => {
    const d = join(tmp.dir, `www-${runtime}`);
    const r = await run(`
apiVersion: v1
kind: Pod
metadata: {name: probed}
spec:
  restartPolicy: OnFailure
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: busybox:1.36
    command: ${sh(`[ "$PODVISOR_RESTART_COUNT" = 1 ] && exit 0; mkdir -p ${d}; echo ok > ${d}/healthz; busybox httpd -f -p 8080 -h ${d} & sleep 2; rm ${d}/healthz; wait`)}
    startupProbe: {tcpSocket: {port: 8080}, periodSeconds: 1, failureThreshold: 30}
    livenessProbe: {httpGet: {path: /healthz, port: 8080}, periodSeconds: 1, failureThreshold: 1}
`, ['--timeout', '60s']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.st.web.restartCount).toBe(1);
    // a 404 from the container's own httpd: the probe reached it (on the host, port 8080 is closed)
    // (liveness probes start only after the tcpSocket startup probe succeeded)
    expect(r.stderr).toContain('Liveness probe failed: HTTP probe failed with statuscode: 404');
  });

  it('the pod IP (eth0 in the pod network namespace) is the same after a container restart and after RestartAllContainers', async () => {
    const d = join(tmp.dir, `ips-${runtime}`);
    const r = await run(`
apiVersion: v1
kind: Pod
metadata: {name: keeps-ip}
spec:
  restartPolicy: Never
  containers:
  - name: app
    image: busybox:1.36
    restartPolicy: Never
    restartPolicyRules:
    - {action: Restart, exitCodes: {operator: In, values: [3]}}
    - {action: RestartAllContainers, exitCodes: {operator: In, values: [42]}}
    command: ${sh(`mkdir -p ${d}; busybox ip -o -4 addr show dev eth0 >> ${d}/ips; n=$(wc -l < ${d}/ips); [ "$n" = 1 ] && exit 3; [ "$n" = 2 ] && exit 42; exit 0`)}
`, ['--timeout', '60s']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.st.app.restartCount).toBe(2);
    expect(r.stderr).toContain('exit code 3 matched restartPolicyRules[0] (Restart)');
    expect(r.stderr).toMatch(/RestartAllContainers/);
    const ips = readFileSync(join(d, 'ips'), 'utf8').trim().split('\n').map((l) => /inet (\d+\.\d+\.\d+\.\d+)\//.exec(l)?.[1]);
    expect(ips).toHaveLength(3);
    expect(ips[0]).toBe(r.pod.status.podIP);
    expect(new Set(ips)).toEqual(new Set([r.pod.status.podIP]));
  });
});

describe.skipIf(!canMount())('podvisor run: RestartAllContainers in place with volumes', () => {
  const restartAll = (sourceKind: 'regular' | 'init' | 'sidecar') => `
apiVersion: v1
kind: Pod
metadata: {name: ra-${sourceKind}}
spec:
  restartPolicy: Never
  volumes:
  - {name: work, emptyDir: {}}
  initContainers:
  - name: prepare
    image: busybox:1.36
    restartPolicy: Never
    command: ${sh('echo run >> /tmp/podvisor-e2e-work/prepare.log; ' + (sourceKind === 'init' ? 'if [ "$PODVISOR_POD_RESTART_COUNT" = 0 ]; then exit 42; fi; ' : '') + 'exit 0')}
    ${sourceKind === 'init' ? 'restartPolicyRules: [{action: RestartAllContainers, exitCodes: {operator: In, values: [42]}}]' : ''}
    volumeMounts: [{name: work, mountPath: /tmp/podvisor-e2e-work}]
  - name: side
    image: busybox:1.36
    restartPolicy: Always
    command: ${sh(sourceKind === 'sidecar' ? 'if [ "$PODVISOR_POD_RESTART_COUNT" = 0 ]; then sleep 0.5; exit 42; fi; sleep 100' : 'sleep 100')}
    ${sourceKind === 'sidecar' ? 'restartPolicyRules: [{action: RestartAllContainers, exitCodes: {operator: In, values: [42]}}]' : ''}
  containers:
  - name: trainer
    image: busybox:1.36
    restartPolicy: Never
    restartPolicyRules: [{action: RestartAllContainers, exitCodes: {operator: In, values: [42]}}]
    volumeMounts: [{name: work, mountPath: /tmp/podvisor-e2e-work}]
    command: ${sh((sourceKind === 'regular' ? 'if [ "$PODVISOR_POD_RESTART_COUNT" = 0 ]; then sleep 0.3; exit 42; fi; ' : '') + 'sleep 1; test "$(wc -l < /tmp/podvisor-e2e-work/prepare.log)" -ge 2 || exit 7; exit 0')}
  - name: helper
    image: busybox:1.36
    command: ${sh('sleep 2')}
    restartPolicy: Never
`;

  for (const kind of ['regular', 'init', 'sidecar'] as const) {
    it(`from a${kind === 'init' ? 'n' : ''} ${kind} container: init re-runs, emptyDir kept, restartCount +1 for every container that ran, condition True then False`, async () => {
      const r = await run(restartAll(kind), ['--timeout', '20s']);
      // The trainer checks that `prepare` ran twice and wrote to the same emptyDir (else exit 7).
      expect(r.code, r.stderr).toBe(0);
      expect(r.pod.status.phase).toBe('Succeeded');
      expect(r.st.trainer.state.terminated.exitCode).toBe(0);
      expect(r.st.prepare.restartCount).toBe(1);
      if (kind === 'init') {
        // §4.8: containers that had no instance when the reset began are not counted.
        expect(r.st.side.restartCount).toBe(0);
        expect(r.st.trainer.restartCount).toBe(0);
        expect(r.st.helper.restartCount).toBe(0);
      } else {
        expect(r.st.side.restartCount).toBe(1);
        expect(r.st.trainer.restartCount).toBe(1);
        expect(r.st.helper.restartCount).toBe(1);
      }
      expect(r.st.trainer.lastState?.terminated?.exitCode ?? 0).not.toBe(7);
      expect(r.stderr).toMatch(/AllContainersRestarting=True \(RestartAllContainersStarted\)/);
      expect(r.stderr).toMatch(/AllContainersRestarting=False/);
      expect(r.stderr).toMatch(/RESTART pod in place {2}pod\/ra-/);
      expect([...r.stderr.matchAll(/RESTART pod in place/g)]).toHaveLength(1);
    });
  }

  it('two containers with RestartAllContainers rules do not loop', async () => {
    const r = await run(`
apiVersion: v1
kind: Pod
metadata: {name: noloop}
spec:
  restartPolicy: Never
  containers:
  - name: a
    image: busybox:1.36
    restartPolicy: Never
    restartPolicyRules: [{action: RestartAllContainers, exitCodes: {operator: NotIn, values: [0]}}]
    command: ${sh('if [ "$PODVISOR_POD_RESTART_COUNT" = 0 ]; then sleep 0.3; exit 3; fi; sleep 100')}
  - name: b
    image: busybox:1.36
    restartPolicy: Never
    restartPolicyRules: [{action: RestartAllContainers, exitCodes: {operator: NotIn, values: [0]}}]
    command: ${sh('sleep 100')}
`, ['--timeout', '3s']);
    expect(r.code).toBe(124);
    expect([...r.stderr.matchAll(/RESTART pod in place/g)]).toHaveLength(1);
    expect(r.st.a.restartCount).toBe(1);
    expect(r.st.b.restartCount).toBe(1);
  });
});

describe('podvisor run: the examples', () => {
  const files = readdirSync(join(ROOT, 'examples')).filter((f) => f.endsWith('.yaml'));
  it('has the four documented examples', () => {
    expect(files.length).toBeGreaterThanOrEqual(4);
  });
  for (const f of files) {
    it.skipIf(!canMount() && readFileSync(join(ROOT, 'examples', f), 'utf8').includes('volumeMounts'))(`examples/${f} runs to its documented end`, async () => {
      const text = readFileSync(join(ROOT, 'examples', f), 'utf8');
      const phase = /# expect:.*phase=(\w+)/.exec(text)?.[1];
      const exit = /# expect:.*exit=(\d+)/.exec(text)?.[1];
      const extra = /# e2e: (.*)/.exec(text)?.[1]?.split(' ') ?? ['--timeout', '60s'];
      const r = await run(text, extra, f);
      expect(r.code, r.stderr).not.toBe(2);
      if (phase) expect(r.pod.status?.phase ?? r.pod.items?.[0]?.status?.phase, r.stderr).toBe(phase);
      if (exit) expect(r.code, r.stderr).toBe(Number(exit));
    });
  }
});

describe('podvisor run: no process outlives it', () => {
  const alive = (pid: number): boolean => {
    try {
      process.kill(pid, 0);
    } catch {
      return false;
    }
    // A zombie is dead for our purposes.
    try {
      return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return false;
    }
  };
  const waitForFile = async (p: string, ms = 10_000): Promise<string> => {
    const end = Date.now() + ms;
    for (;;) {
      try {
        const s = readFileSync(p, 'utf8');
        if (s.endsWith('\n')) return s.trim();
      } catch {
        /* not yet */
      }
      if (Date.now() > end) throw new Error(`${p} did not appear`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  it('SIGKILL of a container\'s main shell kills its background children too; the exit is 137', async () => {
    const d = join(tmp.dir, `sigkill-${runtime}`);
    const yaml = `
apiVersion: v1
kind: Pod
metadata: {name: parent-killed}
spec:
  restartPolicy: Never
  containers:
  - name: c
    image: busybox:1.36
    command: ${sh(`mkdir -p ${d}; sleep 1000 & echo $! > ${d}/child.tmp; mv ${d}/child.tmp ${d}/child; echo $$ > ${d}/main.tmp; mv ${d}/main.tmp ${d}/main; wait`)}
`;
    const f = manifest(tmp.dir, `sigkill-${runtime}.yaml`, await prepare(yaml));
    const done = cli(['run', '-f', f, '-o', 'json', ...runtimeFlags(), '--timeout', '30s'], { timeoutMs: 60_000 });
    const main = hostPidOf(Number(await waitForFile(join(d, 'main'))), `${d}/main.tmp`);
    const child = hostPidOf(Number(await waitForFile(join(d, 'child'))), `${d}/main.tmp`);
    expect(alive(child)).toBe(true);
    process.kill(main, 'SIGKILL');
    const r = await done;
    const pod = JSON.parse(r.stdout);
    expect(pod.status.phase).toBe('Failed');
    expect(pod.status.containerStatuses[0].state.terminated.exitCode).toBe(137);
    expect(alive(child)).toBe(false);
  });

  it('Ctrl-C terminates the pods gracefully, exits 130 and leaves no process behind', async () => {
    const d = join(tmp.dir, `sigint-${runtime}`);
    const yaml = `
apiVersion: v1
kind: Pod
metadata: {name: interrupted}
spec:
  terminationGracePeriodSeconds: 2
  initContainers:
  - {name: side, image: busybox:1.36, restartPolicy: Always, command: ${sh('sleep 1000')}}
  containers:
  - name: c
    image: busybox:1.36
    command: ${sh(`mkdir -p ${d}; (setsid sleep 1000 & echo $! > ${d}/gc.tmp; mv ${d}/gc.tmp ${d}/gc); trap "exit 0" TERM; while true; do sleep 0.1; done`)}
`;
    const f = manifest(tmp.dir, `sigint-${runtime}.yaml`, await prepare(yaml));
    let pid = 0;
    const done = cli(['run', '-f', f, '-o', 'json', ...runtimeFlags()], { timeoutMs: 60_000, onSpawn: (p) => (pid = p) });
    const gc = hostPidOf(Number(await waitForFile(join(d, 'gc'))), `${d}/gc.tmp`);
    expect(alive(gc)).toBe(true);
    process.kill(pid, 'SIGINT');
    const r = await done;
    expect(r.code).toBe(130);
    const pod = JSON.parse(r.stdout);
    const st = statuses(pod);
    expect(st.c.state.terminated.exitCode).toBe(0); // it got SIGTERM and exited by itself
    expect(st.side.state.terminated.exitCode).toBe(143);
    if (process.getuid?.() === 0 || process.env['CI'] === 'true') expect(alive(gc)).toBe(false); // setsid escapes all but the cgroup sweep
  });
});
});
