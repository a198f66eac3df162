// Builders shared by the case files: small state machines around the feature
// under test, so each case states only what it is about.
'use strict';

// One Pass state with the given fields.
function pass(fields) {
    return { StartAt: 'P', States: { P: { Type: 'Pass', ...fields, End: true } } };
}

// One Task state calling `resource`.
function task(resource, fields) {
    return { StartAt: 'T', States: { T: { Type: 'Task', Resource: resource, ...fields, End: true } } };
}

// A Pass state whose output is {"r": <expr>} for an intrinsic function or path.
function intr(expr) {
    return pass({ Parameters: { 'r.$': expr } });
}

// A Choice state over `rules`; rule i leads to a Pass state with output
// {"matched": i}, the Default (unless noDefault) to {"matched": "default"}.
function choice(rules, opts) {
    const o = opts || {};
    const states = {
        C: { Type: 'Choice', Choices: rules.map((r, i) => ({ ...r, Next: 'R' + i })) },
    };
    if (!o.noDefault) {
        states.C.Default = 'D';
        states.D = { Type: 'Pass', Result: { matched: 'default' }, End: true };
    }
    rules.forEach((r, i) => { states['R' + i] = { Type: 'Pass', Result: { matched: i }, End: true }; });
    return { StartAt: 'C', States: states };
}

// Chains states in order: each gets Next to the following one, the last End.
function chain(list) {
    const states = {};
    list.forEach(([name, st], i) => {
        const s = { ...st };
        const terminal = s.Type === 'Succeed' || s.Type === 'Fail' || s.Type === 'Choice';
        if (!terminal) {
            if (i + 1 < list.length) s.Next = list[i + 1][0];
            else s.End = true;
        }
        states[name] = s;
    });
    return { StartAt: list[0][0], States: states };
}

module.exports = { pass, task, intr, choice, chain };
