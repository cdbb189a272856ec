/**
 * The layer store: every layer blob unpacked on its own (`<store>/layers/sha256/<hex>/fs`, keyed
 * by the blob's digest and shared by every image that has it) in overlayfs's own format, so a
 * container's root file system is an overlay mount of its image's layers (see rootfs.ts).
 *
 * GNU tar does the unpacking (`-z`, `--zstd`; owners, modes, hard links and symlinks as stored,
 * absolute symlinks included), each layer into an empty directory: nothing of a lower layer is
 * there for an entry to be written through, and tar itself creates the archive's own symlinks
 * only after the files (its defence against links planted by the archive). Then the OCI
 * whiteouts become overlayfs's: `.wh.NAME` a character device 0/0 named `NAME`, and
 * `.wh..wh..opq` the `trusted.overlay.opaque` attribute of its directory (`setfattr`). Device
 * nodes of the layer are skipped when podvisor is not root. A layer is unpacked in a temporary
 * directory and renamed into place, so a crash never leaves a half layer under a digest.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { run } from '../proc-util.js';
import { layerCompression } from './media-types.js';
import type { Descriptor, ImageStore } from './store.js';

/** Tools the unpacker runs (absolute paths or names in PATH). */
export interface UnpackTools {
  tar: string;
  setfattr: string;
  mknod: string;
}

/** The default tools, found in PATH. */
export const DEFAULT_UNPACK_TOOLS: UnpackTools = { tar: 'tar', setfattr: 'setfattr', mknod: 'mknod' };

/** An unpacking that failed: the layer and what went wrong (the tool's own words). */
export class UnpackError extends Error {
  constructor(readonly layer: string, message: string, options?: { cause?: unknown }) {
    super(`layer ${layer}: ${message}`, options);
    this.name = 'UnpackError';
  }
}

/** A tool's run: as long as it takes (a layer of gigabytes takes minutes), killed after an hour. */
function runTool(argv: string[]): Promise<{ code: number; stderr: string }> {
  return run(argv, { timeoutMs: 3_600_000 });
}

/** The layer store of an image store. */
export class LayerStore {
  private readonly inflight = new Map<string, Promise<string>>();
  private readonly root: string;

  constructor(private readonly images: ImageStore, private readonly tools: UnpackTools = DEFAULT_UNPACK_TOOLS) {
    this.root = path.join(images.root, 'layers');
  }

  /** The unpacked tree of a layer (whether or not it is there). */
  dirOf(digest: string): string {
    const m = /^sha256:([a-f0-9]{64})$/.exec(digest);
    if (!m?.[1]) throw new UnpackError(digest, 'not a sha256 digest');
    return path.join(this.root, 'sha256', m[1], 'fs');
  }

  /** True when the layer is unpacked. */
  has(digest: string): boolean {
    return fs.existsSync(this.dirOf(digest));
  }

  /** Unpacks a stored layer blob unless it is unpacked; concurrent calls share one. Resolves to its tree. */
  unpack(layer: Descriptor): Promise<string> {
    const dest = this.dirOf(layer.digest);
    if (fs.existsSync(dest)) return Promise.resolve(dest);
    const running = this.inflight.get(layer.digest);
    if (running) return running;
    const p = this.unpackNow(layer, dest).finally(() => this.inflight.delete(layer.digest));
    this.inflight.set(layer.digest, p);
    return p;
  }

  private async unpackNow(layer: Descriptor, dest: string): Promise<string> {
    const compression = layerCompression(layer.mediaType);
    if (compression === undefined) throw new UnpackError(layer.digest, `unsupported media type ${JSON.stringify(layer.mediaType)}`);
    const blob = this.images.blobPath(layer.digest);
    if (!fs.existsSync(blob)) throw new UnpackError(layer.digest, 'the blob is not in the image store (pull the image again)');
    // Private: as root the layers keep their owners, setuid bits and device nodes, which no
    // other local user may reach (containerd's snapshot root is private too). overlayfs reads
    // lower layers with the mounter's credentials, so containers are not affected.
    await fsp.mkdir(this.root, { recursive: true, mode: 0o700 });
    await fsp.chmod(this.root, 0o700);
    const tmpRoot = path.join(this.root, 'tmp');
    await fsp.mkdir(tmpRoot, { recursive: true, mode: 0o700 });
    const tmp = path.join(tmpRoot, `${layer.digest.slice(7, 19)}-${randomBytes(4).toString('hex')}`);
    const tree = path.join(tmp, 'fs');
    await fsp.mkdir(tree, { recursive: true, mode: 0o755 });
    try {
      const root = process.getuid?.() === 0;
      const argv = [this.tools.tar, '--extract', '--file', blob, '--directory', tree, '--numeric-owner', '--preserve-permissions',
        '--xattrs', '--xattrs-include=*', root ? '--same-owner' : '--no-same-owner', '--no-overwrite-dir'];
      if (compression === 'gzip') argv.push('--gzip');
      if (compression === 'zstd') argv.push('--zstd');
      const r = await runTool(argv);
      if (r.code !== 0) {
        // Unprivileged, device nodes cannot be made: those (and only those) are skipped.
        const problems = r.stderr.split('\n').filter((l) => l.trim() !== '' && !/Cannot mknod: Operation not permitted|Exiting with failure status due to previous errors/.test(l));
        if (root || r.code !== 2 || problems.length > 0) throw new UnpackError(layer.digest, `tar: ${(problems.join('; ') || r.stderr).trim() || `exit ${r.code}`}`);
      }
      await this.convertWhiteouts(layer.digest, tree);
      await fsp.mkdir(path.dirname(path.dirname(dest)), { recursive: true, mode: 0o700 });
      try {
        await fsp.rename(tmp, path.dirname(dest));
      } catch (err) {
        // Unpacked meanwhile by another process: theirs stays.
        if (!fs.existsSync(dest)) throw err;
      }
      return dest;
    } finally {
      await fsp.rm(tmp, { recursive: true, force: true });
    }
  }

  /** OCI whiteouts to overlayfs whiteouts (see the module comment). */
  private async convertWhiteouts(digest: string, tree: string): Promise<void> {
    const entries = (await walk(tree)).filter((p) => path.basename(p).startsWith('.wh.'));
    // Deepest first, so a whiteout inside a directory that is itself replaced is handled before it.
    entries.sort((a, b) => b.length - a.length);
    for (const rel of entries) {
      const file = path.join(tree, rel);
      const dir = path.dirname(file);
      const name = path.basename(rel);
      await fsp.rm(file, { force: true });
      if (name === '.wh..wh..opq') {
        const r = await runTool([this.tools.setfattr, '-n', 'trusted.overlay.opaque', '-v', 'y', dir]);
        if (r.code !== 0) throw new UnpackError(digest, `cannot mark ${path.relative(tree, dir) || '/'} opaque: ${r.stderr.trim() || `exit ${r.code}`}${r.code === 127 ? ' (apt-get install attr)' : ''}`);
        continue;
      }
      const target = path.join(dir, name.slice('.wh.'.length));
      await fsp.rm(target, { recursive: true, force: true });
      const r = await runTool([this.tools.mknod, '-m', '0', target, 'c', '0', '0']);
      if (r.code !== 0) throw new UnpackError(digest, `cannot make the whiteout of ${path.relative(tree, target)}: ${r.stderr.trim() || `exit ${r.code}`}`);
    }
  }
}

/**
 * Every path under `root`, relative, never through a symlink (Node 20's recursive `readdir`
 * follows symlinked directories: an absolute `lib -> /usr/lib` would walk the host).
 */
async function walk(root: string): Promise<string[]> {
  const out: string[] = [];
  const dirs = [''];
  for (let rel = dirs.pop(); rel !== undefined; rel = dirs.pop()) {
    for (const e of await fsp.readdir(path.join(root, rel), { withFileTypes: true })) {
      const p = rel === '' ? e.name : path.join(rel, e.name);
      out.push(p);
      if (e.isDirectory()) dirs.push(p);
    }
  }
  return out;
}
