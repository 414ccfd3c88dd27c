#!/usr/bin/python3
"""Strong scaling under MPI: the same job on 1 and 2 ranks (one thread each), side by side.

For `embed` (musicnn-vgg on generated 30 s recordings), `train` and `similarity` (on a synthetic
store with a planted hierarchy), runs `mpirun -np 1` and `mpirun -np 2` with one OpenMP thread per
rank, checks that the two outputs are byte-identical, and prints the wall times and the speed-up.
Inputs are generated once into --workdir and kept. Run with Debian's /usr/bin/python3
(python3-numpy); needs OpenMPI (scripts/setup.sh installs it).

    /usr/bin/python3 bench/strong_scaling.py --conceptree build/conceptree --workdir build/bench-data/scaling
"""
import argparse
import filecmp
import json
import os
import shutil
import subprocess
import sys
import time
import wave
from pathlib import Path

import numpy as np


def mpirun(ranks, arguments):
    return ["mpirun", "--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "-np", str(ranks), "-x", "OMP_NUM_THREADS=1",
            "-x", "OPENBLAS_NUM_THREADS=1"] + arguments


def timed(command):
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def write_recordings(folder, count, seconds, seed):
    """Mono 16 kHz wavs: a few harmonic notes over noise, different per file."""
    folder.mkdir(parents=True, exist_ok=True)
    random = np.random.default_rng(seed)
    rate = 16000
    t = np.arange(int(seconds * rate)) / rate
    for index in range(count):
        path = folder / f"recording{index:04d}.wav"
        if path.exists():
            continue
        signal = 0.05 * random.standard_normal(t.size)
        for _ in range(4):
            frequency = random.uniform(80, 1200)
            start, length = random.uniform(0, seconds - 4), random.uniform(2, 4)
            envelope = ((t >= start) & (t < start + length)).astype(float)
            for harmonic in (1, 2, 3):
                signal += 0.2 / harmonic * envelope * np.sin(2 * np.pi * frequency * harmonic * t)
        samples = np.clip(signal * 8000, -32767, 32767).astype("<i2")
        with wave.open(str(path), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(rate)
            out.writeframes(samples.tobytes())


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conceptree", required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--recordings", type=int, default=64, help="30 s recordings for embed")
    # The training benchmark's corpus (bench/train_vs_sklearn.py): 100,000 tracks, ~3,500 concepts.
    parser.add_argument("--tracks", type=int, default=100000, help="tracks of the synthetic store for train and similarity")
    parser.add_argument("--families", type=int, default=350)
    parser.add_argument("--concepts-per-family", type=int, default=9)
    parser.add_argument("--json", help="also write the table here")
    args = parser.parse_args()
    tool = str(Path(args.conceptree).resolve())
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    if shutil.which("mpirun") is None:
        sys.exit("mpirun not found: scripts/setup.sh installs OpenMPI")

    write_recordings(work / "recordings", args.recordings, 30.0, 7)
    corpus = work / f"corpus{args.tracks}"
    if not (corpus / "store.h5").exists():
        subprocess.run([tool, "-q", "synth", "-o", str(corpus), "--layout", "store", "--tracks", str(args.tracks), "--families", str(args.families),
                        "--concepts-per-family", str(args.concepts_per_family), "--overwrite"], check=True)
    concepts = work / "concepts_reference.h5"
    if not concepts.exists():
        subprocess.run([tool, "-q", "train", "-e", str(corpus / "store.h5"), "-m", str(corpus / "memberships.tsv"), "-o", str(concepts)],
                       check=True)

    jobs = {
        "embed": lambda out: [tool, "-q", "embed", str(work / "recordings"), "--backbone", "musicnn-vgg", "-o", out, "-j", "1"],
        "train": lambda out: [tool, "-q", "train", "-e", str(corpus / "store.h5"), "-m", str(corpus / "memberships.tsv"), "-o", out, "-j", "1"],
        "similarity": lambda out: [tool, "-q", "similarity", "-c", str(concepts), "-e", str(corpus / "store.h5"), "-o", out, "-j", "1"],
    }
    rows = []
    print(f"{'stage':<12}{'1 rank (s)':>12}{'2 ranks (s)':>13}{'speed-up':>10}  identical")
    for stage, command in jobs.items():
        seconds = {}
        outputs = {}
        for ranks in (1, 2):
            outputs[ranks] = work / f"{stage}_np{ranks}.h5"
            outputs[ranks].unlink(missing_ok=True)
            seconds[ranks] = timed(mpirun(ranks, command(str(outputs[ranks]))))
        identical = filecmp.cmp(outputs[1], outputs[2], shallow=False)
        speedup = seconds[1] / seconds[2]
        rows.append({"stage": stage, "seconds_1_rank": seconds[1], "seconds_2_ranks": seconds[2], "speedup": speedup, "identical": identical})
        print(f"{stage:<12}{seconds[1]:>12.2f}{seconds[2]:>13.2f}{speedup:>9.2f}x  {'yes' if identical else 'NO'}")
    if args.json:
        Path(args.json).write_text(json.dumps({"cores": os.cpu_count(), "rows": rows}, indent=1))
    if not all(row["identical"] for row in rows):
        sys.exit("outputs differ between 1 and 2 ranks")


if __name__ == "__main__":
    main()
