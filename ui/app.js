/* sagad web console, part 1: DOM helpers, the API client (bearer token on
 * 401), the History API router and the list views (executions, state
 * machines, orders and stock, health). Every server string enters the DOM as
 * text; only our own server's graph SVG is inserted, as parsed SVG. */
'use strict';

const STATUSES = ['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'];
const TOKEN_KEY = 'sagad.token';
const PAGE_SIZE = 25;

/* ---- DOM helpers ---------------------------------------------------------- */

/* h('a', {href: '/x', class: 'c'}, 'text', child...): strings become text nodes. */
function h(tag, props, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v == null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const kid of kids.flat(Infinity))
    if (kid != null && kid !== false) e.append(kid instanceof Node ? kid : String(kid));
  return e;
}

const $ = (sel, root) => (root || document).querySelector(sel);

function pretty(v) {
  return v === undefined ? '—' : JSON.stringify(v, null, 2);
}

function fmtTime(iso) {
  return iso ? String(iso).replace('T', ' ') : '—';
}

function fmtDuration(ms) {
  if (!(ms >= 0)) return '—';
  if (ms < 1000) return Math.round(ms) + ' ms';
  const s = ms / 1000;
  if (s < 60) return s.toFixed(s < 10 ? 2 : 1) + ' s';
  const m = Math.floor(s / 60);
  if (m < 60) return m + ' min ' + Math.round(s - m * 60) + ' s';
  return Math.floor(m / 60) + ' h ' + (m % 60) + ' min';
}

function badge(status) {
  return h('span', { class: 'badge st-' + String(status || '').toLowerCase() }, status || '—');
}

function execLink(id, text) {
  return h('a', { href: '/ui/executions/' + encodeURIComponent(id) }, text || id);
}

function machineLink(name) {
  return h('a', { href: '/ui/state-machines/' + encodeURIComponent(name) }, name);
}

/* A table inside a horizontally scrolling box (phones). `head`: column titles. */
function table(id, head, tbody, caption) {
  const t = h('table', { id }, caption ? h('caption', { class: 'sr-only' }, caption) : null,
    h('thead', {}, h('tr', {}, head.map((c) => h('th', { scope: 'col' }, c)))), tbody);
  return h('div', { class: 'scroll' }, t);
}

function emptyRow(cols, text) {
  return h('tr', { class: 'empty' }, h('td', { colspan: cols }, text));
}

/* Replaces `tbody`'s rows only when the data changed, so that focus and
 * selection survive a poll that brought nothing new. */
function fillRows(tbody, data, build) {
  const key = JSON.stringify(data);
  if (tbody.dataset.key === key) return;
  tbody.dataset.key = key;
  tbody.replaceChildren(...build());
}

/* ---- API client ------------------------------------------------------------ */

class ApiError extends Error {
  constructor(status, data) {
    const msg = data && typeof data === 'object' && data.message ? data.message
      : 'the server answered ' + status;
    super(msg);
    this.status = status;
    this.data = data;
  }
}

let tokenPrompt = null;

/* One in-page prompt however many requests met the 401; the token lives in
 * sessionStorage (this tab, until it closes). */
function askToken() {
  if (tokenPrompt) return tokenPrompt;
  sessionStorage.removeItem(TOKEN_KEY);
  tokenPrompt = new Promise((resolve) => {
    const box = $('#auth'), form = $('#auth-form'), input = $('#auth-token');
    box.hidden = false;
    input.value = '';
    input.focus();
    form.onsubmit = (ev) => {
      ev.preventDefault();
      const t = input.value.trim();
      if (!t) return;
      sessionStorage.setItem(TOKEN_KEY, t);
      box.hidden = true;
      form.onsubmit = null;
      tokenPrompt = null;
      resolve();
    };
  });
  return tokenPrompt;
}

/* fetch() with the token; the browser's cache revalidates GETs with their
 * ETag (the server sends Cache-Control: no-cache), so a poll that finds
 * nothing new costs a 304. Returns {status, ok, data}: parsed JSON or text. */
async function api(path, opts) {
  opts = opts || {};
  for (;;) {
    const headers = { Accept: opts.accept || 'application/json' };
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) headers.Authorization = 'Bearer ' + token;
    const init = { method: opts.method || 'GET', headers };
    if (opts.body !== undefined) {
      init.body = JSON.stringify(opts.body);
      headers['Content-Type'] = 'application/json';
    }
    const r = await fetch(path, init);
    if (r.status === 401) {
      await askToken();
      continue;
    }
    const text = await r.text();
    let data = text;
    if ((r.headers.get('Content-Type') || '').includes('json')) {
      try { data = text ? JSON.parse(text) : null; } catch (e) { data = text; }
    }
    return { status: r.status, ok: r.ok, data };
  }
}

async function apiJson(path, opts) {
  const r = await api(path, opts);
  if (!r.ok) throw new ApiError(r.status, r.data);
  return r.data;
}

/* ---- router and view lifecycle --------------------------------------------- */

const main = document.getElementById('main');
let current = null;

/* What one shown view owns: its polls stop when another view replaces it. */
class ViewCtx {
  constructor() { this.alive = true; this.timers = new Set(); }
  end() {
    this.alive = false;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
  /* Runs fn every `ms` (after the previous run ended) until fn returns
   * false or the view goes; skipped while the tab is hidden. */
  every(ms, fn) {
    const tick = async () => {
      this.timers.delete(t);
      if (!this.alive) return;
      let again = true;
      if (!document.hidden) {
        try { again = (await fn()) !== false; } catch (e) { banner(e.message); }
      }
      if (again && this.alive) { t = setTimeout(tick, ms); this.timers.add(t); }
    };
    let t = setTimeout(tick, ms);
    this.timers.add(t);
  }
  loaded() {
    if (this.alive) document.body.dataset.loaded = '1';
  }
}

function banner(text) {
  const b = $('#banner');
  b.textContent = text || '';
  b.hidden = !text;
}

function navigate(url, replace) {
  history[replace ? 'replaceState' : 'pushState'](null, '', url);
  route(true);
}

function setTitle(text) {
  document.title = text + ' · sagad';
}

function heading(text, extra) {
  return h('div', { class: 'page-head' }, h('h1', { tabindex: '-1' }, text), extra || null);
}

/* Each view is views[name](ctx, ...decoded captures); execution.js adds two. */
const views = {};
const ROUTES = [
  [/^(?:executions)?$/, 'executions'],
  [/^executions\/([^/]+)$/, 'execution'],
  [/^state-machines$/, 'machines'],
  [/^state-machines\/([^/]+)$/, 'machine'],
  [/^orders$/, 'orders'],
  [/^health$/, 'health'],
];

const NAV_OF = { execution: 'executions', machine: 'machines' };

function route(byUser) {
  if (current) current.end();
  const ctx = current = new ViewCtx();
  banner('');
  const rest = location.pathname.replace(/^\/ui\/?/, '').replace(/\/+$/, '');
  let view = 'notfound', fn = viewNotFound, args = [];
  for (const [re, name] of ROUTES) {
    const m = re.exec(rest);
    if (!m) continue;
    try {
      args = m.slice(1).map(decodeURIComponent);
      view = name;
      fn = views[name];
    } catch (e) { /* a malformed %-escape: not found */ }
    break;
  }
  document.body.dataset.loaded = '0';
  document.body.dataset.view = view;
  const nav = NAV_OF[view] || view;
  for (const a of document.querySelectorAll('a[data-nav]')) {
    if (a.dataset.nav === nav) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  // A view draws into its own box: one that a later navigation replaced
  // may finish its fetches, but it then draws into a detached box.
  ctx.root = h('div', { class: 'view' });
  main.replaceChildren(ctx.root);
  Promise.resolve()
    .then(() => fn(ctx, ...args))
    .then(() => {
      if (byUser && ctx.alive) {
        const h1 = $('h1', main);
        if (h1) h1.focus({ preventScroll: true });
        window.scrollTo(0, 0);
      }
    })
    .catch((e) => {
      if (!ctx.alive) return;
      ctx.root.append(h('div', { class: 'error-box', role: 'alert' },
        h('strong', {}, e.status === 404 ? 'Not found: ' : 'Error: '), e.message));
      ctx.loaded();
    });
}

document.addEventListener('click', (ev) => {
  if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey)
    return;
  const a = ev.target.closest && ev.target.closest('a[href]');
  if (!(a instanceof HTMLAnchorElement) || a.target || a.hasAttribute('download')) return;
  const u = new URL(a.href, location.href);
  if (u.origin !== location.origin || !u.pathname.startsWith('/ui/')) return;
  if (u.hash && u.pathname === location.pathname && u.search === location.search) return;
  ev.preventDefault();
  navigate(u.pathname + u.search);
});

window.addEventListener('popstate', () => route(false));

function viewNotFound(ctx) {
  setTitle('Not found');
  ctx.root.append(heading('Nothing here'),
    h('p', {}, 'The console has no view at ', h('code', {}, location.pathname), '. ',
      h('a', { href: '/ui/executions' }, 'See the executions'), '.'));
  ctx.loaded();
}

/* ---- executions ------------------------------------------------------------- */

function labelled(label, control) {
  return h('label', { class: 'field' }, h('span', {}, label), control);
}

async function viewExecutions(ctx) {
  setTitle('Executions');
  const qs = new URLSearchParams(location.search);
  const f = { status: qs.get('status') || '', stateMachine: qs.get('stateMachine') || '',
              q: qs.get('q') || '' };
  let cursor = '', nextCursor = '';
  const older = [];   // cursors of the pages before this one

  const counts = h('ul', { id: 'status-counts', class: 'counts', 'aria-label': 'Executions by status' },
    STATUSES.map((s) => h('li', { dataset: { status: s } },
      h('a', { href: '?status=' + s, class: 'count-link' }, badge(s), h('span', { class: 'count' }, '–')))));
  const selStatus = h('select', { id: 'filter-status' }, h('option', { value: '' }, 'All'),
    STATUSES.map((s) => h('option', { value: s }, s)));
  const selMachine = h('select', { id: 'filter-machine' }, h('option', { value: '' }, 'All'));
  const inQ = h('input', { id: 'filter-q', type: 'search', placeholder: 'execution id or name prefix',
                           autocomplete: 'off', spellcheck: 'false' });
  const tbody = h('tbody');
  const prev = h('button', { id: 'prev-page', type: 'button', disabled: true }, '← Newer');
  const next = h('button', { id: 'next-page', type: 'button', disabled: true }, 'Older →');
  const pageInfo = h('span', { class: 'muted', 'aria-live': 'polite' });

  ctx.root.append(heading('Executions', h('span', { class: 'muted live' }, 'refreshes every 3 s')), counts,
    h('form', { class: 'filters', role: 'search', onsubmit: (e) => e.preventDefault() },
      labelled('Status', selStatus), labelled('State machine', selMachine), labelled('Search', inQ)),
    table('exec-list', ['Name', 'Status', 'State machine', 'Started', 'Duration', 'Current state'],
      tbody, 'Executions, newest first'),
    h('div', { class: 'pager' }, prev, pageInfo, next));

  const machines = await apiJson('/state-machines').catch(() => ({ stateMachines: [] }));
  const names = (machines.stateMachines || []).map((m) => m.name);
  if (f.stateMachine && !names.includes(f.stateMachine)) names.push(f.stateMachine);
  for (const n of names) selMachine.append(h('option', { value: n }, n));
  selStatus.value = STATUSES.includes(f.status) ? f.status : '';
  selMachine.value = f.stateMachine;
  inQ.value = f.q;

  function syncUrl() {
    const p = new URLSearchParams();
    for (const k of ['status', 'stateMachine', 'q']) if (f[k]) p.set(k, f[k]);
    const s = p.toString();
    history.replaceState(null, '', location.pathname + (s ? '?' + s : ''));
    for (const li of counts.children)
      $('a', li).setAttribute('href', '?' + new URLSearchParams(Object.assign({}, f.stateMachine
        ? { stateMachine: f.stateMachine } : {}, { status: li.dataset.status })).toString());
  }

  async function load() {
    const p = new URLSearchParams({ limit: String(PAGE_SIZE) });
    for (const k of ['status', 'stateMachine', 'q']) if (f[k]) p.set(k, f[k]);
    if (cursor) p.set('cursor', cursor);
    const cq = f.stateMachine ? '?' + new URLSearchParams({ stateMachine: f.stateMachine }) : '';
    const [list, cnt] = await Promise.all([apiJson('/executions?' + p), api('/executions/counts' + cq)]);
    if (!ctx.alive) return;
    const rows = list.executions || [];
    nextCursor = list.nextCursor || '';
    fillRows(tbody, rows, () => rows.length ? rows.map(execRow)
      : [emptyRow(6, 'No executions match these filters.')]);
    // Rows kept because nothing changed still show a running execution's age.
    for (const td of tbody.querySelectorAll('td[data-start]'))
      td.textContent = fmtDuration(Date.now() - Date.parse(td.dataset.start));
    next.disabled = !nextCursor;
    prev.disabled = older.length === 0;
    pageInfo.textContent = 'Page ' + (older.length + 1);
    counts.hidden = !cnt.ok;
    if (cnt.ok)
      for (const li of counts.children)
        $('.count', li).textContent = String((cnt.data || {})[li.dataset.status] ?? 0);
  }

  let typing = 0;
  const changed = () => {
    f.status = selStatus.value;
    f.stateMachine = selMachine.value;
    f.q = inQ.value.trim();
    cursor = '';
    older.length = 0;
    syncUrl();
    load().catch((e) => banner(e.message));
  };
  selStatus.addEventListener('change', changed);
  selMachine.addEventListener('change', changed);
  inQ.addEventListener('input', () => { clearTimeout(typing); typing = setTimeout(changed, 300); });
  counts.addEventListener('click', (ev) => {
    const li = ev.target.closest('li[data-status]');
    if (!li) return;
    ev.preventDefault();
    selStatus.value = li.dataset.status;
    changed();
  });
  next.addEventListener('click', () => {
    if (!nextCursor) return;
    older.push(cursor);
    cursor = nextCursor;
    load().catch((e) => banner(e.message));
  });
  prev.addEventListener('click', () => {
    if (!older.length) return;
    cursor = older.pop();
    load().catch((e) => banner(e.message));
  });

  syncUrl();
  await load();
  ctx.loaded();
  ctx.every(3000, load);
}

function execRow(e) {
  const end = e.stopDate ? Date.parse(e.stopDate) : Date.now();
  return h('tr', { dataset: { executionId: e.executionId } },
    h('td', { class: 'name' }, execLink(e.executionId, e.name || e.executionId),
      e.name && e.name !== e.executionId ? h('div', { class: 'muted mono small' }, e.executionId) : null),
    h('td', { class: 'status' }, badge(e.status)),
    h('td', {}, machineLink(e.stateMachine), e.stateMachineVersion ? h('span', { class: 'muted' }, ' v' + e.stateMachineVersion) : null),
    h('td', { class: 'nowrap' }, fmtTime(e.startDate)),
    h('td', { class: 'nowrap', dataset: e.stopDate ? {} : { start: e.startDate } },
      fmtDuration(end - Date.parse(e.startDate))),
    h('td', {}, e.currentState || '—'));
}

/* ---- state machines ----------------------------------------------------------- */

async function viewMachines(ctx) {
  setTitle('State machines');
  const data = await apiJson('/state-machines');
  const list = data.stateMachines || [];
  ctx.root.append(heading('State machines'),
    table('machine-list', ['Name', 'Version', 'Registered', 'Executions'], h('tbody', {},
      list.length ? list.map((m) => h('tr', { dataset: { machine: m.name } },
        h('td', {}, machineLink(m.name)),
        h('td', {}, 'v' + m.version),
        h('td', { class: 'nowrap' }, fmtTime(m.createdDate)),
        h('td', {}, h('a', { href: '/ui/executions?stateMachine=' + encodeURIComponent(m.name) }, 'list'))))
        : [emptyRow(4, 'No state machine is registered.')]), 'State machines'));
  ctx.loaded();
}

/* ---- orders and stock ------------------------------------------------------------ */

async function viewOrders(ctx) {
  setTitle('Orders and stock');
  const orders = h('tbody'), stock = h('tbody');
  ctx.root.append(heading('Orders and stock', h('span', { class: 'muted live' }, 'refreshes every 5 s')),
    h('h2', {}, 'Orders'),
    table('orders-table', ['Order', 'Status', 'Item', 'Qty', 'Customer', 'Created', 'Execution'], orders, 'Orders'),
    h('h2', {}, 'Stock'),
    table('stock-table', ['Item', 'Quantity', 'Updated'], stock, 'Stock'));
  async function load() {
    const [o, s] = await Promise.all([apiJson('/orders?limit=100'), apiJson('/stock')]);
    const ol = o.orders || [], sl = s.stock || [];
    fillRows(orders, ol, () => ol.length ? ol.map((x) => h('tr', {},
      h('td', { class: 'mono' }, x.orderId),
      h('td', { class: 'status' }, badge(x.status)),
      h('td', {}, x.itemId), h('td', { class: 'num' }, String(x.quantity)),
      h('td', {}, [x.firstname, x.surname].filter(Boolean).join(' ') || '—'),
      h('td', { class: 'nowrap' }, fmtTime(x.createdAt)),
      h('td', {}, x.executionId ? execLink(x.executionId, 'open') : '—')))
      : [emptyRow(7, 'No orders yet.')]);
    fillRows(stock, sl, () => sl.length ? sl.map((x) => h('tr', {},
      h('td', {}, x.itemId), h('td', { class: 'num' }, String(x.quantity)),
      h('td', { class: 'nowrap' }, fmtTime(x.updatedAt))))
      : [emptyRow(3, 'No stock.')]);
  }
  await load();
  ctx.loaded();
  ctx.every(5000, load);
}

/* ---- health --------------------------------------------------------------------- */

/* Sums of the Prometheus text's samples by metric name, and by name + labels. */
function parseMetrics(text) {
  const out = {};
  for (const line of String(text).split('\n')) {
    if (!line || line[0] === '#') continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const v = Number(m[3]);
    if (!Number.isFinite(v)) continue;
    out[m[1]] = (out[m[1]] || 0) + v;
    if (m[2]) out[m[1] + m[2]] = v;
  }
  return out;
}

const RATES = [
  ['executions started', 'sagad_executions_started_total'],
  ['succeeded', 'sagad_executions_finished_total{status="SUCCEEDED"}'],
  ['failed', 'sagad_executions_finished_total{status="FAILED"}'],
  ['HTTP requests', 'sagad_http_requests_total'],
];

function facts(id, pairs) {
  return h('dl', { id, class: 'facts' }, pairs.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

async function viewHealth(ctx) {
  setTitle('Health');
  const overall = h('p', { class: 'overall' });
  const db = h('section', { class: 'card' }), redis = h('section', { class: 'card' }),
    outbox = h('section', { class: 'card' }), rates = h('section', { class: 'card' });
  ctx.root.append(heading('Health', h('span', { class: 'muted live' }, 'refreshes every 3 s')), overall,
    h('div', { class: 'cards' }, db, redis, outbox, rates));
  let last = null;

  async function load() {
    const [hz, mt] = await Promise.all([api('/healthz'), api('/metrics', { accept: 'text/plain' })]);
    const z = hz.data && typeof hz.data === 'object' ? hz.data : {};
    overall.replaceChildren('Overall: ', badge(z.status || ('HTTP ' + hz.status)));
    const d = z.database || {};
    db.replaceChildren(h('h2', {}, 'Database'), facts('health-db', [
      ['status', d.storage || d.status || '—'], ['writable', String(d.writable ?? '—')],
      ['integrity', d.integrity || '—'], ['commits', String(d.commits ?? '—')],
      ['failed commits', String(d.failedCommits ?? '—')], ['file', d.path || '—']]));
    const r = z.redis || {};
    redis.replaceChildren(h('h2', {}, 'Redis'), facts('health-redis', [
      ['state', r.enabled === false ? 'disabled' : r.connected ? 'connected' : 'disconnected'],
      ['address', r.address || '—'], ['stream', (r.stream && r.stream.name) || '—']]));
    const o = z.outbox || {};
    outbox.replaceChildren(h('h2', {}, 'Outbox'), facts('health-outbox', [
      ['backlog', String(o.backlog ?? '—')], ['published', String(o.published ?? '—')],
      ['publish failures', String(o.publishFailures ?? '—')],
      ['stream appends', String(o.appended ?? '—')],
      ['running executions', String((z.executions || {}).running ?? '—')]]));
    const now = { t: performance.now(), m: mt.ok ? parseMetrics(mt.data) : null };
    let rows;
    if (!now.m) rows = [['metrics', 'unavailable (HTTP ' + mt.status + ')']];
    else if (!last) rows = RATES.map(([k]) => [k, 'measuring…']);
    else {
      const dt = (now.t - last.t) / 1000;
      rows = RATES.map(([k, name]) => [k, dt > 0
        ? (Math.max(0, (now.m[name] || 0) - (last.m[name] || 0)) / dt).toFixed(2) + ' /s' : '—']);
    }
    if (now.m) last = now;
    rates.replaceChildren(h('h2', {}, 'Rates'), facts('health-rates', rows));
  }
  await load();
  ctx.loaded();
  ctx.every(3000, load);
}

/* execution.js (loaded after this file, same global scope: classic scripts
 * share their top-level names) adds views.execution and views.machine. */
Object.assign(views, { executions: viewExecutions, machines: viewMachines, orders: viewOrders,
                      health: viewHealth });

document.addEventListener('DOMContentLoaded', () => route(false));
