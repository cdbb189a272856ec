/**
 * Helpers for runtime tests with real processes: polling with deadlines (never fixed sleeps),
 * process liveness, temp dirs and the privilege gate.
 */
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Tests that need root (cgroups, mount namespaces) run when we are root, and always under
 * `CI=true`: there a missing privilege or dependency must fail, not silently skip.
 */
export const privilegedTests = process.getuid?.() === 0 || process.env.CI === 'true';

/** Polls `fn` every 10 ms until it returns a truthy value; throws `what` at the deadline. */
export async function waitFor<T>(fn: () => T | undefined | null | false, timeoutMs: number, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== null && v !== false) return v;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** True when `p` settles within `ms` (a bounded wait used only to assert that something did NOT happen). */
export async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<false>((r) => { timer = setTimeout(() => r(false), ms); });
  try {
    return await Promise.race([p.then(() => true, () => true), t]);
  } finally {
    clearTimeout(timer);
  }
}

/** The fields of `/proc/<pid>/stat` after the command name, or undefined when gone. */
function procStat(pid: number): string[] | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** Whether a process runs. A zombie (exited, not yet reaped by its parent, e.g. PID 1) is dead. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  if (process.platform !== 'linux') return true;
  const st = procStat(pid);
  return st !== undefined && st[0] !== 'Z' && st[0] !== 'X';
}

/** Session ID of a live process (Linux), to check that a grandchild really called setsid. */
export function sessionOf(pid: number): number | undefined {
  const st = procStat(pid);
  return st ? Number(st[3]) : undefined; // state ppid pgrp session …
}

/** Reads a file, or undefined while it does not exist (yet). */
export function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** PIDs written one per line to a file. */
export function readPids(path: string): number[] {
  return (readIfExists(path) ?? '').split('\n').filter((l) => l.trim() !== '').map(Number);
}

/** A fresh temp dir under os.tmpdir() and its remover. */
export function makeTempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A short random suffix for names that must not collide between runs. */
export function rand(): string {
  return Math.random().toString(36).slice(2, 10);
}

/**
 * Host PIDs of processes a container reported by their PIDs inside its PID namespace (`$$`,
 * `$!`). `refHostPid` is any process of that namespace (the instance's main PID). In the host's
 * own PID namespace the PIDs are returned unchanged. Unknown PIDs map to -1.
 */
export function hostPidsOf(nsPids: number[], refHostPid: number): number[] {
  let ns: string;
  let own: string;
  try {
    ns = readlinkSync(`/proc/${refHostPid}/ns/pid`);
    own = readlinkSync('/proc/self/ns/pid');
  } catch {
    return nsPids;
  }
  if (ns === own) return nsPids;
  const byNsPid = new Map<number, number>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (readlinkSync(`/proc/${e}/ns/pid`) !== ns) continue;
      const line = /^NSpid:\s+(.*)$/m.exec(readFileSync(`/proc/${e}/status`, 'utf8'))?.[1] ?? '';
      const ids = line.trim().split(/\s+/).map(Number);
      const inner = ids[ids.length - 1];
      if (inner !== undefined) byNsPid.set(inner, Number(e));
    } catch {
      // gone meanwhile
    }
  }
  return nsPids.map((p) => byNsPid.get(p) ?? -1);
}

/** One record of a CRI format log file. */
export interface LogRecord { time: string; stream: 'stdout' | 'stderr'; partial: boolean; content: string }

/** The records of a CRI format log file (`<time> <stream> <P|F> <content>` lines). */
export function logRecords(path: string): LogRecord[] {
  return readFileSync(path, 'utf8').split('\n').filter((l) => l !== '').map((l) => {
    const m = /^(\S+) (stdout|stderr) ([PF]) (.*)$/s.exec(l);
    if (!m) throw new Error(`not a CRI log line: ${JSON.stringify(l)}`);
    return { time: m[1] ?? '', stream: m[2] as 'stdout' | 'stderr', partial: m[3] === 'P', content: m[4] ?? '' };
  });
}

/** What a container wrote, as `kubectl logs` shows it: the contents of a CRI format log file. */
export function logContent(path: string): string {
  return logRecords(path).map((r) => (r.partial ? r.content : `${r.content}\n`)).join('');
}
