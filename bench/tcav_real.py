#!/usr/bin/python3
"""The seed's question on recordings: which concepts drive musicnn-vgg's "happy" (and another tag)?
Is the verdict calibrated there, and are the concepts it ranks first faithful to the model?

On --corpus demo (the demo's rendered corpus, --tracks tracks of 8-10 s: instruments, families,
tempo slow/fast, register low/high, mode major/minor; rendered into the workdir) or philharmonia
(../shared/data/philharmonia_dev, orchestral notes and phrases, read in place):
  1. embed --backbone musicnn-vgg --mode patch --layer pool4 --gradients TARGETS, and the tag
     logits (--layer output) in a second store (both kept in --workdir);
  2. train the corpus's concepts on pool4 (small-corpus settings as bench/philharmonia.py),
     similarity, hierarchy;
  3. the question: tcav --target T --hierarchy for each target (JSON + page; --screenshot saves a
     PNG of the first target's page with headless Chromium);
  4. calibration: a concept set of 100 random track sets and, per target, a planted concept (the
     --planted share of tracks with the highest mean target logit), all of the planted size; tcav
     on it counts the random sets declared significant and says whether the planted ones are;
  5. faithfulness, in PyTorch on the same network (bench/musicnn_torch.py), on --files recordings:
     every pool4 time step loses its components along the pattern CAVs (member mean minus
     non-member mean) of the top-k concepts that raise the output (significant first, then by
     sensitivity), the rest of
     the network runs, and the mean drop of the target logit is set against removing the CAVs of
     the k concepts of sensitivity nearest 0 and k random directions, k = 1..10. Two ways to
     remove: project the components out of every patch (to 0), or replace them by the mean row's
     (ablation to the mean) in the patches of the concepts' own member tracks, where removing a
     concept that raises the output should lower it. The planted concept's direction alone is the
     positive control.

    /usr/bin/python3 bench/tcav_real.py [--corpus demo|philharmonia] [--build build] [--targets happy sad]
        [--files 200] [--runs R] [--random R] [--screenshot docs/images/tcav.png] [--json out.json]
"""
import argparse
import json
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from musicnn_torch import MusicnnVgg, read_tags, rows, split_patches  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data" / "philharmonia_dev"
WEIGHTS = REPO / "models" / "musicnn" / "MSD_vgg.h5"
TRAIN_ARGS = ["--negative-ratio", "1000", "--regularization", "0.001", "0.0001", "--min-accuracy", "0.5"]
LAYER = "pool4"
RANDOM_SETS = 100


def run(command, log):
    result = subprocess.run([str(c) for c in command], capture_output=True, text=True)
    log.write(f"$ {shlex.join(str(c) for c in command)}\n{result.stderr}")
    if result.returncode != 0:
        sys.exit(f"failed ({result.returncode}): {shlex.join(str(c) for c in command)}\n{result.stderr}")
    return result.stdout


def read_store(path, layer):
    with h5py.File(path) as f:
        offsets = f["tracks/offsets"][:].astype(np.int64)
        return list(f["tracks/ids"].asstr()[:]), offsets, np.asarray(f[f"frames/{layer}"])


def pool4_rows(model, logmel):
    """(P, T, 768) pool4 rows of a recording's patches, as conceptree cuts them."""
    with torch.no_grad():
        _, kept = model.run(torch.from_numpy(split_patches(logmel)), [LAYER])
    return rows(kept[LAYER])


def logits_from_pool4(model, pool4, freq):
    """(N, T, F * 128) pool4 rows -> (N, 50) logits through block 5 and the dense layer."""
    n, t, _ = pool4.shape
    with torch.no_grad():
        return model.logits(model.blocks[4](pool4.reshape(n, t, freq, 128).permute(0, 3, 1, 2)))


def without(pool4, directions, centre):
    """Every time step's row with its components along the span of `directions` (k, D) set to
    those of `centre`: zero removes them outright, the mean row replaces them by the average's."""
    basis, _ = torch.linalg.qr(torch.as_tensor(np.asarray(directions, dtype=np.float32)).T)  # (D, k) orthonormal
    return pool4 - ((pool4 - centre) @ basis) @ basis.T


def print_question(target, result, alignment):
    entries = result["concepts"]
    verdict = result["test"]
    significant = [c for c in entries if c["significant"]]
    by_runs = sum(1 for c in entries if (c["runs_test"]["q_welch"] if c["runs_test"]["q_welch"] is not None else 1) < result["alpha"]
                  and (c["runs_test"]["q_permutation"] if c["runs_test"]["q_permutation"] is not None else 1) < result["alpha"])
    print(f"\n{target}: {len(entries)} concepts, {result['inputs']} patches of {result['tracks']} recordings; mean cosine of a "
          f"patch's gradient with the mean gradient {alignment:.2f}")
    print(f"  {len(significant)} significant ({verdict} test, q < {result['alpha']}); tf/tcav's runs test would call {by_runs}")
    print(f"  {'concept':<28} {'sensitivity':>14} {'its null':>14} {'q':>6} {'p_rank':>6} {'TCAV score':>11} {'its null':>11}")
    for c in sorted(entries, key=lambda c: -c["sensitivity"]["mean"]):
        test = c["tests"][verdict]
        print(f"{'*' if c['significant'] else ' '} {c['label']:<28} {c['sensitivity']['mean']:+.3f}±{c['sensitivity']['std']:.3f} "
              f"{c['random_sensitivity']['mean']:+.3f}±{c['random_sensitivity']['std']:.3f} {test['q_t']:>6.2g} {test['p_rank']:>6.3f} "
              f"{c['score']['mean']:.2f}±{c['score']['std']:.2f} {c['random']['mean']:.2f}±{c['random']['std']:.2f}")
    agreeing = [c["label"] for c in entries if c.get("subtree_agrees")]
    print(f"  subtrees whose concepts agree: {', '.join(agreeing) or 'none'}")
    return {"gradient_alignment": alignment, "runs_test_significant": by_runs,
            "concepts": {c["id"]: {"sensitivity": c["sensitivity"]["mean"], "score": c["score"]["mean"], "q": c["tests"][verdict]["q_t"],
                                   "significant": c["significant"]} for c in entries}}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", type=Path, default=REPO / "build")
    parser.add_argument("--corpus", choices=["demo", "philharmonia"], default="demo")
    parser.add_argument("--tracks", type=int, default=640, help="demo: tracks to render")
    parser.add_argument("--data", type=Path, default=DATA, help="philharmonia: where philharmonia_dev is")
    parser.add_argument("--workdir", type=Path, help="default: BUILD/bench-data/tcav-CORPUS")
    parser.add_argument("--targets", nargs="+", default=["happy", "sad"])
    parser.add_argument("--runs", type=int, help="tcav --runs (default: tcav's)")
    parser.add_argument("--random", type=int, help="tcav --random (default: tcav's)")
    parser.add_argument("--tcav-args", default="", help="more arguments for every tcav run (e.g. --cav classifier --test score)")
    parser.add_argument("--planted", type=float, default=0.1, help="share of tracks in a planted concept and in each random set")
    parser.add_argument("--files", type=int, default=200, help="recordings the faithfulness test runs the network on")
    parser.add_argument("--max-k", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--screenshot", type=Path, help="PNG of the first target's page")
    parser.add_argument("--json", type=Path, help="write the numbers printed here")
    args = parser.parse_args()
    torch.set_num_threads(2)
    conceptree = args.build.resolve() / "conceptree"
    work = args.workdir or args.build / "bench-data" / f"tcav-{args.corpus}"
    work.mkdir(parents=True, exist_ok=True)
    log = open(work / "log.txt", "a")
    if args.corpus == "demo":
        args.data = work / "corpus"
        if not (args.data / "memberships.tsv").exists():
            run([conceptree, "-q", "corpus", "--tracks", args.tracks, "--seed", args.seed, "-o", args.data, "--overwrite"], log)
    elif not (args.data / "memberships.tsv").exists():
        sys.exit(f"{args.data}: philharmonia_dev not found (it is read in place from ../shared/data)")
    targets = sorted(args.targets)
    store, logits_store = work / f"store-{'-'.join(targets)}.h5", work / "logits.h5"
    concepts, similarity, tree = work / "concepts.h5", work / "sim.h5", work / "tree.json"
    tcav_args = [*shlex.split(args.tcav_args), "--seed", args.seed, "--overwrite"]
    tcav_args += ["--runs", args.runs] if args.runs else []
    tcav_args += ["--random", args.random] if args.random else []
    report = {"corpus": args.corpus, "tcav_args": args.tcav_args, "targets": {}}

    if not store.exists():
        run([conceptree, "-q", "embed", "--backbone", "musicnn-vgg", "--mode", "patch", "--layer", LAYER, "--gradients",
             ",".join(targets), args.data / "audio", "-o", store], log)
    if not logits_store.exists():
        run([conceptree, "-q", "embed", "--backbone", "musicnn-vgg", "--mode", "patch", "--layer", "output", args.data / "audio",
             "-o", logits_store], log)
    run([conceptree, "-q", "train", "-e", store, "-m", args.data / "memberships.tsv", "-o", concepts, "--seed", args.seed,
         "--overwrite", *TRAIN_ARGS], log)
    run([conceptree, "-q", "similarity", "-c", concepts, "-e", store, "-o", similarity, "--overwrite"], log)
    run([conceptree, "-q", "hierarchy", "-s", similarity, "-o", tree, "--overwrite"], log)

    ids, offsets, frames = read_store(store, f"{LAYER}_patch")
    with h5py.File(store) as f:
        gradients = {t: np.asarray(f[f"gradients/{LAYER}_patch/{t}"]) for t in targets}
    tags = read_tags(REPO / "models" / "musicnn" / "msd_tags.txt")

    # 3. The question.
    results = {}
    for target in args.targets:
        out = work / f"tcav-{target}.json"
        run([conceptree, "-q", "tcav", "-e", store, "-c", concepts, "--target", target, "--hierarchy", tree, "-o", out,
             "--html", work / f"tcav-{target}.html", *tcav_args], log)
        results[target] = json.loads(out.read_text())
        g = gradients[target]
        mean = g.mean(axis=0)
        alignment = float(np.mean(g @ mean / np.linalg.norm(g, axis=1) / np.linalg.norm(mean)))
        report["targets"][target] = print_question(target, results[target], alignment)

    # 4. Calibration: random track sets and planted concepts of one size.
    logit_ids, logit_offsets, logits = read_store(logits_store, "output_patch")
    assert logit_ids == ids, "the two stores list the same recordings in the same order"
    size = max(2, round(args.planted * len(ids)))
    rng = np.random.default_rng(args.seed)
    lines = ["concept\ttrack_id\ttype"]
    for target in targets:
        mean_logit = np.array([logits[logit_offsets[i]:logit_offsets[i + 1], tags.index(target)].mean() for i in range(len(ids))])
        lines += [f"planted:{target}\t{ids[i]}\tplanted" for i in np.argsort(-mean_logit, kind="stable")[:size]]
    for j in range(RANDOM_SETS):
        lines += [f"random:{j:03d}\t{ids[i]}\trandom" for i in sorted(rng.choice(len(ids), size, replace=False))]
    calibration_memberships, calibration_concepts = work / "calibration.tsv", work / "calibration.h5"
    calibration_memberships.write_text("\n".join(lines) + "\n")
    run([conceptree, "-q", "train", "-e", store, "-m", calibration_memberships, "-o", calibration_concepts, "--seed", args.seed,
         "--overwrite", "--min-tracks", "3", "--min-accuracy", "0", *TRAIN_ARGS[:4]], log)
    print(f"\ncalibration: {RANDOM_SETS} random track sets and a planted concept per target, {size} tracks each")
    for target in args.targets:
        out = work / f"calibration-{target}.json"
        run([conceptree, "-q", "tcav", "-e", store, "-c", calibration_concepts, "--target", target, "-o", out, *tcav_args], log)
        entries = json.loads(out.read_text())["concepts"]
        random_significant = sum(c["significant"] for c in entries if c["id"].startswith("random:"))
        planted = next(c for c in entries if c["id"] == f"planted:{target}")
        verdict = json.loads(out.read_text())["test"]
        print(f"  {target}: random sets significant {random_significant}/{RANDOM_SETS}; planted:{target} "
              f"{'significant' if planted['significant'] else 'not significant'} (q {planted['tests'][verdict]['q_t']:.2g}), "
              f"sensitivity {planted['sensitivity']['mean']:+.3f} (null {planted['random_sensitivity']['mean']:+.3f}"
              f"±{planted['random_sensitivity']['std']:.3f}), TCAV score {planted['score']['mean']:.2f}")
        report["targets"][target]["calibration"] = {"random_significant": random_significant, "random_sets": RANDOM_SETS,
                                                    "planted_significant": planted["significant"],
                                                    "planted_q": planted["tests"][verdict]["q_t"],
                                                    "planted_score": planted["score"]["mean"]}

    # 5. Faithfulness.
    members = {}
    index = {track: i for i, track in enumerate(ids)}
    for memberships in (args.data / "memberships.tsv", calibration_memberships):
        for line in memberships.read_text().splitlines()[1:]:
            concept, track = line.split("\t")[:2]
            if track in index:
                members.setdefault(concept, set()).add(index[track])
    track_of_row = np.repeat(np.arange(len(ids)), np.diff(offsets))

    def pattern_cav(concept):
        inside = np.isin(track_of_row, list(members[concept]))
        return frames[inside].mean(axis=0) - frames[~inside].mean(axis=0)

    model = MusicnnVgg(WEIGHTS)
    audio = sorted(p for p in (args.data / "audio").iterdir() if p.suffix in (".mp3", ".wav"))
    chosen = [audio[i] for i in sorted(rng.choice(len(audio), min(args.files, len(audio)), replace=False))]
    pool4, patch_track = [], []
    with tempfile.TemporaryDirectory() as scratch:
        for path in chosen:
            npy = Path(scratch) / "logmel.npy"
            subprocess.run([conceptree, "-q", "logmel", path, "-o", npy, "--overwrite"], check=True)
            pool4.append(pool4_rows(model, np.load(npy)))
            patch_track += [index[str(path.relative_to(args.data / "audio").with_suffix(""))]] * len(pool4[-1])
    pool4, patch_track = torch.cat(pool4), np.array(patch_track)
    freq = pool4.shape[2] // 128
    base = logits_from_pool4(model, pool4, freq)
    mean_row = pool4.reshape(-1, pool4.shape[2]).mean(dim=0)
    random_directions = rng.standard_normal((10, args.max_k, pool4.shape[2])).astype(np.float32)
    print(f"\nfaithfulness: {len(pool4)} patches of {len(chosen)} recordings; mean drop of the target logit when every pool4 "
          f"time step loses its components along k directions")
    for target, result in results.items():
        tag = tags.index(target)
        entries = [c for c in result["concepts"] if c["id"] in members]
        # Concepts that raise the output, significant ones first: removing them should lower it.
        raising = sorted((c for c in entries if c["sensitivity"]["mean"] > 0), key=lambda c: (-c["significant"], -c["sensitivity"]["mean"]))
        top = [pattern_cav(c["id"]) for c in raising]
        flat = [pattern_cav(c["id"]) for c in sorted(entries, key=lambda c: abs(c["sensitivity"]["mean"]))]

        def drop(directions, centre, concepts):
            """Mean drop over the patches of the concepts' member tracks (all patches for None)."""
            if concepts is None:
                patches = np.ones(len(pool4), dtype=bool)
            else:
                patches = np.isin(patch_track, list(set().union(*(members[c] for c in concepts))))
            changed = logits_from_pool4(model, without(pool4[patches], directions, centre), freq)[:, tag]
            return float((base[patches, tag] - changed).mean())

        by_sensitivity = [c["id"] for c in raising]
        nearest_zero = [c["id"] for c in sorted(entries, key=lambda c: abs(c["sensitivity"]["mean"]))]
        report["targets"][target]["faithfulness"] = {}
        for removal, centre, own in [("projected out of every patch", torch.zeros_like(mean_row), False),
                                     ("ablated to the mean in the concepts' own patches", mean_row, True)]:
            print(f"  {target}, {removal} (mean logit {float(base[:, tag].mean()):.3f}): k, top-k concepts raising the output, "
                  f"k concepts of sensitivity nearest 0, k random directions (mean of 10, on the top-k's patches)")
            curve = []
            for k in range(1, min(args.max_k, len(raising)) + 1):
                on_top, on_flat = (by_sensitivity[:k], nearest_zero[:k]) if own else (None, None)
                row = {"k": k, "top": drop(top[:k], centre, on_top), "flat": drop(flat[:k], centre, on_flat),
                       "random": float(np.mean([drop(d[:k], centre, on_top) for d in random_directions]))}
                curve.append(row)
                print(f"    k={k:<2} {row['top']:+.3f}  {row['flat']:+.3f}  {row['random']:+.3f}")
            planted = drop([pattern_cav(f"planted:{target}")], centre, [f"planted:{target}"] if own else None)
            print(f"    the planted concept's direction alone (a positive control): {planted:+.3f}")
            report["targets"][target]["faithfulness"][removal] = {"curve": curve, "planted": planted}

    if args.screenshot:
        page = work / f"tcav-{args.targets[0]}.html"
        args.screenshot.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as profile:
            subprocess.run([shutil.which("chromium"), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                            f"--user-data-dir={profile}", "--virtual-time-budget=5000", "--window-size=1400,1100",
                            f"--screenshot={args.screenshot.resolve()}", page.resolve().as_uri()], check=True, capture_output=True)
        print(f"\nscreenshot of {page.name}: {args.screenshot}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
