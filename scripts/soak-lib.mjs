// Helpers of the chaos soak (scripts/soak.mjs): the `podvisor serve` process it starts, stops and
// kills, a small HTTPS client for its API (token and CA from the data dir), the process table
// (/proc) and a seeded random generator. No podvisor module is imported: the soak drives the
// real daemon from outside, as a user or kubectl would.
import { Buffer } from 'node:buffer';
import { spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { join } from 'node:path';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** mulberry32: a small seeded generator, so that a run can be repeated with `--seed`. */
export function rng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    /** An integer in [lo, hi]. */
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: (xs) => xs[Math.floor(next() * xs.length)],
    chance: (p) => next() < p,
    /** A key of `weights` ({name: weight}), drawn by weight. */
    weighted: (weights) => {
      const entries = Object.entries(weights).filter(([, w]) => w > 0);
      let x = next() * entries.reduce((s, [, w]) => s + w, 0);
      for (const [k, w] of entries) if ((x -= w) < 0) return k;
      return entries[entries.length - 1][0];
    },
  };
}

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

const NETWORK_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ESOCKETTIMEDOUT', 'EHOSTUNREACH', 'ENOENT', 'EAI_AGAIN', 'ERR_SOCKET_CLOSED']);

/** The daemon's API over HTTPS, with the token and CA of its data dir (read again on `reload`). */
export class Api {
  constructor(dataDir, port) {
    this.dataDir = dataDir;
    this.port = port;
    this.agent = undefined;
  }

  reload(port = this.port) {
    this.port = port;
    this.agent?.destroy();
    this.ca = readFileSync(join(this.dataDir, 'tls', 'cert.pem'));
    this.token = readFileSync(join(this.dataDir, 'token'), 'utf8').trim();
    this.agent = new https.Agent({ keepAlive: true, maxSockets: 4, ca: this.ca });
  }

  close() {
    this.agent?.destroy();
  }

  /** One request: {status, body, json}; rejects on a network error or after `timeoutMs`. */
  request(method, path, body, timeoutMs = 30_000) {
    return new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : JSON.stringify(body);
      const headers = { Authorization: `Bearer ${this.token}`, Accept: 'application/json' };
      if (data !== undefined) Object.assign(headers, { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(data)) });
      const req = https.request({ host: '127.0.0.1', port: this.port, path, method, agent: this.agent, headers }, (res) => {
        let b = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (b += d));
        res.on('end', () => {
          let json;
          try {
            json = JSON.parse(b);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, body: b, json });
        });
        res.on('error', reject);
      });
      req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error(`${method} ${path}: no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })));
      req.on('error', reject);
      if (data !== undefined) req.write(data);
      req.end();
    });
  }

  /** `request`, retried on network errors until `deadlineMs` from now (then the last error). */
  async call(method, path, body, deadlineMs = 30_000) {
    const end = Date.now() + deadlineMs;
    for (;;) {
      try {
        return await this.request(method, path, body, Math.max(1000, Math.min(30_000, end - Date.now())));
      } catch (err) {
        if (!NETWORK_ERRORS.has(err.code) || Date.now() >= end) throw err;
        await sleep(250);
      }
    }
  }
}

/**
 * `podvisor serve` on the host runtime with conmon monitors: the data dir and port stay across
 * restarts. Its output goes to `logFile` (appended), so that the daemon never blocks on a pipe.
 */
export class Daemon {
  constructor({ cli, cwd, dataDir, logFile, args }) {
    Object.assign(this, { cli, cwd, dataDir, logFile, args });
    this.proc = undefined;
    this.exited = undefined;
    this.starts = 0;
  }

  get pid() {
    return this.proc?.pid;
  }

  get running() {
    return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Spawns the daemon; `onExit` is called when it ends (also when we stopped it). */
  spawn(port, onExit) {
    const fd = openSync(this.logFile, 'a');
    const proc = spawn(process.execPath, [
      this.cli, 'serve', '--runtime', 'host', '--monitor', 'conmon', '--data-dir', this.dataDir, '--listen', `127.0.0.1:${port}`, ...this.args,
    // Its own process group: a Ctrl-C of the soak is the soak's to handle (it cleans up).
    ], { cwd: this.cwd, stdio: ['ignore', fd, fd], detached: true });
    closeSync(fd);
    this.starts++;
    this.proc = proc;
    this.exited = new Promise((resolve) => proc.once('exit', (code, signal) => {
      resolve({ code, signal });
      onExit?.(proc, code, signal);
    }));
    return proc;
  }

  /** Sends `signal` and waits for the exit (at most `ms`; undefined when it did not end). */
  async stop(signal, ms = 45_000) {
    const proc = this.proc;
    if (!proc) return { code: null, signal: null, ms: 0 };
    const t0 = Date.now();
    proc.kill(signal);
    let timer;
    const r = await Promise.race([this.exited, new Promise((resolve) => { timer = setTimeout(() => resolve(undefined), ms); })]);
    clearTimeout(timer);
    if (r !== undefined) this.proc = undefined;
    return r === undefined ? undefined : { ...r, ms: Date.now() - t0 };
  }

  /** The last `n` lines of the daemon's output (pino JSON lines, shortened). */
  tail(n = 30) {
    try {
      return readFileSync(this.logFile, 'utf8').split('\n').filter((l) => l !== '').slice(-n).map((l) => (l.length > 400 ? `${l.slice(0, 400)}…` : l));
    } catch {
      return [];
    }
  }
}

/** The daemon's resident set size in MB (VmRSS), or undefined when it is gone. */
export function rssMb(pid) {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** `/proc/PID/stat`: [state, ppid, starttime] (the command name may hold spaces and parentheses). */
function statOf(pid) {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return { state: rest[0], ppid: Number(rest[1]), start: rest[19], comm: s.slice(s.indexOf('(') + 1, s.lastIndexOf(')')) };
}

/**
 * The live processes that matter to the soak: every process whose environment carries
 * `SOAK_RUN=<run>` (a container's processes, children included: each container of the soak has
 * `SOAK_RUN`, `SOAK_POD`, `SOAK_C` and, from the downward API, `SOAK_UID`), and every conmon
 * of the data dir with the container ID it monitors (`-c ID`; spares have IDs of their own).
 * Zombies are not alive.
 */
export function scanProcesses(run, dataDir) {
  const marked = [];
  const monitors = new Map(); // pid -> container ID
  const wanted = `SOAK_RUN=${run}`;
  for (const e of readdirSync('/proc')) {
    if (e.charCodeAt(0) > 57) continue;
    const pid = Number(e);
    if (!(pid > 0)) continue;
    try {
      const st = statOf(pid);
      if (st.state === 'Z' || st.state === 'X') continue;
      if (st.comm === 'conmon') {
        const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        if (!argv.some((a) => a.includes(dataDir))) continue;
        const i = argv.indexOf('-c');
        monitors.set(pid, i >= 0 ? argv[i + 1] : '');
        continue;
      }
      const env = readFileSync(`/proc/${pid}/environ`, 'utf8');
      if (!env.includes(wanted)) continue;
      const vars = {};
      for (const kv of env.split('\0')) {
        const k = kv.slice(0, kv.indexOf('='));
        if (k.startsWith('SOAK_') || k === 'PODVISOR_RESTART_COUNT') vars[k] = kv.slice(k.length + 1);
      }
      if (vars.SOAK_RUN !== run) continue;
      marked.push({ pid, ppid: st.ppid, start: st.start, uid: vars.SOAK_UID, pod: vars.SOAK_POD, c: vars.SOAK_C, restartCount: vars.PODVISOR_RESTART_COUNT });
    } catch {
      // gone meanwhile
    }
  }
  // A container's main process is the child of its monitor.
  const byContainerId = new Map();
  for (const p of marked) {
    const id = monitors.get(p.ppid);
    if (id !== undefined) {
      p.containerId = id;
      byContainerId.set(id, p);
    }
  }
  return { at: Date.now(), marked, monitors, byContainerId };
}

/** Whether `pid` still runs the process that started at `start` (not a zombie, not a reused PID). */
export function stillRuns(pid, start) {
  try {
    const st = statOf(pid);
    return st.start === start && st.state !== 'Z' && st.state !== 'X';
  } catch {
    return false;
  }
}

/** SIGKILL, ignoring a process that is already gone. */
export function killQuietly(pid, signal = 'SIGKILL') {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** `sh -c` argument quoting. */
export const shq = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;
