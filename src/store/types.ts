/**
 * The store's interface: what the agent may know about durable storage. The agent depends on
 * this port only (lint zone of `agent/`), never on a concrete store, so that the store can be
 * replaced (or faked in tests) without touching the agent, and the store never learns what the
 * agent keeps in a record's opaque state.
 */
import type { RestartNotice } from '../api/records.js';
import type { Pod } from '../api/types.js';

/**
 * Everything podvisor keeps about one pod. `S` is the agent's state of the pod (for
 * `podvisor serve`, core's `PodState`): the store persists it as JSON and never looks inside.
 */
export interface PodRecord<S = unknown> {
  pod: Pod;
  state: S;
  restarts: RestartNotice[];
}

/** A stored core/v1 Event: any JSON object with a name, a namespace and a resourceVersion. */
export type StoredEvent = Record<string, unknown> & { metadata: { name: string; namespace: string; resourceVersion: string } };

/**
 * Durable storage of pod records and events, with one resourceVersion counter for both. A
 * method that returns has made its change durable (crash-safe); a failing write throws the I/O
 * error and leaves the store as it was, on disk and in what it serves. Names of any length the
 * API admits can be stored. Single writer: one process owns a store.
 */
export interface PodStore<S = unknown> {
  /** The newest resourceVersion handed out. */
  readonly resourceVersion: number;
  /** Hands out the next resourceVersion (persisted with the object that uses it). */
  nextResourceVersion(): number;
  /** Every stored pod record. */
  allPods(): PodRecord<S>[];
  /** The record of one pod, or undefined. */
  getPod(namespace: string, name: string): PodRecord<S> | undefined;
  /** Stores a pod record durably (the record's pod carries its namespace, name and resourceVersion). */
  putPod(rec: PodRecord<S>): void;
  /** Removes a pod record durably (no error when absent). */
  removePod(namespace: string, name: string): void;
  /** Stores an event durably: a new one, or a newer version (count) of one stored under the same name. */
  appendEvent(e: StoredEvent): void;
  /** Whether an event of that name is still kept (not trimmed away). */
  hasEvent(namespace: string, name: string): boolean;
  /** Events of a namespace, or of all namespaces. */
  listEvents(namespace?: string): StoredEvent[];
  /** Removes every event of a namespace durably (its deletion). */
  removeEvents(namespace: string): void;
}

/**
 * A stored API object other than a pod or an event (a Namespace, a ConfigMap, a Secret): any
 * JSON object with a name, a resourceVersion and, when namespaced, a namespace.
 */
export type StoredObject = Record<string, unknown> & { metadata: { name: string; namespace?: string; resourceVersion: string } & Record<string, unknown> };

/**
 * Durable storage of API objects by resource (`namespaces`, `configmaps`, `secrets`), sharing
 * the resourceVersion counter of the pods and events. The same rules as {@link PodStore}: a
 * method that returns made its change durable; a failing write throws and changes nothing.
 * Objects are stored with mode 0600 (Secrets hold credentials).
 */
export interface ObjectStore {
  /** The newest resourceVersion handed out. */
  readonly resourceVersion: number;
  /** Hands out the next resourceVersion (persisted with the object that uses it). */
  nextResourceVersion(): number;
  /** Every stored object of a resource (`namespace` undefined for cluster-scoped ones). */
  listObjects(resource: string): StoredObject[];
  /** One object, or undefined. */
  getObject(resource: string, namespace: string | undefined, name: string): StoredObject | undefined;
  /** Stores an object durably. */
  putObject(resource: string, obj: StoredObject): void;
  /** Removes an object durably (no error when absent). */
  removeObject(resource: string, namespace: string | undefined, name: string): void;
}
