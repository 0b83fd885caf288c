"""The "Binary size" block of BENCHMARKS.md: the size of the release binary users install and
of the profiling build the benchmarks measure (line tables kept for callgrind and perf).
bench/run.py measures both when it writes the report and keeps the previous block when a
binary is missing (e.g. `--report-from`). The block runs from SIZE_START to SIZE_END."""

import datetime
import subprocess
from pathlib import Path

SIZE_START = "<!-- size:start -->"
SIZE_END = "<!-- size:end -->"
MIB = 1024 * 1024
LIMIT_MIB = 16


def measure(root):
    """{profile: bytes} for target/{release,profiling}/dsvcr that exist, with when and at
    which commit they were measured."""
    commit = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    now = datetime.datetime.now(datetime.timezone.utc)
    sizes = {"measured": f"{now:%Y-%m-%d %H:%M} UTC, commit `{commit}`"}
    for profile in ("release", "profiling"):
        binary = Path(root) / "target" / profile / "dsvcr"
        if binary.exists():
            sizes[profile] = binary.stat().st_size
    return sizes


def block(sizes):
    """The Markdown block for `sizes` (from measure), markers included."""
    rows = {
        "release": "`cargo build --release` (what `cargo install` builds): no debug info",
        "profiling": "`cargo build --profile profiling` (the benchmarks' build): release plus line tables",
    }
    out = [SIZE_START, "## Binary size\n"]
    out.append(f"Size of `target/PROFILE/dsvcr` on Linux x86-64 ({sizes.get('measured', 'when unknown')}); "
               f"the release binary must stay within {LIMIT_MIB} MiB.\n")
    out.append("| build | bytes | MiB |")
    out.append("|---|---:|---:|")
    for profile, what in rows.items():
        if profile in sizes:
            spaced = f"{sizes[profile]:,}".replace(",", " ")
            out.append(f"| {what} | {spaced} | {sizes[profile] / MIB:.1f} |")
    out.append(SIZE_END)
    return "\n".join(out)


def old_block(text):
    """The size block of `text`, markers included, or None."""
    start, end = text.find(SIZE_START), text.find(SIZE_END)
    if start < 0 or end < start:
        return None
    return text[start : end + len(SIZE_END)]


def with_size(report, sizes, previous):
    """`report` with the size block put before its Notes (else How to reproduce) section:
    measured from `sizes` when the release binary was measured, else the one `previous` (the
    file being replaced) held, else none."""
    section = block(sizes) if "release" in sizes else old_block(previous or "")
    if section is None:
        return report
    for heading in ("\n<!-- peers:start -->", "\n## Notes\n", "\n## How to reproduce\n"):
        at = report.find(heading)
        if at >= 0:
            return report[: at + 1] + section + "\n\n" + report[at + 1 :]
    return report.rstrip("\n") + "\n\n" + section + "\n"
