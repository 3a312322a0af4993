#!/usr/bin/env python3
"""Parse wrk --latency outputs of scripts/bench/gateway and print the comparison table.

Usage: gateway_report.py RESULTS_DIR

RESULTS_DIR holds, per run NAME, `NAME.wrk` (wrk's output) and optionally `NAME.rss` (max RSS in
KiB during the timed run), `NAME.cpu` (the proxy's CPU ticks during it, and ticks per second) and
`NAME.hwm` (the process's VmHWM in KiB after it). Runs used:
nginx2, nginx1, devicegate (small JSON body) and nginx2-big, devicegate-big (1 MiB body).
`meta.json` holds the run's settings. Writes `results.json` next to them.
"""

import json
import os
import re
import sys

GOAL_THROUGHPUT = 0.80   # devicegate req/s >= 80% of nginx's
GOAL_P99 = 2.0           # devicegate p99 <= 2x nginx's
GOAL_STORE_SPREAD = 0.10  # the PostgreSQL store within 10% of the files store
GOAL_RSS_BYTES = 50e6    # RSS under 50 MB at 64 connections

UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0, "h": 3600000.0}
UNIT_BYTES = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}


def ms(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if not m:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(m.group(1)) * UNIT_MS[m.group(2)]


def nbytes(text):
    m = re.fullmatch(r"([\d.]+)(B|KB|MB|GB|TB)", text)
    if not m:
        raise ValueError(f"not a wrk size: {text!r}")
    return float(m.group(1)) * UNIT_BYTES[m.group(2)]


def parse_wrk(text):
    r = {"non2xx": 0, "socket_errors": 0}
    for line in text.splitlines():
        s = line.strip()
        m = re.match(r"(50|75|90|99)(?:\.0+)?%\s+(\S+)$", s)
        if m:
            r[f"p{m.group(1)}_ms"] = ms(m.group(2))
        elif s.startswith("Requests/sec:"):
            r["rps"] = float(s.split()[1])
        elif s.startswith("Transfer/sec:"):
            r["transfer_bytes_per_s"] = nbytes(s.split()[1])
        elif m := re.match(r"(\d+) requests in ([\d.]+\w+), ([\d.]+\w+) read", s):
            r["requests"] = int(m.group(1))
            r["duration_s"] = ms(m.group(2)) / 1000
            r["read_bytes"] = nbytes(m.group(3))
        elif s.startswith("Non-2xx or 3xx responses:"):
            r["non2xx"] = int(s.split(":")[1])
        elif s.startswith("Socket errors:"):
            r["socket_errors"] = sum(int(n) for n in re.findall(r"\d+", s))
    for key in ("rps", "p50_ms", "p99_ms", "requests"):
        if key not in r:
            raise ValueError(f"wrk output without {key} (was --latency given?)")
    return r


def load(d, name):
    path = os.path.join(d, name + ".wrk")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        r = parse_wrk(f.read())
    p = os.path.join(d, name + ".cpu")
    if os.path.exists(p):
        with open(p) as f:
            ticks, hz = (int(x) for x in f.read().split())
        r["cpu_s"] = ticks / hz
        r["cpu_cores"] = r["cpu_s"] / r["duration_s"]
        r["cpu_us_per_request"] = r["cpu_s"] / r["requests"] * 1e6 if r["requests"] else None
    p = os.path.join(d, name + ".rss")
    if os.path.exists(p):
        with open(p) as f:
            v = f.read().strip()
        if v:
            r["rss_kib"] = int(v)
    r["status"] = status(d, name)
    return r


def status(d, name):
    """`NAME.status`: lines of /proc/PID/status (VmRSS, RssAnon, RssFile, VmHWM in kB; Threads)."""
    p = os.path.join(d, name + ".status")
    out = {}
    if os.path.exists(p):
        with open(p) as f:
            for line in f:
                k, _, v = line.partition(":")
                out[k.strip()] = int(v.split()[0])
    return out


def memline(st):
    if not st:
        return "-"
    return (f"RSS {mib(st.get('VmRSS'))} = {mib(st.get('RssAnon'))} anonymous + {mib(st.get('RssFile'))} "
            f"file-backed (the binary's pages), {st.get('Threads', '?')} threads")


def mib(kib):
    return f"{kib / 1024:.1f} MiB" if kib is not None else "-"


def cores(r):
    return f"{r['cpu_cores']:.2f}" if r.get("cpu_cores") is not None else "-"


def per_req(r):
    return f"{r['cpu_us_per_request']:.0f} us" if r.get("cpu_us_per_request") is not None else "-"


def mark(ok):
    return "met" if ok else "NOT met"


def main():
    d = sys.argv[1]
    with open(os.path.join(d, "meta.json")) as f:
        meta = json.load(f)
    runs = {n: load(d, n) for n in ("nginx2", "nginx1", "devicegate", "devicegate-pg", "nginx2-big", "devicegate-big")}
    out = []
    p = out.append

    p("")
    p(f"wrk -t{meta['threads']} -c{meta['connections']} -d{meta['duration']}s --latency, "
      f"GET {meta['path']} ({meta['body_bytes']}-byte JSON body), after a {meta['warmup']}s warmup each")
    p(f"upstream: nginx {meta['nginx_version']}, 1 worker, same for both proxies; "
      f"Authorization: Bearer <{meta['token_chars']} chars> injected by both")
    p(f"{meta['cores']} cores shared by wrk, the proxy and the upstream; load average before: {meta['load_before']}")
    p("")
    hdr = f"{'proxy':<30} {'requests/s':>11} {'p50':>9} {'p99':>9} {'max RSS':>10} {'CPU':>6} {'CPU/req':>9}  errors"
    p(hdr)
    p("-" * len(hdr))
    labels = {
        "nginx2": "nginx proxy_pass, 2 workers",
        "nginx1": "nginx proxy_pass, 1 worker",
        "devicegate": "devicegate serve (release)",
        "devicegate-pg": "devicegate, PostgreSQL store",
    }
    for n, label in labels.items():
        r = runs[n]
        if r is None:
            continue
        errs = r["non2xx"] + r["socket_errors"]
        p(f"{label:<30} {r['rps']:>11,.0f} {r['p50_ms']:>7.2f}ms {r['p99_ms']:>7.2f}ms {mib(r.get('rss_kib')):>10} "
          f"{cores(r):>6} {per_req(r):>9}  "
          + (f"{r['non2xx']} non-2xx, {r['socket_errors']} socket" if errs else "0"))
    p("")

    dg, ng = runs["devicegate"], runs["nginx2"]
    result = {"meta": meta, "runs": runs, "goals": {}}
    pg = runs["devicegate-pg"]
    if dg and pg:
        thr = pg["rps"] / dg["rps"]
        p99 = pg["p99_ms"] / dg["p99_ms"]
        ok = thr >= 1 - GOAL_STORE_SPREAD and p99 <= 1 + GOAL_STORE_SPREAD
        p("devicegate on PostgreSQL vs on files (issue 12's goal: within 10%; tokens are served from memory,")
        p("the database is read when a token changes, not per request):")
        p(f"  throughput  postgres/files = {thr:6.1%}   p99 postgres/files = {p99:5.2f}x   {mark(ok)}")
        p("")
        result["goals"].update(store_throughput_ratio=thr, store_p99_ratio=p99, store_ok=ok)
    if dg and ng:
        thr = dg["rps"] / ng["rps"]
        p99 = dg["p99_ms"] / ng["p99_ms"]
        rss = dg.get("rss_kib")
        p("devicegate vs nginx (2 workers), the issue's goals:")
        p(f"  throughput  devicegate/nginx = {thr:6.1%}   goal >= {GOAL_THROUGHPUT:.0%}      {mark(thr >= GOAL_THROUGHPUT)}")
        p(f"  p99         devicegate/nginx = {p99:6.2f}x   goal <= {GOAL_P99:.0f}x        {mark(p99 <= GOAL_P99)}")
        if rss is not None:
            ok = rss * 1024 < GOAL_RSS_BYTES
            p(f"  max RSS     {rss / 1024:6.1f} MiB ({rss * 1024 / 1e6:.1f} MB)  goal < 50 MB   {mark(ok)}"
              f"   (nginx 2 workers, all processes: {mib(ng.get('rss_kib'))})")
            result["goals"]["rss_ok"] = ok
        result["goals"].update(throughput_ratio=thr, p99_ratio=p99,
                               throughput_ok=thr >= GOAL_THROUGHPUT, p99_ok=p99 <= GOAL_P99)
        if runs["nginx1"]:
            n1 = runs["nginx1"]
            p(f"  for reference, against nginx with 1 worker: throughput {dg['rps'] / n1['rps']:.1%}, "
              f"p99 {dg['p99_ms'] / n1['p99_ms']:.2f}x")
        idle = status(d, "devicegate-idle")
        if idle:
            p(f"  devicegate before any load: {memline(idle)}")
        if dg["status"]:
            p(f"  devicegate after this run:  {memline(dg['status'])}; peak (VmHWM) {mib(dg['status'].get('VmHWM'))}")
        if meta.get("audit_lines") is not None:
            p(f"  devicegate audit log: {meta['audit_lines']:,} lines, {meta['audit_bytes'] / 1e6:.1f} MB in {meta['audit_dir']}")
    bg, nb = runs["devicegate-big"], runs["nginx2-big"]
    if bg and nb:
        p("")
        p(f"1 MiB body: wrk -t{meta['threads']} -c{meta['connections']} -d{meta['big_duration']}s, GET {meta['big_path']}")
        hdr = f"{'proxy':<30} {'MiB/s':>9} {'requests/s':>11} {'p50':>9} {'p99':>9} {'max RSS':>10} {'CPU':>6}"
        p(hdr)
        p("-" * len(hdr))
        for n, label in (("nginx2-big", "nginx proxy_pass, 2 workers"), ("devicegate-big", "devicegate serve (release)")):
            r = runs[n]
            p(f"{label:<30} {r['transfer_bytes_per_s'] / 2**20:>9,.0f} {r['rps']:>11,.0f} {r['p50_ms']:>7.1f}ms "
              f"{r['p99_ms']:>7.1f}ms {mib(r.get('rss_kib')):>10} {cores(r):>6}"
              + (f"  {r['non2xx']} non-2xx, {r['socket_errors']} socket errors" if r["non2xx"] + r["socket_errors"] else ""))
        p(f"  devicegate/nginx = {bg['transfer_bytes_per_s'] / nb['transfer_bytes_per_s']:.1%} of the bytes per second")
        if bg["status"]:
            p(f"  devicegate after the 1 MiB run: {memline(bg['status'])}; peak (VmHWM) {mib(bg['status'].get('VmHWM'))}")
    p("")
    print("\n".join(out))
    with open(os.path.join(d, "results.json"), "w") as f:
        json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
