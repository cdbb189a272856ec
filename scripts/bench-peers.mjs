// `npm run bench -- --peers`: podvisor next to the supervisors people use, in one run on one
// machine, on the same three workloads (issue 16):
//   crash loop  a `sh` that appends a nanosecond timestamp and exits 1, restarted at once: the
//               gaps between its starts, minus the command's own runtime (the gap of the same
//               command run back to back by a `sh` loop, no supervisor, measured in this run);
//   idle        300 sleepers: RSS and PSS of the supervisor's own processes (monitors and
//               spares included, the sleepers not), its CPU over a 30 s window;
//   storm       SIGKILL to 200 of those sleepers at once: until all run again, and the first.
// Peers: the floor (a minimal Node process respawning from its exit handler), PM2 (a dev
// dependency), supervisord and runit (Debian packages, installed when run as root), podvisor
// `run` (direct monitor) and `serve` (conmon, pods created through the API). Each figure is
// printed next to the floor's with the ratio; bench-peers.json is written and the README's
// table (between its `peers` markers) regenerated from it.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { peers, until } from './bench-peers-adapters.mjs';
import { idle1000 } from './bench-peers-idle.mjs';
import { ownProcesses, processTable, usage } from './bench-procs.mjs';

const SLEEP = 'sleep 86399';

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

/** Start timestamps (ns, as bigint) of a file of `[pid] ns` lines. */
function stamps(file) {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => {
    const f = l.trim().split(' ');
    return { pid: f.length > 1 ? Number(f[0]) : undefined, ns: BigInt(f[f.length - 1]) };
  });
}

const gapsMs = (ts) => ts.slice(1).map((t, i) => Number(t.ns - ts[i].ns) / 1e6);

/** The command's own runtime: its gaps when a `sh` loop runs it back to back. */
function commandGaps(dir, n) {
  const file = join(dir, 'loop.ts');
  const cmd = `: PVB; date +%s%N >> ${file}; exit 1`;
  execFileSync('sh', ['-c', `i=0; while [ $i -lt ${n} ]; do sh -c '${cmd}'; i=$((i+1)); done`]);
  return gapsMs(stamps(file));
}

async function crashLoop(peer, dir, { n, maxMs }) {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'crash.ts');
  const h = await peer.start([{ id: 'crash', script: `: PVB; date +%s%N >> ${file}; exit 1` }], dir);
  const t0 = Date.now();
  try {
    await until('crash loop', () => stamps(file).length > n || Date.now() - t0 > maxMs, maxMs + 60_000);
  } finally {
    await stopAll(peer, h, dir);
  }
  return gapsMs(stamps(file).slice(0, n + 1));
}

/** Ends a peer and whatever of its processes and programs is left. */
async function stopAll(peer, h, dir) {
  const table = processTable();
  const own = ownProcesses(table, h.roots, h.marker, () => false);
  await h.stop();
  const left = [...own.keys(), ...[...table].filter(([, p]) => p.cmd.includes(dir)).map(([pid]) => pid)];
  const sdir = join(dir, 's');
  if (existsSync(sdir)) {
    for (const f of readdirSync(sdir)) for (const s of stamps(join(sdir, f))) if (s.pid) left.push(s.pid);
  }
  const now = processTable();
  for (const pid of left) {
    // Only what is still the process seen before the stop (a PID may have been reused since).
    const cmd = table.get(pid)?.cmd;
    if (cmd === undefined || now.get(pid)?.cmd !== cmd) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

async function idleAndStorm(peer, dir, { sleepers, storm, windowMs, progress }) {
  const sdir = join(dir, 's');
  mkdirSync(sdir, { recursive: true });
  const programs = Array.from({ length: sleepers }, (_, i) => ({ id: `s${i}`, script: `: PVB; echo $$ $(date +%s%N) >> ${join(sdir, `s${i}`)}; exec ${SLEEP}` }));
  const h = await peer.start(programs, dir);
  try {
    await until(`${sleepers} sleepers run`, () => {
      const n = readdirSync(sdir).length;
      progress(`${peer.name}: ${n}/${sleepers} sleepers run`);
      return n === sleepers;
    }, 300_000);
    await new Promise((r) => setTimeout(r, 3000)); // let start-up work (spares, status writes) settle
    const isWorkload = (p) => p.cmd === SLEEP || p.cmd.includes(': PVB;');
    progress(`${peer.name}: idle, CPU over ${windowMs / 1000} s`);
    const before = usage(ownProcesses(processTable(), h.roots, h.marker, isWorkload));
    const w0 = performance.now();
    await new Promise((r) => setTimeout(r, windowMs));
    const own = ownProcesses(processTable(), h.roots, h.marker, isWorkload);
    const after = usage(own);
    const wall = performance.now() - w0;
    let ticks = 0;
    for (const [pid, t] of after.ticks) ticks += t - (before.ticks.get(pid) ?? 0);
    const idle = { rssMb: after.rssKb / 1024, pssMb: after.pssKb / 1024, cpuPct: (ticks * 10 / wall) * 100, processes: own.size };
    // The storm: SIGKILL to `storm` sleepers at once.
    const victims = programs.slice(0, storm).map((p) => {
      const s = stamps(join(sdir, p.id)).at(-1);
      return { id: p.id, pid: s.pid };
    });
    const table = processTable();
    for (const v of victims) if (table.get(v.pid)?.cmd !== SLEEP) throw new Error(`${peer.name}: ${v.id}'s pid ${v.pid} is not its sleeper`);
    progress(`${peer.name}: storm of ${storm} SIGKILLs`);
    const t0 = BigInt(Date.now()) * 1_000_000n;
    for (const v of victims) process.kill(v.pid, 'SIGKILL');
    const back = new Map();
    await until(`${storm} sleepers back`, () => {
      for (const v of victims) {
        if (back.has(v.id)) continue;
        const s = stamps(join(sdir, v.id)).find((x) => x.ns > t0);
        if (s) back.set(v.id, Number(s.ns - t0) / 1e6);
      }
      progress(`${peer.name}: storm, ${back.size}/${storm} back`);
      return back.size === storm;
    }, 120_000);
    const times = [...back.values()];
    return { idle, storm: { allMs: Math.max(...times), firstMs: Math.min(...times), p50Ms: pct(times, 50) } };
  } finally {
    await stopAll(peer, h, dir);
  }
}

/** Installs supervisor and runit from Debian when run as root and missing. */
function installDebianPeers(notes) {
  const missing = ['supervisord', 'runsvdir'].filter((c) => {
    try {
      execFileSync('sh', ['-c', `command -v ${c}`], { stdio: 'ignore' });
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0 || !existsSync('/usr/bin/apt-get')) {
    notes.push(`not installed (needs root and apt-get): ${missing.join(', ')}; their rows are skipped`);
    return;
  }
  execFileSync('sh', ['-c', 'apt-get install -y -qq --no-install-recommends supervisor runit >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq --no-install-recommends supervisor runit >/dev/null)'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

export async function benchPeers({ dir, quick, progress }) {
  const notes = [];
  installDebianPeers(notes);
  const sizes = quick
    ? { n: 100, maxMs: 8000, sleepers: 60, storm: 40, windowMs: 5000, idle1000: 200 }
    : { n: 300, maxMs: 20_000, sleepers: 300, storm: 200, windowMs: 30_000, idle1000: 1000 };
  mkdirSync(dir, { recursive: true });
  progress('the command alone, back to back');
  const cmd = commandGaps(dir, sizes.n);
  const cmdP50 = pct(cmd, 50);
  const results = [];
  for (const peer of peers) {
    const why = peer.available();
    if (why) {
      notes.push(`${peer.name}: skipped, ${why}`);
      continue;
    }
    const pdir = join(dir, peer.key);
    try {
      progress(`${peer.name}: crash loop`);
      const gaps = await crashLoop(peer, join(pdir, 'crash'), { ...sizes, progress });
      const net = gaps.map((g) => g - cmdP50);
      const rest = await idleAndStorm(peer, join(pdir, 'idle'), { ...sizes, progress });
      results.push({ key: peer.key, name: peer.name, version: peer.version?.(), restart: { n: net.length, p50Ms: pct(net, 50), p99Ms: pct(net, 99) }, ...rest });
    } catch (e) {
      notes.push(`${peer.name}: failed, ${e.message}`);
    }
  }
  progress(`podvisor serve: ${sizes.idle1000} idle containers`);
  const big = await idle1000(join(dir, 'idle1000'), sizes.idle1000, progress).catch((e) => ({ error: e.message }));
  progress('');
  return { date: new Date().toISOString(), machine: machine(), sizes, commandP50Ms: cmdP50, peers: results, idle1000: big, notes };
}

const machine = () => ({ cpus: cpus().length, model: cpus()[0]?.model, memGiB: Math.round(totalmem() / 2 ** 30), node: process.version, root: process.getuid?.() === 0 });
