"""The engine's workspace object and its subnormal-flush policy."""
import numpy as np
import pytest

from gandyn.engine.gan import GAN
from gandyn.engine.nn import MLP, flush_tiny
from gandyn.engine.second_order import game_jvp, game_vjp
from gandyn.engine.workspace import Workspace, as_workspace


def _gan(loss="nonsat", dtype=np.float64):
    G = MLP((3, 5, 4), ("relu", "sigmoid"), dtype)
    D = MLP((4, 6, 1), ("tanh", "identity"), dtype)
    rng = np.random.default_rng(0)
    tg, td = G.init(rng), D.init(rng)
    x, z = rng.normal(size=(7, 4)).astype(dtype), rng.uniform(-1, 1, (6, 3)).astype(dtype)
    v = rng.normal(size=G.n_params + D.n_params).astype(dtype)
    return GAN(G, D, loss=loss), tg, td, x, z, v[:G.n_params], v[G.n_params:]


def test_buffers_are_kept_by_key_shape_and_sub():
    ws = Workspace()
    a = ws.buffer("h", (2, 3), np.float64)
    assert ws.buffer("h", (2, 3), np.float64) is a and ws.stored("h", (2, 3)) is a
    assert ws.buffer("h", (3, 2), np.float64) is not a and ws.stored("h", (4, 4)) is None
    assert ws.sub("G") is ws.sub("G") and ws.sub("G").buffer("h", (2, 3), np.float64) is not a
    b = ws.buffer("h", (2, 3), np.float32)  # another dtype replaces it
    assert b.dtype == np.float32 and ws.stored("h", (2, 3)) is b
    assert ws.ones(4, np.float32).tolist() == [[1, 1, 1, 1]]
    assert ws.nbytes == 2 * 3 * 4 + 3 * 2 * 8 + 4 * 4 + ws.sub("G").nbytes  # the float64 (2, 3) is gone
    ws.clear()
    assert ws.nbytes == 0 and ws.stored("h", (2, 3)) is None


@pytest.mark.parametrize("loss", ["nonsat", "ragan"])
def test_products_reuse_the_workspace_and_equal_those_without(loss):
    """A second J v (and J^T u) in the same workspace allocates nothing new and gives the
    products without a workspace."""
    gan, tg, td, x, z, vg, vd = _gan(loss)
    ws = Workspace()
    first = np.concatenate(game_jvp(gan, tg, td, x, z, vg, vd, ws=ws))
    game_vjp(gan, tg, td, x, z, vg, vd, ws=ws)
    held = ws.nbytes
    again = np.concatenate(game_jvp(gan, tg, td, x, z, vg, vd, ws=ws))
    back = np.concatenate(game_vjp(gan, tg, td, x, z, vg, vd, ws=ws))
    assert ws.nbytes == held
    np.testing.assert_allclose(again, first, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(again, np.concatenate(game_jvp(gan, tg, td, x, z, vg, vd)), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(back, np.concatenate(game_vjp(gan, tg, td, x, z, vg, vd)), rtol=1e-13, atol=1e-15)


def test_a_dict_is_not_a_workspace():
    gan, tg, td, x, z, vg, vd = _gan()
    with pytest.raises(ValueError, match="ws must be a gandyn.engine.workspace.Workspace or None, got dict"):
        game_jvp(gan, tg, td, x, z, vg, vd, ws={})
    with pytest.raises(ValueError, match="got dict"):
        gan.G.forward(tg, z, ws={})
    assert isinstance(as_workspace(None), Workspace)


def test_flush_policy():
    """Entries below sqrt(tiny) of the dtype (float32: 1.08e-19) become 0; float64 only where
    asked (training steps), never in the exact products (float64=False)."""
    t32 = float(np.sqrt(np.finfo(np.float32).tiny))
    a = np.array([t32 * 0.99, -t32 * 0.5, t32 * 1.01, 1e-30, 0.3], dtype=np.float32)
    flush_tiny(a, float64=False)
    assert a.tolist() == [0.0, 0.0, np.float32(t32 * 1.01), 0.0, np.float32(0.3)]
    b = np.array([1e-160, -1e-200, 1e-150, 1.0])
    kept = b.copy()
    flush_tiny(b, float64=False)
    assert b.tolist() == kept.tolist()
    flush_tiny(b)
    assert b.tolist() == [0.0, 0.0, 1e-150, 1.0]  # sqrt(tiny) of float64 is 1.49e-154
    flush_tiny(None)
