#!/usr/bin/env python3
"""Judges a soak (tests/soak/run.sh) and writes its report: report.md (what ran, a summary
table, pass or fail per criterion) and three plots drawn by gnuplot (maps.png, memory.png,
rate.png). Usage: report.py OUTDIR. Exits 1 when any criterion fails. Standard library only."""

import csv
import json
import os
import re
import statistics
import subprocess
import sys

# Maps that hold one entry per socket, flow or connection being set up: back to idle at the end.
CONN_MAPS = ["sc_sockhash", "sc_flows", "sc_handover", "sc_xsocks", "sc_xpairs"]
# The proxy's listening sockets: every restart removes and adds them again.
LISTEN_MAPS = ["sc_listeners"]
# Flat: the last minute's median against the first minute's.
RSS_TOLERANCE = 0.05  # and at least RSS_FLOOR_KB
RSS_FLOOR_KB = 1024
FD_TOLERANCE = 0
# Within each daemon's life (at least LIFE_MIN_S long): its last sample against its sample
# LIFE_SETTLE_S in (loading the programs and the first apply are done by then).
LIFE_MIN_S = 60
LIFE_SETTLE_S = 10
SHORT_SHARE = 0.95  # of the target, or the soak did not do what it says
KERNEL_BAD = re.compile(r"WARNING|BUG|Call Trace|Oops|general protection|refcount_t|list_(add|del) corruption|KASAN|UBSAN")


def stats_file(path):
    try:
        with open(path) as f:
            return {k: float(v) for k, v in (kv.split("=", 1) for kv in f.read().split())}
    except OSError:
        return {}


def num(row, key):
    v = row.get(key, "")
    return float(v) if v not in ("", None) else None


def minute_median(rows, key, first, seconds):
    lo, hi = (0, 60) if first else (seconds - 60, seconds)
    vals = [num(r, key) for r in rows if lo <= float(r["t"]) < hi + (0 if first else 1)]
    vals = [v for v in vals if v is not None]
    return (statistics.median(vals), max(vals), len(vals)) if vals else (None, None, 0)


def add_rate(rows, window=5):
    """conns_5s: short connections a second over the last WINDOW samples. The client rewrites
    its counters once a second and the sampler reads them once a second, on clocks of their own,
    so a one-second difference is now and then 0 or twice the rate: the client's own time
    (client_t) is used when the samples have it."""
    clock = "client_t" if rows and "client_t" in rows[0] else "t"
    for i, r in enumerate(rows):
        j = max(0, i - window)
        dt = float(r[clock]) - float(rows[j][clock])
        r["conns_5s"] = f"{(float(r['short_ok']) - float(rows[j]['short_ok'])) / dt:.0f}" if dt > 0 else ""


def lives(rows):
    """Per daemon pid, in order: (pid, first t, last t, RSS and fds LIFE_SETTLE_S in, at the end)."""
    by = {}
    for r in rows:
        if r.get("daemon_pid") and r.get("rss_kb"):
            by.setdefault(r["daemon_pid"], []).append(r)
    out = []
    for pid, rs in by.items():
        t0, t1 = float(rs[0]["t"]), float(rs[-1]["t"])
        settled = next((r for r in rs if float(r["t"]) >= t0 + LIFE_SETTLE_S), rs[-1])
        out.append((pid, t0, t1, float(settled["rss_kb"]), float(rs[-1]["rss_kb"]),
                    float(settled["fds"]), float(rs[-1]["fds"])))
    return sorted(out, key=lambda x: x[1])


def plot(out, rows, meta):
    events = [(float(r["t"]), r["event"].strip()) for r in rows if r.get("event", "").strip()]
    marks = ""
    for t, ev in events:
        if "proxy_restart" not in ev and "daemon_kill9" not in ev:
            continue
        color = "#d95f02" if "daemon" in ev else "#bbbbbb"
        marks += f'set arrow from {t}, graph 0 to {t}, graph 1 nohead lc rgb "{color}" dt 2\n'
    data = os.path.join(out, "plot.csv")
    cols = list(rows[0].keys()) if rows else []
    with open(data, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols)
        w.writeheader()
        w.writerows(rows)
    col = {name: i + 1 for i, name in enumerate(cols)}
    common = f"""set datafile separator ","
set key outside bottom center horizontal
set grid
set xlabel "seconds (grey: proxy restart, orange: daemon kill -9 and adoption)"
set xrange [0:{max(float(r["t"]) for r in rows) if rows else 1}]
{marks}"""
    scripts = {
        "maps.png": f"""set terminal pngcairo size 1000,480 noenhanced
set output "{os.path.join(out, 'maps.png')}"
set title "per-connection map occupancy (entries)"
{common}
plot "{data}" every ::1 using {col['t']}:{col['sc_sockhash']} with lines lw 2 title "sc_sockhash", \\
     "" every ::1 using {col['t']}:{col['sc_flows']} with lines lw 2 title "sc_flows", \\
     "" every ::1 using {col['t']}:{col['sc_handover']} with lines lw 2 title "sc_handover", \\
     "" every ::1 using {col['t']}:{col['sc_listeners']} with lines lw 2 title "sc_listeners"
""",
        "memory.png": f"""set terminal pngcairo size 1000,480 noenhanced
set output "{os.path.join(out, 'memory.png')}"
set title "interceptor daemon: RSS and open file descriptors"
{common}
set ylabel "RSS (KiB)"
set y2label "fds"
set y2tics
set ytics nomirror
set yrange [0:*]
set y2range [0:*]
plot "{data}" every ::1 using {col['t']}:{col['rss_kb']} with lines lw 2 title "RSS KiB", \\
     "" every ::1 using {col['t']}:{col['fds']} axes x1y2 with steps lw 2 title "fds"
""",
        "rate.png": f"""set terminal pngcairo size 1000,480 noenhanced
set output "{os.path.join(out, 'rate.png')}"
set title "short connections completed per second (over 5 s)"
{common}
set ylabel "connections/s"
set yrange [0:*]
plot "{data}" every ::1 using {col['t']}:{col['conns_5s']} with lines lw 2 title "short conns/s"
""",
    }
    made = []
    for name, script in scripts.items():
        r = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True)
        if r.returncode == 0:
            made.append(name)
        else:
            print(f"report: gnuplot {name}: {r.stderr.strip()}", file=sys.stderr)
    return made


def main():
    out = sys.argv[1]
    with open(os.path.join(out, "meta.json")) as f:
        meta = json.load(f)
    with open(os.path.join(out, "samples.csv")) as f:
        rows = list(csv.DictReader(f))
    cli = stats_file(os.path.join(out, "client.stats"))
    srv = stats_file(os.path.join(out, "server.stats"))
    with open(os.path.join(out, "maps-idle.json")) as f:
        idle = json.load(f)
    with open(os.path.join(out, "maps-end.json")) as f:
        end = json.load(f)
    try:
        with open(os.path.join(out, "dmesg-new.txt")) as f:
            dmesg = [line.rstrip("\n") for line in f]
    except OSError:
        dmesg = []
    secs = meta["seconds"]
    kinds = ["short", "stream", "upload", "download"]
    ok = {k: int(cli.get(f"{k}_ok", 0)) for k in kinds}
    failed = {k: int(cli.get(f"{k}_failed", 0)) for k in kinds}
    cut = {k: int(cli.get(f"{k}_cut", 0)) for k in kinds}
    corrupt = int(cli.get("corrupt", 0)) + int(srv.get("corrupt", 0))
    moved = int(cli.get("short_bytes", 0) + cli.get("stream_bytes", 0) + cli.get("upload_bytes", 0)
                + cli.get("download_bytes", 0))
    shorts = ok["short"] + failed["short"] + cut["short"]
    add_rate(rows)
    rates = [num(r, "conns_5s") for r in rows if 5 < float(r["t"]) <= secs]
    rates = [v for v in rates if v is not None]

    crit = []  # (name, passed, figure, rule)
    crit.append(("corrupted bytes", corrupt == 0,
                 f"{corrupt} of {moved:,} bytes checked", "0"))
    nfail = sum(failed.values())
    crit.append(("failed connections", nfail == 0 and meta["client_exit"] == 0,
                 f"{nfail} ({', '.join(f'{k} {failed[k]}' for k in kinds)}); "
                 f"cut by proxy restarts: {sum(cut.values())} "
                 f"({', '.join(f'{k} {cut[k]}' for k in kinds)})",
                 "0 besides those open while the proxy restarted"))
    bad_maps = [m for m in CONN_MAPS + LISTEN_MAPS if end.get(m) != idle.get(m)]
    crit.append(("per-connection maps back to idle", not bad_maps,
                 ", ".join(f"{m} {idle.get(m)}→{end.get(m)}" for m in CONN_MAPS + LISTEN_MAPS),
                 "end == idle (before traffic), each map"))
    r1, r1max, n1 = minute_median(rows, "rss_kb", True, secs)
    r2, r2max, n2 = minute_median(rows, "rss_kb", False, secs)
    rss_ok = r1 is not None and r2 is not None and r2 <= r1 + max(r1 * RSS_TOLERANCE, RSS_FLOOR_KB)
    crit.append(("daemon RSS flat", rss_ok,
                 f"first minute median {r1 or 0:.0f} KiB (max {r1max or 0:.0f}), "
                 f"last minute {r2 or 0:.0f} KiB (max {r2max or 0:.0f})",
                 f"last ≤ first + max({RSS_TOLERANCE:.0%}, {RSS_FLOOR_KB} KiB), medians"))
    f1, f1max, _ = minute_median(rows, "fds", True, secs)
    f2, f2max, _ = minute_median(rows, "fds", False, secs)
    fd_ok = f1 is not None and f2 is not None and f2 <= f1 + FD_TOLERANCE
    crit.append(("daemon fds flat", fd_ok,
                 f"first minute median {f1 or 0:.0f} (max {f1max or 0:.0f}), "
                 f"last minute {f2 or 0:.0f} (max {f2max or 0:.0f})",
                 "last ≤ first, medians"))
    long_lives = [x for x in lives(rows) if x[2] - x[1] >= LIFE_MIN_S]
    life_ok = all(
        x[4] <= x[3] + max(x[3] * RSS_TOLERANCE, RSS_FLOOR_KB) and x[6] <= x[5] + FD_TOLERANCE
        for x in long_lives)
    crit.append(("daemon RSS and fds flat within each life", life_ok,
                 "; ".join(f"{x[1]:.0f}-{x[2]:.0f} s: {x[3]:.0f}→{x[4]:.0f} KiB, "
                           f"{x[5]:.0f}→{x[6]:.0f} fds" for x in long_lives)
                 or f"no daemon lived {LIFE_MIN_S} s",
                 f"each daemon that lived ≥ {LIFE_MIN_S} s: its last sample against its sample "
                 f"{LIFE_SETTLE_S} s in, same rules"))
    kbad = [line for line in dmesg if KERNEL_BAD.search(line)]
    crit.append(("kernel warnings (dmesg)", not kbad,
                 f"{len(kbad)} of {len(dmesg)} new lines", "no WARNING/BUG/Call Trace/Oops line"))
    applied = meta["generation_end"] - meta["generation_start"]
    crit.append(("policy edits applied live", applied >= meta["policy_edits"] - meta["daemon_kills"],
                 f"{meta['policy_edits']} edits, generation +{applied}",
                 "generation grows by ≥ edits − daemon kills"))
    crit.append(("short connections made", shorts >= SHORT_SHARE * meta["short_target"],
                 f"{shorts:,} of {meta['short_target']:,} "
                 f"(median {statistics.median(rates) if rates else 0:.0f}/s over 5 s windows)",
                 f"≥ {SHORT_SHARE:.0%} of the target"))
    exp_restarts = max(0, (secs - 5 - meta["proxy_every"] // 2 + meta["proxy_every"] - 1)
                       // meta["proxy_every"])
    crit.append(("disruptions done", meta["proxy_restarts"] >= exp_restarts
                 and meta["daemon_kills"] >= 1,
                 f"{meta['proxy_restarts']} proxy restarts, {meta['daemon_kills']} kill -9 + adoption",
                 f"≥ {exp_restarts} restarts, ≥ 1 kill"))

    def when(ev):
        ts = [r["t"] for r in rows if ev in r.get("event", "")]
        return ", ".join(ts) if ts else "(never)"

    plots = plot(out, rows, meta)
    passed = all(c[1] for c in crit)
    lines = [
        f"# Soak report: {'PASS' if passed else 'FAIL'}",
        "",
        f"{secs} s on kernel {meta['kernel']}, {meta['cpus']} CPUs, commit {meta['commit']}, "
        f"started {meta['started']}.",
        "",
        "One pod (netns + child cgroup) with the interceptor and proxy-stub, traffic to a server "
        "in another netns: short connections (64-512 B echoed, "
        f"{meta['short_conc']} at a time, target {meta['short_target']:,}), "
        f"{meta['streams']} request/response streams (1 B-16 KiB rounds), a bulk upload and a "
        f"bulk download ({meta['bulk_bytes'] >> 20} MiB each, {meta['bulk_rate'] >> 20} MiB/s "
        f"each way); the proxy restarted at {when('proxy_restart')} s, the policy edited every "
        f"second ({meta['policy_edits']} edits), the daemon killed with SIGKILL and replaced by a "
        f"new `interceptor run` that adopts its pins at {when('daemon_kill9')} s.",
        "",
        "| criterion | result | figure | rule |",
        "|---|---|---|---|",
    ]
    for name, good, fig, rule in crit:
        lines.append(f"| {name} | {'pass' if good else '**FAIL**'} | {fig} | {rule} |")
    lines += [
        "",
        "## Traffic",
        "",
        "| kind | completed | failed | cut by restarts | bytes checked |",
        "|---|---|---|---|---|",
    ]
    for k in kinds:
        lines.append(f"| {k} | {ok[k]:,} | {failed[k]} | {cut[k]} | "
                     f"{int(cli.get(f'{k}_bytes', 0)):,} |")
    lines += [
        "",
        f"Stream round trips: {int(cli.get('stream_rounds', 0)):,}. Server side: "
        f"{int(srv.get('served_ok', 0)):,} connections ended cleanly, "
        f"{int(srv.get('served_failed', 0))} with an error: the restarts' resets, which also reach "
        f"upstream connections whose client had already finished (the proxy had yet to see the "
        f"server's FIN).",
        "",
        "## Plots",
        "",
    ]
    lines += [f"![{p}]({p})" for p in plots]
    sock = []
    for name in ("idle", "end"):
        try:
            with open(os.path.join(out, f"sockstat-{name}.txt")) as f:
                tcp = [line.strip() for line in f if line.startswith("TCP:")]
            sock.append(f"{name}: `{tcp[0] if tcp else '-'}`")
        except OSError:
            pass
    if sock:
        lines += ["", "The pod's /proc/net/sockstat (sockets of its netns; `mem` is the whole "
                  "machine's TCP memory in pages), not a criterion: " + "; ".join(sock) + "."]
    if kbad:
        lines += ["", "## Kernel lines", "", "```"] + kbad[:50] + ["```"]
    lines += [
        "",
        "## Files",
        "",
        "`samples.csv` (one row a second: cumulative counters, map entries, the daemon's RSS and "
        "fds, events), `client.log`/`server.log` (soakload's failures and summary), "
        "`daemon.log`, `proxy.log`, `status-idle.json`/`status-end.json`, `dmesg-new.txt`.",
        "",
    ]
    with open(os.path.join(out, "report.md"), "w") as f:
        f.write("\n".join(lines))
    for name, good, fig, _ in crit:
        print(f"soak: {'pass' if good else 'FAIL'}: {name}: {fig}")
    print(f"soak: {'PASS' if passed else 'FAIL'} ({os.path.join(out, 'report.md')})")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
