// The peers table of `npm run bench -- --peers`: printed with each figure's ratio to the
// floor's, checked against issue 16's targets, and written into the README between its
// `<!-- peers:begin -->` and `<!-- peers:end -->` markers.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const f = (x, d = 2) => (x === undefined ? '-' : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(d));
const ratio = (x, floor) => (floor > 0 ? ` (${(x / floor).toFixed(1)}×)` : '');

/** Markdown rows (and the header) of a peers result. */
export function peersTable(r) {
  const floor = r.peers.find((p) => p.key === 'floor');
  const sz = r.sizes;
  const rows = [
    `| | restart net p50 / p99 ms (× floor p50) | idle ${sz.sleepers}: RSS MB, PSS MB, CPU % (× floor) | storm ${sz.storm}: all back ms (× floor), first back ms |`,
    '|---|---|---|---|',
  ];
  for (const p of r.peers) {
    const isFloor = p === floor;
    const name = `${p.name}${p.version ? ` ${p.version.replace(/^[^\d]*/, '')}` : ''}`;
    rows.push(`| ${name} | ${f(p.restart.p50Ms)} / ${f(p.restart.p99Ms)}${isFloor ? '' : ratio(p.restart.p50Ms, floor?.restart.p50Ms)} | ${f(p.idle.rssMb)}, ${f(p.idle.pssMb)}, ${f(p.idle.cpuPct)}${isFloor ? '' : ratio(p.idle.cpuPct, floor?.idle.cpuPct)} | ${f(p.storm.allMs)}${isFloor ? '' : ratio(p.storm.allMs, floor?.storm.allMs)}, ${f(p.storm.firstMs)} |`);
  }
  return rows;
}

/** Issue 16's targets, each with whether this run met it. */
export function targets(r) {
  const by = (k) => r.peers.find((p) => p.key === k);
  const floor = by('floor');
  const pm2 = by('pm2');
  const out = [];
  for (const k of ['podvisorRun', 'podvisorServe']) {
    const p = by(k);
    if (!p || !floor) continue;
    out.push([`${p.name}: restart net p50 <= 1.5x the floor's`, p.restart.p50Ms <= 1.5 * floor.restart.p50Ms, `${f(p.restart.p50Ms)} vs ${f(1.5 * floor.restart.p50Ms)} ms`]);
    if (pm2) out.push([`${p.name}: restart net p50 <= 1/2 PM2's`, p.restart.p50Ms <= 0.5 * pm2.restart.p50Ms, `${f(p.restart.p50Ms)} vs ${f(0.5 * pm2.restart.p50Ms)} ms`]);
    out.push([`${p.name}: storm all back <= 1.2x the floor's`, p.storm.allMs <= 1.2 * floor.storm.allMs, `${f(p.storm.allMs)} vs ${f(1.2 * floor.storm.allMs)} ms`]);
    out.push([`${p.name}: storm first back <= 15 ms`, p.storm.firstMs <= 15, `${f(p.storm.firstMs)} ms`]);
    out.push([`${p.name}: idle CPU <= 2x the floor's`, p.idle.cpuPct <= 2 * Math.max(floor.idle.cpuPct, 0.01), `${f(p.idle.cpuPct)} vs ${f(2 * floor.idle.cpuPct)} %`]);
    if (pm2) out.push([`${p.name}: RSS <= PM2's`, p.idle.rssMb <= pm2.idle.rssMb, `${f(p.idle.rssMb)} vs ${f(pm2.idle.rssMb)} MB`]);
  }
  const big = r.idle1000;
  if (big && !big.error) out.push([`serve, ${big.containers} idle containers: RSS + monitors' PSS < 100 MB`, big.totalMb < 100, `${f(big.totalMb)} MB (daemon ${f(big.daemonRssMb)} RSS + ${big.monitors} monitor processes ${f(big.monitorsPssMb)} PSS)`]);
  return out;
}

export function printPeers(r) {
  const m = r.machine;
  console.log(`machine: ${m.cpus} x ${m.model}, ${m.memGiB} GiB, Node ${m.node}${m.root ? ', as root' : ''}, ${r.date.slice(0, 10)}`);
  console.log(`the command alone (back to back in a sh loop): ${f(r.commandP50Ms)} ms a start, subtracted from every gap`);
  for (const row of peersTable(r)) console.log(row);
  for (const [what, ok, detail] of targets(r)) console.log(`${ok ? 'met   ' : 'MISSED'}  ${what}: ${detail}`);
  if (r.idle1000?.error) console.log(`serve with ${r.sizes.idle1000} idle containers: failed, ${r.idle1000.error}`);
  for (const n of r.notes) console.log(`note: ${n}`);
}

/** Rewrites the README's peers section from `r`; false when the markers are missing. */
export function writeReadme(r, file = 'README.md') {
  if (!existsSync(file)) return false;
  const text = readFileSync(file, 'utf8');
  const begin = '<!-- peers:begin -->';
  const end = '<!-- peers:end -->';
  const a = text.indexOf(begin);
  const b = text.indexOf(end);
  if (a < 0 || b < a) return false;
  const m = r.machine;
  const body = [
    begin,
    `Latest \`npm run bench -- --peers\`: ${m.cpus} x ${m.model}, ${m.memGiB} GiB, Node ${m.node}${m.root ? ', as root' : ''}, ${r.date.slice(0, 10)}${r.sizes.sleepers < 300 ? ' (--quick sizes)' : ''}.`,
    `Each gap has the command's own runtime (${f(r.commandP50Ms)} ms, run back to back by a \`sh\` loop) taken off.`,
    '',
    ...peersTable(r),
    '',
    ...targets(r).map(([what, ok, detail]) => `- ${ok ? 'met' : '**missed**'}: ${what} (${detail})`),
    end,
  ].join('\n');
  writeFileSync(file, text.slice(0, a) + body + text.slice(b + end.length));
  return true;
}
