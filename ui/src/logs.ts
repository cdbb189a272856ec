/**
 * The pod page's logs: one container's current or previous instance, streamed while "Follow" is
 * on. Switching aborts the previous fetch. A followed stream that ended (the container exited)
 * starts again by itself when the container runs a new instance.
 */
import { ApiError, request, seg, SignedOut } from './api.js';
import { errorMessage, h, setText } from './dom.js';

const TAIL_LINES = 1000;
/** The most text kept in the page; older output is dropped from the top. */
const MAX_CHARS = 1_000_000;

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
  private stream: { container: string; containerID: string | undefined; ended: boolean } | undefined;
  private chars = 0;

  constructor(private readonly ns: string, private readonly pod: string, signal: AbortSignal) {
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

  load(): void {
    this.ctl?.abort();
    const ctl = new AbortController();
    this.ctl = ctl;
    const container = this.containerSel.value;
    const previous = this.instanceSel.value === 'previous';
    this.followBox.disabled = previous;
    const follow = this.following();
    this.out.textContent = '';
    this.chars = 0;
    this.stream = undefined;
    if (!container) {
      setText(this.state, 'No containers.');
      return;
    }
    const q = new URLSearchParams({ container, tailLines: String(TAIL_LINES) });
    if (previous) q.set('previous', 'true');
    if (follow) q.set('follow', 'true');
    const what = `${previous ? 'the previous instance' : 'the current instance'} of ${container}`;
    setText(this.state, `Loading ${what}…`);
    const target = this.targets.find((t) => t.name === container);
    const stream = { container, containerID: target?.containerID, ended: false };
    if (follow) this.stream = stream;
    void (async () => {
      try {
        const res = await request(`/api/v1/namespaces/${seg(this.ns)}/pods/${seg(this.pod)}/log?${q.toString()}`, { headers: { Accept: 'text/plain, application/json' }, signal: ctl.signal });
        const tail = `the last ${TAIL_LINES} lines at most`;
        if (!follow || !res.body) {
          const text = await res.text();
          if (ctl.signal.aborted) return;
          this.write(text);
          this.out.scrollTop = this.out.scrollHeight;
          setText(this.state, text === '' ? `No output from ${what}.` : `Logs of ${what} (${tail}).`);
          return;
        }
        setText(this.state, `Following ${what} (${tail}, then new output as it comes).`);
        const reader = res.body.getReader();
        const decoder = new TextDecoder();
        ctl.signal.addEventListener('abort', () => void reader.cancel().catch(() => undefined), { once: true });
        let first = true;
        for (;;) {
          const { value, done } = await reader.read();
          if (ctl.signal.aborted) return;
          if (done) break;
          this.write(decoder.decode(value, { stream: true }));
          if (first) {
            this.out.scrollTop = this.out.scrollHeight;
            first = false;
          }
        }
        this.write(decoder.decode());
        stream.ended = true;
        setText(this.state, `The log of ${what} ended (the container stopped); it follows the next instance when one starts.`);
      } catch (e) {
        if (ctl.signal.aborted || e instanceof SignedOut) return;
        stream.ended = true;
        const msg = e instanceof ApiError ? e.message : `Could not read the log: ${errorMessage(e)}`;
        this.out.textContent = msg;
        this.chars = msg.length;
        setText(this.state, `No log for ${what}.`);
      }
    })();
  }
}
