/**
 * The Pod kind as served: names, printing, field selectors and decoding. What a pod write
 * does is in `registry/pods.ts`.
 */
import { decodePod, POD_INTEGER_KEYS } from '../../api/decode.js';
import type { Pod } from '../../api/types.js';
import type { KindDef } from '../registry/types.js';
import { podNodeName, podRow, POD_COLUMNS } from '../table.js';

const UNKNOWN_FIELD = 'unknown field "';

/** The Pod kind. */
export const POD_KIND: KindDef<Pod> = {
  kind: 'Pod',
  resource: 'pods',
  singular: 'pod',
  apiVersion: 'v1',
  namespaced: true,
  shortNames: ['po'],
  categories: ['all'],
  verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
  columns: POD_COLUMNS,
  row: podRow,
  fields: new Set(['spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'spec.hostNetwork', 'status.phase', 'status.podIP', 'status.nominatedNodeName']),
  field(pod, f) {
    switch (f) {
      case 'spec.nodeName': return podNodeName(pod);
      case 'spec.restartPolicy': return pod.spec.restartPolicy ?? '';
      case 'spec.schedulerName': return 'default-scheduler';
      case 'spec.serviceAccountName': return '';
      case 'spec.hostNetwork': return 'false';
      case 'status.phase': return pod.status?.phase ?? '';
      case 'status.podIP': return pod.status?.podIP ?? '';
      default: return '';
    }
  },
  integerKeys: POD_INTEGER_KEYS,
  decode(body, literals) {
    const d = decodePod(body, literals ? { literals } : {});
    return { obj: d.pod, errors: d.errors.filter((e) => e.type === 'TypeInvalid'), unknown: d.warnings.filter((w) => w.startsWith(UNKNOWN_FIELD)) };
  },
};
