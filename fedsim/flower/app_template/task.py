"""Model, data and local training for the exported fedsim experiment (needs only TensorFlow).

Written by ``python -m fedsim flower export``. The Keras model is the one fedsim trains (same
layers, same order of weight tensors); the initial weights, every client's rows and the
server's test set are the arrays fedsim computed, shipped in the data folder as ``.npz`` files
(Flower's app bundles only carry code and configuration, so data stays beside the app, as it
would on a real client: point a SuperNode at its own file with ``--node-config "data-dir=..."``).
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


@lru_cache(maxsize=1)
def settings() -> dict:
    """The experiment, as fedsim exported it (``settings.json`` next to this file)."""
    return json.loads((HERE / "settings.json").read_text())


def option(context, key: str, default):
    """A run-config value (``flwr run --run-config 'key=value'``) or the exported default."""
    try:
        value = context.run_config.get(key)
    except AttributeError:
        value = None
    return default if value in (None, "") else value


def data_dir(context) -> Path:
    """Where this node's arrays live: node config, then run config, then the export folder."""
    node = getattr(context, "node_config", {}) or {}
    if node.get("data-dir"):
        return Path(str(node["data-dir"]))
    return Path(str(option(context, "data-dir", settings()["data_dir"])))


def build_model(spec: dict):
    """The fedsim architecture as a Keras model (weights are set from the shipped arrays)."""
    import keras

    inputs = keras.Input(shape=(spec["num_features"],), name="features")
    out_units = spec["num_outputs"]
    name = spec["name"]
    if name == "logistic":
        out = keras.layers.Dense(out_units, name="dense_0")(inputs)
    elif name in ("mlp", "seed_mlp"):
        hidden = 10 if name == "seed_mlp" else spec["hidden"]
        z = keras.layers.Dense(hidden, activation="relu", name="dense_0")(inputs)
        out = keras.layers.Dense(out_units, name="dense_1")(z)
    elif name == "cnn":
        h, w = spec.get("image_shape") or (8, 8)
        z = keras.layers.Reshape((h, w, 1))(inputs)
        z = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv_0")(z)
        z = keras.layers.MaxPooling2D(2)(z)
        out = keras.layers.Dense(out_units, name="dense_1")(keras.layers.Flatten()(z))
    else:
        raise ValueError(f"unknown model {name!r}")
    return keras.Model(inputs, out, name=name)


def initial_weights(context=None) -> list[np.ndarray]:
    with np.load(data_dir(context) / "initial_weights.npz") as z:
        return [z[f"w{i}"].astype(np.float32) for i in range(len(z.files))]


def load_client(context, partition_id: int):
    with np.load(data_dir(context) / f"client_{partition_id}.npz") as z:
        return z["x_train"], z["y_train"], z["x_val"], z["y_val"]


def load_test(context):
    with np.load(data_dir(context) / "server_test.npz") as z:
        return z["x_test"], z["y_test"]


class Trainer:
    """Local training as fedsim does it: shuffled mini-batches, ceil(n/B) steps per epoch, the
    mean loss over the batch's examples, SGD / SGD+momentum / Adam (Keras 3 formulas, state
    reset every round) and FedProx's ``mu/2·||w − w_global||²``."""

    def __init__(self, spec: dict, task: str, optimizer: str, momentum: float):
        import tensorflow as tf

        self.tf, self.task, self.optimizer = tf, task, optimizer
        self.momentum = float(momentum)
        self.model = build_model(spec)
        self.vars = list(self.model.trainable_variables)
        self.start = [tf.Variable(tf.zeros_like(v), trainable=False) for v in self.vars]
        self.s1 = [tf.Variable(tf.zeros_like(v), trainable=False) for v in self.vars]
        self.s2 = [tf.Variable(tf.zeros_like(v), trainable=False) for v in self.vars]
        self.count = tf.Variable(0.0, trainable=False)
        self._step = tf.function(self._step_impl, reduce_retracing=True)
        self._eval = tf.function(self._eval_impl, reduce_retracing=True)

    def _losses(self, x, y):
        tf = self.tf
        out = self.model(x, training=True)
        if self.task == "classification":
            loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.cast(y, tf.int32),
                                                                  logits=out)
            metric = tf.cast(tf.equal(tf.argmax(out, -1, output_type=tf.int32),
                                      tf.cast(y, tf.int32)), tf.float32)
        else:
            err = tf.squeeze(out, -1) - y
            loss = metric = err * err
        return loss, metric

    def _step_impl(self, x, y, lr, mu):
        tf = self.tf
        with tf.GradientTape() as tape:
            loss, _ = self._losses(x, y)
            data_loss = tf.reduce_mean(loss)
            prox = 0.5 * mu * tf.add_n([tf.reduce_sum(tf.square(v - s))
                                        for v, s in zip(self.vars, self.start)])
            total = data_loss + prox
        grads = tape.gradient(total, self.vars)
        self.count.assign_add(1.0)
        b1, b2, eps = 0.9, 0.999, 1e-7
        for v, g, s1, s2 in zip(self.vars, grads, self.s1, self.s2):
            if self.optimizer == "sgd":
                v.assign_sub(lr * g)
            elif self.optimizer == "momentum":
                s1.assign(self.momentum * s1 - lr * g)
                v.assign_add(s1)
            else:
                s1.assign(s1 + (g - s1) * (1 - b1))
                s2.assign(s2 + (g * g - s2) * (1 - b2))
                alpha = lr * tf.sqrt(1 - tf.pow(b2, self.count)) / (1 - tf.pow(b1, self.count))
                v.assign_sub(alpha * s1 / (tf.sqrt(s2) + eps))
        return data_loss

    def _eval_impl(self, x, y):
        loss, metric = self._losses(x, y)
        return self.tf.reduce_mean(loss), self.tf.reduce_mean(metric)

    def set_weights(self, weights):
        for v, w in zip(self.vars, weights):
            v.assign(w)

    def get_weights(self) -> list[np.ndarray]:
        return [np.asarray(v.numpy(), np.float32) for v in self.vars]

    def fit(self, weights, x, y, *, epochs: int, batch_size: int, lr: float, mu: float,
            rng: np.random.Generator) -> list[float]:
        """Train from ``weights``; returns the mean training loss of each local epoch."""
        tf = self.tf
        self.set_weights(weights)
        for s, w in zip(self.start, weights):
            s.assign(w)
        for s in (*self.s1, *self.s2):
            s.assign(tf.zeros_like(s))
        self.count.assign(0.0)
        n = len(x)
        lr_t, mu_t = tf.constant(lr, tf.float32), tf.constant(mu, tf.float32)
        epoch_loss = []
        for _ in range(epochs):
            order = rng.permutation(n)
            total, seen = 0.0, 0
            for start in range(0, n, batch_size):
                b = order[start:start + batch_size]
                loss = float(self._step(tf.constant(x[b]), tf.constant(y[b]), lr_t, mu_t))
                total, seen = total + loss * len(b), seen + len(b)
            epoch_loss.append(total / max(seen, 1))
        return epoch_loss

    def evaluate(self, weights, x, y) -> tuple[float, float]:
        """(mean loss, accuracy or MSE) of ``weights`` on ``x, y`` (nan when empty)."""
        if len(x) == 0:
            return float("nan"), float("nan")
        self.set_weights(weights)
        loss, metric = self._eval(self.tf.constant(x), self.tf.constant(y))
        return float(loss), float(metric)


_TRAINERS: dict = {}


def trainer() -> Trainer:
    """One trainer per process (a Ray actor or a SuperNode reuses it across rounds)."""
    s = settings()
    key = "default"
    if key not in _TRAINERS:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        t = s["training"]
        _TRAINERS[key] = Trainer(s["model"], s["task"], t["optimizer"], t["momentum"])
    return _TRAINERS[key]
