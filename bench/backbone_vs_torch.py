#!/usr/bin/python3
"""musicnn MSD_vgg in PyTorch (bench/musicnn_torch.py, weights read from the Keras HDF5 file) against conceptree.

Validates the port: torch's fully convolutional pool5 on joram's golden log-mel must equal the
golden Keras pool5, and conceptree's must equal torch's on every clip. Then times both, forward
pass only, 2 threads each (torch.set_num_threads(2); OMP_NUM_THREADS=2 for conceptree).

  /usr/bin/python3 bench/backbone_vs_torch.py --build /tmp/build-vgg [--repeats 5]

Log-mels of the clips in shared/data/audio come from `conceptree logmel` when the build has it,
else the golden joram log-mel alone is used. Needs Debian python3-torch, python3-h5py.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from musicnn_torch import MusicnnVgg

HERE = Path(__file__).resolve().parent
DATA = HERE.parent.parent / "shared" / "data"


def best_time(fn, repeats):
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", type=Path, required=True, help="CMake build dir with conceptree and bench/conceptree_backbone_bench")
    parser.add_argument("--weights", type=Path, default=DATA / "musicnn" / "MSD_vgg.h5")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = MusicnnVgg(args.weights)
    bench_exe = args.build / "bench" / "conceptree_backbone_bench"
    cli = args.build / "conceptree"
    ok = True

    with torch.inference_mode():
        golden = np.load(DATA / "golden" / "vgg_fulltrack_pool5.npy")
        pool5 = model(torch.from_numpy(np.load(DATA / "golden" / "joram_logmel.npy"))).numpy()
        error = np.abs(pool5 - golden.reshape(pool5.shape)).max() / np.abs(golden).max()
        print(f"torch vs golden Keras pool5 (joram): max|diff|/max|golden| = {error:.2e}")
        ok &= error < 1e-3

    with tempfile.TemporaryDirectory() as tmp:
        clips = []
        for audio in sorted((DATA / "audio").iterdir()):
            out = Path(tmp) / (audio.stem + ".npy")
            run = subprocess.run([str(cli), "logmel", str(audio), "-o", str(out)], capture_output=True, text=True)
            if run.returncode == 0:
                clips.append((audio.name, out))
            else:
                print(f"conceptree logmel failed on {audio.name}: {run.stderr.strip()}", file=sys.stderr)
        if not clips:
            clips = [("golden joram_logmel.npy", DATA / "golden" / "joram_logmel.npy")]

        print(f"\n{'clip':48} {'frames':>6} {'torch s':>8} {'x real':>7} {'ctree s':>8} {'x real':>7} {'GFLOP/s':>8} {'rel diff':>9}")
        total_torch_seconds = total_audio_seconds = 0.0
        for name, path in clips:
            logmel = np.load(path).astype(np.float32)
            audio_seconds = logmel.shape[0] * 256 / 16000
            total_audio_seconds += audio_seconds
            with torch.inference_mode():
                x = torch.from_numpy(logmel)
                model(x)  # warm-up
                torch_seconds = best_time(lambda: model(x), args.repeats)
                total_torch_seconds += torch_seconds
                torch_pool5 = model(x).numpy()
            out = Path(tmp) / "pool5.npy"
            env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
            run = subprocess.run([str(bench_exe), str(args.weights), str(path), str(args.repeats), str(out)], capture_output=True,
                                 text=True, env=env, check=True)
            fields = dict(re.findall(r"(\w+) ([\d.x]+)", run.stdout))
            ours = np.load(out)
            diff = np.abs(ours - torch_pool5).max() / np.abs(torch_pool5).max() if ours.shape == torch_pool5.shape else float("inf")
            ok &= diff < 1e-3
            ctree_seconds = float(fields["seconds"])
            print(f"{name[:48]:48} {logmel.shape[0]:6d} {torch_seconds:8.3f} {audio_seconds / torch_seconds:7.1f} {ctree_seconds:8.3f} "
                  f"{audio_seconds / ctree_seconds:7.1f} {float(fields['gflops']):8.1f} {diff:9.2e}")
        torch_total = total_torch_seconds
        audio_total = total_audio_seconds
        # The whole process on every clip: decoding, resampling, log-mel, network, store written; best
        # of the same number of runs as the torch passes, each writing a fresh store.
        store = Path(tmp) / "store.h5"
        audio_files = sorted((DATA / "audio").glob("*.mp3"))

        def embed_all():
            store.unlink(missing_ok=True)
            subprocess.run([str(Path(args.build) / "conceptree"), "-q", "embed", *map(str, audio_files), "-o", str(store), "--backbone",
                            "musicnn-vgg", "--weights", str(args.weights), "--jobs", str(args.threads)], check=True)

        embed_seconds = best_time(embed_all, args.repeats)
    print(f"\n(threads {args.threads}; best of {args.repeats}; GFLOP/s counts conceptree's 3x3 convolutions, "
          f"{float(fields['conv_gflop']):.1f} GFLOP for the last clip)")
    print(f"\nwhole process: `conceptree embed --backbone musicnn-vgg` on all {len(audio_files)} clips (decode, resample, log-mel, "
          f"network, store): {embed_seconds:.2f} s = {audio_total / embed_seconds:.0f}x real time; torch forward passes alone: "
          f"{torch_total:.2f} s; ratio {torch_total / embed_seconds:.1f}x (target >= 5x, and >= 100x real time)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
