/**
 * Terminal rendering in kubectl's style: `kubectl get pods` rows and tables, event and restart
 * lines of the live view, coloured on a TTY. The column values themselves come from
 * `api/printers.ts`, which the API server's Tables use too.
 */
import { podStatusColumn, readyColumn, restartsColumn, shortAge } from '../api/printers.js';
import type { Pod } from '../api/types.js';
import type { RecordedEvent, RestartNotice } from '../api/records.js';

/** ANSI colours, or none. */
export interface Palette {
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  cyan(s: string): string;
  magenta(s: string): string;
  dim(s: string): string;
  bold(s: string): string;
}

const wrap = (code: string) => (s: string): string => `\u001b[${code}m${s}\u001b[0m`;

/** Colours when `enabled` (a TTY without NO_COLOR), identity otherwise. */
export function palette(enabled: boolean): Palette {
  if (!enabled) {
    const id = (s: string): string => s;
    return { red: id, green: id, yellow: id, cyan: id, magenta: id, dim: id, bold: id };
  }
  return { red: wrap('31'), green: wrap('32'), yellow: wrap('33'), cyan: wrap('36'), magenta: wrap('35'), dim: wrap('2'), bold: wrap('1') };
}

/** One `kubectl get pods` row. */
export function podRow(pod: Pod, now: number): string[] {
  const created = pod.metadata.creationTimestamp ? Date.parse(pod.metadata.creationTimestamp) : now;
  return [pod.metadata.name ?? '', readyColumn(pod), podStatusColumn(pod), restartsColumn(pod, now), shortAge(now - created)];
}

/** Pads columns like kubectl's tabwriter (3 spaces between columns). */
export function formatTable(rows: string[][], widths?: number[]): string[] {
  const w = [...(widths ?? [])];
  for (const r of rows) r.forEach((c, i) => (w[i] = Math.max(w[i] ?? 0, c.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd((w[i] ?? 0) + 3))).join(''));
}

/** Colours a STATUS value. */
export function colourStatus(p: Palette, s: string): string {
  if (s === 'Running' || s === 'Completed' || s === 'Succeeded') return p.green(s);
  if (/Error|BackOff|Failed|OOMKilled|Err/.test(s)) return p.red(s);
  if (s.startsWith('Init:') || s === 'Pending' || s === 'ContainerCreating' || s === 'PodInitializing' || s === 'Terminating' || s === 'RestartingAllContainers') return p.yellow(s);
  return s;
}

/** An event line: `12:00:03  Warning  BackOff  pod/web [c]: message`. */
export function eventLine(p: Palette, e: RecordedEvent): string {
  const time = new Date(e.lastTimestamp).toISOString().slice(11, 19);
  const obj = `pod/${e.involvedObject.name}${e.container ? ` [${e.container}]` : ''}`;
  const type = e.type === 'Warning' ? p.yellow('Warning') : p.dim('Normal ');
  return `${p.dim(time)}  ${type}  ${p.bold(e.reason)}  ${obj}: ${e.message}`;
}

/** A restart line, naming the level and the cause. */
export function restartLine(p: Palette, n: RestartNotice): string {
  const time = new Date(n.time).toISOString().slice(11, 19);
  if (n.level === 'container') return `${p.dim(time)}  ${p.cyan('RESTART container')}  pod/${n.pod} [${n.container ?? ''}] #${n.restartCount ?? ''}: ${n.description}`;
  if (n.level === 'pod') return `${p.dim(time)}  ${p.magenta('RESTART pod in place')}  pod/${n.pod}: ${n.description}`;
  return `${p.dim(time)}  ${p.red('RE-CREATE pod')}  pod/${n.pod}: ${n.description}`;
}
