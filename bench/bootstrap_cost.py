#!/usr/bin/python3
"""What bootstrap support costs: `conceptree bootstrap --runs B` at the training benchmark's scale
(100,000 tracks x 29 frames x 128-d, 3,500 concepts; the corpus bench/train_vs_sklearn.py makes,
shared when --workdir is the same) and on the demo corpus, wall time and peak memory.

    /usr/bin/python3 bench/bootstrap_cost.py [--workdir BUILD/bench-data/train] [--runs 20]
"""
import argparse
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def timed(command):
    started = time.monotonic()
    result = subprocess.run([str(c) for c in command], capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"failed: {' '.join(map(str, command))}\n{result.stderr}")
    return time.monotonic() - started, result.stderr


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", type=Path, default=REPO / "build")
    parser.add_argument("--workdir", type=Path, help="default: BUILD/bench-data/train (the training benchmark's corpus)")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    conceptree = args.build / "conceptree"
    work = args.workdir or args.build / "bench-data" / "train"
    corpus = work / "corpus"
    if not (corpus / "memberships.tsv").exists():
        timed([conceptree, "-q", "synth", "-o", corpus, "--layout", "store", "--tracks", "100000", "--frames", "29", "--dim", "128",
               "--families", "350", "--concepts-per-family", "9", "--overwrite"])
    demo = args.build / "bench-data" / "hierarchy-table" / "demo-dsp-seed0"
    if not (demo / "store.h5").exists():
        timed([conceptree, "-q", "demo", "-o", demo])

    for name, store, memberships, extra in [
            ("benchmark scale (3,500 concepts, 100k tracks)", corpus / "store.h5", corpus / "memberships.tsv", []),
            ("demo corpus (38 concepts, 640 tracks)", demo / "store.h5", demo / "memberships.tsv",
             ["--negative-ratio", "1000", "--regularization", "0.001", "0.0001", "--min-accuracy", "0.6"])]:
        output = work / "bootstrap-consensus.json"
        seconds, log = timed([conceptree, "bootstrap", "-e", store, "-m", memberships, "-o", output, "--runs", args.runs,
                              "--workdir", work / "bootstrap-runs", "--overwrite", *extra])
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20
        print(f"{name}: B = {args.runs} in {seconds:.1f} s ({seconds / 60:.2f} min); largest child peak RSS so far {peak:.2f} GiB")
        print("  " + next(line for line in log.splitlines() if " runs (" in line).removeprefix("conceptree: "))


if __name__ == "__main__":
    main()
