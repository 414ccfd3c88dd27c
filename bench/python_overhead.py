#!/usr/bin/python3
"""What the Python package costs over the CLI: `conceptree train` and `conceptree.train` on the
training benchmark's corpus (100,000 tracks x 29 frames x 128-d, 3,500 concepts; the corpus
bench/train_vs_sklearn.py makes, shared when --workdir is the same), side by side, alternating,
each in its own process: wall time, and peak RSS against the size of the frame matrix (a copy of
the frames would show as a second frame matrix).

    /usr/bin/python3 bench/python_overhead.py [--build BUILD] [--workdir BUILD/bench-data/train] [--repeats 2]
"""
import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import h5py

REPO = Path(__file__).resolve().parent.parent

PYTHON_TRAIN = """
import sys, conceptree as ct
frames = ct.read_store(sys.argv[1])
concepts = ct.train(frames, sys.argv[2], seed=0)
concepts.save(sys.argv[3], overwrite=True)
"""


def run(command, env=None):
    """Wall seconds and peak RSS (GiB) of one child process."""
    started = time.monotonic()
    process = subprocess.Popen([str(c) for c in command], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, text=True)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.monotonic() - started
    error = process.stderr.read()
    process.stderr.close()
    if status != 0:
        sys.exit(f"failed: {' '.join(map(str, command))}\n{error}")
    return seconds, usage.ru_maxrss / 2**20


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", type=Path, default=REPO / "build")
    parser.add_argument("--workdir", type=Path, help="default: BUILD/bench-data/train (the training benchmark's corpus)")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    conceptree = args.build / "conceptree"
    work = args.workdir or args.build / "bench-data" / "train"
    corpus = work / "corpus"
    if not (corpus / "memberships.tsv").exists():
        run([conceptree, "-q", "synth", "-o", corpus, "--layout", "store", "--tracks", "100000", "--frames", "29", "--dim", "128",
             "--families", "350", "--concepts-per-family", "9", "--overwrite"])
    store, memberships = corpus / "store.h5", corpus / "memberships.tsv"
    with h5py.File(store, "r") as f:
        frames_gib = sum(d.size * d.dtype.itemsize for d in f["frames"].values()) / 2**30
    env = dict(os.environ, PYTHONPATH=str(args.build / "python"))

    cli_runs, python_runs = [], []
    for _ in range(args.repeats):
        cli_runs.append(run([conceptree, "-q", "train", "-e", store, "-m", memberships, "-o", work / "cli-concepts.h5", "--overwrite"]))
        python_runs.append(run(["/usr/bin/python3", "-c", PYTHON_TRAIN, store, memberships, work / "python-concepts.h5"], env=env))
    cli_seconds = min(s for s, _ in cli_runs)
    python_seconds = min(s for s, _ in python_runs)
    with h5py.File(work / "cli-concepts.h5", "r") as a, h5py.File(work / "python-concepts.h5", "r") as b:
        layer = next(iter(a["cav"]))
        same = (a[f"cav/{layer}/weights"][()] == b[f"cav/{layer}/weights"][()]).all()
    print(f"train on {corpus} ({frames_gib:.2f} GiB of frames), best of {args.repeats}:")
    print(f"  CLI     {cli_seconds:7.1f} s   peak RSS {max(r for _, r in cli_runs):.2f} GiB")
    print(f"  Python  {python_seconds:7.1f} s   peak RSS {max(r for _, r in python_runs):.2f} GiB")
    print(f"  Python / CLI time: {python_seconds / cli_seconds:.3f}; identical CAVs: {bool(same)}")


if __name__ == "__main__":
    main()
