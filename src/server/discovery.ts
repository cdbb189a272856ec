/**
 * Discovery and OpenAPI documents: what kubectl reads before any command to learn which
 * resources exist (`/api`, `/apis`, `/api/v1`). Plain JSON: kubectl falls back from aggregated
 * discovery by itself. The OpenAPI documents are in `openapi.ts`.
 */

/** The Kubernetes version podvisor's API speaks. */
export const KUBE_MAJOR = '1';
/** The Kubernetes minor version podvisor's API speaks. */
export const KUBE_MINOR = '36';
/** Default `gitVersion` of `/version`. */
export const DEFAULT_GIT_VERSION = 'v1.36.0-podvisor';

/** `GET /api`: the legacy group's versions. */
export const API_VERSIONS = {
  kind: 'APIVersions',
  versions: ['v1'],
  serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1' }],
} as const;

/** A named API group podvisor serves: its one version and its resources. */
export interface GroupDef {
  name: string;
  version: string;
  resources: { name: string; singularName: string; namespaced: boolean; kind: string; verbs: string[] }[];
}

/**
 * The named groups: who the client is and what it may do (`kubectl auth whoami`, `auth can-i`),
 * and the resource metrics `kubectl top` reads (metrics-server's group and resources).
 */
export const GROUPS: readonly GroupDef[] = [
  { name: 'authentication.k8s.io', version: 'v1', resources: [{ name: 'selfsubjectreviews', singularName: 'selfsubjectreview', namespaced: false, kind: 'SelfSubjectReview', verbs: ['create'] }] },
  {
    name: 'authorization.k8s.io',
    version: 'v1',
    resources: [
      { name: 'selfsubjectaccessreviews', singularName: 'selfsubjectaccessreview', namespaced: false, kind: 'SelfSubjectAccessReview', verbs: ['create'] },
      { name: 'selfsubjectrulesreviews', singularName: 'selfsubjectrulesreview', namespaced: false, kind: 'SelfSubjectRulesReview', verbs: ['create'] },
    ],
  },
  {
    name: 'metrics.k8s.io',
    version: 'v1beta1',
    resources: [
      { name: 'nodes', singularName: '', namespaced: false, kind: 'NodeMetrics', verbs: ['get', 'list'] },
      { name: 'pods', singularName: '', namespaced: true, kind: 'PodMetrics', verbs: ['get', 'list'] },
    ],
  },
];

/** One group as `/apis` and `/apis/<group>` describe it. */
export function apiGroup(g: GroupDef): Record<string, unknown> {
  const v = { groupVersion: `${g.name}/${g.version}`, version: g.version };
  return { kind: 'APIGroup', apiVersion: 'v1', name: g.name, versions: [v], preferredVersion: v };
}

/** `GET /apis`: the named groups. */
export const API_GROUP_LIST = { kind: 'APIGroupList', apiVersion: 'v1', groups: GROUPS.map((g) => { const { kind: _k, apiVersion: _a, ...rest } = apiGroup(g); return rest; }) };

/** `GET /apis/<group>/<version>`: its resources. */
export function groupResourceList(g: GroupDef): Record<string, unknown> {
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: `${g.name}/${g.version}`, resources: g.resources };
}

/** What discovery needs of a served resource. */
export interface DiscoveredResource {
  def: { resource: string; singular: string; namespaced: boolean; kind: string; verbs: string[]; shortNames: string[]; categories?: string[] };
}

/** Subresources served besides the generic verbs, by resource. */
const SUBRESOURCES: Record<string, { name: string; verbs: string[]; kind?: string }[]> = {
  namespaces: [{ name: 'status', verbs: ['get'] }],
  pods: [
    { name: 'attach', verbs: ['create', 'get'], kind: 'PodAttachOptions' },
    { name: 'ephemeralcontainers', verbs: ['get', 'patch', 'update'] },
    { name: 'exec', verbs: ['create', 'get'], kind: 'PodExecOptions' },
    { name: 'log', verbs: ['get'] },
    { name: 'portforward', verbs: ['create', 'get'], kind: 'PodPortForwardOptions' },
    { name: 'recreate', verbs: ['create'] },
    { name: 'restart', verbs: ['create'] },
    { name: 'status', verbs: ['get'] },
  ],
};

/** `GET /api/v1`: the resources podvisor serves, with their subresources. */
export function apiResourceList(resources: readonly DiscoveredResource[]): Record<string, unknown> {
  const list: Record<string, unknown>[] = [];
  for (const { def } of resources) {
    const r: Record<string, unknown> = { name: def.resource, singularName: def.singular, namespaced: def.namespaced, kind: def.kind, verbs: def.verbs };
    if (def.shortNames.length > 0) r['shortNames'] = def.shortNames;
    if (def.categories) r['categories'] = def.categories;
    list.push(r);
    for (const sub of SUBRESOURCES[def.resource] ?? []) {
      list.push({ name: `${def.resource}/${sub.name}`, singularName: '', namespaced: def.namespaced, kind: sub.kind ?? def.kind, verbs: sub.verbs });
    }
  }
  return { kind: 'APIResourceList', groupVersion: 'v1', resources: list };
}

/** `GET /version` for `gitVersion` (default {@link DEFAULT_GIT_VERSION}). */
export function versionInfo(gitVersion = DEFAULT_GIT_VERSION): Record<string, string> {
  const arch: Record<string, string> = { x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x' };
  return {
    major: KUBE_MAJOR,
    minor: KUBE_MINOR,
    emulationMajor: KUBE_MAJOR,
    emulationMinor: KUBE_MINOR,
    minCompatibilityMajor: KUBE_MAJOR,
    minCompatibilityMinor: String(Number(KUBE_MINOR) - 1),
    gitVersion,
    gitCommit: '0000000000000000000000000000000000000000',
    gitTreeState: 'clean',
    buildDate: '2026-01-01T00:00:00Z',
    goVersion: `node${process.versions.node}`,
    compiler: 'node',
    platform: `${process.platform}/${arch[process.arch] ?? process.arch}`,
  };
}
