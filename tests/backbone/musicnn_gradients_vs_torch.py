#!/usr/bin/python3
"""Checks a store written by `conceptree embed --backbone musicnn-vgg --mode patch --gradients TAGS`
against PyTorch autograd on the same network (bench/musicnn_torch.py).

  musicnn_gradients_vs_torch.py --cli CONCEPTREE --store STORE.h5 --layers pool3,pool4,pool5 \
      --tags happy,rock --workdir DIR AUDIO...

Each AUDIO file is the store's track whose id is the file's stem. Its log-mel comes from
`conceptree logmel`, so only the network is compared. Per layer: frames against torch's
time-averaged activations, and per tag the gradient rows against torch's, each as
max|difference| / max|torch|, which must not exceed --tolerance. Prints every error, and for one
over it the rows that differ most; exits 1 when any is over. Needs Debian python3-torch, python3-h5py.
"""
import argparse
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import torch

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))
import musicnn_torch  # noqa: E402


def store_rows(store, layer):
    """{track id: (frames, {tag: gradient})} of one `<layer>_patch` layer of the store."""
    name = f"{layer}_patch"
    ids = store["tracks/ids"].asstr()[:]
    offsets = store[f"offsets/{name}"][:] if f"offsets/{name}" in store else store["tracks/offsets"][:]
    frames = store[f"frames/{name}"][:]
    gradients = {tag: store[f"gradients/{name}/{tag}"] for tag in store[f"gradients/{name}"]} if f"gradients/{name}" in store else {}
    for tag, dataset in gradients.items():
        if dataset.dtype != np.float32 or dataset.shape != frames.shape:
            raise SystemExit(f"/gradients/{name}/{tag}: {dataset.dtype} {dataset.shape}; expected float32 {frames.shape} like /frames/{name}")
    gradients = {tag: dataset[:] for tag, dataset in gradients.items()}
    return {track: (frames[offsets[i]:offsets[i + 1]], {tag: g[offsets[i]:offsets[i + 1]] for tag, g in gradients.items()})
            for i, track in enumerate(ids)}


def relative_error(ours, reference):
    return float(np.abs(ours - reference).max() / np.abs(reference).max())


def worst_rows(pairs, count=5):
    """The rows of (track, ours, reference) with the largest max|difference|, as text lines."""
    scale = max(np.abs(reference).max() for _, _, reference in pairs)
    found = []
    for track, ours, reference in pairs:
        for row in range(len(ours)):
            difference = np.abs(ours[row] - reference[row])
            found.append((difference.max() / scale, track, row, int(difference.argmax())))
    found.sort(reverse=True)
    column = "column {} (freq {}, channel {})"
    return [f"    {track} patch {row}: {error:.2e}, largest at {column.format(c, c // 128, c % 128)}"
            for error, track, row, c in found[:count]]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cli", type=Path, required=True, help="the conceptree binary (for `conceptree logmel`)")
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--weights", type=Path, default=REPO / "models" / "musicnn" / "MSD_vgg.h5")
    parser.add_argument("--tag-names", type=Path, default=REPO / "models" / "musicnn" / "msd_tags.txt")
    parser.add_argument("--layers", default="pool3,pool4,pool5")
    parser.add_argument("--tags", default="happy,rock")
    parser.add_argument("--workdir", type=Path, required=True, help="where the log-mels are written")
    parser.add_argument("--tolerance", type=float, default=1e-4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("audio", type=Path, nargs="+")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    layers = args.layers.split(",")
    tags = args.tags.split(",")
    names = musicnn_torch.read_tags(args.tag_names)
    logits_of = {tag: names.index(tag) for tag in tags}
    model = musicnn_torch.MusicnnVgg(args.weights)

    with h5py.File(args.store, "r") as store:
        stored = {layer: store_rows(store, layer) for layer in layers}
    # (layer, tag or None for the frames) -> [(track, conceptree rows, torch rows)]
    pairs = {}
    ok = True
    for audio in args.audio:
        track = audio.stem
        logmel_path = args.workdir / f"{track}.npy"
        subprocess.run([str(args.cli), "-q", "logmel", str(audio), "-o", str(logmel_path), "--overwrite"], check=True)
        logmel = np.load(logmel_path)
        _, activations, gradients = musicnn_torch.patch_gradients(model, logmel, layers, list(logits_of.values()))
        for layer in layers:
            if track not in stored[layer]:
                print(f"{layer}: track {track} is not in the store")
                ok = False
                continue
            frames, stored_gradients = stored[layer][track]
            reference = activations[layer].mean(axis=1)
            if frames.shape != reference.shape:
                print(f"{layer}: {track} has {frames.shape} frames in the store, torch gives {reference.shape}")
                ok = False
                continue
            pairs.setdefault((layer, None), []).append((track, frames, reference))
            for tag, logit in logits_of.items():
                if tag not in stored_gradients:
                    print(f"{layer}: no /gradients/{layer}_patch/{tag} in the store")
                    ok = False
                    continue
                pairs.setdefault((layer, tag), []).append((track, stored_gradients[tag], gradients[layer][logit]))

    print(f"max|conceptree - torch| / max|torch| over {len(args.audio)} clips (tolerance {args.tolerance:g}):")
    for (layer, tag), found in pairs.items():
        ours = np.concatenate([o for _, o, _ in found])
        reference = np.concatenate([r for _, _, r in found])
        error = relative_error(ours, reference)
        what = "frames" if tag is None else f"d {tag} (logit {logits_of[tag]})"
        print(f"  {layer:6} {what:28} {len(ours):3} patches  max|torch| {np.abs(reference).max():.3e}  error {error:.2e}")
        if not error <= args.tolerance:
            ok = False
            print("\n".join(worst_rows(found)))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
