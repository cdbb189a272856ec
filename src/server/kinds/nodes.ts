/**
 * The one core/v1 Node podvisor is, served read-only (`get`, `list`): `kubectl top node` reads
 * the Node's allocatable resources for its percentages and fails when there is no Node, and
 * discovery must list `nodes` in core/v1 so that `kubectl get nodes` means Nodes, not the
 * `metrics.k8s.io` resource of the same name. Built from the agent's node facts on every request
 * (its Ready condition's heartbeat is the request's time), never stored.
 */
import { release } from 'node:os';
import { formatTimestamp } from '../../api/time.js';
import type { NodeInfo } from '../../agent/node-api.js';
import type { DiscoveredResource } from '../discovery.js';
import type { Printer } from '../respond.js';
import { AGE_COLUMN, NAME_COLUMN, objectRow, simpleColumn } from '../table.js';

/** A core/v1 Node, as far as podvisor fills it. */
export interface Node {
  kind: 'Node';
  apiVersion: 'v1';
  metadata: { name: string; creationTimestamp: string; labels: Record<string, string> };
  spec: Record<string, never>;
  status: {
    capacity: Record<string, string>;
    allocatable: Record<string, string>;
    conditions: { type: string; status: string; reason: string; message: string; lastHeartbeatTime: string; lastTransitionTime: string }[];
    addresses: { type: string; address: string }[];
    nodeInfo: Record<string, string>;
  };
}

/** What discovery (`/api/v1`) says of Nodes. */
export const NODE_RESOURCE: DiscoveredResource = {
  def: { resource: 'nodes', singular: 'node', namespaced: false, kind: 'Node', verbs: ['get', 'list'], shortNames: ['no'] },
};

/** Go's names of Node's architectures (`GOARCH`). */
const GOARCH: Record<string, string> = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x' };

/** The well-known labels of a Node (`kubernetes.io/hostname`, `/os`, `/arch`). */
export function nodeLabels(name: string): Record<string, string> {
  const arch = GOARCH[process.arch] ?? process.arch;
  return {
    'beta.kubernetes.io/arch': arch,
    'beta.kubernetes.io/os': process.platform,
    'kubernetes.io/arch': arch,
    'kubernetes.io/hostname': name,
    'kubernetes.io/os': process.platform,
  };
}

/** The Node object of `info` at `now`; `version` is the kubelet version shown (the API's gitVersion). */
export function nodeObject(info: NodeInfo, now: number, version: string): Node {
  const addresses = [...info.addresses.map((address) => ({ type: 'InternalIP', address })), { type: 'Hostname', address: info.name }];
  return {
    kind: 'Node',
    apiVersion: 'v1',
    metadata: { name: info.name, creationTimestamp: formatTimestamp(info.since), labels: nodeLabels(info.name) },
    spec: {},
    status: {
      capacity: { ...info.allocatable },
      allocatable: { ...info.allocatable },
      conditions: [{
        type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'podvisor is posting ready status',
        lastHeartbeatTime: formatTimestamp(now), lastTransitionTime: formatTimestamp(info.since),
      }],
      addresses,
      nodeInfo: {
        machineID: '', systemUUID: '', bootID: '', kernelVersion: release(), osImage: '',
        containerRuntimeVersion: `${info.runtime}://podvisor`, kubeletVersion: version, kubeProxyVersion: '',
        operatingSystem: process.platform, architecture: GOARCH[process.arch] ?? process.arch,
      },
    },
  };
}

/** `kubectl get nodes`: Name, Status, Roles, Age, Version. */
export const NODE_PRINTER: Printer<Node> = {
  columns: [
    NAME_COLUMN,
    simpleColumn('Status', 'string', 'The status of the node'),
    simpleColumn('Roles', 'string', 'The roles of the node'),
    AGE_COLUMN,
    simpleColumn('Version', 'string', 'Kubelet Version reported by the node.'),
  ],
  row: (n, now, include) => {
    const ready = n.status.conditions.find((c) => c.type === 'Ready')?.status === 'True' ? 'Ready' : 'NotReady';
    const r = objectRow(n, [ready, '<none>'], now, include); // Name, Status, Roles, Age
    r.cells.push(n.status.nodeInfo['kubeletVersion'] ?? '');
    return r;
  },
};
