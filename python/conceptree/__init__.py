"""conceptree: learn audio concepts, relate them, and extract their hierarchy, from Python.

The stages run on numpy arrays in memory (frames, CAVs, similarity) and return objects whose
arrays are numpy views; every command of the CLI also runs on files through ``run``:

    import conceptree as ct
    frames = ct.read_store("store.h5")                    # or ct.Frames(data, offsets, ids)
    concepts = ct.train(frames, "memberships.tsv", min_tracks=20)
    sim = ct.similarity(concepts, frames)
    tree = ct.hierarchy(sim)
    print(ct.evaluate(tree, truth="truth.tsv").table())
    graph = tree.to_networkx()

Messages go to the ``logging`` logger "conceptree"; long calls take ``progress=callback``, called
with {"label", "done", "total", "rate", "finished"} a few times a second. Errors from bad input
are ``conceptree.Error`` / ``conceptree.InputError`` (both ValueError); a callback that raises (or
Ctrl-C) stops the call and its exception comes out.
"""

from ._conceptree import (
    Cancelled,
    ConceptSet,
    Embedder,
    Error,
    Evaluation,
    Explanation,
    Frames,
    Hierarchy,
    HierarchyLink,
    HierarchyNode,
    InputError,
    Similarity,
    __version__,
    command_help,
    evaluate,
    explain,
    hierarchy,
    read_concept_set,
    read_hierarchy,
    read_similarity,
    read_store,
    run,
    similarity,
    train,
    write_store,
)

__all__ = [
    "Cancelled", "ConceptSet", "Embedder", "Error", "Evaluation", "Explanation", "Frames", "Hierarchy",
    "HierarchyLink", "HierarchyNode", "InputError", "Similarity", "__version__", "command_help", "embed",
    "embed_waveform", "evaluate", "explain", "hierarchy", "read_concept_set", "read_hierarchy",
    "read_similarity", "read_store", "run", "similarity", "train", "write_store",
]


def embed(inputs, *, jobs=0, strict=False, progress=None, **options):
    """Audio files and folders to Frames in memory (one layer), or {layer: Frames} when several
    layers are asked for; options as ``Embedder`` (backbone, layer, mode, ...)."""
    if isinstance(inputs, (str, bytes)) or hasattr(inputs, "__fspath__"):
        inputs = [inputs]
    layers = Embedder(**options).embed_files([str(p) for p in inputs], jobs=jobs, strict=strict, progress=progress)
    return next(iter(layers.values())) if len(layers) == 1 else layers


def embed_waveform(waveform, sample_rate, *, id="waveform", **options):
    """A waveform array, (samples,) or (samples, channels) at ``sample_rate`` Hz, to its
    (frames, dim) float32 embedding (one layer), or {layer: array} when several are asked for."""
    layers = Embedder(**options).embed_waveform(waveform, sample_rate, id)
    return next(iter(layers.values())) if len(layers) == 1 else layers


def _to_networkx(self):
    """The hierarchy as a networkx.DiGraph: nodes keyed by concept id with label, type, centrality
    and depth; parent -> child edges with weight (S[parent][child]) and support (bootstrapped)."""
    import networkx as nx

    graph = nx.DiGraph()
    for node in self.nodes:
        graph.add_node(node.id, label=node.label, type=node.type, centrality=node.centrality, depth=node.depth)
    for link in self.links:
        attributes = {"weight": link.weight}
        if link.support is not None:
            attributes["support"] = link.support
        graph.add_edge(self.nodes[link.parent].id, self.nodes[link.child].id, **attributes)
    return graph


Hierarchy.to_networkx = _to_networkx
