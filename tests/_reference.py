"""Independent reference implementations in autograd.numpy, written from the
formulas (not from gandyn's code), used to check gandyn's hand-written gradients."""
import autograd.numpy as anp

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
