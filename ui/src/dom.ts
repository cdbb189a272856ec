/** Small DOM helpers: element building (text is always set as text, never as HTML), ages that tick, banners. */
import { shortAge } from '../../src/api/printers.js';
import { ApiError, NetworkError, type LiveState } from './api.js';

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | undefined | null>;

/** `h('td', { 'data-col': 'name' }, 'text', child)`: attributes set when not false/null/undefined. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = String(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, ...children);
  return el;
}

export function append(el: Node, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

/** Sets text only when it changed (keeps selection and screen-reader state quiet). */
export function setText(el: Element, text: string): void {
  if (el.textContent !== text) el.textContent = text;
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} missing`);
  return el as T;
}

/** kubectl's age of an RFC 3339 time (`<unknown>` when there is none). */
export function ageOf(ts: string | undefined, now = Date.now()): string {
  if (ts === undefined || ts === '') return '<unknown>';
  const t = Date.parse(ts);
  return Number.isNaN(t) ? '<unknown>' : shortAge(now - t);
}

/** An element whose text is the age of `ts`, kept current by {@link tickAges}; its title is the time itself. */
export function age(ts: string | undefined, suffix = ''): HTMLTimeElement {
  const el = h('time', { 'data-since': ts, 'data-suffix': suffix || undefined, datetime: ts, title: ts }, ageOf(ts) + suffix);
  return el;
}

/** Updates every ticking age on the page. */
export function tickAges(root: ParentNode = document): void {
  const now = Date.now();
  for (const el of root.querySelectorAll<HTMLElement>('[data-since]')) {
    setText(el, ageOf(el.dataset['since'], now) + (el.dataset['suffix'] ?? ''));
  }
}

/** Shows (or with undefined, clears) the page's alert banner. */
export function showError(message: string | undefined): void {
  const el = byId('error-banner');
  setText(el, message ?? '');
}

/** Clears the alert banner if it still shows `message` (and not something said since). */
export function clearError(message: string): void {
  const el = byId('error-banner');
  if (el.textContent === message) setText(el, '');
}

export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}

const LIVE_TEXT: Record<LiveState, string> = { connecting: 'connecting…', live: 'live', reconnecting: 'reconnecting…', stopped: 'stopped' };

/** The banner text for a live update that failed: what happened, and what to do next. */
export function liveErrorText(state: LiveState, e: Error): string {
  if (state === 'stopped') {
    if (e instanceof ApiError) return `${e.message} (live updates stopped; reload the page to try again).`;
    return `Live updates stopped on an error in the page itself: ${e.message}. Reload the page to start again.`;
  }
  if (e instanceof NetworkError) return `Lost the connection to podvisor (${e.message}). Is podvisor serve running? The page reconnects by itself when it is back.`;
  return `podvisor answered: ${e.message}. The page tries again in a few seconds.`;
}

/** The banner text {@link setLive} put up last, cleared when the updates are live again. */
let liveError: string | undefined;

/**
 * The header's live indicator. A failure (`reconnecting` with an error, `stopped`) shows in the
 * alert banner; being `live` again clears it.
 */
export function setLive(state: LiveState, error?: Error): void {
  const el = byId('live-state');
  el.dataset['state'] = state;
  const text = el.querySelector('.live-text');
  if (text) setText(text, LIVE_TEXT[state]);
  if (error && (state === 'stopped' || state === 'reconnecting')) {
    liveError = liveErrorText(state, error);
    showError(liveError);
  } else if (state === 'live' && liveError !== undefined) {
    clearError(liveError);
    liveError = undefined;
  }
}

/** Runs `render`, then puts the focus back on the equivalent element if it was inside `root`. */
export function keepFocus(root: HTMLElement, render: () => void): void {
  const active = document.activeElement;
  let selector: string | undefined;
  if (active instanceof HTMLElement && root.contains(active)) {
    if (active.id) selector = `#${CSS.escape(active.id)}`;
    else {
      for (const a of ['data-restart-container', 'data-pod', 'href']) {
        const v = active.getAttribute(a);
        if (v !== null) {
          selector = `${active.tagName.toLowerCase()}[${a}="${CSS.escape(v)}"]`;
          break;
        }
      }
    }
  }
  render();
  if (selector) {
    const again = root.querySelector<HTMLElement>(selector);
    if (again && again !== document.activeElement) again.focus({ preventScroll: true });
  }
}
