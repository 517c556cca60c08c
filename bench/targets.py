#!/usr/bin/env python3
"""The targets of docs/benchmarks.md against the ratios of medians (ebpf / iptables) of one or
more benchmark runs, each a directory with results.json (bench/report.py): one table per run
(pinned, unpinned), a row per figure and topology. Usage: targets.py OUTDIR... Writes
targets.md into the first OUTDIR and prints it. Only the standard library is used."""

import json
import os
import sys

# (workload, metric, title, topology or None for both, bound, "le"|"ge")
TARGETS = [
    ("conn", "connect_p99_us", "connect p99", None, 1.0, "le"),
    ("conn", "conns_per_s", "connections/s", None, 1.15, "ge"),
    ("rr", "p50_us", "RR p50", "pod-remote", 0.85, "le"),
    ("rr", "p50_us", "RR p50", "two-pod", 0.65, "le"),
    ("bulk", "gbit_per_s", "bulk Gbit/s", None, 1.2, "ge"),
    ("http", "req_per_s", "HTTP req/s", None, 1.1, "ge"),
    ("mixed", "conns_per_s", "mixed conns/s", None, None, "ge"),
    ("mixed", "cpu_us_per_conn", "mixed CPU/conn", None, None, "le"),
]
TOPOS = ["pod-remote", "two-pod"]


def medians(out):
    with open(os.path.join(out, "results.json")) as f:
        res = json.load(f)
    med = {}
    errors = {}
    for s in res["summary"]:
        if s.get("n") is not None:
            continue
        for k, v in s.items():
            if isinstance(v, dict) and "median" in v:
                med[(s["topo"], s["workload"], s["mode"], k)] = v["median"]
            elif k == "errors" and isinstance(v, dict):
                errors[(s["topo"], s["workload"], s["mode"])] = v.get("sum", 0)
    return res.get("meta", {}), med, errors


def table(out):
    meta, med, errors = medians(out)
    pin = meta.get("pinned_cpus", "?")
    L = [f"### {'unpinned' if pin == 'none' else 'pinned to CPU ' + str(pin)} "
         f"(`{out}`, {meta.get('reps', '?')} repetition(s){', quick' if meta.get('quick') else ''})\n",
         "| figure | topology | ebpf/iptables | ebpf-noaccel/iptables | target | met |",
         "|---|---|---|---|---|---|"]
    for wl, metric, title, only, bound, way in TARGETS:
        for topo in TOPOS:
            if only and topo != only:
                continue
            i = med.get((topo, wl, "iptables", metric))
            e = med.get((topo, wl, "ebpf", metric))
            n = med.get((topo, wl, "ebpf-noaccel", metric))
            if i is None or e is None or not i:
                continue
            r, rn = e / i, (n / i if n is not None else None)
            target, met = "–", "–"
            if bound is not None:
                target = f"{'≤' if way == 'le' else '≥'} {bound:.2f}"
                ok = r <= bound if way == "le" else r >= bound
                if wl == "bulk":
                    target += ", 0 errors"
                    ok = ok and not errors.get((topo, wl, "ebpf"))
                met = "yes" if ok else "**no**"
            L.append(f"| {title} | {topo} | {r:.2f} | "
                     f"{'–' if rn is None else f'{rn:.2f}'} | {target} | {met} |")
    L.append("")
    return L


def main():
    if len(sys.argv) < 2:
        print("usage: targets.py OUTDIR...", file=sys.stderr)
        return 2
    L = ["## Targets (ratios of medians, ebpf against iptables)\n"]
    for out in sys.argv[1:]:
        if os.path.exists(os.path.join(out, "results.json")):
            L += table(out)
    md = "\n".join(L)
    with open(os.path.join(sys.argv[1], "targets.md"), "w") as f:
        f.write(md + "\n")
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
