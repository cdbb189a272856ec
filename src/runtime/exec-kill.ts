/**
 * Ending execs: killing an exec's process tree ({@link killExecTree}), and the live streaming
 * execs of a runtime ({@link ExecStreams}), killed when their instance ends or the runtime closes.
 *
 * `kill()` of a streaming exec SIGKILLs the whole tree: every descendant of the spawned process,
 * every process in its session and process group, and in every session one of them leads
 * (script's child and the exec'd process of `runc exec` call setsid), until none is left. Execs
 * join the container's cgroup (its accounting, limits, and its end), which is therefore never
 * swept for an exec.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { processTable, sweepSessions, tryKill, within, type ProcEntry } from './proc-util.js';
import type { ExecStream } from './types.js';

/** Upper bound for killing an exec's processes. */
export const KILL_DEADLINE_MS = 5_000;

/** The live descendants of `root` in `table`, `root` included (breadth first). */
export function descendants(root: number, table: readonly ProcEntry[]): ProcEntry[] {
  const byParent = new Map<number, ProcEntry[]>();
  for (const p of table) byParent.set(p.ppid, [...(byParent.get(p.ppid) ?? []), p]);
  const out: ProcEntry[] = [];
  const seen = new Set<number>();
  const queue = table.filter((p) => p.pid === root);
  while (queue.length > 0) {
    const p = queue.shift();
    if (p === undefined || seen.has(p.pid) || p.pid === process.pid) continue;
    seen.add(p.pid);
    out.push(p);
    queue.push(...(byParent.get(p.pid) ?? []));
  }
  return out;
}

/**
 * SIGKILLs an exec's process tree (see the module comment): the descendants of `root` (found
 * before anything is killed, while the tree is intact), and every process in the sessions and
 * process groups led by `root`, by `leaders` and by any of those descendants, until none is
 * left; false at the deadline.
 */
export async function killExecTree(root: number, leaders: readonly number[], deadline: number): Promise<boolean> {
  if (process.platform !== 'linux') {
    tryKill(-root, 'SIGKILL');
    return true;
  }
  const tree = descendants(root, await processTable());
  const sessions = new Set<number>([root, ...leaders]);
  for (const p of tree) {
    sessions.add(p.session);
    sessions.add(p.pgrp);
  }
  for (const p of tree) tryKill(p.pid, 'SIGKILL');
  tryKill(-root, 'SIGKILL');
  const swept = await sweepSessions(sessions, deadline);
  // Descendants that were in none of those sessions (none expected: they are found there).
  const started = new Map(tree.map((p) => [p.pid, p.start]));
  for (let round = 0; ; round++) {
    const alive = (await processTable()).filter((p) => started.get(p.pid) === p.start);
    if (alive.length === 0) return swept;
    for (const p of alive) tryKill(p.pid, 'SIGKILL');
    if (Date.now() >= deadline) return false;
    await delay(Math.min(2 + round * 2, 20));
  }
}

/**
 * The live streaming execs of a runtime, by instance: they are killed when their instance ends
 * or the runtime closes (an exec never outlives its container).
 */
export class ExecStreams {
  private readonly live = new Map<string, Set<ExecStream>>();

  /** Tracks `s` as an exec into instance `id` until it has exited. */
  add(id: string, s: ExecStream): void {
    let set = this.live.get(id);
    if (!set) this.live.set(id, set = new Set());
    set.add(s);
    void s.exited.finally(() => {
      set.delete(s);
      if (set.size === 0 && this.live.get(id) === set) this.live.delete(id);
    });
  }

  /** Kills every exec into instance `id` (it ended). */
  killInstance(id: string): void {
    for (const s of this.live.get(id) ?? []) s.kill();
  }

  /** Kills every exec and waits (bounded) until they have exited. */
  async closeAll(): Promise<void> {
    const all = [...this.live.values()].flatMap((set) => [...set]);
    for (const s of all) s.kill();
    await within(Promise.all(all.map((s) => s.exited)), KILL_DEADLINE_MS * 2);
  }
}
