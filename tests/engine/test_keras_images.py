"""MNIST and CIFAR-10 from keras.datasets' cache (issue #25), on fixture files written in the
real formats into a temporary KERAS_HOME: never the network. A download goes through fedsim's
own streaming download (what Keras's get_file fetches) from a ``file://`` origin with the fixture's SHA-256 pinned in its place; with no
network, a wrong checksum or an archive that does not unpack, the error is one line and the
cache is left as it was. The ``cnn`` fits 28×28 and 32×32×3 and its vectorized round matches a
per-client Keras loop."""

from __future__ import annotations

import dataclasses
import urllib.error
import os
import subprocess
import sys

import numpy as np
import pytest

import datafixtures as fx
from fedsim.config import SimulationConfig
from fedsim.data import download, images
from fedsim.data.download import DataUnavailableError
from fedsim.errors import ConfigError
from fedsim.training.spec import ModelSpec, layer_shapes, param_count



@pytest.fixture
def keras_home(tmp_path, monkeypatch):
    """An empty Keras cache: KERAS_HOME, read by fedsim and (for its downloads) by Keras."""
    home = tmp_path / "keras"
    monkeypatch.setenv("KERAS_HOME", str(home))
    images._raw.cache_clear()
    images.load_keras_images.cache_clear()
    yield home / "datasets"
    images._raw.cache_clear()
    images.load_keras_images.cache_clear()


@pytest.fixture
def no_download(monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("downloaded")

    monkeypatch.setattr(download, "fetch", refuse)
    monkeypatch.setattr(images, "fetch", refuse)


def cfg(name, **sections):
    base = {"seed": 0, "rounds": 2, "dataset": {"name": name, "num_samples": 200},
            "clients": {"num_clients": 4}, "training": {"lr": 0.05}}
    for k, v in sections.items():
        base[k] = {**base.get(k, {}), **v} if isinstance(v, dict) else v
    return SimulationConfig.from_dict(base)


def leftovers(folder) -> list[str]:
    return [e for e in os.listdir(folder) if e.startswith(".download-")] \
        if os.path.isdir(folder) else []


# --------------------------------------------------------------------------- reading the cache
def test_mnist_from_a_seeded_keras_cache(keras_home, no_download):
    from fedsim.data.load import load_dataset

    fx.write_mnist(keras_home)
    ds = load_dataset(cfg("mnist").dataset, 0)
    assert ds.image_shape == (28, 28) and ds.x_train.shape[1] == 784
    assert len(ds.y_train) + len(ds.y_test) == 200 and ds.num_classes == 10
    # the pool stays uint8; decoded, it is standardized with its own statistics
    assert ds.x_train.dtype == np.uint8 and not ds.x_train.flags.writeable
    np.testing.assert_allclose(ds.train_rows(slice(None)).mean(0), 0, atol=1e-4)
    assert ds.x_test.dtype == np.float32
    # a different seed draws different images; num_samples beyond the file takes them all
    other = load_dataset(cfg("mnist", seed=1).dataset, 1)
    assert not np.array_equal(ds.feature_mean, other.feature_mean)
    everything = load_dataset(cfg("mnist", dataset={"num_samples": 5000}).dataset, 0)
    assert len(everything.y_train) + len(everything.y_test) == 400


def test_keras_reads_the_same_fixture_from_the_same_place(keras_home, monkeypatch):
    """The fixture is Keras's own file where Keras looks (only its hash cannot be the real
    one: that check is bypassed here, nothing else)."""
    keras = pytest.importorskip("keras")
    from keras.src.backend import config as kconfig
    from keras.src.utils import file_utils

    fx.write_mnist(keras_home)
    monkeypatch.setattr(kconfig, "_KERAS_DIR", str(keras_home.parent))
    monkeypatch.setattr(file_utils, "validate_file", lambda *a, **k: True)
    monkeypatch.setattr(file_utils, "urlretrieve", lambda *a, **k: pytest.fail("download"))
    (xtr, ytr), (xte, yte) = keras.datasets.mnist.load_data()
    x, y = images.mnist_arrays()
    np.testing.assert_array_equal(x, np.concatenate([xtr, xte]))
    np.testing.assert_array_equal(y, np.concatenate([ytr, yte]))


def test_cifar10_from_the_extracted_cache_keeps_colour_channels_last(keras_home, no_download):
    from fedsim.data.load import load_dataset

    fx.write_cifar_folder(keras_home, per_batch=40)
    x, y = images.cifar10_arrays()
    assert x.shape == (240, 32, 32, 3) and x.dtype == np.uint8 and len(y) == 240
    # the file stores planes R, G, B of 32×32; the first batch's first image, re-read raw
    raw = fx.cifar_batch(40, 10)
    import pickle

    d = pickle.loads(raw)
    np.testing.assert_array_equal(x[0, :, :, 1], d[b"data"][0, 1024:2048].reshape(32, 32))
    ds = load_dataset(cfg("cifar10").dataset, 0)
    assert ds.image_shape == (32, 32, 3) and ds.x_train.shape[1] == 3072
    assert ds.class_names[3] == "cat"


def test_a_cifar_batch_that_names_other_globals_is_refused(keras_home, no_download):
    folder = fx.write_cifar_folder(keras_home)
    import pickle

    class Evil:
        def __reduce__(self):
            return (os.system, ("true",))

    with open(os.path.join(folder, "cifar-10-batches-py", "data_batch_3"), "wb") as fh:
        pickle.dump({b"data": Evil(), b"labels": []}, fh)
    with pytest.raises(DataUnavailableError, match="cannot be read"):
        images.cifar10_arrays()


def test_a_damaged_mnist_file_is_one_line(keras_home, no_download):
    keras_home.mkdir(parents=True)
    (keras_home / "mnist.npz").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(DataUnavailableError) as e:
        images.mnist_arrays()
    assert "\n" not in str(e.value) and "mnist.npz cannot be read" in str(e.value)


# --------------------------------------------------------------------------- downloads
def _pin(monkeypatch, name, origin_file, sha=None):
    r = download.REMOTES[name]
    monkeypatch.setitem(download.REMOTES, name, dataclasses.replace(
        r, origin=f"file://{origin_file}", sha256=sha or fx.sha256(origin_file)))


def test_cifar_download_through_get_file_verified_extracted_and_cached(keras_home, tmp_path,
                                                                       monkeypatch):
    pytest.importorskip("keras")
    src = fx.cifar_archive(tmp_path / "cifar-10-python.tar.gz")
    _pin(monkeypatch, "cifar10", src)
    x, y = images.cifar10_arrays()  # not cached: fetched from the file:// origin
    assert x.shape == (240, 32, 32, 3)
    assert sorted(os.listdir(keras_home)) == ["cifar-10-batches-py-target",
                                              "cifar-10-batches-py-target_archive"]
    assert download.is_cached("cifar10") and not leftovers(keras_home)
    # cached: used offline from now on
    monkeypatch.setattr(download, "fetch", lambda *a, **k: pytest.fail("downloaded again"))
    images._raw.cache_clear()
    assert images.cifar10_arrays()[0].shape == (240, 32, 32, 3)


def test_mnist_download_from_a_file_origin(keras_home, tmp_path, monkeypatch):
    pytest.importorskip("keras")
    src = fx.write_mnist(tmp_path / "elsewhere")
    _pin(monkeypatch, "mnist", src)
    assert images.mnist_arrays()[0].shape == (400, 28, 28)
    assert os.listdir(keras_home) == ["mnist.npz"]


@pytest.mark.parametrize("name", ["mnist", "cifar10"])
def test_no_internet_is_one_line_and_leaves_the_cache_clean(keras_home, monkeypatch, name):
    def offline(origin):
        raise urllib.error.URLError(OSError(-3, "Temporary failure in name resolution"))

    monkeypatch.setattr(download, "_urlopen", offline)
    from fedsim.engine.federation import build_federation

    with pytest.raises(DataUnavailableError) as e:
        build_federation(cfg(name))
    msg = str(e.value)
    r = download.REMOTES[name]
    assert msg.startswith(f"dataset.name {name!r}: not downloaded yet and no internet")
    assert "\n" not in msg and r.origin in msg and r.sha256 in msg
    assert os.path.join(str(keras_home), r.archive) in msg
    assert e.value.field == "dataset.name" and e.value.code == "data"
    assert os.listdir(keras_home) == []  # nothing half-written


def test_a_wrong_checksum_is_refused_and_leaves_nothing(keras_home, tmp_path, monkeypatch):
    pytest.importorskip("keras")
    src = fx.cifar_archive(tmp_path / "c.tar.gz")
    _pin(monkeypatch, "cifar10", src, sha="0" * 64)
    with pytest.raises(DataUnavailableError, match="does not match its checksum") as e:
        images.cifar10_arrays()
    assert "\n" not in str(e.value) and os.listdir(keras_home) == []


def test_a_truncated_archive_is_refused_and_leaves_nothing(keras_home, tmp_path, monkeypatch):
    pytest.importorskip("keras")
    whole = open(fx.cifar_archive(tmp_path / "c.tar.gz"), "rb").read()
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    _pin(monkeypatch, "cifar10", cut)  # the checksum of the truncated file: it downloads
    with pytest.raises(DataUnavailableError) as e:
        images.cifar10_arrays()
    assert "\n" not in str(e.value) and os.listdir(keras_home) == []


def test_the_cli_says_one_line_offline(tmp_path):
    """A real process with an empty KERAS_HOME and a proxy that refuses: exit 2, one line,
    and the network is never reached."""
    conf = tmp_path / "c.json"
    conf.write_text('{"dataset": {"name": "mnist"}, "rounds": 1}')
    env = {**os.environ, "KERAS_HOME": str(tmp_path / "k"), "https_proxy": "http://127.0.0.1:9",
           "HTTPS_PROXY": "http://127.0.0.1:9", "no_proxy": "", "NO_PROXY": ""}
    p = subprocess.run([sys.executable, "-m", "fedsim", "run", "--config", str(conf)],
                       capture_output=True, text=True, env=env, timeout=300)
    err = [ln for ln in p.stderr.splitlines() if ln.startswith("fedsim: error:")]
    assert p.returncode == 2, p.stderr[-2000:]
    assert len(err) == 1 and "dataset.name 'mnist': not downloaded yet and no internet" in err[0]
    assert "Traceback" not in p.stderr
    assert not leftovers(tmp_path / "k" / "datasets")


# --------------------------------------------------------------------------- configuration
def test_sample_caps_and_the_cnn_rule():
    with pytest.raises(ConfigError, match="<= 70000 with dataset 'mnist'"):
        cfg("mnist", dataset={"num_samples": 80_000})
    # every CIFAR image (the pool is uint8: all 60,000 fit the memory budget, issue #25)
    with pytest.raises(ConfigError, match="<= 60000 with dataset 'cifar10'"):
        cfg("cifar10", dataset={"num_samples": 60_001})
    assert cfg("cifar10", dataset={"num_samples": 60_000}).dataset.num_samples == 60_000
    cfg("cifar10", model={"name": "cnn"})
    with pytest.raises(ConfigError, match="'cnn' only with dataset 'digits'"):
        cfg("2d", model={"name": "cnn"})
    with pytest.raises(ConfigError, match="'natural' only"):
        cfg("mnist", partition={"name": "natural"})


def test_configuration_validation_never_looks_for_the_files(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "none"))
    monkeypatch.setattr(download, "fetch", lambda *a, **k: pytest.fail("fetched"))
    cfg("mnist")
    cfg("cifar10", model={"name": "cnn"})
    assert not (tmp_path / "none").exists()


# --------------------------------------------------------------------------- the CNN
CNNS = [ModelSpec("cnn", 784, 10, image_shape=(28, 28)),
        ModelSpec("cnn", 3072, 10, image_shape=(32, 32, 3)),
        ModelSpec("cnn", 5 * 7 * 2, 3, image_shape=(5, 7, 2))]


@pytest.mark.parametrize("spec", CNNS, ids=lambda s: str(s.image_shape))
def test_the_cnn_fits_28x28_and_32x32x3_as_the_spec_states(spec):
    pytest.importorskip("tensorflow")
    from fedsim.training.models import build_keras_model
    from fedsim.training.stacked import stacked_forward

    model = build_keras_model(spec, seed=1)
    assert [tuple(w.shape) for w in model.get_weights()] == layer_shapes(spec)
    assert sum(int(np.size(w)) for w in model.get_weights()) == param_count(spec)
    assert stacked_forward(model) is not None
    h, w, *c = spec.image_shape
    assert layer_shapes(spec)[0] == (3, 3, c[0] if c else 1, 8)


def test_the_8x8_digits_cnn_is_unchanged():
    assert layer_shapes(ModelSpec("cnn", 64, 10, image_shape=(8, 8))) == \
        [(3, 3, 1, 8), (8,), (4 * 4 * 8, 10), (10,)]


@pytest.mark.parametrize("image", [(28, 28), (32, 32, 3)])
def test_vectorized_cnn_round_equals_per_client_keras_loop(image):
    pytest.importorskip("tensorflow")
    from test_trainer import _reference

    from fedsim.training.models import initial_weights
    from fedsim.training.trainer import ClientData, VectorizedTrainer, batch_schedule

    d = int(np.prod(image))
    spec = ModelSpec("cnn", d, 10, image_shape=image)
    rng = np.random.default_rng(0)
    xs = [rng.normal(size=(n, d)).astype(np.float32) for n in (6, 3, 9)]
    ys = [rng.integers(0, 10, n).astype(np.int32) for n in (6, 3, 9)]
    data = ClientData.build(xs, ys, [x[:2] for x in xs], [y[:2] for y in ys])
    w0 = initial_weights(spec, 1)
    res = VectorizedTrainer(spec, "classification", "sgd").train(
        w0, data, epochs=2, batch_size=4, lr=0.05, rng=np.random.default_rng(5))
    idx, emask = batch_schedule(data.counts, 2, 4, np.random.default_rng(5))
    ref = _reference(spec, "classification", w0, xs, ys, idx, emask, 0.05, "sgd", 0.0)
    for k in range(3):
        for a, b in zip(res.weights, ref[k]):
            np.testing.assert_allclose(a[k], b, atol=1e-5)


@pytest.mark.parametrize("name", ["mnist", "cifar10"])
def test_a_federation_on_the_images_trains(keras_home, no_download, name):
    from fedsim.engine.simulation import Simulation

    fx.write_mnist(keras_home)
    fx.write_cifar_folder(keras_home)
    sim = Simulation(cfg(name, rounds=3, model={"name": "cnn"},
                         partition={"name": "dirichlet", "alpha": 0.5}))
    sim.run()
    assert sim.fed.spec.image_shape == images.IMAGE_SHAPES[name]
    assert sim.history[-1].global_metrics["accuracy"] > 0.5


# --------------------------------------------------------------------------- the Data page
def test_data_page_asks_before_downloading_and_says_why_it_cannot(keras_home, monkeypatch):
    from tests.support.app import cfg_of, chart, open_app

    def offline(origin):
        raise urllib.error.URLError(OSError(-3, "Temporary failure in name resolution"))

    monkeypatch.setattr(download, "_urlopen", offline)
    at = open_app(page="pages/data.py")
    at.selectbox(key="cfg_data").set_value("mnist").run()
    assert cfg_of(at).dataset.name == "digits"  # nothing switched, nothing fetched yet
    assert any("one-time download (11 MB)" in i.value for i in at.info)
    at.button(key="data_download_go").click().run()
    assert cfg_of(at).dataset.name == "digits"
    assert any("not downloaded yet and no internet" in e.value for e in at.error)
    assert os.listdir(keras_home) == []
    at.button(key="data_download_cancel").click().run()
    assert not at.info and cfg_of(at).dataset.name == "digits"
    # once the file is there (fetched at home, or saved by hand) the set switches at once
    fx.write_mnist(keras_home)
    fx.write_cifar_folder(keras_home)
    for name, shape in (("mnist", (28, 28)), ("cifar10", (32, 32, 3))):
        at.selectbox(key="cfg_data").set_value(name).run()
        assert cfg_of(at).dataset.name == name and not at.error, name
        fig = chart(at, "data_digits")
        assert fig["data"][0]["type"] == ("image" if len(shape) == 3 else "heatmap")
        assert at.number_input(key="cfg_samples").value == 1000
