// Points the ASL spec leaves open or where the oracle's behaviour is doubtful
// (the second list in /work/shared/notes/aws-local-stepfunctions.md). Each
// override records sagad's decision and why; docs/asl-differences.md lists them.
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
