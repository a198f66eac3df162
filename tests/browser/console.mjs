// Drives the web console (/ui/) of a running sagad in Debian's chromium,
// headless, through puppeteer-core. tests/integration/test_console.py seeds
// the daemon and reads the one "RESULT {json}" line printed per scenario.
//
// usage: node console.mjs --url http://127.0.0.1:PORT --shots DIR --seed SEED.json
import fs from "node:fs";
import path from "node:path";
import puppeteer from "puppeteer-core";

const WIDE = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844, isMobile: true, hasTouch: true, deviceScaleFactor: 1 };
const WAIT_MS = Number(process.env.SAGAD_UI_WAIT_MS || 10000);

function parseArgs(argv) {
  const out = {};
  for (let i = 2; i < argv.length; i += 2) out[argv[i].replace(/^--/, "")] = argv[i + 1];
  if (!out.url || !out.shots || !out.seed) {
    console.error("usage: node console.mjs --url URL --shots DIR --seed SEED.json");
    process.exit(2);
  }
  return out;
}

const args = parseArgs(process.argv);
const BASE = args.url.replace(/\/$/, "");
const SEED = JSON.parse(fs.readFileSync(args.seed, "utf8"));
fs.mkdirSync(args.shots, { recursive: true });

// Every console error, uncaught exception, window dialog and failed
// same-origin request of every page lands here; each scenario reports (and
// fails on) those that happened while it ran.
const browserErrors = [];

function watch(page, label) {
  page.on("console", (msg) => {
    if (msg.type() === "error") {
      const loc = msg.location();
      browserErrors.push(`${label} console.error: ${msg.text()}${loc && loc.url ? " at " + loc.url : ""}`);
    }
  });
  page.on("pageerror", (err) => browserErrors.push(`${label} pageerror: ${err.message}`));
  page.on("dialog", async (d) => {
    browserErrors.push(`${label} window.${d.type()}() used: ${d.message()}`);
    await d.dismiss().catch(() => {});
  });
  page.on("requestfailed", (req) => {
    const why = req.failure() ? req.failure().errorText : "";
    // A navigation away aborts the polls in flight: that is not an error.
    if (req.url().startsWith(BASE) && why !== "net::ERR_ABORTED")
      browserErrors.push(`${label} request failed: ${req.method()} ${req.url()} ${why}`);
  });
}

async function api(method, p, body) {
  const r = await fetch(BASE + p, {
    method,
    headers: body ? { "Content-Type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = text; }
  return { status: r.status, json };
}

function check(cond, message) {
  if (!cond) throw new Error(message);
}

// Waits for the app to say the view is shown (body data-view/data-loaded).
async function loaded(page, view) {
  try {
    await page.waitForFunction(
      (v) => document.body && document.body.dataset.view === v && document.body.dataset.loaded === "1",
      { timeout: WAIT_MS }, view);
  } catch {
    const seen = await page.evaluate(() => document.body
      ? `data-view=${document.body.dataset.view} data-loaded=${document.body.dataset.loaded}`
      : "no body").catch(() => "page gone");
    throw new Error(`view "${view}" never loaded at ${page.url()} (${seen})`);
  }
}

async function open(page, p, view) {
  const r = await page.goto(BASE + p, { waitUntil: "domcontentloaded" });
  // 304: the browser revalidated the app's page with its ETag.
  check(r && (r.status() === 200 || r.status() === 304), `GET ${p} answered ${r ? r.status() : "nothing"}, not the app`);
  await loaded(page, view);
}

async function until(page, fn, what, ...fargs) {
  try {
    await page.waitForFunction(fn, { timeout: WAIT_MS }, ...fargs);
  } catch {
    throw new Error(`timed out waiting for ${what} at ${page.url()}`);
  }
}

async function text(page, sel) {
  const el = await page.$(sel);
  check(el, `no ${sel} on ${page.url()}`);
  return (await el.evaluate((e) => e.textContent || "")).trim();
}

async function shot(page, name, clip) {
  const file = path.join(args.shots, name + ".png");
  await page.screenshot({ path: file, clip });
  return file;
}

// The rows of #exec-list in order: [{id, status}].
function listRows(page) {
  return page.$$eval("#exec-list tr[data-execution-id]", (trs) => trs.map((tr) => ({
    id: tr.dataset.executionId,
    status: ((tr.querySelector("td.status") || {}).textContent || "").trim(),
  })));
}

// {name: [classes]} of every state node of the graph inside `container`.
function graphStates(page, container) {
  return page.$$eval(`${container} g.state`, (gs) => Object.fromEntries(gs.map((g) => [
    (g.id || "").replace(/^state:/, ""), Array.from(g.classList)])));
}

function stateSel(container, name) {
  return `${container} g.state[id="state:${name}"]`;
}

// A scenario with `tokens` runs only against a daemon that wants bearer
// tokens (SEED.token set), every other one only against an open daemon.
// `allow` matches browser errors the scenario expects (a 401 it answers).
const scenarios = [];
const scenario = (name, fn, opts = {}) => scenarios.push({ name, fn, ...opts });

let page;        // one wide page reused by every scenario

scenario("list", async () => {
  await open(page, "/ui/", "executions");
  const { json } = await api("GET", "/executions?limit=50");
  const want = json.executions.map((e) => e.executionId);
  await until(page, (n) => document.querySelectorAll("#exec-list tr[data-execution-id]").length >= n,
    `${Math.min(want.length, 10)} rows in #exec-list`, Math.min(want.length, 10));
  const rows = await listRows(page);
  const ids = rows.map((r) => r.id);
  for (const id of SEED.allIds)
    check(ids.includes(id), `seeded execution ${id} missing from #exec-list (rows: ${ids.length})`);
  check(JSON.stringify(ids) === JSON.stringify(want.slice(0, ids.length)),
    `#exec-list is not in the API's newest-first order:\n ui  ${ids.join(",")}\n api ${want.join(",")}`);
  check(ids[0] === SEED.newestId, `first row is ${ids[0]}, the newest execution is ${SEED.newestId}`);
  const link = await page.$(`#exec-list tr[data-execution-id="${SEED.failedCustomId}"] a[href$="/ui/executions/${SEED.failedCustomId}"]`);
  check(link, `row ${SEED.failedCustomId} has no link to /ui/executions/${SEED.failedCustomId}`);
  return { rows: ids.length, screenshot: await shot(page, "executions"),
           readme: await shot(page, "readme-executions", { x: 0, y: 0, width: 1280, height: 800 }) };
});

scenario("counts", async () => {
  await open(page, "/ui/", "executions");
  const { status, json } = await api("GET", "/executions/counts");
  check(status === 200, `GET /executions/counts answered ${status}`);
  const seen = {};
  for (const st of ["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"]) {
    const sel = `#status-counts [data-status="${st}"] .count`;
    seen[st] = Number(await text(page, sel));
    check(seen[st] === json[st], `${sel} shows ${seen[st]}, GET /executions/counts says ${json[st]}`);
  }
  return { counts: seen };
});

scenario("filter_failed", async () => {
  await open(page, "/ui/", "executions");
  check(await page.$("select#filter-status"), "no select#filter-status");
  await page.select("select#filter-status", "FAILED");
  const { json } = await api("GET", "/executions?status=FAILED&limit=50");
  const want = json.executions.map((e) => e.executionId);
  check(json.executions.every((e) => e.status === "FAILED"),
    "GET /executions?status=FAILED lists other statuses too: the API's status filter is missing");
  check(want.length === SEED.failedIds.length, `API lists ${want.length} FAILED, seeded ${SEED.failedIds.length}`);
  await until(page, (n) => {
    const trs = Array.from(document.querySelectorAll("#exec-list tr[data-execution-id]"));
    return trs.length === n && trs.every((tr) => (tr.querySelector("td.status") || {}).textContent?.trim() === "FAILED");
  }, `exactly ${want.length} rows, all FAILED`, want.length);
  const ids = (await listRows(page)).map((r) => r.id);
  check([...ids].sort().join() === [...SEED.failedIds].sort().join(),
    `FAILED rows ${ids.join(",")} are not the seeded failures ${SEED.failedIds.join(",")}`);
  const url = new URL(page.url());
  check(url.searchParams.get("status") === "FAILED", `the URL does not reflect the filter: ${page.url()}`);
  const file = await shot(page, "executions-failed");
  // The filtered URL is a deep link: a fresh load shows the same list.
  await open(page, url.pathname + url.search, "executions");
  await until(page, (n) => {
    const trs = Array.from(document.querySelectorAll("#exec-list tr[data-execution-id]"));
    return trs.length === n && trs.every((tr) => (tr.querySelector("td.status") || {}).textContent?.trim() === "FAILED");
  }, `the deep link ${url.pathname + url.search} to show only the ${want.length} FAILED rows`, want.length);
  const sel = await page.$eval("select#filter-status", (s) => s.value);
  check(sel === "FAILED", `after loading the deep link select#filter-status is "${sel}"`);
  return { url: page.url(), rows: ids.length, screenshot: file };
});

// Rows of #exec-list until they equal `want` (ids, in order).
async function rowsBecome(page, want, what) {
  await until(page, (w) => {
    const ids = Array.from(document.querySelectorAll("#exec-list tr[data-execution-id]")).map((tr) => tr.dataset.executionId);
    return ids.join() === w.join();
  }, what, want).catch(async (e) => {
    throw new Error(`${e.message}: rows are ${(await listRows(page)).map((r) => r.id).join(",")}`);
  });
}

scenario("filter_machine_search_paging", async () => {
  const m = SEED.pagingMachine;
  await open(page, "/ui/", "executions");
  await page.select("select#filter-machine", m);
  const all = (await api("GET", `/executions?stateMachine=${m}&limit=100`)).json.executions.map((e) => e.executionId);
  check(all.length > 25, `seeded ${all.length} executions of ${m}, need more than one page`);
  await until(page, (m) => new URL(location.href).searchParams.get("stateMachine") === m,
    `stateMachine=${m} in the URL`, m);
  const first = await page.$$eval("#exec-list tr[data-execution-id]", (trs) => trs.length);
  check(first > 0 && first < all.length, `page 1 of ${m} has ${first} rows of ${all.length}`);
  await rowsBecome(page, all.slice(0, first), `page 1 of ${m}: its ${first} newest executions`);
  await page.click("button#next-page");
  await rowsBecome(page, all.slice(first, 2 * first), `page 2 of ${m} after button#next-page`);
  await page.click("button#prev-page");
  await rowsBecome(page, all.slice(0, first), `page 1 again after button#prev-page`);
  // Search: a name prefix, then an exact execution id.
  await page.select("select#filter-machine", "");
  await page.type("input#filter-q", SEED.searchPrefix);
  await rowsBecome(page, [SEED.failedCustomId], `only ${SEED.failedCustomId} for the name prefix "${SEED.searchPrefix}"`);
  check(new URL(page.url()).searchParams.get("q") === SEED.searchPrefix, `the URL does not carry q: ${page.url()}`);
  await page.$eval("input#filter-q", (i) => { i.value = ""; });
  await page.type("input#filter-q", SEED.caughtId);
  await rowsBecome(page, [SEED.caughtId], `only ${SEED.caughtId} when searching its id`);
  return { perPage: first, total: all.length };
});

scenario("open_failed", async () => {
  // From the filtered list (the previous scenario's deep link), click the row.
  await open(page, "/ui/?status=FAILED", "executions");
  const a = `#exec-list tr[data-execution-id="${SEED.failedCustomId}"] a`;
  await until(page, (s) => !!document.querySelector(s), `the row link ${a}`, a);
  await page.click(a);
  await loaded(page, "execution");
  check(new URL(page.url()).pathname === `/ui/executions/${SEED.failedCustomId}`,
    `clicking the row went to ${page.url()}`);
  check((await text(page, "#exec-status")).includes("FAILED"), `#exec-status is "${await text(page, "#exec-status")}"`);
  check((await text(page, "#exec-error")).includes(SEED.failError), `#exec-error lacks ${SEED.failError}`);
  check((await text(page, "#exec-cause")).includes(SEED.failCause), `#exec-cause lacks "${SEED.failCause}"`);
  check((await text(page, "#exec-input")).includes(SEED.failedCustomMarker), `#exec-input lacks the execution's input`);
  return {};
});

scenario("graph_failed_state", async () => {
  await open(page, `/ui/executions/${SEED.failedCustomId}`, "execution");
  await until(page, () => !!document.querySelector("#exec-graph svg g.state"), "#exec-graph svg with g.state nodes");
  const states = await graphStates(page, "#exec-graph");
  const has = (name, cls) => (states[name] || []).includes(cls);
  check(states[SEED.failedState], `no g.state#state:${SEED.failedState} in #exec-graph (states: ${Object.keys(states)})`);
  check(has(SEED.failedState, "outcome-failed"),
    `${SEED.failedState} is ${states[SEED.failedState]}, not outcome-failed`);
  for (const s of SEED.succeededStates)
    check(has(s, "outcome-succeeded"), `${s} is ${states[s]}, not outcome-succeeded`);
  check(has(SEED.notReachedState, "outcome-notreached"),
    `${SEED.notReachedState} is ${states[SEED.notReachedState]}, not outcome-notreached`);
  const failedCount = Object.values(states).filter((c) => c.includes("outcome-failed")).length;
  check(failedCount === 1, `${failedCount} states marked outcome-failed, want 1`);
  return { states, screenshot: await shot(page, "execution") };
});

// Every label of the graph lies inside the drawing: a text wider than the
// box the layout measured for it shows up clipped.
scenario("graph_labels_fit", async () => {
  const out = [];
  for (const [p, sel] of [[`/ui/executions/${SEED.failedCustomId}`, "#exec-graph"],
                          [`/ui/state-machines/${SEED.startMachine}`, "#machine-graph"]]) {
    await open(page, p, p.includes("/executions/") ? "execution" : "machine");
    await until(page, (s) => !!document.querySelector(`${s} svg g.state`), `${sel} svg`, sel);
    const bad = await page.$eval(`${sel} svg`, (svg) => {
      const vb = svg.viewBox.baseVal;
      const root = svg.querySelector("g");
      const m = root && root.transform.baseVal.consolidate() ? root.transform.baseVal.consolidate().matrix : new DOMMatrix();
      return Array.from(svg.querySelectorAll("text")).map((t) => {
        const b = t.getBBox();
        const p1 = new DOMPoint(b.x, b.y).matrixTransform(m), p2 = new DOMPoint(b.x + b.width, b.y + b.height).matrixTransform(m);
        return { text: t.textContent, x1: p1.x, y1: p1.y, x2: p2.x, y2: p2.y };
      }).filter((b) => b.x1 < vb.x - 1 || b.y1 < vb.y - 1 || b.x2 > vb.x + vb.width + 1 || b.y2 > vb.y + vb.height + 1)
        .map((b) => `"${b.text}" spans x ${b.x1.toFixed(0)}..${b.x2.toFixed(0)} of 0..${vb.width.toFixed(0)}`);
    });
    check(bad.length === 0, `${sel} on ${p} clips its labels: ${bad.join("; ")}`);
    out.push(sel);
  }
  return { checked: out };
});

scenario("state_detail", async () => {
  await open(page, `/ui/executions/${SEED.failedCustomId}`, "execution");
  const ok = stateSel("#exec-graph", SEED.outputState);
  await until(page, (s) => !!document.querySelector(s), ok, ok);
  await page.click(ok);
  await until(page, (n) => {
    const d = document.querySelector("#state-detail"), h = document.querySelector("#state-name");
    return d && d.offsetParent !== null && h && h.textContent.trim() === n;
  }, `#state-detail showing ${SEED.outputState}`, SEED.outputState);
  const out = await text(page, "#state-output");
  check(out.includes(SEED.outputMarker), `#state-output of ${SEED.outputState} lacks "${SEED.outputMarker}": ${out.slice(0, 200)}`);
  const inp = await text(page, "#state-input");
  check(inp.includes(SEED.failedCustomMarker), `#state-input of ${SEED.outputState} lacks the input`);
  const file = await shot(page, "execution-state");
  const bad = stateSel("#exec-graph", SEED.failedState);
  await page.click(bad);
  await until(page, (n) => {
    const h = document.querySelector("#state-name");
    return h && h.textContent.trim() === n;
  }, `#state-detail showing ${SEED.failedState}`, SEED.failedState);
  check(await page.$("#state-retries"), "#state-detail has no #state-retries");
  const err = await text(page, "#state-error");
  check(err.includes(SEED.failError), `#state-error of ${SEED.failedState} lacks ${SEED.failError}: "${err}"`);
  // The README's picture: the graph with the failed state's error open.
  await page.mouse.move(0, 0);
  return { screenshot: file,
           readme: await shot(page, "readme-execution", { x: 0, y: 0, width: 1280, height: 800 }) };
});

scenario("event_table", async () => {
  await open(page, `/ui/executions/${SEED.failedCustomId}`, "execution");
  const { json } = await api("GET", `/executions/${SEED.failedCustomId}/history`);
  const n = json.events.length;
  const count = () => page.$$eval("#event-table tr", (trs) => trs.filter((tr) => tr.querySelector("td")).length);
  await until(page, (k) => Array.from(document.querySelectorAll("#event-table tr")).filter((tr) => tr.querySelector("td")).length === k,
    `${n} event rows in #event-table`, n).catch(async (e) => {
    throw new Error(`${e.message}: it has ${await count()} rows, GET /history has ${n} events`);
  });
  const body = await text(page, "#event-table");
  for (const t of new Set(json.events.map((e) => e.type)))
    check(body.includes(t), `#event-table never shows the event type ${t}`);
  return { events: n };
});

scenario("timeline", async () => {
  await open(page, `/ui/executions/${SEED.failedCustomId}`, "execution");
  const box = await page.$eval("#timeline", (t) => {
    const r = t.getBoundingClientRect();
    return { w: r.width, h: r.height, kids: t.querySelectorAll("*").length, text: t.textContent };
  }).catch(() => null);
  check(box, "no #timeline on the execution view");
  check(box.w > 0 && box.h > 0 && box.kids > 0, `#timeline is empty or invisible (${JSON.stringify(box)})`);
  for (const s of [SEED.failedState, ...SEED.succeededStates])
    check(box.text.includes(s), `#timeline does not name the state ${s}`);
  return {};
});

scenario("caught_state", async () => {
  await open(page, `/ui/executions/${SEED.caughtId}`, "execution");
  await until(page, () => !!document.querySelector("#exec-graph svg g.state"), "#exec-graph svg with g.state nodes");
  const states = await graphStates(page, "#exec-graph");
  check((states[SEED.caughtState] || []).includes("outcome-caught"),
    `${SEED.caughtState} is ${states[SEED.caughtState]}, not outcome-caught`);
  check((states[SEED.recoverState] || []).includes("outcome-succeeded"),
    `${SEED.recoverState} is ${states[SEED.recoverState]}, not outcome-succeeded`);
  check((await text(page, "#exec-status")).includes("SUCCEEDED"), "#exec-status is not SUCCEEDED");
  return { states };
});

scenario("keyboard", async () => {
  await open(page, `/ui/executions/${SEED.failedCustomId}`, "execution");
  await until(page, () => !!document.querySelector("#exec-graph svg g.state"), "#exec-graph svg with g.state nodes");
  await page.evaluate(() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); });
  let name = null;
  for (let i = 0; i < 80 && !name; i++) {
    await page.keyboard.press("Tab");
    name = await page.evaluate(() => {
      const g = document.activeElement && document.activeElement.closest && document.activeElement.closest("#exec-graph g.state");
      return g ? g.id.replace(/^state:/, "") : null;
    });
  }
  check(name, "80 presses of Tab never focused a g.state of #exec-graph");
  await page.keyboard.press("Enter");
  await until(page, (n) => {
    const d = document.querySelector("#state-detail"), h = document.querySelector("#state-name");
    return d && d.offsetParent !== null && h && h.textContent.trim() === n;
  }, `Enter to open #state-detail of ${name}`, name);
  return { focused: name };
});

scenario("deep_link_reload", async () => {
  await open(page, `/ui/executions/${SEED.failedCustomId}`, "execution");
  await page.reload({ waitUntil: "domcontentloaded" });
  await loaded(page, "execution");
  check((await text(page, "#exec-status")).includes("FAILED"), "after reload #exec-status is not FAILED");
  await until(page, () => !!document.querySelector("#exec-graph svg g.state"), "the graph after reload");
  for (const p of ["/ui/executions", "/ui/orders", "/ui/health"]) {
    const r = await fetch(BASE + p);
    check(r.status === 200 && (r.headers.get("content-type") || "").startsWith("text/html"),
      `GET ${p} answered ${r.status} ${r.headers.get("content-type")}, not the app`);
  }
  return {};
});

// A running execution updates without a reload: status, graph and events.
scenario("live_update", async () => {
  const started = await api("POST", `/state-machines/${SEED.shortMachine}/executions`, { input: { live: true } });
  check(started.status === 202, `starting ${SEED.shortMachine} answered ${started.status}`);
  const id = started.json.executionId;
  let revalidated = 0;
  const onResp = (r) => { if (r.status() === 304) revalidated++; };
  page.on("response", onResp);
  try {
    await open(page, `/ui/executions/${id}`, "execution");
    check((await text(page, "#exec-status")).includes("RUNNING"), "the short Wait execution is not shown RUNNING");
    await until(page, () => !!document.querySelector("#exec-graph svg g.state"), "#exec-graph");
    const before = await graphStates(page, "#exec-graph");
    check((before[SEED.shortWaitState] || []).includes("outcome-running"),
      `${SEED.shortWaitState} is ${before[SEED.shortWaitState]} while it waits, not outcome-running`);
    const nav = await page.evaluate(() => performance.getEntriesByType("navigation").length);
    await until(page, () => (document.querySelector("#exec-status") || {}).textContent?.includes("SUCCEEDED"),
      "#exec-status to turn SUCCEEDED by itself");
    await until(page, (s) => document.querySelector(`#exec-graph g.state[id="state:${s}"]`)?.classList.contains("outcome-succeeded"),
      `the graph to mark ${SEED.shortEndState} succeeded`, SEED.shortEndState);
    const { json } = await api("GET", `/executions/${id}/history`);
    await until(page, (k) => Array.from(document.querySelectorAll("#event-table tr")).filter((tr) => tr.querySelector("td")).length === k,
      `the event table to grow to ${json.events.length} rows`, json.events.length);
    check(await page.evaluate(() => performance.getEntriesByType("navigation").length) === nav, "the page reloaded");
    return { executionId: id, revalidated304: revalidated };
  } finally {
    page.off("response", onResp);
  }
});

// Live updates are polls the browser's cache revalidates with the ETag.
scenario("polls_revalidate", async () => {
  const seen = [];
  const onResp = (r) => {
    if (r.url() === `${BASE}/executions/${SEED.waitId}`)
      seen.push({ status: r.status(), inm: r.request().headers()["if-none-match"] || null });
  };
  page.on("response", onResp);
  try {
    await open(page, `/ui/executions/${SEED.waitId}`, "execution");
    const t0 = Date.now();
    while (!seen.some((x) => x.status === 304) && Date.now() - t0 < WAIT_MS)
      await new Promise((r) => setTimeout(r, 200));
  } finally {
    page.off("response", onResp);
  }
  check(seen.length >= 2, `the RUNNING execution was fetched ${seen.length} times in ${WAIT_MS} ms: no polling`);
  check(seen.some((x) => x.status === 304 && x.inm), `no poll was answered 304 to If-None-Match: ${JSON.stringify(seen)}`);
  return { polls: seen.length };
});

scenario("stop_wait", async () => {
  await open(page, `/ui/executions/${SEED.waitId}`, "execution");
  check((await text(page, "#exec-status")).includes("RUNNING"), "the Wait execution is not shown RUNNING");
  await until(page, () => !!document.querySelector("button#stop-execution"), "button#stop-execution");
  const file = await shot(page, "execution-running");
  await page.click("button#stop-execution");
  await until(page, () => { const b = document.querySelector("button#confirm-stop"); return b && b.offsetParent !== null; },
    "the in-page confirmation button#confirm-stop");
  const before = await api("GET", `/executions/${SEED.waitId}`);
  check(before.json.status === "RUNNING", `clicking Stop alone already made it ${before.json.status}`);
  await page.click("button#confirm-stop");
  await until(page, () => (document.querySelector("#exec-status") || {}).textContent?.includes("ABORTED"),
    "#exec-status to show ABORTED without a reload");
  const after = await api("GET", `/executions/${SEED.waitId}`);
  check(after.json.status === "ABORTED", `GET /executions/${SEED.waitId} says ${after.json.status}`);
  const gone = await page.$eval("button#stop-execution", (b) => b.offsetParent === null || b.disabled).catch(() => true);
  check(gone, "button#stop-execution is still offered on an ABORTED execution");
  return { status: after.json.status, screenshot: file };
});

// After stop_wait: the ABORTED Wait execution is redriven from its Wait state
// (in-page confirmation first), shown RUNNING again and polled, so a stop
// made through the API meanwhile shows without a reload.
scenario("redrive_wait", async () => {
  await open(page, `/ui/executions/${SEED.waitId}`, "execution");
  check((await text(page, "#exec-status")).includes("ABORTED"), "the stopped Wait execution is not shown ABORTED");
  await until(page, () => { const b = document.querySelector("button#redrive-execution"); return b && b.offsetParent !== null; },
    "button#redrive-execution on an ABORTED execution");
  await page.click("button#redrive-execution");
  await until(page, () => { const b = document.querySelector("button#confirm-redrive"); return b && b.offsetParent !== null; },
    "the in-page confirmation button#confirm-redrive");
  const file = await shot(page, "execution-redrive-confirm");
  const before = await api("GET", `/executions/${SEED.waitId}`);
  check(before.json.status === "ABORTED", `clicking Redrive alone already made it ${before.json.status}`);
  await page.click("button#confirm-redrive");
  await until(page, () => (document.querySelector("#exec-status") || {}).textContent?.includes("RUNNING"),
    "#exec-status to show RUNNING without a reload");
  const redriven = await api("GET", `/executions/${SEED.waitId}`);
  check(redriven.json.status === "RUNNING" && redriven.json.redriveCount === 1,
    `GET /executions/${SEED.waitId} says ${redriven.json.status}, redriveCount ${redriven.json.redriveCount}`);
  check((await text(page, "#exec-redriven")).startsWith("1 time"), "#exec-redriven does not say it was redriven once");
  // Two visits of Nap: the one the stop ended, and the one running now.
  await until(page, () => document.querySelectorAll("#timeline .bar.outcome-failed").length === 1 &&
    document.querySelectorAll("#timeline .bar.outcome-running").length === 1,
    "the timeline to show the stopped visit failed and the redriven one running");
  const offered = await page.$eval("button#redrive-execution", (b) => b.offsetParent !== null).catch(() => false);
  check(!offered, "button#redrive-execution is still offered on a RUNNING execution");
  await api("POST", `/executions/${SEED.waitId}/stop`);
  await until(page, () => (document.querySelector("#exec-status") || {}).textContent?.includes("ABORTED"),
    "#exec-status to show its end (ABORTED again) without a reload");
  return { redriveCount: redriven.json.redriveCount, screenshot: file };
});

scenario("start_form", async () => {
  const m = SEED.startMachine;
  await open(page, `/ui/state-machines/${m}`, "machine");
  const def = await text(page, "#machine-definition");
  check(def.includes(SEED.startMachineMarker), "#machine-definition does not show the definition");
  await until(page, () => !!document.querySelector("#machine-graph svg g.state"), "#machine-graph svg with g.state nodes");
  const file = await shot(page, "machine");
  const listed = async () => (await api("GET", `/executions?stateMachine=${m}&limit=100`)).json.executions.length;
  const n0 = await listed();
  const posts = [];
  const onReq = (r) => { if (r.method() === "POST") posts.push(r.url()); };
  page.on("request", onReq);
  try {
    await page.$eval("textarea#start-input", (t) => { t.value = ""; });
    await page.type("textarea#start-input", '{"broken": ');
    await page.click("button#start-submit");
    await until(page, () => { const e = document.querySelector("#start-error"); return e && e.offsetParent !== null && e.textContent.trim() !== ""; },
      "#start-error for invalid JSON");
    await new Promise((r) => setTimeout(r, 300));
    check(posts.length === 0, `invalid JSON was sent anyway: ${posts.join(", ")}`);
    check(await listed() === n0, "the execution count changed after submitting invalid JSON");
    check(new URL(page.url()).pathname === `/ui/state-machines/${m}`, `invalid JSON navigated to ${page.url()}`);
    const errShot = await shot(page, "machine-start-error");
    await page.$eval("textarea#start-input", (t) => { t.value = ""; });
    await page.type("textarea#start-input", JSON.stringify({ fromConsole: SEED.startMarker }));
    if (await page.$("input#start-name")) await page.type("input#start-name", SEED.startName);
    await page.click("button#start-submit");
    await until(page, () => /^\/ui\/executions\/[^/]+$/.test(location.pathname), "navigation to /ui/executions/{id}");
    await loaded(page, "execution");
    const id = decodeURIComponent(new URL(page.url()).pathname.split("/").pop());
    const d = await api("GET", `/executions/${id}`);
    check(d.status === 200, `GET /executions/${id} answered ${d.status}`);
    check(d.json.stateMachine === m, `the started execution belongs to ${d.json.stateMachine}`);
    check(JSON.stringify(d.json.input) === JSON.stringify({ fromConsole: SEED.startMarker }),
      `the started execution's input is ${JSON.stringify(d.json.input)}`);
    check(posts.length === 1, `${posts.length} POSTs for one start: ${posts.join(", ")}`);
    return { executionId: id, name: d.json.name, screenshot: file, errorScreenshot: errShot };
  } finally {
    page.off("request", onReq);
  }
});

scenario("machines", async () => {
  await open(page, "/ui/", "executions");
  await page.click('a[data-nav="machines"]');
  await loaded(page, "machines");
  const { json } = await api("GET", "/state-machines");
  for (const sm of json.stateMachines)
    check(await page.$(`#machine-list tr[data-machine="${sm.name}"]`), `#machine-list has no row for ${sm.name}`);
  const file = await shot(page, "machines");
  await page.click(`#machine-list tr[data-machine="${SEED.startMachine}"] a`);
  await loaded(page, "machine");
  check(new URL(page.url()).pathname === `/ui/state-machines/${SEED.startMachine}`, `the machine link went to ${page.url()}`);
  check(await page.$("#machine-versions"), "no #machine-versions on the machine view");
  return { machines: json.stateMachines.length, screenshot: file };
});

scenario("orders", async () => {
  await open(page, "/ui/", "executions");
  await page.click('a[data-nav="orders"]');
  await loaded(page, "orders");
  const { json } = await api("GET", "/orders?limit=100");
  const table = await text(page, "#orders-table");
  const rows = await page.$$eval("#orders-table tr", (trs) => trs.filter((tr) => tr.querySelector("td")).length);
  check(rows === json.orders.length, `#orders-table has ${rows} rows, GET /orders has ${json.orders.length} orders`);
  check(table.includes("CANCELLED") && table.includes("PROCESSED"), "#orders-table lacks the orders' statuses");
  const stock = await text(page, "#stock-table");
  check(stock.includes("coffee-beans"), "#stock-table does not show coffee-beans");
  return { orders: json.orders.length, screenshot: await shot(page, "orders") };
});

scenario("health", async () => {
  await open(page, "/ui/", "executions");
  await page.click('a[data-nav="health"]');
  await loaded(page, "health");
  for (const sel of ["#health-db", "#health-redis", "#health-outbox", "#health-rates"])
    check((await text(page, sel)) !== "", `${sel} is empty`);
  const redis = await text(page, "#health-redis");
  check(/connected/i.test(redis) && !/not connected|disconnected/i.test(redis), `#health-redis does not say Redis is connected: ${redis}`);
  // The rates come from two samples of /metrics: numbers after one refresh.
  await until(page, () => /\d/.test(document.querySelector("#health-rates").textContent), "numbers in #health-rates");
  return { screenshot: await shot(page, "health") };
});

scenario("phone", async () => {
  const phone = await page.browser().newPage();
  watch(phone, "phone");
  try {
    await phone.setViewport(PHONE);
    await open(phone, "/ui/", "executions");
    const m = await phone.evaluate(() => ({
      inner: window.innerWidth,
      doc: document.documentElement.scrollWidth,
      body: document.body.scrollWidth,
    }));
    check(m.inner === PHONE.width, `the phone viewport is ${m.inner} wide (missing <meta name="viewport">?)`);
    check(m.doc <= m.inner && m.body <= m.inner,
      `the page overflows a ${m.inner} px phone: documentElement ${m.doc} px, body ${m.body} px`);
    return { ...m, screenshot: await shot(phone, "phone-executions") };
  } finally {
    await phone.close();
  }
});

scenario("bearer_token", async () => {
  const sent = [];
  // Every API call (anything but the app's own files).
  const onReq = (r) => {
    const u = r.url();
    if (u.startsWith(BASE) && !u.startsWith(BASE + "/ui/") && !u.startsWith(BASE + "/favicon"))
      sent.push(r.headers().authorization || null);
  };
  page.on("request", onReq);
  try {
    const r = await page.goto(BASE + "/ui/", { waitUntil: "domcontentloaded" });
    check(r && r.status() === 200, `GET /ui/ answered ${r && r.status()} without a token: the app's files must stay open`);
    await until(page, () => { const a = document.querySelector("#auth"); return a && !a.hidden; },
      "the in-page token prompt #auth after the API answered 401");
    check(sent.length > 0, "the app called no API before asking for a token");
    check(sent.every((h) => h === null), "the app sent an Authorization header before it had a token");
    await page.type("#auth-token", SEED.token);
    await page.click("#auth-submit");
    await loaded(page, "executions");
    await until(page, (id) => !!document.querySelector(`#exec-list tr[data-execution-id="${id}"]`),
      `the row of ${SEED.tokenExecutionId} once the token is given`, SEED.tokenExecutionId);
    check(sent.some((h) => h === "Bearer " + SEED.token), "no request carried Authorization: Bearer <token>");
    const file = await shot(page, "token-list");
    // The token lasts for the tab: a reload asks no more.
    sent.length = 0;
    await page.reload({ waitUntil: "domcontentloaded" });
    await loaded(page, "executions");
    check(await page.$eval("#auth", (a) => a.hidden), "the token prompt came back after a reload");
    check(sent.length > 0 && sent.every((h) => h === "Bearer " + SEED.token),
      `after the reload requests went without the token: ${JSON.stringify(sent)}`);
    return { screenshot: file };
  } finally {
    page.off("request", onReq);
  }
}, { tokens: true, allow: /status of 401/ });

async function main() {
  const t0 = Date.now();
  const todo = scenarios.filter((x) => !!x.tokens === !!SEED.token && !(SEED.skip || []).includes(x.name));
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,   // puppeteer passes --headless=new
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--disable-quic", "--disable-extensions"],
  });
  try {
    page = await browser.newPage();
    watch(page, "page");
    await page.setViewport(WIDE);
    page.setDefaultTimeout(WAIT_MS);
    for (const s of todo) {
      const start = Date.now(), errs0 = browserErrors.length;
      let res = { name: s.name };
      try {
        res.facts = await s.fn();
        res.ok = true;
      } catch (e) {
        res.ok = false;
        res.error = e.message;
        await shot(page, "failed-" + s.name).catch(() => {});
      }
      res.browserErrors = browserErrors.slice(errs0).filter((e) => !(s.allow && s.allow.test(e)));
      if (res.browserErrors.length) res.ok = false;
      res.ms = Date.now() - start;
      console.log("RESULT " + JSON.stringify(res));
    }
  } finally {
    await browser.close();
  }
  const allowed = (e) => todo.some((s) => s.allow && s.allow.test(e));
  console.log("DONE " + JSON.stringify({ ms: Date.now() - t0, browserErrors: browserErrors.filter((e) => !allowed(e)) }));
}

main().catch((e) => {
  console.error("console.mjs: " + (e && e.stack || e));
  process.exit(1);
});
