#!/usr/bin/env python3
"""`just bench-peers`: Talkback (npm), dsvcr and the bare hyper baseline replaying the same
form A hit, measured side by side in one run with bench/run.py's harness (same pinning, wrk
script, CPU-per-request and RSS figures), interleaved round by round.

    python3 bench/peers.py [--rounds N] [--quick] [--out BENCHMARKS.md]

Writes the section to bench/target/peers.md (raw figures: bench/target/peers-results.json)
and puts it into --out between the markers of bench/peers_block.py, replacing the previous
one; `just bench` (bench/run.py) keeps that block when it rewrites BENCHMARKS.md.

Expects target/profiling/dsvcr, bench/target/release/baseline, wrk, node, and talkback in
bench/target/peers/node_modules (`npm ci` from bench/peers/package-lock.json; the
`bench-peers` recipe does all of it).
"""

import argparse
import base64
import datetime
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run  # noqa: E402  (bench/run.py: the harness)
from peers_block import PEERS_END, PEERS_START, with_peers  # noqa: E402
from run import ROOT, Server, f0, f1, f2, free_port, measured, med, paired, request, spread, wrk  # noqa: E402

PATH = "/rest/com/vmware/content/library/item/download-session/id:obj-103"  # run.py's form A hit
MISS = "/rest/com/vmware/content/library/item/download-session/id:obj-404"
PEERS = ROOT / "bench" / "peers"
NODE_MODULES = ROOT / "bench" / "target" / "peers" / "node_modules"
WORK = run.WORK / "peers"
KINDS = ["dsvcr", "talkback", "baseline"]
LABEL = {"dsvcr": "dsvcr", "talkback": "Talkback", "baseline": "bare hyper baseline"}
RECIPE = [
    "command -v wrk >/dev/null || { apt-get -o DPkg::Lock::Timeout=600 update && apt-get -o DPkg::Lock::Timeout=600 install -y wrk; }",
    "cargo build --profile profiling --locked",
    "cargo build --release --locked --manifest-path bench/Cargo.toml",
    "mkdir -p bench/target/peers && cp bench/peers/package.json bench/peers/package-lock.json bench/target/peers/",
    "npm ci --prefix bench/target/peers --no-audit --no-fund",
    "python3 bench/peers.py",
]


def log(message):
    print(f"[peers {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def capture():
    """dsvcr's answer to the hit: status, content type, body, and its other headers."""
    server, port = run.dsvcr_replay("peers-capture", ROOT / "cassettes", "error")
    server.start()
    try:
        status, headers, body = request(port, "GET", PATH)
    finally:
        server.stop()
    if status != 200:
        raise RuntimeError(f"dsvcr answered {status}, expected 200: {body!r}")
    return {"status": status, "content_type": headers["content-type"], "body": body}


def write_tape(answer):
    """One talkback tape (JSON, which is JSON5) whose response is dsvcr's answer.

    The body is a string with `resHumanReadable` (or base64 without it, if it is not UTF-8):
    talkback then serves its bytes unchanged. A JSON body stored as an object, which is what
    talkback writes when it records, is served re-serialised with 2-space indentation."""
    tapes = WORK / "tapes"
    if tapes.exists():
        shutil.rmtree(tapes)
    tapes.mkdir(parents=True)
    meta = {"createdAt": "2026-01-01T00:00:00.000Z", "host": "http://dsvcr.bench.invalid", "tag": "form-a-hit"}
    try:
        body = answer["body"].decode("utf-8")
        meta["resHumanReadable"] = True
    except UnicodeDecodeError:
        body = base64.b64encode(answer["body"]).decode()
    tape = {
        "meta": meta,
        "req": {"url": PATH, "method": "GET", "headers": {}, "body": ""},
        "res": {
            "status": answer["status"],
            "headers": {
                "content-type": [answer["content_type"]],
                "content-length": [str(len(answer["body"]))],
            },
            "body": body,
        },
    }
    (tapes / "form-a-hit.json5").write_text(json.dumps(tape, indent=2) + "\n")
    return tapes


def start(kind, answer, tapes, node):
    if kind == "dsvcr":
        server, port = run.dsvcr_replay("peers-dsvcr", ROOT / "cassettes", "warn")
    elif kind == "baseline":
        server, port = run.baseline("peers-baseline", PATH, answer)
    else:
        port = free_port()
        argv = [node, str(PEERS / "talkback-server.js"), str(port), str(tapes)]
        server = Server("peers-talkback", argv, port, ("GET", PATH), {"NODE_PATH": str(NODE_MODULES)})
    server.start()
    return server, port


def check_answer(kind, port, answer):
    """The server's answer to the hit, compared with dsvcr's; returns its other headers."""
    status, headers, body = request(port, "GET", PATH)
    got = (status, headers.get("content-type"), body)
    if got != (answer["status"], answer["content_type"], answer["body"]):
        raise RuntimeError(f"{kind}: answered {got!r}, not dsvcr's {answer!r}")
    return {k: v for k, v in headers.items() if k != "content-type"}


def measure(args, answer, tapes, node, results):
    log(f"{len(KINDS)} servers × {args.rounds} rounds: {PATH}")
    for round_index in range(args.rounds):
        shift = round_index % len(KINDS)
        for kind in KINDS[shift:] + KINDS[:shift]:
            server, port = start(kind, answer, tapes, node)
            try:
                headers = check_answer(kind, port, answer)
                if kind == "talkback":
                    status, _, body = request(port, "GET", MISS)
                    if status != 404:
                        raise RuntimeError(f"talkback answered {status} to an id it has no tape for: {body!r}")
                wrk(port, PATH, 32, args.warmup)
                c32 = measured(server, port, PATH, 32, args.duration)
                c1 = measured(server, port, PATH, 1, args.duration_c1)
                for conns, r in (("32", c32), ("1", c1)):
                    if r["errors_status"]:
                        raise RuntimeError(f"{kind}: {r['errors_status']} non-2xx answers at {conns} connections")
                one = {
                    "startup_ms": server.startup * 1e3,
                    "c32": c32,
                    "c1": c1,
                    "rss_mib": server.peak_rss_mib(),
                    "headers": headers,
                }
            finally:
                server.stop()
            results.setdefault(kind, []).append(one)
            log(
                f"round {round_index + 1} {kind:8} {c32['rps']:>9,.0f} req/s  cpu {c32['cpu_us_per_req']:.2f} µs/req  "
                f"busy {c32['server_busy']:.2f}  p50@1 {c1['p50_us']} µs  rss {one['rss_mib']:.1f} MiB  "
                f"start {one['startup_ms']:.1f} ms"
            )


FIGURES = [
    # label, getter, format, ratios make sense
    ("req/s at 32 connections", lambda r: r["c32"]["rps"], f0, True),
    ("CPU µs/request (32 connections)", lambda r: r["c32"]["cpu_us_per_req"], f2, True),
    ("busy at 32 connections (CPU s / wall s)", lambda r: r["c32"]["server_busy"], f2, False),
    ("p50 @32 (µs)", lambda r: r["c32"]["p50_us"], f0, True),
    ("p99 @32 (µs)", lambda r: r["c32"]["p99_us"], f0, True),
    ("p50 @1 (µs)", lambda r: r["c1"]["p50_us"], f0, True),
    ("p99 @1 (µs)", lambda r: r["c1"]["p99_us"], f0, True),
    ("peak RSS (MiB)", lambda r: r["rss_mib"], f1, True),
    ("spawn → first answer (ms)", lambda r: r["startup_ms"], f1, True),
]


def headers_text(headers):
    shown = {k: ("…" if k == "date" else v) for k, v in sorted(headers.items())}
    return ", ".join(f"`{k}: {v}`" for k, v in shown.items()) or "none"


def section(args, res):
    m = res["machine"]
    out = []
    w = out.append
    w(PEERS_START)
    w("## Peers: Talkback\n")
    w("Generated by `just bench-peers` (`bench/peers.py`), a separate run from the rest of this file; "
      "`just bench` keeps this section as it is, so its date and commit are its own.\n")
    w(f"- date: {res['started'][:16].replace('T', ' ')} UTC; the run took {res['elapsed'] / 60:.1f} min; "
      f"dsvcr commit `{res['commit']}`{' (work tree had uncommitted changes)' if res['dirty'] else ''}")
    w(f"- machine: {m['nproc']} CPUs ({m['cpu']}), {m['memory']}, Linux {m['kernel']}; {m['wrk']}; "
      f"Node {res['node']}; talkback {res['talkback']}")
    w(f"- other processes on the machine used {res['foreign_cpu']:.2f} CPUs on average during the run "
      "(of 2); above ~0.05 the figures are disturbed.")
    w(f"- workload: `GET {PATH}` (form A hit, the first replay workload above), keep-alive over loopback. "
      f"{args.rounds} interleaved round(s), the order of the three servers rotating each round; each figure "
      "is the **median (min–max)** over rounds, each ratio the median (min–max) of the per-round ratios. "
      f"Per server and round: a fresh process pinned to CPU {run.SERVER_CPU}, wrk (1 thread) on CPU "
      f"{run.LOAD_CPU}, {args.warmup} s warm-up at 32 connections, {args.duration} s measured at 32 "
      f"connections, {args.duration_c1} s at 1; CPU/request and peak RSS as in the replay tables above "
      "(whole process, all threads).")
    w("- **dsvcr**: `dsvcr replay --cassettes cassettes`, `RUST_LOG=warn`. **Talkback**: "
      "`bench/peers/talkback-server.js` (record `DISABLED`, fallback `NOT_FOUND`, `silent`, no summary) "
      "with one tape written at the start of the run from dsvcr's answer; it matches method, URL, body and "
      "the request headers not in `ignoreHeaders` (the tape has none; wrk sends only `Host`). "
      "**baseline**: `bench/target/release/baseline`, as above.")
    ans = res["answer"]
    w(f"- all three answered `{ans['status']}`, `content-type: {ans['content_type']}` and the same "
      f"{ans['body_len']} body bytes at every start (compared byte for byte with dsvcr's; the figures below "
      "count only 2xx answers, and none were anything else); Talkback answered 404 to an id it has no tape for. "
      "Their other headers:")
    for kind in KINDS:
        w(f"  - {LABEL[kind]}: {headers_text(res['runs'][kind][0]['headers'])}")
    errors = {
        kind: sum(r[c][k] for r in res["runs"][kind] for c in ("c32", "c1")
                  for k in ("errors_connect", "errors_read", "errors_write", "errors_timeout"))
        for kind in KINDS
    }
    if any(errors.values()):
        w("- wrk socket errors (connect, read, write, timeout; summed over the runs): "
          + ", ".join(f"{LABEL[k]} {v}" for k, v in errors.items()))
    w("")
    w("| figure | dsvcr | Talkback | baseline | dsvcr ÷ baseline | Talkback ÷ baseline | Talkback ÷ dsvcr |")
    w("|---|---|---|---|---|---|---|")
    runs = res["runs"]
    for label, get, fmt, ratios in FIGURES:
        d, t, b = ([get(r) for r in runs[k]] for k in KINDS)
        cells = [spread(d, fmt), spread(t, fmt), spread(b, fmt)]
        if ratios:
            cells += [run.ratio(paired(d, b)), run.ratio(paired(t, b)), run.ratio(paired(t, d))]
        else:
            cells += ["", "", ""]
        w(f"| {label} | " + " | ".join(cells) + " |")
    w("")
    w("Reproduce: `just bench-peers` (FLAGS go to `bench/peers.py`, e.g. `--quick`, `--rounds 5`). It runs:\n")
    w("```sh\n" + "\n".join(RECIPE) + "\n```\n")
    w("and per round (PORT varies):\n")
    w("```sh\n"
      "taskset -c 0 target/profiling/dsvcr replay --listen 127.0.0.1:PORT --cassettes cassettes   # RUST_LOG=warn\n"
      "NODE_PATH=bench/target/peers/node_modules taskset -c 0 node bench/peers/talkback-server.js PORT bench/target/work/peers/tapes/\n"
      f"taskset -c 0 bench/target/release/baseline --listen 127.0.0.1:PORT --path-prefix {PATH} --body FILE "
      "--content-type application/json --status 200\n"
      f"taskset -c 1 wrk -t1 -c32 -d{args.duration}s --latency -s bench/lua/bench.lua http://127.0.0.1:PORT{PATH}\n"
      "```\n")
    w("Raw figures: `bench/target/peers-results.json` (not committed).")
    w(PEERS_END)
    return "\n".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1, help="seconds of warm-up per server run")
    parser.add_argument("--duration", type=int, default=4, help="seconds measured at 32 connections")
    parser.add_argument("--duration-c1", type=int, default=2, help="seconds measured at 1 connection")
    parser.add_argument("--quick", action="store_true", help="1 round of 1 s runs, to try the harness")
    parser.add_argument("--dsvcr", default=str(run.DSVCR), help="the dsvcr binary to measure (default: the profiling build, release with line tables)")
    parser.add_argument("--node", default=shutil.which("node") or "/usr/bin/node")
    parser.add_argument("--out", default=str(ROOT / "BENCHMARKS.md"),
                        help="the report whose peers section is replaced (or added before its Notes)")
    parser.add_argument("--report-from", help="re-write the section from a peers-results.json of an earlier run")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.warmup, args.duration, args.duration_c1 = 1, 1, 1, 1
    target = ROOT / "bench" / "target"
    if args.report_from:
        res = json.loads(Path(args.report_from).read_text())
        for key, value in res["args"].items():
            setattr(args, key, value)
    else:
        run.DSVCR = Path(args.dsvcr).resolve()
        if (os.cpu_count() or 1) < 2:
            sys.exit("peers: needs 2 CPUs (server and load generator on separate cores)")
        for path in (run.DSVCR, run.BIN / "baseline", NODE_MODULES / "talkback" / "package.json"):
            if not path.exists():
                sys.exit(f"peers: {path} is missing; run `just bench-peers`, which builds and installs it")
        for tool in ("wrk", args.node):
            if not shutil.which(tool):
                sys.exit(f"peers: {tool} is not installed")
        os.sched_setaffinity(0, {int(run.LOAD_CPU)})
        WORK.mkdir(parents=True, exist_ok=True)
        started = datetime.datetime.now(datetime.timezone.utc)
        t0 = time.perf_counter()
        git = lambda *a: subprocess.run(["git", "-C", str(ROOT), *a], capture_output=True, text=True).stdout.strip()
        res = {
            "machine": run.machine(),
            "commit": git("rev-parse", "--short", "HEAD"),
            "dirty": bool(git("status", "--porcelain", "--untracked-files=no", "--", "src", "Cargo.toml", "Cargo.lock")),
            "node": subprocess.run([args.node, "--version"], capture_output=True, text=True).stdout.strip(),
            "talkback": json.loads((NODE_MODULES / "talkback" / "package.json").read_text())["version"],
            "started": started.isoformat(),
        }
        busy0, mine0 = run.cpu_busy_seconds()
        answer = capture()
        res["answer"] = {"status": answer["status"], "content_type": answer["content_type"], "body_len": len(answer["body"])}
        tapes = write_tape(answer)
        res["runs"] = {}
        measure(args, answer, tapes, args.node, res["runs"])
        res["elapsed"] = time.perf_counter() - t0
        busy1, mine1 = run.cpu_busy_seconds()
        res["foreign_cpu"] = max(0.0, (busy1 - busy0) - (mine1 - mine0)) / res["elapsed"]
        res["args"] = {k: getattr(args, k) for k in ("rounds", "warmup", "duration", "duration_c1")}
        target.mkdir(exist_ok=True)
        (target / "peers-results.json").write_text(json.dumps(res, indent=1))
    block = section(args, res)
    (target / "peers.md").write_text(block + "\n")
    out = Path(args.out)
    out.write_text(with_peers(out.read_text(), block) if out.exists() else block + "\n")
    log(f"wrote {target / 'peers.md'} and the peers section of {out}")
    print(block)


if __name__ == "__main__":
    main()
