/**
 * The `oci` runtime's {@link ImageService}: pulls into the shared image store (`store.ts`,
 * `pull.ts`) and unpacks every layer into the layer store (`unpack.ts`) before the image counts
 * as present, as containerd's "pull and unpack" does. Pulls of the same reference in this
 * process are done once.
 */
import type { ImageProcessConfig } from '../../api/oci.js';
import { ImagePullError, type ImageService, type PulledImage, type PullOptions } from '../types.js';
import { parseDockerConfig } from './credentials.js';
import { PullError } from './errors.js';
import { pullImage, type Platform } from './pull.js';
import { formatImageRef, parseImageRef } from './reference.js';
import type { RegistryClient } from './registry.js';
import type { ImageRecord, ImageStore } from './store.js';
import type { LayerStore } from './unpack.js';
import { collectImages, touchImage, type ImageGcPolicy } from './image-gc.js';

/** Options of {@link OciImages}. */
export interface OciImagesOptions {
  store: ImageStore;
  layers: LayerStore;
  client: RegistryClient;
  platform?: Platform;
  /** Garbage collection after each pull (see image-gc.ts); absent: none. */
  gc?: ImageGcPolicy;
  /** Where a collection's outcome is logged. */
  log?: (msg: string, fields?: object) => void;
}

/** Pull and look-up of images for the `oci` runtime (see the module comment). */
export class OciImages implements ImageService {
  private readonly inflight = new Map<string, Promise<{ image: PulledImage; fetchedBytes: number }>>();

  constructor(private readonly o: OciImagesOptions) {}

  /** The store the images live in. */
  get store(): ImageStore {
    return this.o.store;
  }

  /** The layer store the images are unpacked into. */
  get layers(): LayerStore {
    return this.o.layers;
  }

  normalise(image: string): { name: string } | { error: string } {
    const ref = parseImageRef(image);
    return 'error' in ref ? { error: ref.error } : { name: formatImageRef(ref) };
  }

  async local(name: string): Promise<PulledImage | undefined> {
    const rec = await this.o.store.getImage(name);
    if (!rec || !rec.layers.every((l) => this.o.layers.has(l.digest))) return undefined;
    touchImage(this.o.store, name); // a start is coming: not collected before it records itself
    return this.pulledOf(rec).catch(() => undefined);
  }

  pull(name: string, opts: PullOptions = {}): Promise<{ image: PulledImage; fetchedBytes: number }> {
    // Pulls of one image join, unless their credentials differ (a pull with a pod's secrets
    // must not be answered by one without them, nor the other way round).
    const key = `${name}\n${JSON.stringify(opts.pullSecrets ?? [])}`;
    const running = this.inflight.get(key);
    if (running) return running;
    const p = this.pullNow(name, opts).finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }

  private async pullNow(name: string, opts: PullOptions): Promise<{ image: PulledImage; fetchedBytes: number }> {
    // Room first (the store is about to grow), never at the expense of the image pulled.
    touchImage(this.o.store, name);
    await this.collect();
    try {
      const secrets = (opts.pullSecrets ?? []).map((text, i) => parseDockerConfig(text, `image pull secret ${i + 1}`));
      const res = await pullImage(this.o.client.withCredentials(secrets), this.o.store, name, {
        ...(this.o.platform ? { platform: this.o.platform } : {}),
        onProgress: (p) => opts.onProgress?.({ blob: p.digest.slice(7, 19), kind: p.kind, done: p.done, total: p.total }),
      });
      for (const l of res.image.layers) await this.o.layers.unpack(l);
      return { image: await this.pulledOf(res.image), fetchedBytes: res.fetchedBytes };
    } catch (err) {
      if (err instanceof PullError) throw new ImagePullError(err.kind === 'InvalidImageName' ? 'InvalidImageName' : 'ErrImagePull', err.message);
      throw new ImagePullError('ErrImagePull', err instanceof Error ? err.message : String(err));
    }
  }

  /** Garbage collection (see image-gc.ts) under the configured policy; never throws. */
  async collect(): Promise<void> {
    if (!this.o.gc) return;
    try {
      const r = await collectImages(this.o.store, this.o.layers, this.o.gc);
      if (r.removedImages.length > 0 || r.removedLayers > 0 || r.removedBlobs > 0) this.o.log?.('image garbage collection', { ...r });
    } catch (err) {
      this.o.log?.('image garbage collection failed', { error: err instanceof Error ? err.message : String(err) });
    }
  }

  private async pulledOf(rec: ImageRecord): Promise<PulledImage> {
    const doc = JSON.parse((await this.o.store.read(rec.config.digest)).toString('utf8')) as { config?: ImageProcessConfig | null };
    const c = doc.config ?? {};
    const config: ImageProcessConfig = {};
    if (Array.isArray(c.Entrypoint)) config.Entrypoint = c.Entrypoint.filter((x) => typeof x === 'string');
    if (Array.isArray(c.Cmd)) config.Cmd = c.Cmd.filter((x) => typeof x === 'string');
    if (Array.isArray(c.Env)) config.Env = c.Env.filter((x) => typeof x === 'string');
    if (typeof c.WorkingDir === 'string') config.WorkingDir = c.WorkingDir;
    if (typeof c.User === 'string') config.User = c.User;
    return { name: rec.name, imageID: rec.repoDigest, config, size: rec.size, layers: rec.layers.map((l) => l.digest) };
  }
}
