/**
 * The restart timeline of a pod as a value: a lane per init container, sidecar and container,
 * each run a bar (how it ended, the exit, what decided the restart that followed), back-off
 * waits between runs, and bands across every lane for in-place pod restarts and re-creations.
 *
 * Built from what the API serves (the Pod objects and podvisor's restart records), so the web
 * UI (in a browser) and `podvisor run --report` (in Node) draw the same picture. Pure: the
 * current time is an argument.
 */
import type { RemovedExit, RestartNotice } from '../api/records.js';
import type { ContainerStatus, Pod } from '../api/types.js';
import { exitSignalName } from '../api/signals.js';

export type LaneKind = 'init' | 'sidecar' | 'container';

/**
 * How a run ended: `running` still runs; `completed` exit 0; `failed` exit ≠ 0; `oom`; `signal`
 * (128+N); `killed` by a pod-level restart or re-creation; `stopped`: a sidecar ended by a signal
 * when its pod ended (a sidecar is stopped after the regular containers, never left to end).
 */
export type RunOutcome = 'running' | 'completed' | 'failed' | 'oom' | 'signal' | 'killed' | 'stopped';

export interface TimelineRun {
  start: number;
  /** Undefined while it runs. */
  end?: number;
  outcome: RunOutcome;
  exitCode?: number;
  /** `SIGKILL`, … for 128+N exit codes. */
  signal?: string;
  /** `Completed`, `Error`, `OOMKilled`, … */
  reason?: string;
  /** What the exit decided (`exit code 3 matched restartPolicyRules[1] (Restart)`), when a restart followed it. */
  decidedBy?: string;
  containerID?: string;
  /** The pod UID it ran in (a re-creation starts a new one). */
  podUid?: string;
}

/** The wait between an exit and the next start of the same container. */
export interface TimelineWait {
  start: number;
  end: number;
  /** The back-off podvisor recorded (ms), when it recorded one. */
  backoffMs?: number;
}

export interface TimelineLane {
  container: string;
  kind: LaneKind;
  runs: TimelineRun[];
  waits: TimelineWait[];
}

/** An in-place restart of the pod (`pod`) or a re-creation (`recreate`), across all lanes. */
export interface TimelineBand {
  level: 'pod' | 'recreate';
  start: number;
  end: number;
  /** The trigger's label (`restartPolicyRules[0]`, `api`, `budget`, …). */
  trigger: string;
  description: string;
}

export interface Timeline {
  /** The first start (or the pod's creation), epoch ms. */
  start: number;
  /** The last thing that happened, or `now` while something runs. */
  end: number;
  lanes: TimelineLane[];
  bands: TimelineBand[];
  /** Container-level restarts, in-place pod restarts and re-creations (the three levels). */
  counts: { container: number; pod: number; recreate: number };
}

/** A run known with ms precision (the statuses' times have whole seconds), e.g. from the agent's own state. */
export interface ExactRun {
  container: string;
  podUid: string;
  startedAt: number;
  /** Undefined while it runs. */
  finishedAt?: number;
  exitCode?: number;
  reason?: string;
  containerID?: string;
}

export interface TimelineInput {
  /** The pod's incarnations (a re-creation makes a new one), oldest first; the last is current. */
  pods: readonly Pod[];
  /** podvisor's restart records of the pod name, oldest first. */
  restarts: readonly RestartNotice[];
  /** Runs known with ms precision; they refine the same runs of the statuses. */
  runs?: readonly ExactRun[];
  now: number;
}

/** Two starts closer than this are the same run when no container ID tells them apart (status times have second precision). */
const SAME_START_MS = 1500;

function ms(t: string | undefined): number | undefined {
  if (t === undefined) return undefined;
  const v = Date.parse(t);
  return Number.isNaN(v) ? undefined : v;
}

function outcomeOf(exitCode: number | undefined, reason: string | undefined, signal: string | undefined): RunOutcome {
  if (reason === 'OOMKilled') return 'oom';
  if (exitCode === 0) return 'completed';
  if (signal !== undefined || (exitCode !== undefined && exitCode > 128)) return 'signal';
  return 'failed';
}

function signalOf(exitCode: number | undefined): string | undefined {
  return exitCode === undefined ? undefined : exitSignalName(exitCode);
}

function laneKinds(pod: Pod): Map<string, LaneKind> {
  const out = new Map<string, LaneKind>();
  for (const c of pod.spec.initContainers ?? []) out.set(c.name, c.restartPolicy === 'Always' ? 'sidecar' : 'init');
  for (const c of pod.spec.containers) out.set(c.name, 'container');
  return out;
}

/** Of two readings of one instant, the one with ms (a whole second is a status' truncation). */
function preciser(a: number, b: number): number {
  const wholeA = a % 1000 === 0;
  const wholeB = b % 1000 === 0;
  if (wholeA !== wholeB) return wholeA ? b : a;
  return Math.min(a, b);
}

/** Collects runs of one container, merging the same run seen twice (a record and a status). */
class RunSet {
  readonly runs: TimelineRun[] = [];

  add(run: TimelineRun): void {
    const same = this.runs.find((r) => (r.containerID !== undefined && run.containerID !== undefined
      ? r.containerID === run.containerID
      : Math.abs(r.start - run.start) < SAME_START_MS && (r.podUid === undefined || run.podUid === undefined || r.podUid === run.podUid)));
    if (!same) {
      this.runs.push(run);
      return;
    }
    // Records carry ms precision and the decision, a status has whole seconds: the precise time
    // wins. A run seen running in one source and ended in another has ended.
    same.start = preciser(same.start, run.start);
    if (same.end === undefined && run.end !== undefined) Object.assign(same, { end: run.end, outcome: run.outcome });
    else if (same.end !== undefined && run.end !== undefined) same.end = preciser(same.end, run.end);
    if (same.outcome === 'killed' || run.outcome === 'killed') same.outcome = 'killed';
    same.exitCode ??= run.exitCode;
    same.signal ??= run.signal;
    same.reason ??= run.reason;
    same.decidedBy ??= run.decidedBy;
    same.containerID ??= run.containerID;
    same.podUid ??= run.podUid;
  }
}

function exitRun(x: RemovedExit, podUid: string, killed: boolean): TimelineRun | undefined {
  const start = x.startedAt ?? x.finishedAt;
  if (start === undefined) return undefined;
  const run: TimelineRun = { start, outcome: killed ? 'killed' : outcomeOf(x.exitCode, x.reason, x.signal), exitCode: x.exitCode, reason: x.reason, podUid };
  if (x.finishedAt !== undefined) run.end = x.finishedAt;
  const sig = x.signal ?? signalOf(x.exitCode);
  if (sig !== undefined) run.signal = sig;
  if (x.containerID !== undefined) run.containerID = x.containerID;
  return run;
}

function statusRuns(s: ContainerStatus, podUid: string | undefined): TimelineRun[] {
  const out: TimelineRun[] = [];
  for (const st of [s.lastState, s.state]) {
    const t = st.terminated;
    if (t) {
      const start = ms(t.startedAt) ?? ms(t.finishedAt);
      if (start === undefined) continue;
      const run: TimelineRun = { start, outcome: outcomeOf(t.exitCode, t.reason, undefined), exitCode: t.exitCode };
      if (podUid !== undefined) run.podUid = podUid;
      const end = ms(t.finishedAt);
      if (end !== undefined) run.end = end;
      if (t.reason !== undefined) run.reason = t.reason;
      const sig = signalOf(t.exitCode);
      if (sig !== undefined) run.signal = sig;
      if (t.containerID !== undefined && t.containerID !== '') run.containerID = t.containerID;
      out.push(run);
    }
    const r = st.running;
    if (r && st === s.state) {
      const start = ms(r.startedAt);
      if (start === undefined) continue;
      const run: TimelineRun = { start, outcome: 'running' };
      if (podUid !== undefined) run.podUid = podUid;
      if (s.containerID !== undefined && s.containerID !== '') run.containerID = s.containerID;
      out.push(run);
    }
  }
  return out;
}

/** The restart timeline of a pod from its objects and restart records. */
export function buildTimeline(input: TimelineInput): Timeline {
  const kinds = new Map<string, LaneKind>();
  for (const p of input.pods) for (const [n, k] of laneKinds(p)) if (!kinds.has(n)) kinds.set(n, k);
  const sets = new Map<string, RunSet>();
  const set = (c: string): RunSet => {
    let s = sets.get(c);
    if (!s) {
      s = new RunSet();
      sets.set(c, s);
      if (!kinds.has(c)) kinds.set(c, 'container');
    }
    return s;
  };
  const bands: TimelineBand[] = [];
  const counts = { container: 0, pod: 0, recreate: 0 };
  /** Waits between an exit and the restart a container-level record tells of. */
  const waits: { container: string; ended: number; backoffMs?: number }[] = [];

  for (const n of input.restarts) {
    if (n.level === 'container' && n.container !== undefined) {
      counts.container++;
      if (n.ended) {
        const run = exitRun(n.ended, n.podUid, false);
        if (run) {
          run.decidedBy = n.description;
          set(n.container).add(run);
        }
        if (n.ended.finishedAt !== undefined) waits.push({ container: n.container, ended: n.ended.finishedAt, ...(n.backoffMs !== undefined ? { backoffMs: n.backoffMs } : {}) });
      }
    } else if (n.level === 'pod') {
      counts.pod++;
      const ends = (n.removed ?? []).map((x) => x.finishedAt).filter((t): t is number => t !== undefined);
      const start = n.latencyMs !== undefined ? n.time - n.latencyMs : Math.min(n.time, ...ends);
      const trigger = n.rule !== undefined && !n.trigger.includes('[') ? `${n.trigger}[${n.rule}]` : n.trigger;
      bands.push({ level: 'pod', start, end: n.time, trigger, description: n.description });
      for (const x of n.removed ?? []) {
        // Instances that ended before the reset began ended by themselves (among them the one
        // whose exit triggered it, even in the reset's own ms); the others were killed by it.
        const killed = x.finishedAt === undefined || x.finishedAt > start || (x.finishedAt === start && x.exitCode !== n.exitCode);
        const run = exitRun(x, n.podUid, killed);
        if (!run) continue;
        if (!killed && n.exitCode !== undefined && x.exitCode === n.exitCode) run.decidedBy = n.description;
        set(x.container).add(run);
      }
    } else if (n.level === 'recreate') {
      counts.recreate++;
      // What ended after the stop began was stopped by it; the exits before (the one that led to
      // the re-creation among them, even in the stop's own ms) ended by themselves. Records
      // without the stop's time: what ended by a signal was stopped.
      const stopAt = n.latencyMs !== undefined ? n.time - n.latencyMs : undefined;
      const killedBy = (x: RemovedExit): boolean => {
        if (stopAt === undefined) return x.exitCode > 128 && x.reason !== 'OOMKilled';
        if (x.finishedAt === undefined) return true;
        return x.container === n.container ? x.finishedAt > stopAt : x.finishedAt >= stopAt;
      };
      const kills = (n.removed ?? []).filter(killedBy).map((x) => x.finishedAt).filter((t): t is number => t !== undefined);
      bands.push({ level: 'recreate', start: stopAt ?? Math.min(n.time, ...kills), end: n.time, trigger: n.trigger, description: n.description });
      for (const x of n.removed ?? []) {
        const killed = killedBy(x);
        const run = exitRun(x, n.podUid, killed);
        if (!run) continue;
        if (!killed && x.exitCode !== 0) run.decidedBy = n.description;
        set(x.container).add(run);
      }
    }
  }
  for (const r of input.runs ?? []) {
    const x: RemovedExit = { container: r.container, exitCode: r.exitCode ?? 0, reason: r.reason ?? '', startedAt: r.startedAt };
    if (r.finishedAt !== undefined) x.finishedAt = r.finishedAt;
    if (r.containerID !== undefined) x.containerID = r.containerID;
    const run = exitRun(x, r.podUid, false);
    if (!run) continue;
    if (r.finishedAt === undefined) {
      run.outcome = 'running';
      delete run.exitCode;
      delete run.reason;
    } else if (r.reason === undefined) delete run.reason;
    set(r.container).add(run);
  }
  for (const p of input.pods) {
    const uid = p.metadata.uid;
    for (const s of [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])]) {
      for (const run of statusRuns(s, uid)) set(s.name).add(run);
    }
  }

  // A re-creation's band ends when the new pod's first run starts.
  for (const b of bands) {
    if (b.level !== 'recreate') continue;
    let next: number | undefined;
    for (const s of sets.values()) for (const r of s.runs) if (r.start >= b.end && (next === undefined || r.start < next)) next = r.start;
    if (next !== undefined) b.end = next;
  }

  const lanes: TimelineLane[] = [];
  for (const [container, kind] of kinds) {
    const runs = [...(sets.get(container)?.runs ?? [])].sort((a, b) => a.start - b.start);
    // A start known only to the second (a status) may fall before the previous exit known to
    // the ms: it came after that exit.
    for (let i = 1; i < runs.length; i++) {
      const prev = runs[i - 1] as TimelineRun;
      const cur = runs[i] as TimelineRun;
      if (prev.end !== undefined && cur.start % 1000 === 0 && cur.start < prev.end && prev.end - cur.start < 1000) cur.start = prev.end;
    }
    const laneWaits: TimelineWait[] = [];
    for (const w of waits) {
      if (w.container !== container) continue;
      const next = runs.find((r) => r.start >= w.ended);
      if (!next || next.start <= w.ended) continue;
      const wait: TimelineWait = { start: w.ended, end: next.start };
      if (w.backoffMs !== undefined) wait.backoffMs = w.backoffMs;
      laneWaits.push(wait);
    }
    lanes.push({ container, kind, runs, waits: laneWaits });
  }
  // A sidecar of a pod that ended was stopped by podvisor: were it to end by itself it would
  // have been restarted. Its last run, ended by a signal, is a stop, not a crash.
  const current = input.pods[input.pods.length - 1];
  const phase = current?.status?.phase;
  if (current && (phase === 'Succeeded' || phase === 'Failed')) {
    for (const l of lanes) {
      const last = l.runs[l.runs.length - 1];
      if (l.kind === 'sidecar' && last?.outcome === 'signal' && (last.podUid === undefined || last.podUid === current.metadata.uid)) last.outcome = 'stopped';
    }
  }
  const order: Record<LaneKind, number> = { init: 0, sidecar: 0, container: 1 };
  lanes.sort((a, b) => order[a.kind] - order[b.kind]);

  let start = Infinity;
  let end = -Infinity;
  let running = false;
  for (const l of lanes) {
    for (const r of l.runs) {
      start = Math.min(start, r.start);
      end = Math.max(end, r.end ?? r.start);
      if (r.end === undefined) running = true;
    }
  }
  for (const b of bands) {
    start = Math.min(start, b.start);
    end = Math.max(end, b.end);
  }
  const created = ms(input.pods[0]?.metadata.creationTimestamp);
  if (start === Infinity) start = created ?? input.now;
  if (running || end === -Infinity) end = Math.max(end, input.now);
  if (end <= start) end = start + 1000;
  return { start, end, lanes, bands, counts };
}
