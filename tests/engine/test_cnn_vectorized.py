"""The CNN's client-stacked formulation (fedsim.training.stacked) against Keras's own Conv2D/MaxPool.

The trainer runs convolutional models as one grouped convolution over all clients' images with
the max-pool fused in as offset planes (no ``vectorized_map``, so no per-client while-loop for
``Conv2DBackpropFilter``). These tests hold it to Keras: forward outputs, per-client training
rounds against one Keras model per client, DP-SGD's per-example gradients, a single client
with no workaround, and the compiled graph has no ``pfor`` fallback left in it.
"""

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from test_trainer import _clients, _reference  # noqa: E402  (the per-client Keras reference)

from fedsim.training.trainer import ClientData, VectorizedTrainer, batch_schedule  # noqa: E402
from fedsim.training.models import ModelSpec, build_keras_model, initial_weights  # noqa: E402
from fedsim.training.stacked import stacked_forward  # noqa: E402

CNN = ModelSpec("cnn", 64, 10, image_shape=(8, 8))


def _jittered(model, k, seed=0, scale=0.2):
    """K different weight sets for ``model`` (stacked ``[K, ...]``), biases non-zero."""
    rng = np.random.default_rng(seed)
    return [np.stack([w + scale * rng.normal(size=w.shape).astype(np.float32)
                      for _ in range(k)]) for w in model.get_weights()]


def _keras_outputs(model, stacked, xs):
    out = []
    for k, x in enumerate(xs):
        model.set_weights([w[k] for w in stacked])
        out.append(np.asarray(model(x)))
    return np.stack(out)


def _digits(n_clients, per_client, seed=0):
    """Real digits rows (standardized as fedsim does): many all-zero border patches, so
    max-pool windows with exact ties."""
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    x = ((x - x.mean(0)) / np.where(x.std(0) > 0, x.std(0), 1.0)).astype(np.float32)
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(x), n_clients * per_client, replace=False).reshape(n_clients, -1)
    xs, ys = [x[r] for r in rows], [y[r].astype(np.int32) for r in rows]
    return ClientData.build(xs, ys, [a[:3] for a in xs], [b[:3] for b in ys]), xs, ys


def _custom_models():
    """Chains that exercise the other code paths: valid padding with an unused border row,
    overlapping pool windows, C > 1 input channels, strides, a pool that cannot be fused
    (tanh before it), a convolution without bias, a convolution after a Dense."""
    init = keras.initializers.GlorotUniform(seed=3)

    def conv(*a, **k):
        return keras.layers.Conv2D(*a, kernel_initializer=init, bias_initializer="glorot_uniform",
                                   **k)

    L = keras.layers
    a = keras.Sequential([keras.Input((63,)), L.Reshape((7, 9, 1)),
                          conv(4, 3, padding="valid", activation="relu"),  # 5×7
                          L.MaxPooling2D(2),  # 2×3, drops the last row and column
                          conv(3, 2, strides=2, padding="same", activation="relu"),  # C = 4
                          L.Flatten(), L.Dense(5, activation="relu"), L.Dense(3)])
    b = keras.Sequential([keras.Input((2 * 36,)), L.Reshape((6, 6, 2)),
                          conv(5, (3, 2), padding="same", activation="relu"),
                          L.MaxPooling2D(pool_size=3, strides=2),  # overlapping windows
                          conv(2, 2, padding="valid", activation="tanh", use_bias=False),
                          L.MaxPooling2D(1),  # after tanh: TF's own max_pool2d
                          L.Flatten(), L.Dense(4)])
    c = keras.Sequential([keras.Input((16,)), L.Dense(32, activation="relu"),
                          L.Reshape((4, 4, 2)), conv(3, 3, padding="same"), L.Flatten(),
                          L.Dense(2)])
    return [a, b, c]


# --------------------------------------------------------------------------- forward pass
def test_forward_equals_keras_on_the_digits_cnn():
    model = build_keras_model(CNN, 0)
    fwd = stacked_forward(model)
    assert fwd is not None
    data, xs, _ = _digits(4, 9)
    stacked = _jittered(model, 4)
    out = fwd([tf.constant(w) for w in stacked], tf.constant(np.stack(xs))).numpy()
    np.testing.assert_allclose(out, _keras_outputs(model, stacked, xs), rtol=1e-5, atol=2e-6)


@pytest.mark.parametrize("which", [0, 1, 2])
def test_forward_equals_keras_on_other_conv_chains(which):
    model = _custom_models()[which]
    fwd = stacked_forward(model)
    assert fwd is not None
    rng = np.random.default_rng(which)
    d = model.inputs[0].shape[1]
    xs = [rng.normal(size=(5, d)).astype(np.float32) for _ in range(3)]
    stacked = _jittered(model, 3, seed=which)
    out = fwd([tf.constant(w) for w in stacked], tf.constant(np.stack(xs))).numpy()
    np.testing.assert_allclose(out, _keras_outputs(model, stacked, xs), rtol=1e-5, atol=2e-6)


def test_every_built_in_model_is_stacked_and_others_are_refused():
    L = keras.layers
    for name in ("logistic", "mlp", "seed_mlp", "cnn"):
        spec = ModelSpec(name, 64, 10, hidden=4, image_shape=(8, 8) if name == "cnn" else None)
        assert stacked_forward(build_keras_model(spec, 0)) is not None, name
    dilated = keras.Sequential([keras.Input((36,)), L.Reshape((6, 6, 1)),
                                L.Conv2D(2, 3, dilation_rate=2), L.Flatten(), L.Dense(2)])
    normed = keras.Sequential([keras.Input((36,)), L.Reshape((6, 6, 1)), L.Conv2D(2, 3),
                               L.BatchNormalization(), L.Flatten(), L.Dense(2)])
    assert stacked_forward(dilated) is None and stacked_forward(normed) is None


# --------------------------------------------------------------------------- training rounds
@pytest.mark.parametrize("opt, mu", [("sgd", 0.0), ("momentum", 0.0), ("adam", 0.0), ("sgd", 0.5)])
def test_cnn_round_equals_per_client_keras_loop(opt, mu):
    """Unequal client sizes (padding and masked steps), two epochs, every optimizer."""
    data, xs, ys = _clients([7, 3, 12], d=64, classes=10)
    w0 = initial_weights(CNN, 1)
    tr = VectorizedTrainer(CNN, "classification", opt)
    res = tr.train(w0, data, epochs=2, batch_size=4, lr=0.1, rng=np.random.default_rng(5),
                   prox_mu=mu)
    idx, emask = batch_schedule(data.counts, 2, 4, np.random.default_rng(5))
    ref = _reference(CNN, "classification", w0, xs, ys, idx, emask, 0.1, opt, mu)
    for k in range(3):
        for a, b in zip(res.weights, ref[k]):
            np.testing.assert_allclose(a[k], b, atol=5e-6)


def test_cnn_round_on_real_digits_with_pooling_ties():
    """Standardized digits have all-zero patches, so max-pool windows tie exactly; the
    gradient must still go where Keras's MaxPoolGrad sends it."""
    data, xs, ys = _digits(3, 20, seed=1)
    w0 = initial_weights(CNN, 2)
    tr = VectorizedTrainer(CNN, "classification", "sgd")
    res = tr.train(w0, data, epochs=3, batch_size=8, lr=0.1, rng=np.random.default_rng(7))
    idx, emask = batch_schedule(data.counts, 3, 8, np.random.default_rng(7))
    ref = _reference(CNN, "classification", w0, xs, ys, idx, emask, 0.1, "sgd")
    for k in range(3):
        for a, b in zip(res.weights, ref[k]):
            np.testing.assert_allclose(a[k], b, atol=5e-6)
    # validation loss/accuracy of the trained local models, against Keras on the same rows
    model = build_keras_model(CNN, 0)
    for k in range(3):
        model.set_weights(ref[k])
        logits = np.asarray(model(data.xv[k, :3]))
        loss = tf.nn.sparse_softmax_cross_entropy_with_logits(data.yv[k, :3], logits)
        assert res.val_loss[k] == pytest.approx(float(tf.reduce_mean(loss)), abs=2e-5)


def test_pooling_ties_send_the_gradient_where_keras_does():
    """A centre-only kernel makes the convolution output the pixel itself, so small-integer
    images tie inside pool windows while the tied positions' patches differ: the kernel's
    other taps then learn from whichever position the tie went to (Keras: the first in
    row-major order)."""
    model = build_keras_model(CNN, 0)
    rng = np.random.default_rng(8)
    w = model.get_weights()
    kernel = np.zeros_like(w[0])
    kernel[1, 1, 0, :] = np.linspace(0.5, 1.5, kernel.shape[-1])
    weights = [kernel, np.full_like(w[1], 0.1), w[2], w[3]]
    xs = rng.integers(0, 3, size=(2, 6, 64)).astype(np.float32)
    ys = rng.integers(0, 10, size=(2, 6)).astype(np.int32)
    fwd = stacked_forward(model)
    params = [tf.constant(np.stack([v, v])) for v in weights]
    with tf.GradientTape() as tape:
        tape.watch(params)
        loss = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(
            ys, fwd(params, tf.constant(xs))))
    grads = tape.gradient(loss, params)
    model.set_weights(weights)
    for k in range(2):
        with tf.GradientTape() as tape:
            ref = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(
                ys[k], model(xs[k])))
        for a, b in zip(grads, tape.gradient(ref, model.trainable_weights)):
            np.testing.assert_allclose(np.asarray(a)[k], np.asarray(b), atol=1e-5)


def test_cnn_global_evaluation_equals_keras():
    data, xs, ys = _digits(1, 60, seed=2)
    tr = VectorizedTrainer(CNN, "classification", "sgd")
    model = build_keras_model(CNN, 0)
    w = [v[0] for v in _jittered(model, 1, seed=4)]
    loss, acc = tr.evaluate(w, xs[0], ys[0])
    model.set_weights(w)
    logits = np.asarray(model(xs[0]))
    ref = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(ys[0], logits))
    assert loss == pytest.approx(float(ref), abs=1e-5)
    assert acc == pytest.approx(float(np.mean(logits.argmax(-1) == ys[0])))
    many_loss, _ = tr.evaluate_many([np.stack([v, v]) for v in w], xs[0], ys[0])
    np.testing.assert_allclose(many_loss, [loss, loss], atol=1e-5)


def test_dpsgd_per_example_gradients_are_keras_per_example_gradients():
    """DP-SGD's K·B per-example gradients (one grouped convolution over every example),
    clipped to C and summed, against Keras's gradient of each example alone."""
    data, xs, ys = _clients([4, 3], d=64, classes=10)
    tr = VectorizedTrainer(CNN, "classification", "sgd", dpsgd=True)
    model = build_keras_model(CNN, 0)
    stacked = _jittered(model, 2, seed=6)
    clip = 0.5
    x = tf.constant(data.x[:, :4])
    y = tf.constant(data.y[:, :4])
    m = tf.constant((np.arange(4)[None] < data.counts[:, None]).astype(np.float32))
    grads, _ = tf.function(tr._dpsgd_grads)(
        [tf.constant(w) for w in stacked], x, y, m, tf.constant(clip), tf.constant(0.0),
        tf.constant([1, 2]), tf.ones([2]))
    for k in range(2):
        model.set_weights([w[k] for w in stacked])
        total = [np.zeros_like(w[k]) for w in stacked]
        for i in range(int(data.counts[k])):
            with tf.GradientTape() as tape:
                out = model(xs[k][i:i + 1])
                loss = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(
                    ys[k][i:i + 1], out))
            g = [np.asarray(v) for v in tape.gradient(loss, model.trainable_weights)]
            norm = np.sqrt(sum((v ** 2).sum() for v in g))
            total = [t + v * min(1.0, clip / norm) for t, v in zip(total, g)]
        for a, b in zip(grads, total):
            np.testing.assert_allclose(np.asarray(a)[k], b, atol=5e-6)


# --------------------------------------------------------------------------- one client
@pytest.mark.parametrize("spec", [CNN, ModelSpec("mlp", 64, 10, hidden=6),
                                  ModelSpec("logistic", 64, 10)], ids=lambda s: s.name)
@pytest.mark.parametrize("dpsgd", [False, True])
def test_a_single_client_trains_as_it_does_beside_others(spec, dpsgd):
    """K = 1 runs as itself (the old trainer padded it with a copy for vectorized_map's sake):
    its weights, losses and validation numbers are client 0's in a two-client call."""
    data, _, _ = _clients([6, 5], d=64, classes=10)
    tr = VectorizedTrainer(spec, "classification", "adam", dpsgd=dpsgd)
    w0 = initial_weights(spec, 0)
    kw = dict(epochs=2, batch_size=4, lr=0.05, dp_clip=1.0 if dpsgd else 0.0, dp_noise=0.0,
              poisson=dpsgd)
    both = tr.train(w0, data, rng=np.random.default_rng(3), **kw)
    one = tr.train(w0, data.take(np.array([0])), rng=_FirstOfTwo(np.random.default_rng(3)), **kw)
    assert one.weights[0].shape[0] == 1 and one.epoch_loss.shape == (1, 2)
    for a, b in zip(one.weights, both.weights):
        np.testing.assert_allclose(a[0], b[0], atol=1e-6)
    np.testing.assert_allclose(one.epoch_loss[0], both.epoch_loss[0], atol=1e-6)
    np.testing.assert_allclose(one.val_loss[0], both.val_loss[0], atol=1e-6)
    loss, metric = tr.evaluate_many([w[:1] for w in both.weights], data.x[0, :6], data.y[0, :6])
    assert loss.shape == (1,) and np.isfinite(loss).all()


class _FirstOfTwo:
    """A Generator stand-in: a one-client schedule gets the draws client 0 got among two.

    Both schedules make one ``random(size)`` call with a client axis (of size 1 here, the only
    axis of size 1 in these tests); draw it with 2 and keep client 0's slice.
    """

    def __init__(self, rng):
        self._rng = rng

    def random(self, size):
        axis = list(size).index(1)
        two = list(size)
        two[axis] = 2
        return np.take(self._rng.random(two), [0], axis=axis)


# --------------------------------------------------------------------------- the compiled graph
def _graph_nodes(fn):
    gd = fn.get_concrete_function().graph.as_graph_def()
    return list(gd.node) + [n for f in gd.library.function for n in f.node_def]


@pytest.mark.parametrize("dpsgd", [False, True])
def test_cnn_graph_has_no_vectorized_map_fallback(dpsgd):
    """No ``pfor`` (vectorized_map) node anywhere in the CNN's training graph, the kernel
    gradient is one grouped-convolution op, and the step loop is the only loop."""
    tr = VectorizedTrainer(CNN, "classification", "sgd", dpsgd=dpsgd)
    nodes = _graph_nodes(tr._train)
    assert not [n.name for n in nodes if "pfor" in n.name]
    ops = [n.op for n in nodes]
    assert "DepthwiseConv2dNativeBackpropFilter" in ops and "Conv2DBackpropFilter" not in ops
    assert sum(o in ("While", "StatelessWhile") for o in ops) == 1
    # the MLP's graph has no pfor either (one stacked formulation for every model)
    mlp = VectorizedTrainer(ModelSpec("mlp", 64, 10, hidden=4), "classification", "sgd",
                            dpsgd=dpsgd)
    assert not [n.name for n in _graph_nodes(mlp._train) if "pfor" in n.name]
