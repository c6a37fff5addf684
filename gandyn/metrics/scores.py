"""Sample-quality metrics of generative models: Parzen-window log-likelihood, Inception
score, Frechet distance and mode coverage. Pure functions on arrays; which data and which
classifier they are applied to is :mod:`gandyn.experiments.evaluation`'s business.

References
----------
1. Goodfellow, Pouget-Abadie, Mirza, Xu, Warde-Farley, Ozair, Courville & Bengio (2014),
   *Generative Adversarial Nets*, Section 5 and Table 1; the estimator of their code
   (goodfeli/adversarial, ``parzen_ll.py``), after Breuleux, Bengio & Vincent (2011).
2. Salimans, Goodfellow, Zaremba, Cheung, Radford & Chen (2016), *Improved Techniques for
   Training GANs*, Section 4: the Inception score ``exp(E_x KL(p(y|x) || p(y)))``.
3. Heusel, Ramsauer, Unterthiner, Nessler & Hochreiter (2017), *GANs Trained by a Two
   Time-Scale Update Rule Converge to a Local Nash Equilibrium*, eq. 6: the Frechet distance.
4. Dowson & Landau (1982), *The Frechet distance between multivariate normal
   distributions*: the closed form behind [3].
"""
from __future__ import annotations

import math
import warnings

import numpy as np
from scipy import linalg
from scipy.special import rel_entr

__all__ = [
    "PARZEN_SIGMAS", "sq_distances", "parzen_log_likelihood", "cross_validate_sigma",
    "parzen_evaluate", "inception_score", "gaussian_stats", "frechet_distance",
    "mode_histogram",
]

#: The window widths Goodfellow et al. 2014 cross-validate (parzen_ll.py:
#: ``numpy.logspace(-1, 0, num=10)``).
PARZEN_SIGMAS = np.logspace(-1.0, 0.0, 10)


def _points(a, name) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim != 2 or a.shape[0] < 1 or a.shape[1] < 1:
        raise ValueError(f"{name} must be a non-empty 2-D array (points, dims), got shape {a.shape}")
    a = a.astype(np.float64, copy=False)
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or inf")
    return a


def _progress(total, desc, progress):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="pt", disable=not progress, leave=False)


def sq_distances(x: np.ndarray, mu: np.ndarray, mu_sq: np.ndarray | None = None) -> np.ndarray:
    """All squared Euclidean distances ``||x_i - mu_j||^2``, shape ``(n, N)``, by one GEMM.

    ``||x||^2 + ||mu||^2 - 2 x mu^T`` in float64, clipped at 0 (cancellation can leave a
    tiny negative where ``x_i = mu_j``). ``mu_sq`` are the precomputed ``||mu_j||^2``.
    """
    d = x @ mu.T
    d *= -2.0
    d += np.einsum("ij,ij->i", x, x)[:, None]
    d += np.einsum("ij,ij->i", mu, mu)[None, :] if mu_sq is None else mu_sq[None, :]
    return np.maximum(d, 0.0, out=d)


def _check_sigmas(sigmas) -> np.ndarray:
    s = np.atleast_1d(np.asarray(sigmas, dtype=np.float64))
    if s.ndim != 1 or s.size == 0 or not np.all(np.isfinite(s)) or np.any(s <= 0):
        raise ValueError(f"sigma must be positive and finite, got {sigmas!r}")
    return s


def parzen_log_likelihood(x, mu, sigma, *, batch_size: int = 500, progress: bool = False) -> np.ndarray:
    """Log-density of each point of ``x`` under the Parzen window (Gaussian kernel density)
    estimate centred on ``mu``, in nats.

    .. math::

        \\log \\hat p(x) = \\log \\frac{1}{N} \\sum_{j=1}^{N}
            \\mathcal{N}(x; \\mu_j, \\sigma^2 I)
        = \\operatorname{logsumexp}_j\\Big(-\\frac{\\|x - \\mu_j\\|^2}{2\\sigma^2}\\Big)
          - \\log N - \\frac{d}{2} \\log(2 \\pi \\sigma^2),

    the estimator of Goodfellow et al. 2014, Section 5 (their ``theano_parzen``: a
    log-mean-exp of ``-||x - mu||^2 / (2 sigma^2)`` minus ``d log(sigma sqrt(2 pi))``).
    Distances come from :func:`sq_distances` in float64, ``batch_size`` points of ``x`` at a
    time (memory ``8 * batch_size * N`` bytes); the log-sum-exp subtracts each row's maximum.

    Parameters
    ----------
    x : array (n, d)
        Points to evaluate (e.g. test images in [0, 1]).
    mu : array (N, d)
        Kernel centres (e.g. generated samples).
    sigma : float or array (S,)
        Window width(s). With several widths the distances are computed once.

    Returns
    -------
    array (n,) for a scalar ``sigma``, (S, n) for an array of widths.
    """
    x = _points(x, "x")
    mu = _points(mu, "mu")
    if x.shape[1] != mu.shape[1]:
        raise ValueError(f"x has {x.shape[1]} dims but mu has {mu.shape[1]}")
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    scalar = np.ndim(sigma) == 0
    sigmas = _check_sigmas(sigma)
    n, d = x.shape
    N = mu.shape[0]
    mu_sq = np.einsum("ij,ij->i", mu, mu)
    # log N + (d/2) log(2 pi sigma^2), one per sigma
    norm = math.log(N) + 0.5 * d * np.log(2.0 * np.pi * sigmas ** 2)
    out = np.empty((sigmas.size, n))
    with _progress(n, "parzen", progress) as bar:
        for start in range(0, n, int(batch_size)):
            stop = min(start + int(batch_size), n)
            dist = sq_distances(x[start:stop], mu, mu_sq)
            dmin = dist.min(axis=1)
            # shifted exponent (dmin - dist) / (2 sigma^2) <= 0: the log-sum-exp trick
            shifted = np.subtract(dmin[:, None], dist, out=dist)
            e = np.empty_like(shifted)
            for k, s in enumerate(sigmas):
                np.multiply(shifted, 0.5 / s ** 2, out=e)
                np.exp(e, out=e)
                out[k, start:stop] = np.log(e.sum(axis=1)) - dmin * (0.5 / s ** 2) - norm[k]
            bar.update(stop - start)
    return out[0] if scalar else out


def cross_validate_sigma(mu, valid, sigmas=PARZEN_SIGMAS, *, batch_size: int = 500,
                         progress: bool = False) -> tuple[float, np.ndarray]:
    """The window width of largest mean log-likelihood of ``valid`` (Goodfellow et al. 2014,
    Section 5: "sigma ... obtained by cross validation on the validation set"; parzen_ll.py
    ``cross_validate_sigma``: argmax over ``sigmas`` of the mean, first one on ties).

    Returns
    -------
    sigma : float
    mean_ll : array (S,)
        Mean log-likelihood of ``valid`` for each width.
    """
    sigmas = _check_sigmas(sigmas)
    lls = parzen_log_likelihood(valid, mu, sigmas, batch_size=batch_size, progress=progress)
    mean_ll = lls.mean(axis=1)
    return float(sigmas[int(np.argmax(mean_ll))]), mean_ll


def parzen_evaluate(mu, valid, test, sigmas=PARZEN_SIGMAS, *, batch_size: int = 500,
                    progress: bool = False) -> dict:
    """The full protocol of Goodfellow et al. 2014, Table 1: choose ``sigma`` on ``valid``
    (:func:`cross_validate_sigma`), then report the mean log-likelihood of ``test`` and its
    standard error ``std(ll) / sqrt(n)`` (parzen_ll.py; population std, ``ddof=0``).

    Returns
    -------
    dict with ``sigma``, ``sigmas``, ``valid_mean_ll`` (one per width), ``mean`` and ``se``
    (nats), JSON-serialisable.
    """
    sigma, valid_ll = cross_validate_sigma(mu, valid, sigmas, batch_size=batch_size, progress=progress)
    ll = parzen_log_likelihood(test, mu, sigma, batch_size=batch_size, progress=progress)
    return {
        "sigma": sigma,
        "sigmas": [float(s) for s in _check_sigmas(sigmas)],
        "valid_mean_ll": [float(v) for v in valid_ll],
        "mean": float(ll.mean()),
        "se": float(ll.std() / math.sqrt(ll.size)),
    }


def _probs(p, name="probs") -> np.ndarray:
    p = _points(p, name)
    if np.any(p < 0) or not np.allclose(p.sum(axis=1), 1.0, rtol=0, atol=1e-6):
        raise ValueError(f"{name} must be non-negative with rows summing to 1")
    return p


def inception_score(probs, splits: int = 10) -> tuple[float, float]:
    """Inception score ``exp(E_x KL(p(y|x) || p(y)))`` (Salimans et al. 2016, Section 4).

    As in their released code, the samples are cut into ``splits`` consecutive parts (equal
    up to one sample, :func:`numpy.array_split`); each part uses its own marginal
    ``p(y) = mean_x p(y|x)``; the score is the mean and (population) standard deviation
    of the parts' scores. It lies in ``[1, C]`` for ``C`` classes: 1 when every
    ``p(y|x)`` is the same, ``C`` when predictions are one-hot and balanced.

    Parameters
    ----------
    probs : array (n, C)
        Class probabilities ``p(y|x)`` of each sample.

    Returns
    -------
    mean, std : float
    """
    p = _probs(probs)
    splits = int(splits)
    if not 1 <= splits <= p.shape[0]:
        raise ValueError(f"splits must be in [1, {p.shape[0]}] (number of samples), got {splits}")
    scores = []
    for part in np.array_split(p, splits):
        marginal = part.mean(axis=0, keepdims=True)
        # KL(p(y|x) || p(y)) = sum_y p log(p / p(y)), with 0 log 0 = 0 (rel_entr)
        kl = rel_entr(part, marginal).sum(axis=1)
        scores.append(math.exp(kl.mean()))
    return float(np.mean(scores)), float(np.std(scores))


def gaussian_stats(features) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance (``ddof=1``, as the reference FID code) of ``features (n, k)``,
    in float64: the Gaussian fitted in Heusel et al. 2017, Section 3 (FID)."""
    f = _points(features, "features")
    if f.shape[0] < 2:
        raise ValueError("features needs at least 2 rows to estimate a covariance")
    return f.mean(axis=0), np.atleast_2d(np.cov(f, rowvar=False))


def _sqrtm(a: np.ndarray) -> tuple[np.ndarray, float]:
    """scipy's matrix square root and its relative error ``||X X - A||_F / ||A||_F``;
    scipy's own "singular matrix" warning is absorbed into that error."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        with np.errstate(all="ignore"):
            x = linalg.sqrtm(a)
            if not np.all(np.isfinite(x)):
                return x, math.inf
            err = linalg.norm(x @ x - a) / max(linalg.norm(a), np.finfo(float).tiny)
    return x, float(err)


def frechet_distance(mu1, cov1, mu2, cov2, *, eps: float = 1e-6, tol: float = 1e-3) -> float:
    """Frechet (Wasserstein-2) distance between ``N(mu1, cov1)`` and ``N(mu2, cov2)``
    (Heusel et al. 2017, eq. 6; Dowson & Landau 1982):

    .. math:: d^2 = \\|\\mu_1 - \\mu_2\\|^2
              + \\operatorname{Tr}\\big(C_1 + C_2 - 2 (C_1 C_2)^{1/2}\\big).

    ``(C_1 C_2)^{1/2}`` by :func:`scipy.linalg.sqrtm`, with the usual care: if the square
    root is not finite or inaccurate (relative residual above ``tol``, e.g. singular
    covariances from dead ReLU features), ``eps I`` is added to both covariances and it is
    recomputed; an imaginary part (round-off: the product of two PSD matrices has real,
    non-negative eigenvalues) is dropped if its diagonal is below ``tol`` in absolute
    value, otherwise it is an error.

    Returns
    -------
    float, the squared distance ``d^2`` (what "FID" reports), clipped at 0.
    """
    mu1 = np.atleast_1d(np.asarray(mu1, dtype=np.float64))
    mu2 = np.atleast_1d(np.asarray(mu2, dtype=np.float64))
    c1 = np.atleast_2d(np.asarray(cov1, dtype=np.float64))
    c2 = np.atleast_2d(np.asarray(cov2, dtype=np.float64))
    k = mu1.shape[0]
    if mu1.shape != (k,) or mu2.shape != (k,) or c1.shape != (k, k) or c2.shape != (k, k):
        raise ValueError(f"shapes do not match: mu1 {mu1.shape}, cov1 {c1.shape}, "
                         f"mu2 {mu2.shape}, cov2 {c2.shape}")
    for name, a in (("mu1", mu1), ("cov1", c1), ("mu2", mu2), ("cov2", c2)):
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{name} contains NaN or inf")
    root, err = _sqrtm(c1 @ c2)
    if not err <= tol:
        off = eps * np.eye(k)
        root, err = _sqrtm((c1 + off) @ (c2 + off))
        if not err <= tol:
            raise ValueError(f"no accurate square root of cov1 @ cov2 (relative residual {err:.2g})")
    if np.iscomplexobj(root):
        if np.max(np.abs(np.diagonal(root).imag)) > tol:
            raise ValueError("square root of cov1 @ cov2 has a large imaginary part: "
                             "are both covariances symmetric positive semi-definite?")
        root = root.real
    diff = mu1 - mu2
    d2 = diff @ diff + np.trace(c1) + np.trace(c2) - 2.0 * np.trace(root)
    return float(max(d2, 0.0))


def mode_histogram(probs, n_classes: int | None = None) -> dict:
    """Mode coverage: how many samples the classifier assigns to each class (argmax of
    ``p(y|x)``), the fractions, and the number of classes that received any sample.

    Returns
    -------
    dict with ``counts`` (C,), ``fractions`` (C,), ``covered`` (int), JSON-serialisable.
    """
    p = _probs(probs)
    C = p.shape[1] if n_classes is None else int(n_classes)
    if C < p.shape[1]:
        raise ValueError(f"n_classes must be >= {p.shape[1]}, got {n_classes}")
    counts = np.bincount(np.argmax(p, axis=1), minlength=C)
    return {
        "counts": [int(c) for c in counts],
        "fractions": [float(c) for c in counts / counts.sum()],
        "covered": int(np.count_nonzero(counts)),
    }
