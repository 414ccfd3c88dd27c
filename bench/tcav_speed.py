#!/usr/bin/env python3
"""Times `conceptree tcav` on the issue's workload: 50 concepts x 30 runs + 30 random concepts over
200 thirty-second tracks (10 three-second patches each) of musicnn-vgg pool4 width (768).

The store is synthetic (numpy, imported with `conceptree import --gradient`): concept members'
frames lean along a concept direction, and the target's gradient leans along a few of those
directions, so some concepts matter and most do not. The concepts are trained with `conceptree
train`. Prints the wall time of `tcav` and the concepts found significant, for pattern CAVs with
--random random concepts and with tcav's default 100, and for classifier CAVs (tf/tcav's).

  /usr/bin/python3 bench/tcav_speed.py [--build build] [--jobs 2] [--runs 30] [--random 30]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

TRACKS, PATCHES, DIM, CONCEPTS = 200, 10, 768, 50


def write_inputs(folder, seed):
    rng = np.random.default_rng(seed)
    directions = rng.standard_normal((CONCEPTS, DIM)).astype(np.float32)
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    sizes = rng.integers(20, 81, CONCEPTS)
    members = [rng.choice(TRACKS, size, replace=False) for size in sizes]
    frames = rng.standard_normal((TRACKS, PATCHES, DIM)).astype(np.float32)
    for k, tracks in enumerate(members):
        frames[tracks] += 1.5 * directions[k]
    drivers = [0, 1, 2, 3, 4]  # the concepts the output really follows
    lean = directions[drivers].sum(axis=0)
    gradients = 0.05 * rng.standard_normal((TRACKS, PATCHES, DIM)).astype(np.float32) + 0.02 * lean
    np.save(os.path.join(folder, "frames.npy"), frames)
    np.save(os.path.join(folder, "gradient.npy"), gradients)
    with open(os.path.join(folder, "ids.txt"), "w") as out:
        out.writelines(f"track{i:03d}\n" for i in range(TRACKS))
    with open(os.path.join(folder, "memberships.tsv"), "w") as out:
        out.write("concept\ttrack_id\n")
        for k, tracks in enumerate(members):
            out.writelines(f"concept{k:02d}\ttrack{t:03d}\n" for t in sorted(tracks))


def run(command):
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default="build")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--random", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", help="copy each run's tcav JSON to KEEP.<cav>-<random>.json")
    args = parser.parse_args()
    tool = os.path.abspath(os.path.join(args.build, "conceptree"))
    with tempfile.TemporaryDirectory() as folder:
        write_inputs(folder, args.seed)
        store, concepts, out = (os.path.join(folder, name) for name in ("store.h5", "concepts.h5", "tcav.json"))
        run([tool, "import", "--format", "npy", os.path.join(folder, "frames.npy"), "--ids", os.path.join(folder, "ids.txt"),
             "--gradient", "target=" + os.path.join(folder, "gradient.npy"), "-o", store])
        run([tool, "train", "-e", store, "-m", os.path.join(folder, "memberships.tsv"), "-o", concepts, "--min-tracks", "10",
             "--min-accuracy", "0"])
        for cav, random in [("pattern", args.random), ("pattern", 100), ("classifier", args.random)]:
            started = time.perf_counter()
            run([tool, "tcav", "-e", store, "-c", concepts, "--target", "target", "--cav", cav, "--runs", str(args.runs),
                 "--random", str(random), "-j", str(args.jobs), "-o", out, "--overwrite"])
            seconds = time.perf_counter() - started
            with open(out) as f:
                result = json.load(f)
            if args.keep:
                shutil.copy(out, f"{args.keep}.{cav}-{random}.json")
            significant = sorted(c["id"] for c in result["concepts"] if c["significant"])
            print(f"tcav --cav {cav}: {len(result['concepts'])} concepts x {args.runs} runs + {random} random concepts, "
                  f"{result['inputs']} inputs of {DIM} dims, {args.jobs} threads: {seconds:.1f} s (target <= 60 s); "
                  f"significant: {len(significant)} ({', '.join(significant)}; planted: concept00..concept04)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
