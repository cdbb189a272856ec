/**
 * The durable record of a launched instance, `<bundle>/instance.json`: what a later podvisor
 * process (after a crash, a stop or an upgrade) needs to re-attach to it: the IDs, the PIDs
 * with their start times, the log file and the runtime's own details (cgroup, namespaces,
 * environment for exec). Written atomically before the start is reported, so an instance that
 * podvisor reported as started always has one.
 *
 * `format` versions the layout. A reader accepts every format up to its own
 * ({@link RECORD_FORMAT}) and upgrades older ones, so a newer podvisor re-adopts containers an
 * older one started; a record of a newer format than the reader knows is not trusted (the
 * instance is then `unknown`: killed and started again, never misread).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { procStartTime } from '../proc-util.js';
import type { Launched, Monitor, MonitorRecord, Reattached } from './types.js';

/**
 * The newest record layout this build reads and writes. Format 2 adds a container's stdio
 * (`details.stdio`, and on the host runtime the command under a terminal, `details.mainPid`);
 * it is written only for containers started with `stdin` or `tty` ({@link recordFormat}), so
 * that an older build, which would signal `script` instead of the command, never adopts them,
 * and still adopts every other container.
 */
export const RECORD_FORMAT = 2;

/** The format of a record: 1 (readable by every build) unless it has stdio (2). */
export function recordFormat(hasStdio: boolean): number {
  return hasStdio ? RECORD_FORMAT : 1;
}

/** File name of the record inside a bundle. */
export const RECORD_FILE = 'instance.json';

/** A launched instance, as recorded. `T` is the runtime's own part. */
export interface InstanceRecord<T> {
  format: number;
  /** Runtime name (`host`, `sandbox`, `oci`). */
  runtime: string;
  /** Bare container ID. */
  id: string;
  podUid: string;
  container: string;
  /** Epoch ms. */
  startedAt: number;
  logFile: string;
  monitor: MonitorRecord;
  details: T;
}

/**
 * Writes the record atomically (temporary file, rename). Not fsynced, on purpose: it only has to
 * survive a crash of podvisor, which loses nothing the kernel was given; after a crash of the
 * machine no container is left to re-adopt (conmon does not sync its exit files either). An
 * fsync here cost 2–7 ms on every container start.
 */
export function writeInstanceRecord<T>(bundle: string, rec: InstanceRecord<T>): void {
  // Synchronous: two small writes cost well under a thread pool round trip (0.3–1 ms here).
  const file = path.join(bundle, RECORD_FILE);
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(rec), { mode: 0o600 });
  fs.renameSync(tmp, file);
}

/**
 * Reads a record; `{ error }` says why it cannot be used. `check` validates the runtime's own
 * part (returns an error text, or undefined when it is usable).
 */
export function readInstanceRecord<T>(bundle: string, runtime: string, check: (details: unknown) => string | undefined): InstanceRecord<T> | { error: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(path.join(bundle, RECORD_FILE), 'utf8'));
  } catch (err) {
    return { error: (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no record of its launch' : 'its launch record is unreadable' };
  }
  if (typeof raw !== 'object' || raw === null) return { error: 'its launch record is unreadable' };
  const r = raw as Partial<InstanceRecord<unknown>>;
  if (typeof r.format !== 'number' || r.format < 1) return { error: 'its launch record has no format version' };
  if (r.format > RECORD_FORMAT) return { error: `its launch record has format ${r.format}, newer than this podvisor's ${RECORD_FORMAT}` };
  if (r.runtime !== runtime) return { error: `it was started by the ${String(r.runtime)} runtime` };
  const m = r.monitor;
  if (typeof r.id !== 'string' || typeof r.podUid !== 'string' || typeof r.container !== 'string' || typeof r.startedAt !== 'number'
    || typeof r.logFile !== 'string' || typeof m !== 'object' || m === null || (m.monitor !== 'conmon' && m.monitor !== 'direct')
    || typeof m.pid !== 'number') {
    return { error: 'its launch record is incomplete' };
  }
  const bad = check(r.details);
  if (bad !== undefined) return { error: `its launch record is incomplete: ${bad}` };
  return r as InstanceRecord<T>;
}

/**
 * The launch records under `containersDir` (`<pod dir>/containers`, one directory per instance):
 * each instance's bare ID, container name and start time. Unreadable records are left out (their
 * instances cannot be re-adopted anyway).
 */
export function launchRecordsIn(containersDir: string, runtime: string): { id: string; container: string; startedAt: number }[] {
  let ids: string[];
  try {
    ids = fs.readdirSync(containersDir);
  } catch {
    return [];
  }
  return ids.flatMap((id) => {
    const r = readInstanceRecord<unknown>(path.join(containersDir, id), runtime, () => undefined);
    return 'error' in r || r.id !== id ? [] : [{ id, container: r.container, startedAt: r.startedAt }];
  });
}

/**
 * The monitor part of a launch record: the wrapper's PID (what the monitor waits for) and the
 * monitor's own, each with its start time so that a later process tells them from reused PIDs.
 */
export function monitorRecordOf(monitor: Monitor, launched: Launched): MonitorRecord {
  const rec: MonitorRecord = { monitor: monitor.kind, pid: launched.pid };
  const pidStart = procStartTime(launched.pid);
  if (pidStart !== undefined) rec.pidStartTime = pidStart;
  if (launched.monitorPid !== undefined) {
    rec.monitorPid = launched.monitorPid;
    const t = procStartTime(launched.monitorPid);
    if (t !== undefined) rec.monitorStartTime = t;
  }
  return rec;
}

/**
 * Re-attaching to an instance an earlier process launched: reads its record from `bundle` and
 * asks the monitor what became of it. `{ error }` when the record cannot be used (the instance
 * is then `unknown`).
 */
export async function reattachInstance<T>(
  monitor: Monitor, id: string, bundle: string, runtime: string, check: (details: unknown) => string | undefined,
): Promise<{ record: InstanceRecord<T>; found: Reattached } | { error: string }> {
  const record = readInstanceRecord<T>(bundle, runtime, check);
  if ('error' in record) return record;
  if (record.id !== id) return { error: `its launch record names another instance (${record.id})` };
  return { record, found: await monitor.reattach(id, bundle, record.monitor) };
}
