// The process table as `npm run bench -- --peers` reads it: who belongs to a supervisor, and
// what its processes cost (CPU ticks, RSS, PSS), from /proc.
import { readFileSync, readdirSync } from 'node:fs';

/** pid -> { ppid, cmd } of every process with a command line (kernel threads left out). */
export function processTable() {
  const t = new Map();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const cmd = readFileSync(`/proc/${e}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
      if (!cmd) continue;
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      t.set(Number(e), { ppid, cmd });
    } catch {
      // exited meanwhile
    }
  }
  return t;
}

/**
 * A supervisor's own processes: the trees under `roots` and under every process whose command
 * line holds `marker` (monitors that left the tree, such as conmon), less the programs it runs
 * (`isWorkload`) and what they started.
 */
export function ownProcesses(table, roots, marker, isWorkload) {
  const children = new Map();
  for (const [pid, p] of table) {
    if (!children.has(p.ppid)) children.set(p.ppid, []);
    children.get(p.ppid).push(pid);
  }
  const own = new Map();
  const queue = [...roots, ...(marker ? [...table].filter(([, p]) => p.cmd.includes(marker)).map(([pid]) => pid) : [])];
  while (queue.length > 0) {
    const pid = queue.pop();
    const p = table.get(pid);
    if (p === undefined || own.has(pid) || isWorkload(p)) continue;
    own.set(pid, p);
    queue.push(...(children.get(pid) ?? []));
  }
  return own;
}

/** CPU ticks (user + system) per pid, and the summed RSS and PSS (kB) of `procs`. */
export function usage(procs) {
  const ticks = new Map();
  let rssKb = 0;
  let pssKb = 0;
  for (const pid of procs.keys()) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks.set(pid, Number(f[11]) + Number(f[12]));
      const sm = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
      rssKb += Number(/^Rss:\s+(\d+)/m.exec(sm)?.[1] ?? 0);
      pssKb += Number(/^Pss:\s+(\d+)/m.exec(sm)?.[1] ?? 0);
    } catch {
      // exited meanwhile
    }
  }
  return { ticks, rssKb, pssKb };
}
