#!/usr/bin/env python3
"""Summarises the runs of magent-bench/load.sh: one table per workload, the medians, the ratios.

    memaslap_report.py RUN_DIR

RUN_DIR holds one memaslap output per run, named <workload>.<target>.<round>.txt, and samples.tsv with
one line per run: workload target round proxy_cpu_ticks backend_cpu_ticks peak_rss_kib clk_tck.

Latency percentiles are estimates: memaslap keeps only a log2 histogram (bucket i counts responses of
(2^(i-1), 2^i] microseconds), so a percentile is placed inside its bucket by log-linear interpolation and
is good to a factor of two at worst. Min, average and max are memaslap's own exact figures.
"""
import os
import re
import statistics
import sys

TARGETS = {
    "direct": "memcached direct",
    "twemproxy": "twemproxy (nutcracker)",
    "magent": "magent",
    "magent+backup": "magent + backup",
}
ORDER = list(TARGETS)


def parse_run(path):
    """The figures of one memaslap output, or None when it has no summary (memaslap failed)."""
    text = open(path, errors="replace").read()
    summary = re.search(r"Run time: ([\d.]+)s Ops: (\d+) TPS: (\d+)", text)
    if not summary:
        return None
    run = {
        "seconds": float(summary.group(1)),
        "ops": int(summary.group(2)),
        "tps": int(summary.group(3)),
        "misses": int(re.search(r"get_misses: (\d+)", text).group(1)),
        "cmd_get": int(re.search(r"cmd_get: (\d+)", text).group(1)),
        "cmd_set": int(re.search(r"cmd_set: (\d+)", text).group(1)),
    }
    block = re.search(r"Total Statistics \((\d+) events\)(.*?)\n\n", text, re.S)
    if block:
        body = block.group(2)
        run["events"] = int(block.group(1))
        run["avg"] = int(re.search(r"Avg:\s+(\d+)", body).group(1))
        run["max"] = int(re.search(r"Max:\s+(\d+)", body).group(1))
        dist = {}
        for row in re.findall(r"^\s+(\d+):((?:\s+\d+)+)\s*$", body.split("Log2 Dist:")[1], re.M):
            first = int(row[0])
            for k, count in enumerate(row[1].split()):
                dist[first + k] = int(count)
        run["dist"] = dist
    return run


def percentile(dist, p):
    """The p-th percentile in microseconds from memaslap's log2 histogram (see the module comment)."""
    total = sum(dist.values())
    if total == 0:
        return None
    wanted = p / 100.0 * total
    seen = 0
    for bucket in sorted(dist):
        count = dist[bucket]
        if count and seen + count >= wanted:
            if bucket == 0:
                return 1.0
            low = 2.0 ** (bucket - 1)
            return low * 2.0 ** ((wanted - seen) / count)
        seen += count
    return 2.0 ** max(dist)


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(value, digits=0):
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def main(run_dir):
    samples = {}
    samples_path = os.path.join(run_dir, "samples.tsv")
    if os.path.exists(samples_path):
        for line in open(samples_path):
            workload, target, rnd, proxy_ticks, backend_ticks, rss, hz = line.split()
            samples[(workload, target, int(rnd))] = (int(proxy_ticks), int(backend_ticks), int(rss), int(hz))

    runs = {}
    for name in sorted(os.listdir(run_dir)):
        m = re.fullmatch(r"(.+)\.(direct|twemproxy|magent|magent\+backup)\.(\d+)\.txt", name)
        if m:
            runs.setdefault(m.group(1), {}).setdefault(m.group(2), []).append(
                (int(m.group(3)), parse_run(os.path.join(run_dir, name))))

    for workload in runs:
        print(f"\n== workload {workload} ==")
        print("memaslap counts one op per key: a multi-get of n keys is n ops; latency is per request.\n"
              if workload.startswith("mget") else "", end="")
        header = (f"{'target':<24} {'ops/s per round':<34} {'median ops/s':>13} {'p50 us':>8} {'p95 us':>8}"
                  f" {'p99 us':>8} {'avg us':>7} {'max us':>8} {'misses':>7} {'proxy CPU us/op':>16}"
                  f" {'all CPU us/op':>14} {'peak RSS MiB':>13}")
        print(header)
        print("-" * len(header))
        medians = {}
        for target in ORDER:
            rounds = sorted(runs[workload].get(target, []), key=lambda r: r[0])
            if not rounds:
                continue
            good = [(rnd, r) for rnd, r in rounds if r]
            failed = len(rounds) - len(good)
            tps = [r["tps"] for _, r in good]
            p = {q: median([percentile(r["dist"], q) for _, r in good if "dist" in r]) for q in (50, 95, 99)}
            cpu_proxy, cpu_all, rss = [], [], []
            for rnd, r in good:
                s = samples.get((workload, target, rnd))
                if s and r["ops"]:
                    proxy_ticks, backend_ticks, peak_rss, hz = s
                    if target != "direct":
                        cpu_proxy.append(proxy_ticks / hz * 1e6 / r["ops"])
                    cpu_all.append((proxy_ticks + backend_ticks) / hz * 1e6 / r["ops"])
                    if peak_rss:
                        rss.append(peak_rss / 1024)
            medians[target] = {"tps": median(tps), **{f"p{q}": v for q, v in p.items()}}
            per_round = " ".join(f"{t:,}" for t in tps) + (f" ({failed} failed)" if failed else "")
            print(f"{TARGETS[target]:<24} {per_round:<34} {fmt(median(tps)):>13} {fmt(p[50]):>8}"
                  f" {fmt(p[95]):>8} {fmt(p[99]):>8} {fmt(median([r['avg'] for _, r in good])):>8}"
                  f" {fmt(median([r['max'] for _, r in good])):>8}"
                  f" {fmt(median([r['misses'] for _, r in good])):>7}"
                  f" {fmt(median(cpu_proxy), 1):>16} {fmt(median(cpu_all), 1):>14}"
                  f" {fmt(max(rss) if rss else None, 1):>13}")
        print()
        for a, b in (("magent", "twemproxy"), ("magent+backup", "twemproxy"), ("magent", "direct"),
                     ("magent+backup", "direct"), ("twemproxy", "direct")):
            if a in medians and b in medians and medians[b]["tps"] and medians[a]["tps"]:
                ratio = medians[a]["tps"] / medians[b]["tps"]
                line = f"{TARGETS[a] + ' / ' + TARGETS[b]:<50} throughput {ratio:5.2f}"
                if medians[a]["p99"] and medians[b]["p99"]:
                    line += f"   p99 {medians[a]['p99'] / medians[b]['p99']:5.2f}"
                print(line)


if __name__ == "__main__":
    main(sys.argv[1])
