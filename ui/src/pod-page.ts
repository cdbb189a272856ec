/**
 * The pod page (`#/pods/<namespace>/<name>`): summary, restart actions, the restart timeline,
 * containers, conditions, events and logs. The pod is watched by name (a re-creation gives it
 * a new UID, the page keeps following the name), and so are its events; every change of either
 * re-reads its restart records and redraws everything but the logs. Everything the page starts
 * (watches, reads, timers, the log stream) ends with the page's signal.
 */
import type { RestartNotice } from '../../src/api/records.js';
import type { Container, ContainerStatus, Pod } from '../../src/api/types.js';
import { podStatusColumn } from '../../src/api/printers.js';
import { formatTime } from '../../src/view/time-format.js';
import { getJson, NetworkError, postJson, runWatch, seg, SignedOut, type LiveState } from './api.js';
import { confirmAction, type Confirmation } from './confirm.js';
import { age, clearError, errorMessage, h, keepFocus, setLive, setText, showError, tickAges } from './dom.js';
import { LogsView, type LogTarget } from './logs.js';
import { restartClass, statusKind, type StatusKind } from './status.js';
import { TimelineView } from './timeline-view.js';

interface K8sEvent {
  metadata?: { name?: string; uid?: string };
  type?: string;
  reason?: string;
  message?: string;
  count?: number;
  firstTimestamp?: string;
  lastTimestamp?: string;
  eventTime?: string;
  source?: { component?: string; host?: string };
  reportingComponent?: string;
  involvedObject?: { fieldPath?: string; uid?: string };
}

type Kind = LogTarget['kind'];
interface ContainerRow { spec: Container; kind: Kind; status: ContainerStatus | undefined }

function containerRows(pod: Pod): ContainerRow[] {
  const st = pod.status;
  const find = (list: ContainerStatus[] | undefined, n: string): ContainerStatus | undefined => list?.find((s) => s.name === n);
  return [
    ...(pod.spec.initContainers ?? []).map((c): ContainerRow => ({ spec: c, kind: c.restartPolicy === 'Always' ? 'sidecar' : 'init', status: find(st?.initContainerStatuses, c.name) })),
    ...pod.spec.containers.map((c): ContainerRow => ({ spec: c, kind: 'container', status: find(st?.containerStatuses, c.name) })),
  ];
}

function stateOf(s: ContainerStatus | undefined): { text: string; kind: StatusKind; since?: string } {
  if (!s) return { text: 'Not created yet', kind: 'pending' };
  const { running, waiting, terminated } = s.state;
  if (running) return { text: 'Running', kind: 'running', ...(running.startedAt ? { since: running.startedAt } : {}) };
  if (terminated) {
    const reason = terminated.reason ?? (terminated.exitCode === 0 ? 'Completed' : 'Error');
    return { text: `Terminated: ${reason} (exit ${terminated.exitCode})`, kind: terminated.exitCode === 0 ? 'succeeded' : 'failed', ...(terminated.finishedAt ? { since: terminated.finishedAt } : {}) };
  }
  if (waiting) {
    const reason = waiting.reason ?? 'Waiting';
    return { text: `Waiting: ${reason}`, kind: statusKind(reason) === 'failed' ? 'failed' : 'pending' };
  }
  return { text: 'Unknown', kind: 'unknown' };
}

function lastStateOf(s: ContainerStatus | undefined): HTMLElement | string {
  const t = s?.lastState.terminated;
  if (!t) return '—';
  const parts = h('span', {}, `${t.reason ?? 'Terminated'}, exit ${t.exitCode}`);
  if (t.finishedAt) {
    const ms = Date.parse(t.finishedAt);
    parts.append(', finished ', h('span', { title: t.finishedAt }, Number.isNaN(ms) ? t.finishedAt : formatTime(ms, true)), ' (', age(t.finishedAt, ' ago'), ')');
  }
  return parts;
}

const badge = (text: string, kind: StatusKind): HTMLElement => h('span', { class: `badge status-${kind}` }, text);

function table(id: string, caption: string, heads: string[], rows: HTMLTableRowElement[], empty: string): HTMLElement {
  const body = rows.length > 0 ? rows : [h('tr', { class: 'empty-row' }, h('td', { colspan: heads.length }, empty))];
  return h('div', { class: 'table-wrap' },
    h('table', { id, class: 'data' },
      h('caption', { class: 'visually-hidden' }, caption),
      h('thead', {}, h('tr', {}, ...heads.map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, ...body)));
}

export function mountPodPage(main: HTMLElement, ns: string, name: string, signal: AbortSignal): void {
  document.title = `${name} · podvisor`;
  const basePath = `/api/v1/namespaces/${seg(ns)}/pods`;
  const podPath = `${basePath}/${seg(name)}`;
  const selector = `metadata.name=${name}`;

  /** The pod's incarnations seen here (a re-creation adds one), the current last. */
  const incarnations: Pod[] = [];
  let pod: Pod | undefined;
  let gone = false;
  let loaded = false;
  let restarts: RestartNotice[] = [];
  let events: K8sEvent[] = [];

  const title = h('h1', { id: 'pod-title' });
  const facts = h('dl', { class: 'facts' });
  const header = h('div', { class: 'pod-header' }, title, facts);
  const notice = h('p', { id: 'pod-notice', class: 'banner banner-warn' });
  const actionStatus = h('p', { id: 'action-status', role: 'status', class: 'action-status' });
  const restartPodBtn = h('button', { id: 'restart-pod', type: 'button', class: 'btn' }, 'Restart pod in place');
  const recreateBtn = h('button', { id: 'recreate-pod', type: 'button', class: 'btn btn-danger' }, 'Re-create pod');
  const actions = h('section', { id: 'actions', 'aria-labelledby': 'actions-h', class: 'actions' },
    h('h2', { id: 'actions-h', class: 'visually-hidden' }, 'Actions'),
    h('div', { class: 'controls' }, restartPodBtn, recreateBtn),
    actionStatus);
  const timeline = new TimelineView(signal);
  const containers = h('section', { id: 'containers-section', 'aria-labelledby': 'containers-h' });
  const conditions = h('section', { id: 'conditions-section', 'aria-labelledby': 'conditions-h' });
  const eventsSec = h('section', { id: 'events-section', 'aria-labelledby': 'events-h' });
  const logs = new LogsView(ns, name, signal);
  main.replaceChildren(
    h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/', id: 'back' }, '← All pods')),
    header, notice, actions, timeline.section, containers, conditions, eventsSec, logs.section);

  // ------------------------------------------------------------------ rendering
  const renderHeader = (counts: { container: number; pod: number; recreate: number }): void => {
    const status = pod ? podStatusColumn(pod) : gone ? 'Deleted' : loaded ? 'Not found' : 'Loading…';
    const phase = pod?.status?.phase ?? '—';
    const item = (term: string, ...desc: (Node | string)[]): HTMLElement[] => [h('dt', {}, term), h('dd', {}, ...desc)];
    title.replaceChildren(h('span', { class: 'pod-name' }, name), ' ', badge(status, pod ? statusKind(status, pod.status?.phase) : 'unknown'));
    facts.replaceChildren(
      ...item('Namespace', ns),
      ...item('Phase', h('span', { id: 'pod-phase' }, phase)),
      ...item('UID', h('code', { id: 'pod-uid' }, pod?.metadata.uid ?? '—')),
      ...item('IP', pod?.status?.podIP ?? '—'),
      ...item('Created', pod?.metadata.creationTimestamp ? age(pod.metadata.creationTimestamp, ' ago') : '—'),
      ...item('Restarts', h('span', { id: 'restart-counts' },
        h('span', { class: restartClass(counts.container) }, `${counts.container} container`), ' · ',
        h('span', { class: restartClass(counts.pod) }, `${counts.pod} pod in place`), ' · ',
        h('span', { class: restartClass(counts.recreate) }, `${counts.recreate} re-created`))));
    if (gone) setText(notice, 'This pod was deleted. The page keeps watching its name: if it is re-created, the new pod shows here.');
    else if (loaded && !pod) setText(notice, `There is no pod ${name} in namespace ${ns} (yet). The page shows it when it appears.`);
    else setText(notice, '');
  };

  const renderContainers = (): void => {
    const rows = pod ? containerRows(pod) : [];
    keepFocus(containers, () => {
      containers.replaceChildren(
        h('h2', { id: 'containers-h' }, 'Containers'),
        table('containers', 'Containers of the pod', ['Name', 'Kind', 'State', 'Ready', 'Restarts', 'Last state', 'Action'], rows.map((r) => {
          const st = stateOf(r.status);
          const n = r.status?.restartCount ?? 0;
          return h('tr', { 'data-container': r.spec.name },
            h('th', { scope: 'row', 'data-col': 'name' }, r.spec.name),
            h('td', { 'data-col': 'kind' }, r.kind),
            h('td', { 'data-col': 'state' }, badge(st.text, st.kind), st.since ? h('span', { class: 'muted' }, ' ', age(st.since, ' ago')) : null),
            h('td', { 'data-col': 'ready' }, r.status ? (r.status.ready ? 'Yes' : 'No') : '—'),
            h('td', { 'data-col': 'restarts', class: restartClass(n) }, String(n)),
            h('td', { 'data-col': 'last-state' }, lastStateOf(r.status)),
            h('td', { 'data-col': 'action' }, h('button', { type: 'button', class: 'btn btn-small', 'data-restart-container': r.spec.name, disabled: !pod || gone }, `Restart ${r.spec.name}`)));
        }), pod ? 'No containers' : 'No pod'));
    });
  };

  const renderConditions = (): void => {
    const list = pod?.status?.conditions ?? [];
    conditions.replaceChildren(
      h('h2', { id: 'conditions-h' }, 'Conditions'),
      table('conditions', 'Conditions of the pod', ['Type', 'Status', 'Reason', 'Last transition', 'Message'], list.map((c) => h('tr', {},
        h('th', { scope: 'row' }, c.type),
        h('td', { class: c.status === 'True' ? 'cond-true' : c.status === 'False' ? 'cond-false' : '' }, c.status),
        h('td', {}, c.reason ?? ''),
        h('td', {}, c.lastTransitionTime ? age(c.lastTransitionTime, ' ago') : '—'),
        h('td', { class: 'message' }, c.message ?? ''))), 'No conditions'));
  };

  const eventTime = (e: K8sEvent): string | undefined => e.lastTimestamp || e.eventTime || e.firstTimestamp || undefined;

  const renderEvents = (): void => {
    const sorted = [...events].sort((a, b) => (Date.parse(eventTime(a) ?? '') || 0) - (Date.parse(eventTime(b) ?? '') || 0));
    eventsSec.replaceChildren(
      h('h2', { id: 'events-h' }, 'Events'),
      table('events', 'Events of the pod, newest last', ['Type', 'Reason', 'Last seen', 'Count', 'From', 'Message'], sorted.map((e) => h('tr', { class: e.type === 'Warning' ? 'event-warning' : '' },
        h('td', {}, e.type === 'Warning' ? badge('Warning', 'failed') : (e.type ?? '')),
        h('td', {}, e.reason ?? ''),
        h('td', {}, eventTime(e) ? age(eventTime(e), ' ago') : '—'),
        h('td', {}, String(e.count ?? 1)),
        h('td', {}, e.source?.component || e.reportingComponent || ''),
        h('td', { class: 'message' }, (e.message ?? '').trim()))), 'No events'));
  };

  const render = (): void => {
    const tl = timeline.update(incarnations, restarts);
    renderHeader(tl.counts);
    const disabled = !pod || gone;
    restartPodBtn.disabled = disabled;
    recreateBtn.disabled = disabled;
    renderContainers();
    renderConditions();
    renderEvents();
    if (pod) {
      logs.setTargets(containerRows(pod).map((r) => ({
        name: r.spec.name, kind: r.kind, running: r.status?.state.running !== undefined,
        ...(r.status?.containerID ? { containerID: r.status.containerID } : {}),
      })));
    }
  };

  // ------------------------------------------------------------------ data
  let refreshing = false;
  let again = false;
  /** The banner text of the last failed read of the restart records, cleared once one succeeds. */
  let recordsError: string | undefined;
  /** Re-reads the restart records (coalesced: one at a time, one more if asked meanwhile). */
  const refresh = async (): Promise<void> => {
    if (refreshing) {
      again = true;
      return;
    }
    refreshing = true;
    try {
      do {
        again = false;
        try {
          const r = await getJson<{ items?: RestartNotice[] }>(`${podPath}/restarts`, { signal });
          if (signal.aborted) return;
          restarts = r.items ?? [];
          if (recordsError !== undefined) clearError(recordsError);
          recordsError = undefined;
        } catch (e) {
          if (signal.aborted || e instanceof SignedOut) return;
          recordsError = e instanceof NetworkError
            ? `Could not read the restart records (${errorMessage(e)}). Is podvisor serve running? The page reads them again when it is back.`
            : `Could not read the restart records: ${errorMessage(e)}. The page reads them again with the next change of the pod or a new event; reloading the page tries at once.`;
          showError(recordsError);
        }
        render();
      } while (again && !signal.aborted);
    } finally {
      refreshing = false;
    }
  };

  const setPod = (p: Pod): void => {
    pod = p;
    gone = false;
    const i = incarnations.findIndex((x) => x.metadata.uid === p.metadata.uid);
    if (i >= 0) incarnations[i] = p;
    else incarnations.push(p);
  };

  // The header's live indicator shows the worse of the two watches (the pod's and its events').
  const RANK: Record<LiveState, number> = { live: 0, connecting: 1, reconnecting: 2, stopped: 3 };
  const watches: Record<'pod' | 'events', { state: LiveState; error?: Error | undefined }> = {
    pod: { state: 'connecting' },
    events: { state: 'connecting' },
  };
  const report = (which: 'pod' | 'events', state: LiveState, error?: Error): void => {
    if (signal.aborted) return;
    watches[which] = { state, error };
    const [a, b] = [watches.pod, watches.events];
    const worst = RANK[b.state] > RANK[a.state] || (RANK[b.state] === RANK[a.state] && !a.error) ? b : a;
    setLive(worst.state, worst.error);
  };

  void runWatch<Pod>({
    signal,
    list: async (s) => {
      const list = await getJson<{ items?: Pod[]; metadata?: { resourceVersion?: string } }>(`${basePath}?fieldSelector=${encodeURIComponent(selector)}`, { signal: s });
      if (s.aborted) return '';
      const p = list.items?.[0];
      if (p) setPod(p);
      else if (pod) gone = true;
      loaded = true;
      render();
      void refresh();
      return list.metadata?.resourceVersion ?? '';
    },
    watchUrl: (rv) => `${basePath}?watch=1&fieldSelector=${encodeURIComponent(selector)}&allowWatchBookmarks=true${rv ? `&resourceVersion=${seg(rv)}` : ''}`,
    onEvent: (ev) => {
      if (signal.aborted || ev.object?.metadata?.name !== name) return;
      if (ev.type === 'DELETED') {
        if (pod?.metadata.uid === ev.object.metadata.uid) gone = true;
      } else {
        setPod(ev.object);
      }
      render();
      void refresh();
    },
    onState: (s, err) => report('pod', s, err),
  });

  // The pod's events, watched on their own: an event often comes without any change of the pod.
  // Each one also re-reads the restart records (a restart always comes with an event).
  const eventsPath = `/api/v1/namespaces/${seg(ns)}/events?fieldSelector=${encodeURIComponent(`involvedObject.kind=Pod,involvedObject.name=${name}`)}`;
  const eventKey = (e: K8sEvent): string => e.metadata?.uid ?? e.metadata?.name ?? '';
  let eventsListed = false;
  void runWatch<K8sEvent>({
    signal,
    list: async (s) => {
      const list = await getJson<{ items?: K8sEvent[]; metadata?: { resourceVersion?: string } }>(eventsPath, { signal: s });
      if (s.aborted) return '';
      events = list.items ?? [];
      renderEvents();
      // A re-list may follow missed events: the records may have changed meanwhile too.
      if (eventsListed) void refresh();
      eventsListed = true;
      return list.metadata?.resourceVersion ?? '';
    },
    watchUrl: (rv) => `${eventsPath}&watch=1${rv ? `&resourceVersion=${seg(rv)}` : ''}&allowWatchBookmarks=true`,
    onEvent: (ev) => {
      if (signal.aborted || !ev.object) return;
      const k = eventKey(ev.object);
      const i = events.findIndex((e) => eventKey(e) === k);
      if (ev.type === 'DELETED') {
        if (i >= 0) events.splice(i, 1);
      } else if (i >= 0) {
        events[i] = ev.object;
      } else {
        events.push(ev.object);
      }
      renderEvents();
      void refresh();
    },
    onState: (s, err) => report('events', s, err),
  });

  // ------------------------------------------------------------------ actions
  const act = async (c: Confirmation, opener: string, path: string, body: Record<string, string>, done: string): Promise<void> => {
    if (!(await confirmAction(c, opener))) return;
    setText(actionStatus, 'Sending the request…');
    actionStatus.classList.remove('is-error');
    // A confirmed action is not aborted by leaving the page (the daemon may have acted on it
    // already); its answer just goes nowhere then.
    try {
      await postJson(path, body);
      if (signal.aborted) return;
      setText(actionStatus, done);
      showError(undefined);
    } catch (e) {
      if (signal.aborted || e instanceof SignedOut) return;
      const msg = errorMessage(e);
      actionStatus.classList.add('is-error');
      setText(actionStatus, `Failed: ${msg}`);
      showError(msg);
    }
  };
  restartPodBtn.addEventListener('click', () => void act({
    title: `Restart pod ${name} in place?`,
    kept: "the pod's UID, sandbox and IP, its volumes (emptyDir contents) and GPUs.",
    lost: "every container's process; init containers run again, then sidecars and containers start again.",
    ok: 'Restart pod',
  }, '#restart-pod', `${podPath}/restart`, {}, 'Restart requested'));
  recreateBtn.addEventListener('click', () => void act({
    title: `Re-create pod ${name}?`,
    kept: "the pod's name and manifest.",
    lost: "the UID, the sandbox and IP, every emptyDir volume's contents and every process; a new pod with a new UID starts from scratch.",
    ok: 'Re-create pod',
  }, '#recreate-pod', `${podPath}/recreate`, {}, 'Re-create requested'));
  containers.addEventListener('click', (ev) => {
    const btn = (ev.target as Element | null)?.closest<HTMLButtonElement>('button[data-restart-container]');
    const c = btn?.dataset['restartContainer'];
    if (!btn || c === undefined) return;
    void act({
      title: `Restart container ${c}?`,
      kept: 'the pod, its UID, IP, volumes (emptyDir) and the other containers.',
      lost: `the running process of ${c} and its memory; ${c} starts again (its log so far stays readable as the previous instance).`,
      ok: `Restart ${c}`,
    }, `button[data-restart-container="${CSS.escape(c)}"]`, `${podPath}/restart`, { container: c }, `Restart requested (${c})`);
  });

  // Ages tick and a running timeline that follows now moves, locally: nothing is asked of the server.
  const tick = setInterval(() => {
    tickAges(main);
    timeline.tick();
  }, 1000);
  signal.addEventListener('abort', () => clearInterval(tick), { once: true });

  render();
}
