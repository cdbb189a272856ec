/** The pods page (`#/`): kubectl's pod columns, filtered by namespace and labels, kept live by a watch. */
import type { Pod } from '../../src/api/types.js';
import { restartsColumn } from '../../src/api/printers.js';
import { getJson, runWatch, seg, SignedOut, TABLE_ACCEPT } from './api.js';
import { age, ageOf, errorMessage, h, keepFocus, setLive, setText, showError } from './dom.js';
import { restartClass, restartCount, statusKind } from './status.js';

interface Meta { name?: string; namespace?: string; uid?: string; creationTimestamp?: string; resourceVersion?: string }
interface TableRow { cells: (string | number)[]; object?: { metadata?: Meta; status?: Pod['status']; spec?: Pod['spec'] } }
interface Table { kind: 'Table'; columnDefinitions: { name: string }[]; rows: TableRow[]; metadata?: { resourceVersion?: string } }

/** The filters outlive the page (going to a pod and back keeps them). */
const filters = { namespace: '', labels: '' };

type Col = 'namespace' | 'name' | 'ready' | 'status' | 'restarts' | 'age';
const HEADINGS: Record<Col, string> = { namespace: 'Namespace', name: 'Name', ready: 'Ready', status: 'Status', restarts: 'Restarts', age: 'Age' };

interface Entry { key: string; ns: string; name: string; row: TableRow; cols: Map<string, number> }

function keyOf(row: TableRow): { ns: string; name: string } | undefined {
  const m = row.object?.metadata;
  if (!m?.name) return undefined;
  return { ns: m.namespace ?? '', name: m.name };
}

function columnIndex(t: Table): Map<string, number> {
  return new Map(t.columnDefinitions.map((c, i) => [c.name.toLowerCase(), i]));
}

function podsPath(): string {
  const base = filters.namespace ? `/api/v1/namespaces/${seg(filters.namespace)}/pods` : '/api/v1/pods';
  const q = new URLSearchParams({ includeObject: 'Object' });
  if (filters.labels.trim() !== '') q.set('labelSelector', filters.labels.trim());
  return `${base}?${q.toString()}`;
}

export function mountPodsPage(main: HTMLElement, signal: AbortSignal): void {
  document.title = 'Pods · podvisor';
  const nsSelect = h('select', { id: 'filter-namespace', name: 'namespace' }, h('option', { value: '' }, 'All namespaces'));
  const labels = h('input', {
    id: 'filter-labels', name: 'labels', type: 'text', placeholder: 'app=web,tier!=db', value: filters.labels,
    autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'filter-labels-help',
  });
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter pods' },
    h('div', { class: 'field' }, h('label', { for: 'filter-namespace' }, 'Namespace'), nsSelect),
    h('div', { class: 'field field-grow' },
      h('label', { for: 'filter-labels' }, 'Label selector'),
      labels,
      h('small', { id: 'filter-labels-help', class: 'hint' }, 'Applied on Enter, e.g. app=web,tier!=db')),
    h('button', { type: 'submit', class: 'btn' }, 'Apply'));
  const summary = h('p', { id: 'pods-summary', class: 'summary' }, 'Loading…');
  const caption = h('caption', { class: 'visually-hidden' }, 'Pods');
  const thead = h('thead');
  const tbody = h('tbody');
  const table = h('table', { id: 'pods', class: 'data' }, caption, thead, tbody);
  main.replaceChildren(h('h1', {}, 'Pods'), form, summary, h('div', { class: 'table-wrap' }, table));

  const entries = new Map<string, Entry>();
  let loaded = false;
  let watch: AbortController | undefined;

  const columns = (): Col[] => (filters.namespace ? ['name', 'ready', 'status', 'restarts', 'age'] : ['namespace', 'name', 'ready', 'status', 'restarts', 'age']);

  const renderHead = (): void => {
    thead.replaceChildren(h('tr', {}, ...columns().map((c) => h('th', { scope: 'col', 'data-col': c }, HEADINGS[c]))));
    setText(caption, filters.namespace ? `Pods in namespace ${filters.namespace}` : 'Pods in all namespaces');
  };

  const cell = (e: Entry, name: string): string => {
    const i = e.cols.get(name);
    const v = i === undefined ? undefined : e.row.cells[i];
    return v === undefined ? '' : String(v);
  };

  const fillRow = (tr: HTMLTableRowElement, e: Entry): void => {
    const cols = columns();
    if (tr.cells.length !== cols.length) tr.replaceChildren(...cols.map((c) => h('td', { 'data-col': c })));
    const obj = e.row.object;
    cols.forEach((c, i) => {
      const td = tr.cells[i] as HTMLTableCellElement;
      switch (c) {
        case 'namespace':
          setText(td, e.ns);
          break;
        case 'name': {
          const href = `#/pods/${seg(e.ns)}/${seg(e.name)}`;
          let a = td.querySelector('a');
          if (!a) td.replaceChildren((a = h('a', { href }, e.name)));
          if (a.getAttribute('href') !== href) a.setAttribute('href', href);
          setText(a, e.name);
          break;
        }
        case 'ready':
          setText(td, cell(e, 'ready'));
          break;
        case 'status': {
          const text = cell(e, 'status');
          const kind = statusKind(text, obj?.status?.phase);
          td.className = `status-${kind}`;
          let badge = td.querySelector('span');
          if (!badge) td.replaceChildren((badge = h('span', { class: 'badge' })));
          setText(badge, text);
          break;
        }
        case 'restarts': {
          const text = cell(e, 'restarts');
          td.className = restartClass(restartCount(text));
          td.dataset['text'] = text;
          setText(td, text);
          break;
        }
        case 'age': {
          const ts = obj?.metadata?.creationTimestamp;
          let t = td.querySelector('time');
          if (!t || t.dataset['since'] !== ts) td.replaceChildren((t = age(ts)));
          if (!ts) setText(t, cell(e, 'age'));
          break;
        }
      }
    });
  };

  const order = (a: Entry, b: Entry): number => a.ns.localeCompare(b.ns) || a.name.localeCompare(b.name);

  const renderBody = (): void => {
    keepFocus(table, () => {
      const sorted = [...entries.values()].sort(order);
      const existing = new Map<string, HTMLTableRowElement>();
      for (const tr of tbody.querySelectorAll<HTMLTableRowElement>('tr[data-pod]')) existing.set(tr.dataset['pod'] ?? '', tr);
      const rows: HTMLTableRowElement[] = [];
      for (const e of sorted) {
        const tr = existing.get(e.key) ?? h('tr', { 'data-pod': e.key });
        fillRow(tr, e);
        rows.push(tr);
      }
      if (rows.length === 0) {
        tbody.replaceChildren(h('tr', { class: 'empty-row' }, h('td', { colspan: columns().length }, loaded ? 'No pods' : 'Loading…')));
      } else {
        // Moves only what is out of place, so a focused link stays where it is.
        rows.forEach((tr, i) => {
          if (tbody.children[i] !== tr) tbody.insertBefore(tr, tbody.children[i] ?? null);
        });
        while (tbody.children.length > rows.length) tbody.lastElementChild?.remove();
      }
      const n = entries.size;
      setText(summary, loaded ? `${n === 0 ? 'No' : n} pod${n === 1 ? '' : 's'}${filters.namespace ? ` in ${filters.namespace}` : ''}${filters.labels.trim() ? ` matching ${filters.labels.trim()}` : ''}` : 'Loading…');
    });
  };

  const put = (row: TableRow, cols: Map<string, number>): void => {
    const k = keyOf(row);
    if (!k) return;
    const key = `${k.ns}/${k.name}`;
    entries.set(key, { key, ns: k.ns, name: k.name, row, cols });
  };

  const start = (): void => {
    watch?.abort();
    const ctl = new AbortController();
    watch = ctl;
    // Ends with the page or with the next filter change; nothing is added to the page's signal.
    const live = AbortSignal.any([signal, ctl.signal]);
    const path = podsPath();
    loaded = false;
    entries.clear();
    renderHead();
    renderBody();
    void runWatch<Table>({
      signal: live,
      accept: TABLE_ACCEPT,
      list: async (s) => {
        const t = await getJson<Table>(path, { accept: TABLE_ACCEPT, signal: s });
        if (s.aborted) return '';
        const cols = columnIndex(t);
        entries.clear();
        for (const r of t.rows) put(r, cols);
        loaded = true;
        showError(undefined);
        renderBody();
        return t.metadata?.resourceVersion ?? '';
      },
      watchUrl: (rv) => `${path}&watch=1&allowWatchBookmarks=true${rv ? `&resourceVersion=${seg(rv)}` : ''}`,
      onEvent: (ev) => {
        if (live.aborted) return;
        const t = ev.object;
        if (t?.kind !== 'Table') return;
        const cols = columnIndex(t);
        for (const r of t.rows) {
          const k = keyOf(r);
          if (!k) continue;
          if (ev.type === 'DELETED') entries.delete(`${k.ns}/${k.name}`);
          else put(r, cols);
        }
        renderBody();
      },
      onState: (s, err) => {
        if (live.aborted) return;
        setLive(s, err);
        if (s === 'stopped') {
          loaded = true;
          renderBody();
        }
      },
    });
  };

  const apply = (): void => {
    const ns = nsSelect.value;
    const l = labels.value.trim();
    if (ns === filters.namespace && l === filters.labels && watch) return;
    filters.namespace = ns;
    filters.labels = l;
    showError(undefined);
    start();
  };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    apply();
  });
  nsSelect.addEventListener('change', apply);
  labels.addEventListener('change', apply);

  // AGE (and the "(12s ago)" of RESTARTS) tick locally; the server is not asked again.
  const tick = setInterval(() => {
    const now = Date.now();
    for (const tr of tbody.querySelectorAll<HTMLTableRowElement>('tr[data-pod]')) {
      const e = entries.get(tr.dataset['pod'] ?? '');
      const t = tr.querySelector<HTMLElement>('td[data-col="age"] time[data-since]');
      if (t) setText(t, ageOf(t.dataset['since'], now));
      const td = tr.querySelector<HTMLElement>('td[data-col="restarts"]');
      const obj = e?.row.object;
      if (td && obj?.spec && obj.status) {
        try {
          setText(td, restartsColumn(obj as Pod, now));
        } catch {
          // Not a full Pod: keep the server's cell.
        }
      }
    }
  }, 1000);
  signal.addEventListener('abort', () => clearInterval(tick), { once: true });

  // The namespaces of the filter.
  void (async () => {
    try {
      const list = await getJson<{ items?: { metadata?: { name?: string } }[] }>('/api/v1/namespaces', { signal });
      const names = (list.items ?? []).map((n) => n.metadata?.name).filter((n): n is string => typeof n === 'string');
      if (filters.namespace && !names.includes(filters.namespace)) names.push(filters.namespace);
      names.sort();
      nsSelect.replaceChildren(h('option', { value: '' }, 'All namespaces'), ...names.map((n) => h('option', { value: n }, n)));
    } catch (e) {
      if (!signal.aborted && !(e instanceof SignedOut)) showError(`Could not list namespaces: ${errorMessage(e)}`);
      if (filters.namespace) nsSelect.append(h('option', { value: filters.namespace }, filters.namespace));
    }
    nsSelect.value = filters.namespace;
  })();
  nsSelect.value = filters.namespace;

  start();
}
