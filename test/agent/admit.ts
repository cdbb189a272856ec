/**
 * A pod as the API server's registry hands it to the agent: decoded, defaulted, validated,
 * named, with a uid and a creationTimestamp. Agent tests create pods through this, as the
 * registry does; the admission rules themselves are tested with the registry (test/server).
 */
import { randomUUID } from 'node:crypto';
import { checkDecodedPod } from '../../src/api/load.js';
import { decodePod } from '../../src/api/decode.js';
import { formatTimestamp } from '../../src/api/time.js';
import type { Pod } from '../../src/api/types.js';

/** Admits a manifest; throws on a manifest the API would refuse (a broken test). */
export function admitted(manifest: unknown, now = Date.now()): Pod {
  const { pod, errors } = checkDecodedPod(decodePod(manifest), { create: true });
  if (errors.length > 0) throw new Error(`test manifest is invalid: ${JSON.stringify(errors)}`);
  pod.metadata.namespace ??= 'default';
  pod.metadata.uid = randomUUID();
  pod.metadata.creationTimestamp = formatTimestamp(now);
  return pod;
}
