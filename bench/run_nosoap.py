#!/usr/bin/env python3
"""The dsvcr benchmark driver (`just bench`): runs every workload against dsvcr and a bare
hyper baseline built from bench/, interleaved round by round, and writes BENCHMARKS.md.

Loopback only. The server under test runs on CPU 0 and the load generator (wrk, one
thread) on CPU 1, via taskset; this driver pins itself to CPU 1 too. Every run is bounded
by wrk's -d duration.

    python3 bench/run.py [--rounds N] [--quick] [--out BENCHMARKS.md]

Expects target/profiling/dsvcr (the release build with line tables, for callgrind),
target/release/dsvcr (only its size is reported), bench/target/release/{baseline,upstream}
and wrk on PATH (the `bench` recipe builds and installs them).
"""

import argparse
import datetime
import hashlib
import http.client
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

from peers_block import write_report  # keeps `just bench-peers`' section of BENCHMARKS.md
from size_block import measure as measure_size, with_size

ROOT = Path(__file__).resolve().parent.parent
DSVCR = ROOT / "target" / "profiling" / "dsvcr"
BIN = ROOT / "bench" / "target" / "release"
LUA = ROOT / "bench" / "lua" / "bench.lua"
WORK = ROOT / "bench" / "target" / "work"
SERVER_CPU = "0"
LOAD_CPU = "1"
CLK_TCK = os.sysconf("SC_CLK_TCK")

REST = "/rest/com/vmware/content/library/item/download-session"
HIT_ID = "obj-103"  # a shipped cassette with one response: every answer is the same
XML_BODY = (
    '<?xml version="1.0" ?>\n'
    '<ns0:Get-Input xmlns:ns0="http://vmware.com/content/library/item/download_session" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
    f" <download_session_id>{HIT_ID}</download_session_id>\n"
    "</ns0:Get-Input>\n"
)

FILE_REST = "/rest/com/vmware/content/library/item/downloadsession/file"
CREATE_ITEM = "b7c2a3f0-5d7e-4c1b-9a55-0e8f2d1c3b4a"  # obj-106's recorded create
LOOKUP_SPEC = {"library_id": "lib-1", "name": "photon-5.0"}
# The shipped cassettes plus one call cassette for the lookup workload (its file name is
# the operation and a hash of its key, which `dsvcr check` verifies at the start of a run).
LOOKUP_CASSETTE = (
    "library.item.find-2cad10d6e874466d.json",
    {
        "format": 2,
        "operation": "com.vmware.content.library.item.find",
        "key": {"spec": LOOKUP_SPEC},
        "recorded": {"at": "2026-11-29T10:00:00Z"},
        "responses": [{"status": 200, "ids": [CREATE_ITEM]}],
    },
)
# An item model for the typed JSON-RPC `library.item.get` workload, as vCenter's /rest
# answers it; the call cassette's name hashes its key as `LOOKUP_CASSETTE`'s does.
ITEM_KEY = {"library_item_id": CREATE_ITEM}
ITEM_MODEL = {
    "cached": True,
    "content_version": "2",
    "creation_time": "2026-11-20T08:15:42.317Z",
    "description": "Photon OS 5.0 ISO",
    "id": CREATE_ITEM,
    "last_modified_time": "2026-11-20T08:16:03.902Z",
    "last_sync_time": "2026-11-20T08:16:03.902Z",
    "library_id": "lib-1",
    "metadata_version": "1",
    "name": "photon-5.0",
    "security_compliance": True,
    "size": 734003200,
    "type": "iso",
    "version": "2",
}


def item_cassette():
    canonical = json.dumps(ITEM_KEY, separators=(",", ":"), sort_keys=True)
    name = "library.item.get-" + hashlib.sha256(canonical.encode()).hexdigest()[:16] + ".json"
    return name, {
        "format": 2,
        "operation": "com.vmware.content.library.item.get",
        "key": ITEM_KEY,
        "recorded": {"at": "2026-11-29T10:00:00Z"},
        "responses": [{"status": 200, "value": ITEM_MODEL}],
    }


# A vim25 SOAP call as govc sends it, and its tape: the tape's file name is the SHA-256 of
# its request key's canonical JSON (what `dsvcr check` verifies when the folder is made).
SOAP_ENVELOPE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/">'
    '<Body><{op} xmlns="urn:vim25"><_this type="{kind}">{id}</_this>{args}</{op}></Body></Envelope>'
)
SOAP_CONTENT = SOAP_ENVELOPE.format(op="RetrieveServiceContent", kind="ServiceInstance", id="ServiceInstance", args="")
SOAP_LOGIN = SOAP_ENVELOPE.format(
    op="Login", kind="SessionManager", id="SessionManager",
    args="<userName>bench@vsphere.local</userName><password>bench-password</password><locale>en_US</locale>",
)
SOAP_KEY = {"method": "POST", "path": "/sdk",
            "soap": {"operation": "RetrieveServiceContent", "this": "ServiceInstance:ServiceInstance"}}
SOAP_ANSWER = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<soapenv:Envelope xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/" '
    'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><RetrieveServiceContentResponse xmlns="urn:vim25">'
    '<returnval><rootFolder type="Folder">group-d1</rootFolder><propertyCollector type="PropertyCollector">propertyCollector'
    '</propertyCollector><about><name>VMware vCenter Server</name><fullName>VMware vCenter Server 8.0.2 build-22617221</fullName>'
    '<apiType>VirtualCenter</apiType><apiVersion>8.0.2.0</apiVersion></about><sessionManager type="SessionManager">'
    'SessionManager</sessionManager></returnval></RetrieveServiceContentResponse></soapenv:Body></soapenv:Envelope>'
)
SOAP_TAPE = {
    "format": 2,
    "request": SOAP_KEY,
    "recorded": {"at": "2026-12-07T00:00:00Z", "upstream": "vcenter.bench"},
    "responses": [{"status": 200, "content_type": "text/xml; charset=utf-8", "text": SOAP_ANSWER}],
}


def soap_tape_name():
    canonical = json.dumps(SOAP_KEY, separators=(",", ":"))
    return "soap-retrieveservicecontent-" + hashlib.sha256(canonical.encode()).hexdigest()[:16] + ".json"


# Workloads whose answer differs every time (a login's fresh session key and times): their
# answers are compared by status and content type only, and the body's length.
VARYING = {"soap-login"}

# Requests a fresh server answers before the workload's steady answer (the file.get
# timeline is PREPARING twice, then PREPARED for every later poll).
PRIME = {"poll": 2}

# name, label, method, path (with query), headers, body, RUST_LOG (None: dsvcr's default)
WORKLOADS = [
    ("A", "form A hit, JSON", "GET", f"{REST}/id:{HIT_ID}", {}, None, "warn"),
    ("B", "form B hit", "POST", f"{REST}/id:{HIT_ID}?~action=get", {}, None, "warn"),
    (
        "C-json",
        "form C hit, JSON body",
        "POST",
        f"{REST}?~action=get",
        {"Content-Type": "application/json"},
        json.dumps({"download_session_id": HIT_ID}),
        "warn",
    ),
    (
        "C-xml",
        "form C hit, XML body",
        "POST",
        f"{REST}?~action=get",
        {"Content-Type": "application/xml"},
        XML_BODY,
        "warn",
    ),
    ("D", "form D hit (/api)", "GET", f"/api/content/library/item/download-session/{HIT_ID}", {}, None, "warn"),
    ("XML", "form A hit, Accept: application/xml", "GET", f"{REST}/id:{HIT_ID}", {"Accept": "application/xml"}, None, "warn"),
    ("miss", "miss (synthetic 404), default log level", "GET", f"{REST}/id:obj-404", {}, None, None),
    (
        "poll",
        "file.get poll (PREPARED, download endpoint rewritten)",
        "POST",
        f"{FILE_REST}/id:obj-106?~action=get",
        # A fixed Host: the endpoint in the answer is built from it, so every run's answer is
        # the same bytes.
        {"Content-Type": "application/json", "Host": "vcenter.bench"},
        json.dumps({"file_name": "photon-5.0.iso"}),
        "warn",
    ),
    (
        "create",
        "create (library item with a recorded create)",
        "POST",
        REST,
        {"Content-Type": "application/json"},
        json.dumps({"create_spec": {"library_item_id": CREATE_ITEM}}),
        "warn",
    ),
    (
        "lookup",
        "library.item.find from a call cassette (/api)",
        "POST",
        "/api/content/library/item?action=find",
        {"Content-Type": "application/json"},
        json.dumps(LOOKUP_SPEC),
        "warn",
    ),
    (
        "derived",
        "library.item.find by name alone, derived from a recorded item model (/api)",
        "POST",
        "/api/content/library/item?action=find",
        {"Content-Type": "application/json"},
        json.dumps({"name": "photon-5.0"}),
        "warn",
    ),
    (
        "jsonrpc",
        "JSON-RPC hit (POST /api invoke get, as the Python SDK sends it)",
        "POST",
        "/api",
        {"Content-Type": "application/json"},
        json.dumps({
            "jsonrpc": "2.0",
            "method": "invoke",
            "id": "0",
            "params": {
                "serviceId": "com.vmware.content.library.item.download_session",
                "operationId": "get",
                "input": {"STRUCTURE": {"operation-input": {"download_session_id": HIT_ID}}},
                "ctx": {"appCtx": {"opId": "bench"}},
            },
        }),
        "warn",
    ),
    (
        "jsonrpc-item",
        "JSON-RPC library.item.get, the model typed from a call cassette",
        "POST",
        "/api",
        {"Content-Type": "application/json"},
        json.dumps({
            "jsonrpc": "2.0",
            "method": "invoke",
            "id": "0",
            "params": {
                "serviceId": "com.vmware.content.library.item",
                "operationId": "get",
                "input": {"STRUCTURE": {"operation-input": ITEM_KEY}},
                "ctx": {"appCtx": {"opId": "bench"}},
            },
        }),
        "warn",
    ),
    (
        "soap-hit",
        "SOAP tape hit (RetrieveServiceContent, as govc sends it)",
        "POST",
        "/sdk",
        {"Content-Type": 'text/xml; charset="utf-8"', "SOAPAction": "urn:vim25/8.0"},
        SOAP_CONTENT,
        "warn",
    ),
    (
        "soap-login",
        "offline SOAP Login (a new session each time)",
        "POST",
        "/sdk",
        {"Content-Type": 'text/xml; charset="utf-8"', "SOAPAction": "urn:vim25/8.0"},
        SOAP_LOGIN,
        "warn",
    ),
]

# What `just bench` runs (justfile), quoted in the report.
RECIPE = [
    "command -v wrk >/dev/null || { apt-get -o DPkg::Lock::Timeout=600 update && apt-get -o DPkg::Lock::Timeout=600 install -y wrk; }",
    "command -v nginx >/dev/null || { apt-get -o DPkg::Lock::Timeout=600 update && apt-get -o DPkg::Lock::Timeout=600 install -y nginx-light; }",
    "cargo build --release --locked",
    "cargo build --profile profiling --locked",
    "cargo build --release --locked --manifest-path bench/Cargo.toml",
    "python3 bench/run.py",
]

SCALES = [1000, 10000, 100000]
GEN_PREFIX = "gen-"
CASSETTES = ROOT / "cassettes"  # replaced by bench_cassettes() when a run starts


def log(message):
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port, method, path, headers=None, body=None, timeout=5.0):
    """One HTTP/1.1 request; returns (status, lower-cased headers, body bytes)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body.encode() if isinstance(body, str) else body, headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


class Server:
    """A server process pinned to SERVER_CPU; `start` measures spawn → first answer."""

    def __init__(self, name, argv, port, probe, env=None, cpus=SERVER_CPU):
        self.name, self.argv, self.port, self.probe, self.cpus = name, argv, port, probe, cpus
        self.env = dict(os.environ, **(env or {}))
        self.proc = None
        self.startup = None
        self.stderr = WORK / "logs" / f"{name}.stderr"

    def start(self):
        self.stderr.parent.mkdir(parents=True, exist_ok=True)
        err = open(self.stderr, "wb")
        method, path = self.probe
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            ["taskset", "-c", self.cpus, *self.argv],
            stdout=subprocess.DEVNULL,
            stderr=err,
            env=self.env,
        )
        err.close()
        while True:
            try:
                request(self.port, method, path, timeout=2.0)
                self.startup = time.perf_counter() - t0
                return self
            except (ConnectionRefusedError, ConnectionResetError, http.client.RemoteDisconnected):
                pass
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}: {self.stderr.read_text()[-2000:]}")
            if time.perf_counter() - t0 > 60:
                raise RuntimeError(f"{self.name} did not answer within 60 s")
            time.sleep(0.0005)

    def cpu_seconds(self):
        """utime + stime of the whole process (all threads), in seconds."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def peak_rss_mib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        raise RuntimeError("no VmHWM")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def wrk(port, path, conns, seconds, method="GET", headers=None, body=None, rotate=None):
    """Runs wrk on LOAD_CPU; returns the BENCH summary dict of bench.lua."""
    env = dict(os.environ, BENCH_METHOD=method)
    env["BENCH_HEADERS"] = "\n".join(f"{k}: {v}" for k, v in (headers or {}).items())
    if body is not None:
        body_file = WORK / f"body-{abs(hash(body))}.bin"
        body_file.write_bytes(body.encode())
        env["BENCH_BODY_FILE"] = str(body_file)
    if rotate:
        env["BENCH_ROTATE_PATH"], env["BENCH_ROTATE_N"] = rotate[0], str(rotate[1])
    argv = ["taskset", "-c", LOAD_CPU, "wrk", "-t1", f"-c{conns}", f"-d{seconds}s", "--latency", "-s", str(LUA)]
    argv.append(f"http://127.0.0.1:{port}{path}")
    out = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=seconds + 60)
    for line in out.stdout.splitlines():
        if line.startswith("BENCH "):
            result = json.loads(line[6:])
            result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
            socket_errors = sum(result[k] for k in ("errors_connect", "errors_read", "errors_write", "errors_timeout"))
            if socket_errors:
                log(f"warning: wrk socket errors on {path} at {conns} conns: {result}")
            return result
    raise RuntimeError(f"wrk printed no summary: {out.stdout}\n{out.stderr}")


def measured(server, port, path, conns, seconds, **kw):
    """A wrk run with the server's CPU time over it."""
    before, t0 = server.cpu_seconds(), time.perf_counter()
    result = wrk(port, path, conns, seconds, **kw)
    cpu, wall = server.cpu_seconds() - before, time.perf_counter() - t0
    result["cpu_us_per_req"] = cpu / result["requests"] * 1e6
    result["server_busy"] = cpu / wall
    return result


# ---------------------------------------------------------------- statistics and format


def med(values):
    return statistics.median(values)


def spread(values, fmt):
    """median (min–max)"""
    if len(values) == 1:
        return fmt(values[0])
    return f"{fmt(med(values))} ({fmt(min(values))}–{fmt(max(values))})"


def f0(x):
    return f"{x:,.0f}"


def signed(x):
    return f"{x:+,.0f}"


def f1(x):
    return f"{x:.1f}"


def f2(x):
    return f"{x:.2f}"


def ratio(values):
    return spread(values, lambda x: f"{x:.2f}×")


def paired(dsvcr_values, base_values):
    return [d / b for d, b in zip(dsvcr_values, base_values)]


# ---------------------------------------------------------------- workloads


def dsvcr_replay(name, cassettes, log_level):
    port = free_port()
    argv = [str(DSVCR), "replay", "--listen", f"127.0.0.1:{port}", "--cassettes", str(cassettes)]
    server = Server(name, argv, port, ("GET", f"{REST}/id:{HIT_ID}"), {"RUST_LOG": log_level or ""})
    if log_level is None:
        server.env.pop("RUST_LOG", None)
    return server, port


def bench_cassettes():
    """The shipped cassettes, the lookup's and the item's call cassettes and a SOAP tape, checked by `dsvcr check`."""
    folder = WORK / "bench-cassettes"
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(ROOT / "cassettes", folder)
    (folder / "calls").mkdir(exist_ok=True)
    for name, cassette in [LOOKUP_CASSETTE, item_cassette()]:
        (folder / "calls" / name).write_text(json.dumps(cassette, indent=2) + "\n")
    (folder / "tape").mkdir(exist_ok=True)
    pass
    subprocess.run([str(DSVCR), "check", str(folder)], check=True, capture_output=True)
    return folder


def steady_answer(port, name, method, path, headers, body):
    """The answer a workload gets once its timeline is past the prefix a fresh server plays."""
    for _ in range(PRIME.get(name, 0)):
        request(port, method, path, headers, body)
    return request(port, method, path, headers, body)


def baseline(name, prefix, answer):
    port = free_port()
    body_file = WORK / "answers" / f"{name}.body"
    body_file.parent.mkdir(parents=True, exist_ok=True)
    body_file.write_bytes(answer["body"])
    argv = [
        str(BIN / "baseline"),
        "--listen",
        f"127.0.0.1:{port}",
        "--path-prefix",
        prefix,
        "--body",
        str(body_file),
        "--content-type",
        answer["content_type"],
        "--status",
        str(answer["status"]),
    ]
    return Server(name, argv, port, ("GET", prefix)), port


def rss_split(pid):
    """Where a server's resident memory is, in KiB, from /proc/PID/smaps: file-backed pages
    and anonymous pages (heap, stacks, and the executable's relocated read-only data, which
    a position-independent executable's loader writes at start-up), and how much of each
    belongs to the executable's own mappings. Read at the end of a run (current, not peak)."""
    exe = os.readlink(f"/proc/{pid}/exe")
    split = {"rss": 0, "anon": 0, "file": 0, "exe_file": 0, "exe_anon": 0}
    path = None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            field, _, rest = line.partition(" ")
            if not field.endswith(":"):  # a mapping's header: address range, ..., path
                parts = line.split(maxsplit=5)
                path = parts[5].strip() if len(parts) > 5 else ""
            elif field in ("Rss:", "Anonymous:"):
                kib = int(rest.split()[0])
                own = path == exe
                if field == "Rss:":
                    split["rss"] += kib
                    split["file"] += kib  # less its anonymous part, below
                    split["exe_file"] += kib if own else 0
                else:
                    split["anon"] += kib
                    split["file"] -= kib
                    split["exe_file"] -= kib if own else 0
                    split["exe_anon"] += kib if own else 0
    return split


def rss_split_section(res, w):
    """The RSS split of the form A runs, dsvcr against the baseline."""
    runs = res.get("replay", {}).get("A", {})
    d, b = [r["rss_split"] for r in runs.get("dsvcr", []) if "rss_split" in r], [
        r["rss_split"] for r in runs.get("baseline", []) if "rss_split" in r]
    if not d or not b:
        return
    w("RSS at the end of the form A runs, from `/proc/PID/smaps`: *file-backed* pages are mapped from "
      "files (code and read-only data of the executable and shared libraries), *anonymous* pages are the "
      "process's own (heap, stacks, and the executable's relocated read-only data). *Executable's own* "
      "counts the pages of the server binary's mappings.\n")
    w("| RSS (MiB) | dsvcr | baseline | ratio |")
    w("|---|---|---|---|")
    for label, key in [
        ("total", "rss"),
        ("anonymous", "anon"),
        ("  of which the executable's relocated data", "exe_anon"),
        ("  of which heap, stacks and the rest", None),
        ("file-backed", "file"),
        ("  of which the executable's code and read-only data", "exe_file"),
    ]:
        value = (lambda s: s[key]) if key else (lambda s: s["anon"] - s["exe_anon"])
        dm, bm = [value(s) / 1024 for s in d], [value(s) / 1024 for s in b]
        w(f"| {label} | {spread(dm, f2)} | {spread(bm, f2)} | {ratio(paired(dm, bm)) if min(bm) > 0 else ''} |")
    w("")


def capture_answers():
    """dsvcr's answer to each workload, which the baseline then serves byte for byte."""
    server, port = dsvcr_replay("capture", CASSETTES, "error")
    server.start()
    answers = {}
    try:
        for name, _, method, path, headers, body, _ in WORKLOADS:
            status, response_headers, response_body = steady_answer(port, name, method, path, headers, body)
            expected = 404 if name == "miss" else 200
            if status != expected:
                raise RuntimeError(f"workload {name}: dsvcr answered {status}, expected {expected}: {response_body!r}")
            answers[name] = {
                "status": status,
                "content_type": response_headers["content-type"],
                "body": response_body,
            }
    finally:
        server.stop()
    return answers


def replay_workloads(args, answers, results):
    log(f"replay workloads: {len(WORKLOADS)} × 2 servers × {args.rounds} rounds")
    for round_index in range(args.rounds):
        for name, _, method, path, headers, body, log_level in WORKLOADS:
            kinds = ["dsvcr", "baseline"] if round_index % 2 == 0 else ["baseline", "dsvcr"]
            for kind in kinds:
                if kind == "dsvcr":
                    server, port = dsvcr_replay(f"dsvcr-{name}", CASSETTES, log_level)
                else:
                    server, port = baseline(f"baseline-{name}", path.split("?")[0], answers[name])
                server.start()
                try:
                    if round_index == 0:
                        status, response_headers, response_body = steady_answer(port, name, method, path, headers, body)
                        expected = answers[name]
                        same_body = (len(response_body) == len(expected["body"]) if name in VARYING
                                     else response_body == expected["body"])
                        if (status, response_headers["content-type"]) != (
                            expected["status"],
                            expected["content_type"],
                        ) or not same_body:
                            raise RuntimeError(f"{kind} {name}: answer differs from dsvcr's captured answer")
                    kw = dict(method=method, headers=headers, body=body)
                    wrk(port, path, 32, args.warmup, **kw)
                    c32 = measured(server, port, path, 32, args.duration, **kw)
                    c1 = measured(server, port, path, 1, args.duration_c1, **kw)
                    run = {
                        "startup_ms": server.startup * 1e3,
                        "c32": c32,
                        "c1": c1,
                        "rss_mib": server.peak_rss_mib(),
                        "rss_split": rss_split(server.proc.pid),
                    }
                finally:
                    server.stop()
                results.setdefault(name, {}).setdefault(kind, []).append(run)
                log(
                    f"round {round_index + 1} {name:6} {kind:8} {c32['rps']:>9,.0f} req/s  "
                    f"cpu {c32['cpu_us_per_req']:.2f} µs/req  busy {c32['server_busy']:.2f}  "
                    f"p50@1 {c1['p50_us']} µs  rss {run['rss_mib']:.1f} MiB  start {run['startup_ms']:.1f} ms"
                )


def instructions(args, answers, results):
    """User-space instructions per request under callgrind (1 connection, start-up excluded):
    a count that other load on the machine does not disturb."""
    if not shutil.which("valgrind") or not shutil.which("callgrind_control"):
        log("valgrind not installed: skipping instruction counts")
        return
    log(f"instruction counts under callgrind, {len(WORKLOADS)} workloads × 2 servers")
    for name, _, method, path, headers, body, log_level in WORKLOADS:
        for kind in ("dsvcr", "baseline"):
            if kind == "dsvcr":
                server, port = dsvcr_replay(f"callgrind-dsvcr-{name}", CASSETTES, log_level)
            else:
                server, port = baseline(f"callgrind-baseline-{name}", path.split("?")[0], answers[name])
            out = WORK / "callgrind" / f"{kind}-{name}.out"
            out.parent.mkdir(parents=True, exist_ok=True)
            for stale in out.parent.glob(f"{out.name}*"):
                stale.unlink()
            server.argv = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *server.argv]
            server.start()
            try:
                kw = dict(method=method, headers=headers, body=body)
                wrk(port, path, 1, 1, **kw)  # warm-up
                subprocess.run(["callgrind_control", "-z", str(server.proc.pid)], capture_output=True, check=True)
                run = wrk(port, path, 1, args.callgrind_seconds, **kw)
                subprocess.run(["callgrind_control", "-d", str(server.proc.pid)], capture_output=True, check=True)
            finally:
                server.stop()
            dumps = sorted(out.parent.glob(f"{out.name}.*"), key=lambda p: p.stat().st_mtime)
            dump = next(p for p in dumps if p.name.endswith(".1"))
            total = None
            for line in dump.read_text().splitlines():
                if line.startswith("summary:") or line.startswith("totals:"):
                    total = int(line.split()[1])
            per_request = total / run["requests"]
            results.setdefault(name, {})[kind] = per_request
            log(f"{name:6} {kind:8} {per_request:,.0f} instructions/request ({run['requests']} requests)")


def generate(n):
    """A folder of n valid cassettes (cached in bench/target/work between runs)."""
    folder = WORK / f"cassettes-{n}"
    marker = folder / ".complete"
    if marker.exists():
        return folder
    log(f"generating {n} cassettes in {folder}")
    if folder.exists():
        shutil.rmtree(folder)
    sub = folder / "download-session"
    sub.mkdir(parents=True)
    for i in range(n):
        cassette_id = f"{GEN_PREFIX}{i:06d}"
        cassette = {
            "format": 1,
            "operation": "com.vmware.content.library.item.download_session.get",
            "id": cassette_id,
            "recorded": {"at": "2026-11-02T10:00:00Z", "upstream": "vcenter.lab.example", "form": "A"},
            "responses": [
                {
                    "status": 200,
                    "session": {
                        "client_progress": i % 101,
                        "expiration_time": "2026-11-02T10:05:00.000Z",
                        "id": cassette_id,
                        "library_item_content_version": str(i % 7),
                        "library_item_id": f"3d1e5f7a-9b2c-4d6e-8f0a-{i:012x}",
                        "state": "ACTIVE",
                    },
                }
            ],
        }
        (sub / f"{cassette_id}.json").write_text(json.dumps(cassette, indent=2) + "\n")
    marker.write_text(str(n))
    return folder


def scaling(args, results):
    folders = {n: generate(n) for n in SCALES}
    probe = ("GET", f"{REST}/id:{GEN_PREFIX}000000")
    log(f"cassette scaling: start-up and RSS, {args.rounds} rounds")
    for round_index in range(args.rounds):
        for n in SCALES:
            port = free_port()
            argv = [str(DSVCR), "replay", "--listen", f"127.0.0.1:{port}", "--cassettes", str(folders[n])]
            # Nothing else runs while a folder loads, so the server may use both CPUs, as
            # dsvcr's parallel loading does.
            server = Server(f"dsvcr-scale-{n}", argv, port, probe, {"RUST_LOG": "warn"}, f"{SERVER_CPU},{LOAD_CPU}")
            server.start()
            try:
                run = {"startup_ms": server.startup * 1e3, "rss_mib": server.peak_rss_mib()}
            finally:
                server.stop()
            results.setdefault(str(n), []).append(run)
            log(f"round {round_index + 1} {n:>6} cassettes: start {run['startup_ms']:.0f} ms  rss {run['rss_mib']:.1f} MiB")


def scaling_hits(args, answers, results):
    n = SCALES[-1]
    folder = generate(n)
    rotate_prefix = f"{REST}/id:{GEN_PREFIX}"
    log(f"hit throughput at {n} cassettes, random ids, {args.rounds} rounds")
    # The baseline answers every id with one generated cassette's bytes (same size).
    server, port = dsvcr_replay("capture-scale", folder, "error")
    server.start()
    try:
        status, headers, body = request(port, "GET", f"{rotate_prefix}000000")
    finally:
        server.stop()
    answer = {"status": status, "content_type": headers["content-type"], "body": body}
    for round_index in range(args.rounds):
        kinds = ["dsvcr", "baseline"] if round_index % 2 == 0 else ["baseline", "dsvcr"]
        for kind in kinds:
            if kind == "dsvcr":
                port = free_port()
                argv = [str(DSVCR), "replay", "--listen", f"127.0.0.1:{port}", "--cassettes", str(folder)]
                server = Server(f"dsvcr-hit-{n}", argv, port, ("GET", f"{rotate_prefix}000000"), {"RUST_LOG": "warn"})
            else:
                server, port = baseline(f"baseline-hit-{n}", rotate_prefix, answer)
            server.start()
            try:
                path = f"{rotate_prefix}000000"
                wrk(port, path, 32, args.warmup, rotate=(rotate_prefix, n))
                c32 = measured(server, port, path, 32, args.duration, rotate=(rotate_prefix, n))
                c1 = measured(server, port, path, 1, args.duration_c1, rotate=(rotate_prefix, n))
                if c32["errors_status"] or c1["errors_status"]:
                    raise RuntimeError(f"{kind}: non-2xx answers in the {n}-cassette hit run")
                run = {"startup_ms": server.startup * 1e3, "c32": c32, "c1": c1, "rss_mib": server.peak_rss_mib()}
            finally:
                server.stop()
            results.setdefault(kind, []).append(run)
            log(
                f"round {round_index + 1} hit@{n} {kind:8} {c32['rps']:>9,.0f} req/s  "
                f"cpu {c32['cpu_us_per_req']:.2f} µs/req  rss {run['rss_mib']:.1f} MiB"
            )


def record_mode(args, results):
    log(f"record mode, {args.rounds} rounds")
    upstream_port = free_port()
    upstream = Server(
        "upstream", [str(BIN / "upstream"), "--listen", f"127.0.0.1:{upstream_port}"], upstream_port, ("GET", "/")
    ).start()
    folder = WORK / "record"
    if folder.exists():
        shutil.rmtree(folder)
    port = free_port()
    argv = [
        str(DSVCR),
        "record",
        "--upstream",
        f"http://127.0.0.1:{upstream_port}",
        "--cassettes",
        str(folder),
        "--listen",
        f"127.0.0.1:{port}",
        "--summary",
        str(WORK / "record-summary.json"),
    ]
    dsvcr = Server("dsvcr-record", argv, port, ("GET", "/__dsvcr/health"), {"RUST_LOG": "warn"}).start()
    login = dict(method="POST", headers={"Authorization": "Basic YmVuY2g6YmVuY2gtcGFzc3dvcmQ="})
    get_path = f"{REST}/id:rec-get"
    poll_path = f"{REST}/id:rec-poll"
    polled = 0
    try:
        for round_index in range(args.rounds):
            targets = [("direct", upstream_port), ("dsvcr", port)]
            if round_index % 2:
                targets.reverse()
            for target, target_port in targets:
                before = dsvcr.cpu_seconds()
                passthrough = wrk(target_port, "/rest/com/vmware/cis/session", 1, args.duration_c1, **login)
                passthrough["dsvcr_cpu_us_per_req"] = (dsvcr.cpu_seconds() - before) / passthrough["requests"] * 1e6
                recorded = wrk(target_port, get_path, 1, args.duration_c1)
                for run in (passthrough, recorded):
                    if run["errors_status"]:
                        raise RuntimeError(f"record mode: non-2xx answers via {target}: {run}")
                results.setdefault("passthrough", {}).setdefault(target, []).append(passthrough)
                results.setdefault("recorded_get", {}).setdefault(target, []).append(recorded)
                log(
                    f"round {round_index + 1} {target:6} login p50 {passthrough['p50_us']} µs  "
                    f"recorded get p50 {recorded['p50_us']} µs"
                )
            for conns in (1, 32):
                run = wrk(port, poll_path, conns, args.duration_c1)
                if run["errors_status"]:
                    raise RuntimeError(f"record mode: non-2xx answers polling: {run}")
                # Every answer wrk counted was recorded (durably) before it was sent.
                polled += run["requests"]
                run["recordings_per_s"] = run["requests"] / (run["duration_us"] / 1e6)
                results.setdefault("polling", {}).setdefault(str(conns), []).append(run)
                log(f"round {round_index + 1} polling one id, {conns} conns: {run['recordings_per_s']:,.0f} recordings/s")
    finally:
        dsvcr.stop()
        upstream.stop()
    # Nothing lost: the cassettes hold every recording the run summary counts (wrk may stop
    # with requests in flight, which dsvcr still records before it exits), at least every
    # answer wrk saw, and the folder checks.
    def held(cassette_id):
        cassette = json.loads((folder / "download-session" / f"{cassette_id}.json").read_text())
        # Format 2 holds one timeline per operation; format 1 had the get's at the top level.
        timelines = cassette.get("timelines") or [cassette]
        return sum(entry.get("repeat", 1) for timeline in timelines for entry in timeline["responses"])

    summary = json.loads((WORK / "record-summary.json").read_text())
    # A request whose client went away mid-write (wrk stopping) still lands on disk but is not
    # counted, so the cassettes may hold a few more than the summary.
    results["uncounted"] = held("rec-poll") + held("rec-get") - summary["recordings"]
    if results["uncounted"] < 0 or held("rec-poll") < polled:
        raise RuntimeError(
            f"cassettes hold {held('rec-poll')} + {held('rec-get')} responses; the summary counts "
            f"{summary['recordings']} recordings and wrk saw {polled} polls answered"
        )
    check = subprocess.run([str(DSVCR), "check", str(folder)], capture_output=True, text=True)
    if check.returncode != 0:
        raise RuntimeError(f"dsvcr check on the recorded folder failed: {check.stdout}{check.stderr}")
    results["polled_total"] = polled


# ---------------------------------------------------------------- file bytes (issue 11)

BYTES_SESSION = "bench-bytes"
BYTES_FILE = "big.iso"
GIB = 1 << 30


def curl_get(url):
    """Downloads `url` to /dev/null with curl on LOAD_CPU; returns (seconds, bytes)."""
    out = subprocess.run(
        ["taskset", "-c", LOAD_CPU, "curl", "-sS", "--fail", "-o", "/dev/null", "-w", "%{time_total} %{size_download}", url],
        capture_output=True, text=True, check=True,
    ).stdout.split()
    return float(out[0]), int(out[1])


def timed_download(server, url):
    """One whole download; the server's CPU over it and the throughput."""
    before = server.cpu_seconds()
    seconds, size = curl_get(url)
    cpu = server.cpu_seconds() - before
    return {"seconds": seconds, "bytes": size, "mib_per_s": size / seconds / (1 << 20), "cpu_s_per_gib": cpu / (size / GIB)}


def nginx(root, port):
    """nginx serving `root` as static files with sendfile, one worker, on the server CPU."""
    conf = WORK / "nginx" / "nginx.conf"
    conf.parent.mkdir(parents=True, exist_ok=True)
    conf.write_text(
        f"user root;\nmaster_process off;\nworker_processes 1;\nerror_log {conf.parent}/error.log;\npid {conf.parent}/nginx.pid;\n"
        "events { worker_connections 64; }\n"
        f"http {{ access_log off; sendfile on; tcp_nopush on; default_type application/octet-stream;\n"
        f"  client_body_temp_path {conf.parent}; proxy_temp_path {conf.parent}; fastcgi_temp_path {conf.parent};\n"
        f"  uwsgi_temp_path {conf.parent}; scgi_temp_path {conf.parent};\n"
        f"  server {{ listen 127.0.0.1:{port}; root {root}; location / {{ }} }} }}\n"
    )
    return Server("nginx", ["nginx", "-c", str(conf), "-g", "daemon off;"], port, ("GET", "/"))


def bytes_mode(args, results):
    """Record pass-through of a generated 1 GiB file vs downloading it from the upstream
    directly, then replay of the recorded blob vs nginx (sendfile) serving the same file."""
    mib = 1024 if not args.quick else 64
    log(f"file bytes: {mib} MiB, {args.rounds} rounds")
    folder = WORK / "bytes"
    if folder.exists():
        shutil.rmtree(folder)
    upstream_port, port = free_port(), free_port()
    upstream = Server("upstream-bytes", [str(BIN / "upstream"), "--listen", f"127.0.0.1:{upstream_port}", "--file-mib", str(mib)],
                      upstream_port, ("GET", "/")).start()
    argv = [str(DSVCR), "record", "--upstream", f"http://127.0.0.1:{upstream_port}", "--cassettes", str(folder),
            "--listen", f"127.0.0.1:{port}"]
    record = Server("dsvcr-record-bytes", argv, port, ("GET", "/__dsvcr/health"), {"RUST_LOG": "warn"}).start()
    files = "/rest/com/vmware/content/library/item/downloadsession/file"
    try:
        status, _, body = request(port, "POST", f"{files}/id:{BYTES_SESSION}?~action=prepare",
                                  {"Content-Type": "application/json"}, json.dumps({"file_name": BYTES_FILE}))
        if status != 200:
            raise RuntimeError(f"bytes: prepare through dsvcr answered {status}: {body[:300]!r}")
        through = json.loads(body)["value"]["download_endpoint"]["uri"]
        direct = f"http://127.0.0.1:{upstream_port}/cis-data/{BYTES_SESSION}/{BYTES_FILE}"
        for round_index in range(args.rounds):
            order = [("direct", upstream, direct), ("dsvcr", record, through)]
            if round_index % 2:
                order.reverse()
            for name, server, url in order:
                run = timed_download(server, url)
                results.setdefault("record", {}).setdefault(name, []).append(run)
                log(f"round {round_index + 1} record {name:6} {run['mib_per_s']:,.0f} MiB/s, {run['cpu_s_per_gib']:.2f} CPU s/GiB")
        results["record_rss_mib"] = record.peak_rss_mib()
    finally:
        record.stop()
        upstream.stop()
    blobs = folder / "blobs" / "sha256"
    blob = next(blobs.iterdir())
    if blob.stat().st_size != mib << 20:
        raise RuntimeError(f"bytes: the blob holds {blob.stat().st_size} bytes")
    replay_port, nginx_port = free_port(), free_port()
    replay = Server("dsvcr-replay-bytes", [str(DSVCR), "replay", "--cassettes", str(folder), "--listen", f"127.0.0.1:{replay_port}"],
                    replay_port, ("GET", "/__dsvcr/health"), {"RUST_LOG": "warn"}).start()
    static = nginx(blobs, nginx_port).start()
    try:
        urls = [("dsvcr", replay, f"http://127.0.0.1:{replay_port}/__dsvcr/files/{BYTES_SESSION}/{BYTES_FILE}"),
                ("nginx", static, f"http://127.0.0.1:{nginx_port}/{blob.name}")]
        for round_index in range(args.rounds):
            order = urls if round_index % 2 == 0 else list(reversed(urls))
            for name, server, url in order:
                run = timed_download(server, url)
                results.setdefault("replay", {}).setdefault(name, []).append(run)
                log(f"round {round_index + 1} replay {name:6} {run['mib_per_s']:,.0f} MiB/s, {run['cpu_s_per_gib']:.2f} CPU s/GiB")
        results["replay_rss_mib"] = replay.peak_rss_mib()
    finally:
        replay.stop()
        static.stop()
    results["mib"] = mib
    log(f"peak RSS: record {results['record_rss_mib']:.1f} MiB, replay {results['replay_rss_mib']:.1f} MiB")


def bytes_section(res, w):
    b = res["bytes"]
    w("## File bytes\n")
    w(f"One {b['mib']} MiB file, one download at a time with curl (CPU {LOAD_CPU}), servers on CPU {SERVER_CPU}. "
      "*Record*: `dsvcr record` passing the body of a fake upstream (`bench/src/bin/upstream.rs`, a 1 MiB block "
      "repeated from memory) to the client while hashing it into a blob, vs curl downloading from that upstream "
      "directly. *Replay*: dsvcr serving the recorded blob from disk vs nginx serving the same file "
      "(`sendfile on`, one worker). The blob is in the page cache for both. CPU s/GiB is the server's own "
      "(utime + stime); record's excludes the upstream's.\n")
    w("| workload | dsvcr MiB/s | other MiB/s | ratio | dsvcr CPU s/GiB | other CPU s/GiB |")
    w("|---|---|---|---|---|---|")
    for key, other, label in [("record", "direct", "record pass-through vs direct from the upstream"),
                              ("replay", "nginx", "replay of the blob vs nginx sendfile")]:
        d, o = b[key]["dsvcr"], b[key][other]
        rd, ro = [r["mib_per_s"] for r in d], [r["mib_per_s"] for r in o]
        w(f"| {label} | {spread(rd, f0)} | {spread(ro, f0)} | {ratio(paired(rd, ro))} | "
          f"{spread([r['cpu_s_per_gib'] for r in d], f2)} | {spread([r['cpu_s_per_gib'] for r in o], f2)} |")
    w(f"\nPeak RSS (`VmHWM`): dsvcr record {b['record_rss_mib']:.1f} MiB, dsvcr replay {b['replay_rss_mib']:.1f} MiB.\n")


# ---------------------------------------------------------------- the report


def cpu_busy_seconds():
    """(seconds all CPUs were busy, seconds this driver and its waited-for children used)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]
    busy = (sum(fields[:8]) - idle) / CLK_TCK
    import resource

    mine = sum(
        getattr(resource.getrusage(who), field)
        for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
        for field in ("ru_utime", "ru_stime")
    )
    return busy, mine


def machine():
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    version = lambda argv: subprocess.run(argv, capture_output=True, text=True).stdout.strip().splitlines()[0]
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "kernel": platform.release(),
        "rustc": version(["rustc", "--version"]),
        "wrk": (wrk_version.stdout + wrk_version.stderr).strip().splitlines()[0],
        "memory": f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB",
    }


def targets(res):
    """(figure, dsvcr, baseline, ratio text, target text, met) rows."""
    rows = []
    rep = res["replay"]

    def field(name, kind, key, sub=None):
        return [run[sub][key] if sub else run[key] for run in rep[name][kind]]

    def cpu_row(name, label, limit):
        d, b = field(name, "dsvcr", "cpu_us_per_req", "c32"), field(name, "baseline", "cpu_us_per_req", "c32")
        r = paired(d, b)
        rows.append((f"{label}: CPU/request (µs)", spread(d, f2), spread(b, f2), ratio(r), f"≤ {limit}×", med(r) <= limit))

    cpu_row("A", "form A hit", 1.10)
    for name, label in [("B", "form B"), ("C-json", "form C, JSON body"), ("C-xml", "form C, XML body"),
                        ("D", "form D"), ("XML", "XML output"), ("miss", "miss (404), default log level")]:
        cpu_row(name, label, 1.25)
    for name, label in [("poll", "file.get poll"), ("create", "create"), ("lookup", "lookup (library.item.find)")]:
        cpu_row(name, label, 1.3)
    cpu_row("jsonrpc", "JSON-RPC hit", 1.5)
    a = field("A", "dsvcr", "cpu_us_per_req", "c32")
    for name, label, limit in [("jsonrpc-item", "typed JSON-RPC library.item.get", 1.5),
                               ("derived", "derived lookup (library.item.find by name alone)", 1.5),
                               ("soap-hit", "SOAP tape hit", 2), ("soap-login", "offline SOAP login", 2)]:
        d = field(name, "dsvcr", "cpu_us_per_req", "c32")
        r = paired(d, a)
        rows.append((f"{label}: CPU/request (µs) vs dsvcr's form A hit", spread(d, f2), spread(a, f2) + " form A",
                     ratio(r), f"≤ {limit}×", med(r) <= limit))
    d, b = field("A", "dsvcr", "rps", "c32"), field("A", "baseline", "rps", "c32")
    r = paired(d, b)
    rows.append(("form A: req/s at 32 connections", spread(d, f0), spread(b, f0), ratio(r), "≥ 0.9×", med(r) >= 0.9))
    d, b = field("miss", "dsvcr", "rps", "c32"), field("miss", "baseline", "rps", "c32")
    r = paired(d, b)
    rows.append(("miss: req/s at 32 connections", spread(d, f0), spread(b, f0), ratio(r), "≥ 0.8×", med(r) >= 0.8))
    d, b = field("A", "dsvcr", "rss_mib"), field("A", "baseline", "rss_mib")
    r = paired(d, b)
    rows.append(("peak RSS, shipped cassettes (MiB)", spread(d, f1), spread(b, f1), ratio(r), "≤ 2×", med(r) <= 2))
    d = [run["rss_split"]["anon"] / 1024 for run in res["replay"]["A"]["dsvcr"] if "rss_split" in run]
    b = [run["rss_split"]["anon"] / 1024 for run in res["replay"]["A"]["baseline"] if "rss_split" in run]
    if d and b:
        r = paired(d, b)
        rows.append(("of which anonymous (MiB, end of run; the rest is file-backed)", spread(d, f2), spread(b, f2),
                     ratio(r), "≤ 2×", med(r) <= 2))
    if "scaling" in res:
        n = str(SCALES[-1])
        s = [run["startup_ms"] for run in res["scaling"][n]]
        rows.append(("100 000 cassettes: start-up (ms)", spread(s, f0), "", "", "≤ 500 ms", med(s) <= 500))
        hits = res["scaling_hits"]
        m = [run["rss_mib"] for run in hits["dsvcr"]] + [run["rss_mib"] for run in res["scaling"][n]]
        rows.append(("100 000 cassettes: peak RSS (MiB)", spread(m, f1), "", "", "≤ 150 MiB", max(m) <= 150))
        d = [run["c32"]["cpu_us_per_req"] for run in hits["dsvcr"]]
        b = [run["c32"]["cpu_us_per_req"] for run in hits["baseline"]]
        r = paired(d, b)
        rows.append(("100 000 cassettes: hit CPU/request (µs)", spread(d, f2), spread(b, f2), ratio(r), "≤ 1.2×", med(r) <= 1.2))
    if "record" in res:
        pt = res["record"]["passthrough"]
        d, b = [run["p50_us"] for run in pt["dsvcr"]], [run["p50_us"] for run in pt["direct"]]
        added = [x - y for x, y in zip(d, b)]
        rows.append((
            "record pass-through (login): p50 at 1 conn (µs)",
            spread(d, f0),
            spread(b, f0) + " direct",
            spread(added, signed) + " µs",
            "≤ +100 µs",
            med(added) <= 100,
        ))
    return rows


def report(args, res, started, elapsed, commands):
    m = res["machine"]
    out = []
    w = out.append
    w("# Benchmarks\n")
    w("Generated by `just bench` (`bench/run.py`); do not edit by hand, re-run it.\n")
    w(f"- date: {started:%Y-%m-%d %H:%M} UTC; the whole run took {elapsed / 60:.1f} min")
    w(f"- machine: {m['nproc']} CPUs ({m['cpu']}), {m['memory']}, Linux {m['kernel']}; {m['rustc']}; {m['wrk']}")
    w(
        f"- other processes on the machine used {res['foreign_cpu']:.2f} CPUs on average during the run "
        "(of 2; busy time in `/proc/stat` minus this benchmark's own processes). Above ~0.05 the "
        "wall-clock figures (and their ratios) are disturbed; the callgrind instruction counts are not."
    )
    if res.get("resumed"):
        w("- the replay and scaling parts come from one invocation, and the record-mode and callgrind parts "
          "from a second one right after it (`--resume`), with the same build; the time above is the second's.")
    w(f"- dsvcr commit: `{res['commit']}`{' (work tree had uncommitted changes)' if res['dirty'] else ''}")
    w(
        f"- {args.rounds} interleaved rounds (dsvcr and baseline alternate which goes first); each figure is the "
        "**median (min–max)** over rounds, and each ratio is the median (min–max) of the per-round ratios "
        "dsvcr ÷ baseline, measured back to back in the same round."
    )
    w(
        f"- server under test pinned to CPU {SERVER_CPU}, wrk (1 thread) and this driver to CPU {LOAD_CPU} "
        f"(`taskset`); each server run: {args.warmup} s warm-up at 32 connections, {args.duration} s measured at "
        f"32 connections, {args.duration_c1} s at 1 connection, all over loopback with keep-alive."
    )
    w(
        "- **CPU/request** = (utime + stime of the server process over the 32-connection run, from "
        "`/proc/PID/stat`) ÷ requests answered: it stays meaningful when wrk, not the server, is the "
        "bottleneck. `busy` is that CPU time ÷ wall time (1.00 = the server's core was saturated)."
    )
    w("- **peak RSS** = `VmHWM` of the server after its runs; **start-up** = spawn to the first answered request (polled every 0.5 ms).")
    w(
        "- **baseline** (`bench/src/bin/baseline.rs`): a bare hyper 1 HTTP/1.1 server on the same tokio "
        "multi-threaded runtime that answers the same path with the same status, content type and body bytes "
        "(captured from dsvcr at the start of the run and compared byte for byte) from memory; it reads the "
        "request body and nothing else."
    )
    w("- dsvcr runs with `RUST_LOG=warn` (no per-request logging), except the miss workload, which runs at "
      "dsvcr's default log level (`info`, to a file): every request writes its access-log line, and a miss's "
      "warning is logged once per id.\n")
    w("- replay workloads serve the shipped cassettes plus one call cassette (`library.item.find` for "
      "`{\"library_id\": \"lib-1\", \"name\": \"photon-5.0\"}`), copied to `bench/target/work/bench-cassettes`; "
      "the file.get poll is measured on its steady answer (`PREPARED`, after the recorded `PREPARING` twice), "
      "whose download endpoint dsvcr rewrites for each request.\n")

    w("## Targets\n")
    w("| figure | dsvcr | baseline | ratio | target | met |")
    w("|---|---|---|---|---|---|")
    for figure, d, b, r, target, met in targets(res):
        w(f"| {figure} | {d} | {b} | {r} | {target} | {'yes' if met else '**no**'} |")
    w("")

    rep = res["replay"]
    w("## Replay: throughput and CPU (32 connections)\n")
    w("| workload | dsvcr req/s | baseline req/s | ratio | dsvcr CPU µs/req | baseline CPU µs/req | ratio | busy (dsvcr / baseline) |")
    w("|---|---|---|---|---|---|---|---|")
    for name, label, *_ in WORKLOADS:
        d, b = rep[name]["dsvcr"], rep[name]["baseline"]
        rd, rb = [r["c32"]["rps"] for r in d], [r["c32"]["rps"] for r in b]
        cd, cb = [r["c32"]["cpu_us_per_req"] for r in d], [r["c32"]["cpu_us_per_req"] for r in b]
        busy = f"{med([r['c32']['server_busy'] for r in d]):.2f} / {med([r['c32']['server_busy'] for r in b]):.2f}"
        w(f"| {label} | {spread(rd, f0)} | {spread(rb, f0)} | {ratio(paired(rd, rb))} | {spread(cd, f2)} | "
          f"{spread(cb, f2)} | {ratio(paired(cd, cb))} | {busy} |")
    w("")
    w("## Replay: latency (µs)\n")
    w("| workload | dsvcr p50 @32 | baseline p50 @32 | dsvcr p99 @32 | baseline p99 @32 | dsvcr p50 @1 | baseline p50 @1 | ratio p50 @1 | dsvcr p99 @1 | baseline p99 @1 |")
    w("|---|---|---|---|---|---|---|---|---|---|")
    for name, label, *_ in WORKLOADS:
        d, b = rep[name]["dsvcr"], rep[name]["baseline"]
        col = lambda runs, c, k: [r[c][k] for r in runs]
        w(
            f"| {label} | {spread(col(d, 'c32', 'p50_us'), f0)} | {spread(col(b, 'c32', 'p50_us'), f0)} | "
            f"{spread(col(d, 'c32', 'p99_us'), f0)} | {spread(col(b, 'c32', 'p99_us'), f0)} | "
            f"{spread(col(d, 'c1', 'p50_us'), f0)} | {spread(col(b, 'c1', 'p50_us'), f0)} | "
            f"{ratio(paired(col(d, 'c1', 'p50_us'), col(b, 'c1', 'p50_us')))} | "
            f"{spread(col(d, 'c1', 'p99_us'), f0)} | {spread(col(b, 'c1', 'p99_us'), f0)} |"
        )
    w("")
    if res.get("instructions"):
        w("## Replay: instructions per request (callgrind)\n")
        w(f"User-space instructions the server executes per request under `valgrind --tool=callgrind`, one "
          f"connection, {args.callgrind_seconds} s after a warm-up, counters zeroed after start-up "
          "(`callgrind_control -z`). Kernel time (the socket system calls, most of the CPU time above) is not "
          "counted, so these ratios are larger than the CPU-time ratios; unlike them, they do not move with "
          "other load on the machine.\n")
        w("| workload | dsvcr | baseline | ratio |")
        w("|---|---|---|---|")
        for name, label, *_ in WORKLOADS:
            figures = res["instructions"].get(name)
            if figures and "dsvcr" in figures and "baseline" in figures:
                w(f"| {label} | {figures['dsvcr']:,.0f} | {figures['baseline']:,.0f} | "
                  f"{figures['dsvcr'] / figures['baseline']:.2f}× |")
        w("")
    w("## Start-up and memory, shipped cassettes\n")
    w("| figure | dsvcr | baseline | ratio |")
    w("|---|---|---|---|")
    d = [r["startup_ms"] for name, *_ in WORKLOADS for r in rep[name]["dsvcr"]]
    b = [r["startup_ms"] for name, *_ in WORKLOADS for r in rep[name]["baseline"]]
    w(f"| spawn → first answer (ms), all {len(d)} spawns | {spread(d, f1)} | {spread(b, f1)} | {med(d) / med(b):.2f}× (of medians) |")
    for name, label, *_ in WORKLOADS:
        dm, bm = [r["rss_mib"] for r in rep[name]["dsvcr"]], [r["rss_mib"] for r in rep[name]["baseline"]]
        w(f"| peak RSS (MiB) after {label} | {spread(dm, f1)} | {spread(bm, f1)} | {ratio(paired(dm, bm))} |")
    w("")
    rss_split_section(res, w)
    if "scaling" in res:
        w("## Cassette folder scaling\n")
        w("Generated cassettes (one response each, pretty-printed like recorded ones, ~600 bytes), read with a "
          "warm page cache. While a folder loads nothing else runs, so the server may use both CPUs here "
          "(`taskset -c 0,1`); the hit runs below pin it to one, as elsewhere.\n")
        w("| cassettes | spawn → first answer (ms) | peak RSS after start-up (MiB) |")
        w("|---|---|---|")
        for n in SCALES:
            runs = res["scaling"][str(n)]
            w(f"| {n:,} | {spread([r['startup_ms'] for r in runs], f0)} | {spread([r['rss_mib'] for r in runs], f1)} |")
        w("")
        hits = res["scaling_hits"]
        n = SCALES[-1]
        w(f"Hits at {n:,} cassettes: wrk cycles through 10 000 random ids; the baseline answers every id with one "
          "generated cassette's bytes.\n")
        w("| figure | dsvcr | baseline | ratio |")
        w("|---|---|---|---|")
        for label, c, k, fmt in [
            ("req/s at 32 connections", "c32", "rps", f0),
            ("CPU µs/request", "c32", "cpu_us_per_req", f2),
            ("p50 @32 (µs)", "c32", "p50_us", f0),
            ("p99 @32 (µs)", "c32", "p99_us", f0),
            ("p50 @1 (µs)", "c1", "p50_us", f0),
            ("p99 @1 (µs)", "c1", "p99_us", f0),
        ]:
            d, b = [r[c][k] for r in hits["dsvcr"]], [r[c][k] for r in hits["baseline"]]
            w(f"| {label} | {spread(d, fmt)} | {spread(b, fmt)} | {ratio(paired(d, b))} |")
        d, b = [r["rss_mib"] for r in hits["dsvcr"]], [r["rss_mib"] for r in hits["baseline"]]
        w(f"| peak RSS (MiB) | {spread(d, f1)} | {spread(b, f1)} | {ratio(paired(d, b))} |")
        w("")
    if "record" in res:
        rec = res["record"]
        w("## Record mode\n")
        w("`dsvcr record --upstream http://127.0.0.1:PORT` in front of a fake vCenter (`bench/src/bin/upstream.rs`, "
          "a bare hyper server answering from memory), both on the server CPU; *direct* is wrk calling the fake "
          "upstream itself. One connection, so the figures are latencies. Every recorded get is written to its "
          "cassette (temp file, fsync, rename, fsync of the folder) before it is answered.\n")
        w("| request | direct p50 | via dsvcr p50 | added p50 | direct p99 | via dsvcr p99 | added p99 |")
        w("|---|---|---|---|---|---|---|")
        for key, label in [("passthrough", "pass-through: login `POST /rest/com/vmware/cis/session`"),
                           ("recorded_get", "recorded get, form A (durable write each time)")]:
            d, b = rec[key]["dsvcr"], rec[key]["direct"]
            p50 = [x["p50_us"] - y["p50_us"] for x, y in zip(d, b)]
            p99 = [x["p99_us"] - y["p99_us"] for x, y in zip(d, b)]
            w(f"| {label} | {spread([x['p50_us'] for x in b], f0)} µs | {spread([x['p50_us'] for x in d], f0)} µs | "
              f"{spread(p50, signed)} µs | {spread([x['p99_us'] for x in b], f0)} µs | "
              f"{spread([x['p99_us'] for x in d], f0)} µs | {spread(p99, signed)} µs |")
        cpu = [x["dsvcr_cpu_us_per_req"] for x in rec["passthrough"]["dsvcr"]]
        w(f"\ndsvcr's own CPU per forwarded login: {spread(cpu, f1)} µs.\n")
        w("| polling one id (every answer recorded durably) | recordings/s | p50 | p99 |")
        w("|---|---|---|---|")
        for conns in ("1", "32"):
            runs = rec["polling"][conns]
            w(f"| {conns} connection{'s' if conns != '1' else ''} | {spread([r['recordings_per_s'] for r in runs], f0)} | "
              f"{spread([r['p50_us'] for r in runs], f0)} µs | {spread([r['p99_us'] for r in runs], f0)} µs |")
        w(f"\nAfter the run the cassettes held every response the run summary counted as recorded (the polled "
          f"one at least the {res['record']['polled_total']:,} answers wrk received, collapsed into repeats), and "
          "`dsvcr check` passed on the folder.")
        if res["record"].get("uncounted"):
            w(f"The cassettes held {res['record']['uncounted']} response(s) more than the summary's `recordings`: "
              "when wrk stops, a get whose durable write has already started is still written, but the "
              "request is dropped with its client before it is counted.")
        w("")
    if "bytes" in res:
        bytes_section(res, w)
    if res.get("notes"):
        w("## Notes\n")
        w(res["notes"].strip() + "\n")
    w("## How to reproduce\n")
    w("```sh\njust bench            # installs wrk if missing, builds, runs everything, rewrites BENCHMARKS.md\n```\n")
    w("The recipe runs:\n")
    w("```sh\n" + "\n".join(commands) + "\n```\n")
    w("and the driver runs, per server and workload (PORT, FILE and the Lua settings vary):\n")
    w("```sh\n"
      "taskset -c 0 target/profiling/dsvcr replay --listen 127.0.0.1:PORT --cassettes cassettes   # RUST_LOG=warn\n"
      "taskset -c 0 bench/target/release/baseline --listen 127.0.0.1:PORT --path-prefix PATH --body FILE --content-type CT --status N\n"
      f"taskset -c 1 wrk -t1 -c32 -d{args.warmup}s --latency -s bench/lua/bench.lua http://127.0.0.1:PORT/PATH   # warm-up\n"
      f"taskset -c 1 wrk -t1 -c32 -d{args.duration}s --latency -s bench/lua/bench.lua http://127.0.0.1:PORT/PATH\n"
      f"taskset -c 1 wrk -t1 -c1 -d{args.duration_c1}s --latency -s bench/lua/bench.lua http://127.0.0.1:PORT/PATH\n"
      "taskset -c 0 bench/target/release/upstream --listen 127.0.0.1:PORT   # record mode's fake vCenter\n"
      "taskset -c 0 target/profiling/dsvcr record --upstream http://127.0.0.1:PORT --cassettes bench/target/work/record --listen 127.0.0.1:PORT\n"
      "```\n")
    w(f"Raw figures of this run: `bench/target/results.json` (not committed). Options: `python3 bench/run.py --help`.\n")
    return "\n".join(out)


def sized(out, text):
    """The report with the Binary size section: measured now, or kept from `out`."""
    previous = Path(out).read_text() if Path(out).exists() else ""
    return with_size(text, measure_size(ROOT), previous)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1, help="seconds of warm-up per server run")
    parser.add_argument("--duration", type=int, default=4, help="seconds measured at 32 connections")
    parser.add_argument("--duration-c1", type=int, default=2, help="seconds measured at 1 connection")
    parser.add_argument("--quick", action="store_true", help="1 round of 1 s runs, to try the harness")
    parser.add_argument("--only", default="replay,scaling,record,bytes,callgrind", help="comma-separated parts to run")
    parser.add_argument("--callgrind-seconds", type=int, default=3, help="seconds per server under callgrind")
    parser.add_argument("--workloads", default="", help="comma-separated replay workloads (default: all)")
    parser.add_argument("--dsvcr", default=str(DSVCR), help="the dsvcr binary to measure (default: the profiling build, release with line tables)")
    parser.add_argument("--out", default=str(ROOT / "BENCHMARKS.md"))
    parser.add_argument("--notes", default=str(ROOT / "bench" / "NOTES.md"),
                        help="a Markdown file copied into the report's Notes section, if present")
    parser.add_argument("--command", action="append", default=[], help="a command the recipe ran, for the report")
    parser.add_argument("--resume", help="a results-partial.json whose parts are kept; run only the other parts of --only")
    parser.add_argument("--report-from", help="re-write the report from a results.json of an earlier run (e.g. after editing bench/NOTES.md)")
    args = parser.parse_args()
    if args.report_from:
        res = json.loads(Path(args.report_from).read_text())
        for key, value in res["args"].items():
            setattr(args, key, value)
        notes = Path(args.notes)
        res["notes"] = notes.read_text() if notes.exists() else ""
        started = datetime.datetime.fromisoformat(res["started"])
        write_report(args.out, sized(args.out, report(args, res, started, res["elapsed"], args.command or RECIPE)))
        log(f"wrote {args.out} from {args.report_from}")
        return
    globals()["DSVCR"] = Path(args.dsvcr).resolve()
    globals()["CASSETTES"] = bench_cassettes()
    if args.quick:
        args.rounds, args.warmup, args.duration, args.duration_c1 = 1, 1, 1, 1
    parts = set(args.only.split(","))
    if "bytes" in parts and not shutil.which("nginx"):
        # Found out before the other parts run, not minutes into the run.
        log("nginx not installed: skipping the file-bytes part (`just bench` installs it)")
        parts.discard("bytes")
    if args.workloads:
        WORKLOADS[:] = [w for w in WORKLOADS if w[0] in args.workloads.split(",")]
    if (os.cpu_count() or 1) < 2:
        sys.exit("bench: needs 2 CPUs (server and load generator on separate cores)")
    for path in (Path(args.dsvcr), BIN / "baseline", BIN / "upstream"):
        if not path.exists():
            sys.exit(f"bench: {path} is missing; run `just bench`, which builds it")
    if not shutil.which("wrk"):
        sys.exit("bench: wrk is not installed; `just bench` installs it (apt-get install -y wrk)")
    os.sched_setaffinity(0, {int(LOAD_CPU)})
    WORK.mkdir(parents=True, exist_ok=True)
    started = datetime.datetime.now(datetime.timezone.utc)
    t0 = time.perf_counter()
    git = lambda *a: subprocess.run(["git", "-C", str(ROOT), *a], capture_output=True, text=True).stdout.strip()
    res = {
        "machine": machine(),
        "commit": git("rev-parse", "--short", "HEAD"),
        "dirty": bool(git("status", "--porcelain", "--untracked-files=no", "--", "src", "Cargo.toml", "Cargo.lock")),
    }
    busy0, mine0 = cpu_busy_seconds()
    answers = capture_answers()
    if args.resume:
        kept = json.loads(Path(args.resume).read_text())
        for key in ("replay", "scaling", "scaling_hits"):
            if key in kept:
                res[key] = kept[key]
        parts -= {"replay", "scaling"} & {p for p in ("replay", "scaling") if p in kept}
        res["resumed"] = True
    partial = ROOT / "bench" / "target" / "results-partial.json"
    if "replay" in parts:
        res["replay"] = {}
        replay_workloads(args, answers, res["replay"])
        partial.write_text(json.dumps(res, indent=1))
    if "scaling" in parts:
        res["scaling"], res["scaling_hits"] = {}, {}
        scaling(args, res["scaling"])
        scaling_hits(args, answers, res["scaling_hits"])
        partial.write_text(json.dumps(res, indent=1))
    if "record" in parts:
        res["record"] = {}
        record_mode(args, res["record"])
    if "bytes" in parts:
        res["bytes"] = {}
        bytes_mode(args, res["bytes"])
        partial.write_text(json.dumps(res, indent=1))
    if "callgrind" in parts:
        res["instructions"] = {}
        instructions(args, answers, res["instructions"])
    elapsed = time.perf_counter() - t0
    busy1, mine1 = cpu_busy_seconds()
    res["foreign_cpu"] = max(0.0, (busy1 - busy0) - (mine1 - mine0)) / elapsed
    notes = Path(args.notes)
    if notes.exists():
        res["notes"] = notes.read_text()
    res["args"] = {k: getattr(args, k) for k in ("rounds", "warmup", "duration", "duration_c1", "callgrind_seconds")}
    res["started"], res["elapsed"] = started.isoformat(), elapsed
    (ROOT / "bench" / "target").mkdir(exist_ok=True)
    (ROOT / "bench" / "target" / "results.json").write_text(json.dumps(res, indent=1))
    if "replay" in res and not args.workloads:
        write_report(args.out, sized(args.out, report(args, res, started, elapsed, args.command or RECIPE)))
        log(f"wrote {args.out}")
    log(f"done in {elapsed / 60:.1f} min")
    for figure, d, b, r, target, met in targets(res) if "replay" in res and not args.workloads else []:
        log(f"{'MET ' if met else 'MISS'} {figure}: {d} vs {b} {r} (target {target})")


if __name__ == "__main__":
    main()
