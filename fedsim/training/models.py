"""Keras model definitions (the article's step 1, "initialize the model").

Keras stays the single definition of each architecture; the engine never calls ``fit``: it runs
the model through ``model.stateless_call`` with per-client weights (see :mod:`fedsim.training.trainer`).
Initial weights come from seeded initialisers, so the same seed gives the same global model.

- ``logistic``: one Dense layer (multinomial logistic regression).
- ``mlp``: Dense(hidden, relu) → Dense(classes).
- ``cnn``: for images (the 8×8 digits, 28×28 MNIST/FEMNIST, 32×32×3 CIFAR-10):
  Conv2D(8, 3×3, relu) → MaxPool(2) → Dense(classes).
- ``seed_mlp``: the article's regression model, Dense(10, relu) → Dense(1).
- ``char_cnn``: next-character prediction (Shakespeare): Embedding(vocabulary, 8) →
  Conv1D(32, 5, relu) → Dense(vocabulary).

:class:`~fedsim.training.spec.ModelSpec` and the weight shapes of each architecture
(:func:`~fedsim.training.spec.layer_shapes`) live in :mod:`fedsim.training.spec`, which needs no
TensorFlow (the app's classroom caps size a model with it); ``ModelSpec`` is importable from here
too.
"""

from __future__ import annotations

import numpy as np

from fedsim.rng import int_seed
from fedsim.training.spec import (CHAR_EMBED, CHAR_FILTERS, CHAR_KERNEL, CNN_FILTERS, CNN_KERNEL,
                                  CNN_POOL, SEED_MLP_HIDDEN, ModelSpec, image_dims, layer_shapes,
                                  param_count)


def build_keras_model(spec: ModelSpec, seed: int = 0):
    """A built Keras model for ``spec`` with seeded initial weights (its weights have the shapes
    :func:`fedsim.training.spec.layer_shapes` states)."""
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
        hidden = SEED_MLP_HIDDEN if spec.name == "seed_mlp" else spec.hidden
        out = dense(spec.num_outputs, 1)(dense(hidden, 0, "relu")(inputs))
    elif spec.name == "cnn":
        h, w, c = image_dims(spec)
        z = keras.layers.Reshape((h, w, c))(inputs)
        z = keras.layers.Conv2D(
            CNN_FILTERS, CNN_KERNEL, padding="same", activation="relu", name="conv_0",
            kernel_initializer=keras.initializers.GlorotUniform(seed=int_seed(seed, "init", 0)))(z)
        z = keras.layers.MaxPooling2D(CNN_POOL)(z)
        out = dense(spec.num_outputs, 1)(keras.layers.Flatten()(z))
    elif spec.name == "char_cnn":  # ids arrive as float features; Embedding casts them
        z = keras.layers.Embedding(
            spec.num_outputs, CHAR_EMBED, name="embed",
            embeddings_initializer=keras.initializers.RandomUniform(
                -0.05, 0.05, seed=int_seed(seed, "init", "embed")))(inputs)
        z = keras.layers.Conv1D(
            CHAR_FILTERS, CHAR_KERNEL, activation="relu", name="conv_0",
            kernel_initializer=keras.initializers.GlorotUniform(seed=int_seed(seed, "init", 0)))(z)
        out = dense(spec.num_outputs, 1)(keras.layers.Flatten()(z))
    else:  # config validation makes this unreachable
        raise ValueError(f"model.name: got {spec.name!r}")
    return keras.Model(inputs, out, name=spec.name)


def initial_weights(spec: ModelSpec, seed: int) -> list[np.ndarray]:
    """The seeded initial global weights as float32 arrays."""
    return [np.asarray(w, np.float32) for w in build_keras_model(spec, seed).get_weights()]


__all__ = ["ModelSpec", "build_keras_model", "initial_weights", "layer_shapes", "param_count"]
