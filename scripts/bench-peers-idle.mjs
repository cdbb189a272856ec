// Issue 16's memory goal: 1000 idle containers in one `serve` (pods of 10, created through the
// API), podvisor's own RSS plus its monitors' PSS (conmon, spares).
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { peers, until } from './bench-peers-adapters.mjs';
import { ownProcesses, processTable, usage } from './bench-procs.mjs';

export async function idle1000(dir, n, progress) {
  const serve = peers.find((p) => p.key === 'podvisorServe');
  const sdir = join(dir, 's');
  mkdirSync(sdir, { recursive: true });
  const programs = Array.from({ length: n }, (_, i) => ({ id: `s${i}`, script: `: PVB; echo $$ > ${join(sdir, `s${i}`)}; exec sleep 86398` }));
  const h = await serve.start(programs, dir, { perPod: 10 });
  try {
    await until(`${n} containers run`, () => {
      const k = readdirSync(sdir).length;
      progress(`podvisor serve: ${k}/${n} idle containers run`);
      return k === n;
    }, 600_000);
    await new Promise((r) => setTimeout(r, 5000));
    const own = ownProcesses(processTable(), h.roots, h.marker, (p) => p.cmd === 'sleep 86398' || p.cmd.includes(': PVB;'));
    const daemon = usage(new Map([[h.roots[0], undefined]]));
    const monitors = usage(new Map([...own].filter(([pid]) => pid !== h.roots[0])));
    return { containers: n, daemonRssMb: daemon.rssKb / 1024, monitorsPssMb: monitors.pssKb / 1024, monitors: own.size - 1, totalMb: (daemon.rssKb + monitors.pssKb) / 1024 };
  } finally {
    progress('podvisor serve: deleting the idle pods');
    await h.stop();
  }
}
