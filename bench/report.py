#!/usr/bin/env python3
"""Turns the benchmark's raw figures (raw.jsonl, meta.json) into results.md (medians with
min/max over repetitions, ratios), results.json (meta, raw records, medians) and PNG plots drawn
by gnuplot. Usage: report.py OUTDIR. Only the standard library is used."""

import json
import os
import re
import statistics
import subprocess
import sys

MODES = ["direct", "iptables", "ebpf", "ebpf-noaccel"]
COLOR = {"direct": "#808080", "iptables": "#d95f02", "ebpf": "#1b9e77", "ebpf-noaccel": "#7570b3"}
TOPOS = ["pod-remote", "two-pod"]
TOPO_TITLE = {
    "pod-remote": "one pod, remote server",
    "two-pod": "two pods on one node",
}
# workload -> [(metric, column title, better: "low"|"high"|None, decimals)]
METRICS = {
    "rr": [
        ("p50_us", "p50 µs", "low", 1),
        ("p90_us", "p90 µs", "low", 1),
        ("p99_us", "p99 µs", "low", 1),
        ("p999_us", "p99.9 µs", "low", 1),
        ("rr_per_s", "RR/s", "high", 0),
        ("cpu_us_per_req", "CPU µs/req", "low", 2),
    ],
    "bulk": [
        ("gbit_per_s", "Gbit/s", "high", 2),
        ("cpu_s_per_gb", "CPU s/GB", "low", 3),
        ("retransmits", "retransmits", None, 0),
        ("errors", "errors", None, 0),
        ("enomem", "ENOMEM", None, 0),
    ],
    "conn": [
        ("conns_per_s", "conns/s", "high", 0),
        ("connect_p50_us", "connect p50 µs", "low", 0),
        ("connect_p99_us", "connect p99 µs", "low", 0),
        ("total_p50_us", "conn total p50 µs", "low", 0),
        ("cpu_us_per_conn", "CPU µs/conn", "low", 1),
        ("failed", "failed", None, 0),
    ],
    "mixed": [
        ("conns_per_s", "conns/s", "high", 0),
        ("short_total_p50_us", "short total p50 µs", "low", 0),
        ("short_total_p99_us", "short total p99 µs", "low", 0),
        ("long_total_p50_us", "long total p50 µs", "low", 0),
        ("cpu_us_per_conn", "CPU µs/conn", "low", 1),
        ("failed", "failed", None, 0),
    ],
    "http": [
        ("req_per_s", "req/s", "high", 0),
        ("p50_us", "p50 µs", "low", 0),
        ("p99_us", "p99 µs", "low", 0),
        ("cpu_us_per_req", "CPU µs/req", "low", 1),
        ("socket_errors", "socket errors", None, 0),
    ],
    "dns": [
        ("qps", "queries/s", "high", 0),
        ("p50_us", "p50 µs", "low", 1),
        ("p99_us", "p99 µs", "low", 1),
        ("cpu_us_per_query", "CPU µs/query", "low", 2),
        ("failed", "failed", None, 0),
    ],
}
WORKLOAD_TITLE = {
    "rr": "request/response, 64 B, one persistent connection (sockperf ping-pong, round trip)",
    "bulk": "bulk, one unthrottled stream (iperf3)",
    "conn": "new connections: connect, 64 B echoed, close (tcptool --repeat)",
    "http": "HTTP/1.1 keep-alive through HAProxy sidecars to nginx (wrk)",
    "mixed": "mixed: at once, 90% short connections (1-3 exchanges of 64 B) to one destination, "
    "10% long ones (200 exchanges) to another (tcptool --exchanges)",
    "dns": "DNS capture: UDP queries sent with sendto() to the remote host's port 53, answered "
           "by the sidecar's DNS server on 127.0.0.1:15053, one at a time (dnsload; direct: "
           "sent to 127.0.0.1:15053 itself)",
}
# The figures the ratio table compares.
RATIO_KEYS = [
    ("rr", "p50_us", "RR p50"),
    ("rr", "p99_us", "RR p99"),
    ("rr", "rr_per_s", "RR/s"),
    ("rr", "cpu_us_per_req", "RR CPU/req"),
    ("bulk", "gbit_per_s", "bulk Gbit/s"),
    ("bulk", "cpu_s_per_gb", "bulk CPU/GB"),
    ("conn", "conns_per_s", "conns/s"),
    ("conn", "connect_p50_us", "connect p50"),
    ("conn", "connect_p99_us", "connect p99"),
    ("conn", "cpu_us_per_conn", "CPU/conn"),
    ("mixed", "conns_per_s", "mixed conns/s"),
    ("mixed", "short_total_p99_us", "mixed short p99"),
    ("mixed", "long_total_p50_us", "mixed long p50"),
    ("mixed", "cpu_us_per_conn", "mixed CPU/conn"),
    ("http", "req_per_s", "HTTP req/s"),
    ("http", "p99_us", "HTTP p99"),
    ("http", "cpu_us_per_req", "HTTP CPU/req"),
    ("dns", "qps", "DNS queries/s"),
    ("dns", "p99_us", "DNS p99"),
    ("dns", "cpu_us_per_query", "DNS CPU/query"),
]
SUMMED = {"errors", "enomem", "failed", "socket_errors", "retransmits"}


def load(out):
    raw = []
    with open(os.path.join(out, "raw.jsonl")) as f:
        for line in f:
            line = line.strip()
            if line:
                raw.append(json.loads(line))
    meta = {}
    p = os.path.join(out, "meta.json")
    if os.path.exists(p):
        with open(p) as f:
            meta = json.load(f)
    return raw, meta


def load_counters(out):
    """(topo, mode) -> interceptor counters summed over the status files of its runs."""
    d = os.path.join(out, "status")
    res = {}
    if not os.path.isdir(d):
        return res
    pat = re.compile(r"^(.*)-(direct|iptables|ebpf|ebpf-noaccel)-(\d+)-(\d+)\.json$")
    for name in sorted(os.listdir(d)):
        m = pat.match(name)
        if not m:
            continue
        try:
            with open(os.path.join(d, name)) as f:
                st = json.load(f)
        except (OSError, ValueError):
            continue
        c = st.get("counters")
        if not isinstance(c, dict):
            continue
        acc = res.setdefault((m.group(1), m.group(2)), {})
        for k, v in c.items():
            if isinstance(v, int):
                acc[k] = acc.get(k, 0) + v
        # Node counters are shared by the pods of a run: take them from its first pod only.
        nc = st.get("node_counters")
        if isinstance(nc, dict) and m.group(4) == "0":
            for k, v in nc.items():
                if isinstance(v, int):
                    acc[k] = acc.get(k, 0) + v
        svc = st.get("maps", {}).get("sc_services", {}).get("entries")
        if isinstance(svc, int):
            acc["services_in_map"] = max(acc.get("services_in_map", 0), svc)
    return res


def stats(values):
    v = [x for x in values if isinstance(x, (int, float))]
    if not v:
        return None
    return {"median": statistics.median(v), "min": min(v), "max": max(v), "n": len(v)}


def summarize(raw):
    """(topo, workload, mode, metric) -> stats over repetitions; failed runs are counted apart."""
    groups = {}
    for r in raw:
        groups.setdefault((r["topo"], r["workload"], r["mode"], r.get("n")), []).append(r)
    out = {}
    for (topo, wl, mode, n), recs in groups.items():
        entry = {"runs": len(recs), "failed_runs": sum(1 for r in recs if not r.get("ok"))}
        keys = {k for r in recs for k in r if k not in ("topo", "mode", "rep", "workload", "ok")}
        for k in sorted(keys):
            vals = [r.get(k) for r in recs]
            if k in SUMMED:
                entry[k] = {"sum": sum(x for x in vals if isinstance(x, (int, float)))}
            else:
                s = stats(vals)
                if s:
                    entry[k] = s
        out[(topo, wl, mode, n)] = entry
    return out


def fmt(x, d):
    if x is None:
        return "–"
    if abs(x) >= 1000 and d <= 1:
        return f"{x:,.0f}"
    return f"{x:.{d}f}"


def cell(entry, metric, d):
    if entry is None or metric not in entry:
        return "–"
    s = entry[metric]
    if "sum" in s:
        return fmt(s["sum"], 0)
    if s["n"] == 1 or s["min"] == s["max"]:
        return fmt(s["median"], d)
    return f"{fmt(s['median'], d)} ({fmt(s['min'], d)}–{fmt(s['max'], d)})"


def med(summary, topo, wl, mode, metric, n=None):
    e = summary.get((topo, wl, mode, n))
    if not e or metric not in e or "median" not in e[metric]:
        return None
    return e[metric]["median"]


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def markdown(summary, meta, raw, counters, drawn):
    L = []
    L.append("# sidecap benchmark results\n")
    L.append(
        f"Kernel {meta.get('kernel', '?')}, {meta.get('cpus', '?')} CPUs "
        f"({meta.get('cpu_model', '?')}); {meta.get('date', '?')}; "
        f"`{meta.get('command', 'make bench')}`: {meta.get('reps', '?')} repetition(s), "
        f"{meta.get('t_s', '?')} s per sockperf/iperf3/wrk run, {meta.get('conns', '?')} "
        f"connections per tcptool run, wall time {meta.get('wall_s', '?')} s; "
        f"{'unpinned' if meta.get('pinned_cpus') == 'none' else 'pinned to CPU(s) ' + str(meta.get('pinned_cpus', '?'))}.  "
    )
    L.append(
        f"{meta.get('iptables', 'iptables')}, rules installed by {meta.get('iptables_via', '?')}; "
        f"sockperf {meta.get('sockperf', '?')}, {meta.get('iperf3', '?')}, HAProxy "
        f"{meta.get('haproxy', '?')}, nginx {meta.get('nginx', '?')}.\n"
    )
    L.append(
        "Each cell: median over repetitions (min–max). CPU is the sum of the pod cgroups' "
        "`cpu.stat` usage_usec over the run (app + sidecar; both pods in the two-pod case), "
        "divided by the work done. Error columns are totals over all repetitions.\n"
    )
    for topo in TOPOS:
        if not any(k[0] == topo and not k[1].startswith("profile") for k in summary):
            continue
        L.append(f"## {TOPO_TITLE[topo]}\n")
        for wl, metrics in METRICS.items():
            if not any(k[0] == topo and k[1] == wl for k in summary):
                continue
            L.append(f"### {WORKLOAD_TITLE[wl]}\n")
            L.append("| mode | " + " | ".join(m[1] for m in metrics) + " |")
            L.append("|---|" + "---|" * len(metrics))
            for mode in MODES:
                e = summary.get((topo, wl, mode, None))
                if e is None:
                    continue
                note = f" ({e['failed_runs']} failed run(s))" if e["failed_runs"] else ""
                L.append(
                    f"| {mode}{note} | "
                    + " | ".join(cell(e, m, d) for m, _, _, d in metrics)
                    + " |"
                )
            L.append("")
    L.append("## Ratios of medians\n")
    L.append(
        "Each mode against direct (no sidecar), and eBPF against iptables. For latency and CPU "
        "lower is better; for rates and throughput higher is better.\n"
    )
    for topo in TOPOS:
        if not any(k[0] == topo and not k[1].startswith("profile") for k in summary):
            continue
        L.append(f"### {TOPO_TITLE[topo]}\n")
        L.append(
            "| figure | iptables/direct | ebpf/direct | ebpf-noaccel/direct | "
            "**ebpf/iptables** | ebpf-noaccel/iptables |"
        )
        L.append("|---|---|---|---|---|---|")
        for wl, metric, title in RATIO_KEYS:
            d = med(summary, topo, wl, "direct", metric)
            i = med(summary, topo, wl, "iptables", metric)
            e = med(summary, topo, wl, "ebpf", metric)
            n = med(summary, topo, wl, "ebpf-noaccel", metric)
            if d is None and i is None:
                continue
            r = [ratio(i, d), ratio(e, d), ratio(n, d), ratio(e, i), ratio(n, i)]
            cells = ["–" if x is None else f"{x:.2f}" for x in r]
            cells[3] = f"**{cells[3]}**"
            L.append(f"| {title} | " + " | ".join(cells) + " |")
        L.append("")
    ns = sorted({k[3] for k in summary if k[0] == "scale"})
    if ns:
        L.append("## Policy scale: connection latency vs policy size (one pod)\n")
        L.append(
            "iptables: N extra non-matching nat rules in a chain jumped to from the head of the "
            "pod's nat OUTPUT chain, as kube-proxy's KUBE-SERVICES (every proxied connection "
            "walks them twice: the app's SYN and the sidecar's). "
            "eBPF: N services in the policy (hash lookups). Same tcptool workload as above; "
            "N = 0 is the main table's figure. setup: time to install the rules / start the "
            "daemon with that policy. The connect program's time per run comes from the kernel's "
            "BPF statistics, on during the eBPF scale runs only (`build/bpfstats`): it is the "
            "part of a connect the policy's size could change, apart from the machine's noise. "
            "The eBPF scale runs pay for the statistics (some 20–40 ns per program run) and so "
            "are compared with each other, not with the main table.\n"
        )
        L.append(
            "| N | iptables connect p50 µs | iptables connect p99 µs | iptables conns/s | "
            "iptables setup s | ebpf connect p50 µs | ebpf connect p99 µs | ebpf conns/s | "
            "ebpf setup s | ebpf connect program ns/run |"
        )
        L.append("|---|---|---|---|---|---|---|---|---|---|")
        rows = [(0, ("pod-remote", "conn", None))]
        rows += [(n, ("scale", "conn", n)) for n in ns]
        for n, (topo, wl, nn) in rows:
            cells = []
            for mode in ("iptables", "ebpf"):
                e = summary.get((topo, wl, mode, nn))
                cells += [
                    cell(e, "connect_p50_us", 0),
                    cell(e, "connect_p99_us", 0),
                    cell(e, "conns_per_s", 0),
                    cell(e, "setup_s", 2) if n else "–",
                ]
            e = summary.get(("scale", "connect_prog", "ebpf", nn))
            cells.append(cell(e, "ns_per_run", 0) if n else "–")
            L.append(f"| {n:,} | " + " | ".join(cells) + " |")
        L.append("")
    L += profile_section(raw, meta)
    L.append("## Checks: did the traffic go where the mode says?\n")
    L.append(
        "Connections accepted by the proxy-stub sidecars (outbound in the app's pod, inbound in "
        "the server pod), summed over repetitions: 0 for direct, and for every other mode the "
        "workloads' connections (1 sockperf + 2 iperf3 + the tcptool ones per run). For the eBPF "
        "modes, the interceptor's counters at the end of each run (`interceptor status --json`), "
        "summed: `msg_redirect` counts messages carried socket to socket (0 without "
        "acceleration), `msg_pass` messages that went through TCP/IP; `pod↔pod` the same for "
        "the sidecar↔sidecar hop between two pods (node counters `xpod_msg_redirect` / "
        "`xpod_msg_pass`).\n"
    )
    L.append(
        "| where | mode | stub out accepted | stub in accepted | connect_redirect | "
        "inbound_redirect | msg_redirect | msg_pass | demoted (unanswered / peer missing) | "
        "pod↔pod msg socket / tcp | pairs offered / paired | services in map | errors__* |"
    )
    L.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    checks = {}
    for r in raw:
        if r.get("workload") == "check":
            c = checks.setdefault((r["topo"], r["mode"]), [0, 0])
            c[0] += r.get("stub_out_accepted", 0)
            c[1] += r.get("stub_in_accepted", 0)
    for (topo, mode), (o, i) in sorted(checks.items(), key=lambda kv: (kv[0][0], MODES.index(kv[0][1]))):
        c = counters.get((topo, mode), {})

        def g(k):
            return f"{c[k]:,}" if k in c else "–"

        errs = {k: v for k, v in c.items() if k.startswith("errors__") and v}
        err = ", ".join(f"{k}={v}" for k, v in errs.items()) if c else "–"
        L.append(
            f"| {topo} | {mode} | {o:,} | {i:,} | {g('connect_redirect')} | "
            f"{g('inbound_redirect')} | {g('msg_redirect')} | {g('msg_pass')} | "
            f"{g('msg_demote_unanswered')} / {g('msg_demote_peer_missing')} | "
            f"{g('xpod_msg_redirect')} / {g('xpod_msg_pass')} | "
            f"{g('xpod_pair_created')} / {g('xpod_pair_ready')} | "
            f"{g('services_in_map')} | {err or 'none'} |"
        )
    L.append("")
    L.append("## Plots\n")
    for name, title in PLOTS:
        if name in drawn:
            L.append(f"- `plots/{name}.png`: {title}")
    if not drawn:
        L.append("None: this run measured nothing they show (a `BENCH_ONLY` subset).")
    L.append("")
    return "\n".join(L)


PROFILE_GROUPS = [
    ("user", "user space (apps, sidecar, server)"),
    ("tcp/ip", "TCP/IP and sockets"),
    ("other", "scheduler, syscalls, poll/epoll, VFS"),
    ("netfilter", "netfilter: conntrack, NAT, rule walk"),
    ("bpf", "our programs and their helpers and maps"),
    ("sockmap", "sockmap: psock set-up and teardown, sk_msg paths"),
    ("rcu+workqueue", "other deferred frees (RCU, work items)"),
]


# The profile pass's workloads: what a record counts, the unit of work, the unit of CPU time,
# and how the tables name it.
PROFILE_KINDS = [
    ("profile", "conns", "connection", "µs", "Where a new connection's time goes",
     "The new-connections workload again ({prof_conns} connections"),
    ("profile_rr", "reqs", "round trip", "µs", "Where a round trip's time goes",
     "The request/response workload again (64 B ping-pong on one connection for {prof_rr_t} s"),
    ("profile_bulk", "gbytes", "GB", "ms", "Where a bulk stream's time goes",
     "The bulk workload again (one iperf3 stream for {prof_rr_t} s"),
]


def profile_section(raw, meta):
    """The profile pass: CPU per unit of work by kernel subsystem, and our programs' run time."""
    L = []
    for kind in PROFILE_KINDS:
        for topo in TOPOS:
            recs = [r for r in raw
                    if r.get("workload") == kind[0] and r.get("ok") and r["topo"] == topo]
            if recs:
                L += profile_tables(recs, meta, TOPO_TITLE[topo], kind)
    return L


def profile_tables(recs, meta, title, kind):
    _, count_key, unit, tunit, heading, intro = kind
    scale = 1e6 if tunit == "µs" else 1e3  # seconds to the unit of CPU time
    modes = [m for m in MODES if any(r["mode"] == m for r in recs)]
    us, bpf = {}, {}
    for r in recs:
        perf, n, hz = r.get("perf") or {}, r.get(count_key) or 0, r.get("hz") or 0
        if not n or not hz or not perf.get("samples"):
            continue
        g = us.setdefault(r["mode"], {})
        for key, _ in PROFILE_GROUPS:
            g.setdefault(key, []).append(perf.get("groups", {}).get(key, 0) / hz / n * scale)
        g.setdefault("total", []).append(perf["samples"] / hz / n * scale)
        for name, v in (r.get("bpf") or {}).items():
            b = bpf.setdefault(name, {}).setdefault(r["mode"], {"runs": [], "ns": []})
            b["runs"].append(v.get("runs", 0) / n)
            b["ns"].append(v.get("ns", 0) / n)

    def m(v):
        return statistics.median(v) if v else None

    L = [f"## {heading}: {title} (profile pass)\n"]
    L.append(
        intro.format(prof_conns=meta.get("prof_conns", "?"), prof_rr_t=meta.get("prof_rr_t", "?"))
        + f", {meta.get('prof_reps', '?')} repetition(s), medians), recorded by `perf record -e "
        f"cpu-clock -g` on the benchmark's CPU: apps, sidecar, server, softirqs and kworkers "
        f"alike, and not the CPU's idle time. Each sample counts for the first subsystem found walking its call chain from the "
        f"sampled function (`bench/perfgroups.py`): work a subsystem asks of the allocator or the "
        f"scheduler is that subsystem's. perf's call chains slow every mode down, so these are "
        f"CPU {tunit} per {unit} under the profiler, for comparing modes, not the main table's.\n"
    )
    L.append(f"| CPU {tunit} per {unit} | " + " | ".join(modes) + " | ebpf − iptables |")
    L.append("|---|" + "---|" * (len(modes) + 1))
    for key, gtitle in PROFILE_GROUPS + [("total", "**all of the CPU**")]:
        vals = [m(us.get(mode, {}).get(key, [])) for mode in modes]
        e, i = m(us.get("ebpf", {}).get(key, [])), m(us.get("iptables", {}).get(key, []))
        diff = "–" if e is None or i is None else f"{e - i:+.1f}"
        L.append(f"| {gtitle} | " + " | ".join(fmt(v, 1) for v in vals) + f" | {diff} |")
    L.append("")
    if bpf:
        bm = [x for x in ("ebpf", "ebpf-noaccel") if x in modes]
        L.append(
            "Our programs, from the kernel's BPF run-time statistics (on for this pass only, "
            f"`build/bpfstats`): runs and ns per {unit}. A program's time includes its "
            "helpers, so the sockops program's includes the psock set-up of `bpf_sock_hash_update`; "
            "the psock teardown runs later, outside any program (sockmap row above).\n"
        )
        L.append("| program | " + " | ".join(f"{x} runs | {x} ns" for x in bm) + " |")
        L.append("|---|" + "---|---|" * len(bm))
        tot = {x: 0.0 for x in bm}
        for name in sorted(bpf):
            cells = []
            for x in bm:
                b = bpf[name].get(x)
                if b is None:
                    cells += ["–", "–"]
                    continue
                cells += [fmt(m(b["runs"]), 1), fmt(m(b["ns"]), 0)]
                tot[x] += m(b["ns"]) or 0
            L.append(f"| `{name}` | " + " | ".join(cells) + " |")
        L.append("| **all** | " + " | ".join(f"– | {fmt(tot[x], 0)}" for x in bm) + " |")
        L.append("")
    return L


PLOTS = [
    ("rr_latency", "request/response round-trip p50 and p99 by mode"),
    ("throughput", "bulk throughput by mode"),
    ("conn", "new connections per second by mode"),
    ("conn_latency", "connect p50 and p99 by mode"),
    ("http", "HTTP requests per second by mode"),
    ("cpu_vs_direct", "CPU per unit of work, relative to direct"),
    ("scale", "connect latency vs policy size, iptables rules against eBPF services"),
]


def histogram(path_dat, path_png, title, ylabel, clusters, modes, logscale=False):
    """clusters: [(label, {mode: stats-or-None})]; draws one bar per mode with min/max bars,
    or nothing when the run measured none of it (a BENCH_ONLY subset)."""
    if not any(v is not None for _, by_mode in clusters for v in by_mode.values()):
        return ""
    with open(path_dat, "w") as f:
        for label, by_mode in clusters:
            row = [f'"{label}"']
            for m in modes:
                s = by_mode.get(m)
                if s is None:
                    row += ["NaN", "NaN", "NaN"]
                else:
                    row += [repr(s["median"]), repr(s["min"]), repr(s["max"])]
            f.write(" ".join(row) + "\n")
    cols = []
    for i, m in enumerate(modes):
        c = 2 + 3 * i
        using = f"{c}:{c + 1}:{c + 2}" + (":xtic(1)" if i == 0 else "")
        cols.append(f"'{path_dat}' using {using} title '{m}' lc rgb '{COLOR[m]}'")
    return f"""
set terminal pngcairo size 1000,520 noenhanced
set output '{path_png}'
set title '{title}'
set ylabel '{ylabel}'
set style data histograms
set style histogram errorbars gap 1 lw 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set key outside right top
set grid ytics
set yrange [0:*]
{'set logscale y' if logscale else 'unset logscale y'}
set xtics noenhanced rotate by -25
plot {', '.join(cols)}
"""


def plots(out, summary):
    if not any(k[0] in TOPOS and not k[1].startswith("profile") for k in summary):
        return True  # a run of the profile pass alone: nothing to plot
    pdir = os.path.join(out, "plots")
    os.makedirs(pdir, exist_ok=True)
    gp = []
    topos = [t for t in TOPOS if any(k[0] == t for k in summary)]

    def s(topo, wl, mode, metric, n=None):
        e = summary.get((topo, wl, mode, n))
        if e and metric in e and "median" in e[metric]:
            return e[metric]
        return None

    def rel(topo, wl, mode, metric):
        a, d = s(topo, wl, mode, metric), s(topo, wl, "direct", metric)
        if not a or not d or not d["median"]:
            return None
        return {k: a[k] / d["median"] for k in ("median", "min", "max")}

    def p(name):
        return os.path.join(pdir, name)

    short = {"pod-remote": "1 pod", "two-pod": "2 pods"}
    gp.append(histogram(p("rr_latency.dat"), p("rr_latency.png"),
                        "64 B request/response round trip (sockperf)", "µs",
                        [(f"{short[t]} {q}", {m: s(t, "rr", m, f"{q}_us") for m in MODES})
                         for t in topos for q in ("p50", "p99")], MODES))
    gp.append(histogram(p("throughput.dat"), p("throughput.png"),
                        "one bulk stream (iperf3)", "Gbit/s",
                        [(short[t], {m: s(t, "bulk", m, "gbit_per_s") for m in MODES})
                         for t in topos], MODES))
    gp.append(histogram(p("conn.dat"), p("conn.png"),
                        "new connections, 64 B echoed (tcptool)", "connections/s",
                        [(short[t], {m: s(t, "conn", m, "conns_per_s") for m in MODES})
                         for t in topos], MODES))
    gp.append(histogram(p("conn_latency.dat"), p("conn_latency.png"),
                        "connect() latency (tcptool)", "µs",
                        [(f"{short[t]} {q}", {m: s(t, "conn", m, f"connect_{q}_us") for m in MODES})
                         for t in topos for q in ("p50", "p99")], MODES))
    gp.append(histogram(p("http.dat"), p("http.png"),
                        "HTTP through HAProxy sidecars to nginx (wrk)", "requests/s",
                        [(short[t], {m: s(t, "http", m, "req_per_s") for m in MODES})
                         for t in topos], MODES))
    cpu = [("rr", "cpu_us_per_req", "RR"), ("bulk", "cpu_s_per_gb", "bulk"),
           ("conn", "cpu_us_per_conn", "conn"), ("http", "cpu_us_per_req", "HTTP")]
    gp.append(histogram(p("cpu_vs_direct.dat"), p("cpu_vs_direct.png"),
                        "CPU per unit of work relative to direct (1.0 = no sidecar)", "× direct",
                        [(f"{short[t]} {lbl}", {m: rel(t, wl, m, met) for m in MODES[1:]})
                         for t in topos for wl, met, lbl in cpu], MODES[1:]))
    ns = sorted({k[3] for k in summary if k[0] == "scale"})
    if ns:
        dat = p("scale.dat")
        with open(dat, "w") as f:
            for n in [0] + ns:
                row = [str(max(n, 1))]
                for mode in ("iptables", "ebpf"):
                    for q in ("p50", "p99"):
                        st = (s("pod-remote", "conn", mode, f"connect_{q}_us") if n == 0
                              else s("scale", "conn", mode, f"connect_{q}_us", n))
                        row += ([repr(st["median"]), repr(st["min"]), repr(st["max"])]
                                if st else ["NaN"] * 3)
                f.write(" ".join(row) + "\n")
        gp.append(f"""
set terminal pngcairo size 900,480 noenhanced
set output '{p("scale.png")}'
set title 'connect() latency vs policy size (N = 1 stands for no extra rule/service)'
set xlabel 'N: extra nat rules (iptables) or services (eBPF)'
set ylabel 'µs'
set logscale x
unset logscale y
set yrange [0:*]
set grid
set key outside right top
set style data linespoints
plot '{dat}' using 1:2:3:4 with yerrorlines title 'iptables p50' lc rgb '{COLOR["iptables"]}' dt 1, \\
     '' using 1:5:6:7 with yerrorlines title 'iptables p99' lc rgb '{COLOR["iptables"]}' dt 2, \\
     '' using 1:8:9:10 with yerrorlines title 'ebpf p50' lc rgb '{COLOR["ebpf"]}' dt 1, \\
     '' using 1:11:12:13 with yerrorlines title 'ebpf p99' lc rgb '{COLOR["ebpf"]}' dt 2
""")
    script = os.path.join(pdir, "plots.gp")
    with open(script, "w") as f:
        f.write("\n".join(gp))
    r = subprocess.run(["gnuplot", script], capture_output=True, text=True)
    if r.returncode != 0:
        print(f"report: gnuplot failed: {r.stderr.strip()}", file=sys.stderr)
        return False
    return True


def main():
    if len(sys.argv) != 2:
        print("usage: report.py OUTDIR", file=sys.stderr)
        return 2
    out = sys.argv[1]
    raw, meta = load(out)
    summary = summarize(raw)
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(
            {
                "meta": meta,
                "raw": raw,
                "summary": [
                    {"topo": t, "workload": w, "mode": m, "n": n, **v}
                    for (t, w, m, n), v in sorted(summary.items(), key=lambda kv: str(kv[0]))
                ],
            },
            f,
            indent=1,
        )
    counters = load_counters(out)
    ok = plots(out, summary)
    pdir = os.path.join(out, "plots")
    drawn = {f[:-4] for f in os.listdir(pdir) if f.endswith(".png")} if os.path.isdir(pdir) else set()
    md = markdown(summary, meta, raw, counters, drawn)
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write(md)
    print(md)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
