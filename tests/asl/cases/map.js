// Inline Map states: ItemsPath, ItemSelector and the older Parameters,
// ItemProcessor and the older Iterator, MaxConcurrency[Path],
// ToleratedFailureCount/Percentage[Path], $$.Map.Item, failures, Retry/Catch.
'use strict';

let seq = 0;
// A processor of one state; names are unique across the machine.
function proc(type, fields) {
    const n = 'I' + (++seq);
    return { StartAt: n, States: { [n]: { Type: type, ...(fields || {}), End: true } } };
}
function map(fields, next) {
    const st = { Type: 'Map', ...fields };
    if (next) st.Next = next; else st.End = true;
    return st;
}
const one = (fields) => ({ StartAt: 'M', States: { M: map(fields) } });

const TOL = 'the oracle ignores ToleratedFailureCount/Percentage[Path] (any failed iteration fails the Map); sagad follows the AWS Map docs: the Map fails with States.ExceedToleratedFailureThreshold only when failures exceed the tolerance';
const TOL_OUT = 'the oracle ignores ToleratedFailureCount/Percentage; within the tolerance the Map succeeds, and (AWS documents no inline result for a failed item) sagad puts the failed item\'s {"Error","Cause"} at its index';

const items4 = [{ id: 1 }, { id: 2, fail: true }, { id: 3 }, { id: 4 }];
const items4two = [{ id: 1 }, { id: 2, fail: true }, { id: 3, fail: true }, { id: 4 }];
const failed = { Error: 'ItemFailed', Cause: 'item failed' };

module.exports = [
    { name: 'map_over_input_array', definition: one({ ItemProcessor: proc('Pass', { Parameters: { 'id.$': '$.id', tag: 't' } }) }),
      input: [{ id: 1 }, { id: 2 }], expect: { status: 'SUCCEEDED', output: [{ id: 1, tag: 't' }, { id: 2, tag: 't' }] } },
    { name: 'map_items_path_task', definition: one({ ItemsPath: '$.items', ItemProcessor: proc('Task', { Resource: 'sagad:test.add' }) }),
      input: { items: [{ a: 1, b: 2 }, { a: 10, b: 20 }, { a: -1, b: 1 }] }, expect: { status: 'SUCCEEDED', output: [3, 30, 0] } },
    { name: 'map_empty_array', definition: one({ ItemsPath: '$.items', ItemProcessor: proc('Pass') }), input: { items: [] },
      expect: { status: 'SUCCEEDED', output: [] } },
    { name: 'map_items_path_not_array', definition: one({ ItemsPath: '$.items', ItemProcessor: proc('Pass') }), input: { items: { a: 1 } },
      expect: { status: 'FAILED', error: 'States.Runtime' } },
    { name: 'map_items_path_missing', definition: one({ ItemsPath: '$.nope', ItemProcessor: proc('Pass') }), input: { items: [] },
      expect: { status: 'FAILED', error: 'States.Runtime' } },
    { name: 'map_item_selector_context',
      definition: one({ ItemsPath: '$.items', ItemSelector: { 'index.$': '$$.Map.Item.Index', 'value.$': '$$.Map.Item.Value', 'shared.$': '$.shared' },
          ItemProcessor: proc('Pass') }),
      input: { items: ['a', 'b', 'c'], shared: 's' },
      expect: { status: 'SUCCEEDED', output: [{ index: 0, value: 'a', shared: 's' }, { index: 1, value: 'b', shared: 's' }, { index: 2, value: 'c', shared: 's' }] } },
    { name: 'map_item_selector_value_field',
      definition: one({ ItemsPath: '$.users', ItemSelector: { 'name.$': '$$.Map.Item.Value.name', 'n.$': '$$.Map.Item.Index' }, ItemProcessor: proc('Pass') }),
      input: { users: [{ name: 'ann', x: 1 }, { name: 'bob', x: 2 }] },
      expect: { status: 'SUCCEEDED', output: [{ name: 'ann', n: 0 }, { name: 'bob', n: 1 }] } },
    { name: 'map_legacy_parameters_and_iterator',
      definition: one({ ItemsPath: '$.items', Parameters: { 'i.$': '$$.Map.Item.Index', 'v.$': '$$.Map.Item.Value' }, Iterator: proc('Pass') }),
      input: { items: [true, null] },
      expect: { status: 'SUCCEEDED', output: [{ i: 0, v: true }, { i: 1, v: null }] } },
    { name: 'map_legacy_iterator_task', definition: one({ Iterator: proc('Task', { Resource: 'sagad:echo' }) }), input: [1, 'two', [3]],
      expect: { status: 'SUCCEEDED', output: [1, 'two', [3]] } },
    { name: 'map_item_processor_with_processor_config',
      definition: one({ ItemProcessor: { ...proc('Pass', { Result: 'x' }), ProcessorConfig: { Mode: 'INLINE' } } }), input: [1, 2],
      expect: { status: 'SUCCEEDED', output: ['x', 'x'] } },
    { name: 'map_max_concurrency_one', definition: one({ MaxConcurrency: 1, ItemProcessor: proc('Task', { Resource: 'sagad:echo' }) }),
      input: [3, 2, 1], expect: { status: 'SUCCEEDED', output: [3, 2, 1] } },
    { name: 'map_max_concurrency_path', definition: one({ ItemsPath: '$.xs', MaxConcurrencyPath: '$.mc', ItemProcessor: proc('Pass') }),
      input: { xs: [1, 2, 3], mc: 2 }, expect: { status: 'SUCCEEDED', output: [1, 2, 3] } },
    { name: 'map_multi_state_processor',
      definition: one({ ItemsPath: '$.xs', ItemProcessor: { StartAt: 'Chk', States: {
          Chk: { Type: 'Choice', Choices: [{ Variable: '$', NumericGreaterThan: 1, Next: 'Big' }], Default: 'Small' },
          Big: { Type: 'Pass', Result: 'big', End: true },
          Small: { Type: 'Pass', Result: 'small', End: true } } } }),
      input: { xs: [1, 2, 3] }, expect: { status: 'SUCCEEDED', output: ['small', 'big', 'big'] } },
    { name: 'map_data_flow_fields',
      definition: one({ InputPath: '$.in', ItemsPath: '$.xs', ItemProcessor: proc('Pass', { Parameters: { 'v.$': '$' } }),
          ResultSelector: { 'first.$': '$[0].v', 'count.$': 'States.ArrayLength($)' }, ResultPath: '$.res', OutputPath: '$.res' }),
      input: { in: { xs: ['p', 'q'] } }, expect: { status: 'SUCCEEDED', output: { first: 'p', count: 2 } } },
    { name: 'map_nested_map',
      definition: one({ ItemProcessor: { StartAt: 'Inner', States: { Inner: map({ ItemProcessor: proc('Task', { Resource: 'sagad:echo' }) }) } } }),
      input: [[1, 2], [], [3]], expect: { status: 'SUCCEEDED', output: [[1, 2], [], [3]] } },
    { name: 'map_item_failure_fails_map',
      definition: one({ ItemProcessor: proc('Task', { Resource: 'sagad:test.fail_if' }) }),
      input: [{ id: 1 }, { id: 2, fail: true, error: 'Bad', cause: 'item 2' }],
      expect: { status: 'FAILED', error: 'Bad', cause: 'item 2' } },
    { name: 'map_catch_item_failure',
      definition: { StartAt: 'M', States: {
          M: map({ ItemsPath: '$.xs', ItemProcessor: proc('Task', { Resource: 'sagad:test.fail_if' }),
                   Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.err', Next: 'H' }] }),
          H: { Type: 'Pass', End: true } } },
      input: { xs: [{ fail: true }] },
      expect: { status: 'SUCCEEDED', output: { xs: [{ fail: true }], err: failed } } },
    { name: 'map_retry_reruns_iterations',
      definition: one({ ItemsPath: '$.xs', ItemSelector: { key: 'm', fail_times: 1, error: 'Flaky', 'i.$': '$$.Map.Item.Index' },
          ItemProcessor: proc('Task', { Resource: 'sagad:test.flaky', ResultSelector: { 'i.$': '$.i' } }),
          Retry: [{ ErrorEquals: ['Flaky'], MaxAttempts: 1 }] }),
      input: { xs: ['only'] }, expect: { status: 'SUCCEEDED', output: [{ i: 0 }] } },
    { name: 'map_retry_inside_iteration',
      definition: one({ ItemSelector: { 'key.$': "States.Format('k{}', $$.Map.Item.Index)", fail_times: 2, error: 'Flaky' },
          ItemProcessor: proc('Task', { Resource: 'sagad:test.flaky', ResultSelector: { 'calls.$': '$.calls', 'key.$': '$.key' },
              Retry: [{ ErrorEquals: ['Flaky'], MaxAttempts: 2 }] }) }),
      input: ['a', 'b'], expect: { status: 'SUCCEEDED', output: [{ calls: 3, key: 'k0' }, { calls: 3, key: 'k1' }] } },
    { name: 'map_then_next_state',
      definition: { StartAt: 'M', States: {
          M: map({ ItemsPath: '$.xs', ItemProcessor: proc('Pass'), ResultPath: '$.out' }, 'N'),
          N: { Type: 'Pass', Parameters: { 'n.$': 'States.ArrayLength($.out)' }, End: true } } },
      input: { xs: [1, 2, 3, 4] }, expect: { status: 'SUCCEEDED', output: { n: 4 } } },

    // Tolerated failures
    { name: 'map_tolerated_count_all_succeed',
      definition: one({ ToleratedFailureCount: 1, ItemProcessor: proc('Task', { Resource: 'sagad:test.fail_if' }) }),
      input: [{ id: 1 }, { id: 2 }], expect: { status: 'SUCCEEDED', output: [{ id: 1 }, { id: 2 }] } },
    { name: 'map_tolerated_count_within',
      definition: one({ ToleratedFailureCount: 1, ItemProcessor: proc('Task', { Resource: 'sagad:test.fail_if' }) }),
      input: items4, override: { status: 'SUCCEEDED', output: [{ id: 1 }, failed, { id: 3 }, { id: 4 }], reason: TOL_OUT } },
    { name: 'map_tolerated_count_exceeded',
      definition: one({ ToleratedFailureCount: 1, ItemProcessor: proc('Task', { Resource: 'sagad:test.fail_if' }) }),
      input: items4two, override: { status: 'FAILED', error: 'States.ExceedToleratedFailureThreshold', reason: TOL } },
    { name: 'map_tolerated_count_zero_exceeded',
      definition: one({ ToleratedFailureCount: 0, ItemProcessor: proc('Task', { Resource: 'sagad:test.fail_if' }) }),
      input: items4, override: { status: 'FAILED', error: 'States.ExceedToleratedFailureThreshold', reason: TOL } },
    { name: 'map_tolerated_percentage_within',
      definition: one({ ToleratedFailurePercentage: 25, ItemProcessor: proc('Task', { Resource: 'sagad:test.fail_if' }) }),
      input: items4, override: { status: 'SUCCEEDED', output: [{ id: 1 }, failed, { id: 3 }, { id: 4 }], reason: TOL_OUT } },
    { name: 'map_tolerated_percentage_exceeded',
      definition: one({ ToleratedFailurePercentage: 25, ItemProcessor: proc('Task', { Resource: 'sagad:test.fail_if' }) }),
      input: items4two, override: { status: 'FAILED', error: 'States.ExceedToleratedFailureThreshold', reason: TOL } },
    { name: 'map_tolerated_count_path_within',
      definition: one({ ItemsPath: '$.xs', ToleratedFailureCountPath: '$.tol', ItemProcessor: proc('Task', { Resource: 'sagad:test.fail_if' }) }),
      input: { xs: items4two, tol: 2 },
      override: { status: 'SUCCEEDED', output: [{ id: 1 }, failed, failed, { id: 4 }], reason: TOL_OUT } },
    { name: 'map_tolerated_percentage_path_exceeded',
      definition: one({ ItemsPath: '$.xs', ToleratedFailurePercentagePath: '$.pct', ItemProcessor: proc('Task', { Resource: 'sagad:test.fail_if' }) }),
      input: { xs: items4two, pct: 49 },
      override: { status: 'FAILED', error: 'States.ExceedToleratedFailureThreshold', reason: TOL } },

    // Oracle gaps
    { name: 'map_parameters_falsy_items',
      definition: one({ ItemProcessor: proc('Pass', { Parameters: { 'v.$': '$' } }) }), input: [0, 1, false, ''],
      override: { status: 'SUCCEEDED', output: [{ v: 0 }, { v: 1 }, { v: false }, { v: '' }],
        reason: 'a path over a falsy root value (0, false, "") selects that value; the oracle fails with States.Runtime' } },
    { name: 'map_context_execution_input_in_iteration',
      definition: one({ ItemsPath: '$.xs', ItemProcessor: proc('Pass', { Parameters: { 'tag.$': '$$.Execution.Input.tag', 'item.$': '$' } }) }),
      input: { xs: ['a'], tag: 'T' },
      override: { status: 'SUCCEEDED', output: [{ tag: 'T', item: 'a' }],
        reason: '$$.Execution.Input is the execution\'s input inside Map iterations too (AWS context object); the oracle gives the item, so the path fails' } },
];
