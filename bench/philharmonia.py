#!/usr/bin/python3
"""Real orchestral recordings end to end: embed -> train -> similarity -> hierarchy -> evaluate.

Runs conceptree on ../shared/data/philharmonia_dev (1,120 mp3s: 16 instruments in 3 families, with
dynamics and register concepts; not redistributable, so it is read in place) with each backbone and
each training seed, and prints the evaluation against the instrument -> family truth next to the
paper's Top-1 baseline. Stores are embedded once per backbone and kept in --workdir.

Training uses the settings conceptree's demo uses for a small corpus (~70 recordings per
instrument, where the paper's were made for millions of tracks; include/conceptree/demo.hpp):
every other track a negative and the weak half of the L2 grid, and here every concept that beats
chance is kept (--min-accuracy 0.5), so the tree holds every instrument and family and the
evaluation scores all of them. --train-args "" runs train's own defaults instead.

    /usr/bin/python3 bench/philharmonia.py [--build build] [--seeds 0 1 2] [--backbones dsp musicnn-vgg]
        [--train-args "--negative-ratio 1000"] [--embed-args "--pad-short silence"] [--json out.json]
"""

import argparse
import json
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

import h5py

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data" / "philharmonia_dev"
METRICS = ["family_purity", "ancestor_f1", "parent_f1", "undirected_parent_f1", "adjusted_rand_index"]


def run(command, log):
    started = time.monotonic()
    result = subprocess.run([str(c) for c in command], capture_output=True, text=True)
    log.write(f"$ {shlex.join(str(c) for c in command)}\n{result.stderr}")
    if result.returncode != 0:
        sys.exit(f"failed ({result.returncode}): {shlex.join(str(c) for c in command)}\n{result.stderr}")
    return result.stdout, time.monotonic() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", type=Path, default=REPO / "build")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--workdir", type=Path, default=None, help="default: BUILD/bench-data/philharmonia")
    parser.add_argument("--backbones", nargs="+", default=["dsp", "musicnn-vgg"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--embed-args", default="", help="extra arguments for conceptree embed (a new store is made for them)")
    parser.add_argument("--train-args", default="--negative-ratio 1000 --regularization 0.001 0.0001 --min-accuracy 0.5",
                        help="arguments for conceptree train (default: small-corpus settings, see above)")
    parser.add_argument("--hierarchy-args", default="", help="extra arguments for conceptree hierarchy")
    parser.add_argument("--json", type=Path, help="write every run's results here")
    args = parser.parse_args()

    if not (args.data / "memberships.tsv").exists():
        sys.exit(f"{args.data}: philharmonia_dev not found (it is read in place from ../shared/data)")
    conceptree = args.build / "conceptree"
    work = args.workdir or args.build / "bench-data" / "philharmonia"
    work.mkdir(parents=True, exist_ok=True)
    memberships, truth = args.data / "memberships.tsv", args.data / "truth.tsv"
    concepts_in_file = len({line.split("\t")[0] for line in memberships.read_text().splitlines() if line.strip()})
    tracks_in_data = sum(1 for _ in (args.data / "audio").glob("*.mp3"))
    embed_args = shlex.split(args.embed_args)
    embed_tag = "".join(a.strip("-").replace("/", "_") for a in embed_args)

    runs = []
    with open(work / "log.txt", "a") as log:
        for backbone in args.backbones:
            store = work / f"{backbone}{('-' + embed_tag) if embed_tag else ''}.h5"
            if not store.exists():
                _, seconds = run([conceptree, "embed", "--backbone", backbone, *embed_args, args.data / "audio", "-o", store], log)
                print(f"{backbone}: embedded in {seconds:.1f} s", file=sys.stderr)
            info, _ = run([conceptree, "info", store], log)
            tracks = int(next(line.split()[1] for line in info.splitlines() if line.strip().startswith("tracks")))
            for seed in args.seeds:
                prefix = work / f"{store.stem}-seed{seed}"
                run([conceptree, "-q", "train", "-e", store, "-m", memberships, "-o", f"{prefix}-concepts.h5", "--seed", seed,
                     "--overwrite", *shlex.split(args.train_args)], log)
                with h5py.File(f"{prefix}-concepts.h5") as concepts:
                    trained = len(concepts["concepts/names"])
                    accuracy = statistics.mean(concepts["concepts/metrics/test_balanced_accuracy"][:])
                    auc = statistics.mean(concepts["concepts/metrics/test_roc_auc"][:])
                run([conceptree, "-q", "similarity", "-c", f"{prefix}-concepts.h5", "-e", store, "-o", f"{prefix}-sim.h5",
                     "--overwrite"], log)
                run([conceptree, "-q", "hierarchy", "-s", f"{prefix}-sim.h5", "-o", f"{prefix}-tree.json", "--overwrite",
                     *shlex.split(args.hierarchy_args)], log)
                evaluation, _ = run([conceptree, "-q", "evaluate", "--hierarchy", f"{prefix}-tree.json", "--truth", truth,
                                     "--similarity", f"{prefix}-sim.h5", "--json", "--seed", seed], log)
                result = json.loads(evaluation)["truth"]
                tree = json.loads(Path(f"{prefix}-tree.json").read_text())
                labels = {node["label"] for node in tree["nodes"]}
                runs.append({"backbone": backbone, "seed": seed, "tracks_embedded": tracks, "tracks_in_data": tracks_in_data,
                             "concepts_in_file": concepts_in_file, "concepts_trained": trained,
                             "mean_test_balanced_accuracy": accuracy, "mean_test_roc_auc": auc,
                             "concepts_in_hierarchy": len(labels), "families_in_hierarchy": sorted(labels & {"brass", "strings", "woodwind"}),
                             "missing_truth_concepts": result["unmatched"],
                             "hierarchy": {m: result[m] for m in METRICS},
                             "top1": {m: result["baselines"]["top1"][m] for m in METRICS}})

    print(f"philharmonia_dev: {tracks_in_data} recordings, {concepts_in_file} concepts in the memberships")
    print(f"settings: embed [{args.embed_args}] train [{args.train_args}] hierarchy [{args.hierarchy_args}]; seeds {args.seeds}")
    header = f"{'backbone':<12} {'method':<9} " + " ".join(f"{m.replace('_', ' '):>21}" for m in METRICS)
    print(header)
    for backbone in args.backbones:
        mine = [r for r in runs if r["backbone"] == backbone]
        for method in ["hierarchy", "top1"]:
            cells = []
            for metric in METRICS:
                values = [r[method][metric] for r in mine]
                spread = f" ± {statistics.stdev(values):.3f}" if len(values) > 1 else ""
                cells.append(f"{statistics.mean(values):.3f}{spread}")
            print(f"{backbone:<12} {method:<9} " + " ".join(f"{c:>21}" for c in cells))
        print(f"{backbone:<12} concepts: mean test balanced accuracy {statistics.mean(r['mean_test_balanced_accuracy'] for r in mine):.3f}, "
              f"mean test ROC-AUC {statistics.mean(r['mean_test_roc_auc'] for r in mine):.3f}")
        for r in mine:
            print(f"  {backbone} seed {r['seed']}: {r['tracks_embedded']}/{r['tracks_in_data']} recordings embedded, "
                  f"{r['concepts_trained']}/{r['concepts_in_file']} concepts trained, {r['concepts_in_hierarchy']} in the hierarchy "
                  f"(families: {', '.join(r['families_in_hierarchy']) or 'none'}; truth concepts missing: "
                  f"{', '.join(r['missing_truth_concepts']) or 'none'})")
    if args.json:
        args.json.write_text(json.dumps(runs, indent=1))


if __name__ == "__main__":
    main()
