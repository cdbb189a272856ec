/**
 * The pod page's restart timeline: the shared SVG (src/view/) in a zoomable, pannable window.
 * Buttons, the mouse wheel (zoom around the pointer), dragging, and the keyboard (+ - 0 and the
 * arrow keys while the timeline has focus) move the window; "Follow" keeps its right edge at now.
 */
import type { RestartNotice } from '../../src/api/records.js';
import type { Pod } from '../../src/api/types.js';
import { buildTimeline, type Timeline } from '../../src/view/timeline.js';
import { LABEL_W, PAD_R, renderTimelineSvg } from '../../src/view/timeline-svg.js';
import { TIMELINE_CSS } from '../../src/view/timeline-style.js';
import { formatSpan, formatTime } from '../../src/view/time-format.js';
import { h, setText } from './dom.js';

const MIN_SPAN = 1000;
const MAX_SPAN = 60 * 86_400_000;

let cssInjected = false;

/** The timeline's stylesheet, once per document (a constructed sheet: no inline <style> for a CSP to refuse). */
function injectCss(): void {
  if (cssInjected) return;
  cssInjected = true;
  try {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(TIMELINE_CSS);
    document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
  } catch {
    document.head.append(h('style', { id: 'pv-timeline-css' }, TIMELINE_CSS));
  }
}

export class TimelineView {
  readonly section: HTMLElement;
  private readonly plot: HTMLDivElement;
  private readonly windowText: HTMLElement;
  private readonly followBox: HTMLInputElement;
  private pods: readonly Pod[] = [];
  private restarts: readonly RestartNotice[] = [];
  private tl: Timeline | undefined;
  /** The window; undefined = the whole timeline. */
  private win: { from: number; to: number } | undefined;
  private follow = true;
  private lastWidth = 0;
  private frame = 0;

  constructor(signal: AbortSignal) {
    injectCss();
    const btn = (id: string, text: string, label: string): HTMLButtonElement => h('button', { id, type: 'button', class: 'btn btn-small', 'aria-label': label, 'aria-controls': 'timeline-plot' }, text);
    const zoomIn = btn('zoom-in', 'Zoom in', 'Zoom in');
    const zoomOut = btn('zoom-out', 'Zoom out', 'Zoom out');
    const reset = btn('zoom-reset', 'Whole timeline', 'Whole timeline (reset zoom)');
    const left = btn('pan-left', '◀ Earlier', 'Earlier (pan left)');
    const right = btn('pan-right', 'Later ▶', 'Later (pan right)');
    this.followBox = h('input', { type: 'checkbox', id: 'timeline-follow', checked: true });
    this.windowText = h('p', { id: 'timeline-window', class: 'hint' });
    this.plot = h('div', {
      id: 'timeline-plot', class: 'timeline-plot', tabindex: 0, role: 'group',
      'aria-label': 'Restart timeline. Plus and minus zoom, 0 shows everything, the arrow keys pan.',
      'aria-describedby': 'timeline-window',
    });
    this.section = h('section', { id: 'timeline', 'aria-labelledby': 'timeline-h' },
      h('div', { class: 'section-head' },
        h('h2', { id: 'timeline-h' }, 'Restart timeline'),
        h('div', { class: 'controls', role: 'group', 'aria-label': 'Timeline window' },
          zoomOut, zoomIn, reset, left, right,
          h('label', { class: 'check', for: 'timeline-follow' }, this.followBox, ' Follow now'))),
      this.windowText,
      this.plot,
      h('p', { class: 'hint' }, 'Wheel over the timeline zooms around the pointer, dragging pans. With the timeline focused: + and − zoom, 0 resets, ← and → pan (Shift: farther). Each bar has its details as a tooltip; Tab moves through them.'));

    zoomIn.addEventListener('click', () => this.zoom(0.5));
    zoomOut.addEventListener('click', () => this.zoom(2));
    reset.addEventListener('click', () => this.reset());
    left.addEventListener('click', () => this.pan(-0.25));
    right.addEventListener('click', () => this.pan(0.25));
    this.followBox.addEventListener('change', () => this.setFollow(this.followBox.checked));

    this.plot.addEventListener('keydown', (e) => {
      if (e.altKey || e.ctrlKey || e.metaKey) return;
      const k = e.key;
      if (k === '+' || k === '=') this.zoom(0.5);
      else if (k === '-' || k === '_') this.zoom(2);
      else if (k === '0') this.reset();
      else if (k === 'ArrowLeft') this.pan(e.shiftKey ? -0.5 : -0.1);
      else if (k === 'ArrowRight') this.pan(e.shiftKey ? 0.5 : 0.1);
      else return;
      e.preventDefault();
    });
    this.plot.addEventListener('wheel', (e) => {
      if (!this.tl || e.ctrlKey) return;
      e.preventDefault();
      if (Math.abs(e.deltaX) > Math.abs(e.deltaY)) {
        this.pan(Math.sign(e.deltaX) * 0.1);
        return;
      }
      if (e.deltaY === 0) return;
      this.zoom(e.deltaY > 0 ? 1.25 : 0.8, this.timeAt(e.clientX));
    }, { passive: false, signal });

    // Dragging pans.
    let drag: { x: number; from: number; to: number; id: number; moved: boolean } | undefined;
    this.plot.addEventListener('pointerdown', (e) => {
      if (e.button !== 0 || !this.tl) return;
      const [from, to] = this.window();
      drag = { x: e.clientX, from, to, id: e.pointerId, moved: false };
    });
    this.plot.addEventListener('pointermove', (e) => {
      if (!drag || e.pointerId !== drag.id) return;
      const dx = e.clientX - drag.x;
      if (!drag.moved && Math.abs(dx) < 4) return;
      if (!drag.moved) {
        drag.moved = true;
        this.plot.setPointerCapture(e.pointerId);
        this.plot.classList.add('dragging');
      }
      const dt = (-dx / this.plotPixels()) * (drag.to - drag.from);
      this.setWindow(drag.from + dt, drag.to + dt);
    });
    const end = (e: PointerEvent): void => {
      if (!drag || e.pointerId !== drag.id) return;
      if (drag.moved) this.plot.releasePointerCapture(e.pointerId);
      this.plot.classList.remove('dragging');
      drag = undefined;
    };
    this.plot.addEventListener('pointerup', end);
    this.plot.addEventListener('pointercancel', end);

    const ro = new ResizeObserver(() => {
      const w = this.plot.clientWidth;
      if (w > 0 && Math.abs(w - this.lastWidth) > 1) this.render();
    });
    ro.observe(this.plot);
    signal.addEventListener('abort', () => {
      ro.disconnect();
      cancelAnimationFrame(this.frame);
    }, { once: true });
  }

  /** New data (the watched pod changed, or its restart records). */
  update(pods: readonly Pod[], restarts: readonly RestartNotice[]): Timeline {
    this.pods = pods;
    this.restarts = restarts;
    return this.render();
  }

  /** Called every second: redraws while something runs and the window follows now. */
  tick(): void {
    if (!this.tl || !this.follow) return;
    if (this.tl.lanes.some((l) => l.runs.some((r) => r.end === undefined))) this.render();
  }

  private build(): Timeline {
    this.tl = buildTimeline({ pods: this.pods, restarts: this.restarts, now: Date.now() });
    return this.tl;
  }

  /** The window drawn, [from, to]. */
  private window(): [number, number] {
    const tl = this.tl;
    if (!tl) return [0, 1];
    if (!this.win) return [tl.start, tl.end];
    if (this.follow) {
      const span = this.win.to - this.win.from;
      return [tl.end - span, tl.end];
    }
    return [this.win.from, this.win.to];
  }

  private plotPixels(): number {
    return Math.max(1, this.width() - LABEL_W - PAD_R);
  }

  private width(): number {
    return Math.max(480, Math.floor(this.plot.clientWidth || 960));
  }

  /** The time under a pointer's x. */
  private timeAt(clientX: number): number {
    const [from, to] = this.window();
    const svg = this.plot.querySelector('svg');
    if (!svg) return (from + to) / 2;
    const rect = svg.getBoundingClientRect();
    const w = Number(svg.getAttribute('width')) || rect.width;
    const x = (clientX - rect.left) * (w / (rect.width || w)) - LABEL_W;
    const frac = Math.min(1, Math.max(0, x / (w - LABEL_W - PAD_R)));
    return from + frac * (to - from);
  }

  private zoom(factor: number, anchor?: number): void {
    if (!this.tl) return;
    const [from, to] = this.window();
    const span = to - from;
    const next = Math.min(MAX_SPAN, Math.max(MIN_SPAN, span * factor));
    if (next === span) return;
    const a = anchor ?? (this.follow ? to : (from + to) / 2);
    const f = a - ((a - from) / span) * next;
    this.setWindow(f, f + next);
  }

  private pan(frac: number): void {
    if (!this.tl) return;
    const [from, to] = this.window();
    const dt = (to - from) * frac;
    this.setWindow(from + dt, to + dt);
  }

  private reset(): void {
    this.win = undefined;
    this.follow = true;
    this.followBox.checked = true;
    this.schedule();
  }

  private setFollow(on: boolean): void {
    const [from, to] = this.window();
    this.follow = on;
    this.followBox.checked = on;
    if (this.win || !on) this.win = { from, to };
    this.schedule();
  }

  /** Moves the window, kept overlapping the timeline; reaching the end turns following on. */
  private setWindow(from: number, to: number): void {
    const tl = this.tl;
    if (!tl) return;
    const span = to - from;
    const margin = span * 0.9;
    if (to < tl.start + span - margin) {
      to = tl.start + span - margin;
      from = to - span;
    }
    if (from > tl.end - span + margin) {
      from = tl.end - span + margin;
      to = from + span;
    }
    const whole = tl.end - tl.start;
    if (Math.abs(from - tl.start) < 1 && Math.abs(to - tl.end) < 1 && span <= whole + 1) this.win = undefined;
    else this.win = { from, to };
    this.follow = to >= tl.end - Math.max(span * 0.01, 1);
    this.followBox.checked = this.follow;
    this.schedule();
  }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  render(): Timeline {
    const tl = this.build();
    const [from, to] = this.window();
    const width = this.width();
    this.lastWidth = this.plot.clientWidth;
    // Focus on a bar survives the redraw (by its position among the focusable marks).
    const active = document.activeElement;
    let focusIndex = -1;
    if (active && active !== this.plot && this.plot.contains(active)) {
      focusIndex = [...this.plot.querySelectorAll('[tabindex]')].indexOf(active);
    }
    this.plot.innerHTML = renderTimelineSvg(tl, { from, to, width, id: 'pod-timeline' });
    if (focusIndex >= 0) {
      const again = this.plot.querySelectorAll<SVGElement>('[tabindex]')[focusIndex];
      if (again) again.focus({ preventScroll: true });
      else this.plot.focus({ preventScroll: true });
    }
    const withDate = to - from > 86_400_000 || new Date(from).toISOString().slice(0, 10) !== new Date(to).toISOString().slice(0, 10);
    const running = tl.lanes.some((l) => l.runs.some((r) => r.end === undefined));
    const whole = this.follow && !this.win ? ', the whole timeline' : '';
    const follows = this.follow ? (running ? ', following now' : ', up to the latest change') : '';
    setText(this.windowText, `Showing ${formatTime(from, withDate)} to ${formatTime(to, withDate)} (${formatSpan(to - from)})${whole}${follows}.`);
    return tl;
  }
}
