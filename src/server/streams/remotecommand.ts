/**
 * The remote-command session (`kubectl exec`, `attach`) independent of its transport: the
 * client's stdin and terminal sizes go to the command, its output to the client, and when it
 * ends the error channel carries the outcome: a `Status` (JSON) from protocol version 4 on,
 * with reason `NonZeroExitCode` and the code as an `ExitCode` cause, which kubectl turns into
 * `command terminated with exit code N` and its own exit code; plain text before version 4.
 * Mirrors the kubelet's `ServeExec` (pkg/kubelet/cri/streaming/remotecommand) and the API
 * server's stream translator.
 */
import { pipeline } from 'node:stream/promises';
import type { Readable, Writable } from 'node:stream';
import type { Status } from '../../api/errors.js';
import type { ExecStream, ExecStreamExit, TerminalSize } from '../../agent/node-api.js';

/** The client's side of a session, whatever carries it (WebSocket channels or SPDY streams). */
export interface RemoteCommandStreams {
  /** Remote-command protocol version (1–5): from 4 on the error channel carries a `Status`. */
  version: number;
  stdin?: Readable;
  stdout?: Writable;
  stderr?: Writable;
  /** JSON `{"Width":…,"Height":…}` objects, one after another. */
  resize?: Readable;
  /** Writes the session's outcome on the error channel. */
  writeError(data: Buffer): Promise<void>;
  /** Ends the session once the outcome is written (the transport's graceful close). */
  finish(): void;
  /** Resolves when the client has gone (the connection closed). */
  closed: Promise<void>;
}

/** The outcome of a command as the kubelet reports it (`Status` JSON, compact). */
export function execStatus(command: readonly string[], exit: ExecStreamExit): Status {
  if (exit.exitCode === 0) return { metadata: {}, status: 'Success' } as unknown as Status;
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: command '${command.join(' ')}' exited with ${exit.exitCode}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(exit.exitCode) }] },
  } as unknown as Status;
}

/** An internal error on the error channel (the command could not be run). */
export function execErrorStatus(message: string): Status {
  return { metadata: {}, status: 'Failure', message: `Internal error occurred: ${message}`, reason: 'InternalError', details: { causes: [{ message }] }, code: 500 } as unknown as Status;
}

/** The error channel's bytes for `status` under protocol `version` (text before v4, nothing for a v1–3 success). */
export function errorChannelBytes(version: number, status: Status): Buffer | undefined {
  if (version >= 4) return Buffer.from(JSON.stringify(status));
  return status.status === 'Success' ? undefined : Buffer.from(status.message ?? 'error');
}

/** Largest resize message kept while waiting for its end (a terminal size is ~30 bytes). */
const MAX_RESIZE_BYTES = 4096;

/**
 * Splits a stream of concatenated JSON objects (the resize channel) and calls `onSize` with
 * every valid size; garbage is skipped, an over-long object dropped, never thrown.
 */
export function readSizes(stream: Readable, onSize: (s: TerminalSize) => void): void {
  let buf = '';
  let depth = 0;
  let inString = false;
  let escaped = false;
  stream.on('data', (chunk: Buffer | string) => {
    const text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    for (const ch of text) {
      if (depth === 0) {
        if (ch === '{') {
          depth = 1;
          buf = '{';
        }
        continue;
      }
      buf += ch;
      if (buf.length > MAX_RESIZE_BYTES) {
        depth = 0;
        buf = '';
        inString = false;
        continue;
      }
      if (inString) {
        if (escaped) escaped = false;
        else if (ch === '\\') escaped = true;
        else if (ch === '"') inString = false;
        continue;
      }
      if (ch === '"') inString = true;
      else if (ch === '{') depth++;
      else if (ch === '}' && --depth === 0) {
        const size = parseSize(buf);
        buf = '';
        if (size) onSize(size);
      }
    }
  });
  stream.on('error', () => {});
}

function parseSize(text: string): TerminalSize | undefined {
  try {
    const v = JSON.parse(text) as Record<string, unknown>;
    const w = v['Width'] ?? v['width'];
    const h = v['Height'] ?? v['height'];
    if (typeof w !== 'number' || typeof h !== 'number') return undefined;
    if (!Number.isInteger(w) || !Number.isInteger(h) || w < 0 || h < 0 || w > 65535 || h > 65535) return undefined;
    return { width: w, height: h };
  } catch {
    return undefined;
  }
}

/** Copies `from` to `to` until `from` ends; resolves either way (a closed client is not an error here). */
async function copy(from: NodeJS.ReadableStream | undefined, to: Writable | undefined, end = true): Promise<void> {
  if (!from) return;
  if (!to) {
    from.resume();
    await new Promise<void>((resolve) => {
      from.once('end', resolve);
      from.once('close', resolve);
      from.once('error', () => resolve());
    });
    return;
  }
  await pipeline(from, to, { end }).catch(() => undefined);
}

/** Writes `text` to `to` and ends it; resolves when written (or at once when `to` is gone). */
function endWith(to: Writable | undefined, text: string | undefined): Promise<void> {
  if (!to || to.destroyed || to.writableEnded) return Promise.resolve();
  return new Promise((resolve) => {
    to.once('error', () => resolve());
    if (text !== undefined) to.write(text);
    to.end(() => resolve());
  });
}

/**
 * What a failed `kubectl cp` needs to hear: it runs `tar` in the container, and an exit 127 of
 * `tar` means the container has none (the shell's "not found" alone does not say what to do).
 */
export function missingTarHint(command: readonly string[], exit: ExecStreamExit): string | undefined {
  if (exit.exitCode !== 127 || command[0] !== 'tar') return undefined;
  return 'podvisor: kubectl cp runs tar in the container, and this container has none: use an image with tar (busybox has one), or copy through a shell: kubectl exec -i POD -- sh -c \'cat > FILE\' < FILE\n';
}

/**
 * Runs a session: wires `exec` to the client's streams, kills the command when the client goes
 * away first, and once the command has exited and its output has reached the client, writes
 * the outcome and finishes. Resolves with the exit (undefined when the client left first).
 */
export async function runRemoteCommand(exec: ExecStream, s: RemoteCommandStreams, command: readonly string[]): Promise<ExecStreamExit | undefined> {
  let gone = false;
  void s.closed.then(() => {
    gone = true;
    exec.kill();
  });
  if (exec.stdin) {
    const sink = exec.stdin;
    sink.on('error', () => {});
    if (s.stdin) s.stdin.pipe(sink as Writable);
    else sink.end();
  } else s.stdin?.resume();
  if (s.resize) readSizes(s.resize, (size) => exec.resize(size));
  const out = copy(exec.stdout, s.stdout);
  const err = copy(exec.stderr, s.stderr, false);
  const exit = await exec.exited;
  await Promise.all([out, err]);
  await endWith(s.stderr, missingTarHint(command, exit));
  s.stdin?.unpipe();
  if (gone) return undefined;
  const bytes = errorChannelBytes(s.version, execStatus(command, exit));
  if (bytes) await s.writeError(bytes).catch(() => undefined);
  s.finish();
  return exit;
}
