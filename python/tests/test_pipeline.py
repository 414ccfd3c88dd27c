"""The Python API gives what the CLI gives on the same inputs, without copying the frames."""

import json

import numpy as np
import pytest

import conceptree as ct
from conftest import TRAIN_OPTIONS


@pytest.fixture(scope="module")
def frames(corpus):
    return ct.embed(corpus / "audio")


@pytest.fixture(scope="module")
def concepts(frames, corpus):
    return ct.train(frames, corpus / "memberships.tsv", **TRAIN_OPTIONS)


def test_embed_equals_the_cli_store(frames, cli_outputs):
    stored = ct.read_store(cli_outputs / "store.h5")
    assert frames.track_ids == stored.track_ids
    np.testing.assert_array_equal(frames.offsets, stored.offsets)
    np.testing.assert_array_equal(frames.data, stored.data)
    assert frames.layer == stored.layer == "dsp"


def test_train_similarity_hierarchy_evaluate_equal_the_cli(frames, concepts, corpus, cli_outputs):
    from_cli = ct.read_concept_set(cli_outputs / "concepts.h5")
    assert concepts.names == from_cli.names
    np.testing.assert_array_equal(concepts.kept, from_cli.kept)
    np.testing.assert_array_equal(concepts.weights, from_cli.weights)
    np.testing.assert_array_equal(concepts.bias, from_cli.bias)

    similarity = ct.similarity(concepts, frames)
    sim_cli = ct.read_similarity(cli_outputs / "sim.h5")
    assert similarity.names == sim_cli.names
    np.testing.assert_array_equal(similarity.values, sim_cli.values)
    np.testing.assert_array_equal(similarity.base_rate, sim_cli.base_rate)

    tree = ct.hierarchy(similarity, calibration="lift", min_sim=0.2)
    tree_cli = ct.read_hierarchy(cli_outputs / "tree.json")
    links = lambda t: sorted((t.nodes[l.parent].id, t.nodes[l.child].id) for l in t.links)
    assert links(tree) == links(tree_cli)
    assert len(tree.links) > 0

    evaluation = ct.evaluate(tree, truth=corpus / "truth.tsv", similarity=similarity).to_dict()
    from_cli_evaluation = json.loads((cli_outputs / "evaluation.json").read_text())
    del evaluation["hierarchy"], from_cli_evaluation["hierarchy"]  # the file's name
    assert evaluation == from_cli_evaluation
    assert evaluation["truth"]["family_purity"] > 0.5


def test_frames_are_not_copied(tmp_path):
    data = np.random.default_rng(0).random((30, 8), dtype=np.float32)
    offsets = np.array([0, 10, 30], dtype=np.uint64)
    frames = ct.Frames(data, offsets, ["a", "b"], layer="mine")
    assert frames.data is data and frames.offsets is offsets
    assert np.shares_memory(frames.track(1), data)
    ct.write_store(tmp_path / "s.h5", frames)
    loaded = ct.read_store(tmp_path / "s.h5")
    np.testing.assert_array_equal(loaded.data, data)
    assert loaded.layer == "mine"
    assert not loaded.data.flags.owndata  # a view of the loaded frames, kept alive by the array
    del loaded
    with pytest.raises(ct.Error, match="exists"):
        ct.write_store(tmp_path / "s.h5", frames)


def test_arrays_of_results_are_views(concepts):
    weights = concepts.weights
    assert weights.shape == (len(concepts), concepts.dim) and weights.dtype == np.float32
    assert not weights.flags.owndata
    assert concepts.metrics["test_balanced_accuracy"].shape == (len(concepts),)


def test_cosine_similarity_needs_no_frames(concepts):
    similarity = ct.similarity(concepts)
    assert similarity.measure == "cosine"
    assert similarity.values.shape == (int(concepts.kept.sum()),) * 2


def test_to_networkx(frames, concepts):
    nx = pytest.importorskip("networkx")
    tree = ct.hierarchy(ct.similarity(concepts, frames))
    graph = tree.to_networkx()
    assert isinstance(graph, nx.DiGraph)
    assert graph.number_of_nodes() == len(tree.nodes) and graph.number_of_edges() == len(tree.links)
    link = tree.links[0]
    assert graph.edges[tree.nodes[link.parent].id, tree.nodes[link.child].id]["weight"] == pytest.approx(link.weight)


def test_explain_a_track(frames, concepts):
    explanations = ct.explain(concepts, frames.track(0), frame_hop_seconds=frames.frame_hop_seconds)
    (explanation,) = explanations
    assert explanation.activations.shape == (frames.track(0).shape[0], len(explanation.names))
    assert ((explanation.scores >= 0) & (explanation.scores <= 1)).all()


def test_embed_waveform_equals_the_file(corpus, frames):
    import wave

    path = sorted((corpus / "audio").glob("*.wav"))[0]
    with wave.open(str(path)) as audio:
        rate, channels = audio.getframerate(), audio.getnchannels()
        samples = np.frombuffer(audio.readframes(audio.getnframes()), dtype=np.int16).astype(np.float32) / 32768
    waveform = samples.reshape(-1, channels)
    embedded = ct.embed_waveform(waveform, rate)
    index = frames.track_ids.index(path.stem)
    assert embedded.shape == frames.track(index).shape
    np.testing.assert_allclose(embedded, frames.track(index), rtol=1e-5, atol=1e-5)
