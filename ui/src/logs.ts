/**
 * The pod page's logs: one container's current or previous instance, streamed while "Follow" is
 * on. Switching aborts the previous fetch. A followed stream that ended because the container
 * exited starts again by itself when the container runs a new instance; one that ended while
 * the same container still runs (the connection dropped, the daemon restarted) is followed
 * again after a back-off (1 s doubling to 10 s), and so is a read the network failed.
 */
import { ApiError, NetworkError, readChunk, readText, request, seg, SignedOut } from './api.js';
import { errorMessage, h, setText } from './dom.js';

const TAIL_LINES = 1000;
/** The most text kept in the page; older output is dropped from the top. */
const MAX_CHARS = 1_000_000;
/** A followed stream open at least this long resets the back-off of the next re-follow. */
const STEADY_MS = 30_000;

/** True for a failure a later try may mend: the network, or the daemon busy or failing (not a refusal). */
const transient = (e: unknown): boolean =>
  e instanceof NetworkError || (e instanceof ApiError && (e.status >= 500 || e.status === 408 || e.status === 429));

interface Stream { container: string; containerID: string | undefined; ended: boolean }

export interface LogTarget { name: string; kind: 'init' | 'sidecar' | 'container'; containerID?: string; running: boolean }

export class LogsView {
  readonly section: HTMLElement;
  private readonly containerSel: HTMLSelectElement;
  private readonly instanceSel: HTMLSelectElement;
  private readonly followBox: HTMLInputElement;
  private readonly state: HTMLElement;
  private readonly out: HTMLPreElement;
  private ctl: AbortController | undefined;
  private targets: LogTarget[] = [];
  /** The stream being followed: its container instance, and whether it ended. */
  private stream: Stream | undefined;
  private chars = 0;
  /** The delay before the next automatic re-read (1 s doubling to 10 s). */
  private backoff = 1000;

  constructor(private readonly ns: string, private readonly pod: string, private readonly signal: AbortSignal) {
    this.containerSel = h('select', { id: 'log-container', name: 'container' });
    this.instanceSel = h('select', { id: 'log-instance', name: 'instance' },
      h('option', { value: 'current' }, 'current'),
      h('option', { value: 'previous' }, 'previous'));
    this.followBox = h('input', { type: 'checkbox', id: 'log-follow', name: 'follow', checked: true });
    this.state = h('p', { id: 'log-state', class: 'hint' });
    this.out = h('pre', { id: 'log-output', tabindex: 0, 'aria-live': 'off', 'aria-labelledby': 'logs-h', 'aria-describedby': 'log-state', class: 'log' });
    this.section = h('section', { id: 'logs', 'aria-labelledby': 'logs-h' },
      h('div', { class: 'section-head' },
        h('h2', { id: 'logs-h' }, 'Logs'),
        h('div', { class: 'controls' },
          h('div', { class: 'field-inline' }, h('label', { for: 'log-container' }, 'Container'), this.containerSel),
          h('div', { class: 'field-inline' }, h('label', { for: 'log-instance' }, 'Instance'), this.instanceSel),
          h('label', { class: 'check', for: 'log-follow' }, this.followBox, ' Follow'))),
      this.state,
      this.out);
    this.containerSel.addEventListener('change', () => this.load());
    this.instanceSel.addEventListener('change', () => this.load());
    this.followBox.addEventListener('change', () => this.load());
    signal.addEventListener('abort', () => this.ctl?.abort(), { once: true });
  }

  /** The pod's containers (every change of the pod); loads the first time, re-follows a new instance. */
  setTargets(targets: LogTarget[]): void {
    const first = this.targets.length === 0;
    this.targets = targets;
    const names = targets.map((t) => t.name);
    const current = [...this.containerSel.options].map((o) => o.value);
    if (names.join('\n') !== current.join('\n')) {
      const selected = this.containerSel.value;
      this.containerSel.replaceChildren(...targets.map((t) => h('option', { value: t.name }, t.kind === 'container' ? t.name : `${t.name} (${t.kind})`)));
      if (names.includes(selected)) this.containerSel.value = selected;
    }
    if (first && targets.length > 0) {
      // The first regular container is what one usually wants to read.
      const main = targets.find((t) => t.kind === 'container') ?? targets[0];
      if (main) this.containerSel.value = main.name;
      this.load();
      return;
    }
    // A followed stream that ended: follow the container's next instance once it runs.
    const s = this.stream;
    if (s?.ended && this.following()) {
      const t = targets.find((x) => x.name === s.container);
      if (t?.running && t.containerID !== s.containerID) this.load();
    }
  }

  private following(): boolean {
    return this.followBox.checked && this.instanceSel.value === 'current';
  }

  private write(text: string): void {
    if (text === '') return;
    const atBottom = this.out.scrollTop + this.out.clientHeight >= this.out.scrollHeight - 4;
    this.chars += text.length;
    if (this.chars > MAX_CHARS) {
      const all = (this.out.textContent ?? '') + text;
      const kept = all.slice(all.length - Math.floor(MAX_CHARS * 0.8));
      this.out.textContent = kept.slice(kept.indexOf('\n') + 1);
      this.chars = this.out.textContent.length;
    } else {
      this.out.append(text);
    }
    if (atBottom) this.out.scrollTop = this.out.scrollHeight;
  }

  /** True while the container of `s` still runs the instance that stream read. */
  private stillRuns(s: Stream): boolean {
    const t = this.targets.find((x) => x.name === s.container);
    return t?.running === true && t.containerID === s.containerID;
  }

  /**
   * Reads the selection again after the back-off (unless `ctl` is aborted first: a new
   * selection, a new instance, the page left). With `stream`, only while its container still
   * runs the same instance; else the stream is said to have ended with the container.
   */
  private retry(ctl: AbortController, what: string, stream?: Stream): number {
    const delay = this.backoff;
    this.backoff = Math.min(this.backoff * 2, 10_000);
    const timer = setTimeout(() => {
      ctl.signal.removeEventListener('abort', clear);
      if (ctl.signal.aborted) return;
      if (stream && !this.stillRuns(stream)) this.endedWithContainer(what);
      else this.load(true);
    }, delay);
    const clear = (): void => clearTimeout(timer);
    ctl.signal.addEventListener('abort', clear, { once: true });
    return delay / 1000;
  }

  private endedWithContainer(what: string): void {
    setText(this.state, `The log of ${what} ended (the container stopped); it follows the next instance when one starts.`);
  }

  /**
   * Loads the selection. `again`: an automatic re-read of the same selection (after a dropped
   * connection): the output shown stays until the new answer replaces it.
   */
  load(again = false): void {
    if (this.signal.aborted) return;
    this.ctl?.abort();
    const ctl = new AbortController();
    this.ctl = ctl;
    const container = this.containerSel.value;
    const previous = this.instanceSel.value === 'previous';
    this.followBox.disabled = previous;
    const follow = this.following();
    if (!again) {
      this.out.textContent = '';
      this.chars = 0;
      this.backoff = 1000;
    }
    this.stream = undefined;
    if (!container) {
      this.out.textContent = '';
      this.chars = 0;
      setText(this.state, 'No containers.');
      return;
    }
    const q = new URLSearchParams({ container, tailLines: String(TAIL_LINES) });
    if (previous) q.set('previous', 'true');
    if (follow) q.set('follow', 'true');
    const what = `${previous ? 'the previous instance' : 'the current instance'} of ${container}`;
    if (!again) setText(this.state, `Loading ${what}…`);
    const target = this.targets.find((t) => t.name === container);
    const stream: Stream = { container, containerID: target?.containerID, ended: false };
    if (follow) this.stream = stream;
    /** The first output of this read replaces what an earlier read of the same selection left. */
    let fresh = again;
    const replace = (): void => {
      if (!fresh) return;
      fresh = false;
      this.out.textContent = '';
      this.chars = 0;
    };
    void (async () => {
      let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
      let openedAt = 0;
      try {
        const res = await request(`/api/v1/namespaces/${seg(this.ns)}/pods/${seg(this.pod)}/log?${q.toString()}`, { headers: { Accept: 'text/plain, application/json' }, signal: ctl.signal });
        const tail = `the last ${TAIL_LINES} lines at most`;
        if (!follow || !res.body) {
          const text = await readText(res);
          if (ctl.signal.aborted) return;
          replace();
          this.backoff = 1000;
          this.write(text);
          this.out.scrollTop = this.out.scrollHeight;
          setText(this.state, text === '' ? `No output from ${what}.` : `Logs of ${what} (${tail}).`);
          return;
        }
        if (ctl.signal.aborted) return;
        openedAt = Date.now();
        setText(this.state, `Following ${what} (${tail}, then new output as it comes).`);
        reader = res.body.getReader();
        const r = reader;
        const decoder = new TextDecoder();
        ctl.signal.addEventListener('abort', () => void r.cancel().catch(() => undefined), { once: true });
        let first = true;
        for (;;) {
          const { value, done } = await readChunk(r);
          if (ctl.signal.aborted) return;
          if (done) break;
          replace();
          this.write(decoder.decode(value, { stream: true }));
          if (first) {
            this.out.scrollTop = this.out.scrollHeight;
            first = false;
          }
        }
        this.write(decoder.decode());
        stream.ended = true;
        if (Date.now() - openedAt >= STEADY_MS) this.backoff = 1000;
        if (this.stillRuns(stream)) {
          // The same container still runs (as far as the pod's last change says): the connection
          // ended, not the container. Follow it again, unless its stop shows up meanwhile.
          const s = this.retry(ctl, what, stream);
          setText(this.state, `The log of ${what} ended while the container still ran (the connection to podvisor ended?); following it again in ${s} s unless the container stopped…`);
        } else {
          this.endedWithContainer(what);
        }
      } catch (e) {
        if (ctl.signal.aborted || e instanceof SignedOut) return;
        stream.ended = true;
        if (transient(e)) {
          // The daemon or the network: read again (the output so far stays until then).
          if (openedAt !== 0 && Date.now() - openedAt >= STEADY_MS) this.backoff = 1000;
          const s = this.retry(ctl, what);
          const why = e instanceof NetworkError
            ? `Lost the connection to podvisor (${e.message}). Is podvisor serve running?`
            : `podvisor answered: ${errorMessage(e)}.`;
          setText(this.state, `${why} Reading ${what} again in ${s} s…`);
          return;
        }
        const msg = e instanceof ApiError ? e.message : `Could not read the log: ${errorMessage(e)}`;
        this.out.textContent = msg;
        this.chars = msg.length;
        setText(this.state, `No log for ${what}. ${follow
          ? 'It is read again when the container starts a new instance; or pick another container or instance.'
          : previous
            ? 'Pick the current instance or another container.'
            : 'Pick another container or instance, or turn Follow on to read it once it runs.'}`);
      } finally {
        await reader?.cancel().catch(() => undefined);
      }
    })();
  }
}
