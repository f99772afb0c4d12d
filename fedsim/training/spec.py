"""What determines a model's architecture, and the shapes of its weights, without TensorFlow.

:class:`ModelSpec` is what the engine builds a model from (:func:`fedsim.engine.simulation.build_federation`
makes it from the data set and the configuration); :func:`layer_shapes` is the one statement of
each architecture's weight shapes in pure Python, in the order Keras' ``get_weights()`` returns
them. :func:`fedsim.training.models.build_keras_model` builds those layers, and a test builds
every model kind with Keras and checks the shapes agree (``tests/engine/test_model_spec.py``).
The app's classroom caps (:mod:`fedsim_app.base.limits`) size a configuration's work with
:func:`param_count`, so the estimate is the model the engine will train, and importing this
module never imports TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

#: Width of ``seed_mlp``'s hidden layer (the article's ``Dense(10, relu)``).
SEED_MLP_HIDDEN = 10
#: ``cnn``: filters of its 3×3 convolution, and the side of its max-pooling window.
CNN_FILTERS, CNN_KERNEL, CNN_POOL = 8, 3, 2
#: ``cnn``: the image shape when the data set names none (the 8×8 digits).
CNN_DEFAULT_IMAGE = (8, 8)
#: ``char_cnn`` (next character from the previous ``num_features`` characters): the width of
#: its character embedding, and the filters and width of its 1-D convolution.
CHAR_EMBED, CHAR_FILTERS, CHAR_KERNEL = 8, 32, 5


@dataclass(frozen=True)
class ModelSpec:
    """Everything that determines an architecture (and so a compiled trainer)."""

    name: str
    num_features: int
    num_outputs: int  # classes, or 1 for regression
    hidden: int = 32
    #: (height, width) of a greyscale image, or (height, width, channels); rows are flattened
    #: channels-last. None: not an image (``cnn`` then assumes the 8×8 digits).
    image_shape: tuple[int, ...] | None = None


def image_dims(spec: ModelSpec) -> tuple[int, int, int]:
    """``(height, width, channels)`` of ``spec``'s images (``cnn``)."""
    h, w, *c = spec.image_shape or CNN_DEFAULT_IMAGE
    return h, w, (c[0] if c else 1)


def layer_shapes(spec: ModelSpec) -> list[tuple[int, ...]]:
    """The shape of every weight tensor of ``spec``'s model, in Keras' ``get_weights()`` order.

    - ``logistic``: Dense(outputs): kernel (features, outputs), bias (outputs,).
    - ``mlp`` / ``seed_mlp``: Dense(hidden, relu) → Dense(outputs) (``seed_mlp``: hidden 10).
    - ``cnn``: Conv2D(8, 3×3, same) kernel (3, 3, channels, 8) and bias (8,); MaxPool(2)
      (valid padding: ⌊h/2⌋ × ⌊w/2⌋); Flatten → Dense(outputs). The same layers fit the 8×8
      digits, 28×28 MNIST/FEMNIST and 32×32×3 CIFAR-10 (channels 1 unless the image shape
      names them).
    - ``char_cnn``: Embedding(outputs, 8) of the ``features`` previous characters' ids;
      Conv1D(32, 5, relu, valid) kernel (5, 8, 32) and bias (32,); Flatten → Dense(outputs):
      the next character (the vocabulary is the outputs).
    """
    f, o = spec.num_features, spec.num_outputs
    if spec.name == "logistic":
        return [(f, o), (o,)]
    if spec.name in ("mlp", "seed_mlp"):
        h = SEED_MLP_HIDDEN if spec.name == "seed_mlp" else spec.hidden
        return [(f, h), (h,), (h, o), (o,)]
    if spec.name == "cnn":
        h, w, c = image_dims(spec)
        flat = (h // CNN_POOL) * (w // CNN_POOL) * CNN_FILTERS
        return [(CNN_KERNEL, CNN_KERNEL, c, CNN_FILTERS), (CNN_FILTERS,), (flat, o), (o,)]
    if spec.name == "char_cnn":  # inputs and outputs share the vocabulary: o characters
        steps = f - CHAR_KERNEL + 1
        return [(o, CHAR_EMBED), (CHAR_KERNEL, CHAR_EMBED, CHAR_FILTERS), (CHAR_FILTERS,),
                (steps * CHAR_FILTERS, o), (o,)]
    raise ValueError(f"model.name: got {spec.name!r}")  # config validation makes it unreachable


def layer_sizes(spec: ModelSpec) -> list[int]:
    """The number of weights of each tensor (the flat update's slices, in order)."""
    return [prod(s) for s in layer_shapes(spec)]


def param_count(spec: ModelSpec) -> int:
    """The number of weights of ``spec``'s model (the length of a client's flat update)."""
    return sum(layer_sizes(spec))


__all__ = ["ModelSpec", "image_dims", "layer_shapes", "layer_sizes", "param_count"]
