#!/usr/bin/env python3
"""Export a PyTorch model's activations at one layer, with the gradients of chosen outputs (logits)
with respect to them, as one HDF5 file for `conceptree import --format h5 --gradient ...`, which
makes an embedding store ready for `conceptree tcav`.

    python3 examples/export_pytorch.py -o exported.h5

runs a tiny untrained CNN on random log-mel-like inputs and prints the import command. For your own
network, call export() with your nn.Module, the submodule to explain, one input tensor (batch of
one) per track, the track ids and {output name: logit index}.

Needs numpy, h5py and torch only (Debian: python3-numpy python3-h5py python3-torch).
"""

import argparse
import shlex

import h5py
import numpy as np
import torch
from torch import nn

MEL_BANDS = 96


class TinyCnn(nn.Module):
    """(batch, 1, time, mel) log-mel in, one logit per label out. Pooling shrinks only the
    frequency axis, so block2's output keeps one time step per input frame."""

    labels = ["happy", "sad", "energetic"]

    def __init__(self):
        super().__init__()
        self.block1 = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d((1, 4)))
        self.block2 = nn.Sequential(nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d((1, 4)))
        self.block3 = nn.Sequential(nn.Conv2d(16, 16, 3, padding=1), nn.ReLU())
        self.head = nn.Linear(16, len(self.labels))

    def forward(self, x):
        return self.head(self.block3(self.block2(self.block1(x))).mean(dim=(2, 3)))


def random_log_mel(frames):
    """A (1, 1, frames, 96) input with a log-magnitude's skewed, non-negative spread."""
    return torch.log1p(1000 * torch.rand(1, 1, frames, MEL_BANDS) ** 4)


def time_rows(activation):
    """A (1, C, T, F) activation as (T, C*F) float32 rows: row t is time step t, column c*F + f.

    conceptree takes each row as one frame of the track, so time must lead before flattening:
    reshaping (C, T, F) directly would mix time steps within a row. A (1, C, T) activation of a 1-D
    network is activation[0].T. Gradients go through this same function, so that gradient row t,
    column j is d output / d (frame row t, column j): TCAV dots it with a concept vector learned on
    the frames, and any other order would silently pair the wrong numbers.
    """
    _, channels, steps, bands = activation.shape
    return activation[0].permute(1, 0, 2).reshape(steps, channels * bands).detach().cpu().numpy().astype(np.float32)


def activations_and_gradients(model, layer, x, output_indices):
    """`layer`'s activation rows for input `x`, and for each logit index the rows of its gradient."""
    captured = []
    hook = layer.register_forward_hook(lambda module, inputs, output: captured.append(output))
    try:
        logits = model(x)
    finally:
        hook.remove()
    activation = captured[0]
    gradients = [torch.autograd.grad(logits[0, k], activation, retain_graph=True)[0] for k in output_indices]
    return time_rows(activation), [time_rows(gradient) for gradient in gradients]


def export(model, layer, inputs, ids, outputs, path):
    """Writes /embeddings (total_frames, D), /ids, /offsets (N+1) and /gradients/<output>, each
    (total_frames, D) in the rows of /embeddings, to the HDF5 file `path`."""
    for name in outputs:
        if not name or any(c in name for c in "/,="):
            raise ValueError(f"output name {name!r}: conceptree stores it as a dataset name, so it needs no '/', ',' or '='")
    model.eval()
    frames, offsets = [], [0]
    gradients = {name: [] for name in outputs}
    for x in inputs:
        rows, output_gradients = activations_and_gradients(model, layer, x, list(outputs.values()))
        frames.append(rows)
        offsets.append(offsets[-1] + len(rows))
        for name, gradient in zip(outputs, output_gradients):
            gradients[name].append(gradient)
    with h5py.File(path, "w") as f:
        f["embeddings"] = np.concatenate(frames)
        f.create_dataset("ids", data=list(ids), dtype=h5py.string_dtype())
        f["offsets"] = np.array(offsets, dtype=np.uint64)
        for name, rows in gradients.items():
            f[f"gradients/{name}"] = np.concatenate(rows)
    return offsets[-1], frames[0].shape[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-o", "--output", required=True, help="HDF5 file to write")
    parser.add_argument("--outputs", default="happy,sad", help="labels whose logit gradients are exported, comma-separated, of: " + ", ".join(TinyCnn.labels))
    parser.add_argument("--tracks", type=int, default=8, help="random inputs, 40 to 120 frames each")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--store", default="store.h5", help="the embedding store the printed command writes")
    args = parser.parse_args()

    names = args.outputs.split(",")
    unknown = [name for name in names if name not in TinyCnn.labels]
    if unknown:
        parser.error(f"--outputs: unknown labels {', '.join(unknown)}")
    torch.manual_seed(args.seed)
    model = TinyCnn()
    inputs = [random_log_mel(int(torch.randint(40, 121, ()))) for _ in range(args.tracks)]
    ids = [f"track{i:03d}" for i in range(args.tracks)]
    total, dim = export(model, model.block2, inputs, ids, {name: TinyCnn.labels.index(name) for name in names}, args.output)

    print(f"wrote {args.output}: {len(ids)} tracks, {total} frames of dimension {dim}, gradients of {', '.join(names)}; import it with:")
    print(shlex.join(["conceptree", "import", "--format", "h5", args.output, "--dataset", "/embeddings", "--ids-dataset", "/ids",
                      "--offsets-dataset", "/offsets", "--layer", "block2",
                      "--gradient", ",".join(f"{name}=/gradients/{name}" for name in names), "-o", args.store]))


if __name__ == "__main__":
    main()
