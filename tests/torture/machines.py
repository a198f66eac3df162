"""The state machines the kill -9 torture drives besides the order saga: each
exercises one kind of durable wait or fan-out (Wait, Parallel, Map, Retry,
Catch, sagad:fail, events.publish), and each has one end it must reach
whatever the kills did."""
PUB = "sagad:events.publish"


def publish(detail_type, nxt=None, detail_path="$"):
    s = {"Type": "Task", "Resource": PUB,
         "Parameters": {"detailType": detail_type, "detail.$": detail_path},
         "ResultPath": None}
    s.update({"Next": nxt} if nxt else {"End": True})
    return s


def fail_task(error, **extra):
    s = {"Type": "Task", "Resource": "sagad:fail",
         "Parameters": {"error": error, "cause": "torture"}}
    s.update(extra)
    return s


RETRY_ONCE = [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 1,
               "BackoffRate": 1.0}]

MACHINES = {
    # A durable timer between two steps.
    "t-wait": {
        "StartAt": "Mark",
        "States": {
            "Mark": {"Type": "Pass", "Result": {"slept": True}, "ResultPath": "$.p", "Next": "Nap"},
            "Nap": {"Type": "Wait", "Seconds": 1, "Next": "Echo"},
            "Echo": {"Type": "Task", "Resource": "sagad:echo", "Next": "Announce"},
            "Announce": publish("Waited", detail_path="$.p"),
        },
    },
    # Three branches: a timer, a retried failure that is caught, an event;
    # then the input decides the end.
    "t-parallel": {
        "StartAt": "Fan",
        "States": {
            "Fan": {
                "Type": "Parallel",
                "ResultPath": "$.branches",
                "Next": "Decide",
                "Branches": [
                    {"StartAt": "Nap", "States": {
                        "Nap": {"Type": "Wait", "Seconds": 1, "Next": "Echo"},
                        "Echo": {"Type": "Task", "Resource": "sagad:echo", "End": True}}},
                    {"StartAt": "Flaky", "States": {
                        "Flaky": fail_task("Flaky", Retry=RETRY_ONCE,
                                           Catch=[{"ErrorEquals": ["States.ALL"],
                                                   "ResultPath": "$.caught", "Next": "Caught"}],
                                           End=True),
                        "Caught": {"Type": "Pass", "End": True}}},
                    {"StartAt": "Tell", "States": {"Tell": publish("Branch")}},
                ],
            },
            "Decide": {"Type": "Choice",
                       "Choices": [{"Variable": "$.mode", "StringEquals": "fail", "Next": "Bad"}],
                       "Default": "Good"},
            "Bad": {"Type": "Fail", "Error": "ParallelSaidNo", "Cause": "input mode fail"},
            "Good": {"Type": "Succeed"},
        },
    },
    # A fan-out whose items fail (caught) or publish as they say.
    "t-map": {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ResultPath": "$.results",
                "Next": "Done",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "Which",
                    "States": {
                        "Which": {"Type": "Choice", "Choices": [
                            {"Variable": "$.bad", "BooleanEquals": True, "Next": "Break"},
                            {"Variable": "$.pub", "BooleanEquals": True, "Next": "Tell"}],
                            "Default": "Echo"},
                        "Break": fail_task("ItemBad", Catch=[{"ErrorEquals": ["ItemBad"],
                                                              "ResultPath": "$.caught",
                                                              "Next": "Handled"}], End=True),
                        "Handled": {"Type": "Pass", "End": True},
                        "Tell": publish("Item"),
                        "Echo": {"Type": "Task", "Resource": "sagad:echo", "End": True},
                    },
                },
            },
            "Done": publish("MapDone", detail_path="$.n"),
        },
    },
    # A wide fan-out (more than 256 children ready at once) with one item that
    # fails uncaught: the Map, and the execution, fail while siblings are queued.
    "t-bigmap": {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "End": True,
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "Which",
                    "States": {
                        "Which": {"Type": "Choice", "Choices": [
                            {"Variable": "$.bad", "BooleanEquals": True, "Next": "Break"}],
                            "Default": "Keep"},
                        "Break": fail_task("BigMapItem", End=True),
                        "Keep": {"Type": "Pass", "End": True},
                    },
                },
            },
        },
    },
    # Nested fan-outs: hundreds of children ready at once, one level down.
    "t-nested": {
        "StartAt": "Rows",
        "States": {
            "Rows": {
                "Type": "Map", "ItemsPath": "$.rows", "End": True,
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "Cells",
                    "States": {"Cells": {
                        "Type": "Map", "ItemsPath": "$", "End": True,
                        "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "Keep",
                                          "States": {"Keep": {"Type": "Pass", "End": True}}}}},
                },
            },
        },
    },
    # Retries with back-off, then compensation and a Fail with its own error.
    "t-retry": {
        "StartAt": "Try",
        "States": {
            "Try": fail_task("Transient", Retry=[{"ErrorEquals": ["Transient"], "IntervalSeconds": 1,
                                                 "MaxAttempts": 2, "BackoffRate": 1.0}],
                             Catch=[{"ErrorEquals": ["States.ALL"], "ResultPath": "$.err",
                                     "Next": "Compensate"}], End=True),
            "Compensate": publish("RetryExhausted", nxt="GiveUp", detail_path="$.err"),
            "GiveUp": {"Type": "Fail", "Error": "Exhausted", "Cause": "retries exhausted"},
        },
    },
    # sagad:fail uncaught.
    "t-fail": {
        "StartAt": "Boom",
        "States": {"Boom": fail_task("Direct", End=True)},
    },
}


def make_input(name, rng):
    """An input for machine `name` and the (status, error) its execution must end with."""
    if name == "t-wait":
        return {"k": rng.randrange(1000)}, ("SUCCEEDED", None)
    if name == "t-parallel":
        mode = rng.choice(["ok", "ok", "fail"])
        return {"mode": mode}, (("FAILED", "ParallelSaidNo") if mode == "fail" else ("SUCCEEDED", None))
    if name == "t-map":
        n = rng.randint(0, 40)
        items = [{"i": i, "bad": rng.random() < 0.1, "pub": rng.random() < 0.2} for i in range(n)]
        return {"items": items, "n": {"count": n}}, ("SUCCEEDED", None)
    if name == "t-bigmap":
        n = rng.randint(257, 400)
        bad = rng.randrange(n)
        items = [{"i": i, "bad": i == bad} for i in range(n)]
        return {"items": items}, ("FAILED", "BigMapItem")
    if name == "t-nested":
        return {"rows": [list(range(30)) for _ in range(rng.randint(10, 30))]}, ("SUCCEEDED", None)
    if name == "t-retry":
        return {}, ("FAILED", "Exhausted")
    if name == "t-fail":
        return {}, ("FAILED", "Direct")
    raise KeyError(name)


# How often each kind of start is chosen (the order saga as "order").
WEIGHTS = {"order": 40, "t-wait": 12, "t-parallel": 12, "t-map": 12, "t-bigmap": 2, "t-nested": 2,
           "t-retry": 10, "t-fail": 6}


def pick(rng):
    r = rng.uniform(0, sum(WEIGHTS.values()))
    for name, w in WEIGHTS.items():
        r -= w
        if r <= 0:
            return name
    return "order"


__all__ = ["MACHINES", "make_input", "pick"]
