// Points the ASL spec leaves open or where the oracle's behaviour is doubtful
// (the second list in /work/shared/notes/aws-local-stepfunctions.md), and other
// edge cases of operand types. Each override records sagad's decision and why;
// docs/asl-differences.md lists them.
'use strict';
const { pass, intr, task, choice } = require('./_lib');
const raw = String.raw;

module.exports = [
    { name: 'array_get_item_out_of_range', definition: intr(raw`States.ArrayGetItem($.a, 5)`), input: { a: [1] },
      override: { status: 'FAILED', error: 'States.IntrinsicFailure',
        reason: 'decision: an index outside the array is an invalid argument (States.IntrinsicFailure), as for every other bad intrinsic argument; the oracle returns null' } },
    { name: 'resultpath_through_scalar', definition: pass({ Result: 1, ResultPath: '$.a.b' }), input: { a: 'str' },
      override: { status: 'FAILED', error: 'States.ResultPathMatchFailure',
        reason: 'decision (as AWS reports "Unable to apply ReferencePath ... to input"): a ResultPath cannot go through an existing non-object value; the oracle silently replaces the scalar with an object' } },
    { name: 'string_matches_on_number_is_false', definition: choice([{ Variable: '$.v', StringMatches: '*' }]), input: { v: 5 },
      override: { status: 'SUCCEEDED', output: { matched: 'default' },
        reason: 'StringMatches on a non-string is false like every comparison of mismatched types (ASL spec); the oracle throws a catchable JavaScript TypeError' } },
    { name: 'string_matches_star_spans_newline', definition: choice([{ Variable: '$.v', StringMatches: 'a*b' }]), input: { v: 'a\nb' },
      override: { status: 'SUCCEEDED', output: { matched: 0 },
        reason: '* matches any sequence of characters, newlines included (the ASL spec excludes none); the oracle\'s regex . stops at newlines' } },
    { name: 'fail_state_without_error_or_cause', definition: { StartAt: 'F', States: { F: { Type: 'Fail' } } }, input: {},
      compare_cause: true,
      override: { status: 'FAILED', error: null, cause: null,
        reason: 'Error and Cause are optional in a Fail state and have no default (AWS Fail state docs): the execution fails with neither; the oracle invents FailStateError / "Execution failed because of a Fail state"' } },
    { name: 'task_failed_matches_in_parallel_catch',
      definition: { StartAt: 'P', States: {
          P: { Type: 'Parallel', Branches: [{ StartAt: 'T', States: { T: { Type: 'Task', Resource: 'sagad:fail', End: true } } }],
               Catch: [{ ErrorEquals: ['States.TaskFailed'], Next: 'H' }], End: true },
          H: { Type: 'Pass', End: true } } },
      input: { error: 'E', cause: 'c' },
      override: { status: 'SUCCEEDED', output: { Error: 'E', Cause: 'c' },
        reason: 'States.TaskFailed matches any error but States.Timeout (AWS error-handling docs), in whatever state catches it; the oracle matches it only in Task states' } },
    { name: 'math_add_rounds_non_integers', definition: intr(raw`States.MathAdd($.a, 1)`), input: { a: 1.7 },
      override: { status: 'SUCCEEDED', output: { r: 3 },
        reason: 'decision (asl-data, after the AWS docs: MathAdd takes integers and rounds other numbers to the nearest integer): 1.7 + 1 = 3; the oracle adds the doubles (2.7)' } },
    { name: 'task_fail_without_cause', definition: task('sagad:fail'), input: { error: 'E' },
      expect: { status: 'FAILED', error: 'E', cause: '' } },
    { name: 'format_decimal_number', definition: intr(raw`States.Format('{}', $.n)`), input: { n: 0.1 },
      expect: { status: 'SUCCEEDED', output: { r: '0.1' } } },
];

const wait = (fields) => ({ StartAt: 'W', States: { W: { Type: 'Wait', ...fields, End: true } } });
const failIfProc = { StartAt: 'Q1', States: { Q1: { Type: 'Task', Resource: 'sagad:test.fail_if', End: true } } };
const PATHTYPE = 'a ...Path operand of the wrong type makes the comparison false, like every comparison of mismatched types (ASL spec); the oracle fails with States.Runtime';
const FAILURE = 'a bad intrinsic argument fails with States.IntrinsicFailure (AWS error names); the oracle throws a plain JavaScript error';

module.exports.push(
    { name: 'string_equals_path_to_number_is_false', definition: choice([{ Variable: '$.v', StringEqualsPath: '$.w' }]), input: { v: 'a', w: 1 },
      override: { status: 'SUCCEEDED', output: { matched: 'default' }, reason: PATHTYPE } },
    { name: 'boolean_equals_path_to_string_is_false', definition: choice([{ Variable: '$.v', BooleanEqualsPath: '$.w' }]), input: { v: true, w: 'true' },
      override: { status: 'SUCCEEDED', output: { matched: 'default' }, reason: PATHTYPE } },
    { name: 'timestamp_equals_path_to_non_timestamp_is_false', definition: choice([{ Variable: '$.v', TimestampEqualsPath: '$.w' }]),
      input: { v: '2020-01-01T00:00:00Z', w: 'x' },
      override: { status: 'SUCCEEDED', output: { matched: 'default' }, reason: PATHTYPE } },
    { name: 'numeric_equals_path_missing_is_runtime_error', definition: choice([{ Variable: '$.v', NumericEqualsPath: '$.w' }]), input: { v: 1 },
      expect: { status: 'FAILED', error: 'States.Runtime' } },
    { name: 'is_present_index_out_of_range', definition: choice([{ Variable: '$.a[5]', IsPresent: true }]), input: { a: [1] },
      expect: { status: 'SUCCEEDED', output: { matched: 'default' } } },
    { name: 'intrinsic_path_missing_is_runtime_error', definition: intr(raw`States.Format('{}', $.missing)`), input: {},
      expect: { status: 'FAILED', error: 'States.Runtime' } },
    { name: 'max_concurrency_path_not_integer', input: { xs: [], mc: 1.5 },
      definition: { StartAt: 'M', States: { M: { Type: 'Map', MaxConcurrencyPath: '$.mc', ItemsPath: '$.xs', ItemProcessor: failIfProc, End: true } } },
      expect: { status: 'FAILED', error: 'States.Runtime' } },
    { name: 'tolerated_percentage_100_never_fails',
      definition: { StartAt: 'M', States: { M: { Type: 'Map', ToleratedFailurePercentage: 100,
          ItemProcessor: { StartAt: 'Q2', States: { Q2: { Type: 'Task', Resource: 'sagad:test.fail_if', End: true } } }, End: true } } },
      input: [{ fail: true }, { fail: true }],
      override: { status: 'SUCCEEDED', output: [{ Error: 'ItemFailed', Cause: 'item failed' }, { Error: 'ItemFailed', Cause: 'item failed' }],
        reason: 'a 100% tolerance is never exceeded, so the Map succeeds (AWS Map docs); failed items give their {"Error","Cause"} (sagad); the oracle ignores ToleratedFailurePercentage' } },
    { name: 'wait_seconds_path_not_integer', definition: wait({ SecondsPath: '$.s' }), input: { s: 1.5 }, real_wait: true,
      expect: { status: 'FAILED', error: 'States.Runtime' } },
    { name: 'timeout_seconds_path_zero', definition: task('sagad:echo', { TimeoutSecondsPath: '$.t' }), input: { t: 0 },
      expect: { status: 'FAILED', error: 'States.Runtime' } },
    { name: 'fail_error_path_not_string', definition: { StartAt: 'F', States: { F: { Type: 'Fail', ErrorPath: '$.e' } } }, input: { e: 5 },
      expect: { status: 'FAILED', error: 'States.Runtime' } },
    { name: 'result_selector_scalar_result_root', definition: task('sagad:test.add', { ResultSelector: { 'v.$': '$' } }), input: { a: 1, b: 2 },
      expect: { status: 'SUCCEEDED', output: { v: 3 } } },
    { name: 'result_selector_field_of_scalar_result', definition: task('sagad:test.add', { ResultSelector: { 'v.$': '$.x' } }), input: { a: 1, b: 2 },
      expect: { status: 'FAILED', error: 'States.Runtime' } },
    { name: 'array_get_item_negative_index', definition: intr(raw`States.ArrayGetItem($.a, -1)`), input: { a: [1] },
      override: { status: 'FAILED', error: 'States.IntrinsicFailure',
        reason: 'decision: a negative index is outside the array, an invalid argument (States.IntrinsicFailure); the oracle returns null' } },
    { name: 'math_random_start_above_end', definition: intr(raw`States.MathRandom(10, 1, 5)`), input: {},
      override: { status: 'FAILED', error: 'States.IntrinsicFailure',
        reason: 'decision: MathRandom needs start < end, otherwise the arguments are invalid (States.IntrinsicFailure); the oracle returns a number anyway' } },
    { name: 'base64_decode_invalid_input', definition: intr(raw`States.Base64Decode('***')`), input: {},
      override: { status: 'FAILED', error: 'States.IntrinsicFailure', reason: FAILURE } },
    { name: 'string_to_json_trailing_garbage', definition: intr(raw`States.StringToJson($.s)`), input: { s: '{"a":1} x' },
      override: { status: 'FAILED', error: 'States.IntrinsicFailure', reason: FAILURE } },
    { name: 'map_items_path_root', definition: { StartAt: 'M', States: { M: { Type: 'Map', ItemsPath: '$', ItemSelector: { 'v.$': '$$.Map.Item.Value' },
          ItemProcessor: { StartAt: 'Q3', States: { Q3: { Type: 'Pass', End: true } } }, End: true } } }, input: [1, 2],
      expect: { status: 'SUCCEEDED', output: [{ v: 1 }, { v: 2 }] } },
);
