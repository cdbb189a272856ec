/**
 * Picks the monitor of a runtime: `conmon` when it is installed (containers outlive podvisor),
 * else `direct` (podvisor is the parent), unless the caller insists on one.
 */
import * as path from 'node:path';
import { ConmonMonitor, findConmon } from './conmon.js';
import { DirectMonitor } from './direct.js';
import type { Monitor } from './types.js';

/** Which monitor to use: `auto` prefers conmon. */
export type MonitorChoice = 'auto' | 'conmon' | 'direct';

/**
 * The monitor for a data dir, and a note when conmon was wanted but is missing. With
 * `spareCgroupRoot` (a cgroup v1 directory), instances prepared ahead join a leaf there ahead
 * (see {@link Reservation.cgroup}), and one of the same name under each `spareAccountingRoots`.
 */
export async function createMonitor(
  dataDir: string, choice: MonitorChoice = 'auto', opts: { spareCgroupRoot?: string; spareAccountingRoots?: readonly string[] } = {},
): Promise<{ monitor: Monitor; note?: string }> {
  const direct = (): Promise<DirectMonitor> => DirectMonitor.create({ dir: path.join(dataDir, 'monitor', 'direct'), ...opts });
  if (choice === 'direct') return { monitor: await direct() };
  const found = findConmon(process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
  if ('missing' in found) {
    if (choice === 'conmon') throw new Error(`the conmon monitor cannot be used: ${found.missing}`);
    return { monitor: await direct(), note: `${found.missing}: containers are podvisor's children and stop when podvisor stops` };
  }
  return { monitor: await ConmonMonitor.create({ ...found, dir: path.join(dataDir, 'monitor'), ...opts }) };
}

export type { Monitor, LaunchSpec, Launched, MonitorExit, MonitorRecord, Reattached, Reservation } from './types.js';
export {
  readInstanceRecord, writeInstanceRecord, monitorRecordOf, reattachInstance, RECORD_FORMAT, type InstanceRecord,
} from './instance-record.js';
