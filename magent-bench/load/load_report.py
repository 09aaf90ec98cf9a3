#!/usr/bin/env python3
"""Summarises the runs of magent-bench/load.sh: one table per workload, medians across rounds, ratios.

    load_report.py RUN_DIR

RUN_DIR holds one output per run, named <workload>.<target>.<round>.txt, from either load generator:

* LoadClient (the default): its last line is "RESULT key=value ...", with exact latency percentiles and
  the CPU ticks of the proxy and of the memcached behind it over the measured window;
* memaslap (--client=memaslap): its summary, and samples.tsv beside it with one line per run
  (workload target round proxy_cpu_ticks backend_cpu_ticks peak_rss_kib clk_tck). memaslap keeps only a
  log2 histogram (bucket i counts responses of (2^(i-1), 2^i] microseconds), so its percentiles are placed
  inside their bucket by log-linear interpolation: good to a factor of two at worst.
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
    "baseline": "magent baseline jar",
}
ORDER = list(TARGETS)
HZ = os.sysconf("SC_CLK_TCK")


def parse_loadclient(text):
    m = re.search(r"^RESULT (.*)$", text, re.M)
    if not m:
        return None
    f = dict(kv.split("=", 1) for kv in m.group(1).split())
    requests = int(f["requests"])
    run = {
        "rps": float(f["rps"]), "kps": float(f["kps"]), "requests": requests,
        "p50": float(f["p50"]), "p95": float(f["p95"]), "p99": float(f["p99"]), "p999": float(f["p999"]),
        "avg": float(f["avg"]), "max": float(f["max"]),
        "errors": int(f["errors"]) + int(f["closed"]), "misses": int(f["misses"]),
        "rss": int(f.get("proxy_rss_peak_kib", 0)),
    }
    if requests:
        run["proxy_cpu"] = int(f.get("proxy_cpu_ticks", 0)) / HZ * 1e6 / requests
        run["all_cpu"] = (int(f.get("proxy_cpu_ticks", 0)) + int(f.get("backend_cpu_ticks", 0))) / HZ * 1e6 / requests
    return run


def percentile_log2(dist, p):
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
            return 2.0 ** (bucket - 1) * 2.0 ** ((wanted - seen) / count)
        seen += count
    return 2.0 ** max(dist)


def parse_memaslap(text, sample):
    summary = re.search(r"Run time: ([\d.]+)s Ops: (\d+) TPS: (\d+)", text)
    if not summary:
        return None
    ops = int(summary.group(2))
    run = {"rps": None, "kps": float(summary.group(3)), "requests": ops, "p999": None,
           "misses": int(re.search(r"get_misses: (\d+)", text).group(1)), "errors": 0, "rss": 0}
    block = re.search(r"Total Statistics \((\d+) events\)(.*?)\n\n", text, re.S)
    if block:
        body = block.group(2)
        run["avg"] = float(re.search(r"Avg:\s+(\d+)", body).group(1))
        run["max"] = float(re.search(r"Max:\s+(\d+)", body).group(1))
        dist = {}
        for row in re.findall(r"^\s+(\d+):((?:\s+\d+)+)\s*$", body.split("Log2 Dist:")[1], re.M):
            for k, count in enumerate(row[1].split()):
                dist[int(row[0]) + k] = int(count)
        events = int(block.group(1))
        run["rps"] = events / float(summary.group(1))
        for q in (50, 95, 99):
            run[f"p{q}"] = percentile_log2(dist, q)
    if sample and ops:
        proxy_ticks, backend_ticks, _, hz = sample
        run["proxy_cpu"] = proxy_ticks / hz * 1e6 / ops
        run["all_cpu"] = (proxy_ticks + backend_ticks) / hz * 1e6 / ops
    return run


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(value, digits=0):
    return "-" if value is None else f"{value:,.{digits}f}"


def main(run_dir):
    samples = {}
    samples_path = os.path.join(run_dir, "samples.tsv")
    if os.path.exists(samples_path):
        for line in open(samples_path):
            workload, target, rnd, proxy_ticks, backend_ticks, rss, hz = line.split()
            samples[(workload, target, int(rnd))] = (int(proxy_ticks), int(backend_ticks), int(rss), int(hz))

    runs = {}
    for name in sorted(os.listdir(run_dir)):
        m = re.fullmatch(r"(basic|mget10|mget100|large|deep)\.(direct|twemproxy|magent|magent\+backup|baseline"
                         r"|magent-(?:io_uring|epoll|nio)-\d+t)\.(\d+)\.txt", name)
        if not m:
            continue
        workload, target, rnd = m.group(1), m.group(2), int(m.group(3))
        variant = re.fullmatch(r"magent-(io_uring|epoll|nio)-(\d+)t", target)
        if variant and target not in TARGETS:
            TARGETS[target] = f"magent {variant.group(1)}, {variant.group(2)} loop" + ("s" if variant.group(2) != "1" else "")
            ORDER.append(target)
        text = open(os.path.join(run_dir, name), errors="replace").read()
        run = parse_loadclient(text) if "RESULT " in text or "LoadClient" in text \
            else parse_memaslap(text, samples.get((workload, target, rnd)))
        runs.setdefault(workload, {}).setdefault(target, []).append((rnd, run))

    for workload in ("basic", "mget10", "mget100", "large", "deep"):
        if workload not in runs:
            continue
        print(f"\n== workload {workload} ==")
        if workload.startswith("mget"):
            print("a request is one multi-get; keys/s counts each key of a get and each set once (memaslap's ops)")
        if workload == "deep":
            depth = re.search(r"depth=(\d+)", "".join(open(os.path.join(run_dir, n)).read() for n in os.listdir(run_dir)
                                                      if n.startswith("deep.") and n.endswith(".txt")))
            print(f"10 connections with {depth.group(1) if depth else '?'} requests in flight each; a request's latency"
                  " runs from its own send to its reply, so it includes the wait behind the requests before it on its"
                  " connection")
        header = (f"{'target':<24} {'requests/s per round':<28} {'median req/s':>12} {'keys/s':>10}"
                  f" {'p50 us':>8} {'p95 us':>8} {'p99 us':>8} {'p99.9 us':>9} {'max us':>8} {'errors':>6}"
                  f" {'misses':>7} {'proxy CPU us/req':>16} {'+memcached':>11} {'peak RSS MiB':>12}")
        print(header)
        print("-" * len(header))
        medians = {}
        for target in ORDER:
            rounds = sorted(runs[workload].get(target, []), key=lambda r: r[0])
            if not rounds:
                continue
            good = [r for _, r in rounds if r]
            failed = len(rounds) - len(good)

            def med(key):
                return median([r.get(key) for r in good])
            rps = [r["rps"] for r in good if r["rps"] is not None]
            medians[target] = {"rps": med("rps"), "p99": med("p99")}
            rss = [r["rss"] for r in good if r["rss"]]
            per_round = " ".join(f"{v:,.0f}" for v in rps) + (f" ({failed} failed)" if failed else "")
            print(f"{TARGETS[target]:<24} {per_round:<28} {fmt(med('rps')):>12} {fmt(med('kps')):>10}"
                  f" {fmt(med('p50')):>8} {fmt(med('p95')):>8} {fmt(med('p99')):>8} {fmt(med('p999')):>9}"
                  f" {fmt(med('max')):>8} {fmt(sum(r['errors'] for r in good)):>6} {fmt(med('misses')):>7}"
                  f" {fmt(med('proxy_cpu') if target != 'direct' else None, 1):>16} {fmt(med('all_cpu'), 1):>11}"
                  f" {fmt(max(rss) / 1024 if rss else None, 1):>12}")
        print()
        variants = [t for t in ORDER if t.startswith("magent-")]
        pairs = [("magent", "twemproxy"), ("magent+backup", "twemproxy"), ("magent", "baseline"),
                 ("baseline", "twemproxy")] + [(v, "twemproxy") for v in variants]
        for v in variants:  # io_uring against epoll with as many loops
            if v.startswith("magent-io_uring-"):
                pairs.append((v, v.replace("io_uring", "epoll")))
        pairs += [("magent", "direct"), ("magent+backup", "direct"), ("twemproxy", "direct")]
        pairs += [(v, "direct") for v in variants]
        for a, b in pairs:
            if a in medians and b in medians and medians[a]["rps"] and medians[b]["rps"]:
                line = f"{TARGETS[a] + ' / ' + TARGETS[b]:<50} throughput {medians[a]['rps'] / medians[b]['rps']:5.2f}"
                if medians[a]["p99"] and medians[b]["p99"]:
                    line += f"   p99 latency {medians[a]['p99'] / medians[b]['p99']:5.2f}"
                print(line)


if __name__ == "__main__":
    main(sys.argv[1])
