/**
 * The object registry: every resource the API serves, by name, with one watch cache each.
 * Pods and events are the agent's (it stores and runs pods; the registry admits them and
 * keeps their watch history, fed by the agent's stored changes); namespaces, ConfigMaps and
 * Secrets are the registry's own, kept in the store.
 */
import type { EventObject } from '../../api/records.js';
import type { ConfigMap } from '../../api/config-objects.js';
import type { Secret } from '../../api/secret.js';
import type { NodeApi, Unsubscribe } from '../../agent/node-api.js';
import type { ObjectStore } from '../../store/types.js';
import { CONFIGMAP_KIND, CONFIGMAP_STRATEGY, SECRET_KIND, SECRET_STRATEGY } from '../kinds/config.js';
import { EVENT_KIND } from '../kinds/events.js';
import { SERVICE_KIND } from '../kinds/services.js';
import { NamespaceResource } from './namespaces.js';
import { StoredResource } from './objects.js';
import { PodResource } from './pods.js';
import type { ApiObject, KindDef, Resource } from './types.js';
import { WatchCache } from './watch-cache.js';

/** Events as served: read-only, recorded by the agent. */
class EventResource implements Resource<EventObject> {
  readonly def = EVENT_KIND;
  readonly cache: WatchCache<EventObject>;

  constructor(private readonly agent: NodeApi) {
    this.cache = new WatchCache<EventObject>(Number(agent.resourceVersion()));
  }

  list(namespace?: string): EventObject[] {
    return this.agent.listEvents(namespace);
  }

  get(namespace: string | undefined, name: string): EventObject | undefined {
    return this.agent.listEvents(namespace ?? 'default').find((e) => e.metadata.name === name);
  }
}

/** A read-only resource with no objects (Services: see `kinds/services.ts`). */
class EmptyResource<T extends ApiObject> implements Resource<T> {
  readonly cache: WatchCache<T>;

  constructor(readonly def: KindDef<T>, startRv: number) {
    this.cache = new WatchCache<T>(startRv);
  }

  list(): T[] {
    return [];
  }

  get(): T | undefined {
    return undefined;
  }
}

/** Options of {@link Registry}. */
export interface RegistryOptions {
  agent: NodeApi;
  store: ObjectStore;
  now: () => number;
}

/** Every served resource. */
export class Registry {
  readonly pods: PodResource;
  readonly events: EventResource;
  readonly namespaces: NamespaceResource;
  readonly configmaps: StoredResource<ConfigMap>;
  readonly secrets: StoredResource<Secret>;
  private readonly byName: Map<string, Resource>;
  private readonly agent: NodeApi;
  private unsubscribe: Unsubscribe | undefined;

  constructor(o: RegistryOptions) {
    this.agent = o.agent;
    this.namespaces = new NamespaceResource(o.store, o.now);
    this.pods = new PodResource(o.agent, this.namespaces, o.now);
    this.events = new EventResource(o.agent);
    // A stored change of a ConfigMap or Secret reaches the pods of its namespace at once.
    const onChange = (obj: { metadata: { namespace?: string } }): void => o.agent.configChanged(obj.metadata.namespace ?? 'default');
    this.configmaps = new StoredResource<ConfigMap>({ def: CONFIGMAP_KIND, strategy: CONFIGMAP_STRATEGY, store: o.store, namespaces: this.namespaces, now: o.now, onChange });
    this.secrets = new StoredResource<Secret>({ def: SECRET_KIND, strategy: SECRET_STRATEGY, store: o.store, namespaces: this.namespaces, now: o.now, onChange });
    const services = new EmptyResource(SERVICE_KIND, Number(o.agent.resourceVersion()));
    const all: Resource[] = [this.configmaps, this.events, this.namespaces, this.pods, this.secrets, services] as unknown as Resource[];
    this.byName = new Map(all.map((r) => [r.def.resource, r]));
  }

  /**
   * Subscribes to the agent's changes, creates the system namespaces (and those of stored
   * pods), and resumes namespace deletions. Call once, before serving.
   */
  start(): void {
    this.unsubscribe = this.agent.subscribe({
      pod: (e) => {
        this.pods.cache.publish(e.type, e.object, Number(e.object.metadata.resourceVersion));
        if (e.type === 'DELETED') this.namespaces.finalize(e.object.metadata.namespace ?? 'default');
      },
      event: (e) => this.events.cache.publish(e.type, e.object, Number(e.object.metadata.resourceVersion)),
    });
    const inUse = this.agent.listPods().map((p) => p.metadata.namespace ?? 'default');
    this.namespaces.start({
      deleteContent: (ns) => {
        for (const p of this.agent.listPods(ns)) if (!p.metadata.deletionTimestamp) this.agent.deletePod(ns, p.metadata.name ?? '');
        this.configmaps.removeNamespace(ns);
        this.secrets.removeNamespace(ns);
        this.agent.removeEvents(ns);
      },
      hasContent: (ns) => this.agent.listPods(ns).length > 0,
    }, inUse);
  }

  /** Stops following the agent. */
  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  /** The resource served under that name (`pods`), or undefined. */
  resource(name: string): Resource | undefined {
    return this.byName.get(name);
  }

  /** Every resource, by name (discovery). */
  all(): Resource[] {
    return [...this.byName.values()].sort((a, b) => a.def.resource.localeCompare(b.def.resource));
  }

  /** Open watches over every resource. */
  get watcherCount(): number {
    let n = 0;
    for (const r of this.byName.values()) n += r.cache.watcherCount;
    return n;
  }
}
