/**
 * `podvisor run --report FILE.html`: the restart timeline of every pod of a run as one
 * self-contained HTML page (inline style, inline SVG, no script, no request to anywhere), an
 * artifact a CI job keeps or a user attaches to a bug report.
 */
import type { RestartNotice } from '../api/records.js';
import type { ExactRun } from './timeline.js';
import type { Pod } from '../api/types.js';
import { buildTimeline } from './timeline.js';
import { renderTimelineSvg } from './timeline-svg.js';
import { TIMELINE_CSS } from './timeline-style.js';
import { formatSpan, formatTime } from './time-format.js';
import { esc } from './escape.js';

export interface ReportPod {
  /** The pod's incarnations, oldest first (a re-creation makes a new one). */
  incarnations: Pod[];
  restarts: RestartNotice[];
  /** Runs known to the ms (the statuses' times have whole seconds). */
  runs?: ExactRun[];
}

export interface ReportInput {
  pods: ReportPod[];
  /** When the run ended (epoch ms). */
  now: number;
  /** The command line, shown in the header. */
  command?: string;
}


const PAGE_CSS = `
body { margin: 24px; font: 14px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1b1f24; background: #fff; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 28px 0 6px; }
.meta { color: #57606a; margin: 0 0 12px; }
.phase-Succeeded { color: #1a7f37; } .phase-Failed { color: #cf222e; } .phase-Running { color: #0969da; }
table { border-collapse: collapse; margin-top: 10px; } th, td { text-align: left; padding: 3px 10px 3px 0; vertical-align: top; }
th { color: #57606a; font-weight: 600; border-bottom: 1px solid #d0d7de; }
.scroll { overflow-x: auto; }
`;

/** The report page. */
export function renderReportHtml(input: ReportInput): string {
  const parts: string[] = [];
  input.pods.forEach((p, i) => {
    const current = p.incarnations[p.incarnations.length - 1];
    if (!current) return;
    const tl = buildTimeline({ pods: p.incarnations, restarts: p.restarts, runs: p.runs ?? [], now: input.now });
    const name = `${current.metadata.namespace ?? 'default'}/${current.metadata.name}`;
    const phase = current.status?.phase ?? '';
    parts.push(`<section class="pod" data-pod="${esc(name)}"><h2>pod/${esc(current.metadata.name ?? "")} <span class="phase-${esc(phase)}">${esc(phase)}</span></h2>`);
    parts.push(`<p class="meta">namespace ${esc(current.metadata.namespace ?? 'default')}; restarts: ${tl.counts.container} container, ${tl.counts.pod} pod in place, ${tl.counts.recreate} re-created; ${formatSpan(tl.end - tl.start)} from ${esc(formatTime(tl.start, true))}</p>`);
    parts.push(`<div class="scroll">${renderTimelineSvg(tl, { id: `timeline-${i}`, width: 1100 })}</div>`);
    if (p.restarts.length > 0) {
      parts.push('<table><thead><tr><th>time</th><th>level</th><th>container</th><th>cause</th><th>back-off</th><th>took</th></tr></thead><tbody>');
      for (const n of p.restarts) {
        parts.push(`<tr><td>${esc(formatTime(n.time))}</td><td>${n.level === 'pod' ? 'pod in place' : n.level === 'recreate' ? 're-created' : 'container'}</td><td>${esc(n.container ?? '')}</td><td>${esc(n.description)}</td><td>${n.backoffMs !== undefined ? esc(formatSpan(n.backoffMs)) : ''}</td><td>${n.latencyMs !== undefined ? esc(formatSpan(n.latencyMs)) : ''}</td></tr>`);
      }
      parts.push('</tbody></table>');
    }
    parts.push('</section>');
  });
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>podvisor restart report</title><style>${PAGE_CSS}${TIMELINE_CSS}</style></head>
<body><header><h1>podvisor restart report</h1><p class="meta">${input.command ? `<code>${esc(input.command)}</code>; ` : ''}ended ${esc(formatTime(input.now, true))}</p></header>
<main>${parts.join('\n')}</main></body></html>
`;
}
