// Invalid definitions: the oracle's validator must reject them, and so must
// sagad's compiler, with a problem naming the state (null: the top level).
'use strict';

const ok = { Type: 'Pass', End: true };
function bad(name, definition, state, extra) {
    return { name, definition, input: {}, invalid: { state }, ...(extra || {}) };
}

module.exports = [
    bad('invalid_unknown_state_type', { StartAt: 'A', States: { A: { Type: 'Paas', End: true } } }, 'A'),
    bad('invalid_missing_start_at', { States: { A: ok } }, null),
    bad('invalid_start_at_missing_state', { StartAt: 'Nope', States: { A: ok } }, null),
    bad('invalid_next_to_missing_state', { StartAt: 'A', States: { A: { Type: 'Pass', Next: 'Ghost' } } }, 'A'),
    bad('invalid_next_and_end', { StartAt: 'A', States: { A: { Type: 'Pass', Next: 'B', End: true }, B: ok } }, 'A'),
    bad('invalid_neither_next_nor_end', { StartAt: 'A', States: { A: { Type: 'Pass' } } }, 'A'),
    bad('invalid_end_on_choice', { StartAt: 'C', States: {
        C: { Type: 'Choice', Choices: [{ Variable: '$.a', IsPresent: true, Next: 'B' }], End: true }, B: ok } }, 'C',
        { override: { status: 'REJECTED', reason: 'a Choice state may not have End (ASL spec: Choice states are never terminal); the oracle\'s validator accepts it' } }),
    bad('invalid_fail_with_next', { StartAt: 'F', States: { F: { Type: 'Fail', Error: 'E', Next: 'B' }, B: ok } }, 'F'),
    bad('invalid_unreachable_state', { StartAt: 'A', States: { A: ok, Lonely: ok } }, 'Lonely'),
    bad('invalid_states_all_not_last_in_catch', { StartAt: 'T', States: {
        T: { Type: 'Task', Resource: 'sagad:echo', End: true, Catch: [
            { ErrorEquals: ['States.ALL'], Next: 'H' }, { ErrorEquals: ['X'], Next: 'H' }] }, H: ok } }, 'T',
        { override: { status: 'REJECTED', reason: 'a catcher or retrier with States.ALL must be the last one (ASL spec); the oracle\'s validator accepts it' } }),
    bad('invalid_states_all_not_alone_in_retry', { StartAt: 'T', States: {
        T: { Type: 'Task', Resource: 'sagad:echo', End: true, Retry: [{ ErrorEquals: ['States.ALL', 'X'] }] } } }, 'T',
        { override: { status: 'REJECTED', reason: 'States.ALL must appear alone in ErrorEquals (ASL spec); the oracle\'s validator accepts it' } }),
    bad('invalid_task_without_resource', { StartAt: 'T', States: { T: { Type: 'Task', End: true } } }, 'T'),
    bad('invalid_choice_without_choices', { StartAt: 'C', States: { C: { Type: 'Choice', Default: 'B' }, B: ok } }, 'C'),
    bad('invalid_choice_operator_value_type', { StartAt: 'C', States: {
        C: { Type: 'Choice', Choices: [{ Variable: '$.a', NumericEquals: 'one', Next: 'B' }] }, B: ok } }, 'C'),
    bad('invalid_choice_variable_not_a_path', { StartAt: 'C', States: {
        C: { Type: 'Choice', Choices: [{ Variable: 'a', StringEquals: 'x', Next: 'B' }] }, B: ok } }, 'C'),
    bad('invalid_wait_two_durations', { StartAt: 'W', States: { W: { Type: 'Wait', Seconds: 1, Timestamp: '2024-01-01T00:00:00Z', End: true } } }, 'W'),
    bad('invalid_wait_without_duration', { StartAt: 'W', States: { W: { Type: 'Wait', End: true } } }, 'W'),
    bad('invalid_inputpath_not_a_path', { StartAt: 'A', States: { A: { Type: 'Pass', InputPath: 'a.b', End: true } } }, 'A'),
    bad('invalid_parameters_dollar_key_not_a_path', { StartAt: 'A', States: {
        A: { Type: 'Pass', Parameters: { 'x.$': 'not a path' }, End: true } } }, 'A'),
    bad('invalid_unknown_intrinsic', { StartAt: 'A', States: {
        A: { Type: 'Pass', Parameters: { 'x.$': 'States.Nope($.a)' }, End: true } } }, 'A'),
    bad('invalid_parallel_without_branches', { StartAt: 'P', States: { P: { Type: 'Parallel', End: true } } }, 'P'),
    bad('invalid_map_without_processor', { StartAt: 'M', States: { M: { Type: 'Map', End: true } } }, 'M'),
    bad('invalid_nested_branch_state', { StartAt: 'P', States: { P: { Type: 'Parallel', End: true, Branches: [
        { StartAt: 'In', States: { In: { Type: 'Pass', Next: 'Missing' } } }] } } }, 'In'),
    bad('invalid_catch_next_missing', { StartAt: 'T', States: {
        T: { Type: 'Task', Resource: 'sagad:echo', End: true, Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Nowhere' }] } } }, 'T'),
    bad('invalid_retry_negative_max_attempts', { StartAt: 'T', States: {
        T: { Type: 'Task', Resource: 'sagad:echo', End: true, Retry: [{ ErrorEquals: ['X'], MaxAttempts: -1 }] } } }, 'T'),
    bad('invalid_result_selector_on_pass', { StartAt: 'A', States: { A: { Type: 'Pass', ResultSelector: { a: 1 }, End: true } } }, 'A'),
    bad('invalid_fail_error_and_error_path', { StartAt: 'F', States: { F: { Type: 'Fail', Error: 'E', ErrorPath: '$.e' } } }, 'F'),
];
