/**
 * Server-side printing: `meta.k8s.io/v1` `Table`s for pods, events and namespaces with the
 * columns of the API server's printers (kubernetes/kubernetes `pkg/printers/internalversion/
 * printers.go`), which `kubectl get` renders as is. The pod cells use the kubectl column
 * printers of `api/printers.ts`, as the CLI does, so that `podvisor` and `kubectl` show the
 * same text.
 */
import { podStatusColumn, readyColumn, restartsColumn, shortAge } from '../api/printers.js';
import type { Pod } from '../api/types.js';
import type { EventObject } from '../api/records.js';

/** How much of the object each row embeds (`includeObject` query parameter). */
export type IncludeObject = 'None' | 'Metadata' | 'Object';

/** One column of a Table. Priority 0 columns show by default, priority 1 with `-o wide`. */
export interface TableColumnDefinition {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

/** A `Table` row. */
export interface TableRow {
  cells: (string | number)[];
  object?: unknown;
  conditions?: { type: string; status: string; reason?: string; message?: string }[];
}

/** A `meta.k8s.io` `Table`. */
export interface Table {
  kind: 'Table';
  apiVersion: string;
  metadata: { resourceVersion?: string };
  columnDefinitions: TableColumnDefinition[];
  rows: TableRow[];
}

/** The node name podvisor reports for its pods. */
export const NODE_NAME = 'podvisor';

const col = (name: string, description: string, priority = 0, format = ''): TableColumnDefinition => ({
  name, type: 'string', format, description, priority,
});

const NAME_DESCRIPTION = 'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names';
const AGE_DESCRIPTION = 'CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.';

/** The pod columns of `kubectl get pods` (wide columns at priority 1). */
export const POD_COLUMNS: readonly TableColumnDefinition[] = [
  col('Name', NAME_DESCRIPTION, 0, 'name'),
  col('Ready', 'The aggregate readiness state of this pod for accepting traffic.'),
  col('Status', 'The aggregate status of the containers in this pod.'),
  col('Restarts', 'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.'),
  col('Age', AGE_DESCRIPTION),
  col('IP', 'podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.', 1),
  col('Node', 'NodeName indicates in which node this pod is scheduled.', 1),
  col('Nominated Node', 'nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods.', 1),
  col('Readiness Gates', 'If specified, all readiness gates will be evaluated for pod readiness.', 1),
];

/** The event columns of `kubectl get events`. */
export const EVENT_COLUMNS: readonly TableColumnDefinition[] = [
  col('Last Seen', 'The time at which the most recent occurrence of this event was recorded.'),
  col('Type', 'Type of this event (Normal, Warning), new types could be added in the future'),
  col('Reason', "This should be a short, machine understandable string that gives the reason for the transition into the object's current status."),
  col('Object', 'The object that this event is about.'),
  col('Subobject', 'If the referent is a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement.', 1),
  col('Source', 'The component reporting this event. Should be a short machine understandable string.', 1),
  col('Message', 'A human-readable description of the status of this operation.'),
  col('First Seen', 'The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)', 1),
  col('Count', 'The number of times this event has occurred.', 1),
  col('Name', NAME_DESCRIPTION, 1, 'name'),
];

/** The `Name` column every kind starts with. */
export const NAME_COLUMN: TableColumnDefinition = col('Name', NAME_DESCRIPTION, 0, 'name');
/** The `Age` column. */
export const AGE_COLUMN: TableColumnDefinition = col('Age', AGE_DESCRIPTION);

/** A default-priority column of `type` (`string`, `integer`). */
export function simpleColumn(name: string, type: string, description: string): TableColumnDefinition {
  return { name, type, format: '', description, priority: 0 };
}

/** The namespace columns of `kubectl get namespaces`. */
export const NAMESPACE_COLUMNS: readonly TableColumnDefinition[] = [
  col('Name', NAME_DESCRIPTION, 0, 'name'),
  col('Status', 'The status of the namespace'),
  col('Age', AGE_DESCRIPTION),
];

/** The node a pod runs on: `spec.nodeName`, else podvisor's node once the pod is scheduled, else "". */
export function podNodeName(pod: Pod): string {
  if (pod.spec.nodeName) return pod.spec.nodeName;
  const scheduled = pod.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.status === 'True') === true;
  return scheduled || pod.status?.startTime !== undefined ? NODE_NAME : '';
}

function age(ts: unknown, now: number): string {
  if (typeof ts !== 'string' || ts === '') return '<unknown>';
  const t = Date.parse(ts);
  return Number.isNaN(t) ? '<unknown>' : shortAge(now - t);
}

function readinessGates(pod: Pod): string {
  const gates = pod.spec.readinessGates ?? [];
  if (gates.length === 0) return '<none>';
  const ok = gates.filter((g) => pod.status?.conditions?.some((c) => c.type === g.conditionType && c.status === 'True')).length;
  return `${ok}/${gates.length}`;
}

/** The cells of a pod's row: Name, Ready, Status, Restarts, Age, IP, Node, Nominated Node, Readiness Gates. */
export function podCells(pod: Pod, now: number): string[] {
  return [
    pod.metadata.name ?? '',
    readyColumn(pod),
    podStatusColumn(pod),
    restartsColumn(pod, now),
    age(pod.metadata.creationTimestamp, now),
    pod.status?.podIPs?.[0]?.ip || pod.status?.podIP || '<none>',
    podNodeName(pod) || '<none>',
    '<none>',
    readinessGates(pod),
  ];
}

function rowObject(obj: { metadata: unknown }, include: IncludeObject): unknown {
  if (include === 'None') return undefined;
  if (include === 'Object') return obj;
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata };
}

function row(cells: (string | number)[], obj: { metadata: unknown }, include: IncludeObject): TableRow {
  const r: TableRow = { cells };
  const o = rowObject(obj, include);
  if (o !== undefined) r.object = o;
  return r;
}

/** A pod's Table row, with the `Completed` row condition of a terminal pod. */
export function podRow(pod: Pod, now: number, include: IncludeObject): TableRow {
  const r = row(podCells(pod, now), pod, include);
  if (pod.status?.phase === 'Succeeded') r.conditions = [{ type: 'Completed', status: 'True', reason: 'Succeeded', message: 'The pod has completed successfully.' }];
  if (pod.status?.phase === 'Failed') r.conditions = [{ type: 'Completed', status: 'True', reason: 'Failed', message: 'The pod failed.' }];
  return r;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** An event's Table row. */
export function eventRow(e: EventObject, now: number, include: IncludeObject): TableRow {
  const last = str(e['lastTimestamp']) || str(e['eventTime']);
  const first = str(e['firstTimestamp']) || str(e['eventTime']);
  const src = (e['source'] ?? {}) as { component?: string; host?: string };
  const source = src.component
    ? [src.component, src.host].filter((x) => x).join(', ')
    : [str(e['reportingComponent']), str(e['reportingInstance'])].filter((x) => x).join(', ');
  const count = typeof e['count'] === 'number' ? e['count'] : 1;
  const io = e.involvedObject;
  return row([
    age(last, now),
    str(e['type']),
    str(e['reason']),
    `${String(io.kind ?? '').toLowerCase()}/${io.name ?? ''}`,
    io.fieldPath ?? '',
    source,
    str(e['message']).trim(),
    age(first, now),
    count,
    e.metadata.name,
  ], e, include);
}

/** A row of `Name`, the given cells, `Age` (ConfigMaps, Secrets). */
export function objectRow(obj: { metadata: { name?: string; creationTimestamp?: string } }, cells: (string | number)[], now: number, include: IncludeObject): TableRow {
  return row([obj.metadata.name ?? '', ...cells, age(obj.metadata.creationTimestamp, now)], obj, include);
}

/** A namespace's Table row. */
export function namespaceRow(ns: { metadata: { name: string; creationTimestamp?: string }; status: { phase: string } }, now: number, include: IncludeObject): TableRow {
  return row([ns.metadata.name, ns.status.phase, age(ns.metadata.creationTimestamp, now)], ns, include);
}

/** Wraps rows into a Table of `apiVersion` (`meta.k8s.io/v1` or `meta.k8s.io/v1beta1`). */
export function table(apiVersion: string, columns: readonly TableColumnDefinition[], rows: TableRow[], resourceVersion?: string): Table {
  const t: Table = { kind: 'Table', apiVersion, metadata: {}, columnDefinitions: [...columns], rows };
  if (resourceVersion !== undefined) t.metadata.resourceVersion = resourceVersion;
  return t;
}
