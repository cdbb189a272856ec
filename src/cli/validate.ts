/**
 * `podvisor validate -f FILE...`: checks manifests the way a Kubernetes 1.36 API server would
 * on create, plus podvisor's annotations, without running anything: Pods, and the Namespaces,
 * ConfigMaps and Secrets a bundle gives them.
 *
 * Output, per object in file order: `pod/NAME valid` (`namespace/`, `configmap/`, `secret/`)
 * on stdout (its warnings first, on stderr, as `Warning: <text>` like kubectl), or on stderr
 * kubectl's rendering of the 422 response: `The Pod "NAME" is invalid: <error>`, or for
 * several errors the line `The Pod "NAME" is invalid:` followed by one
 * `* <path>: <type>[: <value>]: <detail>` line each (`The ConfigMap "NAME" ...` for the others).
 * File-level problems (unreadable file, YAML syntax, unsupported kind) print
 * `error: <file>:<line>:<col>: <message>` on stderr.
 *
 * Exit code: 0 when every object is valid, 1 when some object is invalid, 2 when a file cannot
 * be read or parsed (this wins over 1).
 */
import { readFile } from 'node:fs/promises';
import { decodeManifestBytes, formatInvalidPod, renderManifestError } from '../api/index.js';
import { formatInvalidObject, loadManifests } from '../api/load.js';

/** Where the command writes; the process streams by default (tests may substitute). */
export interface Output {
  out: (text: string) => void;
  err: (text: string) => void;
}

const processOutput: Output = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
};

async function readStdin(): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks);
}

function describeReadError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e && e.code === 'ENOENT') return 'no such file or directory';
  if (e && e.code === 'EISDIR') return 'is a directory';
  if (e && e.code === 'EACCES') return 'permission denied';
  return e instanceof Error ? e.message : String(err);
}

/**
 * Validates the given files (`-` is standard input) and returns the exit code (0, 1 or 2).
 * Never throws for bad input.
 */
export async function runValidate(files: readonly string[], output: Output = processOutput): Promise<number> {
  let code = 0;
  if (files.length === 0) {
    output.err('error: must specify at least one file with -f\n');
    return 2;
  }
  for (const file of files) {
    const source = file === '-' ? '<stdin>' : file;
    let bytes: Uint8Array;
    try {
      bytes = file === '-' ? await readStdin() : await readFile(file);
    } catch (err) {
      output.err(`error: ${source}: cannot read: ${describeReadError(err)}\n`);
      code = 2;
      continue;
    }
    const decoded = decodeManifestBytes(bytes, source);
    if (!decoded.ok) {
      output.err(`error: ${renderManifestError(decoded.error)}\n`);
      code = 2;
      continue;
    }
    const result = loadManifests(decoded.text, source);
    // Report in file order: objects and file-level errors interleaved by document (and line, for List items).
    type Item = { document: number; line: number; write: () => void };
    const items: Item[] = [];
    for (const e of result.errors) {
      items.push({ document: e.document ?? -1, line: e.line ?? 0, write: () => output.err(`error: ${renderManifestError(e)}\n`) });
      code = 2;
    }
    const checked = [
      ...result.pods.map((p) => ({ ...p, kind: 'Pod', invalid: () => formatInvalidPod(p.name, p.errors) })),
      ...result.objects.map((o) => ({ ...o, invalid: () => formatInvalidObject(o.kind, o.name, o.errors) })),
    ];
    for (const o of checked) {
      items.push({
        document: o.document,
        line: o.line ?? 0,
        write: () => {
          for (const w of o.warnings) output.err(`Warning: ${w}\n`);
          if (o.errors.length === 0) output.out(`${o.kind.toLowerCase()}/${o.name} valid\n`);
          else output.err(`${o.invalid()}\n`);
        },
      });
      if (o.errors.length > 0 && code === 0) code = 1;
    }
    items.sort((a, b) => a.document - b.document || a.line - b.line);
    for (const it of items) it.write();
    if (result.errors.length === 0 && checked.length === 0) {
      output.err(`error: ${source}: no objects found\n`);
      code = 2;
    }
  }
  return code;
}
