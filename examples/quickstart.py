#!/usr/bin/python3
"""The demo corpus through conceptree's Python API: render it, embed the audio, learn one concept
per playlist, relate the concepts, extract their hierarchy and evaluate it against the known
answer (instrument -> family), next to the baselines.

    /usr/bin/python3 examples/quickstart.py [--workdir DIR] [--tracks 640] [--backbone dsp]

Uses the demo's own small-corpus settings (conceptree demo with --runs 1 gives the same numbers).
"""

import argparse
import logging
import pathlib
import tempfile
import time

import conceptree as ct


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=pathlib.Path, help="where the corpus is rendered (default: a temporary folder)")
    parser.add_argument("--tracks", type=int, default=640, help="tracks in the corpus")
    parser.add_argument("--seconds", type=float, nargs=2, default=(8, 10), metavar=("MIN", "MAX"), help="track durations")
    parser.add_argument("--backbone", default="dsp", choices=["dsp", "musicnn-vgg"])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(levelname)s: %(message)s")

    with tempfile.TemporaryDirectory() as scratch:
        workdir = args.workdir or pathlib.Path(scratch)
        corpus = workdir / "corpus"
        started = time.perf_counter()
        if not (corpus / "memberships.tsv").exists():
            ct.run("corpus", output=corpus, tracks=args.tracks, seed=args.seed, min_seconds=args.seconds[0],
                   max_seconds=args.seconds[1], overwrite=True)
        print(f"corpus: {corpus} ({time.perf_counter() - started:.1f} s)")

        started = time.perf_counter()
        frames = ct.embed(corpus / "audio", backbone=args.backbone)
        print(f"embed: {frames} ({time.perf_counter() - started:.1f} s)")

        started = time.perf_counter()
        # The demo's settings for a corpus this small: every other track a negative.
        concepts = ct.train(frames, corpus / "memberships.tsv", negative_ratio=1000, regularization=[1e-3, 1e-4],
                            min_accuracy=0.6, seed=args.seed)
        accuracy = concepts.metrics["test_balanced_accuracy"]
        print(f"train: {concepts}, mean test balanced accuracy {accuracy.mean():.3f} ({time.perf_counter() - started:.1f} s)")

        similarity = ct.similarity(concepts, frames)
        tree = ct.hierarchy(similarity, calibration="lift", min_sim=0.2)
        print(f"hierarchy: {tree}, top level: {', '.join(tree.nodes[i].id for i in tree.top_level())}")

        evaluation = ct.evaluate(tree, truth=corpus / "truth.tsv", similarity=similarity)
        print(evaluation.table())


if __name__ == "__main__":
    main()
