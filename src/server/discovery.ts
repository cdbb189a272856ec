/**
 * Discovery and OpenAPI documents: what kubectl reads before any command to learn which
 * resources exist (`/api`, `/apis`, `/api/v1`) and whether it can leave validation to the
 * server (`/openapi/v3`). Plain JSON: kubectl falls back from aggregated discovery by itself.
 */
import { createHash } from 'node:crypto';

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

/** `GET /apis`: no named groups. */
export const API_GROUP_LIST = { kind: 'APIGroupList', apiVersion: 'v1', groups: [] as unknown[] } as const;

/** What discovery needs of a served resource. */
export interface DiscoveredResource {
  def: { resource: string; singular: string; namespaced: boolean; kind: string; verbs: string[]; shortNames: string[]; categories?: string[] };
}

/** Subresources served besides the generic verbs, by resource. */
const SUBRESOURCES: Record<string, { name: string; verbs: string[] }[]> = {
  namespaces: [{ name: 'status', verbs: ['get'] }],
  pods: [
    { name: 'log', verbs: ['get'] },
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
      list.push({ name: `${def.resource}/${sub.name}`, singularName: '', namespaced: def.namespaced, kind: def.kind, verbs: sub.verbs });
    }
  }
  return { kind: 'APIResourceList', groupVersion: 'v1', resources: list };
}

/**
 * `GET /openapi/v3/api/v1`: only the pod PATCH operation with its group-version-kind and the
 * `fieldValidation` parameter. That is what kubectl's query-param verifier looks for; finding
 * it, kubectl skips client-side schema validation and lets the server validate (strict by
 * default), so no full schema is needed.
 */
export const OPENAPI_V3_API_V1 = {
  openapi: '3.0.0',
  info: { title: 'Kubernetes', version: DEFAULT_GIT_VERSION },
  paths: {
    '/api/v1/namespaces/{namespace}/pods/{name}': {
      parameters: [
        { name: 'name', in: 'path', required: true, description: 'name of the Pod', schema: { type: 'string', uniqueItems: true } },
        { name: 'namespace', in: 'path', required: true, description: 'object name and auth scope, such as for teams and projects', schema: { type: 'string', uniqueItems: true } },
      ],
      patch: {
        tags: ['core_v1'],
        description: 'partially update the specified Pod',
        operationId: 'patchCoreV1NamespacedPod',
        parameters: [
          { name: 'dryRun', in: 'query', description: 'When present, indicates that modifications should not be persisted.', schema: { type: 'string', uniqueItems: true } },
          { name: 'fieldManager', in: 'query', description: 'fieldManager is a name associated with the actor or entity that is making these changes.', schema: { type: 'string', uniqueItems: true } },
          { name: 'fieldValidation', in: 'query', description: 'fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields. Valid values are: Ignore, Warn (default), Strict.', schema: { type: 'string', uniqueItems: true } },
          { name: 'force', in: 'query', description: 'Force is going to "force" Apply requests.', schema: { type: 'boolean', uniqueItems: true } },
        ],
        requestBody: { content: { 'application/json-patch+json': { schema: { type: 'object' } }, 'application/merge-patch+json': { schema: { type: 'object' } }, 'application/strategic-merge-patch+json': { schema: { type: 'object' } }, 'application/apply-patch+yaml': { schema: { type: 'object' } } }, required: true },
        responses: { '200': { description: 'OK' }, '201': { description: 'Created' }, '401': { description: 'Unauthorized' } },
        'x-kubernetes-action': 'patch',
        'x-kubernetes-group-version-kind': { group: '', version: 'v1', kind: 'Pod' },
      },
    },
  },
  components: { schemas: {} },
};

/** Hash of {@link OPENAPI_V3_API_V1}, used by clients as a cache key. */
export const OPENAPI_V3_HASH = createHash('sha512').update(JSON.stringify(OPENAPI_V3_API_V1)).digest('hex').slice(0, 128).toUpperCase();

/** `GET /openapi/v3`: the discovery of OpenAPI v3 documents. */
export const OPENAPI_V3_ROOT = {
  paths: { 'api/v1': { serverRelativeURL: `/openapi/v3/api/v1?hash=${OPENAPI_V3_HASH}` } },
};

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
