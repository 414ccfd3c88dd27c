"""Fixtures: a small rendered demo corpus and the CLI's outputs on it, made once per session."""

import os
import pathlib
import shutil
import subprocess

import pytest

import conceptree as ct

TRAIN_OPTIONS = {"negative_ratio": 1000, "regularization": [1e-3, 1e-4], "min_accuracy": 0.6, "min_tracks": 12}


def cli():
    path = os.environ.get("CONCEPTREE_CLI") or shutil.which("conceptree")
    if not path:
        pytest.skip("the conceptree CLI is not known (set CONCEPTREE_CLI)")
    return path


def run_cli(*args):
    subprocess.run([cli(), "-q", *map(str, args)], check=True)


@pytest.fixture(scope="session")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    if not pathlib.Path("/usr/share/sounds/sf2/FluidR3_GM.sf2").exists():
        pytest.skip("fluid-soundfont-gm is not installed")
    ct.run("corpus", output=folder, tracks=320, min_seconds=3, max_seconds=4, overwrite=True)
    return folder


@pytest.fixture(scope="session")
def cli_outputs(corpus, tmp_path_factory):
    """The same pipeline through the CLI, file by file."""
    out = tmp_path_factory.mktemp("cli")
    run_cli("embed", corpus / "audio", "-o", out / "store.h5")
    run_cli("train", "-e", out / "store.h5", "-m", corpus / "memberships.tsv", "-o", out / "concepts.h5",
            "--negative-ratio", "1000", "--regularization", "1e-3", "--regularization", "1e-4", "--min-accuracy", "0.6",
            "--min-tracks", "12")
    run_cli("similarity", "-c", out / "concepts.h5", "-e", out / "store.h5", "-o", out / "sim.h5")
    run_cli("hierarchy", "-s", out / "sim.h5", "-o", out / "tree.json", "--calibration", "lift", "--min-sim", "0.2")
    run_cli("evaluate", "--hierarchy", out / "tree.json", "--truth", corpus / "truth.tsv", "--similarity", out / "sim.h5",
            "--json", "-o", out / "evaluation.json")
    return out
