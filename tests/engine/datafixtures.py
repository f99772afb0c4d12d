"""Small files in the real formats of the downloaded data sets, written by the tests (issue #25):
Keras's ``mnist.npz``, CIFAR-10's pickled batches (folder and tar.gz, as Keras caches them) and
TFF's FEMNIST HDF5 pair (folder and tar.bz2). Nothing here touches the network.

Images carry their label as a pattern (a bright block whose place depends on the class) so a
model can learn them in a few rounds.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import tarfile

import numpy as np


def sha256(path) -> str:
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def images(n: int, side: int, seed: int, channels: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """``n`` uint8 images ``[n, side, side(, channels)]`` and labels 0..9 (every class)."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 10
    rng.shuffle(y)
    x = rng.integers(0, 60, size=(n, side, side, channels)).astype(np.int64)
    for i, c in enumerate(y):
        r, q = divmod(int(c), 5)
        top, left = 2 + r * (side // 2 - 2), 1 + q * (side // 5 - 1)
        x[i, top:top + side // 3, left:left + side // 6, :] = 230
    x = x.clip(0, 255).astype(np.uint8)
    return (x[..., 0] if channels == 1 else x), y.astype(np.uint8)


def write_mnist(datasets_dir, n_train: int = 300, n_test: int = 100) -> str:
    """Keras's ``mnist.npz`` (x_train, y_train, x_test, y_test) in ``datasets_dir``."""
    os.makedirs(datasets_dir, exist_ok=True)
    xtr, ytr = images(n_train, 28, 1)
    xte, yte = images(n_test, 28, 2)
    path = os.path.join(datasets_dir, "mnist.npz")
    with open(path, "wb") as fh:
        np.savez_compressed(fh, x_train=xtr, y_train=ytr, x_test=xte, y_test=yte)
    return path


CIFAR_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch",)


def cifar_batch(n: int, seed: int) -> bytes:
    """One pickled CIFAR batch: ``b"data"`` [n, 3072] uint8 (R, G, B planes), ``b"labels"``.
    (The real files are Python 2 pickles, whose byte strings load as bytes; protocol 4 gives
    the same objects without the ``_codecs`` global protocol 2 uses for bytes in Python 3.)"""
    x, y = images(n, 32, seed, channels=3)  # [n, 32, 32, 3]
    data = x.transpose(0, 3, 1, 2).reshape(n, 3072)  # the file's channel-plane order
    return pickle.dumps({b"batch_label": f"batch {seed}".encode(), b"labels": y.tolist(),
                         b"data": data, b"filenames": [b"x.png"] * n}, protocol=4)


def write_cifar_folder(datasets_dir, per_batch: int = 40) -> str:
    """The extracted cache ``cifar-10-batches-py-target/cifar-10-batches-py/*``."""
    inner = os.path.join(datasets_dir, "cifar-10-batches-py-target", "cifar-10-batches-py")
    os.makedirs(inner, exist_ok=True)
    for i, b in enumerate(CIFAR_BATCHES):
        with open(os.path.join(inner, b), "wb") as fh:
            fh.write(cifar_batch(per_batch, 10 + i))
    return os.path.dirname(inner)


def _tar(path, members: dict[str, bytes], mode: str) -> str:
    with tarfile.open(path, mode) as tar:
        for name, blob in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    return str(path)


def cifar_archive(path, per_batch: int = 40) -> str:
    """``cifar-10-python.tar.gz`` as the University of Toronto serves it."""
    return _tar(path, {f"cifar-10-batches-py/{b}": cifar_batch(per_batch, 10 + i)
                       for i, b in enumerate(CIFAR_BATCHES)}, "w:gz")


def femnist_h5(path, writers: dict[str, int], seed: int) -> str:
    """A TFF-layout HDF5 file: ``examples/<writer>/label`` (int32 [n]) and
    ``examples/<writer>/pixels`` (float32 [n, 28, 28], 1.0 the paper, 0.0 the ink)."""
    import h5py

    rng = np.random.default_rng(seed)
    with h5py.File(path, "w") as f:
        ex = f.create_group("examples")
        for k, (w, n) in enumerate(sorted(writers.items())):
            # each writer favours a few digits: the natural label skew of real handwriting
            y = rng.choice(10, size=n, p=np.roll([0.4, 0.3, 0.1, 0.05, 0.05, 0.04, 0.03,
                                                  0.01, 0.01, 0.01], k))
            x, _ = _images_for(y, 28, seed * 1000 + k)
            g = ex.create_group(w)
            g.create_dataset("label", data=y.astype(np.int32))
            g.create_dataset("pixels", data=(1.0 - x / 255.0).astype(np.float32))
    return str(path)


def _images_for(y: np.ndarray, side: int, seed: int):
    """Images showing the digits ``y`` (four variants of each class's pattern)."""
    base, base_y = images(10 * 4, side, seed + 7)
    out = np.empty((len(y), side, side), np.uint8)
    for i, c in enumerate(y):
        out[i] = base[np.flatnonzero(base_y == c)[i % 4]]
    return out, y


def femnist_files(folder, train: dict[str, int], test: dict[str, int]) -> str:
    """``fed_emnist_digitsonly_{train,test}.h5`` in ``folder``."""
    os.makedirs(folder, exist_ok=True)
    femnist_h5(os.path.join(folder, "fed_emnist_digitsonly_train.h5"), train, 1)
    femnist_h5(os.path.join(folder, "fed_emnist_digitsonly_test.h5"), test, 2)
    return str(folder)


def femnist_archive(path, train: dict[str, int], test: dict[str, int], tmp) -> str:
    """``fed_emnist_digitsonly.tar.bz2``: the two HDF5 files at the archive's root."""
    folder = femnist_files(os.path.join(tmp, "femnist-src"), train, test)
    members = {}
    for f in ("fed_emnist_digitsonly_train.h5", "fed_emnist_digitsonly_test.h5"):
        members[f] = open(os.path.join(folder, f), "rb").read()
    return _tar(path, members, "w:bz2")


#: A little English for the Shakespeare fixtures: roles speak lines made of these words, so a
#: character model has real letter statistics to learn (spaces, common endings).
_WORDS = ("the and to of my is that you not with his be your for this it have me but he "
          "what so thou will lord as thy all by do her good no shall love more now o sir "
          "king come well let our then here there how enter exit speak night day heart "
          "fair sweet death life").split()


def shakespeare_snippets(n: int, seed: int, length: int = 120) -> list[bytes]:
    """``n`` snippets of word salad with sentence marks, ``length`` characters or so each."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        words = []
        while sum(len(w) + 1 for w in words) < length:
            w = _WORDS[int(rng.zipf(1.6)) % len(_WORDS)]
            words.append(w.capitalize() if not words or words[-1].endswith(".") else w)
            if rng.random() < 0.12:
                words[-1] += "."
        out.append((" ".join(words) + "\n").encode())
    return out


def shakespeare_h5(path, roles: dict[str, int], seed: int) -> str:
    """TFF's ``shakespeare_{train,test}.h5`` layout: ``examples/<role>/snippets``, a 1-D
    dataset of variable-length byte strings (one snippet of contiguous lines each)."""
    import h5py

    with h5py.File(path, "w") as f:
        ex = f.create_group("examples")
        for i, (role, n) in enumerate(sorted(roles.items())):
            g = ex.create_group(role)
            g.create_dataset("snippets", data=np.array(shakespeare_snippets(n, seed * 1000 + i),
                                                       dtype=object),
                             dtype=h5py.string_dtype(encoding="utf-8"))
    return str(path)


def shakespeare_files(folder, train: dict[str, int], test: dict[str, int]) -> str:
    os.makedirs(folder, exist_ok=True)
    shakespeare_h5(os.path.join(folder, "shakespeare_train.h5"), train, 1)
    shakespeare_h5(os.path.join(folder, "shakespeare_test.h5"), test, 2)
    return str(folder)


def shakespeare_archive(path, train: dict[str, int], test: dict[str, int], tmp) -> str:
    """``shakespeare.tar.bz2``: the two HDF5 files at the archive's root."""
    folder = shakespeare_files(os.path.join(tmp, "shakespeare-src"), train, test)
    return _tar(path, {f: open(os.path.join(folder, f), "rb").read()
                       for f in ("shakespeare_train.h5", "shakespeare_test.h5")}, "w:bz2")
