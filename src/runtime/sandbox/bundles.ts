/**
 * The sandbox instances' state directories (bundles, `<podDir>/containers/<id>`: the monitor's
 * files and the launch record; on oci also the container's root file system) and the ends of
 * instances: a bundle found again with its launch record and monitor (re-attached, for a
 * re-adoption), what is left of an instance nobody supervises reaped (processes, leaf
 * cgroups), a failed start's files discarded, and an instance's bundle and monitor state
 * forgotten.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { InstanceLogs } from '../logs.js';
import { reattachInstance, type InstanceRecord } from '../monitor/instance-record.js';
import type { Monitor, MonitorExit, Reattached } from '../monitor/types.js';
import type { OciLauncher } from '../oci/launcher.js';
import { procStartTime, removeCgroupDir, tryKill, within } from '../proc-util.js';
import { PAUSE_LEAF, type SandboxCgroups } from './cgroups.js';
import { KILL_WAIT_MS, SWEEP_DEADLINE_MS } from './exit.js';
import { CONTAINER_ID, adoptedInstance, checkSandboxDetails, type Instance, type SandboxDetails } from './instance.js';

/** Options of {@link Bundles}. */
export interface BundlesOptions {
  cgroups: SandboxCgroups;
  monitor: Monitor;
  logs: InstanceLogs;
  /** `<dataDir>/pods/<podUid>`. */
  podDir: (podUid: string) => string;
  log: (msg: string, fields?: object) => void;
  /** The oci runtime's launcher (undefined on the sandbox runtime). */
  oci: OciLauncher | undefined;
  /** `sandbox` or `oci`: the runtime's name in launch records. */
  runtime: string;
  /** `<runtime>://`. */
  prefix: string;
}

/** The bundles of one sandbox runtime's instances, and the clean-up of what instances leave. */
export class Bundles {
  private readonly cgroups: SandboxCgroups;
  private readonly monitor: Monitor;
  private readonly logs: InstanceLogs;
  private readonly podDir: (podUid: string) => string;
  private readonly log: (msg: string, fields?: object) => void;
  private readonly oci: OciLauncher | undefined;
  private readonly runtime: string;
  private readonly prefix: string;

  constructor(o: BundlesOptions) {
    this.cgroups = o.cgroups;
    this.monitor = o.monitor;
    this.logs = o.logs;
    this.podDir = o.podDir;
    this.log = o.log;
    this.oci = o.oci;
    this.runtime = o.runtime;
    this.prefix = o.prefix;
  }

  /** `<podDir>/containers`: where the pod's bundles are. */
  containersDir(podUid: string): string {
    return path.join(this.podDir(podUid), 'containers');
  }

  /** `<podDir>/containers/<id>`: an instance's state directory. */
  bundleDir(podUid: string, id: string): string {
    return path.join(this.podDir(podUid), 'containers', id);
  }

  /** The container IDs that have a bundle in the pod (none without a containers directory). */
  async bundleIds(podUid: string): Promise<string[]> {
    try {
      return (await fsp.readdir(this.containersDir(podUid))).filter((b) => CONTAINER_ID.test(b));
    } catch {
      return []; // no bundles
    }
  }

  /**
   * The launch record of `<podUid>/<id>` and what its monitor says of it. A record is used only
   * when it describes this instance where this runtime puts it (its pod, its leaf cgroups): the
   * cgroups it names are swept, so a record that names others is not trusted.
   */
  private async reattach(podUid: string, id: string): Promise<{ record: InstanceRecord<SandboxDetails>; found: Reattached } | { error: string }> {
    const leafDirs = this.cgroups.leafDirs(podUid, id);
    const procsDir = this.cgroups.procsDir(podUid, id);
    const check = (details: unknown): string | undefined => {
      const bad = checkSandboxDetails(details);
      if (bad !== undefined) return bad;
      const d = details as SandboxDetails;
      // Every leaf it names is one of this runtime's (an earlier podvisor may have used fewer
      // hierarchies: cpuacct is newer).
      const same = d.procsDir === procsDir && d.cgroupDirs.includes(procsDir) && d.cgroupDirs.every((x) => leafDirs.includes(x))
        && (d.memoryDir === undefined || d.cgroupDirs.includes(d.memoryDir));
      return same ? undefined : 'its cgroups are not where this runtime puts them';
    };
    const attached = await reattachInstance<SandboxDetails>(this.monitor, id, this.bundleDir(podUid, id), this.runtime, check);
    if ('error' in attached) return attached;
    if (attached.record.podUid !== podUid) {
      await this.monitor.forget(id); // the wait reattach may have started
      return { error: `its launch record names pod ${attached.record.podUid}` };
    }
    return attached;
  }

  /**
   * The instance `<podUid>/<id>` an earlier podvisor process started, made from its launch
   * record (see {@link reattach}), with what its monitor found: its exit (`exited`) or the wait
   * for it (`running`). Undefined when it cannot be re-adopted (no monitor, no usable record,
   * monitor gone): logged, and what is left of it is killed (see {@link reap}).
   */
  async adoptable(podUid: string, id: string): Promise<{ inst: Instance; record: InstanceRecord<SandboxDetails>; found: Exclude<Reattached, { state: 'unknown' }> } | undefined> {
    const bundle = this.bundleDir(podUid, id);
    const attached = await this.reattach(podUid, id);
    if ('error' in attached) {
      this.log('cannot re-adopt container', { podUid, containerID: this.prefix + id, reason: attached.error });
      await this.reap(podUid, id, undefined);
      return undefined;
    }
    const { record: rec, found } = attached;
    if (found.state === 'unknown') {
      this.log('cannot re-adopt container', { podUid, container: rec.container, containerID: this.prefix + id, reason: found.why });
      // Unsupervised, it must not run on beside its replacement.
      await this.reap(podUid, id, rec);
      return undefined;
    }
    return { inst: adoptedInstance(id, podUid, bundle, rec), record: rec, found };
  }

  /**
   * Reaps what an earlier podvisor process left of the pod's instances that are not `known`
   * (see `SandboxContainers.reapOrphans`): those with a leaf cgroup, then those with a bundle
   * only. Returns how many it found.
   */
  async reapUnknown(podUid: string, known: (id: string) => boolean): Promise<number> {
    const leaves = (await this.cgroups.leaves(podUid)).filter((l) => l !== PAUSE_LEAF && !known(l));
    for (const leaf of leaves) await this.reapRecorded(podUid, leaf);
    // Bundles without a leaf: instances that had exited (their leaves are removed at the exit)
    // but were not removed yet when the earlier process ended (on oci: a mounted rootfs, runc's
    // state, an image user record).
    const bundles = (await this.bundleIds(podUid)).filter((b) => !known(b) && !leaves.includes(b));
    for (const b of bundles) await this.reapRecorded(podUid, b);
    const found = leaves.length + bundles.length;
    if (found > 0) this.log('reaped leftover containers of an earlier podvisor process', { podUid, containers: found });
    return found;
  }

  /** {@link reap} with what the instance's launch record and its monitor say. */
  async reapRecorded(podUid: string, id: string): Promise<void> {
    const found = CONTAINER_ID.test(id) ? await this.reattach(podUid, id) : { error: 'not a container ID' };
    if ('error' in found) return this.reap(podUid, id, undefined);
    return this.reap(podUid, id, found.record, found.found.state === 'running' ? found.found.exit : undefined);
  }

  /**
   * Kills what is left of an instance nobody supervises (its wrapper's group while it is the
   * recorded process, its cgroup until empty), removes its cgroups, and forgets it: exit file
   * (after the monitor wrote it, when `exit` says a monitor still watches) and bundle.
   */
  private async reap(podUid: string, id: string, rec: InstanceRecord<SandboxDetails> | undefined, exit?: Promise<MonitorExit>): Promise<void> {
    const deadline = Date.now() + SWEEP_DEADLINE_MS;
    const d = rec?.details;
    if (d?.wrapperStartTime !== undefined && procStartTime(d.wrapperPid) === d.wrapperStartTime) tryKill(-d.wrapperPid, 'SIGKILL');
    const procs = d?.procsDir ?? this.cgroups.procsDir(podUid, id);
    if (!(await this.cgroups.sweep(procs, deadline))) this.log('cgroup not empty after sweep', { podUid, containerID: this.prefix + id, cgroup: procs });
    for (const dir of d?.cgroupDirs ?? this.cgroups.leafDirs(podUid, id)) await removeCgroupDir(dir, deadline).catch(() => {});
    if (exit) await within(exit, KILL_WAIT_MS);
    if (CONTAINER_ID.test(id)) await this.forget(id, this.bundleDir(podUid, id));
  }

  /** A start that failed: its log file, its leaf cgroups, its bundle and monitor state go. */
  async discardFailedStart(podUid: string, name: string, logFile: string, cgroupDirs: string[], id: string, bundle: string): Promise<void> {
    await this.logs.discard(podUid, name, logFile);
    await this.cgroups.removeLeaf(cgroupDirs);
    await this.forget(id, bundle);
  }

  /** Forgets an instance: the monitor's state (exit file) and its bundle. */
  async forget(id: string, bundle: string): Promise<void> {
    // Unmounted before the bundle goes: a recursive delete must never walk into a mounted rootfs.
    if (this.oci && !(await this.oci.cleanup(id, bundle))) {
      this.log('container root file system still in use: bundle kept for a later clean-up', { containerID: this.prefix + id, bundle });
      await this.monitor.forget(id).catch(() => {});
      return;
    }
    await this.monitor.forget(id).catch(() => {});
    await fsp.rm(bundle, { recursive: true, force: true }).catch(() => {});
  }
}
