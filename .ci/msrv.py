#!/usr/bin/env python3
"""Checks that Cargo.toml's rust-version is honoured, as far as one toolchain can tell.

Only the installed toolchain exists here (no other can be fetched), so dsvcr is never built
with the declared version itself. What is checked: the installed rustc is at least that
version, and no package in Cargo.lock declares a newer rust-version than dsvcr does (cargo
would refuse to build it with the declared version). Using a standard-library API newer than
rust-version is caught by clippy's incompatible_msrv lint (on by default, denied by
`-D warnings` in .ci/run); newer language features are not caught by anything here.
"""
import json
import subprocess
import sys


def version(text):
    parts = [int(part) for part in text.split("-")[0].split(".")[:3]]
    return tuple(parts + [0] * (3 - len(parts)))


def main():
    metadata = json.loads(subprocess.run(
        ["cargo", "metadata", "--locked", "--format-version", "1"],
        check=True, capture_output=True, text=True).stdout)
    root = next(p for p in metadata["packages"] if p["id"] == metadata["resolve"]["root"])
    declared = root["rust_version"]
    if not declared:
        sys.exit("Cargo.toml: no rust-version declared")
    rustc = subprocess.run(["rustc", "--version"], check=True, capture_output=True,
                           text=True).stdout.split()[1]
    problems = []
    if version(rustc) < version(declared):
        problems.append(f"rustc {rustc} is older than rust-version {declared}")
    for package in metadata["packages"]:
        needs = package.get("rust_version")
        if needs and version(needs) > version(declared):
            problems.append(f"Cargo.lock: {package['name']} {package['version']} needs Rust "
                            f"{needs}, above dsvcr's rust-version {declared} (pick an older "
                            f"version with CARGO_RESOLVER_INCOMPATIBLE_RUST_VERSIONS=fallback "
                            f"cargo update -p {package['name']}, or raise rust-version)")
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        sys.exit(1)
    print(f"rust-version {declared}: rustc {rustc}, and all {len(metadata['packages'])} "
          f"packages in Cargo.lock declare {declared} or less")


main()
