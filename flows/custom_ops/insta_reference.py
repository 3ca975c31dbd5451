"""Numpy reference of the INSTA modules (docs/models.md section 3; INSTA-BNN supplementary,
section C).

These functions define what the `flows.custom_ops` nodes compute, in float32 like the PyTorch
model. Per image n and channel c over the H x W positions of the input x (NCHW):

    x_hat = (x - mu_c) / sigma_c                      float32, elementwise
    m3_c  = mean_hw(x_hat ** 3)                       cube in float32, sum in float64
    v_c   = alpha_c * m3_c        (form "alpha")      per-channel factor
          | SE(m3)_c              (form "se")         FC2(ReLU(FC1(m3))), 8-bit weights
          | p_c * m3_c + q_c      (form "reuse")      INSTA-PReLU reusing INSTA-Th's m3
                                                      (m3 tiled if x has k times its channels)

    InstaThreshold: t_c = beta_c + v_c  (alpha)  |  beta_c + 3 tanh(v_c / 3)  (se)
                    y = +1 where x_hat >= t_c, else -1  (sign(0) = +1); second output m3
    InstaPReLU:     gamma_c = 3 tanh(v_c / 3)
                    y = PReLU_slope(x - gamma_c) + zeta_c

Per-channel arithmetic (m3, v, t, gamma) runs in float64 and is rounded to float32 once, so that
this reference and PyTorch agree to the last bit except where a float64 sum lands on a float32
rounding boundary. The PyTorch modules (`sw.insta_modules`) follow the same recipe.
"""

from __future__ import annotations

import numpy as np

F32 = np.float32
F64 = np.float64

THRESHOLD_FORMS = ("alpha", "se")
PRELU_FORMS = ("alpha", "se", "reuse")


def _per_channel(v: np.ndarray) -> np.ndarray:
    """(C,) -> (1, C, 1, 1) for broadcasting over NCHW."""
    return np.asarray(v).reshape(1, -1, 1, 1)


def bounded(v: np.ndarray) -> np.ndarray:
    """3 * tanh(v / 3): the INSTA bound of thresholds and shifts to (-3, 3) (supplementary F)."""
    return 3.0 * np.tanh(np.asarray(v, dtype=F64) / 3.0)


def normalise(x: np.ndarray, mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """x_hat = (x - mu_c) / sigma_c in float32."""
    x = np.asarray(x, dtype=F32)
    return (x - _per_channel(mu).astype(F32)) / _per_channel(sigma).astype(F32)


def third_moment(x_hat: np.ndarray) -> np.ndarray:
    """m3 (N, C) in float64: the spatial mean of x_hat**3 (cube in float32, sum in float64)."""
    cube = x_hat * x_hat * x_hat
    h, w = x_hat.shape[2:]
    return cube.astype(F64).sum(axis=(2, 3)) / (h * w)


def se_block(
    m3: np.ndarray, w1: np.ndarray, s1: np.ndarray, w2: np.ndarray, s2: np.ndarray
) -> np.ndarray:
    """SE(m3) = FC2(ReLU(FC1(m3))) in float64; w1 (C/r, C) and w2 (C, C/r) hold integers in
    -128..127 (float32 storage), s1 (C/r,) and s2 (C,) their per-output-channel step sizes."""
    fc1 = (np.asarray(w1, F32) * np.asarray(s1, F32)[:, None]).astype(F64)
    fc2 = (np.asarray(w2, F32) * np.asarray(s2, F32)[:, None]).astype(F64)
    hidden = np.maximum(np.asarray(m3, F64) @ fc1.T, 0.0)
    return hidden @ fc2.T


def insta_threshold(
    x: np.ndarray,
    mu: np.ndarray,
    sigma: np.ndarray,
    beta: np.ndarray,
    *,
    alpha: np.ndarray | None = None,
    se: tuple[np.ndarray, ...] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """INSTA-Th (`alpha`) or INSTA-Th+ (`se` = (w1, s1, w2, s2)): returns (y in {-1, +1}, m3)."""
    x_hat = normalise(x, mu, sigma)
    m3 = third_moment(x_hat)
    beta64 = np.asarray(beta, F64)[None, :]
    if se is None:
        t = beta64 + np.asarray(alpha, F32).astype(F64)[None, :] * m3
    else:
        t = beta64 + bounded(se_block(m3, *se))
    t32 = t.astype(F32)[:, :, None, None]
    y = np.where(x_hat >= t32, F32(1.0), F32(-1.0))
    return y, m3.astype(F32)


def insta_prelu(
    x: np.ndarray,
    slope: np.ndarray,
    zeta: np.ndarray,
    *,
    mu: np.ndarray | None = None,
    sigma: np.ndarray | None = None,
    a: np.ndarray | None = None,
    se: tuple[np.ndarray, ...] | None = None,
    m3: np.ndarray | None = None,
    p: np.ndarray | None = None,
    q: np.ndarray | None = None,
) -> np.ndarray:
    """INSTA-PReLU: own statistics with factor `a` or an SE block, or the reuse form (`m3`
    from the same block's INSTA-Th, `p`, `q`)."""
    x = np.asarray(x, dtype=F32)
    if m3 is not None:
        m3 = np.tile(np.asarray(m3, F32), (1, x.shape[1] // m3.shape[1]))
        v = np.asarray(p, F32).astype(F64)[None, :] * m3.astype(F64)
        v = v + np.asarray(q, F32).astype(F64)[None, :]
    else:
        own = third_moment(normalise(x, mu, sigma))
        v = se_block(own, *se) if se is not None else np.asarray(a, F32).astype(F64) * own
    gamma = bounded(v).astype(F32)[:, :, None, None]
    z = x - gamma
    y = np.where(z >= 0, z, _per_channel(slope).astype(F32) * z)
    return (y + _per_channel(zeta).astype(F32)).astype(F32)
