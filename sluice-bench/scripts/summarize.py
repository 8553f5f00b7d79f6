#!/usr/bin/env python3
"""Markdown tables from overhead.sh's raw.jsonl: medians over rounds, deltas = median over rounds of
(sluice - direct) from the same round. Usage: summarize.py raw.jsonl [env.txt]"""
import json
import statistics
import sys
from collections import defaultdict

TARGET_P50_MS, TARGET_P99_MS = 0.3, 1.0


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def ms(us, signed=False):
    if us is None:
        return "-"
    return ("%+.3f" if signed else "%.3f") % (us / 1000.0)


rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
runs = defaultdict(dict)  # (test) -> {(round, target): json}
for j in rows:
    runs[j["test"]][(j["round"], j["target"])] = j
rounds = sorted({j["round"] for j in rows})


def series(test, target, key):
    return [runs[test].get((r, target), {}).get(key) for r in rounds]


def deltas(test, key):
    out = []
    for r in rounds:
        a, b = runs[test].get((r, "direct"), {}), runs[test].get((r, "sluice"), {})
        if key in a and key in b:
            out.append(b[key] - a[key])
    return out


def cpu_us_per_req(test, target, ticks_key, count_key):
    vals = []
    for r in rounds:
        j = runs[test].get((r, target))
        if j and j.get(count_key):
            vals.append(j[ticks_key] * 1e6 / j["clk_tck"] / j[count_key])
    return med(vals)


def errors(test, target):
    return sum(int(runs[test].get((r, target), {}).get("errors", 0) or 0) + int(runs[test].get((r, target), {}).get("failed", 0))
               for r in rounds)


if len(sys.argv) > 2:
    print("```")
    print(open(sys.argv[2]).read().rstrip())
    print("```\n")
print(f"{len(rounds)} interleaved round(s); values are medians over rounds; Δ = median over rounds of (sluice − direct) "
      "from the same round. Latency = olgen's request write → last byte, ms.\n")

fixed = sorted([t for t in runs if t.startswith("fixed_")], key=lambda t: -int(t.split("_")[1]))
if fixed:
    print("### Non-streaming, open loop (fixed rate)\n")
    print("| rate | target | p50 | p90 | p99 | p99.9 | max | Δp50 | Δp90 | Δp99 | co-p99 | errors | gateway CPU µs/req |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for t in fixed:
        rate = t.split("_")[1]
        for tg in ("direct", "sluice"):
            d = tg == "sluice"
            print(f"| {rate} req/s | {tg} | {ms(med(series(t, tg, 'svc_p50_us')))} | {ms(med(series(t, tg, 'svc_p90_us')))} | "
                  f"{ms(med(series(t, tg, 'svc_p99_us')))} | {ms(med(series(t, tg, 'svc_p999_us')))} | {ms(med(series(t, tg, 'svc_max_us')))} | "
                  + (f"**{ms(med(deltas(t, 'svc_p50_us')), True)}** | {ms(med(deltas(t, 'svc_p90_us')), True)} | **{ms(med(deltas(t, 'svc_p99_us')), True)}** | "
                     if d else "0 | 0 | 0 | ")
                  + f"{ms(med(series(t, tg, 'co_p99_us')))} | {errors(t, tg)} | "
                  + (f"{cpu_us_per_req(t, 'sluice', 'gw_ticks', 'sent_total'):.0f}" if d and cpu_us_per_req(t, 'sluice', 'gw_ticks', 'sent_total') is not None else "-")
                  + " |")
    print()

sse = sorted([t for t in runs if t.startswith("sse_")], key=lambda t: -int(t.split("_")[1]))
if sse:
    print("### Streaming (SSE), open loop\n")
    print("| rate | target | TTFB p50 | TTFB p99 | total p50 | total p90 | total p99 | ΔTTFB p50 | ΔTTFB p99 | Δtotal p50 | Δtotal p99 | events/stream | errors | gateway CPU µs/stream |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for t in sse:
        rate = t.split("_")[1]
        for tg in ("direct", "sluice"):
            d = tg == "sluice"
            c = cpu_us_per_req(t, "sluice", "gw_ticks", "sent_total") if d else None
            print(f"| {rate}/s | {tg} | {ms(med(series(t, tg, 'ttfb_p50_us')))} | {ms(med(series(t, tg, 'ttfb_p99_us')))} | "
                  f"{ms(med(series(t, tg, 'svc_p50_us')))} | {ms(med(series(t, tg, 'svc_p90_us')))} | {ms(med(series(t, tg, 'svc_p99_us')))} | "
                  + (f"{ms(med(deltas(t, 'ttfb_p50_us')), True)} | {ms(med(deltas(t, 'ttfb_p99_us')), True)} | "
                     f"{ms(med(deltas(t, 'svc_p50_us')), True)} | {ms(med(deltas(t, 'svc_p99_us')), True)} | " if d else "0 | 0 | 0 | 0 | ")
                  + f"{med(series(t, tg, 'events_avg'))} | {errors(t, tg)} | " + (f"{c:.0f}" if c is not None else "-") + " |")
    print()

if "max" in runs:
    print("### Closed loop max throughput (wrk, sim moved to the generator CPU so the gateway has a whole CPU)\n")
    print("| target | req/s | p50 | p99 | errors | gateway CPU µs/req | sim CPU µs/req |")
    print("|---|---|---|---|---|---|---|")
    for tg in ("direct", "sluice"):
        js = [runs["max"].get((r, tg), {}) for r in rounds]
        errs = sum(sum(int(j.get(k, 0)) for k in ("err_connect", "err_read", "err_write", "err_status", "err_timeout")) for j in js)
        g = cpu_us_per_req("max", tg, "gw_ticks", "requests") if tg == "sluice" else None
        s = cpu_us_per_req("max", tg, "sim_ticks", "requests")
        print(f"| {tg} | {med([j.get('rps') for j in js]) or 0:.0f} | {ms(med([j.get('lat_p50_us') for j in js]))} | "
              f"{ms(med([j.get('lat_p99_us') for j in js]))} | {errs} | " + (f"{g:.0f}" if g is not None else "-") + " | "
              + (f"{s:.0f}" if s is not None else "-") + " |")
    print()

if "fixed_500" in runs:
    d50, d99 = med(deltas("fixed_500", "svc_p50_us")), med(deltas("fixed_500", "svc_p99_us"))
    if d50 is not None and d99 is not None:
        ok50, ok99 = d50 / 1000 <= TARGET_P50_MS, d99 / 1000 <= TARGET_P99_MS
        print(f"Target at 500 req/s: added p50 ≤ {TARGET_P50_MS} ms → {ms(d50, True)} ms **{'met' if ok50 else 'MISSED'}**; "
              f"added p99 ≤ {TARGET_P99_MS} ms → {ms(d99, True)} ms **{'met' if ok99 else 'MISSED'}**. "
              f"Per-round Δp50: {', '.join(ms(x, True) for x in deltas('fixed_500', 'svc_p50_us'))}; "
              f"Δp99: {', '.join(ms(x, True) for x in deltas('fixed_500', 'svc_p99_us'))}.")
