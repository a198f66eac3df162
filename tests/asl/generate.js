#!/usr/bin/env node
// Regenerates tests/asl/expected.json: runs every case of tests/asl/cases/*.{js,json}
// through the independent ASL interpreter aws-local-stepfunctions (the oracle)
// and records its result, or the case's documented override where the oracle
// contradicts the ASL specification / AWS documentation.
// Usage: cd tests/asl && npm install && node generate.js   (see README.md)
'use strict';

// aws-local-stepfunctions 3.0.0 needs Node 22 (Promise.withResolvers); on Node 20
// every Task state fails without this polyfill.
if (typeof Promise.withResolvers !== 'function') {
    Promise.withResolvers = function withResolvers() {
        let resolve, reject;
        const promise = new Promise((res, rej) => { resolve = res; reject = rej; });
        return { promise, resolve, reject };
    };
}

const fs = require('fs');
const path = require('path');
const { StateMachine } = require('aws-local-stepfunctions');

const ORACLE_VERSION = JSON.parse(fs.readFileSync(
    path.join(__dirname, 'node_modules', 'aws-local-stepfunctions', 'package.json'), 'utf8')).version;
const CASES_DIR = path.join(__dirname, 'cases');
const OUT = path.join(__dirname, 'expected.json');
const CASE_TIMEOUT_MS = 15000;

// ---- Task resources. The C runner (tests/unit/test_asl_diff.c) implements the
// same ones; README.md documents them. Errors: name = ASL Error, message = Cause.
function taskError(name, cause) {
    const e = new Error(cause === undefined ? '' : String(cause));
    e.name = String(name);
    return e;
}

function makeResources() {
    const flakyCalls = new Map(); // per execution, keyed by input.key
    return {
        'sagad:echo': (input) => input,
        'sagad:fail': (input) => { throw taskError(input.error, input.cause); },
        'sagad:test.add': (input) => input.a + input.b,
        'sagad:test.fixed': () => ({ status: 'ok', data: { id: 7, tags: ['a', 'b'], price: 12.5 }, meta: { n: 2, next: null } }),
        'sagad:test.fail_if': (input) => {
            if (input && input.fail === true)
                throw taskError(input.error ?? 'ItemFailed', input.cause ?? 'item failed');
            return input;
        },
        'sagad:test.flaky': (input) => {
            const key = typeof input.key === 'string' ? input.key : '';
            const n = (flakyCalls.get(key) ?? 0) + 1;
            flakyCalls.set(key, n);
            // errors: the error name of each failing call in turn.
            if (Array.isArray(input.errors)) {
                if (n <= input.errors.length) throw taskError(input.errors[n - 1], `call ${n}`);
            } else if (n <= input.fail_times) {
                throw taskError(input.error ?? 'Flaky', `call ${n}`);
            }
            return { ...input, calls: n };
        },
        // Never answers: only for Task states with TimeoutSeconds, which the
        // oracle enforces in real time. The C runner answers States.Timeout,
        // as the runtime does when the task's timeout_ms has passed.
        'sagad:test.hang': () => new Promise(() => {}),
    };
}

// Every Task / Wait / retrying state, by name, anywhere in the definition.
function collectStates(def, acc) {
    for (const [name, st] of Object.entries(def.States || {})) {
        if (st.Type === 'Task') {
            if (acc.tasks[name] && acc.tasks[name] !== st.Resource)
                throw new Error(`Task state name ${name} used with two resources`);
            acc.tasks[name] = st.Resource;
        }
        if (st.Type === 'Wait') acc.waits.push(name);
        if (st.Retry) acc.retries.push(name);
        for (const b of st.Branches || []) collectStates(b, acc);
        if (st.Iterator) collectStates(st.Iterator, acc);
        if (st.ItemProcessor) collectStates(st.ItemProcessor, acc);
    }
    return acc;
}

const jsonCopy = (v) => JSON.parse(JSON.stringify(v));

async function runOracle(c) {
    const acc = collectStates(c.definition, { tasks: {}, waits: [], retries: [] });
    const resources = makeResources();
    const handlers = {};
    for (const [state, res] of Object.entries(acc.tasks)) {
        if (!resources[res]) {
            if (c.invalid) continue;
            throw new Error(`${c.name}: unknown resource ${res}`);
        }
        handlers[state] = resources[res];
    }
    const overrides = { taskResourceLocalHandlers: handlers, retryIntervalOverrides: {} };
    for (const s of acc.retries) overrides.retryIntervalOverrides[s] = 0;
    if (!c.real_wait) {
        overrides.waitTimeOverrides = {};
        for (const s of acc.waits) overrides.waitTimeOverrides[s] = 0;
    }
    let sm;
    try {
        // The oracle adds fields (QueryLanguage) to the definition it is given
        // and may change its input in place: hand it copies, made through JSON
        // so that it sees exactly what expected.json records.
        sm = new StateMachine(jsonCopy(c.definition), { validationOptions: { checkArn: false } });
    } catch (e) {
        return { status: 'REJECTED', error: e.name, cause: e.message };
    }
    // The context object the C driver (asl_run's defaults) gives too; the
    // oracle takes a mocked context for exactly this.
    const context = { Execution: { Id: 'exec-1', Name: 'exec-1' }, StateMachine: { Name: 'machine' } };
    const exec = sm.run(jsonCopy(c.input === undefined ? {} : c.input), { overrides, context });
    let timer;
    const timeout = new Promise((_, rej) => {
        timer = setTimeout(() => rej(new Error('oracle timed out')), CASE_TIMEOUT_MS);
    });
    try {
        const output = await Promise.race([exec.result, timeout]);
        return { status: 'SUCCEEDED', output: output === undefined ? null : output };
    } catch (e) {
        if (e.name === 'ExecutionError' && e.cause) {
            const cause = e.cause.message;
            return { status: 'FAILED', error: e.cause.name, cause: cause };
        }
        if (e.name === 'ExecutionTimeoutError')
            return { status: 'FAILED', error: 'States.Timeout', cause: e.message };
        return { status: 'CRASHED', error: e.name, cause: e.message };
    } finally {
        clearTimeout(timer);
        exec.abort();
    }
}

// ---- "match" rules for values that are not deterministic (UUIDs, random
// numbers) or whose text is engine-specific (causes of States.* errors that
// end up inside a successful output through Catch).
function getAt(v, p) {
    for (const k of p) {
        if (v === null || typeof v !== 'object' || !(k in v)) return { found: false };
        v = v[k];
    }
    return { found: true, value: v };
}

function checkRule(rule, v) {
    if (rule.type === 'any') return null; // present or not, any value
    const at = getAt(v, rule.path);
    if (!at.found) return `path ${JSON.stringify(rule.path)} missing`;
    const x = at.value;
    if (rule.type === 'string' && typeof x !== 'string') return 'not a string';
    if (rule.type === 'integer' && !Number.isInteger(x)) return 'not an integer';
    if (rule.type === 'number' && typeof x !== 'number') return 'not a number';
    // regex: POSIX extended syntax (the C runner uses regcomp), e.g. [0-9] rather than \d.
    if (rule.regex !== undefined && (typeof x !== 'string' || !new RegExp(rule.regex).test(x)))
        return `does not match /${rule.regex}/`;
    if (rule.min !== undefined && !(x >= rule.min)) return `below ${rule.min}`;
    if (rule.max !== undefined && !(x <= rule.max)) return `above ${rule.max}`;
    return null;
}

function deepEqual(a, b) {
    if (a === b) return true;
    if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
    if (Array.isArray(a) !== Array.isArray(b)) return false;
    const ka = Object.keys(a), kb = Object.keys(b);
    if (ka.length !== kb.length) return false;
    return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && deepEqual(a[k], b[k]));
}

// Replaces every matched path by the placeholder the C runner also uses, so the
// rest of the output is compared exactly.
function mask(v, rules) {
    if (!rules || v === null || typeof v !== 'object') return v;
    const copy = JSON.parse(JSON.stringify(v));
    for (const r of rules) {
        let o = copy;
        for (const k of r.path.slice(0, -1)) o = o?.[k];
        const last = r.path[r.path.length - 1];
        if (o !== null && typeof o === 'object' && (last in o || r.type === 'any')) o[last] = '<match>';
    }
    return copy;
}

function validateCase(c, file, names) {
    const where = `${file}: ${c.name}`;
    if (!/^[a-z0-9_]+$/.test(c.name || '')) throw new Error(`${where}: bad or missing name`);
    if (names.has(c.name)) throw new Error(`${where}: duplicate name`);
    names.add(c.name);
    if (!c.definition || !c.definition.States) throw new Error(`${where}: no definition`);
    if (c.override) {
        if (!c.override.reason) throw new Error(`${where}: override without reason`);
        if (!['SUCCEEDED', 'FAILED', 'REJECTED'].includes(c.override.status))
            throw new Error(`${where}: override without status`);
    }
    if (c.expect && !['SUCCEEDED', 'FAILED'].includes(c.expect.status))
        throw new Error(`${where}: bad expect`);
}

// Keeps the list of overridden cases in docs/asl-differences.md in step with
// the case files: it is rewritten between the two marker lines.
const DOC = path.join(__dirname, '..', '..', 'docs', 'asl-differences.md');
const BEGIN = '<!-- overrides:begin (written by tests/asl/generate.js) -->';
const END = '<!-- overrides:end -->';

function oracleSummary(o) {
    if (o.truncated) return `${o.status} (${o.truncated})`;
    if (o.status === 'SUCCEEDED') return 'output `' + JSON.stringify(o.output) + '`';
    if (o.status === 'REJECTED') return 'definition rejected';
    return `${o.status} \`${o.error}\``;
}

function expectedSummary(r) {
    if (r.status === 'REJECTED') return `definition rejected (problem in ${r.problem_state === null ? 'the top level' : '`' + r.problem_state + '`'})`;
    if (r.status === 'SUCCEEDED') return 'output `' + JSON.stringify(r.output) + '`';
    return 'FAILED `' + r.error + '`' + (r.compare_cause && r.cause !== null ? ' / `' + JSON.stringify(r.cause) + '`' : '');
}

function writeOverrideTable(records) {
    if (!fs.existsSync(DOC)) return;
    const text = fs.readFileSync(DOC, 'utf8');
    const a = text.indexOf(BEGIN), b = text.indexOf(END);
    if (a < 0 || b < a) return;
    const esc = (t) => String(t).replace(/\|/g, '\\|').replace(/\n/g, '\\n');
    const rows = records.filter((r) => r.source === 'override').map((r) =>
        `| \`${r.area}/${r.name}\` | ${esc(expectedSummary(r))} | ${esc(oracleSummary(r.oracle))} | ${esc(r.reason)} |`);
    const table = ['', `${rows.length} of ${records.length} cases.`, '',
        '| case | sagad expects | oracle gave | reason |', '| --- | --- | --- | --- |', ...rows, ''].join('\n');
    fs.writeFileSync(DOC, text.slice(0, a + BEGIN.length) + '\n' + table + text.slice(b));
}

async function main() {
    const files = fs.readdirSync(CASES_DIR)
        .filter((f) => /^[a-z0-9_-]+\.(js|json)$/.test(f) && !f.startsWith('_')).sort();
    const names = new Set();
    const out = [];
    let problems = 0;
    for (const file of files) {
        const area = path.basename(file).replace(/\.(js|json)$/, '');
        const cases = file.endsWith('.js') ? require(path.join(CASES_DIR, file))
            : JSON.parse(fs.readFileSync(path.join(CASES_DIR, file), 'utf8'));
        for (const c of cases) {
            validateCase(c, file, names);
            const t0 = Date.now();
            const oracle = await runOracle(c);
            if (process.env.TIMING && Date.now() - t0 > 300) console.error(`slow: ${c.name} ${Date.now() - t0} ms`);
            const rec = {
                name: c.name,
                area,
                definition: c.definition,
                input: c.input === undefined ? {} : c.input,
            };
            let exp = oracle;
            if (c.override && c.invalid) {
                rec.source = 'override';
                rec.reason = c.override.reason;
                rec.oracle = oracle;
                if (oracle.status === 'REJECTED')
                    console.error(`NOTE ${area}/${c.name}: the oracle rejects it too; drop the override?`);
            } else if (c.override) {
                exp = { status: c.override.status };
                if ('output' in c.override) exp.output = c.override.output;
                if ('error' in c.override) exp.error = c.override.error;
                if ('cause' in c.override) exp.cause = c.override.cause;
                rec.source = 'override';
                rec.reason = c.override.reason;
                rec.oracle = oracle;
                const text = JSON.stringify(oracle);
                if (text.length > 2048)
                    rec.oracle = { status: oracle.status, truncated: `${text.length} bytes of JSON` };
                if (deepEqual(mask(oracle.output, c.match), mask(exp.output, c.match)) &&
                    oracle.status === exp.status && oracle.error === exp.error &&
                    (oracle.cause === exp.cause || exp.cause === undefined)) {
                    console.error(`NOTE ${area}/${c.name}: override equals the oracle's result; drop it?`);
                }
            } else if (c.invalid) {
                // An invalid definition: the oracle must reject it too.
                rec.source = 'oracle';
                if (oracle.status !== 'REJECTED') {
                    console.error(`FAIL ${area}/${c.name}: the oracle accepts this invalid definition (${oracle.status})`);
                    problems++;
                }
            } else {
                rec.source = 'oracle';
                if (oracle.status === 'CRASHED' || oracle.status === 'REJECTED') {
                    console.error(`FAIL ${area}/${c.name}: oracle ${oracle.status}: ${oracle.error}: ${oracle.cause}`);
                    problems++;
                }
            }
            // What the case's author expects, as a cross-check of the oracle:
            // a surprise here means a new quirk, to be decided and documented.
            if (c.expect && !c.override) {
                const e = c.expect;
                const same = e.status === oracle.status &&
                    (!('output' in e) || deepEqual(mask(e.output, c.match), mask(oracle.output, c.match))) &&
                    (!('error' in e) || e.error === oracle.error) &&
                    (!('cause' in e) || e.cause === oracle.cause);
                if (!same) {
                    console.error(`FAIL ${area}/${c.name}: oracle ${JSON.stringify(oracle)} != expected ${JSON.stringify(e)}`);
                    problems++;
                }
            }
            // Virtual time the run must take (waits + retry delays), from the
            // AWS formulas; the oracle cannot say (its sleeps are skipped).
            if (c.elapsed_ms !== undefined) rec.elapsed_ms = c.elapsed_ms;
            rec.status = exp.status;
            if (c.invalid) {
                // sagad must reject it with a problem naming this state
                // (null: a top-level problem); the oracle's words for the record.
                rec.status = 'REJECTED';
                rec.problem_state = c.invalid.state;
                rec.oracle_message = String(oracle.cause).replace(/^State machine definition is invalid, see error\(s\) below:\s*/, '');
                rec.compare_cause = false;
                out.push(rec);
                continue;
            }
            if (exp.status === 'SUCCEEDED') {
                rec.output = exp.output;
            } else {
                rec.error = exp.error === undefined ? null : exp.error;
                rec.cause = exp.cause === undefined ? null : exp.cause;
            }
            // Causes written by a Task or a Fail state are compared exactly; the
            // text of causes the engine writes itself (States.*) is ours to word.
            rec.compare_cause = c.compare_cause !== undefined ? c.compare_cause
                : !(exp.status === 'FAILED' && String(exp.error).startsWith('States.'));
            if (c.match) {
                rec.match = c.match;
                if (exp.status === 'SUCCEEDED') {
                    for (const r of c.match) {
                        // Override outputs carry the placeholder already.
                        const why = rec.source === 'oracle' ? checkRule(r, oracle.output) : null;
                        if (why) {
                            console.error(`FAIL ${area}/${c.name}: match rule ${JSON.stringify(r)}: ${why}`);
                            problems++;
                        }
                    }
                    rec.output = mask(rec.output, c.match);
                }
            }
            out.push(rec);
        }
    }
    const doc = {
        comment: 'Generated by tests/asl/generate.js from tests/asl/cases/*.json; do not edit. ' +
            'See tests/asl/README.md and docs/asl-differences.md.',
        oracle: `aws-local-stepfunctions ${ORACLE_VERSION}`,
        count: out.length,
        overrides: out.filter((r) => r.source === 'override').length,
        cases: out,
    };
    fs.writeFileSync(OUT, JSON.stringify(doc, null, 1) + '\n');
    writeOverrideTable(out);
    console.error(`${out.length} cases (${doc.overrides} overrides) written to ${path.relative(process.cwd(), OUT)}` +
        (problems ? `; ${problems} PROBLEMS` : ''));
    process.exit(problems ? 1 : 0);
}

main().catch((e) => { console.error(e); process.exit(2); });
