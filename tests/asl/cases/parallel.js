// Parallel states: branch outputs in order, data flow around the state, branch
// failures, Retry and Catch on the Parallel state, nesting.
'use strict';

function par(branches, fields) {
    return { StartAt: 'Par', States: { Par: { Type: 'Parallel', Branches: branches, ...(fields || {}), End: true } } };
}
// State names are unique across the whole machine (branches included).
let seq = 0;
function passBranch(fields) {
    const n = 'B' + (++seq);
    return { StartAt: n, States: { [n]: { Type: 'Pass', ...fields, End: true } } };
}
function taskBranch(resource, fields) {
    const n = 'BT' + (++seq);
    return { StartAt: n, States: { [n]: { Type: 'Task', Resource: resource, ...(fields || {}), End: true } } };
}

module.exports = [
    { name: 'parallel_two_branches',
      definition: par([passBranch({ Result: 'one' }), passBranch({ Parameters: { 'got.$': '$.x' } })]),
      input: { x: 1 }, expect: { status: 'SUCCEEDED', output: ['one', { got: 1 }] } },
    { name: 'parallel_single_branch_echo', definition: par([taskBranch('sagad:echo')]), input: { a: [1] },
      expect: { status: 'SUCCEEDED', output: [{ a: [1] }] } },
    { name: 'parallel_branch_with_several_states',
      definition: par([
          { StartAt: 'A1', States: {
              A1: { Type: 'Task', Resource: 'sagad:test.add', ResultPath: '$.sum', Next: 'A2' },
              A2: { Type: 'Choice', Choices: [{ Variable: '$.sum', NumericGreaterThan: 2, Next: 'Big' }], Default: 'Small' },
              Big: { Type: 'Pass', Result: 'big', End: true },
              Small: { Type: 'Pass', Result: 'small', End: true } } },
          passBranch({})]),
      input: { a: 1, b: 2 }, expect: { status: 'SUCCEEDED', output: ['big', { a: 1, b: 2 }] } },
    { name: 'parallel_data_flow_fields',
      definition: par([passBranch({ Result: { v: 1 } }), passBranch({ Result: { v: 2 } })], {
          InputPath: '$.in', Parameters: { 'p.$': '$.q' },
          ResultSelector: { 'first.$': '$[0].v', 'second.$': '$[1].v' },
          ResultPath: '$.in.res', OutputPath: '$.in' }),
      input: { in: { q: 'Q' }, drop: 1 },
      expect: { status: 'SUCCEEDED', output: { q: 'Q', res: { first: 1, second: 2 } } } },
    { name: 'parallel_branches_get_parameters_output',
      definition: par([passBranch({}), passBranch({ InputPath: '$.p' })], { Parameters: { 'p.$': '$.x', k: 'v' } }),
      input: { x: 'X' }, expect: { status: 'SUCCEEDED', output: [{ p: 'X', k: 'v' }, 'X'] } },
    { name: 'parallel_branch_failure_fails_state',
      definition: par([passBranch({}), taskBranch('sagad:fail', { Parameters: { error: 'BranchErr', cause: 'branch 2 failed' } })]),
      input: {}, expect: { status: 'FAILED', error: 'BranchErr', cause: 'branch 2 failed' } },
    { name: 'parallel_fail_state_in_branch',
      definition: par([{ StartAt: 'F', States: { F: { Type: 'Fail', Error: 'InBranch', Cause: 'fail state' } } }]),
      input: {}, expect: { status: 'FAILED', error: 'InBranch', cause: 'fail state' } },
    { name: 'parallel_catch_branch_failure',
      definition: { StartAt: 'Par', States: {
          Par: { Type: 'Parallel', Branches: [taskBranch('sagad:fail')],
                 Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.err', Next: 'H' }], End: true },
          H: { Type: 'Pass', End: true } } },
      input: { error: 'E1', cause: 'c1' },
      expect: { status: 'SUCCEEDED', output: { error: 'E1', cause: 'c1', err: { Error: 'E1', Cause: 'c1' } } } },
    { name: 'parallel_catch_by_error_name',
      definition: { StartAt: 'Par', States: {
          Par: { Type: 'Parallel', Branches: [taskBranch('sagad:fail')],
                 Catch: [{ ErrorEquals: ['Nope'], Next: 'A' }, { ErrorEquals: ['E1'], Next: 'B' }], End: true },
          A: { Type: 'Pass', Result: 'A', End: true },
          B: { Type: 'Pass', Result: 'B', End: true } } },
      input: { error: 'E1', cause: 'c1' }, expect: { status: 'SUCCEEDED', output: 'B' } },
    { name: 'parallel_retry_reruns_branches',
      definition: par([taskBranch('sagad:test.flaky'), passBranch({ Result: 'static' })],
          { Retry: [{ ErrorEquals: ['Flaky'], MaxAttempts: 2 }] }),
      input: { key: 'p', fail_times: 1, error: 'Flaky' },
      expect: { status: 'SUCCEEDED', output: [{ key: 'p', fail_times: 1, error: 'Flaky', calls: 2 }, 'static'] } },
    { name: 'parallel_nested',
      definition: par([
          { StartAt: 'Inner', States: { Inner: { Type: 'Parallel', End: true,
              Branches: [passBranch({ Result: 'a' }), passBranch({ Result: 'b' })] } } },
          passBranch({ Result: 'c' })]),
      input: {}, expect: { status: 'SUCCEEDED', output: [['a', 'b'], 'c'] } },
    { name: 'parallel_branch_context_execution_input',
      definition: { StartAt: 'Set', States: {
          Set: { Type: 'Pass', Result: 'changed', ResultPath: '$.v', Next: 'Par' },
          Par: { Type: 'Parallel', End: true, Branches: [passBranch({ Parameters: { 'orig.$': '$$.Execution.Input.v', 'now.$': '$.v' } })] } } },
      input: { v: 'original' },
      override: { status: 'SUCCEEDED', output: [{ orig: 'original', now: 'changed' }],
        reason: '$$.Execution.Input is the execution\'s input in every branch (AWS context object); the oracle runs each branch as a new execution whose input is the branch input' } },
    { name: 'parallel_then_next_state',
      definition: { StartAt: 'Par', States: {
          Par: { Type: 'Parallel', Branches: [passBranch({ Result: 1 }), passBranch({ Result: 2 })], ResultPath: '$.r', Next: 'Sum' },
          Sum: { Type: 'Pass', Parameters: { 'total.$': 'States.MathAdd($.r[0], $.r[1])' }, End: true } } },
      input: {}, expect: { status: 'SUCCEEDED', output: { total: 3 } } },
];
