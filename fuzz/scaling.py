#!/usr/bin/env python3
"""Times each fuzz target on inputs of 64 KiB, 256 KiB and 1 MiB of one repeated shape,
to show that parsing and rendering take time in proportion to input size (RELIABILITY.md,
"Linear time"). Build the targets first (`just fuzz TARGET 1` or, in fuzz/,
`RUSTC_BOOTSTRAP=1 cargo fuzz build`), then run `python3 fuzz/scaling.py`."""

import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
BINARIES = os.path.join(HERE, "target", "x86_64-unknown-linux-gnu", "release")
WORK = os.path.join(HERE, "target", "scaling")
SIZES = [2**16, 2**18, 2**20]
R = "/rest/com/vmware/content/library/item/download-session"
REFERENCE = json.load(open(os.path.join(HERE, "seeds", "render", "reference.json")))


def render_seed(edit):
    seed = json.loads(json.dumps(REFERENCE))
    edit(seed["session"])
    return json.dumps(seed)


def shapes(n):
    """(target, shape, input of about n bytes)"""
    yield "xml_body", "`<array-item>`s in `args-array`", (
        "<Get-Result><value><library_item_id>x</library_item_id><state>ACTIVE</state>"
        "<error_message><default_message>d</default_message><id>i</id><args-array>"
        + "<array-item>aaa</array-item>" * (n // 28)
        + "</args-array></error_message></value></Get-Result>")
    yield "xml_body", "sibling elements in `<value>`", (
        "<Get-Result><value>" + "".join(f"<k{i}>v</k{i}>" for i in range(n // 14))
        + "</value></Get-Result>")
    yield "xml_body", "`&amp;` references", (
        "<Get-Input><download_session_id>" + "&amp;" * (n // 5)
        + "</download_session_id></Get-Input>")
    yield "xml_body", "`\\r` line ends", (
        "<Get-Input><download_session_id>" + "a\r" * (n // 2)
        + "</download_session_id></Get-Input>")
    yield "xml_body", "comments inside a leaf", (
        "<Get-Input><download_session_id>a" + "<!--c-->b" * (n // 9)
        + "</download_session_id></Get-Input>")
    yield "xml_body", "attributes on the root", (
        "<Get-Input " + " ".join(f'a{i}="v"' for i in range(n // 10))
        + "><download_session_id>a</download_session_id></Get-Input>")
    yield "xml_body", "one long element name", "<" + "G" * n + "/>"
    yield "xml_body", "unclosed `<a>` nesting (refused at depth 32)", "<Get-Input>" + "<a>" * (n // 3)
    yield "json_body", "keys in the body object", (
        "{" + ",".join(f'"k{i}":1' for i in range(n // 10)) + ',"download_session_id":"a"}')
    yield "json_body", "messages in an error", (
        '{"type":"com.vmware.vapi.std.errors.not_found","value":{"messages":['
        + ",".join('{"id":"i","args":["a"]}' for _ in range(n // 24)) + "]}}")
    yield "json_body", "`\\u0041` escapes in the id", (
        '{"download_session_id":"' + "\\u0041" * (n // 6) + '"}')
    yield "json_body", "`[` nesting (serde_json stops at 128)", '{"download_session_id":' + "[" * n
    yield "recognise", "path segments after `id:`", f"GET {R}/id:" + "a/" * (n // 2) + "\n\n"
    yield "recognise", "`%41` path segments after `id:`", f"GET {R}/id:" + "%41/" * (n // 4) + "\n\n"
    yield "recognise", "`download_session_id` query parameters", (
        f"POST {R}?~action=get&" + "download_session_id=a&" * (n // 22) + "\n\n")
    yield "recognise", "ranges in `Accept`", (
        f"GET {R}/id:a\nAccept: " + "application/xml;q=0.5," * (n // 22) + "\n\n")
    yield "recognise", "one JSON body id", (
        f"POST {R}?~action=get\n\n" + '{"download_session_id":"' + "a" * n + '"}')
    yield "cassette", "timeline entries", (
        '{"format":1,"operation":"com.vmware.content.library.item.download_session.get",'
        '"id":"obj-103","recorded":{"at":"2026-11-02T10:00:00Z"},"responses":['
        + ",".join('{"status":200,"session":{"library_item_id":"i","state":"ACTIVE",'
                   '"expiration_time":"2026-11-02T10:05:00Z"}}' for _ in range(n // 90))
        + "]}")
    yield "render", "`args` holding `<`, `&`, `\\r`, U+0001", render_seed(
        lambda s: s["error_message"].__setitem__("args", ["a\u0001<&\r"] * (n // 12)))
    yield "render", "one string of `x`, NUL, `\\r`, `&`", render_seed(
        lambda s: s.__setitem__("library_item_id", "x\u0000\r&" * (n // 16)))


def milliseconds(target, path):
    run = subprocess.run([os.path.join(BINARIES, target), "-rss_limit_mb=4096", path],
                         capture_output=True)
    found = re.search(rb"Executed .* in (\d+) ms", run.stderr)
    return f"{int(found.group(1)):,} ms" if found else "FAILED"


def main():
    os.makedirs(WORK, exist_ok=True)
    rows = {}
    for n in SIZES:
        for index, (target, shape, text) in enumerate(shapes(n)):
            path = os.path.join(WORK, f"{target}-{index}-{n}")
            with open(path, "wb") as out:
                out.write(text.encode())
            rows.setdefault((target, shape), []).append(milliseconds(target, path))
    print("| target | input made of | 64 KiB | 256 KiB | 1 MiB |")
    print("|---|---|---|---|---|")
    for (target, shape), times in rows.items():
        print(f"| `{target}` | {shape} | " + " | ".join(times) + " |")


if __name__ == "__main__":
    sys.exit(main())
