/** The Namespace kind as served: names, printing, decoding, and its strategy (defaults, validation). */
import { decodeNamespace, defaultNamespace, prepareNamespaceForUpdate, validateNamespace, validateNamespaceUpdate, type Namespace } from '../../api/namespace.js';
import type { Strategy } from '../registry/objects.js';
import type { KindDef } from '../registry/types.js';
import { NAMESPACE_COLUMNS, namespaceRow } from '../table.js';

/** The Namespace kind. */
export const NAMESPACE_KIND: KindDef<Namespace> = {
  kind: 'Namespace',
  resource: 'namespaces',
  singular: 'namespace',
  apiVersion: 'v1',
  namespaced: false,
  shortNames: ['ns'],
  verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
  columns: NAMESPACE_COLUMNS,
  row: (ns, now, include) => namespaceRow({ metadata: { name: ns.metadata.name ?? '', ...(ns.metadata.creationTimestamp ? { creationTimestamp: ns.metadata.creationTimestamp } : {}) }, status: { phase: ns.status?.phase ?? 'Active' } }, now, include),
  fields: new Set(['status.phase']),
  field: (ns, f) => (f === 'status.phase' ? (ns.status?.phase ?? '') : ''),
  decode(body) {
    const d = decodeNamespace(body);
    return { obj: d.object, errors: d.errors, unknown: d.warnings };
  },
};

/** Defaults (the name label, the `kubernetes` finalizer, `Active`) and the API server's validation. */
export const NAMESPACE_STRATEGY: Strategy<Namespace> = {
  prepareForCreate(ns) {
    const d = defaultNamespace(ns);
    ns.metadata = d.metadata;
    if (d.spec) ns.spec = d.spec;
    if (d.status) ns.status = d.status;
  },
  validate: (ns) => ({ errors: validateNamespace(ns, { create: true }), warnings: [] }),
  prepareForUpdate(next, cur) {
    const p = prepareNamespaceForUpdate(next, cur);
    next.metadata = p.metadata;
    if (p.spec) next.spec = p.spec;
    else delete next.spec;
    if (p.status) next.status = p.status;
    else delete next.status;
  },
  validateUpdate: (next, cur) => ({ errors: validateNamespaceUpdate(next, cur), warnings: [] }),
};
