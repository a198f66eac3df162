/* sagad web console, part 2: one execution (summary, the server's graph with
 * clickable states, state detail, data, timeline, events, Stop) and one state
 * machine (definition, graph, versions, start form). Uses app.js's helpers. */
'use strict';

/* ---- the graph: our server's SVG, inserted parsed ------------------------------ */

/* Parses `text` as SVG and puts it in `box`; a defensive pass drops scripts
 * and event attributes even though the SVG comes from our own server. When
 * `onPick` is given each g.state becomes a focusable button calling
 * onPick(path). Returns false when the text is not SVG. */
function showSvg(box, text, onPick) {
  const doc = new DOMParser().parseFromString(text, 'image/svg+xml');
  const svg = doc.documentElement;
  if (!svg || svg.localName !== 'svg' || doc.getElementsByTagName('parsererror').length)
    return false;
  // Animation elements can set an href to javascript: (the CSP blocks it;
  // this is the second lock). The one <style> is the server's colouring.
  for (const n of svg.querySelectorAll('script, foreignObject, set, animate, animateMotion, animateTransform'))
    n.remove();
  for (const n of svg.querySelectorAll('*'))
    for (const a of Array.from(n.attributes))
      if (/^on/i.test(a.name) || (/href$/i.test(a.name) && !/^#/.test(a.value))) n.removeAttribute(a.name);
  const node = document.importNode(svg, true);
  node.setAttribute('role', 'group');
  node.setAttribute('aria-label', 'Graph of the states');
  if (onPick) {
    for (const g of node.querySelectorAll('g.state')) {
      const path = (g.id || '').replace(/^state:/, '');
      const outcome = Array.from(g.classList).find((c) => c.startsWith('outcome-'));
      g.setAttribute('tabindex', '0');
      g.setAttribute('role', 'button');
      g.setAttribute('aria-label', 'State ' + path + (outcome ? ', ' + outcome.slice(8) : ''));
      g.addEventListener('click', () => onPick(path));
      g.addEventListener('keydown', (ev) => {
        if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); onPick(path); }
      });
    }
  }
  const focused = document.activeElement && box.contains(document.activeElement) ? document.activeElement.id : '';
  box.replaceChildren(node);
  if (focused) {
    const again = document.getElementById(focused);
    if (again && box.contains(again)) again.focus({ preventScroll: true });
  }
  return true;
}

/* Fetches an SVG into `box` unless it is unchanged; says so when the server
 * has no graph (an older sagad) instead of failing the view. */
async function loadGraph(box, url, onPick) {
  const r = await api(url, { accept: 'image/svg+xml' });
  const text = r.ok ? String(r.data) : '';
  if (r.ok && box.dataset.svg === text) return;
  if (!r.ok || !showSvg(box, text, onPick)) {
    box.dataset.svg = '';
    box.replaceChildren(h('p', { class: 'muted' }, 'Graph unavailable' +
      (r.ok ? ' (not SVG).' : ' (HTTP ' + r.status + ').')));
    return;
  }
  box.dataset.svg = text;
}

/* ---- what the history says about each state ---------------------------------- */

/* One entry per time a state was entered: {name, type, entered, exited,
 * input, output, attempts, errors[], failedLast, depth (inside how many
 * Parallel/Map states), endedAt (set when the run ended in it and a redrive
 * ran it again)}. Errors and task
 * events go to the innermost state still open; an exit also closes the
 * states entered inside it that never exited (a failed branch). */
function stateVisits(events) {
  const visits = [], open = [];
  let runEnd = null;   // when the run before a redrive ended
  for (const e of events) {
    if (/^Execution(Failed|TimedOut|Aborted)$/.test(e.type)) runEnd = e.timestamp;
    if (e.type === 'ExecutionRedriven') {
      // The visits the run ended in are over (failed); a Parallel or Map may
      // go on with its failed branches, so it stays open.
      for (let i = open.length - 1; i >= 0; i--) {
        if (open[i].type === 'Parallel' || open[i].type === 'Map') continue;
        open[i].endedAt = runEnd || e.timestamp;
        open.splice(i, 1);
      }
      continue;
    }
    const d = e.details || {};
    const entered = /StateEntered$/.test(e.type), exited = /StateExited$/.test(e.type);
    if (entered && d.name != null) {
      const v = { name: d.name, type: e.type.replace(/StateEntered$/, ''), entered: e.timestamp,
                  input: d.input, attempts: 0, errors: [], failedLast: false, depth: open.length };
      visits.push(v);
      open.push(v);
    } else if (exited && d.name != null) {
      let i = open.length - 1;
      while (i >= 0 && open[i].name !== d.name) i--;
      if (i < 0) continue;
      const v = open[i];
      v.exited = e.timestamp;
      v.output = d.output;
      v.hasOutput = true;
      open.length = i;
    } else if (open.length && !/^Execution/.test(e.type)) {
      // The execution's own end (ExecutionFailed, ...) repeats the state's
      // error; it belongs to the execution, not to the state still open.
      const v = open[open.length - 1];
      if (/Scheduled$/.test(e.type)) { v.attempts++; v.failedLast = false; }
      if (d.error !== undefined || /Failed$|TimedOut$|Aborted$/.test(e.type)) {
        v.errors.push({ type: e.type, error: d.error, cause: d.cause, at: e.timestamp });
        v.failedLast = true;
      }
    }
  }
  return visits;
}

function visitOutcome(v, execStatus) {
  if (v.exited) return v.failedLast ? 'caught' : 'succeeded';
  if (v.endedAt) return 'failed';   // ended by the run before a redrive
  if (execStatus === 'RUNNING') return 'running';
  return 'failed';
}

/* ---- execution view ------------------------------------------------------------- */

views.execution = async function viewExecution(ctx, id) {
  const base = '/executions/' + encodeURIComponent(id);
  const title = h('h1', { tabindex: '-1' }, id);
  const status = h('span', { id: 'exec-status' });
  const summary = h('dl', { class: 'facts summary' });
  const live = h('span', { class: 'muted live', hidden: true }, 'updates every 2 s');
  const stopBtn = h('button', { id: 'stop-execution', type: 'button', class: 'danger', hidden: true }, 'Stop…');
  const confirmBtn = h('button', { id: 'confirm-stop', type: 'button', class: 'danger' }, 'Stop execution');
  const cancelBtn = h('button', { type: 'button' }, 'Cancel');
  const confirm = h('div', { class: 'confirm', role: 'alertdialog', 'aria-labelledby': 'confirm-text', hidden: true },
    h('p', { id: 'confirm-text' }, 'Stop this execution? It ends ABORTED; states already done are not undone.'),
    confirmBtn, ' ', cancelBtn);
  // Redrive: an execution that ended FAILED, TIMED_OUT or ABORTED runs again
  // from the state it ended in (POST /executions/{id}/redrive).
  const redriveBtn = h('button', { id: 'redrive-execution', type: 'button', class: 'primary', hidden: true }, 'Redrive…');
  const confirmRedriveBtn = h('button', { id: 'confirm-redrive', type: 'button', class: 'primary' }, 'Redrive execution');
  const cancelRedriveBtn = h('button', { type: 'button' }, 'Cancel');
  const confirmRedrive = h('div', { class: 'confirm redrive', role: 'alertdialog', 'aria-labelledby': 'confirm-redrive-text', hidden: true },
    h('p', { id: 'confirm-redrive-text' }, 'Redrive this execution? It runs again from the state it ended in, ' +
      'with the input that state had; the states before it are not run again. Fix what made it fail first.'),
    confirmRedriveBtn, ' ', cancelRedriveBtn);
  const graph = h('div', { id: 'exec-graph', class: 'graph' }, h('p', { class: 'muted' }, 'Loading the graph…'));
  const detail = h('section', { id: 'state-detail', class: 'card detail', hidden: true, 'aria-live': 'polite' });
  const pre = (pid) => h('pre', { id: pid, class: 'json' });
  const input = pre('exec-input'), output = pre('exec-output'), error = pre('exec-error'), cause = pre('exec-cause');
  const timeline = h('div', { id: 'timeline', class: 'timeline' });
  const events = h('tbody');

  ctx.root.append(
    h('div', { class: 'page-head' }, title, status, live, stopBtn, redriveBtn), confirm, confirmRedrive, summary,
    h('div', { class: 'graph-row' },
      h('section', { class: 'card graph-card' }, h('h2', {}, 'Graph'),
        h('p', { class: 'muted small' }, 'Select a state (click, or Tab and Enter) for its input, output and errors.'),
        graph),
      detail),
    h('div', { class: 'data-grid' },
      h('section', { class: 'card' }, h('h2', {}, 'Input'), input),
      h('section', { class: 'card' }, h('h2', {}, 'Output'), output),
      h('section', { class: 'card' }, h('h2', {}, 'Error'), error),
      h('section', { class: 'card' }, h('h2', {}, 'Cause'), cause)),
    h('section', { class: 'card' }, h('h2', {}, 'Timeline'), timeline),
    h('section', { class: 'card' }, h('h2', {}, 'Events'),
      table('event-table', ['#', 'Time', 'Type', 'State', 'Details'], events, 'History events')));

  let desc = null, visits = [], picked = null, pickedVisit = -1;

  function showDetail(path, visitIndex) {
    picked = path;
    const name = path.split('/').pop();
    const mine = visits.filter((v) => v.name === name);
    const g = document.getElementById('state:' + path);
    for (const s of graph.querySelectorAll('g.state.picked')) s.classList.remove('picked');
    if (g) g.classList.add('picked');
    pickedVisit = visitIndex >= 0 && visitIndex < mine.length ? visitIndex : mine.length - 1;
    const v = mine[pickedVisit];
    // A poll that changed nothing leaves the panel (and a reader's place in it) alone.
    const key = JSON.stringify([path, pickedVisit, mine.length, v, desc && desc.status]);
    if (!detail.hidden && detail.dataset.key === key) return;
    detail.dataset.key = key;
    const close = h('button', { type: 'button', class: 'close', 'aria-label': 'Close the state detail' }, '×');
    close.addEventListener('click', () => {
      detail.hidden = true;
      picked = null;
      if (g) { g.classList.remove('picked'); g.focus(); }
    });
    const parts = [h('div', { class: 'detail-head' }, h('h2', { id: 'state-name' }, path), close)];
    if (mine.length > 1) {
      const sel = h('select', { id: 'state-visit' }, mine.map((x, i) =>
        h('option', { value: String(i) }, 'Visit ' + (i + 1) + ' of ' + mine.length + ' · ' + fmtTime(x.entered))));
      sel.value = String(pickedVisit);
      sel.addEventListener('change', () => { showDetail(path, Number(sel.value)); $('#state-visit').focus(); });
      parts.push(labelled('Visit', sel));
    }
    const errText = v && v.errors.length
      ? v.errors.map((x) => (x.error ?? x.type) + (x.cause ? ': ' + x.cause : '')).join('\n') : '—';
    const retries = v ? Math.max(0, v.attempts - 1) : 0;
    parts.push(
      h('dl', { class: 'facts' },
        h('dt', {}, 'Outcome'), h('dd', {}, v ? visitOutcome(v, desc && desc.status) : 'not reached'),
        h('dt', {}, 'Entered'), h('dd', {}, v ? fmtTime(v.entered) : '—'),
        h('dt', {}, 'Exited'), h('dd', {}, v && v.exited ? fmtTime(v.exited) : '—'),
        h('dt', {}, 'Retries'), h('dd', { id: 'state-retries' }, v ? String(retries) +
          (v.attempts > 1 ? ' (' + v.attempts + ' attempts)' : '') : '—')),
      h('h3', {}, 'Error'), h('pre', { id: 'state-error', class: 'json' }, errText),
      h('h3', {}, 'Input'), h('pre', { id: 'state-input', class: 'json' }, v ? pretty(v.input) : '—'),
      h('h3', {}, 'Output'), h('pre', { id: 'state-output', class: 'json' },
        v && v.hasOutput ? pretty(v.output) : '—'));
    if (!v) parts.push(h('p', { class: 'muted' }, 'This execution did not reach this state.'));
    detail.replaceChildren(...parts);
    detail.hidden = false;
  }

  function renderTimeline(t0, tEnd) {
    const span = Math.max(tEnd - t0, 1);
    const rows = visits.slice(0, 500).map((v) => {
      const s = Date.parse(v.entered);
      const e = v.exited ? Date.parse(v.exited) : v.endedAt ? Date.parse(v.endedAt) : tEnd;
      const outcome = visitOutcome(v, desc.status);
      const bar = h('span', { class: 'bar outcome-' + outcome,
                              title: v.name + ': ' + fmtDuration(e - s) + ' (' + outcome + ')' });
      bar.style.left = ((s - t0) / span * 100).toFixed(3) + '%';
      bar.style.width = 'max(3px, ' + ((e - s) / span * 100).toFixed(3) + '%)';
      const label = h('span', { class: 'tl-name', title: v.name }, v.name);
      if (v.depth) label.style.setProperty('--depth', String(Math.min(v.depth, 6)));
      return h('div', { class: 'tl-row' }, label,
        h('span', { class: 'tl-track' }, bar), h('span', { class: 'tl-dur' }, fmtDuration(e - s)));
    });
    const axis = h('div', { class: 'tl-row tl-axis' }, h('span', { class: 'tl-name' }, ''),
      h('span', { class: 'tl-track' }, h('span', {}, '0'), h('span', {}, fmtDuration(tEnd - t0))),
      h('span', { class: 'tl-dur' }, ''));
    const key = JSON.stringify([visits, tEnd]);
    if (timeline.dataset.key === key) return;
    timeline.dataset.key = key;
    timeline.replaceChildren(...(rows.length ? [...rows, axis] : [h('p', { class: 'muted' }, 'No state entered yet.')]));
    if (visits.length > 500) timeline.append(h('p', { class: 'muted' }, 'First 500 of ' + visits.length + ' states shown.'));
  }

  function eventRow(e, t0) {
    const d = e.details || {};
    let info = '';
    if (d.error !== undefined || d.cause !== undefined) info = [d.error, d.cause].filter((x) => x != null).join(': ');
    else if (d.resource) info = d.resource;
    const hasMore = Object.keys(d).length > 0;
    return h('tr', {},
      h('td', { class: 'num' }, String(e.id)),
      h('td', { class: 'nowrap', title: e.timestamp }, '+' + fmtDuration(Date.parse(e.timestamp) - t0)),
      h('td', {}, e.type),
      h('td', {}, d.name != null ? String(d.name) : ''),
      h('td', { class: 'ev-details' }, info ? h('span', {}, info) : null,
        hasMore ? h('details', {}, h('summary', {}, 'details'), h('pre', { class: 'json' }, pretty(d))) : null));
  }

  stopBtn.addEventListener('click', () => { confirm.hidden = false; confirmBtn.focus(); });
  cancelBtn.addEventListener('click', () => { confirm.hidden = true; stopBtn.focus(); });
  confirmBtn.addEventListener('click', async () => {
    confirmBtn.disabled = true;
    try {
      const r = await api(base + '/stop', { method: 'POST' });
      if (!r.ok) throw new ApiError(r.status, r.data);
      confirm.hidden = true;
      await refresh();
    } catch (e) {
      banner('Stop failed: ' + e.message);
    } finally {
      confirmBtn.disabled = false;
    }
  });

  redriveBtn.addEventListener('click', () => { confirmRedrive.hidden = false; confirmRedriveBtn.focus(); });
  cancelRedriveBtn.addEventListener('click', () => { confirmRedrive.hidden = true; redriveBtn.focus(); });
  confirmRedriveBtn.addEventListener('click', async () => {
    confirmRedriveBtn.disabled = true;
    try {
      const r = await api(base + '/redrive', { method: 'POST' });
      if (!r.ok) throw new ApiError(r.status, r.data);
      confirmRedrive.hidden = true;
      if (await refresh()) poll();
    } catch (e) {
      banner('Redrive failed: ' + e.message);
    } finally {
      confirmRedriveBtn.disabled = false;
    }
  });

  const pick = (path) => {
    showDetail(path, -1);
    // On narrow screens the detail sits below the graph: bring it into view.
    if (window.matchMedia('(max-width: 999px)').matches) detail.scrollIntoView({ block: 'start' });
  };
  let graphFor = null;   // the status the graph was drawn for

  async function refresh() {
    const [d, hist] = await Promise.all([apiJson(base), apiJson(base + '/history')]);
    if (!ctx.alive) return false;
    desc = d;
    setTitle(d.name || d.executionId);
    title.textContent = d.name || d.executionId;
    status.replaceChildren(badge(d.status));
    const running = d.status === 'RUNNING';
    stopBtn.hidden = !running;
    redriveBtn.hidden = !['FAILED', 'TIMED_OUT', 'ABORTED'].includes(d.status);
    live.hidden = !running;
    if (!running) confirm.hidden = true;
    if (redriveBtn.hidden) confirmRedrive.hidden = true;
    const t0 = Date.parse(d.startDate), tEnd = d.stopDate ? Date.parse(d.stopDate) : Date.now();
    summary.replaceChildren(
      h('dt', {}, 'Execution id'), h('dd', { class: 'mono' }, d.executionId),
      h('dt', {}, 'State machine'), h('dd', {}, machineLink(d.stateMachine), ' v' + (d.stateMachineVersion ?? '?')),
      h('dt', {}, 'Started'), h('dd', {}, fmtTime(d.startDate)),
      h('dt', {}, 'Stopped'), h('dd', {}, fmtTime(d.stopDate)),
      h('dt', {}, 'Duration'), h('dd', {}, fmtDuration(tEnd - t0) + (running ? ' so far' : '')),
      h('dt', {}, 'Current state'), h('dd', {}, d.currentState || '—'),
      ...(d.redriveCount > 0 ? [h('dt', {}, 'Redriven'), h('dd', { id: 'exec-redriven' },
        d.redriveCount + (d.redriveCount === 1 ? ' time' : ' times') + ', last ' + fmtTime(d.redriveDate))] : []));
    input.textContent = pretty(d.input);
    output.textContent = d.output == null ? '—' : pretty(d.output);
    error.textContent = d.error == null ? '—' : String(d.error);
    cause.textContent = d.cause == null ? '—' : String(d.cause);
    const evs = hist.events || [];
    visits = stateVisits(evs);
    fillRows(events, evs, () => evs.map((e) => eventRow(e, t0)));
    renderTimeline(t0, tEnd);
    // While running, every poll (cheap: the server answers 304 when
    // nothing moved); once more when it ends, to paint the last state.
    if (running || graphFor !== d.status) {
      await loadGraph(graph, base + '/graph.svg', pick);
      graphFor = d.status;
    }
    if (picked) showDetail(picked, pickedVisit);
    return running;
  }

  // Polls while it runs; a redrive starts polling again.
  let polling = false;
  function poll() {
    if (polling) return;
    polling = true;
    ctx.every(2000, async () => {
      const again = await refresh();
      if (again === false) polling = false;
      return again;
    });
  }

  const running = await refresh();
  ctx.loaded();
  if (running) poll();
};

/* ---- state machine view ------------------------------------------------------- */

views.machine = async function viewMachine(ctx, name) {
  const qs = new URLSearchParams(location.search);
  const version = qs.get('version') || '';
  const base = '/state-machines/' + encodeURIComponent(name);
  const vq = version ? '?' + new URLSearchParams({ version }) : '';
  setTitle(name);
  const [m, vers] = await Promise.all([apiJson(base + vq), api(base + '/versions')]);
  const graph = h('div', { id: 'machine-graph', class: 'graph' }, h('p', { class: 'muted' }, 'Loading the graph…'));
  const versions = h('div', { id: 'machine-versions' });
  const list = vers.ok && vers.data && Array.isArray(vers.data.versions) ? vers.data.versions : null;
  if (list && list.length) {
    versions.append(h('ul', { class: 'versions' }, list.slice().sort((a, b) => b.version - a.version).map((v) => h('li', {},
      Number(v.version) === Number(m.version) ? h('strong', { 'aria-current': 'page' }, 'v' + v.version)
        : h('a', { href: '/ui/state-machines/' + encodeURIComponent(name) + '?version=' + encodeURIComponent(v.version) },
          'v' + v.version),
      v.createdAt || v.createdDate ? h('span', { class: 'muted' }, ' ' + fmtTime(v.createdAt || v.createdDate)) : null))));
  } else {
    versions.append(h('p', { class: 'muted' }, 'v' + m.version + ' (this server lists no other versions).'));
  }

  const startInput = h('textarea', { id: 'start-input', rows: '8', spellcheck: 'false',
                                     'aria-describedby': 'start-error' }, '{}');
  const startName = h('input', { id: 'start-name', type: 'text', autocomplete: 'off',
                                 placeholder: 'optional, unique per machine' });
  const startErr = h('p', { id: 'start-error', class: 'error-text', role: 'alert', hidden: true });
  const submit = h('button', { id: 'start-submit', type: 'submit', class: 'primary' }, 'Start execution');
  const form = h('form', { class: 'start-form', novalidate: true },
    labelled('Input (JSON)', startInput), labelled('Name', startName), startErr, submit);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    startErr.hidden = true;
    let input;
    try {
      input = JSON.parse(startInput.value);
    } catch (e) {
      startErr.textContent = 'The input is not valid JSON: ' + e.message;
      startErr.hidden = false;
      startInput.focus();
      return;
    }
    const body = { input };
    if (startName.value.trim()) body.name = startName.value.trim();
    submit.disabled = true;
    try {
      const r = await api(base + '/executions', { method: 'POST', body });
      if (!r.ok || !r.data || !r.data.executionId) throw new ApiError(r.status, r.data);
      navigate('/ui/executions/' + encodeURIComponent(r.data.executionId));
    } catch (e) {
      startErr.textContent = 'Not started: ' + e.message;
      startErr.hidden = false;
    } finally {
      submit.disabled = false;
    }
  });

  ctx.root.append(
    heading(name, h('span', { class: 'muted' }, 'v' + m.version + (m.createdDate ? ' · ' + fmtTime(m.createdDate) : ''))),
    h('p', {}, h('a', { href: '/ui/executions?stateMachine=' + encodeURIComponent(name) }, 'Executions of ' + name)),
    h('div', { class: 'graph-row' },
      h('section', { class: 'card graph-card' }, h('h2', {}, 'Graph'), graph),
      h('div', { class: 'side' },
        h('section', { class: 'card' }, h('h2', {}, 'Start an execution'), form),
        h('section', { class: 'card' }, h('h2', {}, 'Versions'), versions))),
    h('section', { class: 'card' }, h('h2', {}, 'Definition'),
      h('pre', { id: 'machine-definition', class: 'json' }, pretty(m.definition))));
  await loadGraph(graph, base + '/graph.svg' + vq, null);
  ctx.loaded();
};
