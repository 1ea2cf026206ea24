#!/usr/bin/python3
"""report.py - turns one bench/run into report.json, report.md and plot.png.

usage: report.py OUT_DIR

Reads what bench/run left in OUT_DIR: meta.json, and for each data size N
load-N.json (allot-load), commit-N.json (allot-commit), server-N.json
(allotd's memory, data size, generation time). Judges the targets of
docs/bench.md on those numbers, writes the reports, and draws the plot with
gnuplot (bench/plot.gp). Standard library only: run it with Debian's
/usr/bin/python3.
"""
import json
import os
import subprocess
import sys

SCENARIOS = ["floor", "preview-1", "allotments", "price-1", "price-10", "retry"]


def load(path):
    with open(path) as f:
        return json.load(f)


def pick(results, scenario, inflight):
    for r in results:
        if r["scenario"] == scenario and r["inflight"] == inflight and r["calls"] > 0:
            return r
    return None


def floor_mean(results, inflight):
    """The floor of a level: mean of the runs that open and close it."""
    runs = [r for r in results if r["scenario"] in ("floor", "floor-end")
            and r["inflight"] == inflight and r["calls"] > 0]
    if not runs:
        return None
    return {k: sum(r[k] for r in runs) / len(runs) for k in ("p50_us", "p99_us", "calls_per_s")}


def drift(results):
    """Per level, how far floor moved between opening and closing it."""
    out = []
    for level in sorted({r["inflight"] for r in results}):
        a, b = pick(results, "floor", level), pick(results, "floor-end", level)
        if a and b:
            out.append(f"{level} in flight: p50 {100 * (b['p50_us'] / a['p50_us'] - 1):+.0f}%, "
                       f"calls/s {100 * (b['calls_per_s'] / a['calls_per_s'] - 1):+.0f}%")
    return "; ".join(out) or "not measured"


def fmt_members(n):
    return f"{n // 1000000}M" if n >= 1000000 and n % 1000000 == 0 else (
        f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n))


def judge(name, measured, limit, ok, note=""):
    return {"target": name, "measured": measured, "limit": limit,
            "met": bool(ok), "note": note}


def targets(main, commit, sizes):
    """The targets of docs/bench.md, on the main size's run (same-run floor)."""
    res = main["load"]["results"]
    out = []
    f1, f64 = floor_mean(res, 1), floor_mean(res, 64)
    for s in ("preview-1", "allotments"):
        r1, r64 = pick(res, s, 1), pick(res, s, 64)
        if r1 and f1:
            x = r1["p50_us"] / f1["p50_us"]
            out.append(judge(f"{s}: p50 at 1 in flight within 1.2x floor",
                             f"{r1['p50_us']:.0f} us = {x:.2f}x floor ({f1['p50_us']:.0f} us)",
                             "<= 1.20x", x <= 1.2))
        if r64 and f64:
            x = r64["calls_per_s"] / f64["calls_per_s"]
            out.append(judge(f"{s}: throughput at 64 in flight >= 0.8x floor's",
                             f"{r64['calls_per_s']:.0f}/s = {x:.2f}x floor ({f64['calls_per_s']:.0f}/s)",
                             ">= 0.80x", x >= 0.8))
    p1, c50 = pick(res, "price-1", 1), commit["p50_us"]
    if p1 and f1:
        limit = f1["p50_us"] + 1.2 * c50
        ci = main.get("commit_invoice")
        out.append(judge("price-1: p50 at 1 in flight <= floor + 1.2 x bare durable commit",
                         f"{p1['p50_us']:.0f} us" + (
                             f" = floor + {(p1['p50_us'] - f1['p50_us']) / c50:.1f} bare commits"
                             f" = floor + {(p1['p50_us'] - f1['p50_us']) / ci['p50_us']:.1f} "
                             f"invoice-sized commits ({ci['p50_us']:.0f} us)" if ci else ""),
                         f"<= {limit:.0f} us ({f1['p50_us']:.0f} + 1.2 x {c50:.0f})",
                         p1["p50_us"] <= limit))
    p64 = pick(res, "price-1", 64)
    if p64 and f64:
        x = p64["calls_per_s"] / f64["calls_per_s"]
        out.append(judge("price-1: throughput at 64 in flight (durable) >= 0.5x floor's",
                         f"{p64['calls_per_s']:.0f}/s = {x:.2f}x floor ({f64['calls_per_s']:.0f}/s)",
                         ">= 0.50x", x >= 0.5))
        x = p64["p99_us"] / p64["p50_us"]
        out.append(judge("price-1: p99 at 64 in flight < 10x its p50",
                         f"p99 {p64['p99_us']:.0f} us = {x:.1f}x p50 ({p64['p50_us']:.0f} us)",
                         "< 10x", x < 10))
    for level in (1, 64):
        a, b = pick(res, "price-1", level), pick(res, "price-10", level)
        if a and b:
            if level == 1:  # latency per line
                x = (b["p50_us"] / 10) / a["p50_us"]
                how = f"p50/line {b['p50_us'] / 10:.0f} us vs {a['p50_us']:.0f} us"
            else:  # CPU and disk per line, from throughput
                x = a["lines_per_s"] / b["lines_per_s"]
                how = f"{b['lines_per_s']:.0f} lines/s vs {a['lines_per_s']:.0f} lines/s"
            out.append(judge(f"price-10: cost per line <= 0.3x price-1's ({level} in flight)",
                             f"{x:.2f}x ({how})", "<= 0.30x", x <= 0.3))
    if len(sizes) >= 2:
        lo, hi = sizes[0], sizes[-1]
        for s in ("preview-1", "allotments", "price-1", "retry"):
            a, b = pick(lo["load"]["results"], s, 1), pick(hi["load"]["results"], s, 1)
            if not (a and b):
                continue
            raw = b["p50_us"] / a["p50_us"]
            norm = b["p50_x_floor"] / a["p50_x_floor"] if a["p50_x_floor"] else raw
            out.append(judge(
                f"{s}: p50 at 1 in flight grows <= 1.3x from {fmt_members(lo['members'])} "
                f"to {fmt_members(hi['members'])} members",
                f"{raw:.2f}x raw ({a['p50_us']:.0f} -> {b['p50_us']:.0f} us); "
                f"{norm:.2f}x in units of the same run's floor",
                "<= 1.30x", norm <= 1.3,
                "judged on the floor-relative ratio: runs at different sizes are minutes apart"))
    return out


def md_results(load):
    rows = ["| scenario | in flight | calls/s | lines/s | p50 µs | p90 µs | p99 µs | p99.9 µs "
            "| p50 ÷ floor | p99 ÷ floor | calls/s ÷ floor | server CPU µs/call | errors |",
            "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]
    for level in sorted({r["inflight"] for r in load["results"]}):
        for s in SCENARIOS + ["floor-end"]:
            r = pick(load["results"], s, level)
            if not r:
                continue
            rows.append(
                f"| {s} | {level} | {r['calls_per_s']:.0f} | "
                f"{r['lines_per_s']:.0f} | {r['p50_us']:.0f} | {r['p90_us']:.0f} | "
                f"{r['p99_us']:.0f} | {r['p999_us']:.0f} | {r['p50_x_floor']:.2f} | "
                f"{r['p99_x_floor']:.2f} | {r['rate_x_floor']:.2f} | "
                f"{r['server_cpu_us_per_call']:.0f} | {r['errors']} |")
    return "\n".join(rows)


def md_growth(sizes):
    head = "| scenario (1 in flight) | " + " | ".join(
        f"p50 µs at {fmt_members(z['members'])} (÷ floor)" for z in sizes) + " |"
    rows = [head, "|---|" + "--:|" * len(sizes)]
    for s in SCENARIOS:
        cells = []
        for z in sizes:
            r = pick(z["load"]["results"], s, 1)
            cells.append(f"{r['p50_us']:.0f} ({r['p50_x_floor']:.2f}×)" if r else "–")
        if any(c != "–" for c in cells):
            rows.append(f"| {s} | " + " | ".join(cells) + " |")
    rows.append("| bare durable commit p50 / p99 µs | " + " | ".join(
        f"{z['commit']['p50_us']:.0f} / {z['commit']['p99_us']:.0f}" for z in sizes) + " |")
    rows.append("| allotd VmRSS after the run (anon + file) | " + " | ".join(
        f"{z['server']['VmRSS_kb'] / 1024:.0f} MiB ({z['server']['RssAnon_kb'] / 1024:.0f} + "
        f"{z['server']['RssFile_kb'] / 1024:.0f})" for z in sizes) + " |")
    rows.append("| data directory | " + " | ".join(
        f"{z['server']['data_bytes'] / 2**20:.0f} MiB" for z in sizes) + " |")
    rows.append("| generation (new members) | " + " | ".join(
        f"{z['server']['gen_s']:.1f} s" for z in sizes) + " |")
    return "\n".join(rows)


def markdown(meta, main, sizes, tg):
    m = meta
    lines = [
        f"# allot benchmark, {m['date']}",
        "",
        f"- command: `{m['command']}`",
        f"- machine: {m['nproc']} cores (`nproc`), {m['cpu']}, {m['mem_gib']} GiB, "
        f"kernel {m['kernel']}",
        f"- code: {m['git']}",
        f"- load average before / after: {m['loadavg_before']} / {m.get('loadavg_after', '?')}",
        f"- each run: {main['load']['warmup_s']:g} s warm-up + {main['load']['duration_s']:g} s "
        f"measured, {main['load']['channels']} channel(s); ratios are to floor at the same "
        f"in-flight level in the same allot-load process",
        "",
        f"## All scenarios at {fmt_members(main['members'])} members",
        "",
        md_results(main["load"]),
        "",
        f"Floor drift within each level (floor runs first and last; ratios use the mean): "
        f"{drift(main['load']['results'])}.",
        "",
        f"Bare durable LMDB commit on this disk (one record): p50 "
        f"{main['commit']['p50_us']:.0f} µs, p99 {main['commit']['p99_us']:.0f} µs. "
        + (f"Invoice-sized durable commit (8 random records of a 100k-record database: "
           f"about 16 page writes, as many as one priced invoice's 14-17): p50 "
           f"{main['commit_invoice']['p50_us']:.0f} µs, p99 "
           f"{main['commit_invoice']['p99_us']:.0f} µs." if main.get("commit_invoice") else ""),
        "",
        "## Growth with data",
        "",
        md_growth(sizes),
        "",
        "## Targets",
        "",
        "| target | measured | limit | met |",
        "|---|---|---|---|",
    ]
    for t in tg:
        lines.append(f"| {t['target']} | {t['measured']} | {t['limit']} | "
                     f"{'yes' if t['met'] else '**no**'} |")
    notes = {t["note"] for t in tg if t["note"]}
    lines += [""] + [f"Note: {n}." for n in sorted(notes)]
    return "\n".join(lines) + "\n"


def plot(out, main, sizes):
    """Data files for bench/plot.gp, then gnuplot."""
    res = main["load"]["results"]
    levels = sorted({r["inflight"] for r in res})
    for tag, level in (("lo", levels[0]), ("hi", levels[-1])):
        with open(os.path.join(out, f"plot-lat-{tag}.dat"), "w") as f:
            f.write(f"# scenario p50 p90 p99 p99.9 (us) at {level} in flight\n")
            for s in SCENARIOS:
                r = pick(res, s, level)
                if r:
                    f.write(f"{s} {r['p50_us']} {r['p90_us']} {r['p99_us']} {r['p999_us']}\n")
    with open(os.path.join(out, "plot-rate.dat"), "w") as f:
        f.write("inflight " + " ".join(SCENARIOS) + "\n")  # calls/s
        for level in levels:
            f.write(f"{level} " + " ".join(
                str(pick(res, s, level)["calls_per_s"]) if pick(res, s, level) else "NaN"
                for s in SCENARIOS) + "\n")
    with open(os.path.join(out, "plot-growth.dat"), "w") as f:
        f.write("members " + " ".join(SCENARIOS) + "\n")  # p50 us, 1 in flight
        for z in sizes:
            f.write(f"{z['members']} " + " ".join(
                str(pick(z["load"]["results"], s, 1)["p50_us"])
                if pick(z["load"]["results"], s, 1) else "NaN" for s in SCENARIOS) + "\n")
    title = (f"allot on {main['meta_short']}: {fmt_members(main['members'])} members; "
             f"in flight {levels[0]} and {levels[-1]}")
    gp = os.path.join(os.path.dirname(os.path.abspath(__file__)), "plot.gp")
    subprocess.run(["gnuplot", "-e", f"outdir='{out}'; title='{title}'; "
                    f"lo={levels[0]}; hi={levels[-1]}", gp], check=True)


def main():
    out = sys.argv[1]
    meta = load(os.path.join(out, "meta.json"))
    sizes = []
    for n in meta["sizes"]:
        z = {"members": n,
             "load": load(os.path.join(out, f"load-{n}.json")),
             "commit": load(os.path.join(out, f"commit-{n}.json")),
             "server": load(os.path.join(out, f"server-{n}.json"))}
        sizes.append(z)
    main_size = next(z for z in sizes if z["members"] == meta["main_size"])
    ci = os.path.join(out, "commit-invoice.json")
    if os.path.exists(ci):
        main_size["commit_invoice"] = load(ci)
    main_size["meta_short"] = f"{meta['nproc']} cores, {meta['date'][:10]}"
    tg = targets(main_size, main_size["commit"], sizes)
    report = {"meta": meta, "main_size": meta["main_size"],
              "sizes": [{k: v for k, v in z.items() if k != "meta_short"} for z in sizes],
              "targets": tg}
    with open(os.path.join(out, "report.json"), "w") as f:
        json.dump(report, f, indent=1)
    with open(os.path.join(out, "report.md"), "w") as f:
        f.write(markdown(meta, main_size, sizes, tg))
    plot(out, main_size, sizes)


if __name__ == "__main__":
    main()
