/**
 * Draws a {@link Timeline} as one SVG document (a string): the web UI puts it in the pod page
 * and re-draws it for every zoom, `podvisor run --report` writes it into its HTML file. Every
 * mark carries a `<title>` (the hover text, and the accessible name) and `data-` attributes
 * that say what it is (`data-lane`, `data-outcome`, `data-level`).
 */
import type { Timeline, TimelineBand, TimelineRun, TimelineWait } from './timeline.js';
import { formatSpan, formatTime, niceStep } from './time-format.js';
import { esc } from './escape.js';

export interface SvgOptions {
  /** The window drawn (epoch ms); default the whole timeline. */
  from?: number;
  to?: number;
  /** Width in px (default 960). */
  width?: number;
  /** The `id` of the `<svg>` (for `aria` references when several are on a page). */
  id?: string;
}

export const LABEL_W = 168;
const BAND_ROW = 16;
const AXIS_H = 28 + 2 * BAND_ROW;
const LANE_H = 40;
const BAR_H = 16;
export const PAD_R = 16;
const LEGEND_H = 30;


/** The short label of an exit: `OOMKilled`, `SIGKILL`, `exit 3`. */
export function exitLabel(r: TimelineRun): string {
  if (r.outcome === 'running') return 'running';
  if (r.reason === 'OOMKilled') return 'OOMKilled';
  if (r.signal !== undefined) return r.signal;
  return r.exitCode === undefined ? 'exited' : `exit ${r.exitCode}`;
}

const OUTCOME_TEXT: Record<TimelineRun['outcome'], string> = {
  running: 'running', completed: 'completed', failed: 'failed', oom: 'out of memory', signal: 'ended by a signal', killed: 'killed by a pod-level restart', stopped: 'stopped as the pod ended',
};

function runTitle(lane: string, r: TimelineRun, now: number): string {
  const lines = [`${lane}: ${OUTCOME_TEXT[r.outcome]}`, `started ${formatTime(r.start)}`];
  if (r.end !== undefined) lines.push(`ended ${formatTime(r.end)} after ${formatSpan(r.end - r.start)}`, `${exitLabel(r)}${r.reason ? ` (${r.reason})` : ''}`);
  else lines.push(`running for ${formatSpan(now - r.start)}`);
  if (r.decidedBy) lines.push(`decided: ${r.decidedBy}`);
  if (r.containerID) lines.push(r.containerID);
  return lines.join('\n');
}

/** The SVG of a timeline. */
export function renderTimelineSvg(tl: Timeline, opts: SvgOptions = {}): string {
  const from = opts.from ?? tl.start;
  const to = Math.max(opts.to ?? tl.end, from + 1);
  const width = Math.max(opts.width ?? 960, LABEL_W + PAD_R + 100);
  const plotW = width - LABEL_W - PAD_R;
  const lanesH = Math.max(1, tl.lanes.length) * LANE_H;
  const legend = legendLayout(tl, width);
  const height = AXIS_H + lanesH + LEGEND_H + (legend.rows - 1) * LEGEND_ROW_H;
  const x = (t: number): number => LABEL_W + ((t - from) / (to - from)) * plotW;
  const clip = (a: number, b: number): [number, number] | undefined => {
    const s = Math.max(a, from);
    const e = Math.min(b, to);
    return e < s ? undefined : [x(s), Math.max(x(e), x(s) + 2)];
  };
  const id = opts.id ?? 'timeline';
  const out: string[] = [];
  const summary = `${tl.counts.container} container restarts, ${tl.counts.pod} in-place pod restarts, ${tl.counts.recreate} re-creations, from ${formatTime(tl.start)} to ${formatTime(tl.end)}`;
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" class="pv-timeline" id="${esc(id)}" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-labelledby="${esc(id)}-t ${esc(id)}-d" data-from="${from}" data-to="${to}">`);
  out.push(`<title id="${esc(id)}-t">Restart timeline</title><desc id="${esc(id)}-d">${esc(summary)}</desc>`);
  out.push('<defs><pattern id="pv-hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" class="pv-wait-bg"/><line x1="0" y1="0" x2="0" y2="6" class="pv-wait-line"/></pattern></defs>');

  // Axis: ticks at a round step, labelled relative to the timeline's start.
  const step = niceStep(to - from, plotW / 90);
  out.push(`<g class="pv-axis">`);
  const first = Math.ceil((from - tl.start) / step) * step + tl.start;
  for (let t = first; t <= to; t += step) {
    const tx = x(t);
    out.push(`<line x1="${tx.toFixed(1)}" y1="${AXIS_H - 4}" x2="${tx.toFixed(1)}" y2="${AXIS_H + lanesH}" class="pv-grid"/>`);
    out.push(`<text x="${tx.toFixed(1)}" y="${AXIS_H - 8}" text-anchor="middle" class="pv-tick">${esc(t === tl.start ? formatTime(t, true) : `+${formatSpan(t - tl.start)}`)}</text>`);
  }
  out.push('</g>');

  // Lanes with their runs, waits and exit marks.
  tl.lanes.forEach((lane, i) => {
    const y0 = AXIS_H + i * LANE_H;
    const yBar = y0 + (LANE_H - BAR_H) / 2;
    out.push(`<g class="pv-lane" data-lane="${esc(lane.container)}" data-kind="${lane.kind}">`);
    out.push(`<rect x="0" y="${y0}" width="${width}" height="${LANE_H}" class="pv-lane-bg pv-lane-${i % 2}"/>`);
    out.push(`<text x="8" y="${y0 + LANE_H / 2 + 4}" class="pv-lane-label">${esc(lane.container)}<tspan class="pv-lane-kind"> ${lane.kind === 'container' ? '' : lane.kind}</tspan></text>`);
    for (const w of lane.waits) out.push(waitMark(w, clip, yBar));
    for (const r of lane.runs) {
      const span = clip(r.start, r.end ?? to);
      if (!span) continue;
      const [a, b] = span;
      out.push(`<g class="pv-run pv-run-${r.outcome}" data-outcome="${r.outcome}" data-start="${r.start}"${r.end !== undefined ? ` data-end="${r.end}"` : ''} tabindex="0">`);
      out.push(`<title>${esc(runTitle(lane.container, r, tl.end))}</title>`);
      out.push(`<rect x="${a.toFixed(1)}" y="${yBar}" width="${Math.max(b - a - 1, 2).toFixed(1)}" height="${BAR_H}" rx="3"/>`);
      if (r.end !== undefined && r.end >= from && r.end <= to) {
        out.push(`<path class="pv-exit" d="M${b.toFixed(1)} ${yBar - 3} l4 -5 h-8 z"/>`);
        if (b - a > 34 || lane.runs.length < 12) {
          // Centred on the exit, but kept inside the picture at its right edge.
          const label = exitLabel(r);
          const atEdge = b + label.length * 3.2 > width - 2;
          out.push(`<text x="${(atEdge ? width - 2 : b).toFixed(1)}" y="${yBar + BAR_H + 11}" text-anchor="${atEdge ? 'end' : 'middle'}" class="pv-exit-label">${esc(label)}</text>`);
        }
      }
      out.push('</g>');
    }
    out.push('</g>');
  });

  // Bands across every lane: in-place pod restarts and re-creations.
  // Their labels sit above the axis, on a second row where they would overlap.
  const rowEnds = [-Infinity, -Infinity];
  for (const b of [...tl.bands].sort((p, q) => p.start - q.start)) {
    const span = clip(b.start, b.end);
    if (!span) continue;
    const label = `${b.level === 'pod' ? '⟲' : '✚'} ${b.trigger}`;
    const row = rowEnds[0]! < span[0] ? 0 : rowEnds[1]! < span[0] ? 1 : (rowEnds[0]! <= rowEnds[1]! ? 0 : 1);
    const labelW = 8 + label.length * 6.5;
    // A label that would run off the right edge ends at its band instead.
    const atEnd = span[0] + labelW > width - 4;
    rowEnds[row] = atEnd ? span[0] : span[0] + labelW;
    out.push(bandMark(b, span, label, row, lanesH, atEnd));
  }

  // Legend.
  const ly = AXIS_H + lanesH + 20;
  out.push('<g class="pv-legend" aria-hidden="true">');
  for (const it of legend.items) {
    const y = ly + it.row * LEGEND_ROW_H;
    out.push(`<g class="${it.cls}"><rect x="${it.x}" y="${y - 10}" width="12" height="12" rx="2"/></g><text x="${it.x + 16}" y="${y}" class="pv-legend-text">${it.text}</text>`);
  }
  out.push('</g></svg>');
  return out.join('');
}

const LEGEND_ROW_H = 18;

/** The legend's entries, wrapped to the width: every outcome, the wait and the bands ("stopped" only when drawn). */
function legendLayout(tl: Timeline, width: number): { items: { cls: string; text: string; x: number; row: number }[]; rows: number } {
  const entries: [string, string][] = [['pv-run-running', 'running'], ['pv-run-completed', 'completed'], ['pv-run-failed', 'failed'], ['pv-run-signal', 'signal'], ['pv-run-oom', 'OOMKilled'], ['pv-run-killed', 'killed by a pod restart']];
  if (tl.lanes.some((l) => l.runs.some((r) => r.outcome === 'stopped'))) entries.push(['pv-run-stopped', 'stopped at pod end']);
  entries.push(['pv-wait', 'back-off'], ['pv-band-pod', 'pod restart in place'], ['pv-band-recreate', 're-created']);
  const items: { cls: string; text: string; x: number; row: number }[] = [];
  let lx = 8;
  let row = 0;
  for (const [cls, text] of entries) {
    const w = 22 + text.length * 6.6;
    if (lx > 8 && lx + w > width) {
      row++;
      lx = 8;
    }
    items.push({ cls, text, x: lx, row });
    lx += w;
  }
  return { items, rows: row + 1 };
}

function waitMark(w: TimelineWait, clip: (a: number, b: number) => [number, number] | undefined, yBar: number): string {
  const span = clip(w.start, w.end);
  if (!span) return '';
  const [a, b] = span;
  const len = w.backoffMs !== undefined ? formatSpan(w.backoffMs) : formatSpan(w.end - w.start);
  const label = b - a > 44 ? `<text x="${((a + b) / 2).toFixed(1)}" y="${yBar + BAR_H / 2 + 4}" text-anchor="middle" class="pv-wait-label">${esc(len)}</text>` : '';
  return `<g class="pv-wait" data-ms="${w.end - w.start}"><title>${esc(`${w.backoffMs !== undefined ? 'back-off' : 'waiting'} ${len} (${formatTime(w.start)} to ${formatTime(w.end)})`)}</title><rect x="${a.toFixed(1)}" y="${yBar + 2}" width="${(b - a).toFixed(1)}" height="${BAR_H - 4}" fill="url(#pv-hatch)"/>${label}</g>`;
}

function bandMark(b: TimelineBand, span: [number, number], label: string, row: number, lanesH: number, atEnd: boolean): string {
  const [a, e] = span;
  const w = Math.max(e - a, 6);
  const what = b.level === 'pod' ? 'pod restarted in place' : 'pod re-created';
  const title = `${what} (${b.trigger}): ${b.description}\n${formatTime(b.start)}, took ${formatSpan(b.end - b.start)}`;
  const ty = 2 + row * BAND_ROW;
  return `<g class="pv-band pv-band-${b.level}" data-level="${b.level}" data-trigger="${esc(b.trigger)}" tabindex="0"><title>${esc(title)}</title>`
    + `<rect x="${a.toFixed(1)}" y="${AXIS_H}" width="${w.toFixed(1)}" height="${lanesH}"/>`
    + `<line x1="${a.toFixed(1)}" y1="${ty}" x2="${a.toFixed(1)}" y2="${AXIS_H}" class="pv-band-stem"/>`
    + `<text x="${(atEnd ? a - 4 : a + 4).toFixed(1)}" y="${ty + BAND_ROW - 5}"${atEnd ? ' text-anchor="end"' : ''} class="pv-band-label">${esc(label)}</text></g>`;
}
