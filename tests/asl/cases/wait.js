// Wait states: Seconds, SecondsPath, Timestamp, TimestampPath and their errors.
// The generator skips the oracle's sleeps (waitTimeOverrides) except for the
// `real_wait` cases, whose path errors are found before any sleep; the C runner
// uses asl_run's virtual clock.
'use strict';
const { chain } = require('./_lib');

function wait(fields) {
    return { StartAt: 'W', States: { W: { Type: 'Wait', ...fields, End: true } } };
}

module.exports = [
    { name: 'wait_seconds', definition: wait({ Seconds: 30 }), input: { a: 1 },
      expect: { status: 'SUCCEEDED', output: { a: 1 } } },
    { name: 'wait_seconds_zero', definition: wait({ Seconds: 0 }), input: { a: 1 }, real_wait: true,
      expect: { status: 'SUCCEEDED', output: { a: 1 } } },
    { name: 'wait_seconds_path', definition: wait({ SecondsPath: '$.s' }), input: { s: 5, k: 'v' },
      expect: { status: 'SUCCEEDED', output: { s: 5, k: 'v' } } },
    { name: 'wait_timestamp_past', definition: wait({ Timestamp: '2001-01-01T00:00:00Z' }), input: { a: 1 }, real_wait: true,
      expect: { status: 'SUCCEEDED', output: { a: 1 } } },
    { name: 'wait_timestamp_future', definition: wait({ Timestamp: '2100-01-01T00:00:00Z' }), input: { a: 1 },
      expect: { status: 'SUCCEEDED', output: { a: 1 } } },
    { name: 'wait_timestamp_path', definition: wait({ TimestampPath: '$.t' }), input: { t: '2001-01-01T00:00:00.250+02:00' }, real_wait: true,
      expect: { status: 'SUCCEEDED', output: { t: '2001-01-01T00:00:00.250+02:00' } } },
    { name: 'wait_seconds_path_not_a_number', definition: wait({ SecondsPath: '$.s' }), input: { s: 'ten' }, real_wait: true,
      expect: { status: 'FAILED', error: 'States.Runtime' } },
    { name: 'wait_seconds_path_negative', definition: wait({ SecondsPath: '$.s' }), input: { s: -1 }, real_wait: true,
      expect: { status: 'FAILED', error: 'States.Runtime' } },
    { name: 'wait_seconds_path_missing', definition: wait({ SecondsPath: '$.s' }), input: {}, real_wait: true,
      expect: { status: 'FAILED', error: 'States.Runtime' } },
    { name: 'wait_timestamp_path_not_a_timestamp', definition: wait({ TimestampPath: '$.t' }), input: { t: 'tomorrow' }, real_wait: true,
      expect: { status: 'FAILED', error: 'States.Runtime' } },
    { name: 'wait_inputpath_outputpath', definition: wait({ Seconds: 1, InputPath: '$.in', OutputPath: '$.x' }),
      input: { in: { x: [1, 2] } }, expect: { status: 'SUCCEEDED', output: [1, 2] } },
    { name: 'wait_between_tasks',
      definition: chain([
          ['A', { Type: 'Task', Resource: 'sagad:echo', ResultPath: '$.first' }],
          ['W', { Type: 'Wait', Seconds: 3600 }],
          ['B', { Type: 'Task', Resource: 'sagad:test.add', ResultPath: '$.sum' }],
      ]),
      input: { a: 1, b: 2 },
      expect: { status: 'SUCCEEDED', output: { a: 1, b: 2, first: { a: 1, b: 2 }, sum: 3 } } },
];
