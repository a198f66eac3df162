// Choice rules: every comparison operator and its ...Path variant, StringMatches,
// the Is* type tests, And/Or/Not, Default and States.NoChoiceMatched.
'use strict';
const { choice } = require('./_lib');

// One rule on $.v; `hit` says whether it should match (cross-checked against the oracle).
function one(name, rule, input, hit, extra) {
    return {
        name,
        definition: choice([{ Variable: '$.v', ...rule }]),
        input,
        expect: { status: 'SUCCEEDED', output: { matched: hit ? 0 : 'default' } },
        ...(extra || {}),
    };
}

const ISFALSE = 'an Is* test with false matches when the value is NOT of that kind (ASL spec); the oracle ANDs the operand with the test, so every "Is*: false" rule is false';

module.exports = [
    // Strings
    one('string_equals_match', { StringEquals: 'abc' }, { v: 'abc' }, true),
    one('string_equals_no_match', { StringEquals: 'abc' }, { v: 'abd' }, false),
    one('string_equals_number_is_false', { StringEquals: '1' }, { v: 1 }, false),
    one('string_less_than', { StringLessThan: 'b' }, { v: 'abc' }, true),
    one('string_less_than_equal_strings', { StringLessThan: 'abc' }, { v: 'abc' }, false),
    one('string_greater_than', { StringGreaterThan: 'B' }, { v: 'a' }, true),
    one('string_less_than_equals', { StringLessThanEquals: 'abc' }, { v: 'abc' }, true),
    one('string_greater_than_equals', { StringGreaterThanEquals: 'abd' }, { v: 'abc' }, false),
    one('string_equals_path', { StringEqualsPath: '$.w' }, { v: 'x', w: 'x' }, true),
    one('string_less_than_path', { StringLessThanPath: '$.w' }, { v: 'a', w: 'b' }, true),
    one('string_greater_than_path', { StringGreaterThanPath: '$.w' }, { v: 'a', w: 'b' }, false),
    one('string_less_than_equals_path', { StringLessThanEqualsPath: '$.w' }, { v: 'b', w: 'b' }, true),
    one('string_greater_than_equals_path', { StringGreaterThanEqualsPath: '$.w' }, { v: 'c', w: 'b' }, true),
    one('string_equals_unicode', { StringEquals: 'héllo ✓' }, { v: 'héllo ✓' }, true),
    // Strings order by UTF-16 code units, as Java's String.compareTo (Step Functions)
    // and JavaScript do: U+1F600 (surrogates D83D DE00) sorts before U+FF61.
    one('string_less_than_utf16_order', { StringLessThan: '\uFF61' }, { v: '\u{1F600}' }, true),
    one('string_less_than_bmp_order', { StringLessThan: '\u00E9' }, { v: 'z' }, true),

    // StringMatches
    one('string_matches_star_suffix', { StringMatches: 'log-*.txt' }, { v: 'log-2024-01.txt' }, true),
    one('string_matches_star_no_match', { StringMatches: 'log-*.txt' }, { v: 'log-2024-01.csv' }, false),
    one('string_matches_star_empty', { StringMatches: 'a*b' }, { v: 'ab' }, true),
    one('string_matches_only_star', { StringMatches: '*' }, { v: '' }, true),
    one('string_matches_multiple_stars', { StringMatches: '*.*.*' }, { v: 'a.b.c' }, true),
    one('string_matches_escaped_star_literal', { StringMatches: 'a\\*c' }, { v: 'a*c' }, true),
    one('string_matches_escaped_star_not_wildcard', { StringMatches: 'a\\*c' }, { v: 'abc' }, false),
    one('string_matches_question_mark_literal', { StringMatches: 'a?c' }, { v: 'abc' }, false, {
        override: { status: 'SUCCEEDED', output: { matched: 'default' },
          reason: 'only * is a wildcard in StringMatches (ASL spec); the oracle\'s glob library treats ? as a one-character wildcard' },
        expect: undefined }),
    one('string_matches_question_mark_itself', { StringMatches: 'a?c' }, { v: 'a?c' }, true),
    one('string_matches_exact_no_wildcard', { StringMatches: 'exact' }, { v: 'exact' }, true),

    // Numbers
    one('numeric_equals_int_float', { NumericEquals: 1 }, { v: 1.0 }, true),
    one('numeric_equals_no_match', { NumericEquals: 1 }, { v: 1.5 }, false),
    one('numeric_equals_string_is_false', { NumericEquals: 1 }, { v: '1' }, false),
    one('numeric_less_than', { NumericLessThan: 0 }, { v: -0.5 }, true),
    one('numeric_greater_than', { NumericGreaterThan: 100 }, { v: 100 }, false),
    one('numeric_less_than_equals', { NumericLessThanEquals: 100 }, { v: 100 }, true),
    one('numeric_greater_than_equals', { NumericGreaterThanEquals: 2.5 }, { v: 3 }, true),
    one('numeric_equals_path', { NumericEqualsPath: '$.w' }, { v: 7, w: 7 }, true),
    one('numeric_less_than_path', { NumericLessThanPath: '$.w' }, { v: 7, w: 7 }, false),
    one('numeric_greater_than_path', { NumericGreaterThanPath: '$.w' }, { v: 8, w: 7 }, true),
    one('numeric_less_than_equals_path', { NumericLessThanEqualsPath: '$.w' }, { v: -1, w: 0 }, true),
    one('numeric_greater_than_equals_path', { NumericGreaterThanEqualsPath: '$.w' }, { v: 1e3, w: 999.5 }, true),
    one('numeric_large_values', { NumericGreaterThan: 9007199254740990 }, { v: 9007199254740991 }, true),

    // Booleans
    one('boolean_equals_true', { BooleanEquals: true }, { v: true }, true),
    one('boolean_equals_false', { BooleanEquals: false }, { v: true }, false),
    one('boolean_equals_path', { BooleanEqualsPath: '$.w' }, { v: false, w: false }, true),
    one('boolean_equals_string_is_false', { BooleanEquals: true }, { v: 'true' }, false),

    // Timestamps (RFC 3339; compared as instants)
    one('timestamp_equals_other_offset', { TimestampEquals: '2024-03-01T12:00:00Z' }, { v: '2024-03-01T13:00:00+01:00' }, true),
    one('timestamp_equals_no_match', { TimestampEquals: '2024-03-01T12:00:00Z' }, { v: '2024-03-01T12:00:01Z' }, false),
    one('timestamp_less_than', { TimestampLessThan: '2024-03-01T12:00:00Z' }, { v: '2024-02-29T23:59:59Z' }, true),
    one('timestamp_greater_than_fraction', { TimestampGreaterThan: '2024-03-01T12:00:00Z' }, { v: '2024-03-01T12:00:00.5Z' }, true),
    one('timestamp_less_than_equals', { TimestampLessThanEquals: '2024-03-01T12:00:00Z' }, { v: '2024-03-01T12:00:00Z' }, true),
    one('timestamp_greater_than_equals', { TimestampGreaterThanEquals: '2024-03-01T12:00:00Z' }, { v: '2024-03-01T11:00:00Z' }, false),
    one('timestamp_equals_path', { TimestampEqualsPath: '$.w' }, { v: '2020-01-01T00:00:00Z', w: '2019-12-31T19:00:00-05:00' }, true),
    one('timestamp_less_than_path', { TimestampLessThanPath: '$.w' }, { v: '2020-01-01T00:00:00Z', w: '2020-01-01T00:00:00.001Z' }, true),
    one('timestamp_greater_than_path', { TimestampGreaterThanPath: '$.w' }, { v: '2021-01-01T00:00:00Z', w: '2020-01-01T00:00:00Z' }, true),
    one('timestamp_less_than_equals_path', { TimestampLessThanEqualsPath: '$.w' }, { v: '2021-01-01T00:00:00Z', w: '2020-01-01T00:00:00Z' }, false),
    one('timestamp_greater_than_equals_path', { TimestampGreaterThanEqualsPath: '$.w' }, { v: '2020-06-01T00:00:00Z', w: '2020-06-01T00:00:00Z' }, true),

    // Operands of the wrong type: the rule is false (no coercion)
    { ...one('numeric_less_than_on_numeric_string', { NumericLessThan: 10 }, { v: '5' }, false), expect: undefined,
      override: { status: 'SUCCEEDED', output: { matched: 'default' },
        reason: 'a numeric comparison on a non-number is false (ASL spec: comparisons of mismatched types are false); the oracle coerces "5" to 5 like JavaScript' } },
    { ...one('string_less_than_on_number', { StringLessThan: '10' }, { v: 5 }, false), expect: undefined,
      override: { status: 'SUCCEEDED', output: { matched: 'default' },
        reason: 'a string comparison on a non-string is false (ASL spec: comparisons of mismatched types are false); the oracle compares 5 < "10" with JavaScript coercion' } },
    one('timestamp_equals_on_non_timestamp_string', { TimestampEquals: '2024-03-01T12:00:00Z' }, { v: 'soon' }, false),
    one('string_matches_escaped_backslash', { StringMatches: 'a\\\\*' }, { v: 'a\\bc' }, true),

    // Type tests
    one('is_null_true', { IsNull: true }, { v: null }, true),
    one('is_null_on_value', { IsNull: true }, { v: 0 }, false),
    one('is_present_true', { IsPresent: true }, { v: 0 }, true),
    { name: 'is_present_missing', definition: choice([{ Variable: '$.nope', IsPresent: true }]), input: { v: 1 },
      expect: { status: 'SUCCEEDED', output: { matched: 'default' } } },
    { name: 'is_present_false_on_missing', definition: choice([{ Variable: '$.nope', IsPresent: false }]), input: { v: 1 },
      override: { status: 'SUCCEEDED', output: { matched: 0 }, reason: ISFALSE } },
    one('is_null_false_on_number', { IsNull: false }, { v: 1 }, true, {
        override: { status: 'SUCCEEDED', output: { matched: 0 }, reason: ISFALSE }, expect: undefined }),
    one('is_numeric_false_on_string', { IsNumeric: false }, { v: 'x' }, true, {
        override: { status: 'SUCCEEDED', output: { matched: 0 }, reason: ISFALSE }, expect: undefined }),
    one('is_numeric_true', { IsNumeric: true }, { v: -3.5 }, true),
    one('is_numeric_on_numeric_string', { IsNumeric: true }, { v: '12' }, false),
    one('is_string_true', { IsString: true }, { v: '' }, true),
    one('is_string_on_null', { IsString: true }, { v: null }, false),
    one('is_boolean_true', { IsBoolean: true }, { v: false }, true),
    one('is_boolean_on_number', { IsBoolean: true }, { v: 0 }, false),
    one('is_timestamp_true', { IsTimestamp: true }, { v: '2016-03-14T01:59:00Z' }, true),
    one('is_timestamp_offset', { IsTimestamp: true }, { v: '2016-03-14T01:59:00.123+05:30' }, true),
    one('is_timestamp_date_only', { IsTimestamp: true }, { v: '2016-03-14' }, false),
    one('is_timestamp_on_number', { IsTimestamp: true }, { v: 1457920740 }, false),
    one('is_timestamp_without_zone', { IsTimestamp: true }, { v: '2016-03-14T01:59:00' }, false),
    one('is_timestamp_offset_without_colon', { IsTimestamp: true }, { v: '2016-03-14T01:59:00+0530' }, false),
    one('is_timestamp_bad_month', { IsTimestamp: true }, { v: '2016-13-14T01:59:00Z' }, false),

    // Boolean combinators, Default, order
    { name: 'and_all_true',
      definition: choice([{ And: [{ Variable: '$.a', NumericGreaterThan: 1 }, { Variable: '$.b', StringEquals: 'x' }] }]),
      input: { a: 2, b: 'x' }, expect: { status: 'SUCCEEDED', output: { matched: 0 } } },
    { name: 'and_one_false',
      definition: choice([{ And: [{ Variable: '$.a', NumericGreaterThan: 1 }, { Variable: '$.b', StringEquals: 'x' }] }]),
      input: { a: 2, b: 'y' }, expect: { status: 'SUCCEEDED', output: { matched: 'default' } } },
    { name: 'or_one_true',
      definition: choice([{ Or: [{ Variable: '$.a', NumericEquals: 0 }, { Variable: '$.b', BooleanEquals: true }] }]),
      input: { a: 5, b: true }, expect: { status: 'SUCCEEDED', output: { matched: 0 } } },
    { name: 'or_none_true',
      definition: choice([{ Or: [{ Variable: '$.a', NumericEquals: 0 }, { Variable: '$.b', BooleanEquals: true }] }]),
      input: { a: 5, b: false }, expect: { status: 'SUCCEEDED', output: { matched: 'default' } } },
    { name: 'not_negates',
      definition: choice([{ Not: { Variable: '$.type', StringEquals: 'Private' } }]),
      input: { type: 'Public' }, expect: { status: 'SUCCEEDED', output: { matched: 0 } } },
    { name: 'not_guards_missing_field',
      definition: choice([{ Not: { Variable: '$.x', IsPresent: true } }]),
      input: { y: 1 }, expect: { status: 'SUCCEEDED', output: { matched: 0 } } },
    { name: 'nested_and_or_not',
      definition: choice([{ And: [
          { Or: [{ Variable: '$.n', NumericLessThan: 0 }, { Variable: '$.n', NumericGreaterThan: 10 }] },
          { Not: { Variable: '$.s', StringMatches: 'skip*' } }] }]),
      input: { n: 11, s: 'keep' }, expect: { status: 'SUCCEEDED', output: { matched: 0 } } },
    { name: 'and_short_circuits_missing',
      definition: choice([{ And: [{ Variable: '$.x', IsPresent: true }, { Variable: '$.x', NumericEquals: 1 }] }]),
      input: { y: 1 }, expect: { status: 'SUCCEEDED', output: { matched: 'default' } } },
    { name: 'first_matching_rule_wins',
      definition: choice([{ Variable: '$.n', NumericGreaterThan: 1 }, { Variable: '$.n', NumericGreaterThan: 0 }]),
      input: { n: 5 }, expect: { status: 'SUCCEEDED', output: { matched: 0 } } },
    { name: 'second_rule_matches',
      definition: choice([{ Variable: '$.n', NumericGreaterThan: 10 }, { Variable: '$.n', NumericGreaterThan: 0 }]),
      input: { n: 5 }, expect: { status: 'SUCCEEDED', output: { matched: 1 } } },
    { name: 'no_choice_matched',
      definition: choice([{ Variable: '$.n', NumericEquals: 1 }], { noDefault: true }), input: { n: 2 },
      expect: { status: 'FAILED', error: 'States.NoChoiceMatched' } },
    { name: 'choice_missing_variable_is_runtime_error',
      definition: choice([{ Variable: '$.nope', StringEquals: 'x' }]), input: { n: 2 },
      expect: { status: 'FAILED', error: 'States.Runtime' } },
    { name: 'choice_passes_input_through',
      definition: { StartAt: 'C', States: {
          C: { Type: 'Choice', Choices: [{ Variable: '$.n', NumericEquals: 1, Next: 'E' }] },
          E: { Type: 'Succeed' } } },
      input: { n: 1, keep: [1] }, expect: { status: 'SUCCEEDED', output: { n: 1, keep: [1] } } },
    { name: 'choice_inputpath_outputpath',
      definition: { StartAt: 'C', States: {
          C: { Type: 'Choice', InputPath: '$.in', OutputPath: '$.o',
               Choices: [{ Variable: '$.n', NumericEquals: 1, Next: 'E' }] },
          E: { Type: 'Succeed' } } },
      input: { in: { n: 1, o: 'out' } }, expect: { status: 'SUCCEEDED', output: 'out' } },
    { name: 'choice_loop_counter',
      definition: { StartAt: 'Init', States: {
          Init: { Type: 'Pass', Result: 0, ResultPath: '$.i', Next: 'Check' },
          Check: { Type: 'Choice', Choices: [{ Variable: '$.i', NumericGreaterThanEquals: 3, Next: 'Done' }], Default: 'Inc' },
          Inc: { Type: 'Pass', Parameters: { 'i.$': 'States.MathAdd($.i, 1)' }, Next: 'Check' },
          Done: { Type: 'Succeed' } } },
      input: {},
      override: { status: 'SUCCEEDED', output: { i: 3 },
        reason: 'Pass "Result": 0 must set $.i to 0 (the oracle skips a falsy Result, so the loop then fails on the missing $.i)' } },
    { name: 'choice_loop_counter_from_input',
      definition: { StartAt: 'Check', States: {
          Check: { Type: 'Choice', Choices: [{ Variable: '$.i', NumericGreaterThanEquals: 3, Next: 'Done' }], Default: 'Inc' },
          Inc: { Type: 'Pass', Parameters: { 'i.$': 'States.MathAdd($.i, 1)' }, Next: 'Check' },
          Done: { Type: 'Succeed' } } },
      input: { i: 1 }, expect: { status: 'SUCCEEDED', output: { i: 3 } } },
];
