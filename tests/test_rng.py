import ast
import pathlib

import numpy as np
import pytest

from gandyn.rng import RUN_STREAMS, as_rng, stream, streams

PKG = pathlib.Path(__file__).resolve().parents[1] / "gandyn"


def test_streams_are_named_not_positional():
    a = streams(11, ["data", "latent"])
    b = streams(11, ["latent", "extra", "data"])
    assert a["data"].random() == b["data"].random()
    assert a["latent"].random() == b["latent"].random()


def test_streams_differ_between_names_and_seeds():
    draws = {(seed, n): stream(seed, n).random(4).tobytes() for seed in (0, 1) for n in RUN_STREAMS}
    assert len(set(draws.values())) == len(draws)


def test_bad_seeds():
    for bad in (-1, 1.5, "3", True):
        with pytest.raises(ValueError, match="seed"):
            stream(bad, "data")


def test_as_rng_passes_generators_through():
    g = np.random.default_rng(0)
    assert as_rng(g) is g


def test_no_global_numpy_rng_anywhere_in_the_package():
    """SPEC 7: no np.random.<legacy function> / RandomState / np.random.seed in gandyn."""
    allowed = {"default_rng", "Generator", "SeedSequence"}
    for path in PKG.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute) \
                    and node.value.attr == "random" and isinstance(node.value.value, ast.Name) \
                    and node.value.value.id in ("np", "numpy"):
                assert node.attr in allowed, f"{path.name}:{node.lineno} uses np.random.{node.attr}"
