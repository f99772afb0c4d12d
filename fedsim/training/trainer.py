"""Local training of all sampled clients in ONE compiled TensorFlow call (the article's step 3).

Why: a Python loop of ``model.fit`` costs ~100 ms per client (Keras rebuilds a ``tf.data``
pipeline every call), ~9 s per round at 100 clients. Here the clients' weights are stacked on a
leading client axis ``[K, ...]`` and every SGD step runs for all clients at once:
:func:`fedsim.training.stacked.stacked_forward` runs the Keras model's layers with the client axis
explicit (Dense as a batched matmul, Conv2D as one grouped convolution with the max-pool fused
in; the Keras model stays the one definition of the architecture), in a ``tf.while_loop`` over
steps, in one ``tf.function``. Since clients share no weights, one gradient of the *sum* of
the K clients' losses is every client's own gradient.

This replaced ``tf.vectorized_map`` of ``model.stateless_call``: TF 2.21 has no vectorized rule
for ``Conv2DBackpropFilter`` (a per-client ``while_loop`` there, 3.5-3.9x the MLP round) and
mis-converts Conv2D's bias add for K = 1, and for the MLP the batched matmul is also ~7% faster
than ``pfor``'s conversion (the weights agree to 3e-8).

Unequal client sizes are handled by padding and masks: ``idx[k, t, b]`` says which of client
k's rows is example b of its step t, ``emask[k, t, b]`` whether that slot is real. A step with
no real example leaves the client's weights and optimizer state untouched (including Adam's
step counter), so each client follows exactly its own ``ceil(n_k / B)`` steps per epoch, as
``fit(shuffle=...)`` would with the same batch order.

Optional per-example DP-SGD (Abadi et al., CCS 2016, "Deep Learning with Differential
Privacy"): batches are Poisson-sampled (:func:`fedsim.training.batching.poisson_schedule`, so training
matches the accountant's analysis; Chua et al., ICML 2024, show shuffled batches need not),
per-example gradients (the same stacked forward with one-example "clients", one per example
*drawn*: :func:`fedsim.training.batching.flat_schedule` lists each step's real examples, so
the work is Σ_k |batch_k| and not K × the round's widest batch) are each clipped to L2 norm C,
summed, plus N(0, (zC)²) noise, and divided by the *expected* batch
size min(B, n_k) (as Opacus does), so the step does not reveal the realized batch size. The
FedProx term's gradient μ(w − w_global) touches no data, so it is added after the noise at no
privacy cost. The server's test-set evaluation is the same code with one "client".

The input signatures use ``None`` for K, N, T and B, so changing the number of clients, local
epochs or batch size does not retrace; calls go straight to the one concrete function
(:meth:`VectorizedTrainer._call`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np

from fedsim.training.batching import (ClientData, batch_schedule, flat_schedule,
                                      poisson_schedule, step_activity)
from fedsim.training.models import ModelSpec, build_keras_model
from fedsim.rng import tf_seed
from fedsim.training.stacked import stacked_forward
from fedsim.weights import flatten, flatten_stacked, unflatten_stacked
from fedsim.training.tf_runtime import tf

try:  # private, resolved once; _to_tensor falls back to tf.constant
    from tensorflow.python.eager.context import context as _context
    from tensorflow.python.framework.ops import EagerTensor as _EagerTensor
except ImportError:  # pragma: no cover
    _context = _EagerTensor = None


@dataclass(frozen=True)
class TrainResult:
    """What local training returns for K clients (NumPy)."""

    flat: np.ndarray  # [K, P] float32: client k's new local weights, its tensors concatenated
    shapes: tuple  # each tensor's shape (without the client axis), in order
    epoch_loss: np.ndarray  # [K, E] mean training loss per local epoch
    val_loss: np.ndarray  # [K] local model on the client's own validation rows (nan if none)
    val_metric: np.ndarray  # [K] accuracy (classification) or MSE (regression)
    delta: np.ndarray  # [K, P] float64: local − start weights, the clients' raw updates
    finite: bool  # every local weight is finite (no NaN or ±inf: training did not diverge)

    @cached_property
    def weights(self) -> list[np.ndarray]:
        """``[K, *shape]`` per tensor (built on first use: the round itself reads ``flat``)."""
        return unflatten_stacked(self.flat, self.shapes)


_NO_SEED = np.zeros(2, np.int32)  # the DP-SGD noise seed of a trainer that adds no noise


def _to_tensor(a: np.ndarray):
    """A NumPy array as an eager tensor of its own dtype: ``EagerTensor`` directly is ~10 µs
    an argument against ~20-35 µs for ``tf.constant``'s dispatch (15 arguments a round)."""
    if _EagerTensor is None:  # a TF without the private constructor: the public route
        return tf.constant(a)
    return _EagerTensor(a, _context().device_name, None)


def _host(t) -> np.ndarray:
    """An output tensor as NumPy without a copy: a view of the tensor's own buffer, which the
    array keeps alive (``numpy()`` copies: a fresh [K, P] float64 array each round costs page
    faults). Falls back to the public copy if TF renames the private accessor."""
    view = getattr(t, "_numpy", None)
    return view() if view is not None else t.numpy()


class VectorizedTrainer:
    """Compiled local training + evaluation for one architecture and optimizer.

    Stateless: weights go in and come out, so one instance may be shared by every simulation
    (and every Streamlit session) with the same :class:`ModelSpec` and optimizer.
    """

    def __init__(self, spec: ModelSpec, task: str, optimizer: str = "sgd",
                 momentum: float = 0.9, dpsgd: bool = False):
        self.spec, self.task, self.optimizer = spec, task, optimizer
        self.momentum, self.dpsgd = float(momentum), dpsgd
        self.model = build_keras_model(spec, 0)
        self._stacked = stacked_forward(self.model)  # the forward pass for K clients at once
        if self._stacked is None:  # every model fedsim builds is covered (tests/test_cnn_vectorized.py)
            raise TypeError(f"fedsim.training.stacked does not cover model {spec.name!r}")
        self.shapes = [tuple(w.shape) for w in self.model.trainable_weights]
        self.sizes = [int(np.prod(s)) for s in self.shapes]
        self.num_params = int(sum(self.sizes))
        ydt = tf.int32 if task == "classification" else tf.float32
        d = spec.num_features
        data = [tf.TensorSpec([None, None, d], tf.float32), tf.TensorSpec([None, None], ydt)]
        # Weights go in as one flat row per model ([S, P]; float64, as the server keeps them)
        # and come out as flat rows, split into tensors in the graph: one conversion each way
        # instead of one per tensor.
        self._train = tf.function(self._train_impl, input_signature=[
            tf.TensorSpec([None, self.num_params], tf.float64), *data,
            tf.TensorSpec([None, None, None], tf.int32),
            tf.TensorSpec([None, None, None], tf.float32), tf.TensorSpec([None, None], tf.float32),
            tf.TensorSpec([None], tf.float32),
            *data, tf.TensorSpec([None], tf.int32),
            tf.TensorSpec([], tf.float32), tf.TensorSpec([], tf.float32),
            tf.TensorSpec([], tf.float32), tf.TensorSpec([], tf.float32),
            tf.TensorSpec([2], tf.int32),
            # DP-SGD only: the real examples in step order (flat_schedule), no padding
            *([tf.TensorSpec([None], tf.int32)] * 2 + [tf.TensorSpec([None], tf.float32),
               tf.TensorSpec([None], tf.int32), tf.TensorSpec([None, None], tf.int32)]
              if dpsgd else [])])
        self._eval = tf.function(self._eval_impl, input_signature=[
            [tf.TensorSpec([None, *s], tf.float32) for s in self.shapes], *data,
            tf.TensorSpec([None], tf.int32)])
        # One model on one set (the server's test set every round): a plain call, not a map
        # over a stack of copies (copies cost 16-20% of a 100-client round).
        self._eval_one = tf.function(self._eval_one_impl, input_signature=[
            tf.TensorSpec([self.num_params], tf.float32),
            tf.TensorSpec([None, d], tf.float32), tf.TensorSpec([None], ydt)])
        self._concrete: dict[int, tuple] = {}

    def _call(self, fn, *args):
        """``fn(*args)`` through its one concrete function, the arguments already tensors.

        Why: a ``tf.function`` with an ``input_signature`` binds and casts NumPy arguments in
        Python on every call — 3 of the 5.5 ms a 100-client MLP training call took, more than
        the 2.5 ms of compiled work. Converting each argument once to its spec's dtype
        (NumPy, then ``tf.constant``) and calling the concrete function directly skips that;
        it is the same graph, so the numbers are identical.
        """
        got = self._concrete.get(id(fn))
        if got is None:
            cf = fn.get_concrete_function()
            specs = tf.nest.flatten(cf.structured_input_signature[0])
            got = self._concrete[id(fn)] = (cf, [s.dtype.as_numpy_dtype for s in specs])
        cf, dtypes = got
        flat = tf.nest.flatten(list(args))
        tensors = [a if isinstance(a, tf.Tensor) else _to_tensor(np.asarray(a, dt))
                   for a, dt in zip(flat, dtypes, strict=True)]
        call_flat = getattr(cf, "_call_flat", None)
        if call_flat is not None:
            # The flat call the concrete function's own __call__ ends in, without re-binding
            # the nested arguments to its signature (~0.5 ms of a 100-client round). Same
            # graph, same outputs; the public call below is the fallback if TF renames it.
            return call_flat(tensors, cf.captured_inputs)
        return cf(*tf.nest.pack_sequence_as(list(args), tensors))

    # ------------------------------------------------------------------ graph pieces
    def _stacked_loss(self, params, x, y):
        """Per-example loss and metric ``[K, B]`` of K clients' models, each on its own rows."""
        out = self._stacked(params, x)
        kb = tf.shape(y)
        # Rank-2 logits: for rank 3, sparse_softmax_cross_entropy adds a shape Assert, and an
        # Assert makes the whole step loop a stateful While.
        loss, metric = self._loss_metric(tf.reshape(out, [kb[0] * kb[1], -1]), tf.reshape(y, [-1]))
        return tf.reshape(loss, kb), tf.reshape(metric, kb)

    def _loss_metric(self, out, y):
        if self.task == "classification":
            loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=out)
            metric = tf.cast(tf.equal(tf.argmax(out, -1, output_type=tf.int32), y), tf.float32)
        else:
            err = tf.squeeze(out, -1) - y
            loss = err * err
            metric = loss
        return loss, metric

    def _stacked_grads(self, params, wg, x, y, m, mu):
        """Every client's gradient of its masked mean batch loss (+ FedProx term), and that
        loss ``[K]``, in one tape.

        Client k's loss depends only on its own slice ``params[i][k]``, so the gradient of the
        sum over clients is, slice by slice, each client's own gradient (the same arithmetic as
        K separate tapes: the upstream gradient of each term is exactly 1). FedProx (Li et
        al., MLSys 2020) pulls each client's weights toward its start ``wg``.
        """
        with tf.GradientTape() as tape:
            tape.watch(params)
            loss, _ = self._stacked_loss(params, x, y)  # [K, B]
            data_loss = tf.reduce_sum(loss * m, 1) / tf.maximum(tf.reduce_sum(m, 1), 1.0)
            total = tf.reduce_sum(data_loss)
        # The FedProx term 0.5·μ·‖w − w_global‖² has the gradient μ(w − w_global), added here
        # rather than taped: the tape's own route, (0.5·μ)·(2·(w − w_global)), is the same
        # product bit for bit (scaling by 2 is exact), at half the kernels per step.
        return [g + mu * (p - s) for g, p, s in zip(tape.gradient(total, params), params, wg)], \
            data_loss

    def _dpsgd_grads(self, params, x, y, m, clip, noise, seed, denom):
        """Per-example clipped, summed and noised gradients, divided by ``denom [K]``, the
        expected batch size min(B, n_k)."""
        k, b = tf.shape(x)[0], tf.shape(x)[1]
        rep = [tf.repeat(p, b, axis=0) for p in params]  # [K·B, ...]
        xf = tf.reshape(x, [k * b, -1])
        yf = tf.reshape(y, [k * b])

        # Each (client, slot) pair is its own one-example "client": the gradient of the
        # summed losses w.r.t. the K·B repeated weights is the K·B per-example gradients.
        with tf.GradientTape() as tape:
            tape.watch(rep)
            losses = self._stacked_loss(rep, xf[:, None], yf[:, None])[0][:, 0]
            total = tf.reduce_sum(losses)
        grads = tape.gradient(total, rep)
        sq = tf.add_n([tf.reduce_sum(tf.reshape(g * g, [k * b, -1]), 1) for g in grads])
        factor = tf.minimum(1.0, clip / tf.maximum(tf.sqrt(sq), 1e-12)) * tf.reshape(m, [k * b])
        out = []
        for i, (g, wshape) in enumerate(zip(grads, self.shapes)):
            ones = [1] * len(wshape)  # static shapes: no shape kernels per step
            summed = tf.reduce_sum(tf.reshape(g * tf.reshape(factor, [-1, *ones]),
                                              [k, b, *wshape]), axis=1)
            z = tf.random.stateless_normal(tf.shape(summed), seed=seed + [i, 0], stddev=noise * clip)
            out.append((summed + z) / tf.reshape(denom, [-1, *ones]))
        loss = tf.reduce_sum(tf.reshape(losses, [k, b]) * m, 1) / tf.maximum(tf.reduce_sum(m, 1), 1.0)
        return out, loss

    def _dpsgd_grads_flat(self, params, xf, yf, cid, live, slot, m, clip, noise, seed, denom):
        """:meth:`_dpsgd_grads` on the step's real examples only: ``xf [M, d]``, ``yf [M]``,
        example i of client ``cid[i]``, ``live[i]`` 0 for the dummies after them
        (:data:`~fedsim.training.batching.FLAT_TAIL`; their clipped gradient and loss, times
        0, are exact zeros); ``slot [K·W]`` says which example sits in each slot of the
        padded ``[K, W]`` batch ``m`` (its mask; a padding slot names a dummy). The same per-example gradients (one-example "clients", each
        its own client's weights), the same clipping, the same sum per client (below), the
        same noise: the same bits, for the M = Σ_k |batch_k| examples drawn (plus 16) instead
        of K·W (W the widest batch of the round: ~1.7× as many at 10 digits clients).
        """
        k, w = tf.shape(m)[0], tf.shape(m)[1]
        rep = [tf.gather(p, cid) for p in params]  # [M, ...]: each example's client's weights
        with tf.GradientTape() as tape:
            tape.watch(rep)
            losses = self._stacked_loss(rep, xf[:, None], yf[:, None])[0][:, 0]
            total = tf.reduce_sum(losses)
        grads = tape.gradient(total, rep)
        n = tf.shape(xf)[0]
        sq = tf.add_n([tf.reduce_sum(tf.reshape(g * g, [n, -1]), 1) for g in grads])
        factor = tf.minimum(1.0, clip / tf.maximum(tf.sqrt(sq), 1e-12)) * live
        out = []
        for i, (g, wshape) in enumerate(zip(grads, self.shapes)):
            ones = [1] * len(wshape)
            # Gathered back into the padded [K, W, ...] layout for the sum: TF's reduction
            # over that axis keeps 4 partial sums when W >= 16 (Eigen's unrolled loop), so
            # the same op on the same shape is what gives the same bits (the padding slots
            # get a dummy's g·0, as the padded formulation's had their own g·0). A gather is
            # a row copy; ScatterNd was 6.4 of a 21 ms round.
            clipped = tf.gather(g * tf.reshape(factor, [-1, *ones]), slot)
            summed = tf.reduce_sum(tf.reshape(clipped, [k, w, *wshape]), axis=1)
            z = tf.random.stateless_normal(tf.shape(summed), seed=seed + [i, 0], stddev=noise * clip)
            out.append((summed + z) / tf.reshape(denom, [-1, *ones]))
        # The mean loss over each client's real examples, from the padded [K, W] layout (the
        # same row sums, bit for bit, as the padded formulation's).
        padded = tf.reshape(tf.gather(losses * live, slot), [k, w])
        loss = tf.reduce_sum(padded * m, 1) / tf.maximum(tf.reduce_sum(m, 1), 1.0)
        return out, loss

    def _split(self, flat):
        """``[S, P]`` → one ``[S, *shape]`` tensor per weight."""
        return [tf.reshape(part, [-1, *shape])
                for part, shape in zip(tf.split(flat, self.sizes, axis=1), self.shapes)]

    def _train_impl(self, start64, x, y, idx, emask, act, denom, xv, yv, vcount, lr, mu,
                    clip, noise, seed, *flat):
        k = tf.shape(x)[0]
        if self.dpsgd:  # every client's rows as one table, for the flat schedule's row ids
            rows, cids, lives, offs, slots = flat
            xall = tf.reshape(x, tf.concat([[-1], tf.shape(x)[2:]], 0))
            yall = tf.reshape(y, [-1])
        steps = tf.shape(idx)[1]
        # The global model arrives once ([1, P], float64 as the server keeps it) and is
        # copied to the K clients here, in the graph: a host-side broadcast was a [K, P] copy
        # and conversion every round. A per-client start ([K, P], the local-only baseline)
        # passes through unchanged. Training runs in float32 (the cast rounds to nearest,
        # as NumPy's does).
        start = [tf.broadcast_to(p, tf.concat([[k], tf.shape(p)[1:]], 0))
                 for p in self._split(tf.cast(start64, tf.float32))]
        params = list(start)
        slots1 = [tf.zeros_like(p) for p in params]
        slots2 = [tf.zeros_like(p) for p in params]
        count = tf.zeros([k], tf.float32)
        losses = tf.TensorArray(tf.float32, size=steps)
        weights = tf.TensorArray(tf.float32, size=steps)
        b1, b2, eps = 0.9, 0.999, 1e-7  # Keras 3 Adam defaults

        for t in tf.range(steps):
            mb = emask[:, t]
            if self.dpsgd:
                lo, hi = offs[t], offs[t + 1]  # step t's real examples, no padding slots
                r = rows[lo:hi]
                grads, loss = self._dpsgd_grads_flat(
                    params, tf.gather(xall, r), tf.gather(yall, r), cids[lo:hi],
                    lives[lo:hi], slots[t], mb, clip, noise, seed + tf.stack([0, t * 7919]), denom)
                # FedProx after privatization: its gradient depends on no example.
                grads = [g + mu * (p - s) for g, p, s in zip(grads, params, start)]
            else:
                xb = tf.gather(x, idx[:, t], batch_dims=1)
                yb = tf.gather(y, idx[:, t], batch_dims=1)
                grads, loss = self._stacked_grads(params, list(start), xb, yb, mb, mu)
            active = act[:, t]  # [K]: 1 for the client's real steps
            count = count + active
            new_params, new1, new2 = [], [], []
            for p, g, s1, s2, shape in zip(params, grads, slots1, slots2, self.shapes):
                # [K, 1, ...]: a static shape (no shape kernels in the step loop)
                a = tf.reshape(active, [-1] + [1] * len(shape))
                # Only the slots an optimizer has are updated (a masked slot update is four
                # kernels over every weight, per step); the others stay zeros, unread.
                if self.optimizer == "sgd":
                    upd, n1, n2 = -lr * g, None, None
                elif self.optimizer == "momentum":  # Keras SGD(momentum): v = m·v − lr·g; w += v
                    n1 = self.momentum * s1 - lr * g
                    upd, n2 = n1, None
                else:  # Adam, as Keras 3 writes it
                    n1 = s1 + (g - s1) * (1 - b1)
                    n2 = s2 + (g * g - s2) * (1 - b2)
                    c = tf.reshape(tf.maximum(count, 1.0), tf.shape(a))
                    alpha = lr * tf.sqrt(1 - tf.pow(b2, c)) / (1 - tf.pow(b1, c))
                    upd = -alpha * n1 / (tf.sqrt(n2) + eps)
                new_params.append(p + a * upd)
                new1.append(s1 if n1 is None else a * n1 + (1 - a) * s1)
                new2.append(s2 if n2 is None else a * n2 + (1 - a) * s2)
            params, slots1, slots2 = new_params, new1, new2
            losses = losses.write(t, loss * active)
            weights = weights.write(t, tf.reduce_sum(mb, 1))
        vloss, vmetric = self._eval_impl(params, xv, yv, vcount)
        flat = tf.concat([tf.reshape(p, [k, -1]) for p in params], 1)
        # The update local − start in float64 (the float32 weights cast exactly, one IEEE
        # subtraction: the bits NumPy computes), made here so the host gets it ready-made;
        # a [K, P] float64 array freshly allocated by NumPy each round cost ~0.5 ms of page
        # faults at 100 clients.
        delta = tf.cast(flat, tf.float64) - start64
        finite = tf.reduce_all(tf.math.is_finite(flat))
        return flat, delta, finite, losses.stack(), weights.stack(), vloss, vmetric

    def _eval_one_impl(self, flat, x, y):
        # One "client" whose N examples fill the grouped convolution's channel axis: 2× faster
        # than Keras's Conv2D on CPU for the 8×8 digits (a 1-channel conv is slow).
        loss, metric = self._stacked_loss(self._split(flat[None]), x[None], y[None])
        return tf.reduce_mean(loss), tf.reduce_mean(metric)

    def _eval_impl(self, params, x, y, count):
        """Mean loss and metric of K models, each on its own padded rows ``x[k, :count[k]]``."""
        n = tf.shape(x)[1]
        mask = tf.cast(tf.range(n)[None, :] < count[:, None], tf.float32)
        loss, metric = self._stacked_loss(params, x, y)
        denom = tf.maximum(tf.reduce_sum(mask, 1), 1.0)
        return tf.reduce_sum(loss * mask, 1) / denom, tf.reduce_sum(metric * mask, 1) / denom

    # ------------------------------------------------------------------ public API
    def train(self, start_weights: list[np.ndarray], data: ClientData, *, epochs: int,
              batch_size: int, lr: float, rng: np.random.Generator, prox_mu: float = 0.0,
              dp_clip: float = 0.0, dp_noise: float = 0.0, poisson: bool = False, seed: int = 0,
              round_: int = 0, stacked: bool = False) -> TrainResult:
        """Train every client in ``data``; one compiled call.

        ``start_weights`` is the global model, its tensors or its flat vector (every client
        starts from it), or with ``stacked=True`` one model per client ``[K, ...]`` per
        tensor (the local-only baseline). FedProx
        pulls each client toward its own starting point. ``poisson=True`` (DP-SGD) samples
        batches as :func:`~fedsim.training.batching.poisson_schedule` describes.
        """
        if poisson:
            idx, emask, act = poisson_schedule(data.counts, epochs, batch_size, rng)
        else:
            idx, emask = batch_schedule(data.counts, epochs, batch_size, rng)
            act = step_activity(emask)
        denom = np.minimum(batch_size, np.maximum(data.counts, 1)).astype(np.float32)
        # One copy of the global model ([1, P]; the graph broadcasts it to K), or one row
        # per client with stacked=True.
        start = flatten_stacked(start_weights) if stacked else flatten(start_weights)[None]
        flat, delta, finite, losses, weights, vloss, vmetric = self._call(
            self._train, start, data.x, data.y, idx,
            emask, act, denom, data.xv, data.yv, data.vcounts, np.float32(lr), np.float32(prox_mu),
            np.float32(dp_clip), np.float32(dp_noise),
            tf_seed(seed, "dpsgd", round_) if self.dpsgd else _NO_SEED,
            *(flat_schedule(idx, emask, data.x.shape[1]) if self.dpsgd else ()))
        losses, weights = losses.numpy().T, weights.numpy().T  # [K, T]
        rows, t = losses.shape
        per_epoch = t // epochs
        lw = (losses * weights).reshape(rows, epochs, per_epoch).sum(-1)
        ww = weights.reshape(rows, epochs, per_epoch).sum(-1)
        epoch_loss = lw / np.maximum(ww, 1)
        nov = data.vcounts == 0
        vl, vm = vloss.numpy().astype(np.float64), vmetric.numpy().astype(np.float64)
        vl[nov] = np.nan
        vm[nov] = np.nan
        return TrainResult(_host(flat), tuple(self.shapes), epoch_loss, vl, vm, _host(delta),
                           bool(finite))

    def evaluate(self, weights: list[np.ndarray] | np.ndarray, x, y) -> tuple[float, float]:
        """(loss, accuracy-or-MSE) of one model on a whole set (e.g. the server's test set).

        ``weights``: the model's tensors, or already one flat vector of ``num_params``.
        ``x``/``y`` may be tensors made once (the simulation keeps its test set as tensors).
        """
        flat = flatten(weights, np.float32)
        n = int(x.shape[0])
        if n <= EVAL_CHUNK:  # every built-in set but the image ones: one call, as always
            loss, metric = self._call(self._eval_one, flat, x, y)
            return float(loss), float(metric)
        # A large test set (FEMNIST's 40,419 images) in chunks: one call's activations for all
        # of it took 2.6 GB; the means are recombined weighted by each chunk's rows.
        total_loss = total_metric = 0.0
        for i in range(0, n, EVAL_CHUNK):
            j = min(n, i + EVAL_CHUNK)
            loss, metric = self._call(self._eval_one, flat, x[i:j], y[i:j])
            total_loss += float(loss) * (j - i)
            total_metric += float(metric) * (j - i)
        return total_loss / n, total_metric / n

    def eval_tensors(self, x: np.ndarray, y: np.ndarray) -> tuple:
        """``(x, y)`` as tensors in :meth:`evaluate`'s dtypes, to make once for a set that is
        evaluated again and again (the conversion is a copy of the whole set)."""
        ydt = np.int32 if self.task == "classification" else np.float32
        return tf.constant(np.asarray(x, np.float32)), tf.constant(np.asarray(y, ydt))

    def evaluate_many(self, stacked: list[np.ndarray], x: np.ndarray, y: np.ndarray):
        """Per-model (loss, metric) of K models on the same set: ``[K]`` each."""
        k = stacked[0].shape[0]
        xs = np.broadcast_to(x[None], (k, *x.shape))
        ys = np.broadcast_to(y[None], (k, *y.shape))
        loss, metric = self._call(self._eval, list(stacked), xs, ys, np.full(k, len(x), np.int32))
        return loss.numpy(), metric.numpy()

    def predict(self, weights: list[np.ndarray], x: np.ndarray) -> np.ndarray:
        """Model outputs (logits or values) for ``x`` — for drawing decision boundaries."""
        out, _ = self.model.stateless_call([tf.constant(w) for w in weights], [], tf.constant(x))
        return np.asarray(out)


#: Test rows evaluated in one compiled call (larger sets go in chunks of this many).
EVAL_CHUNK = 8192


def trace_ahead(trainer: "VectorizedTrainer") -> None:
    """Trace ``trainer``'s compiled functions now, before any round needs them.

    Every input signature has ``None`` dimensions (clients, examples, steps), so one trace per
    trainer serves every configuration that shares its model and optimizer. Tracing is the
    multi-second stall of a first round; the app calls this in a background thread at start
    for the presets' models (``ui.runtime``), so a class never waits on it.
    """
    trainer._train.get_concrete_function()
    trainer._eval.get_concrete_function()
    trainer._eval_one.get_concrete_function()


def warm_up(trainer: "VectorizedTrainer") -> None:
    """Run each of ``trainer``'s compiled functions once, on one all-zero example.

    Tracing (:func:`trace_ahead`) is not all of a first round: the first *call* of a traced
    function still optimizes its graph and makes its kernels (measured after a trace, digits
    MLP: the first evaluation 135 ms, the first round 272 ms, later ones 4-8 ms). The
    functions are stateless (weights in, weights out; DP-SGD's noise comes from the seed
    argument), so this changes no result: it only pays that cost ahead, in the app's preload
    thread.
    """
    d = trainer.spec.num_features
    ydt = np.int32 if trainer.task == "classification" else np.float32
    x, y, one = np.zeros((1, 1, d), np.float32), np.zeros((1, 1), ydt), np.ones(1, np.int32)
    zeros = [np.zeros(s, np.float32) for s in trainer.shapes]
    trainer.train(zeros, ClientData(x, y, one, x, y, one), epochs=1, batch_size=1, lr=0.0,
                  rng=np.random.default_rng(0))
    trainer.evaluate(zeros, x[0], y[0])
    trainer.evaluate_many([z[None] for z in zeros], x[0], y[0])


@lru_cache(maxsize=32)
def _cached_trainer(spec: ModelSpec, task: str, optimizer: str, momentum: float,
                    dpsgd: bool) -> VectorizedTrainer:
    return VectorizedTrainer(spec, task, optimizer, momentum, dpsgd)


_key_locks: dict[tuple, threading.Lock] = {}
_key_locks_guard = threading.Lock()


def get_trainer(spec: ModelSpec, task: str, optimizer: str, momentum: float,
                dpsgd: bool) -> VectorizedTrainer:
    """Process-wide cache: building and tracing costs ~0.5 s, reuse it across simulations.

    Each key is built once even when many threads ask for it at the same instant (a class of
    Streamlit sessions opening the same link): the others wait for the first and share its
    trainer. An ``lru_cache`` alone lets every concurrent miss build its own trainer, and each
    then traced its own functions: 10 sessions starting at once built 9 and traced each
    (``bench.load_bench --cold``).
    """
    key = (spec, task, optimizer, momentum, dpsgd)
    with _key_locks_guard:
        lock = _key_locks.setdefault(key, threading.Lock())
    with lock:
        return _cached_trainer(spec, task, optimizer, momentum, dpsgd)


__all__ = ["ClientData", "TrainResult", "VectorizedTrainer", "batch_schedule", "get_trainer",
           "trace_ahead", "warm_up"]
