/**
 * Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`), as kubectl's typed
 * commands send them (`create namespace|configmap|secret`, `auth whoami`, `auth can-i`), decoded
 * into the plain JSON value the JSON encoding of the same object would be, so that everything
 * after the body's decoding is the same for both encodings.
 *
 * A body is the magic prefix `k8s\0` and a `runtime.Unknown`: the object's `apiVersion` and
 * `kind`, and its own protobuf encoding in `raw` (the Unknown's `contentEncoding` and
 * `contentType` are ignored, as the API server's protobuf serializer ignores them). Which
 * messages exist and how their fields map to JSON is data (`protobuf/messages.ts`, derived from
 * upstream's types.go and generated.proto); kinds outside {@link PROTOBUF_KINDS} are refused.
 *
 * Nothing a malformed body contains makes this throw anything but a
 * {@link ProtobufDecodeError}, recurse deeper than `maxDepth`, or build more JSON than
 * `maxJsonBytes` (see `protobuf/decode.ts`).
 */
import { MAX_NESTING_DEPTH } from '../api/parse.js';
import { MessageDecoder } from './protobuf/decode.js';
import { messageSpec, PROTOBUF_KINDS } from './protobuf/schema.js';
import { ProtobufDecodeError } from './protobuf/wire.js';

export { PROTOBUF_KINDS } from './protobuf/schema.js';
export { ProtobufDecodeError, type ProtobufTarget } from './protobuf/wire.js';

/** The media type of Kubernetes protobuf. */
export const KUBERNETES_PROTOBUF = 'application/vnd.kubernetes.protobuf';

/** The magic prefix of every Kubernetes protobuf body: `k8s` and a zero byte. */
export const PROTOBUF_PREFIX: readonly number[] = [0x6b, 0x38, 0x73, 0x00];

/** Options of {@link decodeKubernetesProtobuf}. */
export interface ProtobufDecodeOptions {
  /** JSON nesting bound, the top-level object being level 1 (default: the server's `MAX_BODY_NESTING`). */
  maxDepth?: number;
  /** The produced JSON may be about this many bytes (default 6 MiB, twice the API server's body limit). */
  maxJsonBytes?: number;
}

/** A decoded body. */
export interface DecodedProtobuf {
  /** The envelope's apiVersion ('' when the body did not say). */
  apiVersion: string;
  kind: string;
  /**
   * The object as its JSON encoding would be: `kind` and `apiVersion` (left out when empty, as
   * Go's `omitempty` does) and the fields.
   */
  object: Record<string, unknown>;
}

const DEFAULT_MAX_JSON_BYTES = 6 * 1024 * 1024;

/** Decodes a Kubernetes protobuf body; throws {@link ProtobufDecodeError} for what cannot be decoded. */
export function decodeKubernetesProtobuf(body: Uint8Array, opts: ProtobufDecodeOptions = {}): DecodedProtobuf {
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const prefix = PROTOBUF_PREFIX.length;
  if (buf.length === 0) throw new ProtobufDecodeError('empty data');
  if (buf.length < prefix || PROTOBUF_PREFIX.some((b, i) => buf[i] !== b)) {
    throw new ProtobufDecodeError(`provided data does not appear to be a protobuf message, expected prefix [${PROTOBUF_PREFIX.join(' ')}]`);
  }
  if (buf.length === prefix) throw new ProtobufDecodeError('empty body');
  const dec = new MessageDecoder({ maxDepth: opts.maxDepth ?? MAX_NESTING_DEPTH, maxJsonBytes: opts.maxJsonBytes ?? DEFAULT_MAX_JSON_BYTES });

  const { apiVersion, kind, raw } = dec.envelope(buf, prefix, buf.length);
  if (kind === '') throw new ProtobufDecodeError(`Object 'Kind' is missing in 'runtime.TypeMeta{APIVersion:${JSON.stringify(apiVersion)}, Kind:""}'`);
  const k = Object.hasOwn(PROTOBUF_KINDS, kind) ? PROTOBUF_KINDS[kind] : undefined;
  if (!k || (apiVersion !== '' && k.apiVersions !== undefined && !k.apiVersions.includes(apiVersion))) {
    const known = Object.keys(PROTOBUF_KINDS).join(', ');
    throw new ProtobufDecodeError(`no kind ${JSON.stringify(kind)} is registered for version ${JSON.stringify(apiVersion)} in podvisor's protobuf decoder (it decodes ${known}; send other kinds as JSON)`);
  }

  let fields: Record<string, unknown>;
  try {
    fields = dec.object(messageSpec(k.message), buf, raw);
  } catch (err) {
    if (err instanceof ProtobufDecodeError) throw new ProtobufDecodeError(err.message, { kind, apiVersion });
    throw err;
  }
  const object: Record<string, unknown> = { kind };
  if (apiVersion !== '') object.apiVersion = apiVersion;
  return { apiVersion, kind, object: Object.assign(object, fields) };
}
