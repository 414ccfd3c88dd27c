#!/usr/bin/python3
"""Sweeps hierarchy settings over the similarity files bench/philharmonia.py leaves in its workdir
(one per backbone and seed), with the similarity as computed and recalibrated by each concept's
base rate, and prints family purity, ancestor F1 and parent F1 averaged over the seeds.

Recalibrations (made here with h5py into copies of the files; conceptree's own S is untouched):
  raw    S[i][j], the mean activation of concept j on concept i's test tracks
  lift   (S[i][j] - b_j) / (1 - b_j)
  ratio  S[i][j] / b_j, divided by its largest value
where b_j, concept j's base rate, is approximated by the column mean of S weighted by each row's
support (test tracks). The diagonal is set to 1 and values clipped to [0, 1].

    /usr/bin/python3 bench/philharmonia.py --seeds 0 1 2 3 4        # makes the similarity files
    /usr/bin/python3 bench/hierarchy_sweep.py [--workdir BUILD/bench-data/philharmonia] [--seeds 0 1 2 3 4]
"""
import argparse
import itertools
import json
import shutil
import subprocess
from pathlib import Path

import h5py
import numpy as np

REPO = Path(__file__).resolve().parent.parent
TRUTH = REPO.parent / "shared" / "data" / "philharmonia_dev" / "truth.tsv"
METRICS = ["family_purity", "ancestor_f1", "parent_f1"]


def recalibrate(source, target, mode):
    shutil.copy(source, target)
    with h5py.File(target, "r+") as f:
        similarity = f["similarity"][:].astype(np.float64)
        support = f["support"][:].astype(np.float64)
        base = (support[:, None] * similarity).sum(axis=0) / support.sum()
        if mode == "lift":
            similarity = (similarity - base[None, :]) / np.maximum(1 - base[None, :], 1e-6)
        else:
            similarity = similarity / np.maximum(base[None, :], 1e-6)
            similarity /= similarity.max()
        np.fill_diagonal(similarity, 1.0)
        f["similarity"][...] = np.clip(similarity, 0, 1).astype(np.float32)


def scores(conceptree, similarity, truth, arguments):
    tree = similarity.with_name(similarity.stem + "-sweep.json")
    subprocess.run([conceptree, "-q", "hierarchy", "-s", similarity, "-o", tree, "--overwrite", *arguments], check=True)
    result = subprocess.run([conceptree, "-q", "evaluate", "--hierarchy", tree, "--truth", truth, "--json"], check=True,
                            capture_output=True, text=True)
    found = json.loads(result.stdout)["truth"]
    return [np.nan if found[m] is None else found[m] for m in METRICS]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", type=Path, default=REPO / "build")
    parser.add_argument("--workdir", type=Path, help="default: BUILD/bench-data/philharmonia")
    parser.add_argument("--truth", type=Path, default=TRUTH)
    parser.add_argument("--backbones", nargs="+", default=["dsp", "musicnn-vgg"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--orders", nargs="+", default=["betweenness", "generality"])
    parser.add_argument("--min-sims", nargs="+", default=["0.05", "0.1", "0.2"])
    args = parser.parse_args()
    conceptree = args.build / "conceptree"
    work = args.workdir or args.build / "bench-data" / "philharmonia"
    print(f"{'backbone':<12} {'S':<6} {'order':<12} {'min-sim':>7} " + " ".join(f"{m:>14}" for m in METRICS) + "   (means over seeds)")
    for backbone, mode in itertools.product(args.backbones, ["raw", "lift", "ratio"]):
        files = []
        for seed in args.seeds:
            source = work / f"{backbone}-seed{seed}-sim.h5"
            if not source.exists():
                raise SystemExit(f"{source}: missing; run bench/philharmonia.py --seeds {' '.join(map(str, args.seeds))} first")
            if mode == "raw":
                files.append(source)
            else:
                files.append(source.with_name(f"{source.stem}-{mode}.h5"))
                recalibrate(source, files[-1], mode)
        for order, min_sim in itertools.product(args.orders, args.min_sims):
            rows = np.array([scores(conceptree, f, args.truth, ["--order", order, "--min-sim", min_sim]) for f in files])
            means = [np.nanmean(rows[:, k]) if np.isfinite(rows[:, k]).any() else np.nan for k in range(len(METRICS))]
            print(f"{backbone:<12} {mode:<6} {order:<12} {min_sim:>7} " + " ".join(f"{m:>14.3f}" for m in means), flush=True)


if __name__ == "__main__":
    main()
