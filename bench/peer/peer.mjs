// The peer of `make bench`: the same order saga (ASL file) run N times in
// memory by the npm package aws-local-stepfunctions, every Task answered by a
// trivial JavaScript handler returning what bench/engine.c's pure mode returns.
// Usage: node peer.mjs SAGA N [WINDOW]. Prints one line of key=value pairs.
import { readFileSync } from 'node:fs';

// Node 20 lacks Promise.withResolvers, which the package needs (Node 22 API).
if (!Promise.withResolvers) {
  Promise.withResolvers = function withResolvers() {
    let resolve, reject;
    const promise = new Promise((res, rej) => { resolve = res; reject = rej; });
    return { promise, resolve, reject };
  };
}
const { StateMachine } = await import('aws-local-stepfunctions');

const [sagaPath, nArg, windowArg] = process.argv.slice(2);
const n = Number(nArg || 10000);
const windowSize = Number(windowArg || 1);
const definition = JSON.parse(readFileSync(sagaPath, 'utf8'));

let seq = 0;
const handlers = {
  'orders.create': (i) => ({ orderId: `o-${seq}`, itemId: i.itemId, quantity: i.quantity, status: 'PENDING' }),
  'orders.confirm': (i) => ({ orderId: i.orderId, itemId: 'coffee-beans', quantity: 1, status: 'PROCESSED' }),
  'orders.cancel': (i) => ({ orderId: i.orderId, itemId: 'coffee-beans', quantity: 1, status: 'CANCELLED' }),
  'stock.reserve': (i) => ({ orderId: i.orderId, itemId: 'coffee-beans', quantity: 1, remaining: 1000000 }),
  'stock.release': (i) => ({ orderId: i.orderId }),
  'payment.process': (i) => ({ paymentId: 'p-1', orderId: i.orderId, amount: 1, status: 'CHARGED' }),
  'payment.refund': (i) => ({ orderId: i.orderId }),
  'events.publish': () => ({
    id: 'e-1', source: 'sagad.order', 'detail-type': 'Processed',
    time: '2026-11-25T12:00:00Z', executionId: 'exec-1',
  }),
};
const local = {};
for (const [name, state] of Object.entries(definition.States)) {
  if (state.Type !== 'Task') continue;
  const fn = handlers[String(state.Resource).replace(/^sagad:/, '')];
  if (!fn) throw new Error(`no peer handler for ${name} (${state.Resource})`);
  local[name] = async (input) => fn(input);
}

const sm = new StateMachine(definition, { validationOptions: { checkArn: false } });
const input = {
  itemId: 'coffee-beans', quantity: 1, firstname: 'Laura', surname: 'Becker',
  street: 'Main Avenue 1', zip: '12345', city: 'Fancy Town',
};
const runOptions = { overrides: { taskResourceLocalHandlers: local } };

let ok = 0;
let failed = 0;
async function worker(count) {
  for (let k = 0; k < count; k++) {
    seq++;
    try {
      const out = await sm.run(input, runOptions).result;
      if (out && out.status === 'PROCESSED') ok++; else failed++;
    } catch {
      failed++;
    }
  }
}

// Warm up the JIT the way a long-running daemon would be warm.
await worker(Math.min(1000, n));
ok = 0;
failed = 0;
const t0 = process.hrtime.bigint();
const cpu0 = process.cpuUsage();
const per = Math.floor(n / windowSize);
const jobs = [];
for (let w = 0; w < windowSize; w++) jobs.push(worker(w === 0 ? n - per * (windowSize - 1) : per));
await Promise.all(jobs);
const secs = Number(process.hrtime.bigint() - t0) / 1e9;
const cpu = process.cpuUsage(cpu0);
const rss = readFileSync('/proc/self/status', 'utf8').match(/VmHWM:\s+(\d+)/);
console.log(`mode=peer n=${n} window=${windowSize} succeeded=${ok} failed=${failed} ` +
  `secs=${secs.toFixed(3)} sagas_per_s=${(n / secs).toFixed(1)} rss_kb=${rss ? rss[1] : -1} ` +
  `cpu_us_per_saga=${((cpu.user + cpu.system) / n).toFixed(1)} ` +
  `node=${process.version}`);
process.exit(ok === n ? 0 : 1);
