// The context object $$ and path syntax: dot and bracket notation, indexes.
'use strict';
const { pass, intr, task } = require('./_lib');

const CTX = 'the AWS context object has State.Name, State.EnteredTime, State.RetryCount and Task.Token; the oracle\'s context has only Execution.Input/StartTime (plus what the caller mocks), so the path fails with States.Runtime';
const TS = '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?Z$';

module.exports = [
    // Paths
    { name: 'path_dot_deep', definition: intr('$.a.b.c'), input: { a: { b: { c: 'deep' } } }, expect: { status: 'SUCCEEDED', output: { r: 'deep' } } },
    { name: 'path_bracket_quoted_key_with_space', definition: intr("$['a b']"), input: { 'a b': 1 }, expect: { status: 'SUCCEEDED', output: { r: 1 } } },
    { name: 'path_bracket_then_dot', definition: intr("$['outer key'].inner"), input: { 'outer key': { inner: [1] } },
      expect: { status: 'SUCCEEDED', output: { r: [1] } } },
    { name: 'path_dot_then_bracket', definition: intr("$.a['b.c']"), input: { a: { 'b.c': 'dotted' } },
      expect: { status: 'SUCCEEDED', output: { r: 'dotted' } } },
    { name: 'path_array_index', definition: intr('$.arr[2]'), input: { arr: ['x', 'y', 'z'] }, expect: { status: 'SUCCEEDED', output: { r: 'z' } } },
    { name: 'path_index_then_field', definition: intr('$.arr[1].name'), input: { arr: [{ name: 'a' }, { name: 'b' }] },
      expect: { status: 'SUCCEEDED', output: { r: 'b' } } },
    { name: 'path_nested_indexes', definition: intr('$.m[1][0]'), input: { m: [[1, 2], [3, 4]] }, expect: { status: 'SUCCEEDED', output: { r: 3 } } },
    { name: 'path_root_array_index', definition: intr('$[1]'), input: ['first', 'second'], expect: { status: 'SUCCEEDED', output: { r: 'second' } } },
    { name: 'path_index_out_of_range', definition: intr('$.arr[5]'), input: { arr: [1] }, expect: { status: 'FAILED', error: 'States.Runtime' } },
    { name: 'path_field_of_scalar', definition: intr('$.a.b'), input: { a: 5 }, expect: { status: 'FAILED', error: 'States.Runtime' } },
    { name: 'path_value_null_selected', definition: intr('$.a'), input: { a: null }, expect: { status: 'SUCCEEDED', output: { r: null } } },
    { name: 'path_bracket_index_mixed_mess', definition: intr("$.x[0]['y z'][1].w"), input: { x: [{ 'y z': [0, { w: 'found' }] }] },
      expect: { status: 'SUCCEEDED', output: { r: 'found' } } },
    { name: 'path_key_with_underscore_and_digits', definition: intr('$.item_2.v1'), input: { item_2: { v1: 'ok' } },
      expect: { status: 'SUCCEEDED', output: { r: 'ok' } } },
    { name: 'path_choice_bracket_variable',
      definition: { StartAt: 'C', States: {
          C: { Type: 'Choice', Choices: [{ Variable: "$['my field'][0]", StringEquals: 'yes', Next: 'Y' }], Default: 'N' },
          Y: { Type: 'Pass', Result: 'Y', End: true }, N: { Type: 'Pass', Result: 'N', End: true } } },
      input: { 'my field': ['yes'] }, expect: { status: 'SUCCEEDED', output: 'Y' } },

    // Context object
    { name: 'ctx_execution_input_after_changes',
      definition: { StartAt: 'A', States: {
          A: { Type: 'Pass', Result: { replaced: true }, Next: 'B' },
          B: { Type: 'Pass', Parameters: { 'orig.$': '$$.Execution.Input', 'now.$': '$' }, End: true } } },
      input: { first: 1 }, expect: { status: 'SUCCEEDED', output: { orig: { first: 1 }, now: { replaced: true } } } },
    { name: 'ctx_execution_input_field', definition: intr('$$.Execution.Input.k'), input: { k: [1, 2] },
      expect: { status: 'SUCCEEDED', output: { r: [1, 2] } } },
    { name: 'ctx_execution_name_and_id', definition: pass({ Parameters: { 'name.$': '$$.Execution.Name', 'id.$': '$$.Execution.Id' } }),
      input: {}, expect: { status: 'SUCCEEDED', output: { name: 'exec-1', id: 'exec-1' } } },
    { name: 'ctx_state_machine_name', definition: intr('$$.StateMachine.Name'), input: {},
      expect: { status: 'SUCCEEDED', output: { r: 'machine' } } },
    { name: 'ctx_execution_start_time', definition: intr('$$.Execution.StartTime'), input: {},
      match: [{ path: ['r'], type: 'string', regex: TS }] },
    { name: 'ctx_in_choice_variable',
      definition: { StartAt: 'A', States: {
          A: { Type: 'Pass', Result: {}, Next: 'C' },
          C: { Type: 'Choice', Choices: [{ Variable: '$$.Execution.Input.flag', BooleanEquals: true, Next: 'Y' }], Default: 'N' },
          Y: { Type: 'Pass', Result: 'Y', End: true }, N: { Type: 'Pass', Result: 'N', End: true } } },
      input: { flag: true }, expect: { status: 'SUCCEEDED', output: 'Y' } },
    { name: 'ctx_in_task_parameters', definition: task('sagad:echo', { Parameters: { 'in.$': '$$.Execution.Input.x', 'self.$': '$.x' } }),
      input: { x: 7 }, expect: { status: 'SUCCEEDED', output: { in: 7, self: 7 } } },
    { name: 'ctx_state_name', definition: intr('$$.State.Name'), input: {},
      override: { status: 'SUCCEEDED', output: { r: 'P' }, reason: CTX } },
    { name: 'ctx_state_name_in_second_state',
      definition: { StartAt: 'First', States: {
          First: { Type: 'Pass', Next: 'Second' },
          Second: { Type: 'Pass', Parameters: { 'n.$': '$$.State.Name' }, End: true } } },
      input: {}, override: { status: 'SUCCEEDED', output: { n: 'Second' }, reason: CTX } },
    { name: 'ctx_state_entered_time', definition: intr('$$.State.EnteredTime'), input: {},
      match: [{ path: ['r'], type: 'string', regex: TS }],
      override: { status: 'SUCCEEDED', output: { r: '<match>' }, reason: CTX } },
    { name: 'ctx_state_retry_count',
      definition: task('sagad:test.flaky', { Parameters: { key: 'r', fail_times: 2, error: 'Flaky', 'rc.$': '$$.State.RetryCount' },
          Retry: [{ ErrorEquals: ['Flaky'], MaxAttempts: 3 }] }),
      input: {}, override: { status: 'SUCCEEDED', output: { key: 'r', fail_times: 2, error: 'Flaky', rc: 2, calls: 3 }, reason: CTX } },
    { name: 'ctx_task_token', definition: task('sagad:echo', { Parameters: { 'token.$': '$$.Task.Token' } }), input: {},
      match: [{ path: ['token'], type: 'string', regex: '.' }],
      override: { status: 'SUCCEEDED', output: { token: '<match>' }, reason: CTX } },
];
