// JSONPath beyond reference paths, where Step Functions accepts it (Parameters,
// InputPath, OutputPath): wildcards, slices, recursive descent and filters. An
// indefinite path always yields an array (Jayway JSONPath, as Step Functions).
'use strict';
const { intr, pass } = require('./_lib');

const items = [{ id: 1, price: 5, name: 'a' }, { id: 2, price: 15, name: 'b' }, { id: 3, price: 25, name: 'c' }];

module.exports = [
    { name: 'jsonpath_wildcard_field', definition: intr('$.items[*].id'), input: { items },
      expect: { status: 'SUCCEEDED', output: { r: [1, 2, 3] } } },
    { name: 'jsonpath_wildcard_single_match', definition: intr('$.items[*].id'), input: { items: [{ id: 9 }] },
      expect: { status: 'SUCCEEDED', output: { r: [9] } } },
    { name: 'jsonpath_slice', definition: intr('$.a[1:3]'), input: { a: [0, 1, 2, 3, 4] },
      expect: { status: 'SUCCEEDED', output: { r: [1, 2] } } },
    { name: 'jsonpath_slice_open_end', definition: intr('$.a[2:]'), input: { a: [0, 1, 2, 3] },
      expect: { status: 'SUCCEEDED', output: { r: [2, 3] } } },
    { name: 'jsonpath_index_union', definition: intr('$.a[0,2]'), input: { a: ['x', 'y', 'z'] },
      expect: { status: 'SUCCEEDED', output: { r: ['x', 'z'] } } },
    { name: 'jsonpath_recursive_descent', definition: intr('$..id'), input: { a: { id: 1, b: [{ id: 2 }, { c: { id: 3 } }] } },
      expect: { status: 'SUCCEEDED', output: { r: [1, 2, 3] } } },
    { name: 'jsonpath_filter_comparison', definition: intr('$.items[?(@.price > 10)].name'), input: { items },
      expect: { status: 'SUCCEEDED', output: { r: ['b', 'c'] } } },
    { name: 'jsonpath_filter_equality_string', definition: intr("$.items[?(@.name == 'b')].id"), input: { items },
      expect: { status: 'SUCCEEDED', output: { r: [2] } } },
    { name: 'jsonpath_wildcard_object_values', definition: intr('$.o.*'), input: { o: { a: 1, b: 2 } },
      expect: { status: 'SUCCEEDED', output: { r: [1, 2] } } },
    { name: 'jsonpath_inputpath_wildcard', definition: pass({ InputPath: '$.items[*].name' }), input: { items },
      expect: { status: 'SUCCEEDED', output: ['a', 'b', 'c'] } },
    { name: 'jsonpath_filter_no_match_is_empty_array', definition: intr('$.items[?(@.price > 100)].name'), input: { items },
      override: { status: 'SUCCEEDED', output: { r: [] },
        reason: 'an indefinite path that matches nothing yields [] (Jayway JSONPath, as Step Functions); the oracle treats it as a missing value and fails with States.Runtime' } },
];
