/**
 * The resource metrics API (`metrics.k8s.io/v1beta1`) as metrics-server serves it, which is what
 * `kubectl top` reads: `PodMetrics` (namespaced) and `NodeMetrics`, computed on request from the
 * agent's usage (never stored, so they have no resourceVersion and cannot be watched), and their
 * Table printing (`kubectl get podmetrics`).
 */
import { formatGoDuration } from '../../api/duration.js';
import { formatTimestamp } from '../../api/time.js';
import type { ContainerUsage, NodeUsage, PodUsage } from '../../agent/node-api.js';
import type { Printer } from '../respond.js';
import { AGE_COLUMN, NAME_COLUMN, objectRow, simpleColumn } from '../table.js';

/** The group and version. */
export const METRICS_GROUP = 'metrics.k8s.io';
export const METRICS_API_VERSION = `${METRICS_GROUP}/v1beta1`;

/** `usage` of a container or a node: CPU in nanocores, memory in bytes (as Kubernetes quantities). */
export interface ResourceUsage {
  cpu: string;
  memory: string;
}

/** metrics.k8s.io/v1beta1 `PodMetrics`. */
export interface PodMetrics {
  kind: 'PodMetrics';
  apiVersion: string;
  metadata: { name: string; namespace: string; creationTimestamp: string; labels?: Record<string, string> };
  /** End of the window (RFC 3339). */
  timestamp: string;
  /** Length of the window (Go duration: `200ms`, `15.2s`). */
  window: string;
  containers: { name: string; usage: ResourceUsage }[];
}

/** metrics.k8s.io/v1beta1 `NodeMetrics`. */
export interface NodeMetrics {
  kind: 'NodeMetrics';
  apiVersion: string;
  metadata: { name: string; creationTimestamp: string; labels?: Record<string, string> };
  timestamp: string;
  window: string;
  usage: ResourceUsage;
}

/** CPU as metrics-server writes it: nanocores (`12345n`). */
export function cpuQuantity(nanoCores: number): string {
  return `${Math.max(0, Math.round(nanoCores))}n`;
}

/** Memory as metrics-server writes it: `Ki` when it is whole kibibytes (pages always are), else bytes. */
export function memoryQuantity(bytes: number): string {
  const b = Math.max(0, Math.round(bytes));
  return b % 1024 === 0 && b > 0 ? `${b / 1024}Ki` : String(b);
}

function usageOf(u: Pick<ContainerUsage, 'cpuNanoCores' | 'memoryWorkingSetBytes'>): ResourceUsage {
  return { cpu: cpuQuantity(u.cpuNanoCores), memory: memoryQuantity(u.memoryWorkingSetBytes) };
}

/** The window as a Go duration, to the millisecond. */
function windowOf(ms: number): string {
  return formatGoDuration(Math.max(0, Math.round(ms)));
}

/**
 * A pod's metrics object: its name and labels (for label selectors, as metrics-server copies
 * them) with `creationTimestamp` the time of the request, as metrics-server sets it.
 */
export function podMetricsObject(u: PodUsage, labels: Record<string, string> | undefined, now: number): PodMetrics {
  const metadata: PodMetrics['metadata'] = { name: u.name, namespace: u.namespace, creationTimestamp: formatTimestamp(now) };
  if (labels && Object.keys(labels).length > 0) metadata.labels = { ...labels };
  const m: PodMetrics = {
    kind: 'PodMetrics',
    apiVersion: METRICS_API_VERSION,
    metadata,
    timestamp: formatTimestamp(u.timestamp),
    window: windowOf(u.windowMs),
    containers: u.containers.map((c) => ({ name: c.name, usage: usageOf(c) })),
  };
  POD_TOTALS.set(m, usageOf({
    cpuNanoCores: u.containers.reduce((a, c) => a + c.cpuNanoCores, 0),
    memoryWorkingSetBytes: u.containers.reduce((a, c) => a + c.memoryWorkingSetBytes, 0),
  }));
  return m;
}

/** The sum of each pod's containers' usage, for its Table row (kept beside the object, not in it). */
const POD_TOTALS = new WeakMap<PodMetrics, ResourceUsage>();

/** The node's metrics object, labelled as the Node. */
export function nodeMetricsObject(u: NodeUsage, labels: Record<string, string>, now: number): NodeMetrics {
  return {
    kind: 'NodeMetrics',
    apiVersion: METRICS_API_VERSION,
    metadata: { name: u.name, creationTimestamp: formatTimestamp(now), labels: { ...labels } },
    timestamp: formatTimestamp(u.timestamp),
    window: windowOf(u.windowMs),
    usage: usageOf(u),
  };
}

const CPU_COLUMN = simpleColumn('CPU', 'string', 'CPU usage (average over the window) in nanocores.');
const MEMORY_COLUMN = simpleColumn('Memory', 'string', 'Memory working set in bytes.');
const WINDOW_COLUMN = simpleColumn('Window', 'string', 'The interval the usage was measured over.');

/** `kubectl get podmetrics`: Name, CPU, Memory, Window (the pod's total). */
export const POD_METRICS_PRINTER: Printer<PodMetrics> = {
  columns: [NAME_COLUMN, CPU_COLUMN, MEMORY_COLUMN, WINDOW_COLUMN, AGE_COLUMN],
  row: (m, now, include) => {
    const t = POD_TOTALS.get(m);
    return objectRow(m, [t?.cpu ?? '', t?.memory ?? '', m.window], now, include);
  },
};

/** `kubectl get nodemetrics`: Name, CPU, Memory, Window. */
export const NODE_METRICS_PRINTER: Printer<NodeMetrics> = {
  columns: [NAME_COLUMN, CPU_COLUMN, MEMORY_COLUMN, WINDOW_COLUMN, AGE_COLUMN],
  row: (m, now, include) => objectRow(m, [m.usage.cpu, m.usage.memory, m.window], now, include),
};
