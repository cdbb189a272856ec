/** The restart timeline as a value: runs, waits and bands from restart records and statuses. */
import { describe, expect, it } from 'vitest';
import type { RestartNotice } from '../../src/api/records.js';
import type { Pod } from '../../src/api/types.js';
import { buildTimeline } from '../../src/view/timeline.js';
import { renderTimelineSvg } from '../../src/view/timeline-svg.js';
import { formatSpan, niceStep } from '../../src/view/time-format.js';

const T0 = Date.parse('2026-12-07T10:00:00Z');
const iso = (ms: number): string => new Date(T0 + ms).toISOString().replace(/\.\d+Z$/, 'Z');

function pod(uid: string, statuses: Pod['status']): Pod {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name: 'p', namespace: 'default', uid, creationTimestamp: iso(0) },
    spec: { containers: [{ name: 'main' }], initContainers: [{ name: 'init' }, { name: 'side', restartPolicy: 'Always' }] },
    status: statuses,
  } as Pod;
}

const base = { pod: 'p', namespace: 'default', podUid: 'u1' };

describe('buildTimeline', () => {
  it('a container restart: the ended run with what decided it, the back-off, and the current run from the status', () => {
    const restarts: RestartNotice[] = [{
      ...base, time: T0 + 12_300, level: 'container', container: 'main', trigger: 'restartPolicyRules[1]', description: 'exit code 3 matched restartPolicyRules[1] (Restart)',
      exitCode: 3, backoffMs: 10_000, ended: { container: 'main', exitCode: 3, reason: 'Error', startedAt: T0 + 1_250, finishedAt: T0 + 2_250, containerID: 'host://a' },
    }];
    const p = pod('u1', { containerStatuses: [{ name: 'main', image: '', imageID: '', ready: true, restartCount: 1, containerID: 'host://b', state: { running: { startedAt: iso(12_300) } }, lastState: { terminated: { exitCode: 3, reason: 'Error', startedAt: iso(1_250), finishedAt: iso(2_250), containerID: 'host://a' } } }] });
    const tl = buildTimeline({ pods: [p], restarts, now: T0 + 60_000 });
    const main = tl.lanes.find((l) => l.container === 'main');
    expect(tl.lanes.map((l) => `${l.container}:${l.kind}`)).toEqual(['init:init', 'side:sidecar', 'main:container']);
    // The record's ms win over the status' whole seconds; the same run is not drawn twice.
    expect(main?.runs).toEqual([
      expect.objectContaining({ start: T0 + 1_250, end: T0 + 2_250, outcome: 'failed', exitCode: 3, decidedBy: 'exit code 3 matched restartPolicyRules[1] (Restart)' }),
      expect.objectContaining({ start: T0 + 12_000, outcome: 'running' }),
    ]);
    expect(main?.waits).toEqual([{ start: T0 + 2_250, end: T0 + 12_000, backoffMs: 10_000 }]);
    expect(tl.end).toBe(T0 + 60_000); // something runs: the timeline reaches now
    expect(tl.counts).toEqual({ container: 1, pod: 0, recreate: 0 });
  });

  it('a start known to the second that falls before the previous exit known to the ms comes after it', () => {
    const restarts: RestartNotice[] = [{
      ...base, time: T0 + 12_500, level: 'container', container: 'main', trigger: 'policy', description: 'exit code 1, restartPolicy Always',
      ended: { container: 'main', exitCode: 1, reason: 'Error', startedAt: T0 + 11_100, finishedAt: T0 + 12_400, containerID: 'host://a' },
    }];
    const p = pod('u1', { containerStatuses: [{ name: 'main', image: '', imageID: '', ready: true, restartCount: 1, containerID: 'host://b', state: { running: { startedAt: iso(12_450) } }, lastState: {} }] });
    const main = buildTimeline({ pods: [p], restarts, now: T0 + 20_000 }).lanes.find((l) => l.container === 'main');
    expect(main?.runs.map((r) => [r.start, r.end])).toEqual([[T0 + 11_100, T0 + 12_400], [T0 + 12_400, undefined]]);
  });

  it('an in-place restart: a band from the reset to its end; the source exit ended by itself, the rest were killed', () => {
    const restarts: RestartNotice[] = [{
      ...base, time: T0 + 5_000, level: 'pod', trigger: 'restartPolicyRules', rule: 0, description: 'container main exited with code 42 matching restartPolicyRules[0]', exitCode: 42, latencyMs: 900,
      removed: [
        { container: 'init', exitCode: 0, reason: 'Completed', startedAt: T0, finishedAt: T0 + 1_000 },
        { container: 'side', exitCode: 137, reason: 'Error', signal: 'SIGKILL', startedAt: T0 + 1_000, finishedAt: T0 + 4_200 },
        { container: 'main', exitCode: 42, reason: 'Error', startedAt: T0 + 1_100, finishedAt: T0 + 4_000 },
      ],
    }];
    const tl = buildTimeline({ pods: [pod('u1', {})], restarts, now: T0 + 5_000 });
    expect(tl.bands).toEqual([{ level: 'pod', start: T0 + 4_100, end: T0 + 5_000, trigger: 'restartPolicyRules[0]', description: restarts[0]!.description }]);
    const byLane = Object.fromEntries(tl.lanes.map((l) => [l.container, l.runs.map((r) => r.outcome)]));
    expect(byLane).toEqual({ init: ['completed'], side: ['killed'], main: ['failed'] });
    expect(tl.lanes.find((l) => l.container === 'main')?.runs[0]?.decidedBy).toContain('restartPolicyRules[0]');
  });

  it("a re-creation: a band until the new pod's first run; runs of both pods on the same lanes", () => {
    const restarts: RestartNotice[] = [{
      ...base, time: T0 + 3_000, level: 'recreate', trigger: 'budget', description: 'container main exceeded its restart budget',
      removed: [
        { container: 'side', exitCode: 143, reason: 'Error', startedAt: T0 + 500, finishedAt: T0 + 2_600 },
        { container: 'main', exitCode: 1, reason: 'Error', startedAt: T0 + 600, finishedAt: T0 + 2_500 },
      ],
    }];
    const p2 = pod('u2', { containerStatuses: [{ name: 'main', image: '', imageID: '', ready: true, restartCount: 0, state: { running: { startedAt: iso(4_000) } }, lastState: {} }] });
    const tl = buildTimeline({ pods: [pod('u1', {}), p2], restarts, runs: [{ container: 'main', podUid: 'u2', startedAt: T0 + 4_321 }], now: T0 + 9_000 });
    expect(tl.bands).toEqual([expect.objectContaining({ level: 'recreate', start: T0 + 2_600, end: T0 + 4_321, trigger: 'budget' })]);
    const main = tl.lanes.find((l) => l.container === 'main');
    expect(main?.runs.map((r) => [r.outcome, r.podUid, r.start])).toEqual([['failed', 'u1', T0 + 600], ['running', 'u2', T0 + 4_321]]);
    expect(tl.lanes.find((l) => l.container === 'side')?.runs.map((r) => r.outcome)).toEqual(['killed']);
  });

  it('a re-creation with the stop\'s time: what ended before it ended by itself, even by a signal', () => {
    const restarts: RestartNotice[] = [{
      ...base, time: T0 + 60_000, level: 'recreate', trigger: 'budget', description: 'container main exceeded its restart budget', latencyMs: 2_000,
      removed: [
        { container: 'side', exitCode: 143, reason: 'Error', startedAt: T0 + 500, finishedAt: T0 + 59_000 },
        { container: 'main', exitCode: 139, reason: 'Error', signal: 'SIGSEGV', startedAt: T0 + 600, finishedAt: T0 + 57_900 },
      ],
    }];
    const tl = buildTimeline({ pods: [pod('u1', {})], restarts, now: T0 + 61_000 });
    expect(tl.bands[0]).toMatchObject({ level: 'recreate', start: T0 + 58_000 });
    expect(tl.lanes.find((l) => l.container === 'main')?.runs.map((r) => [r.outcome, r.signal, r.decidedBy])).toEqual([['signal', 'SIGSEGV', 'container main exceeded its restart budget']]);
    expect(tl.lanes.find((l) => l.container === 'side')?.runs.map((r) => r.outcome)).toEqual(['killed']);
  });

  it('an exit in the very ms the stop or reset began: the source ended by itself, the others were killed', () => {
    const recreate: RestartNotice = {
      ...base, time: T0 + 10_011, level: 'recreate', trigger: 'budget', container: 'main', description: 'container main exceeded its restart budget', latencyMs: 11,
      removed: [
        { container: 'side', exitCode: 143, reason: 'Error', startedAt: T0 + 500, finishedAt: T0 + 10_000 },
        { container: 'main', exitCode: 42, reason: 'Error', startedAt: T0 + 600, finishedAt: T0 + 10_000 },
      ],
    };
    const tl = buildTimeline({ pods: [pod('u1', {})], restarts: [recreate], now: T0 + 11_000 });
    const byLane = Object.fromEntries(tl.lanes.map((l) => [l.container, l.runs.map((r) => r.outcome)]));
    expect(byLane).toEqual({ init: [], side: ['killed'], main: ['failed'] });
    expect(tl.lanes.find((l) => l.container === 'main')?.runs[0]?.decidedBy).toBe('container main exceeded its restart budget');

    const reset: RestartNotice = {
      ...base, time: T0 + 5_000, level: 'pod', trigger: 'restartPolicyRules', rule: 0, description: 'container main exited with code 42 matching restartPolicyRules[0]', exitCode: 42, latencyMs: 1_000,
      removed: [
        { container: 'side', exitCode: 137, reason: 'Error', startedAt: T0 + 500, finishedAt: T0 + 4_000 },
        { container: 'main', exitCode: 42, reason: 'Error', startedAt: T0 + 600, finishedAt: T0 + 4_000 },
      ],
    };
    const tl2 = buildTimeline({ pods: [pod('u1', {})], restarts: [reset], now: T0 + 6_000 });
    expect(Object.fromEntries(tl2.lanes.map((l) => [l.container, l.runs.map((r) => r.outcome)]))).toEqual({ init: [], side: ['killed'], main: ['failed'] });
  });

  it("a sidecar ended by a signal when its pod ended was stopped; while the pod runs, or a crash, it is a signal", () => {
    const sidecarEnd = (phase: string, exitCode: number): Pod => pod('u1', {
      phase: phase as 'Succeeded',
      initContainerStatuses: [{ name: 'side', image: '', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode, reason: 'Error', startedAt: iso(1_000), finishedAt: iso(9_000) } }, lastState: {} }],
      containerStatuses: [{ name: 'main', image: '', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed', startedAt: iso(1_000), finishedAt: iso(8_000) } }, lastState: {} }],
    });
    const outcomes = (p: Pod): Record<string, string[]> => Object.fromEntries(buildTimeline({ pods: [p], restarts: [], now: T0 + 10_000 }).lanes.map((l) => [l.container, l.runs.map((r) => r.outcome)]));
    expect(outcomes(sidecarEnd('Succeeded', 143))).toEqual({ init: [], side: ['stopped'], main: ['completed'] });
    expect(outcomes(sidecarEnd('Failed', 137))).toEqual({ init: [], side: ['stopped'], main: ['completed'] });
    expect(outcomes(sidecarEnd('Running', 143))).toEqual({ init: [], side: ['signal'], main: ['completed'] });
    expect(outcomes(sidecarEnd('Succeeded', 1))).toEqual({ init: [], side: ['failed'], main: ['completed'] });
    const svg = renderTimelineSvg(buildTimeline({ pods: [sidecarEnd('Succeeded', 143)], restarts: [], now: T0 + 10_000 }), { width: 960 });
    expect(svg).toContain('side: stopped as the pod ended');
    expect(svg).toContain('>stopped at pod end</text>');
    // The exit label at the right edge stays inside the picture.
    expect(svg).toMatch(/<text x="958\.0" y="[\d.]+" text-anchor="end" class="pv-exit-label">SIGTERM<\/text>/);
    // The legend wraps to a second row rather than run past the width.
    const xs = [...svg.matchAll(/<text x="([\d.]+)" y="[\d.]+" class="pv-legend-text">([^<]*)</g)].map((m) => Number(m[1]) + (m[2] ?? '').length * 6.6);
    expect(Math.max(...xs)).toBeLessThanOrEqual(960);
    expect(svg.match(/class="pv-legend-text"/g)).toHaveLength(10);
    expect(new Set([...svg.matchAll(/<text x="[\d.]+" y="([\d.]+)" class="pv-legend-text">/g)].map((m) => m[1])).size).toBe(2);
    expect(renderTimelineSvg(buildTimeline({ pods: [sidecarEnd('Running', 143)], restarts: [], now: T0 + 10_000 }), { width: 960 })).not.toContain('stopped at pod end');
  });
});

describe('renderTimelineSvg', () => {
  it('draws a bar per run in its lane, exits marked, bands across all lanes; a zoomed window clips', () => {
    const restarts: RestartNotice[] = [{
      ...base, time: T0 + 5_000, level: 'pod', trigger: 'api', description: 'restart requested through the API', latencyMs: 500,
      removed: [{ container: 'main', exitCode: 137, reason: 'Error', startedAt: T0, finishedAt: T0 + 4_600 }],
    }];
    const p = pod('u1', { containerStatuses: [{ name: 'main', image: '', imageID: '', ready: true, restartCount: 0, state: { running: { startedAt: iso(5_000) } }, lastState: {} }] });
    const tl = buildTimeline({ pods: [p], restarts, now: T0 + 10_000 });
    const svg = renderTimelineSvg(tl, { width: 800 });
    expect(svg.match(/class="pv-run /g)).toHaveLength(2);
    expect(svg.match(/data-level="pod"/g)).toHaveLength(1);
    expect(svg).toContain('SIGKILL');
    const zoomed = renderTimelineSvg(tl, { from: T0 + 6_000, to: T0 + 10_000, width: 800 });
    expect(zoomed.match(/class="pv-run /g)).toHaveLength(1); // the first run ended before the window
    expect(zoomed.match(/data-level="pod"/g)).toBeNull();
  });

  it('axis steps and spans from seconds to days', () => {
    expect(niceStep(10_000, 10)).toBe(1_000);
    expect(niceStep(3 * 86_400_000, 6)).toBe(43_200_000);
    expect(formatSpan(450)).toBe('450ms');
    expect(formatSpan(90_000)).toBe('1m30s');
    expect(formatSpan(26 * 3_600_000)).toBe('1d2h');
  });
});
