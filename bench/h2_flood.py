#!/usr/bin/env python3
"""HTTP/2 download flood against `dsvcr replay` (RELIABILITY.md, issue 25 item 1).

Serves one session whose file is a 32 MiB blob, then runs h2load (apt package
nghttp2-client) with 16 connections x 100 concurrent streams, 1600 downloads of it over h2c,
while a prober makes an API call (a get of the session, on a new HTTP/1.1 connection) every
50 ms. Prints dsvcr's peak resident size (VmHWM), h2load's status counts and the API calls'
statuses and latencies.

    python3 bench/h2_flood.py target/profiling/dsvcr [--dsvcr "FLAGS"] [--h2load "FLAGS"]

Run it on a quiet machine: h2load and dsvcr compete for the same cores.
"""
import argparse, hashlib, http.client, json, os, re, signal, subprocess, sys, tempfile
import threading, time

BLOB_BYTES = 32 * 1024 * 1024
GET = "/api/content/library/item/download-session/obj-1"
DOWNLOAD = "/__dsvcr/files/obj-1/disk.iso"


def folder_with_blob(root):
    blob = os.urandom(BLOB_BYTES)
    digest = hashlib.sha256(blob).hexdigest()
    os.makedirs(f"{root}/blobs/sha256")
    os.makedirs(f"{root}/download-session")
    with open(f"{root}/blobs/sha256/{digest}", "wb") as out:
        out.write(blob)
    cassette = {
        "format": 2, "id": "obj-1", "recorded": {"at": "2026-11-29T10:00:00Z"},
        "timelines": [{
            "operation": "com.vmware.content.library.item.download_session.get",
            "responses": [{"status": 200, "session": {
                "client_progress": 50, "id": "obj-1", "library_item_id": "item-1",
                "state": "ACTIVE"}}],
        }],
        "downloads": [{"file_name": "disk.iso", "status": 200, "size": BLOB_BYTES,
                       "sha256": digest, "content_type": "application/octet-stream"}],
    }
    with open(f"{root}/download-session/obj-1.json", "w") as out:
        json.dump(cassette, out, indent=2)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--dsvcr", default="", help="extra replay flags")
    parser.add_argument("--h2load", default="", help="extra h2load flags")
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix="dsvcr-h2-flood-")
    folder_with_blob(root)
    proc = subprocess.Popen(
        [args.binary, "replay", "--cassettes", root, "--listen", "127.0.0.1:0"]
        + args.dsvcr.split(),
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    port = int(re.search(r":(\d+)\s*$", proc.stdout.readline().strip()).group(1))

    def status(field):
        with open(f"/proc/{proc.pid}/status") as lines:
            return next(int(line.split()[1]) for line in lines if line.startswith(field))

    start_rss = status("VmRSS:")
    stop = threading.Event()
    api = []

    def probe():
        while not stop.is_set():
            began = time.monotonic()
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                connection.request("GET", GET)
                response = connection.getresponse()
                response.read()
                connection.close()
                api.append((response.status, time.monotonic() - began))
            except Exception as err:  # a refused or cut connection is a result too
                api.append((type(err).__name__, time.monotonic() - began))
            time.sleep(0.05)

    def guard():
        # Stop a run whose memory runs away before it takes the machine with it.
        while not stop.is_set():
            if status("VmRSS:") > 6 * 1024 * 1024:
                print("RSS over 6 GiB: killing dsvcr", file=sys.stderr)
                proc.kill()
                return
            time.sleep(0.02)

    threads = [threading.Thread(target=probe), threading.Thread(target=guard)]
    for thread in threads:
        thread.start()
    began = time.monotonic()
    h2load = subprocess.run(
        ["h2load", "-c", "16", "-m", "100", "-n", "1600"] + args.h2load.split()
        + [f"http://127.0.0.1:{port}{DOWNLOAD}"],
        capture_output=True, text=True)
    elapsed = time.monotonic() - began
    stop.set()
    for thread in threads:
        thread.join()
    peak = status("VmHWM:")
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=20)
    lines = [line.strip() for line in h2load.stdout.splitlines()
             if re.search(r"status codes|requests:|traffic:", line)]
    answered = [code for code, _ in api if code == 200]
    others = sorted({str(code) for code, _ in api if code != 200})
    latencies = sorted(seconds for _, seconds in api)
    print(f"dsvcr flags: {args.dsvcr or '(defaults)'}; h2load flags: {args.h2load or '(defaults)'}")
    print(f"RSS at start {start_rss} KiB, peak (VmHWM) {peak} KiB ({peak / 1024:.1f} MiB)")
    print(f"h2load in {elapsed:.1f} s: " + " | ".join(lines))
    print(f"API calls during the flood: {len(api)}, {len(answered)} answered 200, other outcomes: "
          f"{others or 'none'}; latency median {latencies[len(latencies) // 2] * 1000:.1f} ms, "
          f"max {latencies[-1] * 1000:.1f} ms")
    subprocess.run(["rm", "-rf", root])


if __name__ == "__main__":
    main()
