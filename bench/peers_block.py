"""The `just bench-peers` block of BENCHMARKS.md: written by bench/peers.py, kept by
bench/run.py when it rewrites the report (the two runs are separate, so each keeps the
other's figures). The block is everything from PEERS_START to PEERS_END, markers included."""

from pathlib import Path

PEERS_START = "<!-- peers:start -->"
PEERS_END = "<!-- peers:end -->"


def peers_block(text):
    """The peers block of `text` (markers included), or None."""
    start, end = text.find(PEERS_START), text.find(PEERS_END)
    if start < 0 or end < start:
        return None
    return text[start : end + len(PEERS_END)]


def with_peers(text, block):
    """`text` with `block` in place of its peers block; without one, `block` goes before the
    report's Notes section (or How to reproduce), else at the end."""
    old = peers_block(text)
    if old is not None:
        return text.replace(old, block, 1)
    for heading in ("\n## Notes\n", "\n## How to reproduce\n"):
        at = text.find(heading)
        if at >= 0:
            return text[: at + 1] + block + "\n\n" + text[at + 1 :]
    return text.rstrip("\n") + "\n\n" + block + "\n"


def write_report(path, text):
    """Writes `text` to `path`, carrying over the peers block of the file it replaces."""
    path = Path(path)
    block = peers_block(path.read_text()) if path.exists() else None
    path.write_text(text if block is None else with_peers(text, block))
