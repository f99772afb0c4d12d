"""Memory at real scale (issue #25): image pools stored as uint8 and decoded per round for the
sampled clients only; every client's rows kept unpadded, ``take(ids)`` pads just those.

Each case is checked against the float path it replaced (the whole pool standardized as
float32, every client padded to the largest, then sliced), written out here: on fixtures
whose pixels are 8-bit the two must be bit for bit equal. Never the network; no TensorFlow."""

from __future__ import annotations

import os

import h5py
import numpy as np
import pytest

import datafixtures as fx
from fedsim.config import SimulationConfig
from fedsim.data import femnist, images
from fedsim.data.dataset import standardize_codes
from fedsim.engine.federation import build_federation
from fedsim.training.batching import ClientData, ClientStore

TRAIN = {"f0000_14": 30, "f0001_41": 22, "f0417_33": 40, "f1203_02": 18, "f2100_45": 26,
         "f3001_12": 12, "f3500_09": 34}
TEST = {w: 4 for w in TRAIN}


@pytest.fixture
def femnist_dir(tmp_path, monkeypatch):
    d = tmp_path / "fedsim-data"
    monkeypatch.setenv("FEDSIM_DATA_DIR", str(d))
    femnist.load_femnist.cache_clear()
    yield fx.femnist_files(d / "femnist" / "fed_emnist_digitsonly_extracted", TRAIN, TEST)
    femnist.load_femnist.cache_clear()


@pytest.fixture
def keras_home(tmp_path, monkeypatch):
    home = tmp_path / "keras"
    monkeypatch.setenv("KERAS_HOME", str(home))
    images._raw.cache_clear()
    images.load_keras_images.cache_clear()
    fx.write_mnist(home / "datasets")
    yield home
    images._raw.cache_clear()
    images.load_keras_images.cache_clear()


def cfg(name, n, **sections):
    base = {"seed": 0, "rounds": 1, "dataset": {"name": name}, "clients": {"num_clients": n}}
    for k, v in sections.items():
        base[k] = {**base.get(k, {}), **v}
    return SimulationConfig.from_dict(base)


def old_client_data(x_float: np.ndarray, y: np.ndarray, part) -> ClientData:
    """The layout before: every client's float32 rows padded to the largest client."""
    xs, ys, xvs, yvs = [], [], [], []
    for idx, val in zip(part.indices, part.val_mask):
        xs.append(x_float[idx][~val]), ys.append(y[idx][~val])
        xvs.append(x_float[idx][val]), yvs.append(y[idx][val])
    return ClientData.build(xs, ys, xvs, yvs)


def same(a: ClientData, b: ClientData) -> None:
    for f in ("x", "y", "counts", "xv", "yv", "vcounts"):
        u, v = getattr(a, f), getattr(b, f)
        assert u.dtype == v.dtype and u.shape == v.shape, f
        assert np.array_equal(u, v), f  # exact: bit for bit


def old_femnist_float(path: str, writers) -> tuple[np.ndarray, np.ndarray]:
    """The float path femnist.load_femnist used: 1 − p as float32, the pool's float64 mean and
    std by NumPy, standardized in float32."""
    with h5py.File(os.path.join(path, femnist.TRAIN_FILE)) as f, \
            h5py.File(os.path.join(path, femnist.TEST_FILE)) as ft:
        x = np.concatenate([(1.0 - f["examples"][w]["pixels"][()].astype(np.float32))
                            .reshape(-1, 784) for w in writers])
        xt = np.concatenate([(1.0 - ft["examples"][w]["pixels"][()].astype(np.float32))
                             .reshape(-1, 784) for w in writers])
    mean, std = x.mean(0, dtype=np.float64), x.std(0, dtype=np.float64)
    std = np.where(std > 1e-8, std, 1.0)
    m, s = mean.astype(np.float32), std.astype(np.float32)
    return (x - m) / s, (xt - m) / s


def test_femnist_pool_is_uint8_and_take_is_the_float_path_bit_for_bit(femnist_dir):
    fed = build_federation(cfg("femnist", 6, partition={"name": "natural"}))
    ds, cd = fed.data, fed.client_data
    fem = femnist.load_femnist(6, 0)
    assert fem.exact  # the fixture's pixels are 8-bit: the codes lose nothing
    assert ds.x_train.dtype == np.uint8 and ds.x_train.shape == (len(ds.y_train), 784)
    assert not ds.x_train.flags.writeable and ds.pixel_values.dtype == np.float32
    # the store indexes the data set's own pool: no copy of it, no padding
    assert isinstance(cd, ClientStore) and cd.x_pool is ds.x_train
    assert cd.pool_bytes < ds.x_train.nbytes + ds.y_train.nbytes + 8 * len(ds.y_train) + 200
    x_old, xt_old = old_femnist_float(femnist_dir, fed.client_names)
    assert np.array_equal(ds.train_rows(slice(None)), x_old)
    assert np.array_equal(ds.x_test, xt_old) and ds.x_test.dtype == np.float32
    old = old_client_data(x_old, ds.y_train, fed.partition)
    for ids in ([0, 1, 2, 3, 4, 5], [4, 1], [5], [2, 0, 3]):
        same(cd.take(np.array(ids)), old.take(np.array(ids)))
    # a round's block holds the sampled clients only, padded to the largest of them
    two = cd.take(np.array([4, 1]))
    assert two.x.shape == (2, max(cd.counts[[4, 1]]), 784) and two.x.dtype == np.float32
    # the legacy whole-block view and one client's rows agree with it
    same(ClientData(cd.x, cd.y, cd.counts, cd.xv, cd.yv, cd.vcounts), old)
    xk, yk, xvk, yvk = cd.client(3)
    assert np.array_equal(xk, old.x[3, :old.counts[3]])
    assert np.array_equal(yvk, old.yv[3, :old.vcounts[3]])


def test_femnist_pixels_that_are_not_8_bit_are_rounded_to_256_levels(femnist_dir):
    path = os.path.join(femnist_dir, femnist.TRAIN_FILE)
    with h5py.File(path, "a") as f:  # one writer's pixels get values between the levels
        g = f["examples"]["f0417_33"]
        px = g["pixels"][()]
        del g["pixels"]
        g.create_dataset("pixels", data=(px + np.float32(0.3 / 255)).clip(0, 1))
    fem = femnist.load_femnist(7, 0)
    assert not fem.exact
    ds = fem.dataset
    raw = ds.train_rows(slice(None)) * ds.feature_std + ds.feature_mean
    with h5py.File(path) as f:
        truth = np.concatenate([1.0 - f["examples"][w]["pixels"][()].reshape(-1, 784)
                                for w in fem.writers])
    assert np.abs(raw - truth).max() <= 0.5 / 255 + 1e-5


def test_mnist_pool_is_uint8_and_take_is_the_float_path_bit_for_bit(keras_home):
    for part in ({"name": "iid"}, {"name": "dirichlet", "alpha": 0.3}):
        fed = build_federation(cfg("mnist", 5, partition=part,
                                   dataset={"name": "mnist", "num_samples": 300}))
        ds, cd = fed.data, fed.client_data
        assert ds.x_train.dtype == np.uint8 and cd.x_pool is ds.x_train
        x_old = images._scaled(ds.x_train, ds.feature_mean, ds.feature_std)  # the old pool
        old = old_client_data(x_old, ds.y_train, fed.partition)
        for ids in ([0, 1, 2, 3, 4], [3, 0], [2]):
            same(cd.take(np.array(ids)), old.take(np.array(ids)))


def test_feature_skew_on_an_image_set_keeps_float_rows_as_before(keras_home):
    from fedsim.data.partition import client_arrays

    fed = build_federation(cfg("mnist", 4, partition={"name": "feature"},
                               dataset={"name": "mnist", "num_samples": 200}))
    ds, part, cd = fed.data, fed.partition, fed.client_data
    x_old = images._scaled(ds.x_train, ds.feature_mean, ds.feature_std)
    xs, ys, xvs, yvs = [], [], [], []
    for k, (idx, val) in enumerate(zip(part.indices, part.val_mask)):
        xk = client_arrays(x_old, part, k, 0)
        xs.append(xk[~val]), ys.append(ds.y_train[idx][~val])
        xvs.append(xk[val]), yvs.append(ds.y_train[idx][val])
    old = ClientData.build(xs, ys, xvs, yvs)
    same(cd.take(np.arange(4)), old)
    same(cd.take(np.array([2, 1])), old.take(np.array([2, 1])))


@pytest.mark.parametrize("part", [{"name": "iid"}, {"name": "quantity", "sigma": 1.0},
                                  {"name": "feature"}, {"name": "pathological"}])
def test_builtin_float_sets_take_exactly_what_the_padded_layout_gave(part):
    from fedsim.data.partition import client_arrays

    fed = build_federation(cfg("digits", 12, partition=part))
    ds, p, cd = fed.data, fed.partition, fed.client_data
    assert ds.x_train.dtype == np.float32 and not ds.quantized
    xs, ys, xvs, yvs = [], [], [], []
    for k, (idx, val) in enumerate(zip(p.indices, p.val_mask)):
        xk = client_arrays(ds.x_train, p, k, 0)
        xs.append(xk[~val]), ys.append(ds.y_train[idx][~val])
        xvs.append(xk[val]), yvs.append(ds.y_train[idx][val])
    old = ClientData.build(xs, ys, xvs, yvs)
    everyone = cd.take(np.arange(12))
    same(everyone, old)
    assert cd.take(np.arange(12)) is everyone  # small: kept for the next rounds
    rng = np.random.default_rng(0)
    for _ in range(5):
        ids = rng.choice(12, size=int(rng.integers(1, 12)), replace=False)
        same(cd.take(ids), old.take(ids))


def test_standardize_codes_is_numpys_mean_and_std_bit_for_bit():
    rng = np.random.default_rng(3)
    values = (1.0 - np.arange(256) / 255.0).astype(np.float32)
    for n in (1, 7, 4096, 9000):
        codes = rng.integers(0, 256, (n, 50)).astype(np.uint8)
        x = values[codes]
        mean, std = standardize_codes(codes, values, rows_at_a_time=1000)
        assert np.array_equal(mean, x.mean(0, dtype=np.float64))
        s = x.std(0, dtype=np.float64)
        assert np.array_equal(std, np.where(s > 1e-8, s, 1.0))


def test_empty_validation_and_empty_clients_pad_like_before():
    rng = np.random.default_rng(1)
    xs = [rng.normal(size=(n, 3)).astype(np.float32) for n in (4, 0, 2)]
    ys = [np.arange(len(x), dtype=np.int32) for x in xs]
    empty = [x[:0] for x in xs], [y[:0] for y in ys]
    old = ClientData.build(xs, ys, *empty)
    new = ClientStore.of_rows(xs, ys, *empty)
    same(new.take(np.arange(3)), old)
    same(new.take(np.array([1])), old.take(np.array([1])))
