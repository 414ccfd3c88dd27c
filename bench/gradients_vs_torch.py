#!/usr/bin/python3
"""Speed of the tag-logit gradients TCAV needs: `conceptree embed --mode patch --gradients` against
PyTorch autograd on the same network (bench/musicnn_torch.py), side by side in one run, 2 threads
each (torch.set_num_threads(2); OMP_NUM_THREADS=2 and --jobs 2 for conceptree).

  /usr/bin/python3 bench/gradients_vs_torch.py --build build [--copies 10] [--layer pool4] [--repeats 3]

Workload: --copies copies of each 30 s clip of tests/data/audio (--audio DIR for others), 10 patches
of 187 frames per clip: ~200 patches by default. conceptree is timed as the whole command (decode,
log-mel, network, store written) without --gradients and with the gradients of 1 and of 5 tags;
its gradient cost is the difference. PyTorch is timed on the same patches (their log-mels from
`conceptree logmel`) in batches of --batch: forward only (inference mode), and forward + one
backward per tag from the logits to the layer (torch.autograd.grad, the graph recorded from the
layer on), gradients summed over time as the store holds them; PyTorch's gradients alone are the
time inside torch.autograd.grad, conceptree's the difference its --gradients makes. Best of --repeats each. Before
timing, the stored gradients of the first copies are checked against torch's.
Needs Debian python3-torch, python3-h5py.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np
import torch

import musicnn_torch

REPO = Path(__file__).resolve().parent.parent
TAG_SETS = [["happy"], ["happy", "rock", "pop", "jazz", "sad"]]


def best_time(fn, repeats):
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def torch_pass(model, patches, layer, tags, batch):
    """Forward (and with `tags`, the time-summed gradient of each tag's logit) over all patches;
    returns the seconds spent in the backward passes alone."""
    backward = 0.0
    for start in range(0, len(patches), batch):
        if not tags:
            with torch.inference_mode():
                model.run(patches[start:start + batch], [layer])
            continue
        logits, kept = model.run(patches[start:start + batch], [layer], differentiate=[layer])
        started = time.perf_counter()
        for tag in tags:
            (grad,) = torch.autograd.grad(logits[:, tag].sum(), [kept[layer]], retain_graph=True)
            musicnn_torch.rows(grad).sum(dim=1)
        backward += time.perf_counter() - started
    return backward


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", type=Path, required=True, help="CMake build dir holding the conceptree binary")
    parser.add_argument("--weights", type=Path, default=REPO / "models" / "musicnn" / "MSD_vgg.h5")
    parser.add_argument("--audio", type=Path, default=REPO / "tests" / "data" / "audio", help="folder of clips to copy")
    parser.add_argument("--copies", type=int, default=10, help="copies of each clip")
    parser.add_argument("--layer", default="pool4", choices=["pool3", "pool4", "pool5"])
    parser.add_argument("--batch", type=int, default=64, help="PyTorch patches per batch")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cli = args.build / "conceptree"
    model = musicnn_torch.MusicnnVgg(args.weights)
    names = musicnn_torch.read_tags(REPO / "models" / "musicnn" / "msd_tags.txt")
    clips = sorted(p for p in args.audio.iterdir() if p.suffix.lower() in {".wav", ".flac", ".ogg", ".opus", ".mp3"})
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        corpus = tmp / "corpus"
        corpus.mkdir()
        patches, logmels, copies = [], {}, []
        for clip in clips:
            logmel_path = tmp / f"{clip.stem}.npy"
            subprocess.run([str(cli), "-q", "logmel", str(clip), "-o", str(logmel_path)], check=True, env=env)
            logmels[clip.stem] = np.load(logmel_path)
            for k in range(args.copies):
                copies.append(corpus / f"{clip.stem}_{k:03d}{clip.suffix}")
                copies[-1].symlink_to(clip.resolve())
                patches.append(musicnn_torch.split_patches(logmels[clip.stem]))
        patches = torch.from_numpy(np.concatenate(patches))
        audio_seconds = sum(len(m) for m in logmels.values()) * args.copies * 256 / 16000
        store = tmp / "store.h5"

        def embed(tags):
            # The copies named one by one: walking their folder would name each symlink by its target.
            command = [str(cli), "-q", "embed", "--backbone", "musicnn-vgg", "--weights", str(args.weights), "--mode", "patch", "--layer",
                       args.layer, "--jobs", str(args.threads), *map(str, copies), "-o", str(store), "--overwrite"]
            if tags:
                command += ["--gradients", ",".join(tags)]
            subprocess.run(command, check=True, env=env)

        embed(TAG_SETS[-1])
        with h5py.File(store, "r") as f:
            ids = list(f["tracks/ids"].asstr()[:])
            offsets = f[f"offsets/{args.layer}_patch"][:] if f"offsets/{args.layer}_patch" in f else f["tracks/offsets"][:]
            errors = []
            for tag in TAG_SETS[-1]:
                stored = f[f"gradients/{args.layer}_patch/{tag}"]
                for clip in clips:
                    i = ids.index(f"{clip.stem}_000")
                    _, _, reference = musicnn_torch.patch_gradients(model, logmels[clip.stem], [args.layer], [names.index(tag)])
                    reference = reference[args.layer][names.index(tag)]
                    ours = stored[offsets[i]:offsets[i + 1]]
                    errors.append(np.abs(ours - reference).max() / np.abs(reference).max() if ours.shape == reference.shape else np.inf)
        print(f"stored gradients vs torch, {args.layer}, {len(TAG_SETS[-1])} tags: max|diff|/max|torch| = {max(errors):.2e}")

        ctree = {len(tags): best_time(lambda: embed(tags), args.repeats) for tags in [[], *TAG_SETS]}
        tag_sets = [[names.index(t) for t in tags] for tags in TAG_SETS]
        torch_pass(model, patches[:args.batch], args.layer, tag_sets[-1], args.batch)  # warm-up
        peer = {len(tags): best_time(lambda: torch_pass(model, patches, args.layer, tags, args.batch), args.repeats)
                for tags in [[], *tag_sets]}
        peer_backward = {len(tags): min(torch_pass(model, patches, args.layer, tags, args.batch) for _ in range(args.repeats))
                         for tags in tag_sets}

    print(f"\n{len(clips) * args.copies} clips ({audio_seconds:.0f} s of audio), {len(patches)} patches, layer {args.layer}, "
          f"{args.threads} threads, best of {args.repeats}; PyTorch {torch.__version__} batches of {args.batch}")
    print(f"\n{'':28} {'conceptree s':>12} {'PyTorch s':>10} {'ratio':>7}")
    print(f"{'forward':28} {ctree[0]:12.3f} {peer[0]:10.3f} {peer[0] / ctree[0]:6.1f}x")
    for tags in TAG_SETS:
        n = len(tags)
        print(f"{f'forward + {n} tag gradient' + ('s' if n > 1 else ''):28} {ctree[n]:12.3f} {peer[n]:10.3f} {peer[n] / ctree[n]:6.1f}x")
    for tags in TAG_SETS:
        n = len(tags)
        ours, theirs = ctree[n] - ctree[0], peer_backward[n]
        ratio = f"{theirs / ours:6.1f}x" if ours > 0 else "     -"
        print(f"{f'gradients alone, {n} tag' + ('s' if n > 1 else ''):28} {ours:12.3f} {theirs:10.3f} {ratio}")
    print("\nconceptree: the whole `embed` command (process start, weights, decoding, log-mel, network, store), its "
          "gradients alone the difference with and without --gradients; PyTorch: the network alone on prepared patches, its "
          f"gradients alone the time inside torch.autograd.grad. Tags: {', '.join(TAG_SETS[-1])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
