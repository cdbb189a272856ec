#!/usr/bin/env node
// `npm run soak -- --minutes N`: the chaos soak. It drives the real `podvisor serve` (host
// runtime, conmon monitors, a temp data dir, a free loopback port) with about 50 pods of varied
// behaviour (see soak-pods.mjs) and for N minutes, at random: SIGKILLs container processes
// (also while the daemon is down), kill -9s or SIGTERMs the daemon and starts it again (every
// 15-35 s, so at least once a minute), deletes and re-creates pods, and calls the restart and
// recreate API. After every daemon start it checks, through the API and /proc (soak-checks.mjs):
// every pod that should exist exists with its UID; no restartCount goes backwards; the
// containers the chaos left alone kept their PIDs, container IDs and restartCounts; no restart
// policy is violated; no process of a deleted pod survives; events and restart records are
// readable; and the daemon's RSS stays flat. It prints what it did and what held, and exits 1
// on any violation (2 when the soak itself could not run).
//
// Options: --minutes N (default 2), --pods N (default 50), --seed N (replay a run's random choices),
// --keep (keep the temp dir: data dir and the daemon's log).
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rng, sleep } from './soak-lib.mjs';
import { Soak } from './soak-run.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v < 0) {
    process.stderr.write(`soak: --${name} needs a number\n`);
    process.exit(2);
  }
  return v;
}
// The soak is about containers that outlive the daemon: that takes conmon (Debian's `conmon`).
const conmon = [...(process.env.PATH ?? '').split(':'), '/usr/bin', '/usr/libexec/podman'].map((d) => join(d, 'conmon')).find((f) => existsSync(f));
if (!conmon) {
  process.stderr.write('soak: conmon not found (apt-get install conmon): serve\'s containers cannot outlive it without it\n');
  process.exit(2);
}
const minutes = option('minutes', 2);
const pods = Math.max(5, Math.round(option('pods', 50)));
const seed = option('seed', randomBytes(4).readUInt32LE(0));
const keep = process.argv.includes('--keep');
const rand = rng(seed);
const run = randomBytes(3).toString('hex');
const tmp = mkdtempSync(join(tmpdir(), 'podvisor-soak-'));
mkdirSync(join(tmp, 'mnt', 'w'), { recursive: true });
// emptyDir volumes need mount namespaces: root (as in CI), else the rac pods go without theirs.
const volumes = process.getuid?.() === 0;

const soak = new Soak({ root: ROOT, tmp, run, rand, pods, volumes });
const t0 = Date.now();
const fmtMin = (ms) => (ms / 60_000).toFixed(1);
const total = (prefix) => [...soak.actions].filter(([k]) => k.startsWith(prefix)).reduce((s, [, n]) => s + n, 0);
let lastLine = 0;
function progress(chaosStart, force = false) {
  const restarts = total('daemon kill') + total('daemon SIGTERM');
  const actions = [...soak.actions.values()].reduce((s, n) => s + n, 0);
  const rss = soak.rss.samples.at(-1);
  const line = `soak ${chaosStart ? `${fmtMin(Date.now() - chaosStart)}/${minutes} min` : 'setting up'}: ${restarts} daemon restarts, ${actions} actions, ${soak.checks.violations.length} violations, RSS ${rss?.toFixed(0) ?? '?'} MB`;
  if (process.stderr.isTTY) process.stderr.write(`\r\u001b[2K${line}`);
  else if (force || Date.now() - lastLine >= 60_000) {
    process.stderr.write(`${line}\n`);
    lastLine = Date.now();
  }
}

let aborted = false;
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    if (aborted) { // a second Ctrl-C: kill everything at once
      soak.killEverything();
      process.exit(130);
    }
    aborted = true;
    process.stderr.write(`\nsoak: ${sig}, cleaning up (again to kill everything at once)\n`);
  });
}

async function chaosLoop() {
  process.stderr.write(`soak: seed ${seed}, run ${run}, ${pods} pods, ${minutes} min of chaos, data dir ${soak.dataDir}\n`);
  await soak.start('first');
  await soak.createAll();
  // Warm-up: every pod listed and past Pending (or 90 s), so that the chaos starts from a running node.
  for (const end = Date.now() + 90_000; Date.now() < end && !aborted; await sleep(1000)) {
    await soak.observe();
    if ([...soak.world.latest.values()].filter((p) => p.status?.phase !== 'Pending').length >= soak.specs.length) break;
  }
  const chaosStart = Date.now();
  const endAt = chaosStart + minutes * 60_000;
  let nextRestart = Date.now() + rand.int(15_000, 35_000);
  let lastScan = 0;
  let failures = 0;
  progress(chaosStart, true);
  while (!aborted && Date.now() < endAt) {
    try {
      if (!soak.daemon.running) await soak.start('after an unexpected exit');
      await soak.observe();
      if (Date.now() - lastScan >= 5000) {
        soak.scan();
        soak.sampleRss();
        lastScan = Date.now();
      }
      if (Date.now() >= nextRestart) {
        await soak.restartDaemon();
        nextRestart = Date.now() + rand.int(15_000, 35_000);
      } else {
        await soak.chaos();
      }
      failures = 0;
    } catch (err) {
      if (aborted) break;
      // The API did not answer for 30 s although the daemon runs (or it died meanwhile).
      soak.checks.fail('the API answers every request', `${err.message}`);
      if (++failures >= 5) throw new Error(`giving up after 5 failed rounds: ${err.message}`, { cause: err });
    }
    progress(chaosStart);
    await sleep(rand.int(400, 1200));
  }
  // The last round: one more restart, and every check after it.
  if (!aborted) await soak.restartDaemon();
  progress(chaosStart, true);
  return Date.now() - chaosStart;
}

let chaosMs = 0;
let crashed;
try {
  chaosMs = await chaosLoop();
} catch (err) {
  crashed = err;
} finally {
  if (process.stderr.isTTY) process.stderr.write('\n');
  await soak.cleanup();
}

// ------------------------------------------------------------------ the report
const out = [];
const w = soak.world;
const p = (s = '') => out.push(s);
const restarts = total('daemon kill') + total('daemon SIGTERM');
p(`podvisor chaos soak: ${fmtMin(chaosMs)} min of chaos (${fmtMin(Date.now() - t0)} min in all), seed ${seed}, ${soak.specs.length} pods (${[...new Set(soak.specs.map((s) => s.kind))].map((k) => `${soak.specs.filter((s) => s.kind === k).length} ${k}`).join(', ')}), runtime host, monitor conmon`);
p();
p('what it did:');
for (const [k, n] of [...soak.actions].sort((a, b) => b[1] - a[1])) p(`  ${String(n).padStart(6)}  ${k}`);
const avg = (xs) => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : 0);
p(`  daemon restarts: ${restarts} (${(restarts / Math.max(chaosMs / 60_000, 1e-9)).toFixed(1)} a minute); start to ready ${avg(soak.startMs).toFixed(0)} ms on average, ${Math.max(0, ...soak.startMs)} ms at most; SIGTERM to exit ${avg(soak.stopMs).toFixed(0)} ms on average, ${Math.max(0, ...soak.stopMs)} ms at most`);
const rc = [...w.uids.values()].reduce((s, u) => s + [...u.maxRc.values()].reduce((a, b) => a + b, 0), 0);
p(`  restarts the pods went through: ${rc} (sum of restartCounts over ${w.uids.size} pod instances); recreates lost to a daemon kill: ${w.info.recreatesLost}`);
p();
p('what held:');
for (const [name, c] of [...soak.checks.counts].sort((a, b) => a[0].localeCompare(b[0]))) {
  p(`  ${c.fail === 0 ? 'ok  ' : 'FAIL'}  ${name}: ${c.ok} held${c.fail ? `, ${c.fail} violated` : ''}`);
}
// RSS: one sample right before each deliberate stop (the daemon has run 15-35 s under the same
// load each time). Flat means the last is at most 1.5x the first plus 30 MB: V8 grows its heap
// lazily and the GC runs when it likes, so two samples of a healthy daemon differ by tens of MB;
// a leak of state kept across restarts (records, events, pods) grows with every restart and
// passes that bound in a long run.
const pre = soak.rss.preStop;
if (pre.length > 0) {
  const [first, last, max] = [pre[0], pre[pre.length - 1], Math.max(...pre)];
  const bound = first * 1.5 + 30;
  soak.checks.check('the daemon\'s RSS stays flat', last <= bound, () => `last ${last.toFixed(1)} MB > ${bound.toFixed(1)} MB (1.5 x first + 30)`);
  p(`  ${last <= bound ? 'ok  ' : 'FAIL'}  the daemon's RSS stays flat: before each stop first ${first.toFixed(1)} MB, last ${last.toFixed(1)} MB, max ${max.toFixed(1)} MB (bound ${bound.toFixed(1)} MB); every sample max ${Math.max(...soak.rss.samples).toFixed(1)} MB`);
}
if (restarts < Math.floor(chaosMs / 60_000)) soak.checks.fail('at least one daemon restart a minute', `${restarts} restarts in ${fmtMin(chaosMs)} min`);
if (crashed) soak.checks.fail('the soak runs to its end', crashed.stack ?? String(crashed));
if (aborted) soak.checks.fail('the soak runs to its end', 'interrupted');
p();
const v = soak.checks.violations;
if (v.length === 0) p(`PASS: no violation in ${restarts} daemon restarts`);
else {
  p(`FAIL: ${v.length} violation(s):`);
  for (const x of v.slice(0, 60)) p(`  - ${x}`);
  if (v.length > 60) p(`  ... and ${v.length - 60} more`);
}
if (keep) p(`kept: ${tmp} (data dir, serve.log)`);
else {
  if (v.length > 0) {
    for (const [file, what] of [['serve.log', 'the daemon\'s log'], ['journal.log', 'what the soak did']]) {
      const keepAs = join(tmpdir(), `podvisor-soak-${run}-${file}`);
      try {
        copyFileSync(join(tmp, file), keepAs);
        p(`${what}: ${keepAs}`);
      } catch {
        // not written
      }
    }
  }
  rmSync(tmp, { recursive: true, force: true });
}
process.stdout.write(`${out.join('\n')}\n`);
process.exit(crashed && v.length === 1 ? 2 : v.length > 0 ? 1 : 0); // 2: only the soak itself failed
