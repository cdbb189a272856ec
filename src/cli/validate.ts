/**
 * `podvisor validate -f FILE...`: checks manifests the way a Kubernetes 1.36 API server would
 * on create, plus podvisor's annotations, without running anything.
 *
 * Output, per Pod in file order: `pod/NAME valid` on stdout (its warnings first, on stderr, as
 * `Warning: <text>` like kubectl), or on stderr kubectl's rendering of the 422 response:
 * `The Pod "NAME" is invalid: <error>`, or for several errors the line
 * `The Pod "NAME" is invalid:` followed by one `* <path>: <type>[: <value>]: <detail>` line each.
 * File-level problems (unreadable file, YAML syntax, wrong kind) print
 * `error: <file>:<line>:<col>: <message>` on stderr.
 *
 * Exit code: 0 when every pod is valid, 1 when some pod is invalid, 2 when a file cannot be
 * read or parsed (this wins over 1).
 */
import { readFile } from 'node:fs/promises';
import { decodeManifestBytes, formatInvalidPod, loadPods, renderManifestError } from '../api/index.js';

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
    const result = loadPods(decoded.text, source);
    // Report in file order: pods and file-level errors interleaved by document.
    type Item = { document: number; write: () => void };
    const items: Item[] = [];
    for (const e of result.errors) {
      items.push({ document: e.document ?? -1, write: () => output.err(`error: ${renderManifestError(e)}\n`) });
      code = 2;
    }
    for (const p of result.pods) {
      items.push({
        document: p.document,
        write: () => {
          for (const w of p.warnings) output.err(`Warning: ${w}\n`);
          if (p.errors.length === 0) output.out(`pod/${p.name} valid\n`);
          else output.err(`${formatInvalidPod(p.name, p.errors)}\n`);
        },
      });
      if (p.errors.length > 0 && code === 0) code = 1;
    }
    items.sort((a, b) => a.document - b.document);
    for (const it of items) it.write();
    if (result.errors.length === 0 && result.pods.length === 0) {
      output.err(`error: ${source}: no objects found\n`);
      code = 2;
    }
  }
  return code;
}
