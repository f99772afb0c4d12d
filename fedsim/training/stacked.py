"""A Keras model's forward pass for K clients at once, with no ``vectorized_map`` and no loop.

Why: the trainer runs every sampled client in one compiled call with the clients' weights
stacked on a leading axis ``[K, ...]``. ``tf.vectorized_map`` of ``model.stateless_call``
would be the obvious way, but TF 2.21 has no vectorized rule for
``Conv2DBackpropFilter`` (a convolution's gradient w.r.t. its kernel): inside
``vectorized_map`` it runs a per-client ``while_loop`` ("Conv2DBackpropFilter uses a
while_loop. Fix that!"), which makes a 100-client CNN round 3.2-3.8× the MLP round. It also
mis-converts Conv2D's bias add when K = 1.

Here each layer is written with the client axis explicit:

- **Conv2D as one grouped (depthwise) convolution.** Every image — client k's example b — is
  a channel group of one ``[1, H, W, K·B·C]`` image, and client k's kernel is broadcast over
  its B groups, so all K·B convolutions are one ``depthwise_conv2d`` (summed over each image's
  C input channels) and all K kernel gradients are one ``DepthwiseConv2dNativeBackpropFilter``
  plus a sum over b. Rochette, Manoel & Tramel ("Efficient Per-Example Gradient Computations
  in Convolutional Neural Networks", 2019, arXiv:1912.06015) use this grouping for per-example
  gradients (here DP-SGD's K·B per-example gradients come out of the same code, with B = 1).
  It is the arithmetic of im2col + batched matmul (Chellapilla, Puri & Simard, "High
  Performance Convolutional Neural Networks for Document Processing", IWFHR 2006: unroll each
  receptive field into a row, then ``patches @ kernel`` per client), without writing the
  kh·kw×-larger patch matrix. Both were built and timed at 100 digits clients with TF's own
  CPU kernels (oneDNN off, as fedsim runs them): im2col + BatchMatMul + MaxPool made the CNN
  round 2.0-2.9× the MLP round, this 1.5-1.9× (``python -m bench.cnn_bench``).
- **The max-pool fused into the convolution as offset planes.** For a p×p pool with stride s
  after the convolution, window offset (a, b) is one convolution with stride s·stride of the
  input shifted by (a, b)·stride, so the pool is an elementwise max of p² planes
  (:func:`_max_of_planes`). ``MaxPoolGrad`` on these shapes is 3-4× slower. Ties go to the
  first offset in row-major order, as ``MaxPoolGrad`` sends them. The pool runs before the
  bias and activation: for a non-decreasing activation a window's max of ``act(z + b)`` is
  ``act(max z + b)`` bit for bit (rounding ``z + b`` is monotone too), at a quarter of the
  work; the gradient reaches the same element unless two of a window's ``z`` differ by less
  than rounding ``+ b`` resolves — a near-tie that any reordering of the convolution's sum
  (Keras's kernel against this one) could flip as well.
- **Dense**: ``[K, rows, I] @ [K, I, O]``, a batched matmul.
- Flatten and Reshape keep the client axis in front.
- **Embedding** (the character model, ``char_cnn``): ``tf.gather`` of client k's table
  ``[K, V, E]`` at its own ids ``[K, B, L]`` (``batch_dims=1``); the ids arrive as float32
  features, cast to int32 as Keras's Embedding casts them.
- **Conv1D** (valid padding): the kw shifted views of ``[K, B, L, C]`` concatenated on the
  channel axis (im2col over a sequence: kw·C columns, a few hundred bytes an example) and one
  batched matmul with the kernels ``[K, kw·C, F]``.

Keras stays the one definition of the architecture: :func:`stacked_forward` reads the layer
kinds, sizes, padding, strides and activations, and the order of the weight tensors, from the
built model. A model it does not recognise (any other layer, a branch, dilation, groups,
channels-first) gets ``None``; every model :func:`fedsim.training.models.build_keras_model` builds is
covered (MLPs too: the batched matmul is ~7% faster than ``pfor``'s, 3e-8 apart).
"""

from __future__ import annotations

from collections.abc import Callable

from fedsim.training.tf_runtime import tf

SUPPORTED = ("Reshape", "Flatten", "Dense", "Conv2D", "MaxPooling2D", "Embedding", "Conv1D")


def same_padding(size: int, k: int, s: int) -> tuple[int, int, int]:
    """TF's 'same' padding along one axis: (output size, pad before, pad after)."""
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return out, total // 2, total - total // 2


def _window(lo: int, length: int, size: int) -> tuple[int, int, int, int]:
    """Input rows ``[lo, lo + length)`` of an axis of ``size`` (outside it: zero padding) as
    ``(crop_from, crop_to, pad_before, pad_after)``."""
    hi = lo + length
    return max(lo, 0), min(hi, size), max(-lo, 0), max(hi - size, 0)


def _monotone(activation) -> bool:
    """Activations a max-pool may be moved through (non-decreasing)."""
    import keras

    return activation in (keras.activations.relu, keras.activations.linear)


@tf.custom_gradient
def _max_of_planes(*planes):
    """Elementwise max of a pool window's offset planes; the gradient goes to the first plane
    (row-major offset order) holding the max, as ``MaxPoolGrad`` sends it.

    TF's own gradient of a chain of ``tf.maximum`` routes it the same way with a
    ``zeros_like`` and two selects per link; this and one convolution per offset (no stacked
    ``[p², ...]`` tensor, no ``Pack`` of its gradient) were 17-20% of a 100-client CNN round
    against one convolution over stacked shifted views with ``tf.maximum``'s gradient.
    """
    top = planes[0]
    for p in planes[1:]:
        top = tf.maximum(top, p)

    def grad(g):
        out, rest = [], g
        for p in planes[:-1]:
            mine = tf.where(tf.equal(p, top), rest, 0.0)  # max returns one input exactly
            out.append(mine)
            rest = rest - mine  # 0 once taken, else unchanged: exact
        return [*out, rest]

    return top, grad


class _Conv2D:
    """Conv2D (optionally followed by a fused MaxPooling2D) on ``z [K, B, H, W, C]`` with
    kernels ``[K, kh, kw, C, F]`` and biases ``[K, F]``."""

    def __init__(self, layer, pool=None):
        self.h, self.w, self.c = (int(v) for v in layer.input.shape[1:])
        self.kh, self.kw = layer.kernel_size
        self.sh, self.sw = layer.strides
        self.f, self.act = layer.filters, layer.activation
        if layer.padding == "same":
            self.oh, top, bottom = same_padding(self.h, self.kh, self.sh)
            self.ow, left, right = same_padding(self.w, self.kw, self.sw)
        else:
            self.oh = (self.h - self.kh) // self.sh + 1
            self.ow = (self.w - self.kw) // self.sw + 1
            top = bottom = left = right = 0
        self.offsets = [(0, 0)]  # window offsets, row-major (MaxPoolGrad's tie order)
        self.out_h, self.out_w, self.step_h, self.step_w = self.oh, self.ow, self.sh, self.sw
        if pool is not None:
            (ph, pw), (qh, qw) = pool.pool_size, pool.strides
            self.offsets = [(a, b) for a in range(ph) for b in range(pw)]
            self.out_h, self.out_w = (self.oh - ph) // qh + 1, (self.ow - pw) // qw + 1
            # Pooled row i, offset a reads convolution row i·qh + a, i.e. input rows from
            # (i·qh + a)·sh: a convolution with stride qh·sh of the input shifted by a·sh.
            self.step_h, self.step_w = qh * self.sh, qw * self.sw
        rows = (self.out_h - 1) * self.step_h + self.kh  # padded input rows one offset reads
        cols = (self.out_w - 1) * self.step_w + self.kw
        # Per offset: the input crop and the explicit padding that give exactly that view of
        # the padded image, so the convolution pads for itself (no Pad op, no sliced copies
        # unless an offset starts past the padding).
        self.views = []
        for a, e in self.offsets:
            (r0, r1, pt, pb) = _window(a * self.sh - top, rows, self.h)
            (c0, c1, pl, pr) = _window(e * self.sw - left, cols, self.w)
            self.views.append(((r0, r1, c0, c1), [[0, 0], [pt, pb], [pl, pr], [0, 0]]))

    def __call__(self, z, kernel, bias=None):
        k, b = tf.shape(z)[0], tf.shape(z)[1]
        n, c, f = k * b, self.c, self.f
        # Every image (client k's example b) and its C channels on the channel axis of ONE
        # image: [1, H, W, K·B·C]. Depthwise kernels vectorize over that axis, so this is as
        # fast as clients-only grouping when training and 2× faster for one model on many
        # examples (the server's test set), where a plain Conv2D with C = 1 is slow on CPU.
        if c == 1:  # a 2-D transpose: 25-40% faster than the 4-D one with a unit axis
            zt = tf.transpose(tf.reshape(z, [n, -1]))
        else:
            zt = tf.transpose(tf.reshape(z, [n, self.h, self.w, c]), [1, 2, 0, 3])
        zt = tf.reshape(zt, [1, self.h, self.w, n * c])
        # Channel (k·B + b)·C + c meets client k's kernel[..., c, :] (broadcast over b; the
        # gradient of the broadcast sums the B examples' kernel gradients).
        filt = tf.transpose(kernel, [1, 2, 0, 3, 4])[:, :, :, None]  # [kh, kw, K, 1, C, F]
        filt = tf.reshape(tf.broadcast_to(filt, [self.kh, self.kw, k, b, c, f]),
                          [self.kh, self.kw, n * c, f])
        planes = []
        for (r0, r1, c0, c1), pads in self.views:  # one strided convolution per offset
            view = zt if (r0, r1, c0, c1) == (0, self.h, 0, self.w) else zt[:, r0:r1, c0:c1]
            out = tf.nn.depthwise_conv2d(view, filt, [1, self.step_h, self.step_w, 1], pads)
            if c > 1:  # an output channel sums the image's C input channels
                out = tf.reduce_sum(tf.reshape(out, [-1, n, c, f]), 2)
            planes.append(tf.reshape(out, [-1]))
        out = planes[0] if len(planes) == 1 else _max_of_planes(*planes)
        # [out_h·out_w, K, B, F] → clients in front, then the bias and the activation.
        out = tf.transpose(tf.reshape(out, [-1, k, b, f]), [1, 2, 0, 3])
        if bias is not None:
            out = out + bias[:, None, None, :]
        return self.act(tf.reshape(out, [k, b, self.out_h, self.out_w, f]))


def _dense(layer) -> Callable:
    act = layer.activation

    def apply(z, kernel, bias=None):
        # Keras's Dense acts on the last axis of any rank; rows = everything between K and it.
        k, i = tf.shape(z)[0], tf.shape(z)[-1]
        out = tf.matmul(tf.reshape(z, [k, -1, i]), kernel)
        if bias is not None:
            out = out + bias[:, None, :]
        return act(tf.reshape(out, tf.concat([tf.shape(z)[:-1], [layer.units]], 0)))

    return apply


def _embedding(layer) -> Callable:
    def apply(z, table):
        return tf.gather(table, tf.cast(z, tf.int32), batch_dims=1)  # [K, B, L, E]

    return apply


def _conv1d(layer) -> Callable:
    """Conv1D, valid padding: im2col (the kw shifted views side by side, offset-major as the
    kernel ``[kw, C, F]`` flattens) and a batched matmul."""
    (kw,), (stride,), act, f = layer.kernel_size, layer.strides, layer.activation, layer.filters
    length, c = (int(v) for v in layer.input.shape[1:])
    out_len = (length - kw) // stride + 1

    def apply(z, kernel, bias=None):
        k, b = tf.shape(z)[0], tf.shape(z)[1]
        last = (out_len - 1) * stride + 1
        cols = tf.concat([z[:, :, i:i + last:stride, :] for i in range(kw)], -1)
        out = tf.matmul(tf.reshape(cols, [k, -1, kw * c]), tf.reshape(kernel, [k, kw * c, f]))
        if bias is not None:
            out = out + bias[:, None, :]
        return act(tf.reshape(out, [k, b, out_len, f]))

    return apply


def _max_pool(layer) -> Callable:
    """A MaxPooling2D not fused into a convolution: TF's own op on the merged K·B axis."""
    pool, strides, padding = layer.pool_size, layer.strides, layer.padding.upper()

    def apply(z):
        shape = tf.shape(z)
        out = tf.nn.max_pool2d(tf.reshape(z, tf.concat([[-1], shape[2:]], 0)), pool, strides,
                               padding)
        return tf.reshape(out, tf.concat([shape[:2], tf.shape(out)[1:]], 0))

    return apply


def _reshape(target: tuple[int, ...]) -> Callable:
    def apply(z):
        return tf.reshape(z, tf.concat([tf.shape(z)[:2], list(target)], 0))

    return apply


class StackedModel:
    """``model(params, x)``: a Keras model's outputs ``[K, B, out]`` for stacked weights.

    ``params`` are ``model.trainable_weights``-ordered tensors ``[K, *shape]``; ``x`` is
    ``[K, B, *input_shape]``, client k's rows.
    """

    def __init__(self, steps: list[tuple[Callable, list[int]]]):
        self._steps = steps

    def __call__(self, params, x):
        z = x
        for fn, slots in self._steps:
            z = fn(z, *(params[i] for i in slots))
        return z


def stacked_forward(model) -> StackedModel | None:
    """The :class:`StackedModel` for a built Keras model, or ``None`` if this does not cover it.

    ``None`` for anything outside a plain chain of :data:`SUPPORTED` layers (see the module
    doc).
    """
    layers = [l for l in model.layers if type(l).__name__ != "InputLayer"]
    kinds = [type(l).__name__ for l in layers]
    if model.non_trainable_weights or len(model.inputs) != 1:
        return None
    for prev, layer, kind in zip([None, *layers], layers, kinds):
        if kind not in SUPPORTED:
            return None
        if layer.input is not (prev.output if prev is not None else model.inputs[0]):
            return None  # not a plain chain
        if getattr(layer, "data_format", "channels_last") != "channels_last":
            return None
        if kind == "Conv2D" and (tuple(layer.dilation_rate) != (1, 1) or layer.groups != 1):
            return None
        if kind == "Conv1D" and (tuple(layer.dilation_rate) != (1,) or layer.groups != 1
                                 or layer.padding != "valid"):
            return None
        if kind == "Embedding" and (getattr(layer, "lora_enabled", False)
                                    or getattr(layer, "quantization_mode", None)):
            return None
        if kind == "Dense" and (getattr(layer, "lora_enabled", False)
                                or getattr(layer, "quantization_mode", None)):
            return None

    order = {id(v): i for i, v in enumerate(model.trainable_weights)}
    steps: list[tuple[Callable, list[int]]] = []
    i = 0
    while i < len(layers):
        layer, kind = layers[i], kinds[i]
        slots = []
        if kind in ("Conv2D", "Dense", "Conv1D"):
            slots = [order[id(v)] for v in (layer.kernel, layer.bias) if v is not None]
        elif kind == "Embedding":
            slots = [order[id(layer.embeddings)]]
        if kind == "Conv2D":
            nxt = layers[i + 1] if i + 1 < len(layers) else None
            if (nxt is not None and kinds[i + 1] == "MaxPooling2D" and nxt.padding == "valid"
                    and _monotone(layer.activation)):
                fn = _Conv2D(layer, nxt)
                i += 1
            else:
                fn = _Conv2D(layer)
        elif kind == "Dense":
            fn = _dense(layer)
        elif kind == "Embedding":
            fn = _embedding(layer)
        elif kind == "Conv1D":
            fn = _conv1d(layer)
        elif kind == "MaxPooling2D":
            fn = _max_pool(layer)
        else:  # Reshape, or Flatten (channels-last: row, column, channel order, as tf.reshape)
            fn = _reshape(tuple(int(v) for v in layer.output.shape[1:]))
        steps.append((fn, slots))
        i += 1
    return StackedModel(steps)
