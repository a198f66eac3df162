// The 256 KiB payload limit, explicit "$" paths and exact numbers.
'use strict';
const { pass, intr } = require('./_lib');
const raw = String.raw;

const KB = 'x'.repeat(1000);
const LIMIT = 'a state output above 256 KiB fails with States.DataLimitExceeded (AWS quotas), which States.ALL does not catch; the oracle has no payload limit';

// A Map that fans one 1000-character string out to 300 items: ~300 KB of output.
function bigMap(extra) {
    return { StartAt: 'M', States: { M: { Type: 'Map', ItemsPath: '$.n',
        ItemSelector: { 's.$': '$.s' },
        ItemProcessor: { StartAt: 'I', States: { I: { Type: 'Pass', End: true } } },
        ...(extra || {}), End: true } } };
}

module.exports = [
    { name: 'data_limit_state_output', definition: bigMap(), input: { s: KB, n: Array.from({ length: 300 }, (_, i) => i) },
      override: { status: 'FAILED', error: 'States.DataLimitExceeded', reason: LIMIT } },
    { name: 'data_limit_not_caught_by_states_all',
      definition: (() => {
          const m = { ...bigMap().States.M, Next: 'H', Catch: [{ ErrorEquals: ['States.ALL'], Next: 'H' }] };
          delete m.End;
          return { StartAt: 'M', States: { M: m, H: { Type: 'Pass', End: true } } };
      })(),
      input: { s: KB, n: Array.from({ length: 300 }, (_, i) => i) },
      override: { status: 'FAILED', error: 'States.DataLimitExceeded', reason: LIMIT } },
    { name: 'data_limit_just_below', definition: bigMap({ ResultSelector: { 'count.$': 'States.ArrayLength($)' } }),
      input: { s: KB, n: Array.from({ length: 200 }, (_, i) => i) },
      expect: { status: 'SUCCEEDED', output: { count: 200 } } },

    { name: 'explicit_dollar_input_and_output_paths', definition: pass({ InputPath: '$', OutputPath: '$' }), input: { a: [1] },
      expect: { status: 'SUCCEEDED', output: { a: [1] } } },
    { name: 'format_large_integer', definition: intr(raw`States.Format('n={}', $.n)`), input: { n: 9007199254740991 },
      expect: { status: 'SUCCEEDED', output: { r: 'n=9007199254740991' } } },
    { name: 'json_to_string_numbers', definition: intr(raw`States.JsonToString($.o)`),
      input: { o: { i: 9007199254740991, neg: -3, f: 0.5, z: 0 } },
      expect: { status: 'SUCCEEDED', output: { r: '{"i":9007199254740991,"neg":-3,"f":0.5,"z":0}' } } },
    { name: 'math_add_int32_edge', definition: intr(raw`States.MathAdd($.a, $.b)`), input: { a: 2147483600, b: 47 },
      expect: { status: 'SUCCEEDED', output: { r: 2147483647 } } },
];
