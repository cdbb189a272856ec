/** The core/v1 Event kind as served (read-only: the agent records events). */
import type { EventObject } from '../../api/records.js';
import type { KindDef } from '../registry/types.js';
import { EVENT_COLUMNS, eventRow } from '../table.js';

/** The Event kind. */
export const EVENT_KIND: KindDef<EventObject> = {
  kind: 'Event',
  resource: 'events',
  singular: 'event',
  apiVersion: 'v1',
  namespaced: true,
  shortNames: ['ev'],
  verbs: ['get', 'list', 'watch'],
  columns: EVENT_COLUMNS,
  row: eventRow,
  fields: new Set([
    'involvedObject.kind', 'involvedObject.namespace', 'involvedObject.name', 'involvedObject.uid', 'involvedObject.apiVersion',
    'involvedObject.resourceVersion', 'involvedObject.fieldPath', 'reason', 'reportingComponent', 'source', 'type',
  ]),
  field(e, f) {
    if (f.startsWith('involvedObject.')) {
      const v = (e.involvedObject as Record<string, unknown>)[f.slice('involvedObject.'.length)];
      return typeof v === 'string' ? v : '';
    }
    if (f === 'source') return (e['source'] as { component?: string } | undefined)?.component ?? '';
    const v = e[f];
    return typeof v === 'string' ? v : '';
  },
  decode(body) {
    return { obj: body as unknown as EventObject, errors: [], unknown: [] };
  },
};
