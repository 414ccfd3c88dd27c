#!/usr/bin/python3
"""The hierarchy quality table: setting x dataset x backbone x seed -> the truth metrics, for
conceptree's defaults, the paper's method (`hierarchy --paper`) and the paper's Top-1 baseline.

Datasets:
  demo          the rendered demo corpus; one `conceptree demo --seed S --backbone B` folder per seed
                (made here when missing, reused otherwise; the corpus seed changes the recordings and
                the training seed together)
  philharmonia  ../shared/data/philharmonia_dev; the similarity files bench/philharmonia.py leaves in
                its workdir (run it first with the same seeds; with --train-args "" and its own
                --workdir for train's defaults, then point --philharmonia-workdir there)

    /usr/bin/python3 bench/philharmonia.py --seeds 0 1 2 3 4
    /usr/bin/python3 bench/hierarchy_table.py [--seeds 0 1 2 3 4] [--datasets demo philharmonia]
        [--backbones dsp musicnn-vgg] [--json table.json]
"""
import argparse
import json
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np

REPO = Path(__file__).resolve().parent.parent
PHILHARMONIA = REPO.parent / "shared" / "data" / "philharmonia_dev"
METRICS = ["family_purity", "ancestor_f1", "parent_f1", "cumulative_fowlkes_mallows", "taxonomic_f1"]
# defaults: `conceptree hierarchy`'s own; small-corpus: the demo's (include/conceptree/demo.hpp),
# made for concepts trained against every other track, as the demo and bench/philharmonia.py train.
SETTINGS = {"defaults": [], "small-corpus": ["--calibration", "lift", "--min-sim", "0.2"], "paper": ["--paper"]}


def run(command):
    result = subprocess.run([str(c) for c in command], capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"failed: {' '.join(map(str, command))}\n{result.stderr}")
    return result.stdout


def inputs(args, dataset, backbone, seed):
    """(similarity file, truth) of one run, made when the dataset allows."""
    if dataset == "demo":
        folder = args.workdir / f"demo-{backbone}-seed{seed}"
        similarity = folder / "similarity.h5"
        if not similarity.exists() or "base_rate" not in h5py.File(similarity, "r"):
            run([args.conceptree, "-q", "demo", "-o", folder, "--seed", seed, "--backbone", backbone, "--overwrite"])
        return similarity, folder / "truth.tsv"
    similarity = args.philharmonia_workdir / f"{backbone}-seed{seed}-sim.h5"
    if not similarity.exists():
        sys.exit(f"{similarity}: missing; run bench/philharmonia.py --seeds {' '.join(map(str, args.seeds))} first")
    return similarity, PHILHARMONIA / "truth.tsv"


def scores(args, similarity, truth, arguments):
    tree = similarity.with_name(similarity.stem + "-table.json")
    run([args.conceptree, "-q", "hierarchy", "-s", similarity, "-o", tree, "--overwrite", *arguments])
    # evaluate takes the settings its baselines share with the hierarchy: --paper and --calibration.
    shared = [a for k, a in enumerate(arguments) if a in ("--paper", "--calibration") or (k > 0 and arguments[k - 1] == "--calibration")]
    evaluation = json.loads(run([args.conceptree, "-q", "evaluate", "--hierarchy", tree, "--truth", truth, "--similarity", similarity,
                                 "--json", *shared]))["truth"]
    return {m: evaluation[m] for m in METRICS}, {m: evaluation["baselines"]["top1"][m] for m in METRICS}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", type=Path, default=REPO / "build")
    parser.add_argument("--workdir", type=Path, help="demo folders (default: BUILD/bench-data/hierarchy-table)")
    parser.add_argument("--philharmonia-workdir", type=Path, help="default: BUILD/bench-data/philharmonia")
    parser.add_argument("--datasets", nargs="+", default=["demo", "philharmonia"], choices=["demo", "philharmonia"])
    parser.add_argument("--backbones", nargs="+", default=["dsp", "musicnn-vgg"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--defaults-args", default="", help="hierarchy arguments added to the defaults row (to try other settings)")
    parser.add_argument("--json", type=Path, help="write every run's scores here")
    args = parser.parse_args()
    args.conceptree = args.build / "conceptree"
    args.workdir = args.workdir or args.build / "bench-data" / "hierarchy-table"
    args.philharmonia_workdir = args.philharmonia_workdir or args.build / "bench-data" / "philharmonia"
    args.workdir.mkdir(parents=True, exist_ok=True)

    rows = []
    for dataset in args.datasets:
        if dataset == "philharmonia" and not (PHILHARMONIA / "truth.tsv").exists():
            print(f"philharmonia: skipped, {PHILHARMONIA} not found", file=sys.stderr)
            continue
        for backbone in args.backbones:
            for seed in args.seeds:
                similarity, truth = inputs(args, dataset, backbone, seed)
                top1 = None
                for setting, arguments in SETTINGS.items():
                    if setting == "defaults":
                        arguments = args.defaults_args.split()
                    found, top1 = scores(args, similarity, truth, arguments)
                    rows.append({"dataset": dataset, "backbone": backbone, "seed": seed, "setting": setting, **found})
                rows.append({"dataset": dataset, "backbone": backbone, "seed": seed, "setting": "top1", **top1})

    short = {"family_purity": "purity", "ancestor_f1": "anc F1", "parent_f1": "par F1", "cumulative_fowlkes_mallows": "cum FM",
             "taxonomic_f1": "tax F1"}
    print(f"{'dataset':<13}{'backbone':<12}{'setting':<13}{'seed':>5} " + "".join(f"{short[m]:>8}" for m in METRICS))
    groups = sorted({(r["dataset"], r["backbone"]) for r in rows}, key=lambda g: (args.datasets.index(g[0]), args.backbones.index(g[1])))
    for dataset, backbone in groups:
        for setting in [*SETTINGS, "top1"]:
            mine = [r for r in rows if (r["dataset"], r["backbone"], r["setting"]) == (dataset, backbone, setting)]
            for r in mine:
                print(f"{dataset:<13}{backbone:<12}{setting:<13}{r['seed']:>5} " + "".join(f"{r[m]:>8.3f}" for m in METRICS))
            means = [np.mean([r[m] for r in mine]) for m in METRICS]
            print(f"{dataset:<13}{backbone:<12}{setting:<13}{'mean':>5} " + "".join(f"{v:>8.3f}" for v in means))
        for setting in SETTINGS:
            losses = []
            for seed in args.seeds:
                ours = next(r for r in rows if (r["dataset"], r["backbone"], r["setting"], r["seed"]) == (dataset, backbone, setting, seed))
                top1 = next(r for r in rows if (r["dataset"], r["backbone"], r["setting"], r["seed"]) == (dataset, backbone, "top1", seed))
                losses += [f"seed {seed} {short[m]} {ours[m]:.3f} < {top1[m]:.3f}" for m in METRICS if ours[m] < top1[m]]
                ties = [short[m] for m in METRICS if ours[m] == top1[m]]
                if ties:
                    losses.append(f"seed {seed} ties on {', '.join(ties)}")
            verdict = "beats Top-1 on every metric and seed" if not losses else "; ".join(losses)
            print(f"  {dataset} {backbone} {setting}: {verdict}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
