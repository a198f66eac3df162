// Virtual time: how long retry delays and waits last. The oracle's sleeps are
// skipped, so `elapsed_ms` is the expectation from the AWS formulas (retry
// delay = IntervalSeconds * BackoffRate^(retries so far), capped by
// MaxDelaySeconds; defaults 1 s and 2.0); the C runner checks it against
// asl_run's elapsed virtual time, starting at 2023-11-14T22:13:20Z.
'use strict';
const { task, chain } = require('./_lib');

const flaky = (n) => ({ key: 'k', fail_times: n, error: 'Flaky' });
const wait = (fields) => ({ StartAt: 'W', States: { W: { Type: 'Wait', ...fields, End: true } } });

module.exports = [
    { name: 'elapsed_retry_backoff', elapsed_ms: 26000,
      definition: task('sagad:test.flaky', { Retry: [{ ErrorEquals: ['Flaky'], IntervalSeconds: 2, BackoffRate: 3, MaxAttempts: 3 }] }),
      input: flaky(3), expect: { status: 'SUCCEEDED', output: { ...flaky(3), calls: 4 } } },
    { name: 'elapsed_retry_defaults', elapsed_ms: 7000,
      definition: task('sagad:test.flaky', { Retry: [{ ErrorEquals: ['Flaky'] }] }),
      input: flaky(3), expect: { status: 'SUCCEEDED', output: { ...flaky(3), calls: 4 } } },
    { name: 'elapsed_retry_max_delay', elapsed_ms: 12000,
      definition: task('sagad:test.flaky', { Retry: [{ ErrorEquals: ['Flaky'], IntervalSeconds: 2, BackoffRate: 3, MaxDelaySeconds: 5, MaxAttempts: 3 }] }),
      input: flaky(3), expect: { status: 'SUCCEEDED', output: { ...flaky(3), calls: 4 } } },
    { name: 'elapsed_retry_backoff_one', elapsed_ms: 6000,
      definition: task('sagad:test.flaky', { Retry: [{ ErrorEquals: ['Flaky'], IntervalSeconds: 3, BackoffRate: 1 }] }),
      input: flaky(2), expect: { status: 'SUCCEEDED', output: { ...flaky(2), calls: 3 } } },
    { name: 'elapsed_retry_exhausted', elapsed_ms: 3000,
      definition: task('sagad:test.flaky', { Retry: [{ ErrorEquals: ['Flaky'], IntervalSeconds: 1, MaxAttempts: 2 }] }),
      input: flaky(5), expect: { status: 'FAILED', error: 'Flaky', cause: 'call 3' } },
    { name: 'elapsed_retriers_count_separately', elapsed_ms: 13000,
      definition: task('sagad:test.flaky', { Retry: [
          { ErrorEquals: ['A'], IntervalSeconds: 1, MaxAttempts: 2 },
          { ErrorEquals: ['B'], IntervalSeconds: 10, MaxAttempts: 1 }] }),
      input: { key: 'k', errors: ['A', 'B', 'A'] },
      expect: { status: 'SUCCEEDED', output: { key: 'k', errors: ['A', 'B', 'A'], calls: 4 } } },
    { name: 'retriers_exhaust_separately',
      definition: task('sagad:test.flaky', { Retry: [
          { ErrorEquals: ['A'], MaxAttempts: 1 },
          { ErrorEquals: ['B'], MaxAttempts: 1 }] }),
      input: { key: 'k', errors: ['A', 'B', 'A'] }, expect: { status: 'FAILED', error: 'A', cause: 'call 3' } },
    { name: 'elapsed_wait_seconds', elapsed_ms: 30000, definition: wait({ Seconds: 30 }), input: {},
      expect: { status: 'SUCCEEDED', output: {} } },
    { name: 'elapsed_wait_seconds_path', elapsed_ms: 5000, definition: wait({ SecondsPath: '$.s' }), input: { s: 5 },
      expect: { status: 'SUCCEEDED', output: { s: 5 } } },
    { name: 'elapsed_wait_timestamp', elapsed_ms: 40000, definition: wait({ Timestamp: '2023-11-14T22:14:00Z' }), input: {},
      expect: { status: 'SUCCEEDED', output: {} } },
    { name: 'elapsed_wait_timestamp_offset', elapsed_ms: 40000, definition: wait({ Timestamp: '2023-11-14T23:14:00+01:00' }), input: {},
      expect: { status: 'SUCCEEDED', output: {} } },
    { name: 'elapsed_wait_timestamp_fraction', elapsed_ms: 250, definition: wait({ TimestampPath: '$.t' }), input: { t: '2023-11-14T22:13:20.250Z' },
      expect: { status: 'SUCCEEDED', output: { t: '2023-11-14T22:13:20.250Z' } } },
    { name: 'elapsed_wait_timestamp_past', elapsed_ms: 0, definition: wait({ Timestamp: '2001-01-01T00:00:00Z' }), input: {},
      expect: { status: 'SUCCEEDED', output: {} } },
    { name: 'elapsed_waits_and_retries_add_up', elapsed_ms: 3661000,
      definition: chain([
          ['W1', { Type: 'Wait', Seconds: 3600 }],
          ['T1', { Type: 'Task', Resource: 'sagad:test.flaky', Retry: [{ ErrorEquals: ['Flaky'], IntervalSeconds: 1 }], ResultPath: null }],
          ['W2', { Type: 'Wait', SecondsPath: '$.more' }],
      ]),
      input: { ...flaky(1), more: 60 }, expect: { status: 'SUCCEEDED', output: { ...flaky(1), more: 60 } } },
];
