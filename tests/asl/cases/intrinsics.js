// The 18 intrinsic functions: results, nested calls, quoted strings and escapes,
// and States.IntrinsicFailure on bad arguments.
'use strict';
const crypto = require('crypto');
const { pass, intr } = require('./_lib');
const raw = String.raw;

function ok(name, expr, input, r) {
    const c = { name, definition: intr(expr), input };
    if (r !== undefined) c.expect = { status: 'SUCCEEDED', output: { r } };
    return c;
}

const FAILURE = 'a bad intrinsic call fails with States.IntrinsicFailure (AWS error names); the oracle raises an uncatchable States.Runtime (or a plain JS error)';
function bad(name, expr, input) {
    return { name, definition: intr(expr), input,
             override: { status: 'FAILED', error: 'States.IntrinsicFailure', reason: FAILURE } };
}
const BACKSLASH = 'a string an intrinsic returns keeps its backslashes; the oracle removes every backslash from intrinsic string results';
const hex = (alg, s) => crypto.createHash(alg).update(s, 'utf8').digest('hex');
const LONG = 'The quick brown fox jumps over the lazy dog, again and again!'; // 61 bytes: two hash blocks

module.exports = [
    // States.Format
    ok('format_basic', raw`States.Format('Hello, {}!', $.name)`, { name: 'World' }, 'Hello, World!'),
    ok('format_value_types', raw`States.Format('{} {} {} {}', $.s, $.n, $.b, $.z)`, { s: 'a', n: 1.5, b: true, z: null }, 'a 1.5 true null'),
    ok('format_integer_value', raw`States.Format('n={}', $.n)`, { n: 10 }, 'n=10'),
    ok('format_literal_arguments', raw`States.Format('{}-{}-{}', 'x', 42, true)`, {}, 'x-42-true'),
    ok('format_no_placeholders', raw`States.Format('plain')`, {}, 'plain'),
    ok('format_escaped_braces', raw`States.Format('\{\} and {}', $.x)`, { x: 'X' }, '{} and X'),
    ok('format_escaped_quote', raw`States.Format('it\'s {}', $.x)`, { x: 'X' }, "it's X"),
    ok('format_comma_and_parens_in_literal', raw`States.Format('a, (b) {}', 'c')`, {}, 'a, (b) c'),
    { ...ok('format_backslash_in_value', raw`States.Format('path={}', $.p)`, { p: 'C:\\dir' }),
      override: { status: 'SUCCEEDED', output: { r: 'path=C:\\dir' }, reason: BACKSLASH } },
    { ...ok('format_escaped_backslash_in_template', raw`States.Format('a\\b{}', 'c')`, {}),
      override: { status: 'SUCCEEDED', output: { r: 'a\\bc' },
        reason: 'in an intrinsic string literal \\\\ stands for one backslash (AWS docs: the characters \' { } \\ are escaped with a backslash); the oracle rejects the definition (and strips backslashes from results)' } },
    bad('format_too_few_arguments', raw`States.Format($.tpl, $.x)`, { tpl: '{} {}', x: 1 }),
    bad('format_too_many_arguments', raw`States.Format($.tpl, $.x, $.x)`, { tpl: 'only {}', x: 1 }),

    // States.StringToJson / States.JsonToString
    ok('string_to_json_object', raw`States.StringToJson($.s)`, { s: '{"a":[1,2],"b":null,"c":"x"}' }, { a: [1, 2], b: null, c: 'x' }),
    ok('string_to_json_number', raw`States.StringToJson($.s)`, { s: '12.5' }, 12.5),
    bad('string_to_json_invalid', raw`States.StringToJson($.s)`, { s: '{not json' }),
    ok('json_to_string_object', raw`States.JsonToString($.o)`, { o: { a: 1, b: [true, null], c: 'x' } }, '{"a":1,"b":[true,null],"c":"x"}'),
    ok('json_to_string_number', raw`States.JsonToString($.n)`, { n: 3 }, '3'),
    { ...ok('json_to_string_keeps_escapes', raw`States.JsonToString($.o)`, { o: { q: 'say "hi"' } }),
      override: { status: 'SUCCEEDED', output: { r: '{"q":"say \\"hi\\""}' }, reason: BACKSLASH } },
    ok('json_roundtrip_nested', raw`States.StringToJson(States.JsonToString($.o))`, { o: { a: [1, { b: 'c' }] } }, { a: [1, { b: 'c' }] }),

    // States.Array
    ok('array_mixed', raw`States.Array(1, 'two', $.x, true, null)`, { x: { k: 'v' } }, [1, 'two', { k: 'v' }, true, null]),
    ok('array_of_array', raw`States.Array($.a)`, { a: [1, 2] }, [[1, 2]]),
    ok('array_empty', raw`States.Array()`, {}, []),

    // States.ArrayPartition
    ok('array_partition', raw`States.ArrayPartition($.a, 2)`, { a: [1, 2, 3, 4, 5] }, [[1, 2], [3, 4], [5]]),
    ok('array_partition_big_chunk', raw`States.ArrayPartition($.a, 10)`, { a: [1, 2] }, [[1, 2]]),
    ok('array_partition_empty', raw`States.ArrayPartition($.a, 3)`, { a: [] }, []),
    bad('array_partition_zero_chunk', raw`States.ArrayPartition($.a, 0)`, { a: [1] }),

    // States.ArrayContains
    ok('array_contains_true', raw`States.ArrayContains($.a, $.v)`, { a: [1, 'x', 3], v: 'x' }, true),
    ok('array_contains_false', raw`States.ArrayContains($.a, 4)`, { a: [1, 2, 3] }, false),
    ok('array_contains_object', raw`States.ArrayContains($.a, $.v)`, { a: [{ k: [1] }, 2], v: { k: [1] } }, true),
    ok('array_contains_no_type_coercion', raw`States.ArrayContains($.a, '1')`, { a: [1, 2] }, false),

    // States.ArrayRange
    ok('array_range_up', raw`States.ArrayRange(1, 9, 2)`, {}, [1, 3, 5, 7, 9]),
    ok('array_range_down', raw`States.ArrayRange(10, 1, -3)`, {}, [10, 7, 4, 1]),
    ok('array_range_not_reaching_end', raw`States.ArrayRange(0, 10, 4)`, {}, [0, 4, 8]),
    ok('array_range_single', raw`States.ArrayRange(5, 5, 1)`, {}, [5]),
    ok('array_range_from_paths', raw`States.ArrayRange($.s, $.e, 1)`, { s: -1, e: 1 }, [-1, 0, 1]),
    bad('array_range_zero_step', raw`States.ArrayRange(1, 5, 0)`, {}),
    bad('array_range_over_1000_items', raw`States.ArrayRange(1, 2000, 1)`, {}),

    // States.ArrayGetItem / ArrayLength / ArrayUnique
    ok('array_get_item', raw`States.ArrayGetItem($.a, 1)`, { a: ['x', { y: 1 }, 'z'] }, { y: 1 }),
    ok('array_get_item_path_index', raw`States.ArrayGetItem($.a, $.i)`, { a: [10, 20, 30], i: 2 }, 30),
    ok('array_length', raw`States.ArrayLength($.a)`, { a: [1, [2, 3], null] }, 3),
    ok('array_length_empty', raw`States.ArrayLength($.a)`, { a: [] }, 0),
    bad('array_length_of_string', raw`States.ArrayLength($.s)`, { s: 'abc' }),
    ok('array_unique', raw`States.ArrayUnique($.a)`, { a: [1, 2, 2, 'a', 'a', { k: 1 }, { k: 1 }, null, null] }, [1, 2, 'a', { k: 1 }, null]),

    // States.Base64Encode / Base64Decode
    ok('base64_encode', raw`States.Base64Encode($.s)`, { s: 'Data to encode' }, 'RGF0YSB0byBlbmNvZGU='),
    ok('base64_encode_padding', raw`States.Base64Encode('ab')`, {}, 'YWI='),
    ok('base64_decode', raw`States.Base64Decode($.s)`, { s: 'RGVjb2RlZCBkYXRh' }, 'Decoded data'),
    { ...ok('base64_encode_utf8', raw`States.Base64Encode($.s)`, { s: 'é' }),
      override: { status: 'SUCCEEDED', output: { r: 'w6k=' },
        reason: 'Base64Encode encodes the UTF-8 bytes of the string; the oracle uses btoa (Latin-1), giving 6Q== and failing above U+00FF' } },
    ok('base64_roundtrip', raw`States.Base64Decode(States.Base64Encode($.s))`, { s: 'round trip: {}[]' }, 'round trip: {}[]'),

    // States.Hash
    ok('hash_md5', raw`States.Hash($.s, 'MD5')`, { s: 'input data' }, hex('md5', 'input data')),
    ok('hash_sha1', raw`States.Hash($.s, 'SHA-1')`, { s: 'input data' }, hex('sha1', 'input data')),
    ok('hash_sha256', raw`States.Hash($.s, 'SHA-256')`, { s: 'input data' }, hex('sha256', 'input data')),
    ok('hash_sha384', raw`States.Hash($.s, 'SHA-384')`, { s: 'input data' }, hex('sha384', 'input data')),
    ok('hash_sha512', raw`States.Hash($.s, $.alg)`, { s: 'input data', alg: 'SHA-512' }, hex('sha512', 'input data')),
    ok('hash_empty_string', raw`States.Hash('', 'SHA-256')`, {}, hex('sha256', '')),
    { ...ok('hash_sha256_two_blocks', raw`States.Hash($.s, 'SHA-256')`, { s: LONG }),
      override: { status: 'SUCCEEDED', output: { r: hex('sha256', LONG) },
        reason: 'the standard SHA-256 digest (node:crypto); the oracle\'s own hash code is wrong for inputs of 56 bytes or more' } },
    { ...ok('hash_md5_two_blocks', raw`States.Hash($.s, 'MD5')`, { s: LONG }),
      override: { status: 'SUCCEEDED', output: { r: hex('md5', LONG) },
        reason: 'the standard MD5 digest (node:crypto); the oracle\'s own hash code is wrong for inputs of 56 bytes or more' } },
    bad('hash_unknown_algorithm', raw`States.Hash($.s, 'SHA-3')`, { s: 'x' }),

    // States.JsonMerge
    ok('json_merge_shallow', raw`States.JsonMerge($.a, $.b, false)`,
       { a: { x: 1, n: { p: 1 } }, b: { y: 2, n: { q: 2 } } }, { x: 1, n: { q: 2 }, y: 2 }),
    { name: 'json_merge_does_not_modify_input',
      definition: pass({ Parameters: { 'm.$': 'States.JsonMerge($.x, $.y, false)', 'x.$': '$.x' } }),
      input: { x: { a: 1 }, y: { b: 2 } },
      override: { status: 'SUCCEEDED', output: { m: { a: 1, b: 2 }, x: { a: 1 } },
        reason: 'intrinsics do not change the state input; the oracle\'s JsonMerge merges into its first argument in place' } },
    bad('json_merge_deep_unsupported', raw`States.JsonMerge($.a, $.b, true)`, { a: {}, b: {} }),
    bad('json_merge_non_object', raw`States.JsonMerge($.a, $.b, false)`, { a: [1], b: {} }),

    // States.MathRandom / States.MathAdd
    { ...ok('math_random_range', raw`States.MathRandom(1, 10)`, {}),
      match: [{ path: ['r'], type: 'integer', min: 1, max: 10 }] },
    { ...ok('math_random_seeded', raw`States.MathRandom($.lo, $.hi, 7)`, { lo: 100, hi: 200 }),
      match: [{ path: ['r'], type: 'integer', min: 100, max: 200 }] },
    ok('math_add', raw`States.MathAdd($.a, $.b)`, { a: 40, b: 2 }, 42),
    ok('math_add_negative', raw`States.MathAdd($.a, -50)`, { a: 8 }, -42),
    bad('math_add_string', raw`States.MathAdd($.a, 1)`, { a: '1' }),

    // States.StringSplit
    ok('string_split_comma', raw`States.StringSplit($.s, ',')`, { s: '1,2,3,4,5' }, ['1', '2', '3', '4', '5']),
    ok('string_split_no_delimiter_found', raw`States.StringSplit('abc', ';')`, {}, ['abc']),
    { ...ok('string_split_each_character_splits', raw`States.StringSplit($.s, $.d)`, { s: 'This.is+a,test=string', d: '.+,=' }),
      override: { status: 'SUCCEEDED', output: { r: ['This', 'is', 'a', 'test', 'string'] },
        reason: 'every character of the delimiter string splits (AWS docs example); the oracle splits on the whole delimiter string' } },

    // States.UUID
    { ...ok('uuid_v4', raw`States.UUID()`, {}),
      match: [{ path: ['r'], type: 'string', regex: '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' }] },

    // Nesting and placement
    ok('nested_format_of_length', raw`States.Format('{} items', States.ArrayLength($.a))`, { a: [1, 2, 3] }, '3 items'),
    ok('nested_get_item_of_array', raw`States.ArrayGetItem(States.Array('a', 'b', 'c'), 1)`, {}, 'b'),
    ok('nested_math_add_of_length', raw`States.MathAdd(States.ArrayLength($.a), 1)`, { a: [0, 0] }, 3),
    ok('nested_three_levels', raw`States.JsonToString(States.ArrayPartition(States.ArrayRange(1, 4, 1), 2))`, {}, '[[1,2],[3,4]]'),
    { name: 'intrinsic_in_result_selector',
      definition: { StartAt: 'T', States: { T: { Type: 'Task', Resource: 'sagad:test.fixed', End: true,
          ResultSelector: { 'count.$': 'States.ArrayLength($.data.tags)', 'label.$': "States.Format('id-{}', $.data.id)" } } } },
      input: {}, expect: { status: 'SUCCEEDED', output: { count: 2, label: 'id-7' } } },
    { name: 'intrinsic_with_context_object',
      definition: intr(raw`States.Format('{}/{}', $$.Execution.Name, $.x)`), input: { x: 'y' },
      expect: { status: 'SUCCEEDED', output: { r: 'exec-1/y' } } },
    { name: 'intrinsic_failure_caught_by_states_all',
      definition: { StartAt: 'T', States: {
          T: { Type: 'Task', Resource: 'sagad:echo', Parameters: { 'r.$': 'States.ArrayLength($.s)' },
               Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.err', Next: 'H' }], End: true },
          H: { Type: 'Pass', End: true } } },
      input: { s: 'not an array' },
      match: [{ path: ['err', 'Cause'], type: 'string' }],
      override: { status: 'SUCCEEDED', output: { s: 'not an array', err: { Error: 'States.IntrinsicFailure', Cause: '<match>' } },
        reason: 'States.IntrinsicFailure is an ordinary error that States.ALL catches; the oracle raises an uncatchable States.Runtime' } },
];

module.exports.push(
    ok('intrinsic_whitespace_between_arguments', raw`States.MathAdd( $.a ,  2 )`, { a: 1 }, 3),
    ok('string_to_json_with_escapes', raw`States.StringToJson($.s)`, { s: '{"q":"a\\"b","u":"\\u00e9"}' }, { q: 'a"b', u: 'é' }),
    ok('json_to_string_unicode', raw`States.JsonToString($.o)`, { o: { u: 'é✓' } }, '{"u":"é✓"}'),
    { ...ok('base64_decode_utf8', raw`States.Base64Decode($.s)`, { s: 'w6k=' }),
      override: { status: 'SUCCEEDED', output: { r: 'é' },
        reason: 'Base64Decode yields the decoded bytes as UTF-8 text; the oracle uses atob (Latin-1), giving "Ã©"' } },
    ok('hash_utf8_input', raw`States.Hash($.s, 'SHA-256')`, { s: 'é' }, hex('sha256', 'é')),
    ok('array_contains_null', raw`States.ArrayContains($.a, null)`, { a: [1, null] }, true),
    ok('array_partition_path_chunk', raw`States.ArrayPartition($.a, $.n)`, { a: [1, 2, 3], n: 1 }, [[1], [2], [3]]),
    ok('format_two_literals', "States.Format('{}{}', 'a', 'b')", {}, 'ab'),
);

const UNESCAPE = 'escapes in an intrinsic string literal are resolved (\\\' is a quote); the oracle keeps the backslash in literals and only strips it from string results';
module.exports.push(
    ok('format_escaped_quote_in_argument', raw`States.Format('{}', 'a\'b')`, {}, "a'b"),
    { ...ok('array_escaped_quote_literal', raw`States.Array('it\'s')`, {}),
      override: { status: 'SUCCEEDED', output: { r: ["it's"] }, reason: UNESCAPE } },
    { ...ok('string_split_drops_empty_tokens', raw`States.StringSplit('a b  c', ' ')`, {}),
      override: { status: 'SUCCEEDED', output: { r: ['a', 'b', 'c'] },
        reason: 'decision: the delimiter characters work like Java\'s StringTokenizer (each character splits, empty tokens are dropped), consistent with the AWS docs example of a multi-character delimiter; the oracle uses JavaScript split and keeps empty strings' } },
);

// Documented limits: Base64Encode/Decode and Hash take at most 10,000
// characters; ArrayRange makes at most 1,000 items.
const A10K = 'a'.repeat(10000);
module.exports.push(
    ok('base64_encode_at_limit', raw`States.ArrayLength(States.StringSplit(States.Base64Encode($.s), 'x'))`, { s: A10K }, 1),
    bad('base64_encode_over_limit', raw`States.Base64Encode($.s)`, { s: A10K + 'a' }),
    bad('base64_decode_over_limit', raw`States.Base64Decode($.s)`, { s: 'QUFB'.repeat(2501) }),
    bad('hash_over_limit', raw`States.Hash($.s, 'MD5')`, { s: A10K + 'a' }),
    ok('array_range_exactly_1000_items', raw`States.ArrayLength(States.ArrayRange(1, 1000, 1))`, {}, 1000),
    bad('array_partition_non_integer_chunk', raw`States.ArrayPartition($.a, $.n)`, { a: [1, 2], n: 1.5 }),
    { ...ok('array_get_item_non_integer_index', raw`States.ArrayGetItem($.a, $.n)`, { a: [1, 2], n: 1.5 }),
      override: { status: 'FAILED', error: 'States.IntrinsicFailure',
        reason: 'decision: an index must be an integer, otherwise the argument is invalid (States.IntrinsicFailure); the oracle returns null' } },
);
