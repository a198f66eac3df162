// Errors crossing Parallel and Map boundaries, and context paths in
// operators, ItemsPath and ItemSelector.
'use strict';

let seq = 0;
const name = (p) => p + (++seq);
function branchOf(states, start) { return { StartAt: start, States: states }; }
function parallelCatch(branch, catchers) {
    return { StartAt: 'P', States: {
        P: { Type: 'Parallel', Branches: [branch], Catch: catchers, End: true },
        H: { Type: 'Pass', End: true } } };
}

module.exports = [
    (() => { const c = name('C'), y = name('Y');
      return { name: 'parallel_catches_no_choice_matched',
        definition: parallelCatch(branchOf({
            [c]: { Type: 'Choice', Choices: [{ Variable: '$.n', NumericEquals: 1, Next: y }] },
            [y]: { Type: 'Succeed' } }, c), [{ ErrorEquals: ['States.ALL'], ResultPath: '$.err', Next: 'H' }]),
        input: { n: 2 }, match: [{ path: ['err', 'Cause'], type: 'any' }],
        expect: { status: 'SUCCEEDED', output: { n: 2, err: { Error: 'States.NoChoiceMatched', Cause: '<match>' } } } }; })(),
    (() => { const t = name('T');
      return { name: 'parallel_does_not_catch_runtime_error',
        definition: parallelCatch(branchOf({ [t]: { Type: 'Pass', InputPath: '$.missing', End: true } }, t),
            [{ ErrorEquals: ['States.ALL'], Next: 'H' }]),
        input: {}, expect: { status: 'FAILED', error: 'States.Runtime' } }; })(),
    (() => { const t = name('T'), r = name('R');
      return { name: 'catch_inside_branch_recovers',
        definition: { StartAt: 'P', States: { P: { Type: 'Parallel', End: true, Branches: [branchOf({
            [t]: { Type: 'Task', Resource: 'sagad:fail', Catch: [{ ErrorEquals: ['States.ALL'], Next: r }], End: true },
            [r]: { Type: 'Pass', Result: 'recovered', End: true } }, t)] } } },
        input: { error: 'E', cause: 'c' }, expect: { status: 'SUCCEEDED', output: ['recovered'] } }; })(),
    (() => { const t = name('T');
      return { name: 'map_catches_intrinsic_failure_in_iteration',
        definition: { StartAt: 'M', States: {
            M: { Type: 'Map', ItemProcessor: branchOf({ [t]: { Type: 'Pass', Parameters: { 'n.$': 'States.ArrayLength($)' }, End: true } }, t),
                 Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: null, Next: 'H' }], End: true },
            H: { Type: 'Pass', Result: 'caught', End: true } } },
        input: [[1], 'not an array'],
        override: { status: 'SUCCEEDED', output: 'caught',
          reason: 'States.IntrinsicFailure is an ordinary error that States.ALL catches; the oracle raises an uncatchable States.Runtime' } }; })(),
    (() => { const f = name('F');
      return { name: 'map_retry_on_failing_iteration', elapsed_ms: 1000,
        definition: { StartAt: 'M', States: { M: { Type: 'Map', End: true,
            ItemProcessor: branchOf({ [f]: { Type: 'Fail', Error: 'Always', Cause: 'never works' } }, f),
            Retry: [{ ErrorEquals: ['Always'], MaxAttempts: 1 }] } } },
        input: [1], expect: { status: 'FAILED', error: 'Always', cause: 'never works' } }; })(),
    (() => { const p = name('Pa');
      return { name: 'branch_resultpath_on_array_input',
        definition: { StartAt: 'P', States: { P: { Type: 'Parallel', End: true,
            Branches: [branchOf({ [p]: { Type: 'Pass', Result: 1, ResultPath: '$.x', End: true } }, p)] } } },
        input: [1, 2], expect: { status: 'FAILED', error: 'States.ResultPathMatchFailure' } }; })(),
    { name: 'choice_path_operand_from_context',
      definition: { StartAt: 'A', States: {
          A: { Type: 'Pass', Result: { v: 'orig' }, Next: 'C' },
          C: { Type: 'Choice', Choices: [{ Variable: '$.v', StringEqualsPath: '$$.Execution.Input.v', Next: 'Y' }], Default: 'N' },
          Y: { Type: 'Pass', Result: 'Y', End: true }, N: { Type: 'Pass', Result: 'N', End: true } } },
      input: { v: 'orig' }, expect: { status: 'SUCCEEDED', output: 'Y' } },
    (() => { const i = name('I');
      return { name: 'map_items_path_from_context',
        definition: { StartAt: 'A', States: {
            A: { Type: 'Pass', Result: {}, Next: 'M' },
            M: { Type: 'Map', ItemsPath: '$$.Execution.Input.xs', ItemProcessor: branchOf({ [i]: { Type: 'Pass', End: true } }, i), End: true } } },
        input: { xs: [1, 2] }, expect: { status: 'SUCCEEDED', output: [1, 2] } }; })(),
    (() => { const i = name('I');
      return { name: 'map_item_selector_intrinsic',
        definition: { StartAt: 'M', States: { M: { Type: 'Map', End: true,
            ItemSelector: { 'pair.$': 'States.Array($$.Map.Item.Index, $$.Map.Item.Value)', 'label.$': "States.Format('#{}', $$.Map.Item.Index)", fixed: { k: [1] } },
            ItemProcessor: branchOf({ [i]: { Type: 'Pass', End: true } }, i) } } },
        input: ['a', 'b'],
        expect: { status: 'SUCCEEDED', output: [{ pair: [0, 'a'], label: '#0', fixed: { k: [1] } }, { pair: [1, 'b'], label: '#1', fixed: { k: [1] } }] } }; })(),
];
