"""`python -m childlink_referral.matching.bench` (`make bench-identity`): how well and how fast matching is.

1. Quality, on a labelled set the weights were not fitted to (`generate_identity_dataset(20000,
   seed=2)`; weights and thresholds come from seed 1): precision and recall of automatic links,
   the share sent to review and how often the review's suggestion is right, and how many records of
   known children were wrongly called new - over the records that are not linkable by national ID
   (the headline), and again with every national ID hidden (everything scored).
2. Scale: an index of 300,000 children (each child's first registration, from a population
   generated without events), its build time and memory, and the time of `match()` for 1,000
   incoming records (other departments' records of known children, and records of 2% of children
   held out), p50 / p99, with the quality of those 1,000 decisions at that size.

Needs `childlink_tools` (the simulator), which the workspace installs.
"""

import argparse
import datetime as dt
import gc
import json
import os
import random
import statistics
import sys
import time

from .decision import LINK, REVIEW, THRESHOLDS
from .estimate import FIXED_NOW
from .evaluate import Probe, Result, figures, from_identity_dataset, run
from .linker import Matcher
from .normalise import NAME_CACHE, name, prepare

QUALITY_SEED, SCALE_SEED = 2, 3


def rss_bytes():
    try:
        import psutil

        return psutil.Process(os.getpid()).memory_info().rss
    except ImportError:  # Linux without psutil
        with open(f"/proc/{os.getpid()}/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def quality(children, seed=QUALITY_SEED):
    dataset = generate_dataset(children, seed)
    labelled = from_identity_dataset(dataset)
    return {"children": children, "records": len(labelled),
            "as_sent": figures(run(labelled, seed=seed)),
            "national_ids_hidden": figures(run(labelled, seed=seed, hide_national_ids=True))}


def generate_dataset(children, seed):
    from childlink_tools.identity_errors import generate_identity_dataset

    return generate_identity_dataset(children, seed=seed, now=FIXED_NOW)


def scale(known_children=300_000, probes=1_000, held_out_share=0.02, seed=SCALE_SEED):
    started = time.perf_counter()
    total = int(known_children / (1 - held_out_share))
    dataset = generate_dataset(total, seed)
    generated = time.perf_counter() - started
    by_child = dataset.records_by_child()
    rng = random.Random(f"{seed}/scale")
    keys = sorted(by_child)
    held_out = set(rng.sample(keys, total - known_children))
    first_ids = {records[0].record_id for key, records in by_child.items() if key not in held_out}

    gc.collect()
    name.cache_clear()
    before = rss_bytes()
    started, started_cpu = time.perf_counter(), time.thread_time()
    matcher = Matcher()
    national_ids = {}
    for key in keys:
        if key in held_out:
            continue
        first = by_child[key][0]
        prepared = matcher.add(first.subject, child_id=key, record_id=first.record_id)
        if prepared.national_id_valid:
            national_ids[prepared.national_id] = key
    built, built_cpu = time.perf_counter() - started, time.thread_time() - started_cpu
    gc.collect()
    memory = rss_bytes() - before

    pool = [record for record in dataset.records if record.record_id not in first_ids]
    sample = sorted(rng.sample(pool, probes), key=lambda record: record.record_id)
    twins = {person.twin_of for person in dataset.children if person.twin_of} | {
        person.key for person in dataset.children if person.twin_of}
    timings, cpu, result, considered = [], [], Result(known_children=matcher.children), []
    for record in sample:
        started, started_cpu = time.perf_counter(), time.thread_time()
        outcome = matcher.match(record.subject)
        cpu.append(time.thread_time() - started_cpu)
        timings.append(time.perf_counter() - started)
        considered.append(outcome.considered)
        prepared = prepare(record.subject)
        if prepared.national_id_valid and prepared.national_id in national_ids:
            result.deterministic += 1
            continue
        ranked = matcher.candidates(prepared)
        truth = record.child_key if record.child_key not in held_out else None
        tags = ("twin",) if record.child_key in twins else ()
        result.probes.append(Probe(record.record_id, truth, ranked[0] if ranked else None,
                                   ranked[1] if len(ranked) > 1 else None, tags))
    return {
        "known_children": matcher.children, "index_records": len(matcher), "blocks": len(matcher._index),
        "generate_s": round(generated, 1), "build_s": round(built, 1), "build_cpu_s": round(built_cpu, 1),
        "build_us_per_record": round(built_cpu / len(matcher) * 1e6, 1),
        "index_memory_mb": round(memory / 2**20, 1), "name_cache": name.cache_info()._asdict(),
        "probes": probes, "match_ms_p50": round(statistics.median(timings) * 1e3, 2),
        "match_ms_p99": round(percentile(timings, 0.99) * 1e3, 2),
        "match_ms_max": round(max(timings) * 1e3, 2),
        "match_cpu_ms_p50": round(statistics.median(cpu) * 1e3, 2),
        "match_cpu_ms_p99": round(percentile(cpu, 0.99) * 1e3, 2),
        "load_average": os.getloadavg(), "cpus": os.cpu_count(),
        "candidates_p50": int(statistics.median(considered)), "candidates_p99": percentile(considered, 0.99),
        "figures": figures(result),
    }


def _line(label, counts):
    return (f"  {label:<24} scored {counts['scored']:>6}  (deterministic {counts['deterministic']:>6})  "
            f"precision {counts['precision']:.4f}  recall {counts['recall']:.4f}  "
            f"review {counts['review_share']:.2%} (right {counts['review_precision']:.2%})  "
            f"wrongly new {counts['split_share']:.2%}  links {counts['links']} wrong {counts['links'] - counts['right_links']}"
            f"  twins: wrong links {counts['twin_links_wrong']}, reviews {counts['twin_reviews']}/{counts['twin_probes']}")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m childlink_referral.matching.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quality-children", type=int, default=20_000)
    parser.add_argument("--children", type=int, default=300_000, help="children in the index for the timing")
    parser.add_argument("--probes", type=int, default=1_000)
    parser.add_argument("--skip-scale", action="store_true")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args(argv)
    report = {"thresholds": vars(THRESHOLDS), "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    print(f"thresholds (posterior log2-odds): link >= {THRESHOLDS.link_at:g}, new < {THRESHOLDS.new_below:g}, "
          f"margin {THRESHOLDS.margin:g}; decisions: {LINK}, {REVIEW}, new")
    started = time.perf_counter()
    report["quality"] = quality(args.quality_children)
    q = report["quality"]
    print(f"quality: {q['children']} children, {q['records']} records (seed {QUALITY_SEED}; weights from seed 1) "
          f"[{time.perf_counter() - started:.0f} s]")
    print(_line("not linkable by ID", q["as_sent"]))
    print(_line("national IDs hidden", q["national_ids_hidden"]))
    if not args.skip_scale:
        report["scale"] = s = scale(args.children, args.probes)
        print(f"scale: {s['known_children']} children in the index ({s['index_records']} records, {s['blocks']} blocks); "
              f"generated in {s['generate_s']} s")
        print(f"  index build {s['build_s']} s wall, {s['build_cpu_s']} s CPU ({s['build_us_per_record']} us CPU a record), "
              f"memory {s['index_memory_mb']} MB (RSS growth; name cache {s['name_cache']['currsize']}/{NAME_CACHE})")
        print(f"  match() over {s['probes']} incoming records: wall p50 {s['match_ms_p50']} ms, p99 {s['match_ms_p99']} ms, "
              f"max {s['match_ms_max']} ms; CPU p50 {s['match_cpu_ms_p50']} ms, p99 {s['match_cpu_ms_p99']} ms; "
              f"records scored p50 {s['candidates_p50']}, p99 {s['candidates_p99']}")
        print(f"  (load average {', '.join(f'{x:.1f}' for x in s['load_average'])} on {s['cpus']} CPUs: "
              "wall times include waiting for a CPU)")
        print(_line("at this size", s["figures"]))
    if args.json:
        with open(args.json, "w") as out:
            json.dump(report, out, indent=2, default=str)
    ok = q["as_sent"]["precision"] >= 0.99 and q["as_sent"]["recall"] >= 0.95
    print("targets (precision >= 0.99, recall >= 0.95 on records not linkable by ID):", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
