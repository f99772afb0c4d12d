"""The vectorized trainer equals a per-client reference loop on the same batch order."""

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from fedsim.training.trainer import ClientData, VectorizedTrainer, batch_schedule  # noqa: E402
from fedsim.training.models import ModelSpec, build_keras_model, initial_weights  # noqa: E402


def _clients(sizes, d=5, classes=3, seed=0, regression=False):
    rng = np.random.default_rng(seed)
    xs = [rng.normal(size=(n, d)).astype(np.float32) for n in sizes]
    if regression:
        ys = [rng.normal(size=n).astype(np.float32) for n in sizes]
    else:
        ys = [rng.integers(0, classes, size=n).astype(np.int32) for n in sizes]
    return ClientData.build(xs, ys, [x[:2] for x in xs], [y[:2] for y in ys]), xs, ys


def _reference(spec, task, w0, xs, ys, idx, emask, lr, opt, mu=0.0):
    """One Keras model per client, stepped batch by batch with a Keras optimizer."""
    out = []
    for k in range(len(xs)):
        model = build_keras_model(spec, 0)
        model.set_weights(w0)
        optim = {"sgd": lambda: keras.optimizers.SGD(lr),
                 "momentum": lambda: keras.optimizers.SGD(lr, momentum=0.9),
                 "adam": lambda: keras.optimizers.Adam(lr)}[opt]()
        start = [tf.constant(w) for w in w0]
        for t in range(idx.shape[1]):
            m = emask[k, t] > 0
            if not m.any():
                continue
            rows = idx[k, t][m]
            xb, yb = xs[k][rows], ys[k][rows]
            with tf.GradientTape() as tape:
                o = model(xb)
                if task == "classification":
                    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(yb, o))
                else:
                    loss = tf.reduce_mean(tf.square(tf.squeeze(o, -1) - yb))
                loss += 0.5 * mu * tf.add_n([tf.reduce_sum(tf.square(v - s))
                                             for v, s in zip(model.trainable_weights, start)])
            g = tape.gradient(loss, model.trainable_weights)
            optim.apply_gradients(zip(g, model.trainable_weights))
        out.append([np.asarray(v) for v in model.trainable_weights])
    return out


@pytest.mark.parametrize("opt, mu", [("sgd", 0.0), ("momentum", 0.0), ("adam", 0.0), ("sgd", 0.5)])
def test_vectorized_equals_per_client_loop(opt, mu):
    spec = ModelSpec("mlp", 5, 3, hidden=4)
    data, xs, ys = _clients([7, 3, 12])  # unequal sizes: padding and masked steps
    w0 = initial_weights(spec, 1)
    tr = VectorizedTrainer(spec, "classification", opt)
    rng = np.random.default_rng(5)
    res = tr.train(w0, data, epochs=2, batch_size=4, lr=0.1, rng=rng, prox_mu=mu)
    idx, emask = batch_schedule(data.counts, 2, 4, np.random.default_rng(5))
    ref = _reference(spec, "classification", w0, xs, ys, idx, emask, 0.1, opt, mu)
    for k in range(3):
        for a, b in zip(res.weights, ref[k]):
            np.testing.assert_allclose(a[k], b, atol=2e-6)


def test_regression_seed_mlp_matches_reference():
    spec = ModelSpec("seed_mlp", 5, 1)
    data, xs, ys = _clients([9, 5], regression=True)
    w0 = initial_weights(spec, 2)
    tr = VectorizedTrainer(spec, "regression", "sgd")
    res = tr.train(w0, data, epochs=1, batch_size=3, lr=0.05, rng=np.random.default_rng(0))
    idx, emask = batch_schedule(data.counts, 1, 3, np.random.default_rng(0))
    ref = _reference(spec, "regression", w0, xs, ys, idx, emask, 0.05, "sgd")
    for k in range(2):
        for a, b in zip(res.weights, ref[k]):
            np.testing.assert_allclose(a[k], b, atol=2e-6)


def test_batch_schedule_covers_each_client_once_per_epoch():
    counts = np.array([5, 1, 9])
    idx, emask = batch_schedule(counts, 3, 4, np.random.default_rng(0))
    assert idx.shape == (3, 3 * 3, 4)
    for k, n in enumerate(counts):
        per_epoch = idx[k].reshape(3, -1)[emask[k].reshape(3, -1) > 0].reshape(3, n)
        for e in range(3):
            assert sorted(per_epoch[e]) == list(range(n))


def test_cnn_trains_vectorized():
    spec = ModelSpec("cnn", 64, 10, image_shape=(8, 8))
    data, _, _ = _clients([6, 4], d=64, classes=10)
    tr = VectorizedTrainer(spec, "classification", "sgd")
    w0 = initial_weights(spec, 0)
    res = tr.train(w0, data, epochs=1, batch_size=4, lr=0.1, rng=np.random.default_rng(0))
    assert res.weights[0].shape == (2, *w0[0].shape)
    assert np.isfinite(res.epoch_loss).all()
    assert not np.allclose(res.weights[0][0], w0[0])


def test_dpsgd_clips_per_example_gradients():
    """With zero noise and a tiny clip, one SGD step moves weights by at most lr·C."""
    spec = ModelSpec("logistic", 5, 3)
    data, _, _ = _clients([4, 4])
    tr = VectorizedTrainer(spec, "classification", "sgd", dpsgd=True)
    w0 = initial_weights(spec, 0)
    res = tr.train(w0, data, epochs=1, batch_size=4, lr=1.0, rng=np.random.default_rng(0),
                   dp_clip=0.01, dp_noise=0.0)
    for k in range(2):
        moved = np.sqrt(sum(((r[k] - w) ** 2).sum() for r, w in zip(res.weights, w0)))
        assert moved <= 0.01 + 1e-6 and moved > 0.001


def test_single_client_cnn_round_matches_two_client_run():
    """K=1 is padded internally (a TF vectorized_map quirk); results must be the client's own."""
    spec = ModelSpec("cnn", 64, 10, image_shape=(8, 8))
    data, _, _ = _clients([6, 6], d=64, classes=10)
    tr = VectorizedTrainer(spec, "classification", "sgd")
    w0 = initial_weights(spec, 0)
    one = data.take(np.array([0]))
    r1 = tr.train(w0, one, epochs=1, batch_size=4, lr=0.1, rng=np.random.default_rng(3))
    assert r1.weights[0].shape[0] == 1 and r1.epoch_loss.shape == (1, 1)
    assert r1.val_loss.shape == (1,)
