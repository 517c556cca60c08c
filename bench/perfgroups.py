#!/usr/bin/env python3
"""Sort the samples of `perf script -F comm,ip,sym` (with call chains) into kernel subsystems.

Each sample goes to the first group that matches a frame, walking from the sampled frame towards
the root, so work a subsystem asks of the allocator or the scheduler counts as that subsystem's:
a psock set-up inside the sockops program is "sockmap", a conntrack lookup inside the nat hook is
"netfilter". A sample of the idle task in none of the groups is the CPU idling, not work: it is
counted apart ("idle") and in no other figure; the idle task's samples in a group are softirq
work that ran while it was current, and count. Prints one JSON object: samples of work in all,
per group and per process name, and idle samples.
usage: perf script -F comm,ip,sym -i FILE | perfgroups.py
"""
import json
import re
import sys

GROUPS = [
    # psock set-up and teardown, the sk_msg send/receive paths, sockmap/sockhash maps
    ("sockmap", re.compile(r"^(sk_psock|sock_map|sock_hash|tcp_bpf|sk_msg|__sk_msg|bpf_msg_redirect"
                           r"|bpf_sock_hash_update|bpf_sk_redirect)")),
    # our programs and the helpers and maps they use
    ("bpf", re.compile(r"^(bpf_prog_|__cgroup_bpf_run|bpf_sk_storage|bpf_local_storage|htab_|__htab"
                       r"|bpf_lru|trie_|bpf_sk_lookup|__bpf_sk_lookup|bpf_sk_release|bpf_get_netns"
                       r"|__bpf_prog_enter|__bpf_prog_exit|bpf_map_|bpf_sock_ops|bpf_getsockopt"
                       r"|__bpf_getsockopt|bpf_sock_addr)")),
    # conntrack, NAT and the rule walk
    ("netfilter", re.compile(r"^(nf_|__nf_|____nf_|nft_|__nft_|ipt_|xt_|iptable_|ipv4_conntrack"
                             r"|hash_conntrack|nf_nat|masquerade|redirect_tg|ipv4_confirm)")),
    # deferred frees (RCU callbacks, work items) not claimed above
    ("rcu+workqueue", re.compile(r"^(rcu_|__rcu_|process_one_work|worker_thread|kfree_rcu|__call_rcu"
                                 r"|call_rcu)")),
    ("tcp/ip", re.compile(r"^(tcp_|__tcp_|inet_|__inet_|inet6_|ip_|__ip_|ip6_|ipv4_|ipv6_|dev_|__dev_"
                          r"|netif_|__netif_|net_rx|napi_|skb_|__skb_|sk_|__sk_|sock_|__sock_|lock_sock"
                          r"|release_sock|loopback_|veth_|fib_|raw_|dst_|neigh_|__neigh|tcp4_|tcp6_"
                          r"|__x64_sys_(accept|connect|socket|sendto|recvfrom|shutdown|getsockopt"
                          r"|setsockopt))")),
]


def group_of(frames):
    if not frames or not frames[0][0].startswith("ffff"):
        return "user"
    for _, sym in frames:
        for name, rx in GROUPS:
            if rx.match(sym):
                return name
    return "other"


DEBUG = int(sys.argv[1]) if len(sys.argv) > 1 else 0


def main():
    samples, idle, groups, comms, other = 0, 0, {}, {}, {}
    comm, frames = None, []

    def flush():
        nonlocal samples, idle
        if comm is None:
            return
        g = group_of(frames)
        c = re.sub(r"[/:].*$", "", comm)
        if g == "other" and c == "swapper":
            idle += 1
            return
        samples += 1
        if g == "other" and DEBUG:
            k = " < ".join(s for _, s in frames[:4])
            other[k] = other.get(k, 0) + 1
        groups[g] = groups.get(g, 0) + 1
        comms[c] = comms.get(c, 0) + 1

    for line in sys.stdin:
        if not line.strip():
            flush()
            comm, frames = None, []
        elif line[0] in " \t":
            parts = line.split(None, 1)
            frames.append((parts[0], parts[1].strip().split("+")[0] if len(parts) > 1 else ""))
        else:
            comm = line.strip()
    flush()
    print(json.dumps({"samples": samples, "groups": groups, "comms": comms, "idle": idle}))
    for k, n in sorted(other.items(), key=lambda kv: -kv[1])[:DEBUG]:
        print(n, k, file=sys.stderr)


if __name__ == "__main__":
    main()
