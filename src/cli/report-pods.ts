/**
 * `podvisor run --report`: the pods it draws (every incarnation of each pod name, as last seen)
 * and the file, rewritten as the run goes (so a run that is killed leaves its timeline so far).
 */
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { RestartNotice } from '../api/records.js';
import type { Pod } from '../api/types.js';
import type { PodState } from '../core/model.js';
import type { ReportPod } from '../view/report.js';
import type { ExactRun } from '../view/timeline.js';

export class Incarnations {
  /** `namespace/name` → UID → the newest object and state seen, in the order the UIDs appeared. */
  private readonly pods = new Map<string, Map<string, { pod: Pod; state?: PodState }>>();

  /** Each publication is a new object and the core's states are values: kept as they are. */
  see(pod: Pod, state?: PodState): void {
    const key = `${pod.metadata.namespace ?? 'default'}/${pod.metadata.name}`;
    let byUid = this.pods.get(key);
    if (!byUid) {
      byUid = new Map();
      this.pods.set(key, byUid);
    }
    const uid = pod.metadata.uid ?? '';
    const kept = state ?? byUid.get(uid)?.state;
    byUid.set(uid, kept ? { pod, state: kept } : { pod });
  }

  /** One entry per pod name with its restart records and the runs known to the ms. */
  byName(restarts: readonly RestartNotice[]): ReportPod[] {
    return [...this.pods].map(([key, byUid]) => ({
      incarnations: [...byUid.values()].map((x) => x.pod),
      restarts: restarts.filter((n) => `${n.namespace}/${n.pod}` === key),
      runs: [...byUid.values()].flatMap((x) => (x.state ? exactRuns(x.state) : [])),
    }));
  }
}

/** The runs a pod's state knows (its current instances and their `lastState`), with ms times. */
export function exactRuns(state: PodState): ExactRun[] {
  const out: ExactRun[] = [];
  for (const rec of Object.values(state.containers)) {
    const i = rec.instance;
    if (i?.startedAt !== undefined) {
      const r: ExactRun = { container: rec.name, podUid: state.uid, startedAt: i.startedAt };
      if (i.id !== '') r.containerID = i.id;
      if (i.phase === 'exited' && i.finishedAt !== undefined) {
        r.finishedAt = i.finishedAt;
        if (i.exitCode !== undefined) r.exitCode = i.exitCode;
        r.reason = i.oomKilled ? 'OOMKilled' : i.exitCode === 0 ? 'Completed' : 'Error';
      }
      out.push(r);
    }
    const l = rec.last;
    if (l?.startedAt !== undefined) {
      const r: ExactRun = { container: rec.name, podUid: state.uid, startedAt: l.startedAt, exitCode: l.exitCode, reason: l.reason };
      if (l.finishedAt !== undefined) r.finishedAt = l.finishedAt;
      if (l.containerID !== undefined) r.containerID = l.containerID;
      out.push(r);
    }
  }
  return out;
}

/**
 * The report file: rewritten (whole, by a rename, so a reader never sees half a page) shortly
 * after something changed, at most once per `delayMs`, and at once when the run ends. Written
 * while the run goes, a run killed outright (SIGKILL, a CI job's hard timeout) still leaves its
 * timeline up to the last change.
 */
export class ReportFile {
  private timer: NodeJS.Timeout | undefined;
  private failing = false;

  constructor(
    private readonly path: string,
    private readonly render: () => string,
    /** Told of the first failure of a series (a later success starts a new series). */
    private readonly onError: (e: Error) => void,
    private readonly delayMs = 1000,
  ) {}

  /** Something the timeline shows changed: the file is rewritten within `delayMs`. */
  changed(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.write();
    }, this.delayMs);
    this.timer.unref();
  }

  /** Writes it now (the run ends); the error when it could not be written. */
  flush(): Error | undefined {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    return this.write(true);
  }

  private write(final = false): Error | undefined {
    const tmp = join(dirname(this.path), `.${basename(this.path)}.${process.pid}.tmp`);
    try {
      writeFileSync(tmp, this.render());
      renameSync(tmp, this.path);
      this.failing = false;
      return undefined;
    } catch (e) {
      try {
        rmSync(tmp, { force: true });
      } catch {
        // The write's own error is the one to tell.
      }
      const err = e instanceof Error ? e : new Error(String(e));
      if (!this.failing && !final) this.onError(err);
      this.failing = true;
      return err;
    }
  }
}
