// `npm run bench`, part (e): the OCI runtime (`--runtime oci`), each figure next to a floor
// measured in the same run, and Podman (`podman kube play`, Debian's package) where it runs:
//
//  - cold pull + start: a fresh image store, from the pod's admission until its container runs
//    (pull of the busybox image from a registry on 127.0.0.1, unpack, sandbox, runc); floor:
//    `skopeo copy` of the same image into an empty OCI layout (the pull alone);
//  - warm start: the image in the store; floor: `runc run` of a prepared bundle until its
//    process runs (poststart hook), in the same sandbox-less setting;
//  - exit-to-restart: a container that exits at once, back-off 0; floor: the same `runc run`
//    until its process runs (what any supervisor respawning runc at once pays);
//  - the 5-container pod (1 init, 1 sidecar, 3 containers): in-place restart versus re-create,
//    from the request until every container runs again.
//
// The registry and the image come from the test fixture (test/oci/registry-fixture.ts, compiled
// here with tsc): Debian's docker-registry on 127.0.0.1 and an image built from busybox-static.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { systemClock } from '../dist/agent/clock.js';
import { Supervisor } from '../dist/agent/supervisor.js';
import { defaultPod } from '../dist/api/defaults.js';
import { ociSpec } from '../dist/core/oci-spec.js';
import { createOciRuntime, ociAvailability } from '../dist/runtime/oci-runtime.js';
import { allRunning, inPlaceVersusRecreate, instrument, restartGaps, waitFor } from './bench-lib.mjs';

const ROOT = resolve(fileURLToPath(import.meta.url), '../..');

/** The test fixture, compiled once into .cache/bench. */
async function fixture() {
  const out = join(ROOT, '.cache', 'bench');
  execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), join(ROOT, 'test', 'oci', 'registry-fixture.ts'),
    '--outDir', out, '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--skipLibCheck', '--types', 'node'], { stdio: 'inherit' });
  writeFileSync(join(out, 'package.json'), '{"type":"module"}\n');
  return import(join(out, 'registry-fixture.js'));
}

const pod = (name, spec, annotations = {}) => defaultPod({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', annotations }, spec });
// PID 1 of its container (no init, as on Kubernetes): the shell waits in `wait`, which a trapped
// SIGTERM interrupts at once (a foreground `sleep 1` would delay the trap by up to a second).
const sleeper = (name, image, extra = {}) => ({ name, image, command: ['sh', '-c', "trap 'exit 0' TERM; sleep 3600 & wait"], ...extra });

function run(cmd, args, opts = {}) {
  return new Promise((resolvePromise, reject) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], ...opts });
    let err = '';
    c.stderr?.on('data', (d) => { err += d; });
    c.once('error', reject);
    c.once('exit', (code) => (code === 0 ? resolvePromise() : reject(new Error(`${cmd} ${args.join(' ')}: exit ${code}: ${err}`))));
  });
}

/** A runc bundle of the image (umoci unpack of a skopeo copy), for the floors. */
async function prepareBundle(dir, ref) {
  mkdirSync(dir, { recursive: true });
  const layout = join(dir, 'layout');
  await run('skopeo', ['--insecure-policy', 'copy', '-q', '--src-tls-verify=false', `docker://${ref}`, `oci:${layout}:bench`]);
  const bundle = join(dir, 'bundle');
  await run('umoci', ['unpack', '--image', `${layout}:bench`, bundle]);
  const config = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
  config.process.terminal = false;
  config.process.args = ['true'];
  config.hooks = { poststart: [{ path: '/bin/sh', args: ['sh', '-c', `echo OK >> ${join(dir, 'started')}`] }] };
  delete config.linux.uidMappings;
  delete config.linux.gidMappings;
  config.linux.namespaces = config.linux.namespaces.filter((n) => n.type !== 'user');
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(config));
  return bundle;
}

/** Floor of a warm start: `runc run` until its poststart hook reports the process. */
async function floorRuncStart(dir, bundle, stateRoot, n) {
  const times = [];
  for (let i = 0; i < n; i++) {
    const flag = join(dir, 'started');
    writeFileSync(flag, '');
    const t0 = performance.now();
    const c = spawn('runc', ['--root', stateRoot, 'run', '--bundle', bundle, `start-${i}`], { stdio: 'ignore' });
    await waitFor(() => readFileSync(flag, 'utf8').includes('OK'), 10_000);
    times.push(performance.now() - t0);
    await new Promise((r) => (c.exitCode !== null ? r() : c.once('exit', r)));
  }
  return times;
}

async function podmanFigures(dir, ref, fiveYaml, n, progress) {
  if (!existsSync('/usr/bin/podman')) return { note: 'podman: not installed (apt-get install podman)' };
  // As podvisor: runc (Debian's crun cannot run on the cgroup v1/v2 hybrid), and open files
  // within this machine's hard limit (podman's default of 1048576 is refused here).
  const hard = execFileSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim();
  const conf = join(dir, 'containers.conf');
  writeFileSync(conf, `[containers]\ndefault_ulimits = ["nofile=${hard}:${hard}"]\n[engine]\nruntime = "runc"\n`);
  const env = { ...process.env, CONTAINERS_CONF: conf };
  const podman = (args) => run('podman', args, { env });
  const f = join(dir, 'podman-five.yaml');
  writeFileSync(f, fiveYaml);
  // A pod of an earlier, failed run would make every play fail.
  await podman(['pod', 'rm', '-f', 'five']).catch(() => undefined);
  try {
    await podman(['pull', '-q', '--tls-verify=false', ref]);
    const start = [];
    const replace = [];
    for (let i = 0; i < n; i++) {
      progress(`(e) podman kube play: ${i + 1}/${n}`);
      let t0 = performance.now();
      await podman(['kube', 'play', '--tls-verify=false', f]);
      start.push(performance.now() - t0);
      t0 = performance.now();
      await podman(['kube', 'play', '--replace', '--tls-verify=false', f]);
      replace.push(performance.now() - t0);
      await podman(['kube', 'down', f]);
    }
    return { start, replace };
  } catch (err) {
    await podman(['kube', 'down', f]).catch(() => undefined);
    await podman(['pod', 'rm', '-f', 'five']).catch(() => undefined);
    return { note: `podman: cannot run the manifest here: ${String(err.message ?? err).trim().split('\n').filter((l) => !l.includes('syslog')).slice(-1)[0] ?? ''}` };
  }
}

/**
 * Runs part (e); returns the table rows, the JSON results and notes. `pct(xs, p)` and `fmt(ms)`
 * are the main script's.
 */
export async function benchOci({ dir, quick, progress, pct, fmt }) {
  const problem = (await ociAvailability()) ?? undefined;
  if (problem !== undefined) return { rows: [], results: undefined, notes: [`(e) oci figures skipped: ${problem}`] };
  const fx = await fixture();
  const fxProblem = fx.fixtureProblem();
  if (fxProblem !== undefined) return { rows: [], results: undefined, notes: [`(e) oci figures skipped: ${fxProblem}`] };
  const N = quick ? 3 : 10;
  const N_RESTARTS = quick ? 20 : 100;
  const registry = await fx.startRegistry();
  const notes = [];
  try {
    const image = await fx.buildBusybox(registry);
    mkdirSync(dir, { recursive: true });
    // Floors: skopeo (the pull), runc (start, restart).
    const pullFloor = [];
    for (let i = 0; i < N; i++) {
      progress(`(e) floor: skopeo copy ${i + 1}/${N}`);
      const t0 = performance.now();
      await run('skopeo', ['--insecure-policy', 'copy', '-q', '--src-tls-verify=false', `docker://${image}`, `oci:${join(dir, `skopeo-${i}`)}:x`]);
      pullFloor.push(performance.now() - t0);
    }
    const bundle = await prepareBundle(join(dir, 'floor'), image);
    const stateRoot = join(dir, 'floor', 'runc');
    progress('(e) floor: runc run until the process runs');
    // Also the restart floor: a supervisor that respawns runc at once pays exactly this.
    const startFloor = await floorRuncStart(join(dir, 'floor'), bundle, stateRoot, quick ? 10 : 50);
    const restartFloor = startFloor;

    const runtimeAt = async (name, imageDir) => createOciRuntime({ dataDir: join(dir, name), imageDir, buildSpec: ociSpec, monitorChoice: 'auto' });
    // Cold pull + start, each with an empty store.
    const cold = [];
    const warm = [];
    for (let i = 0; i < N; i++) {
      progress(`(e) cold and warm starts: ${i + 1}/${N}`);
      const rt = await runtimeAt(`cold-${i}`, join(dir, `images-cold-${i}`));
      const sup = new Supervisor({ runtime: rt, clock: systemClock, core: { backoffInitialMs: 0, backoffMaxMs: 0 } });
      let t0 = performance.now();
      sup.add(pod('cold', { containers: [sleeper('c', image)] }));
      await waitFor(() => allRunning(sup.get('default/cold')));
      cold.push(performance.now() - t0);
      t0 = performance.now();
      sup.add(pod('warm', { containers: [sleeper('c', image)] }));
      await waitFor(() => allRunning(sup.get('default/warm')));
      warm.push(performance.now() - t0);
      await sup.terminateAll(0);
      sup.dispose();
      await rt.close();
    }
    // Exit-to-restart, back-off 0.
    const imageDir = join(dir, 'images');
    const rt = await runtimeAt('restart', imageDir);
    const { runtime: proxied, marks } = instrument(rt);
    let sup = new Supervisor({ runtime: proxied, clock: systemClock, core: { backoffInitialMs: 0, backoffMaxMs: 0 } });
    const flap = sup.add(pod('flap', { restartPolicy: 'Always', containers: [{ name: 'c', image, imagePullPolicy: 'IfNotPresent', command: ['sh', '-c', 'exit 1'] }] }));
    await waitFor(() => {
      const rc = flap.status?.containerStatuses?.[0]?.restartCount ?? 0;
      progress(`(e) exit-to-restart on oci: ${rc}/${N_RESTARTS}`);
      return rc >= N_RESTARTS;
    }, 600_000);
    await sup.terminateAll(0);
    sup.dispose();
    const restart = restartGaps(marks);
    // The 5-container pod: in place versus re-create.
    sup = new Supervisor({ runtime: rt, clock: systemClock, core: { backoffInitialMs: 0, backoffMaxMs: 0 } });
    const five = {
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 5,
      initContainers: [{ name: 'init', image, command: ['true'] }, sleeper('sidecar', image, { restartPolicy: 'Always' })],
      containers: [sleeper('a', image), sleeper('b', image), sleeper('c', image)],
    };
    sup.add(pod('five', five));
    const { inPlace, recreate } = await inPlaceVersusRecreate(sup, 'five', N, progress, '(e) oci in place versus re-create');
    await sup.terminateAll(0);
    sup.dispose();
    await rt.close();

    // Podman 4.3 (Debian 12) has no sidecars (an init container with restartPolicy Always must
    // complete there): the same five processes, with the sidecar as a regular container.
    const cmd = JSON.stringify(five.containers[0].command);
    const fiveYaml = `apiVersion: v1\nkind: Pod\nmetadata: {name: five}\nspec:\n  terminationGracePeriodSeconds: 5\n  initContainers:\n  - {name: init, image: ${image}, command: ["true"]}\n  containers:\n${['sidecar', 'a', 'b', 'c'].map((n) => `  - {name: ${n}, image: ${image}, command: ${cmd}}`).join('\n')}\n`;
    const podman = await podmanFigures(dir, image, fiveYaml, N, progress);
    if (podman.note) notes.push(`(e) ${podman.note}`);

    const rows = [
      ['(e) oci: cold pull + start p50', fmt(pct(cold, 50)), `${fmt(pct(pullFloor, 50))} (skopeo copy)`, `+${fmt(pct(cold, 50) - pct(pullFloor, 50))}`, ''],
      ['(e) oci: warm start p50', fmt(pct(warm, 50)), `${fmt(pct(startFloor, 50))} (runc run)`, `+${fmt(pct(warm, 50) - pct(startFloor, 50))}`, ''],
      ['(e) oci: exit-to-restart p50', fmt(pct(restart, 50)), `${fmt(pct(restartFloor, 50))} (runc run)`, `+${fmt(pct(restart, 50) - pct(restartFloor, 50))}`, ''],
      ['(e) oci: exit-to-restart p99', fmt(pct(restart, 99)), fmt(pct(restartFloor, 99)), `+${fmt(pct(restart, 99) - pct(restartFloor, 99))}`, ''],
      ['(e) oci: 5-container pod in place p50', fmt(pct(inPlace, 50)), podman.start ? `${fmt(pct(podman.start, 50))} (podman kube play, sidecar as a container)` : '-', '-', ''],
      ['(e) oci: 5-container pod re-create p50', fmt(pct(recreate, 50)), podman.replace ? `${fmt(pct(podman.replace, 50))} (podman kube play --replace)` : '-', `${(pct(recreate, 50) / pct(inPlace, 50)).toFixed(1)}x the in-place restart`, 'in place faster'],
    ];
    const results = {
      coldPullStartMs: pct(cold, 50), pullFloorSkopeoMs: pct(pullFloor, 50),
      warmStartMs: pct(warm, 50), startFloorRuncMs: pct(startFloor, 50),
      restartLatencyMs: { p50: pct(restart, 50), p99: pct(restart, 99), n: restart.length, floorP50: pct(restartFloor, 50), floorP99: pct(restartFloor, 99) },
      inPlaceMs: pct(inPlace, 50), recreateMs: pct(recreate, 50), runs: N,
      ...(podman.start ? { podman: { kubePlayMs: pct(podman.start, 50), kubePlayReplaceMs: pct(podman.replace, 50) } } : {}),
    };
    return { rows, results, notes };
  } finally {
    await registry.stop();
  }
}
