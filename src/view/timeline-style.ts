/**
 * The timeline's stylesheet, as text: the web UI and the self-contained report both inline it.
 * Colours keep a contrast of at least 3:1 against the lane background (WCAG 1.4.11 for
 * graphics); every colour also has a text label (legend, exit labels, titles).
 */
export const TIMELINE_CSS = `
.pv-timeline { font: 12px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: #fff; color: #1b1f24; }
.pv-timeline .pv-lane-0 { fill: #f6f8fa; }
.pv-timeline .pv-lane-1 { fill: #ffffff; }
.pv-timeline .pv-lane-label { fill: #1b1f24; font-weight: 600; }
.pv-timeline .pv-lane-kind { fill: #57606a; font-weight: 400; }
.pv-timeline .pv-grid { stroke: #d0d7de; stroke-width: 1; }
.pv-timeline .pv-tick { fill: #57606a; font-size: 11px; }
.pv-timeline .pv-run:focus { outline: none; }
.pv-timeline .pv-run:focus rect, .pv-timeline .pv-run:hover rect { stroke: #1b1f24; stroke-width: 2; }
.pv-timeline .pv-run-running rect, .pv-legend .pv-run-running rect { fill: #0969da; }
.pv-timeline .pv-run-completed rect, .pv-legend .pv-run-completed rect { fill: #1a7f37; }
.pv-timeline .pv-run-failed rect, .pv-legend .pv-run-failed rect { fill: #cf222e; }
.pv-timeline .pv-run-signal rect, .pv-legend .pv-run-signal rect { fill: #bc4c00; }
.pv-timeline .pv-run-oom rect, .pv-legend .pv-run-oom rect { fill: #8250df; }
.pv-timeline .pv-run-killed rect, .pv-legend .pv-run-killed rect { fill: #6e7781; }
.pv-timeline .pv-run-stopped rect, .pv-legend .pv-run-stopped rect { fill: #424a53; }
.pv-timeline .pv-exit { fill: #1b1f24; }
.pv-timeline .pv-exit-label { fill: #1b1f24; font-size: 10px; }
.pv-timeline .pv-wait-bg { fill: #fff8c5; }
.pv-timeline .pv-wait-line { stroke: #9a6700; stroke-width: 2; }
.pv-legend .pv-wait rect { fill: url(#pv-hatch); stroke: #9a6700; }
.pv-timeline .pv-wait-label { fill: #1b1f24; font-size: 10px; font-weight: 600; }
.pv-timeline .pv-band rect { fill-opacity: 0.22; stroke-width: 1.5; }
.pv-timeline .pv-band-pod rect, .pv-legend .pv-band-pod rect { fill: #d4a72c; stroke: #9a6700; }
.pv-timeline .pv-band-recreate rect, .pv-legend .pv-band-recreate rect { fill: #8250df; stroke: #6639ba; }
.pv-timeline .pv-band:focus rect, .pv-timeline .pv-band:hover rect { fill-opacity: 0.4; }
.pv-timeline .pv-band-pod .pv-band-stem { stroke: #9a6700; stroke-width: 1.5; }
.pv-timeline .pv-band-recreate .pv-band-stem { stroke: #6639ba; stroke-width: 1.5; }
.pv-timeline .pv-band-label { fill: #1b1f24; font-size: 11px; font-weight: 600; }
.pv-timeline .pv-legend-text { fill: #1b1f24; }
`;
