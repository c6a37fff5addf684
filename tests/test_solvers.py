"""The batched Krylov solvers (gandyn.engine.solvers) against numpy's dense solve: per-model
stopping, products counted, restarts, a zero right-hand side, one model equal to the same
model in a population, bad arguments refused."""
import numpy as np
import pytest

from gandyn.engine.solvers import cg, default_rtol, gmres


def _systems(P=4, n=20, seed=0):
    rng = np.random.default_rng(seed)
    A = np.eye(n) + 0.1 * rng.normal(size=(P, n, n))  # non-symmetric, well conditioned
    S = np.einsum("pij,pkj->pik", A, A)  # symmetric positive definite
    b = rng.normal(size=(P, n))
    b[2] = 0.0
    return A, S, b


def _mv(M):
    return lambda v: np.einsum("pij,pj->pi", M, v)


@pytest.mark.parametrize("solver, which, kw", [(cg, "S", {}), (gmres, "A", {}), (gmres, "A", {"restart": 3}),
                                               (gmres, "S", {"restart": 1})])
def test_batched_solves_equal_numpy_per_model(solver, which, kw):
    A, S, b = _systems()
    M = {"A": A, "S": S}[which]
    sol = solver(_mv(M), b, rtol=1e-12, maxiter=400, **kw)
    want = np.stack([np.linalg.solve(M[p], b[p]) for p in range(len(b))])
    np.testing.assert_allclose(sol.x, want, rtol=0, atol=1e-10)
    assert sol.converged.all() and np.all(sol.residual <= 1e-12)
    true = np.linalg.norm(b - np.einsum("pij,pj->pi", M, sol.x), axis=1)
    assert np.all(true <= 1e-11 * np.maximum(np.linalg.norm(b, axis=1), 1e-300))
    assert sol.iterations[2] == 0 and sol.residual[2] == 0  # b = 0: x = 0 without a product
    assert np.all(sol.iterations[[0, 1, 3]] >= 1)
    one = solver(lambda v: M[1] @ v, b[1], rtol=1e-12, maxiter=400, **kw)
    assert one.x.shape == b[1].shape and one.iterations == sol.iterations[1]
    np.testing.assert_allclose(one.x, sol.x[1], rtol=0, atol=1e-12)


@pytest.mark.parametrize("solver", [cg, gmres])
def test_maxiter_counts_products_and_reports_unconverged(solver):
    A, S, b = _systems()
    M = S if solver is cg else A
    calls = []

    def mv(v):
        calls.append(1)
        return _mv(M)(v)

    sol = solver(mv, b, rtol=1e-14, maxiter=3)
    assert len(calls) == 3 and np.all(sol.iterations[[0, 1, 3]] == 3)
    assert not sol.converged[[0, 1, 3]].any() and sol.converged[2]
    # the residual reported is the true one
    true = np.linalg.norm(b - _mv(M)(sol.x), axis=1) / np.maximum(np.linalg.norm(b, axis=1), 1e-300)
    np.testing.assert_allclose(sol.residual[[0, 1, 3]], true[[0, 1, 3]], rtol=1e-8)


def test_a_model_stops_on_its_own():
    """A model whose system is the identity converges after one product; its count stops there
    while the others go on."""
    A, S, b = _systems()
    S[0] = np.eye(S.shape[1])
    sol = cg(_mv(S), b, rtol=1e-12, maxiter=400)
    assert sol.iterations[0] == 1 and sol.iterations[1] > 1


def test_bad_arguments_are_refused():
    for kw, msg in ((dict(rtol=0.0, maxiter=5), "rtol"), (dict(rtol=1.0, maxiter=5), "rtol"),
                    (dict(rtol=1e-6, maxiter=0), "maxiter"), (dict(rtol=1e-6, maxiter=2.5), "maxiter")):
        with pytest.raises(ValueError, match=msg):
            cg(lambda v: v, np.ones(3), **kw)
    with pytest.raises(ValueError, match="restart"):
        gmres(lambda v: v, np.ones(3), rtol=1e-6, maxiter=5, restart=0)
    assert default_rtol(np.float32) > default_rtol(np.float64)
