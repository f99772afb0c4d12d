"""Keras model definitions (the article's step 1, "initialize the model").

Keras stays the single definition of each architecture; the engine never calls ``fit``: it runs
the model through ``model.stateless_call`` with per-client weights (see :mod:`fedsim.training.trainer`).
Initial weights come from seeded initialisers, so the same seed gives the same global model.

- ``logistic``: one Dense layer (multinomial logistic regression).
- ``mlp``: Dense(hidden, relu) → Dense(classes).
- ``cnn``: for the 8×8 digits: Conv2D(8, 3×3, relu) → MaxPool(2) → Dense(classes).
- ``seed_mlp``: the article's regression model, Dense(10, relu) → Dense(1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fedsim.rng import int_seed


@dataclass(frozen=True)
class ModelSpec:
    """Everything that determines an architecture (and so a compiled trainer)."""

    name: str
    num_features: int
    num_outputs: int  # classes, or 1 for regression
    hidden: int = 32
    image_shape: tuple[int, int] | None = None


def build_keras_model(spec: ModelSpec, seed: int = 0):
    """A built Keras model for ``spec`` with seeded initial weights."""
    from fedsim.training import tf_runtime  # noqa: F401  (TensorFlow's threading, before its runtime starts)
    import keras

    def dense(units, i, activation=None):
        return keras.layers.Dense(
            units, activation=activation, name=f"dense_{i}",
            kernel_initializer=keras.initializers.GlorotUniform(seed=int_seed(seed, "init", i)),
            bias_initializer="zeros")

    inputs = keras.Input(shape=(spec.num_features,), name="features")
    if spec.name == "logistic":
        out = dense(spec.num_outputs, 0)(inputs)
    elif spec.name in ("mlp", "seed_mlp"):
        hidden = 10 if spec.name == "seed_mlp" else spec.hidden
        out = dense(spec.num_outputs, 1)(dense(hidden, 0, "relu")(inputs))
    elif spec.name == "cnn":
        h, w = spec.image_shape or (8, 8)
        z = keras.layers.Reshape((h, w, 1))(inputs)
        z = keras.layers.Conv2D(
            8, 3, padding="same", activation="relu", name="conv_0",
            kernel_initializer=keras.initializers.GlorotUniform(seed=int_seed(seed, "init", 0)))(z)
        z = keras.layers.MaxPooling2D(2)(z)
        out = dense(spec.num_outputs, 1)(keras.layers.Flatten()(z))
    else:  # config validation makes this unreachable
        raise ValueError(f"model.name: got {spec.name!r}")
    return keras.Model(inputs, out, name=spec.name)


def initial_weights(spec: ModelSpec, seed: int) -> list[np.ndarray]:
    """The seeded initial global weights as float32 arrays."""
    return [np.asarray(w, np.float32) for w in build_keras_model(spec, seed).get_weights()]
