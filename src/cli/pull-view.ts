/**
 * Pull progress in `podvisor run`'s live view: on a TTY one line, rewritten in place (bytes of
 * the blob being fetched and a bar), cleared before any other line is written; elsewhere one
 * line per blob once it is fetched. Also the host runtime's notice that images are not run.
 */
import type { Pod } from '../api/types.js';
import type { PullProgress } from '../runtime/types.js';
import { humanSize } from './images.js';
import type { Palette } from './view.js';

const BAR = 20;
/** Redraws at most this often (ms) on a TTY. */
const REDRAW_MS = 100;

/** A live view's writer that knows about the progress line. */
export class PullView {
  private shown = false;
  private lastDraw = -Infinity;
  private readonly done = new Set<string>();

  constructor(private readonly out: NodeJS.WritableStream, private readonly tty: boolean, private readonly p: Palette, private readonly now: () => number = Date.now) {}

  /** Writes a line of the live view (clearing the progress line first). */
  write(text: string): void {
    if (this.shown) {
      this.out.write('\r\u001b[2K');
      this.shown = false;
    }
    this.out.write(text);
  }

  /** A progress report of a pull for container `container` of pod `pod`. */
  progress(pod: string, container: string, pr: PullProgress): void {
    const finished = pr.done >= pr.total;
    const what = `${this.p.dim('pulling')} pod/${pod} [${container}] ${pr.kind} ${pr.blob}: ${humanSize(pr.done)} / ${humanSize(pr.total)}`;
    if (!this.tty) {
      const key = `${pod}/${container}/${pr.blob}`;
      if (finished && !this.done.has(key)) {
        this.done.add(key);
        this.write(`${what}\n`);
      }
      return;
    }
    const t = this.now();
    if (!finished && t - this.lastDraw < REDRAW_MS) return;
    this.lastDraw = t;
    const filled = pr.total > 0 ? Math.min(BAR, Math.round((pr.done / pr.total) * BAR)) : BAR;
    if (this.shown) this.out.write('\r\u001b[2K');
    this.out.write(`${what} [${'='.repeat(filled)}${' '.repeat(BAR - filled)}]`);
    this.shown = true;
  }
}

/**
 * The host runtime's one-line notice for a pod whose images would matter: its commands run from
 * this machine's file system and images are not pulled.
 * Undefined when the pod names no image. (A security context it does not apply is a warning of
 * its own, `api/security-warnings.ts`.)
 */
export function hostRuntimeNotice(pod: Pod, runtime: string): string | undefined {
  if (runtime === 'oci') return undefined;
  const containers = [...(pod.spec.initContainers ?? []), ...pod.spec.containers];
  const images = [...new Set(containers.map((c) => c.image).filter((i): i is string => i !== undefined && i !== ''))];
  if (images.length === 0) return undefined;
  const shown = images.length > 3 ? `${images.slice(0, 3).join(', ')}, …` : images.join(', ');
  return `notice: pod/${pod.metadata.name ?? ''}: the ${runtime} runtime runs each command from this machine's file system; its image${images.length > 1 ? 's' : ''} (${shown}) ${images.length > 1 ? 'are' : 'is'} not pulled: use --runtime oci to run images`;
}
