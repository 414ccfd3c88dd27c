#!/usr/bin/python3
"""Does `conceptree explain` explain? Measured on recordings whose content is known.

Demo corpus (rendered General MIDI ensembles; tracks.tsv says which instruments play): a fifth of
the tracks is held out of training altogether; concepts, similarity and hierarchy are learned on
the rest with the demo's settings; the held-out tracks are explained. Reported:
  - mean average precision of the true instruments among the instrument concepts, ranked by the
    per-track calibrated score, by the summary (its concepts first, in its order), and by the
    base-rate baseline (how common each instrument is in training);
  - on concatenations of two held-out tracks with no instrument in common, the share where the
    segment boundary lands within 1 s of the true one (the median of the first track's
    instruments' segment ends and the second's segment starts).
philharmonia_dev (../shared/data, real recordings, read in place; optional): concepts learned on the
single notes, the phrases explained: the share whose top summary entry names the true instrument
(anywhere on its path), and whose best-scored instrument concept is the true one.

    /usr/bin/python3 bench/explain_quality.py [--build build] [--seeds 0 1 2] [--backbone dsp] [--json out.json]
"""

import argparse
import json
import shlex
import statistics
import subprocess
import sys
import wave
import zlib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PHILHARMONIA = REPO.parent / "shared" / "data" / "philharmonia_dev"
SMALL_CORPUS_TRAINING = ["--negative-ratio", "1000", "--regularization", "0.001", "0.0001", "--min-accuracy", "0.6"]


def run(command):
    result = subprocess.run([str(c) for c in command], capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"failed ({result.returncode}): {shlex.join(str(c) for c in command)}\n{result.stderr}")
    return result.stdout


def held_out(track, seed):
    return zlib.crc32(f"{seed}:{track}".encode()) % 5 == 0


def read_memberships(path):
    rows = []
    for line in Path(path).read_text().splitlines():
        parts = line.split("\t")
        if len(parts) >= 2 and parts[0] != "concept":
            rows.append((parts[0], parts[1], parts[2] if len(parts) > 2 else ""))
    return rows


def average_precision(ranking, relevant):
    hits, total = 0, 0.0
    for rank, concept in enumerate(ranking, 1):
        if concept in relevant:
            hits += 1
            total += hits / rank
    return total / len(relevant) if relevant else None


def learn(conceptree, work, store, memberships, train_args, hierarchy_args):
    concepts, similarity, tree = work / "concepts.h5", work / "similarity.h5", work / "tree.json"
    run([conceptree, "-q", "train", "-e", store, "-m", memberships, "-o", concepts, "--overwrite", *train_args])
    run([conceptree, "-q", "similarity", "-c", concepts, "-e", store, "-o", similarity, "--overwrite"])
    run([conceptree, "-q", "hierarchy", "-s", similarity, "-o", tree, "--overwrite", *hierarchy_args])
    return concepts, tree


def explain(conceptree, args, output):
    run([conceptree, "-q", "explain", *args, "-o", output.with_suffix(".h5"), "--json", output, "--overwrite"])
    return json.loads(output.read_text())


def summary_ranking(track, labels_to_ids):
    ranking = []
    for entry in track["summary"]:
        for label in reversed(entry["path"]):
            concept = labels_to_ids.get(label, label)
            if concept not in ranking:
                ranking.append(concept)
    ranking += [c["id"] for c in track["concepts"] if c["id"] not in ranking]
    return ranking


def concatenate(first, second, output):
    with wave.open(str(first)) as a, wave.open(str(second)) as b:
        params = a.getparams()
        frames_a, frames_b = a.readframes(a.getnframes()), b.readframes(b.getnframes())
        boundary = a.getnframes() / a.getframerate()
    with wave.open(str(output), "wb") as out:
        out.setparams(params)
        out.writeframes(frames_a + frames_b)
    return boundary


def demo_corpus(conceptree, work, seed, backbone, pairs, tracks):
    corpus = work / "corpus"
    if not (corpus / "tracks.tsv").exists():
        run([conceptree, "-q", "corpus", "-o", corpus, "--seed", seed, "--tracks", tracks])
    store = work / f"store-{backbone}.h5"
    if not store.exists():
        run([conceptree, "-q", "embed", "--backbone", backbone, corpus / "audio", "-o", store])
    instruments_of = {}
    for line in (corpus / "tracks.tsv").read_text().splitlines()[1:]:
        fields = line.split("\t")
        instruments_of[fields[0]] = set(fields[2].split(","))
    memberships = read_memberships(corpus / "memberships.tsv")
    training = work / "memberships-train.tsv"
    training.write_text("".join(f"{c}\t{t}\t{k}\n" for c, t, k in memberships if not held_out(t, seed)))
    concepts, tree = learn(conceptree, work, store, training, SMALL_CORPUS_TRAINING, ["--order", "generality"])
    held = sorted(t for t in instruments_of if held_out(t, seed))
    (work / "held-out.txt").write_text("".join(t + "\n" for t in held))
    result = explain(conceptree, ["-c", concepts, "--hierarchy", tree, "-e", store, "--tracks", work / "held-out.txt"], work / "explained.json")

    instrument_concepts = {c for c, _, kind in memberships if kind == "instrument"}
    kept = set(result["concepts"]) & instrument_concepts
    training_tracks = {t for _, t, _ in memberships if not held_out(t, seed)}
    base_rate = {c: sum(1 for m, t, _ in memberships if m == c and t in training_tracks) for c in kept}
    labels_to_ids = dict(zip(result["labels"], result["concepts"]))
    by_score, by_summary, by_base_rate = [], [], []
    for track in result["tracks"]:
        relevant = instruments_of[track["id"]] & kept
        if not relevant:
            continue
        scored = [c["id"] for c in track["concepts"] if c["id"] in kept]
        by_score.append(average_precision(scored, relevant))
        by_summary.append(average_precision([c for c in summary_ranking(track, labels_to_ids) if c in kept], relevant))
        by_base_rate.append(average_precision(sorted(kept, key=lambda c: (-base_rate[c], c)), relevant))

    # Boundaries: pairs of held-out tracks with no instrument in common, concatenated as audio.
    pair_dir = work / "pairs"
    pair_dir.mkdir(exist_ok=True)
    boundaries = {}
    for first, second in zip(held, held[1:] + held[:1]):
        if len(boundaries) >= pairs or instruments_of[first] & instruments_of[second]:
            continue
        name = f"{first}+{second}"
        boundaries[name] = (concatenate(corpus / "audio" / f"{first}.wav", corpus / "audio" / f"{second}.wav", pair_dir / f"{name}.wav"),
                            instruments_of[first] & kept, instruments_of[second] & kept)
    paired = explain(conceptree, ["-c", concepts, "--hierarchy", tree, pair_dir], work / "pairs.json")
    hits, estimated = 0, 0
    for track in paired["tracks"]:
        boundary, first_instruments, second_instruments = boundaries[track["id"]]
        points = []
        for c in track["concepts"]:
            for start, end, _ in c["segments"]:
                if c["id"] in first_instruments and start < boundary:
                    points.append(end)
                if c["id"] in second_instruments and end > boundary:
                    points.append(start)
        if points:
            estimated += 1
            hits += abs(statistics.median(points) - boundary) <= 1.0
    return {"held_out_tracks": len(result["tracks"]), "instrument_concepts": len(kept),
            "map_score": statistics.mean(by_score), "map_summary": statistics.mean(by_summary),
            "map_base_rate": statistics.mean(by_base_rate),
            "pairs": len(boundaries), "pairs_with_segments": estimated, "boundary_within_1s": hits / max(1, len(boundaries))}


def philharmonia(conceptree, work, backbone):
    memberships = read_memberships(PHILHARMONIA / "memberships.tsv")
    truth = {}
    for line in (PHILHARMONIA / "tracks.tsv").read_text().splitlines()[1:]:
        fields = line.split("\t")
        truth[fields[0]] = (fields[1], fields[3])
    store = work / f"philharmonia-{backbone}.h5"
    if not store.exists():
        run([conceptree, "-q", "embed", "--backbone", backbone, PHILHARMONIA / "audio", "-o", store])
    notes = work / "philharmonia-notes.tsv"
    notes.write_text("".join(f"{c}\t{t}\t{k}\n" for c, t, k in memberships if truth[t][1] != "phrase"))
    concepts, tree = learn(conceptree, work, store, notes, [*SMALL_CORPUS_TRAINING[:-2], "--min-accuracy", "0.5"], [])
    phrases = sorted(t for t, (_, length) in truth.items() if length == "phrase")
    (work / "phrases.txt").write_text("".join(t + "\n" for t in phrases))
    result = explain(conceptree, ["-c", concepts, "--hierarchy", tree, "-e", store, "--tracks", work / "phrases.txt"], work / "phrases.json")
    instruments = {c for c, _, kind in memberships if kind == "instrument"}
    labels_to_ids = dict(zip(result["labels"], result["concepts"]))
    top_summary = top_score = 0
    for track in result["tracks"]:
        instrument = truth[track["id"]][0]
        if track["summary"] and instrument in {labels_to_ids.get(label, label) for label in track["summary"][0]["path"]}:
            top_summary += 1
        best = next((c["id"] for c in track["concepts"] if c["id"] in instruments), None)
        top_score += best == instrument
    return {"phrases": len(result["tracks"]), "top_summary_entry_names_instrument": top_summary / len(result["tracks"]),
            "best_instrument_concept_is_true": top_score / len(result["tracks"])}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", type=Path, default=REPO / "build")
    parser.add_argument("--workdir", type=Path, default=None, help="default: BUILD/bench-data/explain")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--backbone", default="dsp")
    parser.add_argument("--pairs", type=int, default=40, help="concatenated pairs per seed")
    parser.add_argument("--tracks", type=int, default=640, help="tracks in each demo corpus")
    parser.add_argument("--no-philharmonia", action="store_true", help="skip philharmonia_dev even where it is present")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    conceptree = args.build / "conceptree"
    work = args.workdir or args.build / "bench-data" / "explain"
    results = {"backbone": args.backbone, "demo": {}, "philharmonia": None}
    for seed in args.seeds:
        seed_work = work / f"demo-seed{seed}"
        seed_work.mkdir(parents=True, exist_ok=True)
        results["demo"][seed] = demo_corpus(conceptree, seed_work, seed, args.backbone, args.pairs, args.tracks)
        r = results["demo"][seed]
        print(f"demo seed {seed} ({args.backbone}): {r['held_out_tracks']} held-out tracks, {r['instrument_concepts']} instrument concepts: "
              f"mAP score {r['map_score']:.3f}, summary {r['map_summary']:.3f}, base-rate baseline {r['map_base_rate']:.3f}; "
              f"boundary within 1 s in {r['boundary_within_1s']:.2f} of {r['pairs']} concatenations")
    if not args.no_philharmonia and (PHILHARMONIA / "memberships.tsv").exists():
        phil_work = work / "philharmonia"
        phil_work.mkdir(parents=True, exist_ok=True)
        results["philharmonia"] = philharmonia(conceptree, phil_work, args.backbone)
        r = results["philharmonia"]
        print(f"philharmonia_dev phrases ({args.backbone}): {r['phrases']} phrases; top summary entry names the instrument in "
              f"{r['top_summary_entry_names_instrument']:.3f}, best instrument concept is the true one in {r['best_instrument_concept_is_true']:.3f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
