"""Independent reference implementations in autograd.numpy, written from the
formulas (not from gandyn's code), used to check gandyn's hand-written gradients."""
import autograd.numpy as anp
import numpy as np

ACT = {
    "identity": lambda a: a,
    "relu": lambda a: anp.maximum(a, 0.0),
    "leaky_relu": lambda a: anp.where(a > 0, a, 0.2 * a),
    "tanh": anp.tanh,
    "sigmoid": lambda a: 0.5 * (anp.tanh(0.5 * a) + 1.0),
}


def mlp(sizes, activations, theta, x, masks=None):
    """y = act_L(... act_1(x W_1 + b_1) ...), parameters packed W_1, b_1, W_2, b_2, ...;
    with dropout ``masks`` the input of layer l is multiplied by ``masks[l]`` (if not None)."""
    h, off = x, 0
    for l in range(len(sizes) - 1):
        if masks is not None and masks[l] is not None:
            h = h * masks[l]
        din, dout = sizes[l], sizes[l + 1]
        W = anp.reshape(theta[off: off + din * dout], (din, dout))
        off += din * dout
        b = theta[off: off + dout]
        off += dout
        h = ACT[activations[l]](anp.dot(h, W) + b)
    return h


def log_sigmoid(l):
    return -anp.logaddexp(0.0, -l)


def mlp_layers(sizes, activations, theta, x, pieces=None, batch_norm=None, eps=1e-4, stats=None, masks=None):
    """The network with maxout and batch-norm layers, from the formulas. Layer l:
    maxout with k pieces, h_j = max_i (x W + b)_{j k + i} (Goodfellow et al. 2013, eq. 1;
    parameters W (d_in, k d), b (k d)); batch norm, h = act(gamma (a - mu) / sqrt(var + eps)
    + beta) with a = x W, mu and the biased var over the batch (axis 0), or the running
    (mean, std) pairs of ``stats[l]`` (Ioffe & Szegedy 2015, Algorithms 1 and 2; parameters
    W, gamma (d), beta (d)); otherwise act(x W + b). ``x`` is (m, d_0), one model."""
    L = len(sizes) - 1
    pieces = pieces or (None,) * L
    batch_norm = batch_norm or (False,) * L
    h, off = x, 0

    def take(n, shape):
        nonlocal off
        out = anp.reshape(theta[off: off + n], shape)
        off += n
        return out

    for l in range(L):
        if masks is not None and masks[l] is not None:
            h = h * masks[l]
        k = pieces[l] or 1
        din, dout = sizes[l], sizes[l + 1] * k
        W = take(din * dout, (din, dout))
        if batch_norm[l]:
            gamma, beta = take(dout, (dout,)), take(dout, (dout,))
            a = anp.dot(h, W)
            if stats is None:
                mu = anp.mean(a, axis=0)
                sd = anp.sqrt(anp.mean((a - mu) ** 2, axis=0) + eps)
            else:
                mu, sd = stats[l]
            h = ACT[activations[l]](gamma * (a - mu) / sd + beta)
            continue
        b = take(dout, (dout,))
        a = anp.dot(h, W) + b
        if k > 1:
            h = anp.max(anp.reshape(a, (a.shape[0], sizes[l + 1], k)), axis=2)
        else:
            h = ACT[activations[l]](a)
    return h


def close(a, b, tol=1e-12):
    """Assert ``max |a - b| <= tol * max |b|`` (relative to the reference's scale), same shapes."""
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape, (a.shape, b.shape)
    scale = np.max(np.abs(b))
    assert scale > 0
    err = np.max(np.abs(a - b))
    assert err <= tol * scale, f"max error {err:.3e} > {tol:g} * {scale:.3e}"
