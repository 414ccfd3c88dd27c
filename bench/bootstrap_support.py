#!/usr/bin/python3
"""Does bootstrap support pay? For each dataset x backbone x seed: `conceptree bootstrap --runs B`,
then the consensus hierarchy's truth metrics against the mean of its B single runs', and the
ROC-AUC of link support for "the link is a true parent link" over every link any run had
(consensus and alternative links, both ends in the truth) and over the consensus links alone.

Datasets as in bench/hierarchy_table.py: demo (corpus seed S, its folder made there or here) and
philharmonia (bootstrap S starts at train seed S x B, so the five seeds use disjoint runs).

    /usr/bin/python3 bench/bootstrap_support.py [--runs 20] [--seeds 0 1 2 3 4] [--datasets demo philharmonia]
        [--backbones dsp musicnn-vgg] [--json out.json]
"""
import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

REPO = Path(__file__).resolve().parent.parent
PHILHARMONIA = REPO.parent / "shared" / "data" / "philharmonia_dev"
METRICS = ["family_purity", "ancestor_f1", "parent_f1", "cumulative_fowlkes_mallows", "taxonomic_f1"]
# The small-corpus settings each dataset's other benchmarks use (include/conceptree/demo.hpp): train
# against every other track, the weak half of the L2 grid, and the demo's hierarchy settings.
SMALL_CORPUS = ["--negative-ratio", "1000", "--regularization", "0.001", "0.0001", "--calibration", "lift", "--min-sim", "0.2"]
TRAIN = {"demo": [*SMALL_CORPUS, "--min-accuracy", "0.6"], "philharmonia": [*SMALL_CORPUS, "--min-accuracy", "0.5"]}


def run(command):
    result = subprocess.run([str(c) for c in command], capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"failed: {' '.join(map(str, command))}\n{result.stderr}")
    return result.stdout


def truth_parents(path):
    parents = {}
    for line in Path(path).read_text().splitlines()[1:]:
        if line.strip():
            child, parent = line.split("\t")[:2]
            parents[child] = parent
    return parents


def evaluate(args, tree, truth):
    found = json.loads(run([args.conceptree, "-q", "evaluate", "--hierarchy", tree, "--truth", truth, "--json"]))["truth"]
    return [found[m] for m in METRICS]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", type=Path, default=REPO / "build")
    parser.add_argument("--workdir", type=Path, help="default: BUILD/bench-data/bootstrap")
    parser.add_argument("--demo-workdir", type=Path, help="demo folders (default: BUILD/bench-data/hierarchy-table)")
    parser.add_argument("--philharmonia-workdir", type=Path, help="its stores (default: BUILD/bench-data/philharmonia)")
    parser.add_argument("--datasets", nargs="+", default=["demo", "philharmonia"], choices=["demo", "philharmonia"])
    parser.add_argument("--backbones", nargs="+", default=["dsp", "musicnn-vgg"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--settings", choices=["small-corpus", "defaults"], default="small-corpus",
                        help="small-corpus: the settings below; defaults: train's and hierarchy's own (--min-accuracy 0.5 kept on philharmonia)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    args.conceptree = args.build / "conceptree"
    work = args.workdir or args.build / "bench-data" / "bootstrap"
    demos = args.demo_workdir or args.build / "bench-data" / "hierarchy-table"
    philharmonia = args.philharmonia_workdir or args.build / "bench-data" / "philharmonia"
    work.mkdir(parents=True, exist_ok=True)

    results = []
    for dataset in args.datasets:
        if dataset == "philharmonia" and not (PHILHARMONIA / "truth.tsv").exists():
            print(f"philharmonia: skipped, {PHILHARMONIA} not found", file=sys.stderr)
            continue
        for backbone in args.backbones:
            for seed in args.seeds:
                if dataset == "demo":
                    folder = demos / f"demo-{backbone}-seed{seed}"
                    if not (folder / "store.h5").exists():
                        run([args.conceptree, "-q", "demo", "-o", folder, "--seed", seed, "--backbone", backbone])
                    store, memberships, truth, first_seed = folder / "store.h5", folder / "memberships.tsv", folder / "truth.tsv", 0
                else:
                    store = philharmonia / f"{backbone}.h5"
                    if not store.exists():
                        sys.exit(f"{store}: missing; run bench/philharmonia.py first")
                    memberships, truth, first_seed = PHILHARMONIA / "memberships.tsv", PHILHARMONIA / "truth.tsv", seed * args.runs
                output = work / f"{dataset}-{backbone}-seed{seed}.json"
                runs = work / f"{dataset}-{backbone}-seed{seed}.runs"
                started = time.monotonic()
                settings = TRAIN[dataset] if args.settings == "small-corpus" else TRAIN[dataset][-2:]
                run([args.conceptree, "-q", "bootstrap", "-e", store, "-m", memberships, "-o", output, "--runs", args.runs,
                     "--first-seed", first_seed, "--workdir", runs, "--keep-runs", "--overwrite", *settings])
                seconds = time.monotonic() - started
                consensus = evaluate(args, output, truth)
                singles = [evaluate(args, runs / f"run{r:04}-tree.json", truth) for r in range(args.runs)]
                parents = truth_parents(truth)
                known = set(parents) | set(parents.values())
                document = json.loads(output.read_text())
                aucs = []
                for links in (document["links"] + document.get("alternative_links", []), document["links"]):
                    scored = [(link["support"], parents.get(link["target"]) == link["source"]) for link in links
                              if link["source"] in known and link["target"] in known]
                    labels = [right for _, right in scored]
                    aucs.append(roc_auc_score(labels, [s for s, _ in scored]) if 0 < sum(labels) < len(labels) else float("nan"))
                results.append({"dataset": dataset, "backbone": backbone, "seed": seed, "seconds": seconds,
                                "consensus": dict(zip(METRICS, consensus)), "single_mean": dict(zip(METRICS, np.mean(singles, axis=0))),
                                "auc_observed": aucs[0], "auc_consensus": aucs[1]})
                print(f"{dataset:<13}{backbone:<12} seed {seed}: {seconds:5.1f} s  consensus "
                      + " ".join(f"{v:.3f}" for v in consensus) + "  single-run mean "
                      + " ".join(f"{v:.3f}" for v in np.mean(singles, axis=0)) + f"  support AUC {aucs[0]:.3f} ({aucs[1]:.3f})", flush=True)

    print(f"\nmeans over seeds ({', '.join(METRICS)}); support ROC-AUC over observed links (consensus links only;"
          " n/a where every consensus link is right)")
    auc = lambda values: f"{np.nanmean(values):.3f}" if np.isfinite(values).any() else "n/a"
    for dataset in args.datasets:
        for backbone in args.backbones:
            mine = [r for r in results if r["dataset"] == dataset and r["backbone"] == backbone]
            if not mine:
                continue
            consensus = np.mean([[r["consensus"][m] for m in METRICS] for r in mine], axis=0)
            single = np.mean([[r["single_mean"][m] for m in METRICS] for r in mine], axis=0)
            print(f"{dataset:<13}{backbone:<12} consensus " + " ".join(f"{v:.3f}" for v in consensus) + "  single-run "
                  + " ".join(f"{v:.3f}" for v in single)
                  + f"  AUC {auc([r['auc_observed'] for r in mine])} ({auc([r['auc_consensus'] for r in mine])})"
                  + f"  {np.mean([r['seconds'] for r in mine]):.1f} s per bootstrap")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
