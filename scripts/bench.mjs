#!/usr/bin/env node
// `npm run bench`: podvisor's speed and memory figures, each next to a floor measured in the
// same run on the same machine. Not a test: it prints a table and writes bench-results.json.
//
//  (a) exit-to-restart latency: a container that exits at once, back-off 0, >= 200 restarts;
//      floor: a plain Node loop that spawns the same command again from its exit handler. Also
//      for a container that runs 0.2 s (the machine idles in between), with its own floor.
//  (b) in-place pod restart of a pod with 1 init container, 1 sidecar and 3 containers: from
//      the trigger's exit until every container runs again (median of 30); floor: starting the
//      same 5 processes one after another from Node.
//  (c) podvisor's own CPU time and RSS while supervising 100 pods x 3 sleeping containers (in
//      a fresh Node process), and the PSS of their monitors (conmon, one per container; counted
//      as podvisor's own cost).
// (a) and (b) run with each monitor: `direct` (podvisor is the containers' parent, as before
// issue 12; `run`'s default) and `conmon` (containers outlive podvisor; `serve`'s default), when
// conmon is installed. (c) uses serve's default. (e) is the OCI runtime, next to runc, skopeo and
// Podman (see bench-oci.mjs). `--oci-only` runs (e) alone. (f) validates 100,000 generated and
// mutated manifests (bench-fuzz.mjs; `--fuzz-only` alone). `--peers` runs podvisor next to the
// supervisors people use instead (see bench-peers.mjs).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { systemClock } from '../dist/agent/clock.js';
import { Supervisor } from '../dist/agent/supervisor.js';
import { HostRuntime } from '../dist/runtime/host.js';
import { defaultPod } from '../dist/api/defaults.js';
import { SandboxRuntime, sandboxAvailability } from '../dist/runtime/sandbox.js';
import { findConmon } from '../dist/runtime/monitor/conmon.js';
import { readFileSync, readdirSync } from 'node:fs';
import { benchOci } from './bench-oci.mjs';
import { benchPeers } from './bench-peers.mjs';
import { benchValidationFuzz } from './bench-fuzz.mjs';
import { printPeers, writeReadme } from './bench-peers-report.mjs';
import { inPlaceVersusRecreate, instrument, restartGaps } from './bench-lib.mjs';

const conmonFound = !('missing' in findConmon(process.env.PATH ?? ''));

/** PSS (MB) of every conmon process whose command line names `dataDir`, and how many there are. */
function monitorsPss(dataDir) {
  let kb = 0;
  let n = 0;
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (readFileSync(`/proc/${e}/comm`, 'utf8').trim() !== 'conmon') continue;
      if (!readFileSync(`/proc/${e}/cmdline`, 'utf8').includes(dataDir)) continue;
      const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${e}/smaps_rollup`, 'utf8'));
      if (m) {
        kb += Number(m[1]);
        n++;
      }
    } catch {
      // exited meanwhile
    }
  }
  return { mb: kb / 1024, n };
}

const quick = process.argv.includes('--quick');
const N_RESTARTS = quick ? 50 : 300;
const N_RESETS = quick ? 8 : 30;
const N_PODS = quick ? 20 : 100;
const IDLE_MS = quick ? 3000 : 10_000;

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const fmt = (ms) => `${ms.toFixed(2)} ms`;
let lastProgress = '';
const progress = (msg) => {
  if (process.stderr.isTTY) process.stderr.write(`\r\u001b[2K${msg}`);
  else if (msg && msg.split(':')[0] !== lastProgress.split(':')[0]) process.stderr.write(`${msg}\n`);
  lastProgress = msg;
};

function pod(name, spec) {
  return defaultPod({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec });
}

async function floorRestart(n, command = ['true']) {
  const lat = [];
  await new Promise((resolve) => {
    let i = 0;
    let exitedAt = 0;
    const run = () => {
      const c = spawn(command[0], command.slice(1), { stdio: 'ignore', detached: true });
      c.once('spawn', () => {
        if (exitedAt) lat.push(performance.now() - exitedAt);
      });
      c.once('exit', () => {
        exitedAt = performance.now();
        if (++i > n) resolve();
        else run();
      });
    };
    run();
  });
  return lat;
}

async function benchRestart(dataDir, monitorChoice, command = ['true'], n = N_RESTARTS) {
  const base = await HostRuntime.create({ dataDir, monitorChoice });
  const { runtime, marks } = instrument(base);
  const sup = new Supervisor({ runtime, clock: systemClock, core: { backoffInitialMs: 0, backoffMaxMs: 0 } });
  const w = sup.add(pod('flap', { restartPolicy: 'Always', containers: [{ name: 'c', image: 'busybox', command }] }));
  await new Promise((resolve) => {
    const t = setInterval(() => {
      const rc = w.status?.containerStatuses?.[0]?.restartCount ?? 0;
      progress(`(a) exit-to-restart (${monitorChoice} monitor, ${command.join(' ')}): ${rc}/${n} restarts`);
      if (rc >= n) {
        clearInterval(t);
        resolve();
      }
    }, 100);
  });
  await sup.terminateAll(0);
  sup.dispose();
  await runtime.close();
  return restartGaps(marks);
}

async function benchReset(dataDir, monitorChoice) {
  const base = await HostRuntime.create({ dataDir, monitorChoice });
  const { runtime, marks } = instrument(base);
  const sleeper = (name, extra = {}) => ({ name, image: 'busybox', command: ['sleep', '3600'], ...extra });
  const sup = new Supervisor({ runtime, clock: systemClock, core: { backoffInitialMs: 0, backoffMaxMs: 0 } });
  const w = sup.add(pod('five', {
    restartPolicy: 'Never',
    initContainers: [{ name: 'init', image: 'busybox', command: ['true'] }, sleeper('sidecar', { restartPolicy: 'Always' })],
    containers: [
      { name: 'trigger', image: 'busybox', command: ['sh', '-c', 'sleep 0.2; exit 42'], restartPolicy: 'Never', restartPolicyRules: [{ action: 'RestartAllContainers', exitCodes: { operator: 'In', values: [42] } }] },
      sleeper('b'),
      sleeper('c'),
    ],
  }));
  w.pod.metadata.annotations = { 'podvisor.io/backoff-initial': '0', 'podvisor.io/backoff-max': '0' };
  const times = [];
  await new Promise((resolve) => {
    const t = setInterval(() => {
      progress(`(b) in-place pod restart (${monitorChoice} monitor): ${Math.min(times.length, N_RESETS)}/${N_RESETS}`);
      // Each trigger exit starts a reset; measure until every regular container and the sidecar run again.
      const exits = marks.filter((m) => m.kind === 'exit' && m.name === 'trigger');
      while (times.length < exits.length - 1) {
        const e = exits[times.length];
        const after = marks.filter((m) => m.kind === 'start' && m.t > e.t);
        const need = ['init', 'sidecar', 'trigger', 'b', 'c'];
        const done = need.map((n) => after.find((m) => m.name === n)?.t);
        if (done.some((x) => x === undefined)) break;
        times.push(Math.max(...done) - e.t);
      }
      if (times.length >= N_RESETS) {
        clearInterval(t);
        resolve();
      }
    }, 50);
  });
  await sup.terminateAll(0);
  sup.dispose();
  await runtime.close();
  return times.slice(0, N_RESETS); // measured from the trigger's exit, so its own 200 ms run is not included
}

async function floorFiveStarts() {
  const times = [];
  for (let i = 0; i < N_RESETS; i++) {
    const t0 = performance.now();
    const kids = [];
    for (const cmd of [['true'], ['sleep', '3600'], ['sleep', '3600'], ['sleep', '3600'], ['sleep', '3600']]) {
      const c = spawn(cmd[0], cmd.slice(1), { stdio: 'ignore', detached: true });
      await new Promise((r) => c.once('spawn', r));
      if (cmd[0] === 'true') await new Promise((r) => c.once('exit', r));
      kids.push(c);
    }
    times.push(performance.now() - t0);
    for (const k of kids) if (k.exitCode === null) process.kill(-k.pid, 'SIGKILL');
  }
  return times;
}

async function benchIdle(dataDir) {
  const runtime = await HostRuntime.create({ dataDir });
  const sup = new Supervisor({ runtime, clock: systemClock, core: { backoffInitialMs: 10_000, backoffMaxMs: 300_000 } });
  for (let i = 0; i < N_PODS; i++) {
    sup.add(pod(`idle-${i}`, { containers: ['a', 'b', 'c'].map((n) => ({ name: n, image: 'busybox', command: ['sleep', '3600'] })) }));
  }
  await new Promise((resolve) => {
    const t = setInterval(() => {
      const running = sup.all.filter((w) => w.status?.phase === 'Running').length;
      progress(`(c) starting ${N_PODS} pods: ${running} running`);
      if (running === N_PODS) {
        clearInterval(t);
        resolve();
      }
    }, 200);
  });
  progress(`(c) idle measurement over ${IDLE_MS / 1000}s`);
  globalThis.gc?.();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, IDLE_MS));
  const c1 = process.cpuUsage(c0);
  const wall = performance.now() - t0;
  const cpuPct = ((c1.user + c1.system) / 1000 / wall) * 100;
  const rss = process.memoryUsage().rss / 2 ** 20;
  const monitors = monitorsPss(dataDir);
  progress('(c) stopping');
  await sup.terminateAll(0);
  sup.dispose();
  await runtime.close();
  return { cpuPct, rssMb: rss, monitors, monitor: runtime.monitor.kind };
}

/**
 * (d) sandbox runtime: create + destroy of a sandbox, and for the 5-container pod an in-place
 * restart (API) versus a re-create (API): from the request until every container runs again.
 */
async function benchSandbox(dataDir) {
  const runtime = await SandboxRuntime.create({ dataDir });
  const create = [];
  const destroy = [];
  for (let i = 0; i < N_RESETS; i++) {
    progress(`(d) sandbox create/destroy: ${i + 1}/${N_RESETS}`);
    const t0 = performance.now();
    const sb = await runtime.createSandbox({ podUid: `bench-${i}`, podName: `bench-${i}`, namespace: 'default', emptyDirs: [] });
    const t1 = performance.now();
    await runtime.releaseSandbox(sb, { deleteData: true });
    create.push(t1 - t0);
    destroy.push(performance.now() - t1);
  }
  const sleeper = (name, extra = {}) => ({ name, image: 'busybox', command: ['sh', '-c', "trap 'exit 0' TERM; while true; do sleep 1; done"], ...extra });
  const sup = new Supervisor({ runtime, clock: systemClock, core: { backoffInitialMs: 0, backoffMaxMs: 0 } });
  sup.add(pod('five', {
    restartPolicy: 'Always',
    terminationGracePeriodSeconds: 5,
    initContainers: [{ name: 'init', image: 'busybox', command: ['true'] }, sleeper('sidecar', { restartPolicy: 'Always' })],
    containers: [sleeper('a'), sleeper('b'), sleeper('c')],
  }));
  const { inPlace, recreate } = await inPlaceVersusRecreate(sup, 'five', N_RESETS, progress, '(d) in place versus re-create');
  await sup.terminateAll(0);
  sup.dispose();
  await runtime.close();
  return { create, destroy, inPlace, recreate };
}

/**
 * (c) in a fresh Node process (what a `serve` with these pods holds, not this process's heap
 * after the other phases): its result as JSON on stdout.
 */
function benchIdleFresh(dataDir) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--idle-child', dataDir, ...(quick ? ['--quick'] : [])], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.once('exit', (code) => {
      try {
        resolve(JSON.parse(out));
      } catch {
        reject(new Error(`the idle benchmark child failed (exit ${code}): ${out}`));
      }
    });
  });
}

const childAt = process.argv.indexOf('--idle-child');
if (childAt >= 0) {
  const baselineRss = process.memoryUsage().rss / 2 ** 20;
  const idle = await benchIdle(process.argv[childAt + 1]);
  process.stdout.write(JSON.stringify({ ...idle, baselineRss }));
  process.exit(0);
}

const dir = mkdtempSync(join(tmpdir(), 'podvisor-bench-'));
if (process.argv.includes('--peers')) {
  try {
    const r = await benchPeers({ dir: join(dir, 'peers'), quick, progress });
    printPeers(r);
    writeFileSync('bench-peers.json', `${JSON.stringify(r, null, 2)}\n`);
    console.log(`written: bench-peers.json${writeReadme(r) ? ', README.md (peers table)' : ''}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  process.exit(0);
}
if (process.argv.includes('--fuzz-only')) {
  const r = await benchValidationFuzz(quick ? 10_000 : 100_000);
  process.exit(r.failed === 0 ? 0 : 1);
}
if (process.argv.includes('--oci-only')) {
  try {
    const oci = await benchOci({ dir: join(dir, 'e'), quick, progress, pct, fmt });
    progress('');
    for (const n of oci.notes) console.log(n);
    for (const r of oci.rows) console.log(r.join('  '));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  process.exit(0);
}
try {
  const floor = await floorRestart(N_RESTARTS);
  const restart = await benchRestart(join(dir, 'a'), 'direct');
  const restartConmon = conmonFound ? await benchRestart(join(dir, 'a2'), 'conmon') : undefined;
  // A container that runs 0.2 s before it exits (a crash loop as it is met): the machine idles
  // in between, and the monitor's spare is ready when it restarts. Its own floor: Node
  // respawning the same command.
  const N_SLOW = quick ? 20 : 100;
  const SLOW = ['sleep', '0.2'];
  progress('(a) floor, runs 0.2 s');
  const floorSlow = await floorRestart(N_SLOW, SLOW);
  const restartSlow = await benchRestart(join(dir, 'a4'), 'direct', SLOW, N_SLOW);
  const restartConmonSlow = conmonFound ? await benchRestart(join(dir, 'a3'), 'conmon', SLOW, N_SLOW) : undefined;
  const reset = await benchReset(join(dir, 'b'), 'direct');
  const resetConmon = conmonFound ? await benchReset(join(dir, 'b2'), 'conmon') : undefined;
  const floor5 = await floorFiveStarts();
  const idle = await benchIdleFresh(join(dir, 'c'));
  const { baselineRss } = idle;
  const sbProblem = await sandboxAvailability();
  const sb = sbProblem === undefined ? await benchSandbox(join(dir, 'd')) : undefined;
  const oci = await benchOci({ dir: join(dir, 'e'), quick, progress, pct, fmt });
  progress('(f) validation fuzz');
  const fuzz = await benchValidationFuzz(quick ? 10_000 : 100_000);
  progress('');
  const rows = [
    ['(a) exit-to-restart p50', fmt(pct(restart, 50)), fmt(pct(floor, 50)), `+${fmt(pct(restart, 50) - pct(floor, 50))}`, 'within 2 ms of the floor'],
    ['(a) exit-to-restart p99', fmt(pct(restart, 99)), fmt(pct(floor, 99)), `+${fmt(pct(restart, 99) - pct(floor, 99))}`, ''],
    ...(restartConmon ? [
      ['(a) exit-to-restart, conmon p50', fmt(pct(restartConmon, 50)), fmt(pct(floor, 50)), `+${fmt(pct(restartConmon, 50) - pct(floor, 50))}`, 'within 2 ms of the floor'],
      ['(a) exit-to-restart, conmon p99', fmt(pct(restartConmon, 99)), fmt(pct(floor, 99)), `+${fmt(pct(restartConmon, 99) - pct(floor, 99))}`, ''],
    ] : []),
    ['(a) runs 0.2 s, direct p50', fmt(pct(restartSlow, 50)), fmt(pct(floorSlow, 50)), `+${fmt(pct(restartSlow, 50) - pct(floorSlow, 50))}`, 'within 2 ms of the floor'],
    ['(a) runs 0.2 s, direct p99', fmt(pct(restartSlow, 99)), fmt(pct(floorSlow, 99)), `+${fmt(pct(restartSlow, 99) - pct(floorSlow, 99))}`, ''],
    ...(restartConmonSlow ? [
      ['(a) runs 0.2 s, conmon p50', fmt(pct(restartConmonSlow, 50)), fmt(pct(floorSlow, 50)), `+${fmt(pct(restartConmonSlow, 50) - pct(floorSlow, 50))}`, 'within 2 ms of the floor'],
      ['(a) runs 0.2 s, conmon p99', fmt(pct(restartConmonSlow, 99)), fmt(pct(floorSlow, 99)), `+${fmt(pct(restartConmonSlow, 99) - pct(floorSlow, 99))}`, ''],
    ] : []),
    ['(b) in-place restart, 5 containers, p50', fmt(pct(reset, 50)), fmt(pct(floor5, 50)), `+${fmt(pct(reset, 50) - pct(floor5, 50))}`, '< 50 ms + the containers\' own start'],
    ...(resetConmon ? [['(b) same, conmon p50', fmt(pct(resetConmon, 50)), fmt(pct(floor5, 50)), `+${fmt(pct(resetConmon, 50) - pct(floor5, 50))}`, '']] : []),
    [`(c) CPU, ${N_PODS * 3} idle containers`, `${idle.cpuPct.toFixed(2)} % of a core`, '-', '-', '< 1 %'],
    [`(c) RSS, ${N_PODS * 3} idle containers`, `${idle.rssMb.toFixed(0)} MB`, `${baselineRss.toFixed(0)} MB (node at start)`, '-', '< 80 MB'],
    ...(idle.monitors.n > 0 ? [[`(c) monitors' PSS (${idle.monitor}), per container`, `${((idle.monitors.mb / idle.monitors.n) * 1024).toFixed(0)} kB`, '-', `${idle.monitors.mb.toFixed(1)} MB for ${idle.monitors.n}`, '<= 512 kB (runit runsv: ~100 kB)']] : []),
  ];
  if (sb) {
    rows.push(
      ['(d) sandbox create p50', fmt(pct(sb.create, 50)), '-', '-', ''],
      ['(d) sandbox destroy p50', fmt(pct(sb.destroy, 50)), '-', '-', ''],
      ['(d) 5-container pod: in place p50', fmt(pct(sb.inPlace, 50)), '-', '-', ''],
      ['(d) 5-container pod: re-create p50', fmt(pct(sb.recreate, 50)), '-', `${(pct(sb.recreate, 50) / pct(sb.inPlace, 50)).toFixed(1)}x slower`, 'in place >= 5x faster'],
    );
  } else {
    console.log(`(d) sandbox figures skipped: ${sbProblem}`);
  }
  rows.push(...oci.rows);
  rows.push([`(f) validation of ${fuzz.count} generated manifests`, `${fuzz.perManifestMs.toFixed(3)} ms each`, '-', `${fuzz.failed} failures`, '0 failures']);
  for (const n of oci.notes) console.log(n);
  const header = ['figure', 'podvisor', 'floor (same run)', 'overhead', 'target'];
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r) => r.map((c, i) => c.padEnd(w[i])).join('  ');
  console.log(`machine: ${cpus().length} x ${cpus()[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`);
  console.log(line(header));
  for (const r of rows) console.log(line(r));
  const results = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model, memGiB: totalmem() / 2 ** 30, node: process.version },
    restartLatencyMs: { p50: pct(restart, 50), p99: pct(restart, 99), n: restart.length, floorP50: pct(floor, 50), floorP99: pct(floor, 99), monitor: 'direct' },
    ...(restartConmon ? { restartLatencyConmonMs: { p50: pct(restartConmon, 50), p99: pct(restartConmon, 99), n: restartConmon.length } } : {}),
    restartLatencyAfter200msMs: { p50: pct(restartSlow, 50), p99: pct(restartSlow, 99), n: restartSlow.length, floorP50: pct(floorSlow, 50), floorP99: pct(floorSlow, 99), monitor: 'direct' },
    ...(restartConmonSlow ? { restartLatencyConmonAfter200msMs: { p50: pct(restartConmonSlow, 50), p99: pct(restartConmonSlow, 99), n: restartConmonSlow.length } } : {}),
    inPlaceRestartMs: { p50: pct(reset, 50), n: reset.length, floorP50: pct(floor5, 50), monitor: 'direct' },
    ...(resetConmon ? { inPlaceRestartConmonMs: { p50: pct(resetConmon, 50), n: resetConmon.length } } : {}),
    idle: { pods: N_PODS, containers: N_PODS * 3, cpuPercent: idle.cpuPct, rssMb: idle.rssMb, monitor: idle.monitor, monitorsPssMb: idle.monitors.mb, monitors: idle.monitors.n },
    ...(oci.results ? { oci: oci.results } : {}),
    validationFuzz: { manifests: fuzz.count, seconds: fuzz.seconds, perManifestMs: fuzz.perManifestMs, failures: fuzz.failed },
    ...(sb ? { sandbox: { createMs: pct(sb.create, 50), destroyMs: pct(sb.destroy, 50), inPlaceMs: pct(sb.inPlace, 50), recreateMs: pct(sb.recreate, 50), runs: sb.inPlace.length } } : {}),
  };
  writeFileSync('bench-results.json', `${JSON.stringify(results, null, 2)}\n`);
  console.log('written: bench-results.json');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
