#!/usr/bin/python3
"""Concept training at Deezer scale, side by side with scikit-learn.

1. Generates (once) a synthetic corpus: 100,000 tracks x 29 frames x 128-d, 3,500 concepts of
   39-250 tracks with a planted hierarchy (`conceptree synth --layout store`).
2. Trains every concept with `conceptree train` on all cores: wall time and peak memory against
   the frames' size.
3. On a seeded sample of the concepts, trains again single-threaded, and fits scikit-learn's
   LogisticRegression(class_weight="balanced", solver="lbfgs") single-threaded on exactly the same
   train/val/test frames (read back from the concept set's splits), choosing C over the same grid
   on validation. Reports time per concept, the speed-up, and test balanced accuracies.

Run with Debian's /usr/bin/python3 (python3-numpy, -h5py, -sklearn). Prints a report and writes
it as JSON with --json.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

# Single-threaded BLAS for the scikit-learn side: the comparison is per concept, per core.
for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[variable] = "1"

import h5py  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import balanced_accuracy_score  # noqa: E402


def run(command):
    """Runs a command; returns (wall seconds, peak RSS of children in bytes)."""
    started = time.perf_counter()
    subprocess.run(command, check=True)
    wall = time.perf_counter() - started
    return wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024


def frames_of(tracks, offsets, frames):
    return np.concatenate([frames[offsets[t]:offsets[t + 1]] for t in tracks])


def labelled(positive, negative, offsets, frames):
    x = np.concatenate([frames_of(positive, offsets, frames), frames_of(negative, offsets, frames)])
    y = np.concatenate([np.ones(sum(offsets[t + 1] - offsets[t] for t in positive), np.uint8),
                        np.zeros(sum(offsets[t + 1] - offsets[t] for t in negative), np.uint8)])
    return x, y


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conceptree", required=True, help="path of the conceptree binary")
    parser.add_argument("--workdir", required=True, help="folder for the corpus and outputs (kept between runs)")
    parser.add_argument("--tracks", type=int, default=100000)
    parser.add_argument("--families", type=int, default=350)
    parser.add_argument("--concepts-per-family", type=int, default=9)
    parser.add_argument("--sample", type=int, default=60, help="concepts in the side-by-side sample")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", help="write the report here too")
    args = parser.parse_args()

    work = Path(args.workdir)
    corpus = work / "corpus"
    store = corpus / "store.h5"
    if not (corpus / "memberships.tsv").exists():
        run([args.conceptree, "-q", "synth", "-o", str(corpus), "--layout", "store", "--tracks", str(args.tracks),
             "--frames", "29", "--dim", "128", "--families", str(args.families),
             "--concepts-per-family", str(args.concepts_per_family), "--overwrite"])

    with h5py.File(store) as f:
        frames_bytes = f["frames/embedding"].size * 4

    concepts = work / "concepts.h5"
    full_wall, full_peak = run([args.conceptree, "-q", "train", "-e", str(store), "-m", str(corpus / "memberships.tsv"),
                                "-o", str(concepts), "--overwrite", "--seed", str(args.seed)])

    with h5py.File(concepts) as f:
        names = f["concepts/names"].asstr()[:]
        n_concepts = len(names)
        full_accuracy = f["concepts/metrics/test_balanced_accuracy"][:]

    rng = np.random.default_rng(args.seed)
    sample = np.sort(rng.choice(n_concepts, size=min(args.sample, n_concepts), replace=False))
    sample_names = set(names[sample])
    sample_memberships = work / "sample_memberships.tsv"
    with open(corpus / "memberships.tsv") as source, open(sample_memberships, "w") as target:
        for line in source:
            if line.split("\t", 1)[0] in sample_names:
                target.write(line)

    # conceptree single-threaded on the sample; its own summary separates training from loading.
    sample_concepts = work / "sample_concepts.h5"
    started = time.perf_counter()
    completed = subprocess.run([args.conceptree, "train", "-e", str(store), "-m", str(sample_memberships), "-o",
                                str(sample_concepts), "--overwrite", "--seed", str(args.seed), "--jobs", "1"],
                               check=True, capture_output=True, text=True)
    sample_wall = time.perf_counter() - started
    summary = completed.stderr.strip().splitlines()[-1]
    fitting_seconds = float(summary.split("fitting ")[1].split(" s")[0])
    ours_per_concept = fitting_seconds / len(sample)

    with h5py.File(store) as f:
        offsets = f["tracks/offsets"][:].astype(np.int64)
        frames = f["frames/embedding"][:]
    with h5py.File(sample_concepts) as f:
        ours_accuracy = f["concepts/metrics/test_balanced_accuracy"][:]
        strengths = sorted(set(f["concepts/metrics/regularization"][:]) | {1e-1, 1e-2, 1e-3, 1e-4}, reverse=True)
        splits = {part: (f[f"splits/{part}/offsets"][:], f[f"splits/{part}/indices"][:])
                  for part in ("train/positive", "train/negative", "val/positive", "val/negative",
                               "test/positive", "test/negative")}
        sample_order = f["concepts/names"].asstr()[:]

    def tracks(part, k):
        part_offsets, indices = splits[part]
        return indices[part_offsets[k]:part_offsets[k + 1]]

    sklearn_seconds = 0.0
    sklearn_accuracy = []
    for k in range(len(sample_order)):
        x_train, y_train = labelled(tracks("train/positive", k), tracks("train/negative", k), offsets, frames)
        x_val, y_val = labelled(tracks("val/positive", k), tracks("val/negative", k), offsets, frames)
        x_test, y_test = labelled(tracks("test/positive", k), tracks("test/negative", k), offsets, frames)
        started = time.perf_counter()
        mean, scale = x_train.mean(0), x_train.std(0)
        scale[scale == 0] = 1
        standard = lambda x: (x - mean) / scale  # noqa: E731
        best = (-1.0, None)
        for strength in [1e-1, 1e-2, 1e-3, 1e-4]:
            # conceptree minimises mean(c_i loss_i) + strength/2 |w|^2; scikit-learn C sum(c_i loss_i) + 1/2 |w|^2.
            model = LogisticRegression(class_weight="balanced", C=1.0 / (strength * len(y_train)), max_iter=1000)
            model.fit(standard(x_train), y_train)
            accuracy = balanced_accuracy_score(y_val, model.predict(standard(x_val)))
            if accuracy > best[0]:
                best = (accuracy, model)
        sklearn_seconds += time.perf_counter() - started
        sklearn_accuracy.append(balanced_accuracy_score(y_test, best[1].predict(standard(x_test))))
    sklearn_accuracy = np.array(sklearn_accuracy)
    sklearn_per_concept = sklearn_seconds / len(sample_order)
    difference = np.abs(ours_accuracy - sklearn_accuracy)

    report = {
        "corpus": {"tracks": args.tracks, "frames_per_track": 29, "dim": 128, "concepts": int(n_concepts),
                   "frames_bytes": int(frames_bytes)},
        "full_run": {"wall_seconds": round(full_wall, 2), "jobs": os.cpu_count(),
                     "peak_rss_bytes": int(full_peak), "peak_over_frames": round(full_peak / frames_bytes, 3),
                     "mean_test_balanced_accuracy": round(float(full_accuracy.mean()), 4)},
        "side_by_side": {
            "concepts": int(len(sample_order)),
            "conceptree_seconds_per_concept": round(ours_per_concept, 5),
            "sklearn_seconds_per_concept": round(sklearn_per_concept, 5),
            "speedup": round(sklearn_per_concept / ours_per_concept, 1),
            "conceptree_mean_test_balanced_accuracy": round(float(ours_accuracy.mean()), 4),
            "sklearn_mean_test_balanced_accuracy": round(float(sklearn_accuracy.mean()), 4),
            "share_within_1_point": round(float((difference <= 0.01).mean()), 4),
            "max_abs_difference": round(float(difference.max()), 4),
            "conceptree_sample_wall_seconds": round(sample_wall, 2),
        },
    }
    side = report["side_by_side"]
    print(f"corpus: {args.tracks} tracks x 29 frames x 128-d ({frames_bytes / 2**30:.2f} GiB of frames), {n_concepts} concepts")
    print(f"full run, {os.cpu_count()} cores: {full_wall:.1f} s wall (target <= 60 s), peak memory "
          f"{full_peak / 2**30:.2f} GiB = {full_peak / frames_bytes:.2f} x frames (target <= 1.5)")
    print(f"side by side on {side['concepts']} concepts, one core each, same splits and regularisation grid:")
    print(f"  conceptree  {ours_per_concept * 1e3:8.2f} ms/concept   mean test BA {ours_accuracy.mean():.4f}")
    print(f"  sklearn     {sklearn_per_concept * 1e3:8.2f} ms/concept   mean test BA {sklearn_accuracy.mean():.4f}")
    print(f"  speed-up {side['speedup']}x (target >= 10x); test BA within 1 point on "
          f"{100 * side['share_within_1_point']:.1f}% of concepts (target >= 95%), max difference {side['max_abs_difference']:.4f}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
