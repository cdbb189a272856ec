/**
 * Resource usage of a container read from its cgroup, on request (no polling): the cumulative
 * CPU time and the memory working set, the two numbers the kubelet's resource metrics (and so
 * metrics-server and `kubectl top`) are made of. Shared by every runtime whose containers have
 * cgroups of their own; each runtime says where its container's counters are.
 *
 * - cgroup v1: `cpuacct.usage` (ns) of the `cpuacct` hierarchy; `memory.usage_in_bytes` and
 *   `memory.stat` `total_inactive_file` of the `memory` hierarchy.
 * - cgroup v2: `cpu.stat` `usage_usec` (present whether or not the cpu controller is enabled);
 *   `memory.current` and `memory.stat` `inactive_file` (the memory controller must be enabled
 *   for the leaf).
 *
 * The working set is usage minus the inactive file cache, floored at 0, as cAdvisor computes
 * `container_memory_working_set_bytes` (what the kubelet evicts on and metrics-server serves).
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { ContainerStats } from './types.js';

/** Where a container's counters are: the leaf with its CPU counter and the one with its memory counters. */
export interface StatsDirs {
  version: 1 | 2;
  /** v1: the container's leaf in the `cpuacct` hierarchy; v2: its leaf. */
  cpu?: string;
  /** v1: the container's leaf in the `memory` hierarchy; v2: its leaf. */
  memory?: string;
}

/**
 * The values of a flat-keyed cgroup file (`memory.stat`, `cpu.stat`: `key value` per line).
 * Lines that are not a key and a non-negative integer are skipped.
 */
export function parseFlatKeyed(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(\S+)\s+(\d+)\s*$/.exec(line);
    if (m) out.set(m[1] as string, Number(m[2]));
  }
  return out;
}

/** A single-value cgroup file (`cpuacct.usage`, `memory.current`), or undefined when it is not a number. */
export function parseSingleValue(text: string): number | undefined {
  const t = text.trim();
  return /^\d+$/.test(t) ? Number(t) : undefined;
}

/** cAdvisor's working set: usage minus the inactive file cache, never below 0. */
export function workingSet(usageBytes: number, inactiveFileBytes: number): number {
  return Math.max(0, usageBytes - inactiveFileBytes);
}

async function readText(file: string): Promise<string | undefined> {
  try {
    return await fsp.readFile(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** Cumulative CPU time of the leaf (ns), or undefined when its counter cannot be read. */
async function readCpuNanos(dirs: StatsDirs): Promise<number | undefined> {
  if (dirs.cpu === undefined) return undefined;
  if (dirs.version === 1) {
    const t = await readText(path.join(dirs.cpu, 'cpuacct.usage'));
    return t === undefined ? undefined : parseSingleValue(t);
  }
  const t = await readText(path.join(dirs.cpu, 'cpu.stat'));
  const usec = t === undefined ? undefined : parseFlatKeyed(t).get('usage_usec');
  return usec === undefined ? undefined : usec * 1000;
}

/** The leaf's memory working set (bytes), or undefined when its counters cannot be read. */
async function readWorkingSet(dirs: StatsDirs): Promise<number | undefined> {
  if (dirs.memory === undefined) return undefined;
  const [usageFile, inactiveKey] = dirs.version === 1 ? ['memory.usage_in_bytes', 'total_inactive_file'] : ['memory.current', 'inactive_file'];
  const [usageText, statText] = await Promise.all([readText(path.join(dirs.memory, usageFile)), readText(path.join(dirs.memory, 'memory.stat'))]);
  const usage = usageText === undefined ? undefined : parseSingleValue(usageText);
  if (usage === undefined || statText === undefined) return undefined;
  return workingSet(usage, parseFlatKeyed(statText).get(inactiveKey) ?? 0);
}

/** Epoch milliseconds with sub-millisecond resolution (rates over short windows need it). */
export function preciseNow(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * Reads a container's usage from its cgroup now. Undefined when either counter is missing: the
 * leaf is gone (the container exited), the hierarchy is not mounted, or the controller is not
 * enabled for it. `timestamp` is taken right after the CPU counter was read (the rate's clock).
 */
export async function readCgroupStats(dirs: StatsDirs, now: () => number = preciseNow): Promise<ContainerStats | undefined> {
  const cpu = await readCpuNanos(dirs);
  const timestamp = now();
  if (cpu === undefined) return undefined;
  const memory = await readWorkingSet(dirs);
  if (memory === undefined) return undefined;
  return { timestamp, cpuUsageNanos: cpu, memoryWorkingSetBytes: memory };
}

/**
 * The cgroup v1 hierarchies with the usage counters, when mounted: `cpuacct` (alone or
 * co-mounted with `cpu`) and `memory`, under `root` (default `/sys/fs/cgroup`).
 */
export function v1AccountingHierarchies(root = '/sys/fs/cgroup'): { cpuacct?: string; memory?: string } {
  const out: { cpuacct?: string; memory?: string } = {};
  for (const name of ['cpuacct', 'cpu,cpuacct', 'cpuacct,cpu']) {
    const dir = path.join(root, name);
    if (fs.existsSync(path.join(dir, 'cpuacct.usage'))) {
      out.cpuacct = dir;
      break;
    }
  }
  const memory = path.join(root, 'memory');
  if (fs.existsSync(path.join(memory, 'memory.usage_in_bytes'))) out.memory = memory;
  return out;
}
