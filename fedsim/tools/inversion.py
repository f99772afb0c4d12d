"""Gradient inversion: an honest-but-curious server reconstructs a client's training examples.

The server in federated learning sees each client's update. For a small model and a small
batch that update is enough to rebuild the inputs. This module implements the standard attacks
in TensorFlow on fedsim's Keras models (:func:`fedsim.training.models.build_keras_model`, run through
``stateless_call`` with the global weights), plus the client side they attack, so that a
*defence dial* (batch size, local steps, clipping and DP noise) can be swept.

**The client's update** (:func:`client_update`): starting from the global weights w₀, the
client takes ``steps`` plain SGD steps with learning rate ``lr`` on the same ``batch`` examples
(full batch each step; ``steps = 1`` is FedSGD) and sends Δ = w_T − w₀. Optional DP
(:class:`DPNoise`): Δ is clipped to L2 norm C and gets N(0, (zC)²) noise per coordinate. *Local*
DP adds it on the client. *Central* DP (DP-FedAvg, McMahan et al. ICLR 2018) adds N(0, (zC/m)²)
to the mean of m clipped updates; a server that knows (or is) the other m − 1 clients recovers
m·mean − Σothers = clip(Δ) + N(0, (zC)²): the same distribution, which is the worst case DP is
calibrated for. Both modes therefore give one client's update with noise zC; they differ in
whom the client must trust, and draw from different named random streams.

**Analytic inversion** (:func:`invert_analytic`; Phong et al., "Privacy-preserving deep
learning via additively homomorphic encryption", IEEE TIFS 2017/2018; Geiping et al.,
"Inverting Gradients", NeurIPS 2020, §3): for a first dense layer y = W₁ᵀx + b₁ and one
example, ∂L/∂W₁[:, j] = x · ∂L/∂b₁[j], so x = ∂L/∂W₁[:, j] / ∂L/∂b₁[j] for any unit j with a
non-zero bias gradient: exact up to float rounding. Δ = −lr·g has the same ratio, and so does a
multi-step update on one example (each step adds x·δ_tᵀ to W₁ and δ_t to b₁), so the attack
needs neither the learning rate nor the number of steps. With a batch, each unit's ratio is a
mixture of the examples, weighted by how much each drove that unit.

**Optimization-based inversion** (:func:`invert_dlg`): "Deep Leakage from Gradients" (DLG,
Zhu, Liu, Han, NeurIPS 2019) optimizes dummy inputs so that the update they would produce
matches the observed one. Labels are recovered first, as iDLG does (Zhao, Mopuri, Bilen, 2020:
with softmax cross-entropy the true class is the only negative entry of the last layer's bias
gradient; for a batch, classes are taken greedily by how negative that entry is, each pick
adding 1/b to it, since each example contributes p − onehot/b). The matching loss is either
DLG's squared distance, or the cosine distance plus total variation of Geiping et al. 2020
(``loss="cosine"``, the default), which ignores the update's scale and so also works through
clipping. Multi-step FedAvg updates (Geiping et al. §5) are matched by simulating the
client's ``steps`` SGD steps in the attacker's graph and differentiating through them. The
dummy images live in pixel space (digits: 0–16), are kept in the pixel box by projection after
every step of Adam (Kingma & Ba 2015) on the sign of the gradient (as Geiping et al. do), and
are standardized with the feature mean and std the server knows (:mod:`fedsim.data.dataset`).
Several restarts run side by side in one compiled loop (``tf.vectorized_map`` over restarts,
with the inner gradient per restart); the one with the lowest matching loss is returned.

**Metrics** (:func:`psnr`, :func:`ssim`, :func:`mse`, :func:`evaluate_reconstruction`) are
computed in pixel space with the data range of the pixels (16 for digits). SSIM (Wang, Bovik,
Sheikh, Simoncelli, IEEE TIP 2004) uses a 5×5 Gaussian window with σ = 1 (an 11×11 window
does not fit an 8×8 digit), K₁ = 0.01, K₂ = 0.03, and averages over the valid 4×4 positions;
it agrees with ``tf.image.ssim(..., filter_size=5, filter_sigma=1.0)``. For a batch,
reconstructions are matched to the true examples by the assignment with the least total MSE
(Hungarian algorithm, ``scipy.optimize.linear_sum_assignment``).

All randomness comes from named streams of :mod:`fedsim.rng` (no process-global state).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Optional, Sequence

import numpy as np

from fedsim.training.models import ModelSpec
from fedsim.rng import generator, tf_seed

__all__ = ["DPNoise", "ClientUpdate", "client_update", "select_examples", "AnalyticInversion",
           "invert_analytic", "recover_labels", "DLGResult", "invert_dlg", "psnr", "ssim", "mse",
           "match_reconstructions", "evaluate_reconstruction", "random_guess", "baselines",
           "to_pixels", "to_features"]

DENSE_FIRST = ("logistic", "mlp", "seed_mlp")


# --------------------------------------------------------------------------- the client side
@dataclass(frozen=True)
class DPNoise:
    """Clip the update to L2 norm ``clip`` and add Gaussian noise of std ``noise_multiplier·clip``.

    ``mode`` is ``"local"`` (the client adds it) or ``"central"`` (the server's noise on the
    mean of ``num_clients`` clipped updates, as it bears on one client's update once the others
    are subtracted: the same std zC, see the module docstring). ``noise_multiplier = 0`` clips
    only.
    """

    clip: float
    noise_multiplier: float = 0.0
    mode: str = "local"
    num_clients: int = 1

    def __post_init__(self):
        if not self.clip > 0:
            raise ValueError(f"clip must be positive, got {self.clip}")
        if self.noise_multiplier < 0:
            raise ValueError(f"noise_multiplier must be >= 0, got {self.noise_multiplier}")
        if self.mode not in ("local", "central"):
            raise ValueError(f"mode must be 'local' or 'central', got {self.mode!r}")
        if self.num_clients < 1:
            raise ValueError(f"num_clients must be >= 1, got {self.num_clients}")

    @property
    def noise_std(self) -> float:
        """Per-coordinate std of the noise on this client's (clipped) update: z·C."""
        return float(self.noise_multiplier * self.clip)


@dataclass(frozen=True)
class ClientUpdate:
    """What one client would send, and what produced it (for scoring an attack)."""

    delta: tuple[np.ndarray, ...]   # Δ = w_T − w₀ per weight tensor, after DP if any
    x: np.ndarray                   # [b, d] the (standardized) examples it trained on
    y: np.ndarray                   # [b] their labels
    indices: np.ndarray             # [b] their rows in the client's data
    steps: int
    lr: float
    clean_norm: float               # ‖Δ‖₂ before clipping and noise
    noise_std: float                # per-coordinate std of the added noise (0 without DP)
    clipped: bool                   # whether clipping scaled Δ down

    @property
    def batch(self) -> int:
        return len(self.y)

    def gradient(self) -> list[np.ndarray]:
        """−Δ/(lr·steps): the FedSGD gradient for ``steps = 1`` (the mean over steps otherwise)."""
        return [-d / (self.lr * self.steps) for d in self.delta]

    @property
    def flat(self) -> np.ndarray:
        return np.concatenate([d.ravel() for d in self.delta])


def select_examples(n: int, batch: int, *, seed: int, client_id: int = 0) -> np.ndarray:
    """``batch`` distinct rows out of ``n``, from the stream ("inversion", "batch", client)."""
    if not 1 <= batch <= n:
        raise ValueError(f"batch must be in 1..{n}, got {batch}")
    rng = generator(seed, "inversion", "batch", client_id)
    return np.sort(rng.choice(n, size=batch, replace=False))


class _Graphs:
    """Compiled pieces for one architecture (cached per (spec, task))."""

    def __init__(self, spec: ModelSpec, task: str):
        from fedsim.training.models import build_keras_model
        from fedsim.training.tf_runtime import tf

        self.tf = tf
        self.spec, self.task = spec, task
        self.model = build_keras_model(spec, 0)
        self.shapes = [tuple(w.shape) for w in self.model.trainable_weights]
        self._local = {}
        self._dlg = {}

    # -- pieces usable inside any graph
    def loss(self, params, x, y):
        tf = self.tf
        out, _ = self.model.stateless_call(list(params), [], x, training=True)
        if self.task == "classification":
            if y.dtype.is_floating:          # soft labels [b, C]
                return tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=y, logits=out))
            return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y,
                                                                                 logits=out))
        err = tf.squeeze(out, -1) - y
        return tf.reduce_mean(err * err)

    def simulate(self, params, x, y, steps: int, lr):
        """Δ after ``steps`` full-batch SGD steps (unrolled; differentiable in x)."""
        tf = self.tf
        start = list(params)
        cur = list(params)
        for _ in range(steps):
            with tf.GradientTape() as tape:
                tape.watch(cur)
                loss = self.loss(cur, x, y)
            grads = tape.gradient(loss, cur)
            cur = [p - lr * g for p, g in zip(cur, grads)]
        return [c - s for c, s in zip(cur, start)]

    def local(self, steps: int):
        """Compiled client update for ``steps`` steps."""
        if steps not in self._local:
            tf = self.tf
            ydt = tf.int32 if self.task == "classification" else tf.float32
            sig = [[tf.TensorSpec(s, tf.float32) for s in self.shapes],
                   tf.TensorSpec([None, self.spec.num_features], tf.float32),
                   tf.TensorSpec([None], ydt), tf.TensorSpec([], tf.float32)]
            self._local[steps] = tf.function(
                lambda p, x, y, lr: self.simulate(p, x, y, steps, lr), input_signature=sig)
        return self._local[steps]


@lru_cache(maxsize=16)
def _graphs(spec: ModelSpec, task: str) -> _Graphs:
    return _Graphs(spec, task)


def client_update(spec: ModelSpec, weights: Sequence[np.ndarray], x: np.ndarray,
                  y: np.ndarray, *, steps: int = 1, batch: Optional[int] = None,
                  lr: float = 0.1, task: str = "classification",
                  dp: Optional[DPNoise] = None, seed: int = 0, client_id: int = 0,
                  round: int = 0) -> ClientUpdate:
    """The update a client holding ``x, y`` would send after ``steps`` local SGD steps.

    ``batch`` examples are drawn from the client's rows with :func:`select_examples` (all rows
    when ``None``); every step uses all of them (``steps = 1``, ``batch = 1``: FedSGD on one
    example, the attack's easiest case). ``weights`` are the global model's trainable weights
    (``fedsim.training.models.initial_weights`` order). With ``dp`` the update is clipped and noised from
    the stream ("inversion", "dp", mode, round, client).
    """
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    x = np.asarray(x, np.float32).reshape(len(x), -1)
    y = np.asarray(y)
    idx = np.arange(len(x)) if batch is None else select_examples(len(x), batch, seed=seed,
                                                                   client_id=client_id)
    xb, yb = x[idx], y[idx]
    g = _graphs(spec, task)
    ydt = np.int32 if task == "classification" else np.float32
    delta = [np.asarray(d, np.float64) for d in
             g.local(int(steps))([np.asarray(w, np.float32) for w in weights], xb,
                                 yb.astype(ydt), np.float32(lr))]
    norm = float(np.sqrt(sum(float(np.sum(d * d)) for d in delta)))
    clipped, std = False, 0.0
    if dp is not None:
        if norm > dp.clip:
            delta = [d * (dp.clip / norm) for d in delta]
            clipped = True
        std = dp.noise_std
        if std > 0:
            rng = generator(seed, "inversion", "dp", dp.mode, round, client_id)
            delta = [d + rng.normal(0.0, std, d.shape) for d in delta]
    return ClientUpdate(tuple(np.asarray(d, np.float32) for d in delta), xb, yb, idx,
                        int(steps), float(lr), norm, float(std), clipped)


# --------------------------------------------------------------------------- analytic attack
@dataclass(frozen=True)
class AnalyticInversion:
    """x from the first dense layer: the unit used, and every unit's candidate."""

    x: np.ndarray            # [d] the reconstruction (standardized features)
    unit: int                # j, the unit with the largest |∂L/∂b₁[j]|
    candidates: np.ndarray   # [h', d] ∂L/∂W₁[:, j] / ∂L/∂b₁[j] for every unit with b-gradient ≠ 0
    units: np.ndarray        # [h'] which units those are
    seconds: float


def invert_analytic(update: Sequence[np.ndarray], *, rel_tol: float = 1e-6) -> AnalyticInversion:
    """Reconstruct one example from a gradient or an update through a first dense layer.

    ``update`` is the list of weight tensors' gradients or updates, first layer's kernel
    ``[d, h]`` and bias ``[h]`` first (fedsim's ``logistic`` and ``mlp`` models). Units whose
    bias entry is below ``rel_tol`` times the largest (inactive ReLUs) are skipped. Computed in
    float64: for a batch of one the result is exact up to the float32 rounding of the update.
    """
    t0 = time.perf_counter()
    kernel = np.asarray(update[0], np.float64)
    bias = np.asarray(update[1], np.float64)
    if kernel.ndim != 2 or bias.shape != (kernel.shape[1],):
        raise ValueError("the first two tensors must be a dense kernel [d, h] and its bias [h] "
                         f"(got shapes {kernel.shape} and {bias.shape}); analytic inversion "
                         "needs a first dense layer with bias")
    mag = np.abs(bias)
    if not mag.max() > 0:
        raise ValueError("every first-layer bias gradient is zero: nothing to invert")
    units = np.flatnonzero(mag > rel_tol * mag.max())
    cand = (kernel[:, units] / bias[units]).T
    j = int(np.argmax(mag))
    return AnalyticInversion(kernel[:, j] / bias[j], j, cand, units,
                             time.perf_counter() - t0)


# --------------------------------------------------------------------------- DLG / iDLG
def recover_labels(update: Sequence[np.ndarray], batch: int, *, lr: float = 1.0,
                   steps: int = 1) -> np.ndarray:
    """iDLG label recovery from the last layer's bias entry of an update or gradient.

    With mean softmax cross-entropy, ∂L/∂b_c = mean_i(p_ic) − n_c/b. For ``batch = 1`` the true
    class is the only negative entry (Zhao et al. 2020). For a batch, classes are picked
    greedily by the most negative entry, each pick adding 1/b (one example's share), which also
    finds repeated labels when the model is not confident. The update's sign and scale are
    undone with ``lr`` and ``steps`` (g ≈ −Δ/(lr·steps)); for a gradient pass ``lr=-1``.
    For ``batch = 1`` only the sign matters.
    """
    g = -np.asarray(update[-1], np.float64).ravel() / (lr * steps)
    if g.size < 2:
        raise ValueError("label recovery needs a classifier's last bias (one entry per class)")
    g = g.copy()
    out = []
    for _ in range(batch):
        c = int(np.argmin(g))
        out.append(c)
        g[c] += 1.0 / batch
    return np.sort(np.array(out, np.int32))


@dataclass(frozen=True)
class DLGResult:
    """An optimization-based reconstruction (the best restart)."""

    x: np.ndarray             # [b, d] standardized features, as the model sees them
    pixels: np.ndarray        # [b, d] in pixel units (== x without a mean/std)
    labels: np.ndarray        # [b] labels used (recovered or given)
    loss: float               # final matching loss of the returned restart
    restart_losses: np.ndarray  # [R] final loss of every restart
    history: np.ndarray       # [iterations // record_every] loss of the returned restart
    seconds: float
    iterations: int


def _flatten_tf(tf, tensors):
    return tf.concat([tf.reshape(t, [-1]) for t in tensors], 0)


def _tv(tf, img):
    """Anisotropic total variation, mean |∇| over an image batch [..., h, w]."""
    dh = tf.abs(img[..., 1:, :] - img[..., :-1, :])
    dw = tf.abs(img[..., :, 1:] - img[..., :, :-1])
    return tf.reduce_mean(dh) + tf.reduce_mean(dw)


def invert_dlg(spec: ModelSpec, weights: Sequence[np.ndarray], update: Sequence[np.ndarray], *,
               batch: int = 1, steps: int = 1, lr: float = 0.1,
               labels: Optional[Sequence[int]] = None, loss: str = "cosine",
               tv: float = 1e-3, iterations: int = 1000, step_size: float = 0.1,
               restarts: int = 2, seed: int = 0,
               feature_mean: Optional[np.ndarray] = None, feature_std: Optional[np.ndarray] = None,
               image_shape: Optional[tuple[int, int]] = None,
               pixel_range: Optional[tuple[float, float]] = (0.0, 16.0),
               task: str = "classification", record_every: int = 10) -> DLGResult:
    """Reconstruct ``batch`` examples whose ``steps``-step update from ``weights`` is ``update``.

    Parameters
    ----------
    spec, weights:
        The global model the client started from (what the server broadcast).
    update:
        Δ as the server received it (``ClientUpdate.delta``), or a gradient with ``lr=-1``
        and ``steps=1`` (Δ = −lr·g).
    batch, steps, lr:
        The client's local training as the server configured it (known to the server).
    labels:
        The labels, if known; otherwise recovered with :func:`recover_labels` (iDLG).
    loss:
        ``"cosine"``: 1 − cos(Δ̂, Δ) + ``tv``·TV (Geiping et al. 2020); ``"l2"``:
        ‖Δ̂ − Δ‖² / ‖Δ‖² + ``tv``·TV (DLG, normalized).
    tv:
        Weight of the total variation prior (computed on pixels divided by the data range;
        only with ``image_shape``).
    iterations, step_size, restarts:
        Signed-Adam steps, its step size in units of the pixel range, and how many random
        starts run side by side (from the stream ("inversion", "dlg", "init")).
    feature_mean, feature_std, pixel_range:
        How pixels map to the model's standardized features (x = (p − mean)/std) and the box
        the pixels are projected onto (``None``: no box); digits: 0–16.
    """
    if loss not in ("cosine", "l2"):
        raise ValueError(f"loss must be 'cosine' or 'l2', got {loss!r}")
    if batch < 1 or steps < 1 or iterations < 1 or restarts < 1:
        raise ValueError("batch, steps, iterations and restarts must be >= 1")
    t0 = time.perf_counter()
    g = _graphs(spec, task)
    tf = g.tf
    d = spec.num_features
    if labels is None:
        if task != "classification":
            raise ValueError("labels must be given for regression")
        labels = recover_labels(update, batch, lr=lr, steps=steps)
    labels = np.asarray(labels).reshape(batch)
    mean = np.zeros(d, np.float32) if feature_mean is None else np.asarray(feature_mean, np.float32)
    std = np.ones(d, np.float32) if feature_std is None else np.asarray(feature_std, np.float32)
    lo, hi = (-3.0, 3.0) if pixel_range is None else pixel_range
    span = float(hi - lo)
    key = (batch, steps, loss, image_shape, pixel_range is not None, restarts)
    if key not in g._dlg:
        g._dlg[key] = _build_dlg(g, batch, steps, loss, image_shape, pixel_range is not None,
                                 restarts)
    fn = g._dlg[key]
    init = tf.random.stateless_uniform([restarts, batch, d], seed=tf_seed(seed, "inversion",
                                                                          "dlg", "init"),
                                       minval=lo, maxval=hi)
    ydt = np.int32 if task == "classification" else np.float32
    p, hist, final = fn([tf.constant(np.asarray(w, np.float32)) for w in weights],
                        [tf.constant(np.asarray(u, np.float32)) for u in update],
                        init, tf.constant(labels.astype(ydt)), tf.constant(mean),
                        tf.constant(std), np.float32(lr), np.float32(tv),
                        np.float32(step_size * span),
                        np.float32(lo), np.float32(hi), tf.constant(int(iterations)),
                        tf.constant(int(record_every)))
    final = final.numpy()
    best = int(np.argmin(final))
    pix = p.numpy()[best].astype(np.float64)
    x = (pix - mean) / std
    n_rec = int(iterations) // int(record_every)
    return DLGResult(x.astype(np.float32), pix, labels, float(final[best]), final,
                     hist.numpy()[:n_rec, best], time.perf_counter() - t0, int(iterations))


def _build_dlg(g: _Graphs, batch: int, steps: int, loss_kind: str, image_shape, boxed: bool,
               restarts: int):
    tf = g.tf
    ydt = tf.int32 if g.task == "classification" else tf.float32
    d = g.spec.num_features

    def match(params, target, p, y, mean, std, lr, tv_w, span):
        """Matching loss of one restart's pixels p [b, d]."""
        x = (p - mean) / std
        sim = _flatten_tf(tf, g.simulate(params, x, y, steps, lr))
        tgt = _flatten_tf(tf, target)
        if loss_kind == "cosine":
            # sqrt(‖a‖²‖b‖² + ε): finite gradient even where Δ̂ = 0 (every ReLU dead).
            val = 1.0 - tf.reduce_sum(sim * tgt) / tf.sqrt(
                tf.reduce_sum(sim * sim) * tf.reduce_sum(tgt * tgt) + 1e-30)
        else:
            val = tf.reduce_sum(tf.square(sim - tgt)) / (tf.reduce_sum(tf.square(tgt)) + 1e-20)
        if image_shape is not None:
            val = val + tv_w * _tv(tf, tf.reshape(p, [batch, *image_shape]) / span)
        return val

    def run(params, target, init, y, mean, std, lr, tv_w, step, lo, hi, iters, every):
        span = hi - lo

        def losses_and_grads(p):
            def one(pr):
                with tf.GradientTape() as tape:
                    tape.watch(pr)
                    val = match(params, target, pr, y, mean, std, lr, tv_w, span)
                grad = tape.gradient(val, pr)
                return val, tf.where(tf.math.is_finite(grad), grad, tf.zeros_like(grad))
            if restarts == 1:
                val, grad = one(p[0])
                return val[None], grad[None]
            return tf.vectorized_map(one, p)

        b1, b2, eps = 0.9, 0.999, 1e-8
        n_rec = iters // every + 1
        hist0 = tf.TensorArray(tf.float32, size=n_rec)

        def body(t, p, m, v, hist):
            val, grad = losses_and_grads(p)
            s = tf.sign(grad)                               # signed gradient (Geiping et al.)
            m = b1 * m + (1 - b1) * s
            v = b2 * v + (1 - b2) * s * s
            tf1 = tf.cast(t + 1, tf.float32)
            mh = m / (1 - tf.pow(b1, tf1))
            vh = v / (1 - tf.pow(b2, tf1))
            # Geiping et al.'s schedule: step size ×0.1 at 3/8, 5/8 and 7/8 of the iterations.
            frac = tf.cast(t, tf.float32) / tf.cast(iters, tf.float32)
            decay = tf.pow(0.1, tf.reduce_sum(tf.cast(frac >= tf.constant([0.375, 0.625, 0.875]),
                                                      tf.float32)))
            p = p - step * decay * mh / (tf.sqrt(vh) + eps)
            if boxed:
                p = tf.clip_by_value(p, lo, hi)
            hist = tf.cond(tf.equal(t % every, 0), lambda: hist.write(t // every, val),
                           lambda: hist)
            return t + 1, p, m, v, hist

        z = tf.zeros_like(init)
        _, p, _, _, hist = tf.while_loop(lambda t, *_: t < iters, body,
                                         (tf.constant(0), init, z, z, hist0))
        final, _ = losses_and_grads(p)
        return p, hist.stack(), final

    sig = [[tf.TensorSpec(s, tf.float32) for s in g.shapes],
           [tf.TensorSpec(s, tf.float32) for s in g.shapes],
           tf.TensorSpec([restarts, batch, d], tf.float32), tf.TensorSpec([batch], ydt),
           tf.TensorSpec([d], tf.float32), tf.TensorSpec([d], tf.float32),
           *[tf.TensorSpec([], tf.float32)] * 5, tf.TensorSpec([], tf.int32),
           tf.TensorSpec([], tf.int32)]
    return tf.function(run, input_signature=sig)


# --------------------------------------------------------------------------- metrics
def to_pixels(x, feature_mean=None, feature_std=None) -> np.ndarray:
    """Standardized features → pixels: x·std + mean (identity without them)."""
    x = np.asarray(x, np.float64)
    if feature_mean is None:
        return x
    return x * np.asarray(feature_std, np.float64) + np.asarray(feature_mean, np.float64)


def to_features(p, feature_mean=None, feature_std=None) -> np.ndarray:
    """Pixels → standardized features: (p − mean)/std."""
    p = np.asarray(p, np.float64)
    if feature_mean is None:
        return p
    return (p - np.asarray(feature_mean, np.float64)) / np.asarray(feature_std, np.float64)


def mse(a, b) -> float:
    """Mean squared error."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.mean((a - b) ** 2))


def psnr(recon, truth, data_range: float = 16.0) -> float:
    """Peak signal-to-noise ratio 10·log10(range² / MSE) in dB (∞ for an exact copy)."""
    m = mse(recon, truth)
    return float("inf") if m == 0 else float(10 * np.log10(data_range ** 2 / m))


def _gauss_window(size: int = 5, sigma: float = 1.0) -> np.ndarray:
    ax = np.arange(size) - (size - 1) / 2
    g = np.exp(-(ax ** 2) / (2 * sigma ** 2))
    w = np.outer(g, g)
    return w / w.sum()


def _filter_valid(img: np.ndarray, w: np.ndarray) -> np.ndarray:
    from numpy.lib.stride_tricks import sliding_window_view

    win = sliding_window_view(img, w.shape, axis=(-2, -1))
    return np.einsum("...ijkl,kl->...ij", win, w)


def ssim(recon, truth, data_range: float = 16.0, image_shape: tuple[int, int] = (8, 8),
         window: int = 5, sigma: float = 1.0) -> float:
    """Mean SSIM (Wang et al. 2004) of two images (flat or shaped), Gaussian window, valid part.

    K₁ = 0.01, K₂ = 0.03, C₁ = (K₁·range)², C₂ = (K₂·range)²; matches
    ``tf.image.ssim(a, b, max_val=data_range, filter_size=window, filter_sigma=sigma)``.
    """
    a = np.asarray(recon, np.float64).reshape(image_shape)
    b = np.asarray(truth, np.float64).reshape(image_shape)
    w = _gauss_window(window, sigma)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mu_a, mu_b = _filter_valid(a, w), _filter_valid(b, w)
    saa = _filter_valid(a * a, w) - mu_a ** 2
    sbb = _filter_valid(b * b, w) - mu_b ** 2
    sab = _filter_valid(a * b, w) - mu_a * mu_b
    lum = (2 * mu_a * mu_b + c1) / (mu_a ** 2 + mu_b ** 2 + c1)
    cs = (2 * sab + c2) / (saa + sbb + c2)
    return float(np.mean(lum * cs))


def match_reconstructions(recon, truth) -> np.ndarray:
    """order[i] = which reconstruction goes with true example i (least total MSE)."""
    from scipy.optimize import linear_sum_assignment

    r = np.asarray(recon, np.float64).reshape(len(recon), -1)
    t = np.asarray(truth, np.float64).reshape(len(truth), -1)
    cost = ((t[:, None, :] - r[None, :, :]) ** 2).mean(-1)
    rows, cols = linear_sum_assignment(cost)
    order = np.empty(len(t), np.int64)
    order[rows] = cols
    return order


def evaluate_reconstruction(recon_pixels, true_pixels, *, data_range: float = 16.0,
                            image_shape: Optional[tuple[int, int]] = (8, 8)) -> dict:
    """PSNR, SSIM and MSE of a (batch of) reconstruction(s) against the true examples, in pixels.

    Rows are matched first (:func:`match_reconstructions`); returns the means over the batch
    and the per-example values, plus ``order`` (reconstruction index for each true example).
    """
    r = np.asarray(recon_pixels, np.float64)
    t = np.asarray(true_pixels, np.float64)
    r = r.reshape(-1, r.shape[-1]) if r.ndim > 1 else r[None]
    t = t.reshape(-1, t.shape[-1]) if t.ndim > 1 else t[None]
    order = match_reconstructions(r, t) if len(t) > 1 else np.zeros(1, np.int64)
    rr = r[order]
    ps = [psnr(a, b, data_range) for a, b in zip(rr, t)]
    ms = [mse(a, b) for a, b in zip(rr, t)]
    ss = ([ssim(a, b, data_range, image_shape) for a, b in zip(rr, t)]
          if image_shape is not None else [float("nan")] * len(t))
    return {"psnr": float(np.mean(ps)), "ssim": float(np.mean(ss)), "mse": float(np.mean(ms)),
            "psnr_each": ps, "ssim_each": ss, "mse_each": ms, "order": order.tolist(),
            "data_range": float(data_range)}


def baselines(true_pixels, *, feature_mean=None, seed: int = 0,
              pixel_range: tuple[float, float] = (0.0, 16.0)) -> dict:
    """PSNR of guesses made *without* the update, per true example (mean over the batch).

    ``uniform``: a uniform random image in the pixel box. ``mean``: the data set's mean image
    (the server knows it from federated analytics; the best guess in MSE without the update).
    An attack has learnt something from the update only if it beats ``mean``.
    """
    t = np.asarray(true_pixels, np.float64)
    t = t.reshape(-1, t.shape[-1]) if t.ndim > 1 else t[None]
    rg = random_guess(t.shape, seed=seed, pixel_range=pixel_range)
    out = {"uniform": float(np.mean([psnr(a, b, pixel_range[1] - pixel_range[0])
                                     for a, b in zip(rg, t)]))}
    if feature_mean is not None:
        out["mean"] = float(np.mean([psnr(feature_mean, b, pixel_range[1] - pixel_range[0])
                                     for b in t]))
    return out


def random_guess(shape, *, seed: int, pixel_range: tuple[float, float] = (0.0, 16.0)) -> np.ndarray:
    """A uniform random image in the pixel box: the baseline an attack must beat."""
    rng = generator(seed, "inversion", "random-guess")
    return rng.uniform(pixel_range[0], pixel_range[1], size=shape)
