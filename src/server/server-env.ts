/**
 * What every handler may use of the server: the registry and the agent, the request bounds,
 * the clock and the logger, the watch limits. Built once by `createApiServer`.
 */
import type { NodeApi } from '../agent/node-api.js';
import type { Registry } from './registry/index.js';
import type { ApiLogger } from './request.js';
import type { WatchRegistry } from './watch-limits.js';

/** The server's shared state and settings, compiled once. */
export interface ServerEnv {
  registry: Registry;
  agent: NodeApi;
  /** Largest accepted request body (bytes). */
  maxBody: number;
  log: ApiLogger;
  /** Where YAML body warnings are counted. */
  bodyLog: (msg: string, fields: Record<string, unknown>) => void;
  /** Clock (epoch ms). */
  now: () => number;
  /** BOOKMARK period of watches (ms; 0: none). */
  bookmarkMs: number;
  watches: WatchRegistry;
  maxWatchBuffered: number;
  /** Safety re-check period of `logs --follow` (ms). */
  logRecheckMs: number;
  /** The store's newest resourceVersion (lists). */
  resourceVersion(): string;
  /** `gitVersion` of `/version`. */
  gitVersion: string;
  /** A stream (exec, attach, port-forward) with no traffic for this long is closed (ms; the kubelet's default is 4 h). */
  streamIdleMs: number;
  /** Prometheus exposition of `/metrics`, when served. */
  metrics?: () => Promise<{ contentType: string; body: string }>;
}
