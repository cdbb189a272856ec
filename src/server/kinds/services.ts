/**
 * Services, served read-only and empty: one machine has no service network, but clients look
 * for them (`kubectl cluster-info` lists the cluster services of `kube-system`; `kubectl get
 * all` lists services), and "no resources" is the truthful answer there, where a missing
 * resource type made those commands fail.
 */
import type { KindDef } from '../registry/types.js';
import { AGE_COLUMN, NAME_COLUMN, objectRow, simpleColumn } from '../table.js';

/** A core/v1 Service as far as printing goes (none is ever stored). */
export interface Service {
  metadata: { name?: string; namespace?: string; creationTimestamp?: string; labels?: Record<string, string> };
  spec?: { type?: string; clusterIP?: string };
}

/** The Service kind (read-only). */
export const SERVICE_KIND: KindDef<Service> = {
  kind: 'Service',
  resource: 'services',
  singular: 'service',
  apiVersion: 'v1',
  namespaced: true,
  shortNames: ['svc'],
  categories: ['all'],
  verbs: ['get', 'list', 'watch'],
  columns: [
    NAME_COLUMN,
    simpleColumn('Type', 'string', 'type determines how the Service is exposed.'),
    simpleColumn('Cluster-IP', 'string', 'clusterIP is the IP address of the service.'),
    simpleColumn('External-IP', 'string', 'externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.'),
    simpleColumn('Port(s)', 'string', 'The list of ports that are exposed by this service.'),
    AGE_COLUMN,
  ],
  row: (s, now, include) => objectRow(s, [s.spec?.type ?? 'ClusterIP', s.spec?.clusterIP ?? '<none>', '<none>', '<none>'], now, include),
  fields: new Set(['spec.type', 'spec.clusterIP']),
  field: (s, f) => (f === 'spec.type' ? (s.spec?.type ?? '') : f === 'spec.clusterIP' ? (s.spec?.clusterIP ?? '') : ''),
  decode: (body) => ({ obj: body as unknown as Service, errors: [], unknown: [] }),
};
