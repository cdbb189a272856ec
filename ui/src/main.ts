/** The web UI's entry: reads the session, then routes `#/` (pods) and `#/pods/<ns>/<name>` (one pod). */
import './app.css';
import { loadSession, signOut, SignedOut } from './api.js';
import { byId, errorMessage, setLive, showError } from './dom.js';
import { mountPodPage } from './pod-page.js';
import { mountPodsPage } from './pods-page.js';

let page: AbortController | undefined;

function route(moveFocus: boolean): void {
  page?.abort();
  const ctl = new AbortController();
  page = ctl;
  showError(undefined);
  setLive('connecting');
  const dialog = byId<HTMLDialogElement>('confirm');
  if (dialog.open) dialog.close();
  const main = byId('main');
  const m = /^#\/pods\/([^/]+)\/([^/]+)\/?$/.exec(location.hash);
  if (m?.[1] !== undefined && m[2] !== undefined) {
    let ns: string;
    let name: string;
    try {
      ns = decodeURIComponent(m[1]);
      name = decodeURIComponent(m[2]);
    } catch {
      location.hash = '#/';
      return;
    }
    mountPodPage(main, ns, name, ctl.signal);
  } else {
    mountPodsPage(main, ctl.signal);
  }
  if (moveFocus) {
    // A new page: its heading is where a screen reader (and the keyboard) continues.
    const h1 = main.querySelector('h1');
    if (h1) {
      h1.tabIndex = -1;
      h1.focus();
    }
    window.scrollTo(0, 0);
  }
}

async function start(): Promise<void> {
  byId('sign-out').addEventListener('click', () => void signOut());
  byId('skip-link').addEventListener('click', (e) => {
    // The hash is the router's: the skip link moves the focus without touching it.
    e.preventDefault();
    byId('main').focus();
  });
  let failed: string | undefined;
  try {
    await loadSession();
  } catch (e) {
    if (e instanceof SignedOut) return;
    failed = `Could not read the session: ${errorMessage(e)}`;
  }
  window.addEventListener('hashchange', () => route(true));
  route(false);
  if (failed) showError(failed);
}

void start();
