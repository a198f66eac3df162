#!/usr/bin/env python3
"""Turns the results of bench/run.sh into one table (stdout), docs/BENCHMARKS.md
and a gnuplot PNG. Usage: report.py RESULTS TMPDIR OUT_MD OUT_PNG.
The hand-written analysis comes from bench/analysis.md."""
import os
import shlex
import subprocess
import sys

TARGET_RATE = 10000.0      # completed order sagas/s end to end at concurrency 64
TARGET_P99_MS = 10.0       # p99 of POST /order at concurrency 64
TARGET_PEER_X = 2.0        # engine-only on a file database vs the peer in memory
TARGET_RSS_MB = 64.0       # peak RSS of sagad


def parse(path):
    rows = []
    with open(path) as f:
        for line in f:
            parts = shlex.split(line.strip())
            if not parts:
                continue
            kv = {}
            for p in parts[1:]:
                if '=' in p:
                    k, v = p.split('=', 1)
                    kv[k] = v
            rows.append((parts[0], kv))
    return rows


def num(kv, k, default=None):
    try:
        return float(kv[k])
    except (KeyError, ValueError):
        return default


def fmt_rate(x):
    return '-' if x is None else f'{x:,.0f}'


def fmt_ms(x):
    return '-' if x is None else (f'{x:.2f}' if x < 10 else f'{x:.1f}')


def fmt_mb(kb):
    return '-' if kb is None or kb < 0 else f'{kb / 1024:.1f}'


def fmt_bytes(b):
    return '-' if b is None or b < 0 else f'{b:,.0f}'


def fmt_ratio(x):
    return '-' if x is None else f'{x:.2f}x'


def fmt_cpu(kv):
    x = num(kv, 'cpu_us_per_saga')
    return '-' if x is None else f'{x:,.0f}'


def verdict(ok, text):
    return ('met' if ok else 'MISSED') + ': ' + text


# ---- PostgreSQL nodes (bench/cluster.py) ----------------------------------------

def pg_points(rows):
    """The pg_e2e rows with their completed/s (as for the end-to-end rows),
    the best run of each point, in the order they first ran."""
    best = {}
    for kv in (kv for t, kv in rows if t == 'pg_e2e'):
        done = num(kv, 'succeeded', 0) + num(kv, 'failed', 0)
        span = num(kv, 'span_ms', 0) / 1000.0
        kv['completed'] = (done - 1) / span if span > 0 and done > 1 else None
        key = (kv.get('backend'), kv.get('nodes'), kv.get('split'), kv.get('c'),
               kv.get('before', '0'))
        kv['runs'] = best[key]['runs'] + 1 if key in best else 1
        if key not in best or (kv['completed'] or 0) > (best[key]['completed'] or 0):
            best[key] = kv
        else:
            best[key]['runs'] = kv['runs']
    return list(best.values())


def pg_name(kv, before_name=''):
    n = int(num(kv, 'nodes', 1))
    runs = f' (best of {kv["runs"]})' if kv.get('runs', 1) > 1 else ''
    if kv.get('before') == '1':
        return f'PostgreSQL, 1 node, {kv.get("c")} conn{runs}, **before**: {before_name}'
    if kv.get('backend') == 'sqlite':
        return f'SQLite, 1 node, {kv.get("c")} conn{runs}, same run as PostgreSQL'
    return (f'PostgreSQL, {n} node{"s" if n > 1 else ""}, {kv.get("c")} conn'
            + (', one item per node' if kv.get('split') == '1' else '') + runs)


def pg_cpu_us(kv):
    ok = num(kv, 'ok', 0)
    cpu = num(kv, 'cpu_sagad_s', 0) + num(kv, 'cpu_postgres_s', 0)
    return f'{cpu * 1e6 / ok:,.0f}' if ok and cpu else '-'


def pg_section(rows):
    """The markdown of the "PostgreSQL nodes" section."""
    pts = pg_points(rows)
    fo = next((kv for t, kv in rows if t == 'pg_failover'), None)
    skipped = next((kv for t, kv in rows if t == 'pg_skipped'), None)
    if not pts and not fo:
        return ('## PostgreSQL nodes\n\n(not measured in this run'
                + (f': {skipped.get("reason")}' if skipped else '') + ')\n')
    meta = next((kv for t, kv in rows if t == 'pg_meta'), {})
    meta_end = next((kv for t, kv in rows if t == 'pg_meta_end'), {})
    lite = next((kv for kv in pts if kv.get('backend') == 'sqlite'), None)
    lite_rate = lite['completed'] if lite else None
    out = ['## PostgreSQL nodes', '',
           f'Measured {meta.get("start", "?")} to {meta_end.get("end", "?")} by bench/cluster.py '
           f'(`make bench`, or alone: `BENCH_ONLY=cluster bench/run.sh build`), PostgreSQL '
           f'{meta.get("postgres", "?")}, {meta.get("cpus", "?")} CPUs, **load average before / '
           f'after: {meta.get("load_before", "?")} / {meta_end.get("load_after", "?")}** (the '
           f'machine is shared with other work).', '',
           '| run | orders/s | completed/s | p50 ms | p99 ms | vs SQLite | CPU us/saga '
           '| CPU s: sagad / postgres / loadgen | waiting for a CPU, s: sagad / postgres |',
           '|---|---:|---:|---:|---:|---:|---:|---:|---:|']
    for kv in pts:
        errs = int(num(kv, 'non2xx', 0) + num(kv, 'errors', 0))
        vs = (f'{kv["completed"] / lite_rate:.2f}x' if kv['completed'] and lite_rate else '-')
        out.append(f'| {pg_name(kv, meta.get("before_name", ""))}{"" if errs == 0 else f" ({errs} errors)"} '
                   f'| {fmt_rate(num(kv, "rps"))} | {fmt_rate(kv["completed"])} '
                   f'| {fmt_ms(num(kv, "p50_ms"))} | {fmt_ms(num(kv, "p99_ms"))} | {vs} '
                   f'| {pg_cpu_us(kv)} | {kv.get("cpu_sagad_s", "-")} / '
                   f'{kv.get("cpu_postgres_s", "-")} / {kv.get("cpu_loadgen_s", "-")} '
                   f'| {kv.get("waitcpu_sagad_s", "-")} / {kv.get("waitcpu_postgres_s", "-")} |')
    secs = pts[0].get('duration_s', '?') if pts else '?'
    runs = pts[0].get('runs', 1) if pts else 1
    out += ['', f"""- Each row: fresh nodes on a fresh database of one throwaway PostgreSQL 15
  cluster (tests/integration/pg.py: `fsync` and `synchronous_commit` on, the
  server on loopback), a throwaway `redis-server`, `--payment_failure_rate=0`,
  stock 10^9; the nodes have distinct `--node_id`s and their own ports, and
  one `bench/loadgen` spreads its {pts[0].get('c', '?') if pts else '?'} keep-alive
  connections round robin over them (`-p PORT,PORT,...`), `POST /order` for
  {secs} s. The points run in rounds ({runs} here), the best run of each
  (by completed/s) is shown. *orders/s* = 2xx answers per second;
  *completed/s* and *p50/p99* as in the results above. The SQLite row is one SQLite node
  measured the same way within the same run, for comparison under the same
  load of the machine (the end-to-end rows above ran at another time).
- *one item per node*: three loadgens, one per node, each ordering its own
  item (its own stock row); counts add up, p50/p99 are the worst of the three.
- *CPU s* is user + system CPU time during the run (sagad: all nodes;
  postgres: the postmaster and its children); *waiting for a CPU* is the
  time those processes were runnable but had no CPU (`/proc/PID/schedstat`)."""]
    if fo:
        lease = int(num(fo, 'lease_ms', 0))
        all_ms = fo.get('all_ms', '')
        ok = fo.get('running_after') == '0' and fo.get('stock_ok') == '1' and fo.get('lost') == '0'
        out += ['', '### Failover', '',
                f'{fo.get("kills")} rounds on 3 nodes with `lease_ms` {lease}: '
                f'**min {fo.get("min_ms")} ms, p50 {fo.get("p50_ms")} ms, p90 '
                f'{fo.get("p90_ms")} ms, max {fo.get("max_ms")} ms** from the kill -9 of the node '
                f'that started a Wait(1 s) execution to that execution being SUCCEEDED as '
                f'seen from a survivor (polled every 20 ms); {fo.get("ended")} of '
                f'{fo.get("kills")} ended{"" if fo.get("lost") == "0" else ", " + fo.get("lost") + " DID NOT"}. '
                f'All, in order: {all_ms.replace(",", ", ")} ms.', '',
                f'Each round starts the Wait on the victim (the start answers after its '
                f'commit), kills it with SIGKILL, polls a survivor, then restarts the victim '
                f'with the same `node_id` (a new epoch); the victims rotate over the three '
                f'nodes. Meanwhile two clients send light order load (an order every 20 ms '
                f'each, round robin over the live nodes): {fo.get("orders_acked")} orders '
                f'answered 2xx, {fo.get("orders_non2xx")} answered otherwise, '
                f'{fo.get("orders_lost")} got no answer (their node was down: refused, or the connection died with it). '
                f'Afterwards: {fo.get("running_after")} executions RUNNING (of '
                f'{fo.get("executions")}), stock {fo.get("left")} = {fo.get("stock_initial")} '
                f'initial - {fo.get("sold")} in processed orders: '
                + ('**consistent**.' if ok else '**NOT consistent**.'), '',
                f'Why these numbers: a node renews its lease every `lease_ms`/3, setting it '
                f'to `lease_ms` from then (server clock), so at the kill its lease has '
                f'between 2/3 and all of `lease_ms` left ({2 * lease // 3}-{lease} ms here); '
                f'survivors look for expired leases every `lease_ms`/3, which adds up to '
                f'{lease // 3} ms; then one claim transaction, the adoption of the '
                f'execution and its overdue Wait timer, and one commit. Expected window: '
                f'about {2 * lease // 3} to {4 * lease // 3} ms plus tens of ms. A node claims '
                f'only after a whole lease of steady renewals of its own (so that a node '
                f'back from trouble does not take over live nodes\' work): the bench waits '
                f'for that before each kill, as in a cluster that has been up for a while; '
                f'right after a restart a survivor would add up to {4 * lease // 3} ms.']
    rates = {(int(num(kv, 'nodes', 0)), kv.get('split'), kv.get('backend')): kv['completed']
             for kv in pts if kv.get('before', '0') == '0'}
    before = next((kv['completed'] for kv in pts if kv.get('before') == '1'), None)
    one, three = rates.get((1, '0', 'postgresql')), rates.get((3, '0', 'postgresql'))
    split3 = rates.get((3, '1', 'postgresql'))
    found = []
    if one and three:
        found.append(f'3 nodes completed {three / one:.2f}x what 1 node did')
    if three and split3:
        found.append(f'3 nodes with one item each {split3 / three:.2f}x what 3 nodes on one item did')
    if one and lite_rate:
        found.append(f'1 PostgreSQL node {one / lite_rate:.2f}x the SQLite node')
    if one and before:
        # Round by round too: one best-of pair can flatter on a shared box.
        def ones(flag):
            return [kv.get('completed') or 0 for t, kv in rows if t == 'pg_e2e'
                    and kv.get('backend') == 'postgresql' and kv.get('nodes') == '1'
                    and kv.get('before', '0') == flag]
        pairs = ', '.join(f'{b:,.0f} -> {a:,.0f}' for b, a in zip(ones('1'), ones('0')))
        found.append(f'1 PostgreSQL node {one / before:.2f}x the same node before '
                     f'({meta.get("before_name", "an earlier build")}; completed/s round by '
                     f'round, before -> now: {pairs})')
    window = ''
    if fo and fo.get('all_ms'):
        lease = num(fo, 'lease_ms', 0)
        ms = [float(x) for x in fo['all_ms'].split(',')]
        inside = sum(1 for x in ms if 2 * lease / 3 <= x <= 4 * lease / 3 + 100)
        window = (f': {inside} of {len(ms)} rounds here took between 2/3 and 4/3 of '
                  f'`lease_ms` (plus 100 ms for the claim), on a loaded box')
    out += ['', '### What a 2-core box can show, and what it cannot', '',
            ('In this run: ' + '; '.join(found) + '.' if found else ''), '',
            """- **More nodes cannot add throughput here.** All nodes, the PostgreSQL
  server and the load generator share the same 2 cores (and other work on the
  machine shares them too: see the load average and the *waiting for a CPU*
  column). A second node adds a process competing for the same CPUs, not
  capacity. What the node rows do show is that several nodes on one database
  work side by side without errors; what adding machines buys can only be
  measured with nodes and PostgreSQL on separate machines.
- **The order saga's single stock row serialises writers.** Every order
  updates the `stock` row of its item, and PostgreSQL holds that row lock
  until the transaction commits. A node commits a whole batch (group commit,
  one transaction per loop turn), so another node's batch that orders the
  same item waits for the first one's COMMIT, fsync included: nodes on one
  item take turns. The *one item per node* row removes that contention and
  shows what the row costs on this box; a shop with many items is closer to
  that row than to the others.
- **A PostgreSQL node is slower per order than an SQLite node** on one box:
  statements go to another process over loopback, where SQLite runs
  in-process. libpq's pipeline mode sends the writes of an execution's step
  without waiting and collects their results with the next statement whose
  result is read (or at the end of the step), but every read, every write
  whose row count a handler checks and every savepoint boundary is still a
  round trip: about 16 per order at 64 connections (24 before pipelining),
  22 at 1 connection (30). The CPU columns show where the time goes.
- **Failover time is set by the lease.** It is bounded by `lease_ms`
  (expiry between 2/3 and all of it after the kill, detection up to
  `lease_ms`/3 more, then the claim)""" + window + """; a smaller `lease_ms` fails over faster at the price of more lease
  renewals and a higher chance that a node stalled by a slow database or a
  paused VM is fenced and exits. What this box cannot show: network round
  trips between machines (they add to every statement and to the lease
  renewals), a PostgreSQL failover (Patroni or a managed service: see
  docs/cluster.md), and a network partition instead of a dead process."""]
    return '\n'.join(out) + '\n'


def splice_section(md_path, section):
    """Replaces (or inserts before "## Targets") the PostgreSQL section of an
    existing docs/BENCHMARKS.md: for `BENCH_ONLY=cluster`."""
    with open(md_path) as f:
        md = f.read()
    head = '## PostgreSQL nodes\n'
    if head in md:
        a = md.index(head)
        b = md.find('\n## ', a + len(head))
        md = md[:a] + section + (md[b:] if b >= 0 else '')
    elif '\n## Targets\n' in md:
        a = md.index('\n## Targets\n') + 1
        md = md[:a] + section + '\n' + md[a:]
    else:
        md = md.rstrip() + '\n\n' + section
    with open(md_path, 'w') as f:
        f.write(md)


def main():
    if sys.argv[1] == '--cluster-only':
        # Only bench/cluster.py ran: print its rows, splice its section in.
        rows = parse(sys.argv[2])
        section = pg_section(rows)
        print(section)
        splice_section(sys.argv[3], section)
        return
    res_path, tmp, out_md, out_png = sys.argv[1:5]
    rows = parse(res_path)
    meta = next((kv for t, kv in rows if t == 'meta'), {})
    meta_end = next((kv for t, kv in rows if t == 'meta_end'), {})
    sizes = next((kv for t, kv in rows if t == 'sizes'), {})
    prof = next((kv for t, kv in rows if t == 'profile'), {})
    e2e_all = [kv for t, kv in rows if t == 'e2e']
    for kv in e2e_all:
        done = num(kv, 'succeeded', 0) + num(kv, 'failed', 0)
        span = num(kv, 'span_ms', 0) / 1000.0
        kv['completed'] = (done - 1) / span if span > 0 and done > 1 else None
    # Each point may have run several times: keep the best (by completed/s).
    best = {}
    for kv in e2e_all:
        c = int(num(kv, 'c', 0))
        kv['runs'] = sum(1 for o in e2e_all if int(num(o, 'c', 0)) == c)
        if c not in best or (kv['completed'] or 0) > (best[c]['completed'] or 0):
            best[c] = kv
    e2e = [best[c] for c in sorted(best)]
    peers = [kv for t, kv in rows if t == 'peer']
    peer = max(peers, key=lambda kv: num(kv, 'sagas_per_s', 0)) if peers else {}
    peer_rate = num(peer, 'sagas_per_s')
    peer_rss = num(peer, 'rss_kb')

    def vs_peer(rate, rss):
        r = rate / peer_rate if rate and peer_rate else None
        m = rss / peer_rss if rss and rss > 0 and peer_rss else None
        return fmt_ratio(r), fmt_ratio(m)

    # One table: every measurement, the same columns.
    head = ['run', 'accepted/s', 'completed/s', 'p50 ms', 'p99 ms', 'CPU us/saga', 'peak RSS MB',
            'DB bytes/saga', 'rate / peer', 'RSS / peer']
    table = []
    plot = []
    for kv in e2e:
        c = int(num(kv, 'c', 0))
        completed = kv['completed']
        accepted = num(kv, 'rps')
        n_exec = num(kv, 'executions', 0)
        per_saga = num(kv, 'db_bytes', 0) / n_exec if n_exec else None
        rr, mr = vs_peer(completed, num(kv, 'rss_kb'))
        errs = int(num(kv, 'non2xx', 0) + num(kv, 'errors', 0))
        name = (f'end to end, {c} conn' + (f' (best of {kv["runs"]})' if kv['runs'] > 1 else '')
                + ('' if errs == 0 else f' ({errs} errors)'))
        user, sys_ = num(kv, 'user_s', 0), num(kv, 'sys_s', 0)
        ok = num(kv, 'ok', 0)
        secs = num(kv, 'secs', 0)
        cpu = (f'{(user + sys_) * 1e6 / ok:,.0f} ({sys_ / (user + sys_):.0%} sys, '
               f'{(user + sys_) / secs:.2f} CPU)' if ok and secs and user + sys_ > 0 else '-')
        table.append([name, fmt_rate(accepted), fmt_rate(completed), fmt_ms(num(kv, 'p50_ms')),
                      fmt_ms(num(kv, 'p99_ms')), cpu, fmt_mb(num(kv, 'rss_kb')),
                      fmt_bytes(per_saga), rr, mr])
        plot.append((c, accepted or 0, completed or 0, num(kv, 'p99_ms', 0)))

    def engine_row(tag, name):
        runs = [kv for t, kv in rows if t == tag]
        if not runs:
            return None
        kv = max(runs, key=lambda r: num(r, 'sagas_per_s', 0))
        if len(runs) > 1:
            name += f' (best of {len(runs)})'
        rate = num(kv, 'sagas_per_s')
        rr, mr = vs_peer(rate, num(kv, 'rss_kb'))
        table.append([name, '-', fmt_rate(rate), '-', '-', fmt_cpu(kv),
                      fmt_mb(num(kv, 'rss_kb')), fmt_bytes(num(kv, 'db_bytes_per_saga')), rr, mr])
        return kv

    eng_file = engine_row('engine_file', 'engine only, runtime, file DB')
    engine_row('engine_mem', 'engine only, runtime, :memory:')
    engine_row('engine_pure', 'engine only, asl_run, no DB')
    for kv in peers:
        table.append([f'peer (Node, in memory, {kv.get("window", "?")} in flight)', '-',
                      fmt_rate(num(kv, 'sagas_per_s')), '-', '-', fmt_cpu(kv),
                      fmt_mb(num(kv, 'rss_kb')), '-', '-', '-'])
    floors = [(t, kv) for t, kv in rows if t.startswith('floor')]
    for t, kv in floors:
        what = {'floor_file': f'floor, file DB, {kv.get("batch")}/txn',
                'floor_random': f'floor, file DB, {kv.get("batch")}/txn, random UUIDv4 ids',
                'floor_compact': f'floor, file DB, {kv.get("batch")}/txn, 300 B history',
                'floor_mem': f'floor, :memory:, {kv.get("batch")}/txn'}[t]
        rate = num(kv, 'sagas_per_s')
        rr, _ = vs_peer(rate, None)
        table.append([what, '-', fmt_rate(rate), '-', '-', fmt_cpu(kv), '-',
                      fmt_bytes(num(kv, 'db_bytes_per_saga')), rr, '-'])
    for kv in pg_points(rows):
        rr, _ = vs_peer(kv['completed'], None)
        table.append([pg_name(kv), fmt_rate(num(kv, 'rps')), fmt_rate(kv['completed']),
                      fmt_ms(num(kv, 'p50_ms')), fmt_ms(num(kv, 'p99_ms')), pg_cpu_us(kv), '-',
                      '-', rr, '-'])

    # Targets, each with by how much it is missed.
    targets = []
    c64 = next((kv for kv in e2e if num(kv, 'c') == 64), None)
    if c64:
        comp = c64['completed'] or 0
        targets.append(verdict(comp >= TARGET_RATE,
                               f'end to end at 64 connections: {comp:,.0f} completed sagas/s vs '
                               f'{TARGET_RATE:,.0f} ({comp / TARGET_RATE:.1%} of target'
                               + ('' if comp >= TARGET_RATE else
                                  f', {TARGET_RATE / comp if comp else float("inf"):.1f}x short') + ')'))
        p99 = num(c64, 'p99_ms', 0)
        targets.append(verdict(p99 <= TARGET_P99_MS,
                               f'p99 of POST /order at 64 connections: {p99:.1f} ms vs '
                               f'{TARGET_P99_MS:.0f} ms'
                               + ('' if p99 <= TARGET_P99_MS else f' ({p99 / TARGET_P99_MS:.1f}x over)')))
    if eng_file and peer_rate:
        x = num(eng_file, 'sagas_per_s', 0) / peer_rate
        targets.append(verdict(x >= TARGET_PEER_X,
                               f'engine only on a file DB: {x:.2f}x the peer in memory vs '
                               f'{TARGET_PEER_X:.0f}x'
                               + ('' if x >= TARGET_PEER_X else
                                  f' ({TARGET_PEER_X / x if x else float("inf"):.1f}x short)')))
    if e2e:
        rss = max(num(kv, 'rss_kb', 0) for kv in e2e_all) / 1024
        targets.append(verdict(rss <= TARGET_RSS_MB,
                               f'peak RSS of sagad (largest over the end-to-end points): '
                               f'{rss:.1f} MB vs {TARGET_RSS_MB:.0f} MB'
                               + ('' if rss <= TARGET_RSS_MB else f' ({rss / TARGET_RSS_MB:.1f}x over)')))

    # How close to the storage floor (same rows, same batching, no engine).
    floor_by_batch = {int(num(kv, 'batch', 0)): num(kv, 'sagas_per_s') for t, kv in floors
                      if t == 'floor_file'}
    closeness = []
    if eng_file and floor_by_batch.get(256):
        closeness.append(f'engine only on a file DB runs at {num(eng_file, "sagas_per_s", 0) / floor_by_batch[256]:.0%} '
                         f'of its storage floor (256 per transaction)')
    if c64 and c64['completed'] and floor_by_batch.get(64):
        closeness.append(f'end to end at 64 connections runs at {c64["completed"] / floor_by_batch[64]:.0%} '
                         f'of its storage floor (64 per transaction)')

    widths = [max(len(str(r[i])) for r in [head] + table) for i in range(len(head))]

    def line(r):
        return '  '.join(str(v).ljust(widths[i]) if i == 0 else str(v).rjust(widths[i])
                         for i, v in enumerate(r))
    print(line(head))
    print('  '.join('-' * w for w in widths))
    for r in table:
        print(line(r))
    print()
    for t in targets:
        print('target ' + t)
    for c in closeness:
        print('floor: ' + c)
    fo = next((kv for t, kv in rows if t == 'pg_failover'), None)
    if fo:
        print(f'postgresql failover over {fo.get("kills")} kills, lease_ms {fo.get("lease_ms")}: '
              f'min {fo.get("min_ms")} / p50 {fo.get("p50_ms")} / p90 {fo.get("p90_ms")} / '
              f'max {fo.get("max_ms")} ms; ended {fo.get("ended")}, running after '
              f'{fo.get("running_after")}, stock consistent {fo.get("stock_ok") == "1"}')
    print(f'\nload average before/after: {meta.get("load_before", "?")} / '
          f'{meta_end.get("load_after", "?")} on {meta.get("cpus", "?")} CPUs; '
          f'details in {out_md}')

    # Plot: throughput and p99 against concurrency.
    png_ok = False
    if plot:
        dat = os.path.join(tmp, 'plot.dat')
        with open(dat, 'w') as f:
            for c, a, d, p in sorted(plot):
                f.write(f'{c} {a} {d} {p}\n')
        gp = f"""set terminal pngcairo size 900,520 noenhanced font ",10"
set output '{out_png}'
set title 'sagad end to end: POST /order on loopback ({meta.get("secs", "?")} s per point)'
set logscale x 2
set xlabel 'client connections'
set ylabel 'order sagas/s'
set y2label 'p99 latency of POST /order (ms)'
set ytics nomirror
set y2tics
set logscale y2
set grid
set key left top
set yrange [0:*]
plot '{dat}' using 1:2 with linespoints lw 2 title 'accepted/s', \\
     '{dat}' using 1:3 with linespoints lw 2 title 'completed/s', \\
     '{dat}' using 1:4 axes x1y2 with linespoints lw 2 dt 2 title 'p99 ms (right)'
"""
        try:
            os.makedirs(os.path.dirname(out_png) or '.', exist_ok=True)
            r = subprocess.run(['gnuplot'], input=gp.encode(), capture_output=True)
            if r.returncode != 0 or not os.path.exists(out_png):
                # pngcairo is not in every gnuplot build: fall back to the gd png terminal.
                r = subprocess.run(['gnuplot'], input=gp.replace('pngcairo', 'png').encode(),
                                   capture_output=True)
            png_ok = r.returncode == 0 and os.path.exists(out_png)
            if not png_ok:
                print('gnuplot failed: ' + r.stderr.decode(errors='replace').strip(), file=sys.stderr)
        except FileNotFoundError:
            print('gnuplot is not installed (scripts/deps.sh bench); no plot', file=sys.stderr)

    def md_table():
        out = ['| ' + ' | '.join(head) + ' |',
               '|' + '|'.join(['---'] + ['---:'] * (len(head) - 1)) + '|']
        for r in table:
            out.append('| ' + ' | '.join(str(v) for v in r) + ' |')
        return '\n'.join(out)

    def read(name):
        p = os.path.join(tmp, name)
        return open(p).read().rstrip() if os.path.exists(p) else ''

    analysis = open('bench/analysis.md').read().rstrip() if os.path.exists('bench/analysis.md') else ''
    prof_head = ('no profiler was available (perf without hardware counters and no valgrind)'
                 if not prof else f'`{prof.get("tool")}` on `{prof.get("target")}`'
                 + (f', {int(num(prof, "per_saga", 0)):,} instructions per saga'
                    if prof.get('per_saga') else ''))
    prof_title = ('Self cost of sagad (perf samples), top 30' if prof.get('tool') == 'perf'
                  else 'Inclusive cost of the functions that matter')
    self_txt = read('profile_self.txt')
    self_block = ('\nExclusive (self) cost, top 15:\n\n```\n' + self_txt + '\n```\n'
                  if self_txt else '')
    workers = [kv for tag, kv in rows if tag == 'workers']
    callback = next((kv for tag, kv in rows if tag == 'callback'), {})
    steps_md = ''
    if workers:
        lines = ['| worker processes | tasks | round trips/s |', '|---:|---:|---:|']
        for kv in workers:
            lines.append(f"| {kv.get('n')} | {kv.get('tasks')} | {fmt_rate(num(kv, 'roundtrips_s'))} |")
        steps_md = '\n'.join(lines) + f"""

A round trip is a worker's `POST /activities/NAME/poll` that returns a task and
its `POST /tasks/success`, answered after the commit (bench/workers.py: that
many executions of a one-Task activity machine are started first, then the
workers, Python processes on the same 2 CPUs, drain them). Token callback: `POST
/tasks/success` for a waiting `.waitForTaskToken` Task, until its answer
(after the commit): p50 {callback.get('report_p50_ms', '?')} ms, p99
{callback.get('report_p99_ms', '?')} ms over {callback.get('n', '?')} sequential
callbacks; for scale, starting a one-Task in-process machine with `?wait`: p50
{callback.get('local_start_wait_p50_ms', '?')} ms, p99 {callback.get('local_start_wait_p99_ms', '?')} ms.
"""
    console = [kv for tag, kv in rows if tag == 'console']
    console_md = ''
    if console:
        lines = ['| read | bytes | p50 ms | p99 ms |', '|---|---:|---:|---:|']
        for kv in console:
            lines.append(f"| {kv.get('read')} | {kv.get('bytes')} | {kv.get('p50_ms')} | {kv.get('p99_ms')} |")
        console_md = '\n'.join(lines) + f"""

bench/console.py: one fresh sagad holding {console[0].get('executions', '?')} executions (a
tenth FAILED, one in fifty RUNNING in a long Wait), then each read the web
console makes, 100 times in a row on one keep-alive connection: the newest 50,
the 20th page by cursor, a status filter, a name prefix that matches and one
that matches nothing (a full scan), the counts per status, a description, a
history and an execution's graph (SVG, laid out by Graphviz on each request).
"""
    md = f"""# Benchmarks

Generated by `make bench` (bench/run.sh, bench/report.py); do not edit by hand:
the analysis section comes from bench/analysis.md.

Run {meta.get('start', '?')} to {meta_end.get('end', '?')} on {meta.get('cpus', '?')} CPUs,
kernel {meta.get('kernel', '?')}, SQLite {meta.get('sqlite', '?')}, Node {meta.get('node', '?')}.
Saga: `{meta.get('saga', '?')}`. **Load average before / after: {meta.get('load_before', '?')} /
{meta_end.get('load_after', '?')}** (the machine is shared; numbers are noisy).

## Results

{md_table()}

- *end to end*: a fresh `sagad` per run (temporary database, WAL, `synchronous=FULL`,
  a throwaway `redis-server`, `--payment_failure_rate=0`, stock set to 10^9 with
  `PUT /stock/coffee-beans`), `bench/loadgen` sends `POST /order` on N keep-alive
  connections for {meta.get('secs', '?')} s; each point runs {meta.get('repeat', 1)} time(s) and
  the run with the best completed/s is shown. *accepted/s* = 2xx answers per second
  (until the last outstanding answer); *completed/s* = executions ended (from the database after the run
  drained) divided by the span of their `stop_ms`; *p50/p99* of `POST /order`;
  *peak RSS* = `VmHWM` of sagad; *DB bytes/saga* = database file size after a
  clean stop divided by the executions; *CPU us/saga* = sagad's user + system
  CPU time during the run divided by the answers (in brackets: the system
  share, and how many CPUs sagad kept busy on average; the load generator runs
  on the same 2 CPUs, and sagad is single-threaded, so 1.00 is its ceiling).
- *engine only*: `bench/engine` links `build/libsagad.a`, opens the runtime on a
  uv loop and calls `runtime_start` {meta.get('n', '?')} times (256 in flight), real
  handlers, on a file database and on `:memory:`; *asl_run* is the pure engine
  with the Tasks answered by trivial callbacks, as the peer's are.
- *peer*: `aws-local-stepfunctions` 3.0.0 on Node runs the same ASL file
  {meta.get('peer_n', '?')} times in memory, each Task answered by a trivial JavaScript
  handler (`bench/peer/peer.mjs`, after 1,000 warm-up runs for the JIT); the
  best of its two rows is the reference of the *rate / peer* and *RSS / peer*
  columns. The engine-only file run is repeated after the peer's and the
  better of the two is shown, so that both sides get a quiet moment.
- *floor*: `bench/floor` writes the rows one successful saga writes, on sagad's
  own schema (`store_open`), with prepared statements, B sagas per
  transaction (the runtime commits up to 256 frame advances per loop turn, and
  this saga is one advance), and nothing else: one `executions` insert (the
  saga starts and ends in one advance, so its row is written once, already
  ended) and one `history` row, the advance's replay log (runtime.c); `orders`
  insert and status update, `stock` conditional update, `reservations` insert,
  `payments` insert, `outbox` insert (handlers), with time-ordered (UUIDv7)
  ids as sagad makes them (one row with random UUIDv4 ids, the scheme before
  b8bf835, for reference). Not included: the handlers' reads, the savepoints,
  and the relay's `DELETE FROM outbox` (end to end pays it, engine only does
  not run the relay).
  Payload sizes measured on the engine-only run: input {sizes.get('input', '?')} B,
  history {sizes.get('history', '?')} B, output {sizes.get('output', '?')} B, outbox
  {sizes.get('outbox', '?')} B per saga.

## Steps outside the daemon

{steps_md or '(not measured in this run)'}

## The console's reads

{console_md or '(not measured in this run)'}

{pg_section(rows)}
## Targets

""" + '\n'.join('- ' + t for t in targets) + '\n\nStorage floor: ' + '; '.join(closeness) + f""".

{'![throughput and p99 latency against client connections](bench.png)' if png_ok else '(no plot: gnuplot missing)'}

## Profile

{prof_head}. {prof_title}:

```
{read('profile.txt')}
```
{self_block}
{analysis}
"""
    os.makedirs(os.path.dirname(out_md) or '.', exist_ok=True)
    with open(out_md, 'w') as f:
        f.write(md)


if __name__ == '__main__':
    main()
