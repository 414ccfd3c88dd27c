"""Bad input is a Python exception with the library's message, never a crash."""

import logging

import numpy as np
import pytest

import conceptree as ct


def small_frames(tracks=40, per_track=5, dim=6, seed=0):
    rng = np.random.default_rng(seed)
    data = rng.normal(size=(tracks * per_track, dim)).astype(np.float32)
    offsets = np.arange(0, tracks * per_track + 1, per_track, dtype=np.uint64)
    return ct.Frames(data, offsets, [f"t{i}" for i in range(tracks)])


def test_inconsistent_frames():
    data = np.zeros((10, 3), dtype=np.float32)
    with pytest.raises(ValueError, match="offsets end at row 9"):
        ct.Frames(data, [0, 4, 9], ["a", "b"])
    with pytest.raises(ct.InputError, match="offsets decrease"):
        ct.Frames(data, [0, 6, 4, 10], ["a", "b", "c"])
    with pytest.raises(ct.InputError, match="appears twice"):
        ct.Frames(data, [0, 5, 10], ["a", "a"])
    data[7, 1] = np.inf
    with pytest.raises(ct.InputError, match="track 'b': Inf at frame 2, column 1"):
        ct.Frames(data, [0, 5, 10], ["a", "b"])
    with pytest.raises(ValueError, match="2-D"):
        ct.Frames(np.zeros(10, dtype=np.float32), [0, 10], ["a"])


def test_missing_files_name_the_file(tmp_path):
    with pytest.raises(ct.InputError, match="nope.h5"):
        ct.read_store(tmp_path / "nope.h5")
    with pytest.raises(ct.InputError, match="nope.h5"):
        ct.read_similarity(tmp_path / "nope.h5")
    (tmp_path / "junk.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 40)
    with pytest.raises(ct.InputError, match="junk.h5"):
        ct.read_concept_set(tmp_path / "junk.h5")


def test_options_are_checked():
    frames = small_frames()
    memberships = {"c": [f"t{i}" for i in range(20)]}
    with pytest.raises(TypeError, match="unknown option 'min_trakcs'"):
        ct.train(frames, memberships, min_trakcs=3)
    with pytest.raises(ct.Error, match="--min-accuracy = 2"):
        ct.train(frames, memberships, min_accuracy=2)
    with pytest.raises(TypeError, match="option 'seed'"):
        ct.train(frames, memberships, seed="zero")
    with pytest.raises(ct.Error, match="no concept has"):
        ct.train(frames, memberships, min_tracks=30)
    with pytest.raises(TypeError, match="memberships"):
        ct.train(frames, 42)


def test_unknown_tracks_warn_through_logging(caplog):
    frames = small_frames()
    memberships = {"c": [f"t{i}" for i in range(20)] + ["ghost"]}
    with caplog.at_level(logging.WARNING, logger="conceptree"):
        concepts = ct.train(frames, memberships, min_tracks=5, min_negatives=0, min_accuracy=0)
    assert len(concepts) == 1
    assert any("ghost" in record.getMessage() for record in caplog.records)
    with pytest.raises(ct.Error, match="strict"):
        ct.train(frames, memberships, min_tracks=5, strict=True)


def test_progress_callback_sees_progress_and_can_stop():
    frames = small_frames(tracks=200, per_track=20, dim=16)
    memberships = {f"c{k}": [f"t{i}" for i in range(k, 200, 5)] for k in range(5)}
    seen = []
    concepts = ct.train(frames, memberships, min_tracks=10, progress=seen.append, min_accuracy=0)
    assert len(concepts) == 5
    assert seen and seen[-1]["finished"] and seen[-1]["done"] == seen[-1]["total"] == 5
    assert seen[-1]["label"] == "train"

    class Stop(Exception):
        pass

    def stop(update):
        raise Stop("stop here")

    with pytest.raises(Stop, match="stop here"):
        ct.train(frames, memberships, min_tracks=10, progress=stop)


def test_evaluate_from_pairs():
    data = np.eye(4, dtype=np.float32)
    frames = ct.Frames(np.repeat(data, 3, axis=0), np.arange(0, 13, 3, dtype=np.uint64), ["a", "b", "c", "d"])
    assert len(frames) == 4
    with pytest.raises(ct.InputError, match="own parent"):
        ct.evaluate(ct.Hierarchy.__new__(ct.Hierarchy), truth=[("x", "x")])


def test_unknown_command():
    with pytest.raises(ValueError, match="unknown command 'trian'"):
        ct.run("trian")
    assert "min_tracks" in ct.command_help("train")
