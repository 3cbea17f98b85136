"""The benchmark's figures as markdown: the machine, each figure beside its target and the load
average it was measured under, cost growth, then the standing notes (bench/notes.md)."""

from pathlib import Path

TARGETS = {  # issue 14
    "e2e_rate": 2000,
    "e2e_ratio": 0.60,
    "latency_p99_ms": 100,
    "timeline_p99_ms": 10,
    "inbox_p99_ms": 20,
    "first_load_s": 600,
}

FLOOR_LABELS = {
    "store": "floor: bare kombu publisher + consumer, the referral's store writes per event (identity, "
             "profile, timeline entry), no framework",
    "validate": "floor + the contract check per event (the referral consumer checks every event again)",
    "handler": "floor + the referral service's whole handler (contract check, store writes, referral rules "
               "and their outbox), no nameko",
}


def verdict(ok):
    return "**met**" if ok else "**not met**"


def row(*cells):
    return "| " + " | ".join(str(c) for c in cells) + " |"


def render(r):
    m = r["machine"]
    lines = [
        "# childlink benchmark report",
        "",
        (f"Produced by `make bench` (`bench/run.py`) on {r['started']}; the run took "
         f"{r['took_s'] / 60:.1f} minutes. {_sizes(r['sizes'])}"),
        "",
        "## Machine",
        "",
        row("nproc", "memory", "CPU", "Python", "RabbitMQ", "SQLite", "kernel"),
        row(*["---"] * 7),
        row(m["nproc"], m["memory"], m["cpu"], m["python"], m["rabbitmq"], m["sqlite"], m["kernel"]),
        "",
        (f"Load average (1/5/15 min) at the start {r['load_at_start']}, at the end {r['load_at_end']}. "
         "The machine is shared with other engineers' test runs: a load above 2 on 2 cores means the "
         "benchmark competed for CPU, which is why the floor is measured in the same run and every "
         "figure carries the load seen beside it (before -> after its measurement)."),
        "",
        "## Figures and targets",
        "",
        row("figure", "measured", "load avg", "target", ""),
        row(*["---"] * 5),
    ]
    floors = {mode: r.get(f"floor_{mode}") for mode in ("store", "validate", "handler")}
    for mode, floor in floors.items():
        if floor:
            lines.append(row(
                f"{FLOOR_LABELS[mode]}; {floor['batch']:.0f} events a transaction on average",
                f"{floor['rate']:,.0f} events/s ({floor['events']:,} events in {floor['seconds']:.0f} s)",
                floor["load"], "", ""))
    e2e = r.get("e2e")
    floor = floors["store"]
    if e2e and floor:
        ratio = e2e["rate"] / floor["rate"]
        drain = f"; the last of them stored {e2e['drain_s']:.0f} s after sending stopped" if e2e["drain_s"] else ""
        lines += [
            row("end to end: department ingest APIs (HTTP, batches of 200) -> outbox -> relay -> broker -> "
                "referral -> timeline stored, sustained",
                f"**{e2e['rate']:,.0f} events/s** ({e2e['events']:,} events sent in {e2e['seconds']} s{drain})",
                e2e["load"], f">= {TARGETS['e2e_rate']:,} events/s", verdict(e2e["rate"] >= TARGETS["e2e_rate"])),
            row("end to end / floor",
                f"**{ratio:.0%}** (of the floor with the contract check "
                f"{e2e['rate'] / floors['validate']['rate']:.0%}; with the whole handler "
                f"{e2e['rate'] / floors['handler']['rate']:.0%})",
                "", f">= {TARGETS['e2e_ratio']:.0%}", verdict(ratio >= TARGETS["e2e_ratio"])),
        ]
    lat = r.get("latency")
    if lat:
        s, api = lat["store"], lat["api"]
        missing = (f"; {lat['missing']:,} not committed within 30 s of the last send, counted as slower than "
                   "any" if lat["missing"] else "")
        lines.append(row(
            f"ingest -> committed in the timeline store at {lat['rate']} events/s, one event per request "
            f"({s['n']:,} events after the first 2 s; {lat['achieved_rate']:.0f}/s achieved)",
            f"p50 {_ms(s['p50'])}, p95 {_ms(s['p95'])}, **p99 {_ms(s['p99'])}** (max {_ms(s['max'])}){missing}",
            lat["load"], f"p99 < {TARGETS['latency_p99_ms']} ms",
            verdict(s["p99"] < TARGETS["latency_p99_ms"] and not lat["missing"])))
        if api:
            lines.append(row(
                "ingest -> read back through the timeline API (every 20th event)",
                f"p50 {api['p50']:.0f} ms, p95 {api['p95']:.0f} ms, p99 {api['p99']:.0f} ms ({api['n']} reads)",
                "", "", ""))
        if lat.get("stages"):
            lines.append(row(
                "where that time went, stage by stage (bench/notes.md says how each is read)",
                "; ".join(f"{name} p50 {v['p50']:.0f} / p99 {v['p99']:.0f} ms" for name, v in lat["stages"].items()),
                "", "", ""))
        if lat.get("cpu_ms_per_event"):
            lines.append(row(
                "CPU ms an event in the latency phase, per process",
                ", ".join(f"{name} {v:.2f}" for name, v in sorted(lat["cpu_ms_per_event"].items(),
                                                                   key=lambda item: -item[1]) if v >= 0.05),
                "", "", ""))
    tl = r.get("timeline_read")
    if "drain_before_reads_s" in r:
        at_rest = ("at rest: the reads waited for the pipeline to drain" if r["drain_before_reads_s"] is not None
                   else "while a backlog from the latency phase was still being taken in (it did not drain in 4 min)")
    else:
        at_rest = "right after the latency phase, with its backlog still being taken in"
    if tl:
        lines.append(row(
            f"timeline read, a child with {tl['entries']} events ({tl['bytes'] / 1024:.0f} KiB of JSON), "
            f"`GET /v1/children/<id>/timeline`, {tl['n']} reads one after another, {at_rest}",
            f"p50 {tl['p50']:.1f} ms, **p99 {tl['p99']:.1f} ms** (the whole body received"
            + (f"; with the client's JSON parse p50 {tl['with_client_parse']['p50']:.1f} ms, "
               f"p99 {tl['with_client_parse']['p99']:.1f} ms)" if tl.get("with_client_parse") else ")"),
            tl["load"],
            f"p99 < {TARGETS['timeline_p99_ms']} ms", verdict(tl["p99"] < TARGETS["timeline_p99_ms"])))
    inbox = r.get("inbox")
    if inbox:
        if inbox.get("available"):
            store = inbox["store"]
            lines.append(row(
                f"referral inbox page: a hospital's open referrals, page 1 of 50, {inbox['open']:,} open, "
                f"{inbox['how']}, {inbox['n']} reads",
                (f"p50 {inbox['p50']:.1f} ms, **p99 {inbox['p99']:.1f} ms** (the store query alone: "
                 f"p50 {store['p50']:.1f} ms, p99 {store['p99']:.1f} ms"
                 + (f"; an RPC answering a few bytes: p50 {inbox['rpc_floor']['p50']:.1f} ms, "
                    f"p99 {inbox['rpc_floor']['p99']:.1f} ms)" if inbox.get("rpc_floor") else ")")),
                inbox["load"], f"p99 < {TARGETS['inbox_p99_ms']} ms", verdict(inbox["p99"] < TARGETS["inbox_p99_ms"])))
        else:
            lines.append(row("referral inbox page with 10,000 open referrals", f"not measured: {inbox['reason']}",
                             "", f"p99 < {TARGETS['inbox_p99_ms']} ms", "not measured"))
    if r.get("first_load_s"):
        est = r["first_load_s"]
        lines.append(row(
            f"first load, 1,000,000 events over 300,000 children: **estimated** from the sustained end-to-end "
            f"rate on an empty store ({e2e['rate']:,.0f}/s) and on a store pre-loaded with {_big(r):,} children "
            f"({r['slice']['rate']:,.0f}/s), the rate taken to move linearly between them",
            f"**{est / 60:.0f} min**", r["slice"]["load"], "< 10 min", verdict(est < TARGETS["first_load_s"])))
    bulk = r.get("first_load_bulk")
    if bulk:
        dedup = bulk["dedup"]
        lines.append(row(
            f"first load, **measured**: the bulk entry (docs/first-load.md: the same contract check and domain "
            f"code as the live consumers) over a JSON Lines file of {bulk['events']:,} first-load events of "
            f"{bulk['children']:,} children, the referral and insights loads at once, to both finished "
            f"(file written beforehand in {bulk['writing_file_s']:.0f} s, not counted)",
            (f"{bulk['seconds']:.0f} s, {bulk['rate']:,.0f} events/s; **{bulk['extrapolated_s'] / 60:.0f} min** "
             f"for 1,000,000 at that rate (a lower bound: the rate falls as the store grows); then dedup "
             + (f"{dedup['seconds']:.0f} s" if dedup["ok"] else "FAILED")),
            bulk["load"], "< 10 min", verdict(bulk["extrapolated_s"] < TARGETS["first_load_s"])))
    if r.get("memory_mib"):
        lines.append(row("peak RSS per service through the end-to-end, latency and read phases (MiB)",
                         ", ".join(f"{name} {mib:.0f}" for name, mib in r["memory_mib"].items()), "", "", ""))
    if r.get("slice_memory_mib"):
        lines.append(row(f"peak RSS per service on the {_big(r):,}-children store (MiB)",
                         ", ".join(f"{name} {mib:.0f}" for name, mib in r["slice_memory_mib"].items()), "", "", ""))
    if r.get("referrals_raised"):
        raised = ", ".join(f"{status} {n:,}" for status, n in sorted(r["referrals_raised"].items()))
        lines.append(row("referrals in the store after those phases (the rules' work on the first-load mix, "
                         "plus the 10,000 written for the inbox)", raised, "", "", ""))
    lines += _cpu(r)
    lines += _growth(r, e2e)
    lines += _city(r.get("insights"))
    notes = Path(__file__).with_name("notes.md")
    if notes.exists():
        lines += ["", notes.read_text().rstrip()]
    return "\n".join(lines) + "\n"


CPU_LABELS = {"floor_store": "floor (store writes)", "floor_validate": "floor + contract check",
              "floor_handler": "floor + the referral's whole handler", "e2e": "end to end, empty store",
              "slice": "end to end, 300,000-children store",
              "first_load_bulk": "first load, bulk entry (the referral and insights loads, one process each)"}
LOAD_GENERATOR = "load generator (this process)"


def cpu_bound(cpu):
    """Events/s the measured CPU per event allows with 2 idle cores: all processes share 2,000 ms of CPU a
    second, and no single process (one thread each: nameko on eventlet, or a plain loop) gets more than
    1,000 ms. The load generator stands for the department systems and is left out."""
    work = {name: ms for name, ms in cpu.items() if name != LOAD_GENERATOR and ms}
    return min(2000 / sum(work.values()), 1000 / max(work.values()))


def _cpu(r):
    """CPU milliseconds per event, by process: robust to the machine being busy in a way wall time is not."""
    runs = [(key, r[key]["cpu_ms_per_event"]) for key in CPU_LABELS
            if r.get(key) and r[key].get("cpu_ms_per_event")]
    if not runs:
        return []
    lines = ["", "## Where the CPU goes: CPU milliseconds per event, by process", "",
             ("User + system CPU time each process spent over the run (to the last event stored), divided by "
              "the events. The RabbitMQ figure is the whole node's, which other engineers' test vhosts share "
              "(the end-to-end runs also carry each event twice: the department's event, then the referral "
              "events it causes): read it as an upper bound. The bound is what that CPU per event allows on "
              "2 idle cores: 2,000 ms of CPU a second in all, at most 1,000 ms for any one process (each is "
              "one thread)."), "",
             row("run", "CPU ms per event, by process", "total", "bound on 2 idle cores"), row(*["---"] * 4)]
    for key, cpu in runs:
        parts = ", ".join(f"{name} {ms:.2f}" for name, ms in sorted(cpu.items(), key=lambda kv: -kv[1]))
        total = sum(ms for name, ms in cpu.items() if name != LOAD_GENERATOR)
        lines.append(row(CPU_LABELS[key], parts, f"{total:.2f}", f"~{cpu_bound(cpu):,.0f} events/s"))
    bounds = {key: cpu_bound(cpu) for key, cpu in runs}
    if "e2e" in bounds and "floor_store" in bounds:
        lines += ["", (f"By CPU, end to end reaches **{bounds['e2e'] / bounds['floor_store']:.0%}** of the store-writes "
                       f"floor" + (f" and {bounds['e2e'] / bounds['floor_handler']:.0%} of the whole-handler floor"
                                   if "floor_handler" in bounds else "")
                       + "; these ratios move far less with the machine's load than wall-clock rates do.")]
        if "slice" in bounds:
            est = first_load_minutes(bounds["e2e"], bounds["slice"])
            lines.append(f"The first load by the same bounds (rates moving linearly from the empty to the "
                         f"300,000-children store): **~{est:.0f} min** on 2 idle cores.")
    return lines


def first_load_minutes(rate_start, rate_end, events=1_000_000):
    import math
    if abs(rate_start - rate_end) < 1e-9:
        return events / rate_start / 60
    return events * math.log(rate_start / rate_end) / (rate_start - rate_end) / 60


def _growth(r, e2e):
    growth = r.get("growth")
    if not growth:
        return []
    sizes = sorted(growth, key=int)
    lines = ["", "## Cost growth: store-level costs by children pre-loaded", "",
             ("Synthetic children (3.3 events each, the first-load mix) written straight into the referral "
              "SQLite store, then each operation timed in-process on random children (ms)."), "",
             row("operation", *[f"{int(s):,} children: p50 / p99" for s in sizes]), row(*["---"] * (len(sizes) + 1))]
    for operation in growth[sizes[0]]["costs"]:
        lines.append(row(operation, *[f"{growth[s]['costs'][operation]['p50']:.3f} / "
                                      f"{growth[s]['costs'][operation]['p99']:.3f}" for s in sizes]))
    lines.append(row("timeline rows; file size",
                     *[f"{growth[s]['events']:,} rows; {growth[s]['file_mib']:,.0f} MiB" for s in sizes]))
    lines.append(row("direct pre-load time (not the service path)", *[f"{growth[s]['preload_s']:.0f} s" for s in sizes]))
    lines.append(row("load average after", *[growth[s]["load"] for s in sizes]))
    if r.get("slice") and e2e:
        sl = r["slice"]
        lines += ["", (f"End to end on the {_big(r):,}-children store: **{sl['rate']:,.0f} events/s** sustained "
                       f"(load {sl['load']}), against {e2e['rate']:,.0f} events/s on the empty store.")]
    return lines


def _sizes(sizes):
    return (f"Windows: floor {sizes['floor_s']} s per variant, end to end {sizes['e2e_s']} s, latency "
            f"{sizes['latency_s']} s, end to end on the big store {sizes['slice_s']} s (the first "
            f"{sizes['warm_s']} s of each end-to-end window, half that for the floor, not counted); growth "
            f"{' and '.join(f'{g:,}' for g in sizes['growth'])} children; the first-load mix, 3.3 events a child.")


def _ms(value):
    return "over 30 s" if value == float("inf") else f"{value:,.0f} ms"


def _big(r):
    return max(int(s) for s in r["growth"])


if __name__ == "__main__":
    import json
    import sys

    print(render(json.loads(Path(sys.argv[1]).read_text())), end="")


def _city(c):
    """Phase 7: the city's figures (bench/insights.py), issue 15's target: p99 < 200 ms."""
    if not c:
        return []
    lines = ["", f"## The city's figures (insights): {c['children']:,} children, {c['events']:,} events", "",
             row("figure", "measured", "load avg", "target", ""), row(*["---"] * 5),
             row("events taken by the insights aggregator, batches of 500 (one transaction each), in-process",
                 f"{c['take_events_per_s']:,} events/s ({c['take_cpu_ms_per_event']:.3f} ms CPU an event; "
                 f"{c['take_s']:,} s)", c["load_take"], "", "")]
    for name, label in (("overview", "city overview (DSPM on track at 18 months)"),
                        ("overview_overdue", "city overview (children with an overdue dose, a running count)"),
                        ("district", "district page (every indicator's 12-month trend)")):
        if f"http_{name}_p99_ms" in c:
            p99 = c[f"http_{name}_p99_ms"]
            lines.append(row(
                f"{label}: gateway HTTP page -> nameko RPC -> insights service -> page, signed in",
                (f"p50 {c[f'http_{name}_p50_ms']} ms, **p99 {p99} ms** (inside the gateway p99 "
                 f"{c[f'http_{name}_gateway_p99_ms']} ms, of it RPC {c[f'http_{name}_rpc_p99_ms']} ms; "
                 f"the RPC answer alone p99 {c[f'rpc_{name}_p99_ms']} ms)"),
                c[f"load_http_{name}"], "p99 < 200 ms", verdict(p99 < 200)))
        if f"{name}_p99_ms" in c:
            lines.append(row(f"{label}: rendered in-process over the answers (no RPC, no network)",
                             f"p50 {c[f'{name}_p50_ms']} ms, p99 {c[f'{name}_p99_ms']} ms", "", "", ""))
    lines.append(row("rebuild: every cell derived again from the stored subjects",
                     f"{c['rebuild_s']} s ({c['rebuild_subjects']:,} subjects)", c["load_rebuild"], "", ""))
    return lines
