#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz targets, tests/fuzz/corpus/<target>/, from what the
project already holds: every policy in conf/ and the yaml blocks of docs/, the YAML texts of the
unit tests (string literals that hold a key and a newline), the broken policies of
tests/fuzz/broken/, the manifests and istio-iptables flags of tests/golden/, and deploy/'s
manifests. Run it after adding any of those; the result is checked in (file names are content
hashes, so a rerun only adds)."""
import hashlib
import glob
import os
import re
import sys

os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
out = "tests/fuzz/corpus"
SEP = b"\n#--edit--\n"


def put(target, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def doc_blocks():
    for md in sorted(glob.glob("docs/*.md") + ["README.md"]):
        text = read(md).decode()
        for m in re.finditer(r"```ya?ml\n(.*?)```", text, re.S):
            yield m.group(1).encode()


def c_literals(path):
    """Runs of adjacent C string literals, decoded: the YAML texts the unit tests parse."""
    text = read(path).decode()
    lit = r'"(?:[^"\\\n]|\\.)*"'
    for m in re.finditer(r"(?:%s\s*)+" % lit, text):
        parts = re.findall(lit, m.group(0))
        s = "".join(p[1:-1] for p in parts)
        raw = s.encode("latin-1", "backslashreplace").decode("unicode_escape").encode(
            "latin-1", "replace")
        if b":" in raw and b"\n" in raw and len(raw) > 8:
            yield raw


policies = [read(p) for p in sorted(glob.glob("conf/*.yaml"))]
policies += list(doc_blocks())
for c in ("tests/unit/test_config.c", "tests/unit/test_config_cache.c",
          "tests/unit/test_config_keys.c", "tests/unit/test_policy.c",
          "tests/unit/test_iptables.c"):
    if os.path.exists(c):
        policies += list(c_literals(c))
policies += [read(p) for p in sorted(glob.glob("tests/fuzz/broken/*.yaml"))]

for p in policies:
    put("fuzz_config", p)
    put("fuzz_iptables", p)
    put("fuzz_config_edit", p)
    # Edits that keep most of the text: a line of it removed, and a line duplicated.
    lines = p.split(b"\n")
    i = len(lines) // 2
    off = len(b"\n".join(lines[:i])) + (1 if i else 0)
    put("fuzz_config_edit", p + SEP + b"%d %d\n" % (off, len(lines[i]) + 1))
    put("fuzz_config_edit", p + SEP + b"%d 0\n" % off + lines[i] + b"\n")

manifests = [read(p) for p in sorted(glob.glob("tests/golden/inject/*.in.yaml"))]
manifests += [read(p) for p in sorted(glob.glob("deploy/kubernetes/*.yaml"))]
for m in manifests:
    put("fuzz_inject", m)
for a in sorted(glob.glob("tests/golden/istio/*.args")):
    put("fuzz_inject", b"#flags\n" + read(a))
for c in ("tests/unit/test_inject.c",):
    for raw in c_literals(c):
        put("fuzz_inject", raw)
put("fuzz_inject", b"#annotations\n"
    b"traffic.sidecar.istio.io/includeOutboundIPRanges=10.0.0.0/8,fd00::/8\n"
    b"traffic.sidecar.istio.io/excludeOutboundPorts=22,3306\n"
    b"traffic.sidecar.istio.io/includeInboundPorts=*\n"
    b"traffic.sidecar.istio.io/excludeInboundPorts=15020\n"
    b"sidecar.istio.io/interceptionMode=REDIRECT\n")
put("fuzz_inject", b"#annotations\n"
    b"traffic.sidecar.istio.io/includeOutboundIPRanges=*\n"
    b"traffic.sidecar.istio.io/excludeOutboundIPRanges=169.254.169.254/32\n"
    b"traffic.sidecar.istio.io/includeInboundPorts=\n"
    b"traffic.sidecar.istio.io/includeOutboundPorts=443\n")
for t in sorted(os.listdir(out)):
    print("%s: %d seeds" % (t, len(os.listdir(os.path.join(out, t)))), file=sys.stderr)
