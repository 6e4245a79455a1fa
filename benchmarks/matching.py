"""Free-text understanding: start-up time of the index and latency per question, with all flows loaded.

    python benchmarks/matching.py                 # questions: the development set when it is beside
                                                  # this checkout, and the flows' own examples
    python benchmarks/matching.py questions.tsv   # any TSV with a `text` column

Prints the time to build the index (language model and FAQ index) and the median and p99 latency of
`Understanding.analyse` (normalise, detect the language, urgent patterns, FAQ match, decide). Target:
p99 under 5 ms.
"""

from __future__ import annotations

import argparse
import csv
import gc
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEV = ROOT.parent / "shared" / "eval" / "questions-dev.tsv"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("file", nargs="?", help="TSV with a `text` column (default: the development set)")
    parser.add_argument("--rounds", type=int, default=5, help="times each question is asked")
    args = parser.parse_args()

    from bot.core.understanding import Understanding
    from bot.flowspec import load

    flows = load(ROOT / "flows")
    start = time.perf_counter()
    understanding = Understanding(flows)
    build = time.perf_counter() - start

    questions: list[str] = []
    path = Path(args.file) if args.file else DEV
    if path.exists():
        with path.open(encoding="utf-8", newline="") as f:
            questions.extend(row["text"] for row in csv.DictReader(f, delimiter="\t"))
    questions.extend(e for node in flows.nodes() for items in node.examples.values() for e in items)

    timings: list[float] = []
    gc.collect()
    for _ in range(args.rounds):
        for text in questions:
            t0 = time.perf_counter()
            understanding.analyse(text)
            timings.append(time.perf_counter() - t0)
    timings.sort()
    p99 = timings[int(len(timings) * 0.99)]
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"free-text understanding, all flows ({len(understanding.index.entries)} entries over "
          f"{len(understanding.index.nodes)} answers)")
    print(f"  index start-up: {build * 1000:.0f} ms")
    print(f"  {len(questions)} questions x {args.rounds}: median {statistics.median(timings) * 1000:.2f} ms, "
          f"p99 {p99 * 1000:.2f} ms, max {timings[-1] * 1000:.2f} ms per question")
    print(f"  peak RSS {rss:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
