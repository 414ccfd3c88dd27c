#!/usr/bin/python3
"""How fast `conceptree explain` is on audio: the whole process, decode to written explanations.

  - one 3-minute track, musicnn-vgg pool5, 3,500 concepts (target: <= 2 s on 2 cores);
  - a batch of 30-second tracks (target: >= 100x real time).
The concepts are random CAVs imported with `conceptree cavs import` (speed does not depend on what
they learned; imported CAVs carry no held-out scores, so scores are raw activations — the
calibration adds one binary search per concept and frame). Audio is synthesised (tones, chords and
noise), so the benchmark needs nothing beside the checkout. Best of --repeat runs.

    /usr/bin/python3 bench/explain_speed.py [--build build] [--concepts 3500] [--batch 20] [--repeat 3]
"""

import argparse
import subprocess
import sys
import time
import wave
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent


def write_music(path, seconds, seed, rate=16000):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    signal = 0.02 * rng.standard_normal(t.size)
    for start in np.arange(0, seconds, 0.5):  # a new chord every half second
        window = (t >= start) & (t < start + 0.5)
        for frequency in rng.choice([110, 147, 196, 220, 262, 330, 392, 440, 523, 659], 3, replace=False):
            signal[window] += 0.1 * np.sin(2 * np.pi * frequency * t[window]) * np.exp(-3 * (t[window] - start))
    samples = np.clip(signal * 32767, -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())


def timed(command, repeat):
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        result = subprocess.run([str(c) for c in command], capture_output=True, text=True)
        elapsed = time.perf_counter() - started
        if result.returncode != 0:
            sys.exit(f"failed: {' '.join(map(str, command))}\n{result.stderr}")
        best = min(best, elapsed)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", type=Path, default=REPO / "build")
    parser.add_argument("--workdir", type=Path, default=None, help="default: BUILD/bench-data/explain-speed")
    parser.add_argument("--concepts", type=int, default=3500)
    parser.add_argument("--batch", type=int, default=20, help="30-second tracks in the batch")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    conceptree = args.build / "conceptree"
    work = args.workdir or args.build / "bench-data" / "explain-speed"
    (work / "batch").mkdir(parents=True, exist_ok=True)

    rng = np.random.default_rng(0)
    np.save(work / "weights.npy", (rng.standard_normal((args.concepts, 128)) * 0.05).astype(np.float32))
    np.save(work / "bias.npy", (rng.standard_normal(args.concepts) * 0.5).astype(np.float32))
    (work / "names.txt").write_text("".join(f"concept{k:05d}\n" for k in range(args.concepts)))
    subprocess.run([str(conceptree), "-q", "cavs", "import", "--weights", str(work / "weights.npy"), "--bias", str(work / "bias.npy"),
                    "--names", str(work / "names.txt"), "--layer", "pool5", "-o", str(work / "concepts.h5"), "--overwrite"], check=True)
    # The imported set records no backbone; the layer name pool5 says musicnn-vgg fullconv.
    long_track = work / "three_minutes.wav"
    if not long_track.exists():
        write_music(long_track, 180, 1)
    for i in range(args.batch):
        clip = work / "batch" / f"clip{i:03d}.wav"
        if not clip.exists():
            write_music(clip, 30, 100 + i)

    one = timed([conceptree, "-q", "explain", "-c", work / "concepts.h5", long_track, "-o", work / "one.h5", "--overwrite"], args.repeat)
    batch = timed([conceptree, "-q", "explain", "-c", work / "concepts.h5", work / "batch", "-o", work / "batch.h5", "--overwrite"], args.repeat)
    audio = 30.0 * args.batch
    print(f"explain, musicnn-vgg pool5, {args.concepts} concepts, whole process, best of {args.repeat}:")
    print(f"  one 3-minute track: {one:.2f} s ({180 / one:.0f}x real time)")
    print(f"  {args.batch} x 30 s tracks: {batch:.2f} s ({audio / batch:.0f}x real time)")


if __name__ == "__main__":
    main()
