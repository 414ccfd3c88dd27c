"""musicnn MSD_vgg in PyTorch, its weights read from the Keras HDF5 file with h5py: the independent
reference conceptree's musicnn-vgg is checked and timed against (bench/backbone_vs_torch.py,
bench/gradients_vs_torch.py, tests/backbone/musicnn_gradients_vs_torch.py).

`patch_gradients` is the reference for `conceptree embed --mode patch --gradients TAGS`: per 3 s
patch the tag logits, each pool layer's activations, and the gradient of chosen tag logits with
respect to those activations summed over the layer's time steps. Needs Debian python3-torch and
python3-h5py.
"""
import h5py
import numpy as np
import torch

POOLS = [((4, 1), (2, 2)), ((2, 2), (2, 2)), ((2, 2), (2, 2)), ((2, 2), (2, 2)), ((4, 4), (4, 4))]
EPS = 1e-3  # Keras batch_normalization default
PATCH_FRAMES = 187
LAYERS = {f"pool{i}": i for i in range(1, 6)}


class MusicnnVgg(torch.nn.Module):
    """Input (N, 1, T, 96): time is the first spatial axis, as in Keras' (T, 96, 1)."""

    def __init__(self, weights):
        super().__init__()
        with h5py.File(weights, "r") as f:
            root = f["model_weights"] if "model_weights" in f else f

            def w(layer, prefix):
                group = root[layer][layer] if layer in root[layer] else root[layer]
                name = next(n for n in group if n.startswith(prefix))
                return torch.from_numpy(np.array(group[name], dtype=np.float32))

            def bn(layer, channels):
                m = torch.nn.BatchNorm2d(channels, eps=EPS)
                m.weight.data, m.bias.data = w(layer, "gamma"), w(layer, "beta")
                m.running_mean.data, m.running_var.data = w(layer, "moving_mean"), w(layer, "moving_variance")
                return m

            self.bn_input = bn("bn_input", 1)
            blocks = []
            for i, (kernel, stride) in enumerate(POOLS):
                conv = torch.nn.Conv2d(1 if i == 0 else 128, 128, 3, padding=1)
                conv.weight.data = w(f"{i + 1}CNN", "kernel").permute(3, 2, 0, 1).contiguous()  # (kh,kw,in,out) -> (out,in,kh,kw)
                conv.bias.data = w(f"{i + 1}CNN", "bias")
                # conv -> ReLU -> BN -> max-pool, the order the golden tensors pin down.
                blocks.append(torch.nn.Sequential(conv, torch.nn.ReLU(), bn(f"bn_conv{i + 1}", 128), torch.nn.MaxPool2d(kernel, stride)))
            self.blocks = torch.nn.Sequential(*blocks)
            self.dense = torch.nn.Linear(256, 50)
            self.dense.weight.data = w("output", "kernel").t().contiguous()  # Keras (in, out)
            self.dense.bias.data = w("output", "bias")
        # The weights are fixed: autograd then differentiates with respect to activations alone.
        self.requires_grad_(False)
        self.eval()

    def forward(self, logmel):  # (T, 96) -> pool5 rows (T5, F5 * 128), freq-major like conceptree
        x = self.blocks(self.bn_input(logmel[None, None]))
        return x[0].permute(1, 2, 0).reshape(x.shape[2], -1)

    def logits(self, pool5):
        """(N, 128, 2, 1) pool5 of 187-frame patches -> (N, 50) tag logits. Keras flattens its
        channels-last (t, f, c) tensor, so the dense layer's input index is (t * F + f) * 128 + c."""
        return self.dense(pool5.permute(0, 2, 3, 1).reshape(pool5.shape[0], -1))

    def run(self, patches, layers, differentiate=()):
        """(N, 187, 96) patches -> (logits (N, 50), {layer: (N, 128, T, F) activations}).

        Layers in `differentiate` come back requiring gradients, and the graph from the shallowest
        of them to the logits is recorded; the blocks below it run without autograd."""
        depth = [LAYERS[name] for name in differentiate]
        first_recorded = min(depth) if depth else 6
        kept = {}
        x = self.bn_input(patches[:, None])
        for i, block in enumerate(self.blocks, start=1):
            with torch.set_grad_enabled(i > first_recorded):
                x = block(x)
            if i == first_recorded:
                x = x.detach().requires_grad_()
            kept[i] = x
        with torch.set_grad_enabled(bool(depth)):
            logits = self.logits(x)
        return logits, {name: kept[LAYERS[name]] for name in layers}


def split_patches(logmel, hop=PATCH_FRAMES, pad_short="repeat"):
    """(T, 96) log-mel -> (P, 187, 96) patches as conceptree cuts them: every `hop` frames while a
    whole patch fits; a clip shorter than a patch becomes one patch, tiled or followed by silence.
    float64 stays float64, for a model in double precision; anything else becomes float32."""
    logmel = np.asarray(logmel, dtype=np.result_type(logmel, np.float32))
    if len(logmel) < PATCH_FRAMES:
        if pad_short == "repeat":
            logmel = np.resize(logmel, (PATCH_FRAMES, logmel.shape[1]))
        else:
            logmel = np.concatenate([logmel, np.zeros((PATCH_FRAMES - len(logmel), logmel.shape[1]), logmel.dtype)])
    count = (len(logmel) - PATCH_FRAMES) // hop + 1
    return np.stack([logmel[k * hop:k * hop + PATCH_FRAMES] for k in range(count)])


def rows(activation):
    """(N, 128, T, F) -> (N, T, F * 128): one row per time step, freq-major like conceptree."""
    return activation.permute(0, 2, 3, 1).reshape(activation.shape[0], activation.shape[2], -1)


def patch_gradients(model, logmel, layers, tags, hop=PATCH_FRAMES, pad_short="repeat", batch=64):
    """The reference for `embed --mode patch --layer LAYERS --gradients TAGS` on one log-mel.

    Returns numpy arrays: logits (P, 50); activations[layer] (P, T, F * 128), one row per time
    step; gradients[layer][tag] (P, F * 128), the sum over time steps t of
    d logit_tag(patch p) / d activation[p, t]. `tags` are logit indices (lines of msd_tags.txt)."""
    patches = torch.from_numpy(split_patches(logmel, hop, pad_short))
    logits, activations = [], {name: [] for name in layers}
    gradients = {name: {tag: [] for tag in tags} for name in layers}
    for start in range(0, len(patches), batch):
        out, kept = model.run(patches[start:start + batch], layers, differentiate=layers)
        logits.append(out.detach().numpy())
        for name in layers:
            activations[name].append(rows(kept[name].detach()).numpy())
        targets = [kept[name] for name in layers]
        for tag in tags:
            # Patches are independent (BN uses its moving statistics), so the gradient of the
            # batch's summed logit is, patch by patch, the gradient of each patch's own logit.
            grads = torch.autograd.grad(out[:, tag].sum(), targets, retain_graph=True)
            for name, grad in zip(layers, grads):
                gradients[name][tag].append(rows(grad).sum(dim=1).numpy())
    return (np.concatenate(logits), {name: np.concatenate(a) for name, a in activations.items()},
            {name: {tag: np.concatenate(g) for tag, g in by_tag.items()} for name, by_tag in gradients.items()})


def read_tags(path):
    return [line.strip() for line in open(path, encoding="utf-8") if line.strip()]
