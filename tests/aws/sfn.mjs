// Drives a real sagad through its Step Functions API with the AWS SDK for
// JavaScript v3 (@aws-sdk/client-sfn), as a program written for AWS would.
// tests/integration/test_aws_api.py starts the daemon and reads one
// "RESULT {json}" line per scenario, then "DONE {json}".
// usage: node sfn.mjs --endpoint http://127.0.0.1:PORT --region R --account A
import assert from "node:assert/strict";
import {
  SFNClient, CreateStateMachineCommand, DescribeStateMachineCommand, ListStateMachinesCommand,
  UpdateStateMachineCommand, ValidateStateMachineDefinitionCommand, StartExecutionCommand,
  StartSyncExecutionCommand, DescribeExecutionCommand, ListExecutionsCommand,
  GetExecutionHistoryCommand, StopExecutionCommand, DescribeStateMachineForExecutionCommand,
  PublishStateMachineVersionCommand, ListStateMachineVersionsCommand, CreateStateMachineAliasCommand,
  DescribeStateMachineAliasCommand, UpdateStateMachineAliasCommand, ListStateMachineAliasesCommand,
  DeleteStateMachineAliasCommand, DeleteStateMachineCommand, CreateActivityCommand, DescribeActivityCommand, ListActivitiesCommand, GetActivityTaskCommand,
  SendTaskSuccessCommand, SendTaskFailureCommand, SendTaskHeartbeatCommand,
} from "@aws-sdk/client-sfn";

const arg = (name) => process.argv[process.argv.indexOf("--" + name) + 1];
const endpoint = arg("endpoint"), region = arg("region"), account = arg("account");
// The SDK sends StartSyncExecution to sync-<host>; a local endpoint has no such name.
const sfn = new SFNClient({
  endpoint, region, disableHostPrefix: true, maxAttempts: 1,
  credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "not-a-secret" },
});
const send = (Cmd, input) => sfn.send(new Cmd(input));
const arnOf = (kind, ...rest) => ["arn:aws:states", region, account, kind, ...rest].join(":");
const def = (o) => JSON.stringify(o);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function rejects(promise) {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  throw new Error("expected an error, the call succeeded");
}

async function waitEnd(executionArn, ms = 15000) {
  const t0 = Date.now();
  for (;;) {
    const d = await send(DescribeExecutionCommand, { executionArn });
    if (d.status !== "RUNNING" || Date.now() - t0 > ms) return d;
    await sleep(50);
  }
}

const PASS = def({ StartAt: "P", States: { P: { Type: "Pass", Result: { ok: 1 }, ResultPath: "$.r", End: true } } });
const WAIT = def({ StartAt: "W", States: { W: { Type: "Wait", Seconds: 120, End: true } } });

const scenarios = {
  async create_describe() {
    const c = await send(CreateStateMachineCommand, { name: "sdk-pass", definition: PASS, roleArn: `arn:aws:iam::${account}:role/r` });
    assert.equal(c.stateMachineArn, arnOf("stateMachine", "sdk-pass"));
    assert.ok(c.creationDate instanceof Date && !isNaN(c.creationDate));
    const again = await send(CreateStateMachineCommand, { name: "sdk-pass", definition: PASS, roleArn: "r" });
    assert.equal(again.stateMachineArn, c.stateMachineArn);
    const other = await rejects(send(CreateStateMachineCommand, { name: "sdk-pass", definition: WAIT, roleArn: "r" }));
    const d = await send(DescribeStateMachineCommand, { stateMachineArn: c.stateMachineArn });
    assert.equal(d.definition, PASS);
    assert.equal(d.name, "sdk-pass");
    assert.equal(d.status, "ACTIVE");
    const l = await send(ListStateMachinesCommand, {});
    assert.ok(l.stateMachines.some((m) => m.stateMachineArn === c.stateMachineArn));
    const u = await send(UpdateStateMachineCommand, { stateMachineArn: c.stateMachineArn, definition: WAIT, publish: true });
    assert.ok(u.updateDate instanceof Date);
    assert.equal(u.stateMachineVersionArn, c.stateMachineArn + ":2");
    const v1 = await send(DescribeStateMachineCommand, { stateMachineArn: c.stateMachineArn + ":1" });
    assert.equal(v1.definition, PASS);
    return { arn: c.stateMachineArn, existsError: other.name, existsStatus: other.$metadata.httpStatusCode };
  },

  async start_named_twice() {
    const { stateMachineArn } = await send(CreateStateMachineCommand, { name: "sdk-wait", definition: WAIT, roleArn: "r" });
    const first = await send(StartExecutionCommand, { stateMachineArn, name: "order-1", input: '{"a":1}' });
    assert.equal(first.executionArn, arnOf("execution", "sdk-wait", "order-1"));
    assert.ok(first.startDate instanceof Date);
    const same = await send(StartExecutionCommand, { stateMachineArn, name: "order-1", input: '{"a": 1}' });
    assert.equal(same.executionArn, first.executionArn);
    const other = await rejects(send(StartExecutionCommand, { stateMachineArn, name: "order-1", input: '{"a":2}' }));
    const stop = await send(StopExecutionCommand, { executionArn: first.executionArn, error: "Ops.Cancelled", cause: "test" });
    assert.ok(stop.stopDate instanceof Date);
    const d = await send(DescribeExecutionCommand, { executionArn: first.executionArn });
    const closed = await rejects(send(StartExecutionCommand, { stateMachineArn, name: "order-1", input: '{"a":1}' }));
    return {
      sameArn: same.executionArn === first.executionArn, otherInput: other.name,
      otherStatus: other.$metadata.httpStatusCode, stoppedStatus: d.status, stoppedError: d.error,
      stoppedCause: d.cause, afterClose: closed.name,
    };
  },

  async describe_execution() {
    const stateMachineArn = arnOf("stateMachine", "sdk-pass");
    await send(UpdateStateMachineCommand, { stateMachineArn, definition: PASS });
    const { executionArn } = await send(StartExecutionCommand, { stateMachineArn, input: '{"x":"y"}' });
    const d = await waitEnd(executionArn);
    assert.ok(d.startDate instanceof Date && d.stopDate instanceof Date);
    assert.ok(d.stopDate >= d.startDate);
    assert.deepEqual(JSON.parse(d.input), { x: "y" });
    const f = await send(DescribeStateMachineForExecutionCommand, { executionArn });
    assert.equal(f.definition, PASS);
    return { status: d.status, output: JSON.parse(d.output), stateMachineArn: d.stateMachineArn };
  },

  async list_paging() {
    const { stateMachineArn } = await send(CreateStateMachineCommand, { name: "sdk-pager", definition: PASS, roleArn: "r" });
    const started = [];
    for (let i = 0; i < 5; i++)
      started.push((await send(StartExecutionCommand, { stateMachineArn, name: `p${i}` })).executionArn);
    for (const a of started) await waitEnd(a);
    const seen = [];
    let nextToken, pages = 0;
    do {
      const page = await send(ListExecutionsCommand, { stateMachineArn, maxResults: 2, nextToken });
      assert.ok(page.executions.length <= 2);
      for (const e of page.executions) {
        assert.ok(e.startDate instanceof Date);
        seen.push(e.executionArn);
      }
      nextToken = page.nextToken;
      pages++;
    } while (nextToken);
    const succeeded = await send(ListExecutionsCommand, { stateMachineArn, statusFilter: "SUCCEEDED" });
    const running = await send(ListExecutionsCommand, { stateMachineArn, statusFilter: "RUNNING" });
    return {
      pages, count: seen.length, unique: new Set(seen).size,
      allListed: started.every((a) => seen.includes(a)),
      succeeded: succeeded.executions.length, running: running.executions.length,
    };
  },

  async history() {
    const stateMachineArn = arnOf("stateMachine", "sdk-pager");
    const executionArn = arnOf("execution", "sdk-pager", "p0");
    const all = await send(GetExecutionHistoryCommand, { executionArn });
    const types = all.events.map((e) => e.type);
    assert.ok(all.events.every((e) => e.timestamp instanceof Date));
    const paged = [];
    let nextToken;
    do {
      const page = await send(GetExecutionHistoryCommand, { executionArn, maxResults: 2, nextToken });
      paged.push(...page.events.map((e) => e.id));
      nextToken = page.nextToken;
    } while (nextToken);
    const rev = await send(GetExecutionHistoryCommand, { executionArn, reverseOrder: true });
    const noData = await send(GetExecutionHistoryCommand, { executionArn, includeExecutionData: false });
    const started = all.events[0].executionStartedEventDetails;
    return {
      stateMachineArn, types, pagedIds: paged, ids: all.events.map((e) => e.id),
      reversedTypes: rev.events.map((e) => e.type),
      startedInput: started && started.input,
      noDataInput: noData.events[0].executionStartedEventDetails.input ?? null,
      exitedOutput: all.events.find((e) => e.type === "PassStateExited").stateExitedEventDetails.output,
    };
  },

  async sync_execution() {
    const stateMachineArn = arnOf("stateMachine", "sdk-pass");
    const r = await send(StartSyncExecutionCommand, { stateMachineArn, input: '{"n":5}' });
    assert.ok(r.startDate instanceof Date && r.stopDate instanceof Date);
    return { status: r.status, output: JSON.parse(r.output), executionArn: r.executionArn };
  },

  async activity_worker() {
    const act = await send(CreateActivityCommand, { name: "sdk-charge" });
    assert.equal(act.activityArn, arnOf("activity", "sdk-charge"));
    const da = await send(DescribeActivityCommand, { activityArn: act.activityArn });
    assert.ok(da.creationDate instanceof Date);
    const la = await send(ListActivitiesCommand, {});
    assert.ok(la.activities.some((a) => a.activityArn === act.activityArn));
    const definition = def({
      StartAt: "Charge",
      States: { Charge: { Type: "Task", Resource: act.activityArn, HeartbeatSeconds: 30, End: true } },
    });
    const { stateMachineArn } = await send(CreateStateMachineCommand, { name: "sdk-worker", definition, roleArn: "r" });
    const { executionArn } = await send(StartExecutionCommand, { stateMachineArn, input: '{"amount":42}' });
    // The worker loop of an AWS activity worker: poll, do the work, report.
    let handled = 0;
    while (handled < 1) {
      const task = await send(GetActivityTaskCommand, { activityArn: act.activityArn, workerName: "w1" });
      if (!task.taskToken) continue;
      const input = JSON.parse(task.input);
      await send(SendTaskHeartbeatCommand, { taskToken: task.taskToken });
      await send(SendTaskSuccessCommand, { taskToken: task.taskToken, output: JSON.stringify({ charged: input.amount }) });
      handled++;
    }
    const d = await waitEnd(executionArn);
    const history = await send(GetExecutionHistoryCommand, { executionArn });
    const scheduled = history.events.find((e) => e.type === "ActivityScheduled");
    const succeeded = history.events.find((e) => e.type === "ActivitySucceeded");
    return {
      status: d.status, output: JSON.parse(d.output), types: history.events.map((e) => e.type),
      scheduled: scheduled && scheduled.activityScheduledEventDetails,
      succeededOutput: succeeded && succeeded.activitySucceededEventDetails.output,
    };
  },

  async failure_caught() {
    const activityArn = arnOf("activity", "sdk-charge");
    const definition = def({
      StartAt: "Charge",
      States: {
        Charge: {
          Type: "Task", Resource: "arn:aws:states:::activity:sdk-charge", End: true,
          Catch: [{ ErrorEquals: ["Payment.Declined"], ResultPath: "$.error", Next: "Refund" }],
        },
        Refund: { Type: "Pass", Result: "refunded", ResultPath: "$.compensation", End: true },
      },
    });
    const { stateMachineArn } = await send(CreateStateMachineCommand, { name: "sdk-catch", definition, roleArn: "r" });
    const { executionArn } = await send(StartExecutionCommand, { stateMachineArn, input: '{"amount":7}' });
    let task;
    do task = await send(GetActivityTaskCommand, { activityArn, workerName: "w2" }); while (!task.taskToken);
    await send(SendTaskFailureCommand, { taskToken: task.taskToken, error: "Payment.Declined", cause: "card expired" });
    const again = await rejects(send(SendTaskSuccessCommand, { taskToken: task.taskToken, output: "{}" }));
    const bad = await rejects(send(SendTaskSuccessCommand, { taskToken: "nonsense", output: "{}" }));
    const d = await waitEnd(executionArn);
    return { status: d.status, output: JSON.parse(d.output), reportAgain: again.name, badToken: bad.name };
  },

  async versions_aliases() {
    const { stateMachineArn } = await send(CreateStateMachineCommand, { name: "sdk-ver", definition: PASS, roleArn: "r" });
    await send(UpdateStateMachineCommand, { stateMachineArn, definition: WAIT });
    const pub = await send(PublishStateMachineVersionCommand, { stateMachineArn });
    assert.equal(pub.stateMachineVersionArn, stateMachineArn + ":2");
    const versions = await send(ListStateMachineVersionsCommand, { stateMachineArn });
    const alias = await send(CreateStateMachineAliasCommand, {
      name: "live", routingConfiguration: [{ stateMachineVersionArn: stateMachineArn + ":1", weight: 100 }] });
    assert.equal(alias.stateMachineAliasArn, stateMachineArn + ":live");
    const viaAlias = await send(StartExecutionCommand, { stateMachineArn: alias.stateMachineAliasArn, input: "{}" });
    const ran = await waitEnd(viaAlias.executionArn);
    await send(UpdateStateMachineAliasCommand, {
      stateMachineAliasArn: alias.stateMachineAliasArn,
      routingConfiguration: [{ stateMachineVersionArn: stateMachineArn + ":2", weight: 100 }] });
    const described = await send(DescribeStateMachineAliasCommand, { stateMachineAliasArn: alias.stateMachineAliasArn });
    const listed = await send(ListStateMachineAliasesCommand, { stateMachineArn });
    const split = await rejects(send(CreateStateMachineAliasCommand, { name: "canary", routingConfiguration: [
      { stateMachineVersionArn: stateMachineArn + ":1", weight: 90 }, { stateMachineVersionArn: stateMachineArn + ":2", weight: 10 }] }));
    await send(DeleteStateMachineAliasCommand, { stateMachineAliasArn: alias.stateMachineAliasArn });
    const gone = await rejects(send(DescribeStateMachineAliasCommand, { stateMachineAliasArn: alias.stateMachineAliasArn }));
    await send(DeleteStateMachineCommand, { stateMachineArn });
    const deleted = await rejects(send(DescribeStateMachineCommand, { stateMachineArn }));
    const stillDescribed = await send(DescribeExecutionCommand, { executionArn: viaAlias.executionArn });
    return {
      versions: versions.stateMachineVersions.map((v) => v.stateMachineVersionArn.split(":").pop()),
      aliasRunStatus: ran.status, aliasNow: described.routingConfiguration[0].stateMachineVersionArn.split(":").pop(),
      aliases: listed.stateMachineAliases.length, split: split.name, gone: gone.name,
      deleted: deleted.name, stillDescribed: stillDescribed.status,
      startedAlias: stillDescribed.stateMachineAliasArn, startedVersion: stillDescribed.stateMachineVersionArn,
    };
  },

  async errors() {
    const missingExec = await rejects(send(DescribeExecutionCommand, { executionArn: arnOf("execution", "sdk-pass", "nope") }));
    const missingMachine = await rejects(send(StartExecutionCommand, { stateMachineArn: arnOf("stateMachine", "nope") }));
    const badArn = await rejects(send(DescribeStateMachineCommand, { stateMachineArn: "not-an-arn" }));
    const badInput = await rejects(send(StartExecutionCommand, { stateMachineArn: arnOf("stateMachine", "sdk-pass"), input: "{nope" }));
    const badName = await rejects(send(StartExecutionCommand, { stateMachineArn: arnOf("stateMachine", "sdk-pass"), name: "a b" }));
    const lambda = await rejects(send(CreateStateMachineCommand, {
      name: "sdk-lambda", roleArn: "r",
      definition: def({ StartAt: "L", States: {
        L: { Type: "Task", Resource: "arn:aws:states:::lambda:invoke", Next: "Q" },
        Q: { Type: "Task", Resource: "arn:aws:states:::sqs:sendMessage.waitForTaskToken", End: true } } }),
    }));
    const v = await send(ValidateStateMachineDefinitionCommand, { definition: def({ StartAt: "X", States: {} }) });
    const vok = await send(ValidateStateMachineDefinitionCommand, { definition: PASS });
    const out = {};
    for (const [k, e] of Object.entries({ missingExec, missingMachine, badArn, badInput, badName, lambda }))
      out[k] = { name: e.name, status: e.$metadata.httpStatusCode, message: e.message };
    out.validate = { result: v.result, diagnostics: v.diagnostics.length, ok: vok.result };
    return out;
  },
};

const t0 = Date.now();
const only = process.argv.includes("--only") ? arg("only").split(",") : null;
for (const [name, fn] of Object.entries(scenarios)) {
  if (only && !only.includes(name)) continue;
  const res = { name, ok: false };
  try {
    res.facts = await fn();
    res.ok = true;
  } catch (e) {
    res.error = `${e.name}: ${e.message}\n${e.stack}`;
  }
  console.log("RESULT " + JSON.stringify(res));
}
console.log("DONE " + JSON.stringify({ ms: Date.now() - t0 }));
