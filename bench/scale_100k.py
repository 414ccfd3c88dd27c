#!/usr/bin/env python3
"""A synthetic concept set with a planted tree, its sparse cosine similarity and its hierarchy,
each stage timed with its peak memory (issue #20: 100,000 concepts on 2 cores within 24 GiB).

  /usr/bin/python3 bench/scale_100k.py run BUILD/conceptree /tmp/scale [--concepts 100000] [-- hierarchy options]
  /usr/bin/python3 bench/scale_100k.py compare BUILD/conceptree /tmp/cmp [--concepts 4000] [--top-k 32]

run: writes concepts.h5 (concept-set format, CAVs only), then `conceptree similarity --measure
cosine --layout sparse` and `conceptree hierarchy` under /usr/bin/time -v, and prints seconds and
max RSS per stage and the share of planted parent links the hierarchy recovered.
compare: the same concept set at a size where the dense matrix fits, both layouts, both
hierarchies; prints the share of concepts whose parent (or top level) is the same in both.

The planted tree: 10 roots, each node with 10 children (a complete 10-ary forest, node i's
parent is i // 10 - 1), D = 128. A root's CAV is a random unit vector; a child's is its parent's
plus Gaussian noise of the same norm, renormalised, so cos(parent, child) ~ 0.71, siblings and
grandparents ~ 0.5, and unrelated concepts ~ 0 +- 0.09. Biases are 0. Seeded: the same files every run.
"""

import argparse
import re
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np

DIM = 128
ROOTS = 10
BRANCHING = 10


def planted_parents(count):
    """Planted parent of each concept, -1 for the roots."""
    index = np.arange(count)
    return np.where(index < ROOTS, -1, index // BRANCHING - 1)


def write_concepts(path, count, seed=0):
    rng = np.random.default_rng(seed)
    parents = planted_parents(count)
    cavs = np.empty((count, DIM), dtype=np.float64)
    # Parents come before their children (parent(i) < i), so one pass in index order suffices.
    for i in range(count):
        noise = rng.standard_normal(DIM)
        noise /= np.linalg.norm(noise)
        vector = noise if parents[i] < 0 else cavs[parents[i]] + noise
        cavs[i] = vector / np.linalg.norm(vector)
    names = [f"c{i}" for i in range(count)]
    strings = h5py.string_dtype("utf-8")
    with h5py.File(path, "w") as f:
        f.attrs["format"] = "conceptree.concepts"
        f.attrs["layer"] = "synthetic"
        f.create_dataset("concepts/names", data=names, dtype=strings)
        f.create_dataset("concepts/types", data=["tag"] * count, dtype=strings)
        f.create_dataset("concepts/kept", data=np.ones(count, dtype=np.uint8))
        f.create_dataset("cav/synthetic/weights", data=cavs.astype(np.float32))
        f.create_dataset("cav/synthetic/bias", data=np.zeros(count, dtype=np.float32))
    return parents


def timed(command):
    """Runs `command` under /usr/bin/time -v; returns (wall seconds, max RSS in GiB)."""
    result = subprocess.run(["/usr/bin/time", "-v"] + command, capture_output=True, text=True)
    sys.stderr.write(result.stdout + result.stderr[-3000:])
    if result.returncode != 0:
        sys.exit(f"failed: {' '.join(command)}")
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", result.stderr).group(1)
    seconds = 0.0
    for part in wall.split(":"):
        seconds = seconds * 60 + float(part)
    rss_kib = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr).group(1))
    return seconds, rss_kib / 2**20


def read_parents(tsv_path):
    """child -> parent ('' for the top level) from a hierarchy TSV."""
    parents = {}
    with open(tsv_path) as f:
        next(f)
        for line in f:
            child, parent = line.rstrip("\n").split("\t")[:2]
            parents.setdefault(child, parent)
    return parents


def run(args):
    folder = Path(args.folder)
    folder.mkdir(parents=True, exist_ok=True)
    concepts, similarity, tree = folder / "concepts.h5", folder / "similarity.h5", folder / "hierarchy.tsv"
    planted = write_concepts(concepts, args.concepts)
    stages = {
        "similarity": [args.conceptree, "similarity", "-c", str(concepts), "-o", str(similarity), "--measure", "cosine",
                       "--layout", "sparse", "--top-k", str(args.top_k), "--overwrite"],
        "hierarchy": [args.conceptree, "hierarchy", "-s", str(similarity), "-o", str(tree), "--overwrite"] + args.hierarchy_options,
    }
    total = 0.0
    for stage, command in stages.items():
        seconds, rss = timed(command)
        total += seconds
        print(f"{stage}: {seconds:.1f} s, max RSS {rss:.2f} GiB   ({' '.join(command[1:])})")
    with h5py.File(similarity, "r") as f:
        print(f"kept entries: {f['sparse/values'].shape[0]} ({f['sparse/values'].shape[0] / args.concepts:.1f} per concept)")
    found = read_parents(tree)
    names = [f"c{i}" for i in range(args.concepts)]
    with_parent = [i for i in range(args.concepts) if planted[i] >= 0]
    recovered = sum(found.get(names[i]) == names[planted[i]] for i in with_parent)
    print(f"planted parent links recovered: {recovered} of {len(with_parent)} ({recovered / len(with_parent):.4f})")
    print(f"total: {total:.1f} s for {args.concepts} concepts")


def compare(args):
    folder = Path(args.folder)
    folder.mkdir(parents=True, exist_ok=True)
    concepts = folder / "concepts.h5"
    write_concepts(concepts, args.concepts)
    parents = {}
    for layout in ("dense", "sparse"):
        similarity, tree = folder / f"{layout}.h5", folder / f"{layout}.tsv"
        for command in ([args.conceptree, "similarity", "-c", str(concepts), "-o", str(similarity), "--measure", "cosine",
                         "--layout", layout, "--top-k", str(args.top_k), "--overwrite"],
                        [args.conceptree, "hierarchy", "-s", str(similarity), "-o", str(tree), "--overwrite"] + args.hierarchy_options):
            seconds, rss = timed(command)
            print(f"{layout} {command[1]}: {seconds:.1f} s, max RSS {rss:.2f} GiB")
        parents[layout] = read_parents(tree)
    same = sum(parents["dense"][name] == parents["sparse"].get(name) for name in parents["dense"])
    print(f"identical parent links, dense vs sparse (top-k {args.top_k}, {args.concepts} concepts): "
          f"{same} of {len(parents['dense'])} ({same / len(parents['dense']):.4f})")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["run", "compare"])
    parser.add_argument("conceptree")
    parser.add_argument("folder")
    parser.add_argument("--concepts", type=int)
    parser.add_argument("--top-k", type=int, default=32)
    parser.add_argument("hierarchy_options", nargs="*", help="after --: passed to 'conceptree hierarchy'")
    args = parser.parse_args()
    if args.concepts is None:
        args.concepts = 100000 if args.mode == "run" else 4000
    (run if args.mode == "run" else compare)(args)


if __name__ == "__main__":
    main()
