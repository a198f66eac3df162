"""Writes the seed corpus of fuzz_runtime (tests/fuzz/corpus-runtime/): every
definition and input of the differential cases (tests/asl/expected.json), the
order saga (sagas/order.asl.json), and fan-outs wide enough to cross the
history limit with more than 256 children ready at once; each with a header
of fault and scheduling choices (the layout is header_t in fuzz_runtime.c).

    python3 tests/fuzz/make_runtime_seeds.py"""
import hashlib
import json
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(HERE, "corpus-runtime")

FLAG_FILE, FLAG_REOPEN, FLAG_STOP, FLAG_NAMED, FLAG_ASYNC_PAY, FLAG_READ = 1, 2, 4, 8, 16, 32


def header(flags=0, fault_kind=0, fault_skip=0, fault_count=0, fault_turn=0, heal_turn=0,
           turns=60, history=0, starts=0, reopen_turn=0, stop_turn=0, pay_fail=0):
    return bytes([flags, fault_kind, fault_skip, fault_count, fault_turn, heal_turn, turns,
                  history, starts, reopen_turn, stop_turn, pay_fail])


def seed(hdr, definition, inp):
    return hdr + json.dumps(definition, separators=(",", ":")).encode() + b"\0" + \
        json.dumps(inp, separators=(",", ":")).encode()


def map_of(items_path, processor, **extra):
    s = {"Type": "Map", "ItemsPath": items_path,
         "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, **processor}}
    s.update(extra)
    return s


PASS_ONE = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
ECHO_ONE = {"StartAt": "E", "States": {"E": {"Type": "Task", "Resource": "sagad:echo", "End": True}}}

WIDE = [
    # A Map over many Pass items, crossing a small history limit.
    ({"StartAt": "M", "States": {"M": map_of("$.items", PASS_ONE, End=True)}},
     {"items": list(range(400))}),
    # The same over Tasks.
    ({"StartAt": "M", "States": {"M": map_of("$.items", ECHO_ONE, End=True)}},
     {"items": list(range(300))}),
    # Nested Maps.
    ({"StartAt": "M", "States": {"M": map_of("$.rows", {
        "StartAt": "Inner", "States": {"Inner": map_of("$", PASS_ONE, End=True)}}, End=True)}},
     {"rows": [list(range(30)) for _ in range(30)]}),
    # A Map whose items fail, one uncaught, while siblings are queued.
    ({"StartAt": "M", "States": {"M": map_of("$.items", {
        "StartAt": "C", "States": {
            "C": {"Type": "Choice", "Choices": [{"Variable": "$", "NumericEquals": 150, "Next": "F"}],
                  "Default": "P"},
            "F": {"Type": "Task", "Resource": "sagad:fail", "End": True},
            "P": {"Type": "Pass", "End": True}}}, End=True)}},
     {"items": list(range(300))}),
    # Parallel with a Map, a Retry and a publish.
    ({"StartAt": "Par", "States": {"Par": {"Type": "Parallel", "End": True, "Branches": [
        {"StartAt": "M", "States": {"M": map_of("$.items", ECHO_ONE, End=True)}},
        {"StartAt": "R", "States": {"R": {
            "Type": "Task", "Resource": "sagad:fail",
            "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 2}],
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Ok"}], "End": True},
            "Ok": {"Type": "Pass", "End": True}}},
        {"StartAt": "Pub", "States": {"Pub": {
            "Type": "Task", "Resource": "sagad:events.publish",
            "Parameters": {"detailType": "Fuzz", "detail.$": "$"}, "End": True}}},
    ]}}}, {"items": list(range(64))}),
    # A loop that runs long enough to yield between batches.
    ({"StartAt": "Init", "States": {
        "Init": {"Type": "Pass", "Parameters": {"n": 0}, "Next": "Inc"},
        "Inc": {"Type": "Pass", "Parameters": {"n.$": "States.MathAdd($.n, 1)"}, "Next": "Loop"},
        "Loop": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericLessThan": 3000,
                                                  "Next": "Inc"}], "Default": "Done"},
        "Done": {"Type": "Succeed"}}}, {}),
]

ORDER_INPUT = {"itemId": "coffee-beans", "quantity": 1, "firstname": "F", "surname": "S",
               "street": "St", "zip": "1", "city": "C"}


def main():
    rng = random.Random(12)
    seeds = []
    cases = json.load(open(os.path.join(ROOT, "tests", "asl", "expected.json")))["cases"]
    for i, c in enumerate(cases):
        flags = rng.choice([0, FLAG_READ, FLAG_FILE | FLAG_READ, FLAG_FILE | FLAG_REOPEN,
                            FLAG_NAMED | FLAG_READ, FLAG_STOP])
        hdr = header(flags=flags, fault_kind=rng.choice([0, 0, 1, 2, 3]), fault_skip=rng.randrange(4),
                     fault_count=rng.randrange(3), fault_turn=rng.randrange(10), heal_turn=rng.randrange(30),
                     turns=30, starts=rng.randrange(2), reopen_turn=rng.randrange(20),
                     stop_turn=rng.randrange(5))
        seeds.append(seed(hdr, c["definition"], c.get("input", {})))
    order = json.load(open(os.path.join(ROOT, "sagas", "order.asl.json")))
    for flags, pay_fail, kind in [(0, 0, 0), (FLAG_ASYNC_PAY, 128, 0), (FLAG_FILE | FLAG_ASYNC_PAY, 0, 1),
                                  (FLAG_FILE | FLAG_REOPEN | FLAG_ASYNC_PAY, 255, 2),
                                  (FLAG_FILE | FLAG_NAMED | FLAG_READ, 60, 3)]:
        seeds.append(seed(header(flags=flags, pay_fail=pay_fail, fault_kind=kind, fault_skip=2,
                                 fault_count=1, fault_turn=3, heal_turn=9, turns=40, starts=1,
                                 reopen_turn=6), order, ORDER_INPUT))
    for definition, inp in WIDE:
        for hdr in [header(turns=120, history=4), header(turns=120, history=40),
                    header(flags=FLAG_FILE | FLAG_READ, fault_kind=1, fault_skip=1, fault_turn=2,
                           heal_turn=5, turns=80),
                    header(flags=FLAG_FILE | FLAG_REOPEN, turns=80, history=20, reopen_turn=3),
                    header(flags=FLAG_STOP | FLAG_READ, turns=60, stop_turn=2, starts=3)]:
            seeds.append(seed(hdr, definition, inp))
    os.makedirs(OUT, exist_ok=True)
    for old in os.listdir(OUT):
        os.unlink(os.path.join(OUT, old))
    for s in seeds:
        with open(os.path.join(OUT, hashlib.sha1(s).hexdigest()), "wb") as f:
            f.write(s)
    print(f"{len(seeds)} seeds in {OUT}")


if __name__ == "__main__":
    main()
