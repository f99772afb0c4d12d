"""FEMNIST digits by writer (issue #25): TFF's fed_emnist_digitsonly read with h5py from a
fixture in the real layout (``examples/<writer>/{label,pixels}``) placed in a temporary
FEDSIM_DATA_DIR; the download (streamed and hashed, as Keras's get_file would) from a ``file://`` origin with the
fixture's SHA-256 pinned; and the one-line errors (no network, wrong checksum, truncated
archive, damaged file) that leave the cache as it was. Never the network."""

from __future__ import annotations

import dataclasses
import urllib.error
import os

import numpy as np
import pytest

import datafixtures as fx
from fedsim.config import SimulationConfig
from fedsim.data import download, femnist
from fedsim.data.download import DataUnavailableError
from fedsim.errors import ConfigError, PartitionError

#: writer id -> training images (one writer below femnist.MIN_TRAIN_IMAGES)
TRAIN = {"f0000_14": 30, "f0001_41": 22, "f0002_07": 5, "f0417_33": 40, "f1203_02": 18,
         "f2100_45": 26, "f3001_12": 12, "f3500_09": 34}
TEST = {w: 4 for w in TRAIN}


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    d = tmp_path / "fedsim-data"
    monkeypatch.setenv("FEDSIM_DATA_DIR", str(d))
    femnist.load_femnist.cache_clear()
    yield d
    femnist.load_femnist.cache_clear()


@pytest.fixture
def cached(data_dir):
    return fx.femnist_files(data_dir / "femnist" / "fed_emnist_digitsonly_extracted", TRAIN, TEST)


def cfg(n=5, **sections):
    base = {"seed": 0, "rounds": 2, "dataset": {"name": "femnist"},
            "partition": {"name": "natural"}, "clients": {"num_clients": n},
            "training": {"lr": 0.05}}
    for k, v in sections.items():
        base[k] = {**base.get(k, {}), **v} if isinstance(v, dict) else v
    return SimulationConfig.from_dict(base)


def leftovers(folder) -> list[str]:
    return [e for e in os.listdir(folder) if e.startswith(".download-")] \
        if os.path.isdir(folder) else []


def test_one_client_per_writer_from_the_h5_layout(cached, monkeypatch):
    import h5py

    from fedsim.engine.federation import build_federation

    monkeypatch.setattr(download, "fetch", lambda *a, **k: pytest.fail("downloaded"))
    fed = build_federation(cfg(5))
    writers = fed.client_names
    assert len(writers) == 5 and list(writers) == sorted(writers)
    assert "f0002_07" not in writers  # 5 training images: below MIN_TRAIN_IMAGES
    assert fed.data.image_shape == (28, 28) and fed.data.x_train.shape[1] == 784
    with h5py.File(os.path.join(cached, "fed_emnist_digitsonly_train.h5")) as f:
        for k, w in enumerate(writers):
            rows = fed.partition.indices[k]
            labels = f["examples"][w]["label"][()]
            assert len(rows) == len(labels) == TRAIN[w]
            np.testing.assert_array_equal(fed.data.y_train[rows], labels)
            # pixels inverted (ink high, as MNIST) and standardized with the pool's statistics
            raw = fed.data.train_rows(rows) * fed.data.feature_std + fed.data.feature_mean
            np.testing.assert_allclose(raw, 1.0 - f["examples"][w]["pixels"][()].reshape(-1, 784),
                                       atol=1e-5)
    assert len(fed.data.y_test) == 5 * 4  # the same writers' own test images


def test_writers_are_a_seeded_sample_not_the_first_ids(cached):
    a = femnist.load_femnist(5, 0).writers
    assert a == femnist.load_femnist(5, 0).writers
    samples = {femnist.load_femnist(5, s).writers for s in range(6)}
    assert len(samples) > 1  # the seed draws the writers
    assert femnist.load_femnist(7, 0).writers == tuple(w for w in sorted(TRAIN) if TRAIN[w] >= 10)


def test_asking_for_more_writers_than_there_are(cached):
    from fedsim.engine.federation import build_federation

    with pytest.raises(PartitionError, match="at most 7: the FEMNIST file has 7 writers"):
        build_federation(cfg(8))
    # the cap is derived from memory: every writer TFF's file has (uint8 pool, issue #25)
    with pytest.raises(ConfigError, match="<= 3383 with dataset 'femnist'"):
        cfg(3384)
    assert cfg(3383).clients.num_clients == 3383


def test_sampling_a_fraction_per_round_trains(cached):
    from fedsim.engine.simulation import Simulation

    sim = Simulation(cfg(6, rounds=4, clients={"fraction": 0.5}, model={"name": "cnn"}))
    sim.run()
    assert all(len(r.sampled) == 3 for r in sim.history)
    assert sim.history[-1].global_metrics["accuracy"] > 0.5


def test_other_splits_share_the_same_writers_rows(cached):
    from fedsim.engine.federation import build_federation

    nat = build_federation(cfg(5))
    iid = build_federation(cfg(5, partition={"name": "iid"}))
    assert iid.client_names == () and iid.partition.num_clients == 5
    np.testing.assert_array_equal(nat.data.y_train, iid.data.y_train)


def test_download_through_get_file_from_a_file_origin(data_dir, tmp_path, monkeypatch):
    pytest.importorskip("keras")
    src = fx.femnist_archive(tmp_path / "fed_emnist_digitsonly.tar.bz2", TRAIN, TEST, tmp_path)
    r = download.REMOTES["femnist"]
    monkeypatch.setitem(download.REMOTES, "femnist", dataclasses.replace(
        r, origin=f"file://{src}", sha256=fx.sha256(src)))
    fem = femnist.load_femnist(3, 0)
    assert len(fem.writers) == 3
    folder = data_dir / "femnist"
    assert sorted(os.listdir(folder)) == ["fed_emnist_digitsonly_extracted"]  # archive not kept
    assert sorted(os.listdir(folder / "fed_emnist_digitsonly_extracted")) == [
        "fed_emnist_digitsonly_test.h5", "fed_emnist_digitsonly_train.h5"]
    assert download.is_cached("femnist")


def test_an_archive_saved_by_hand_is_verified_and_unpacked_offline(data_dir, tmp_path,
                                                                    monkeypatch):
    pytest.importorskip("keras")
    from keras.src.utils import file_utils

    folder = data_dir / "femnist"
    folder.mkdir(parents=True)
    src = fx.femnist_archive(folder / "fed_emnist_digitsonly.tar.bz2", TRAIN, TEST, tmp_path)
    r = download.REMOTES["femnist"]
    monkeypatch.setitem(download.REMOTES, "femnist", dataclasses.replace(
        r, sha256=fx.sha256(src)))  # the real origin: it must not be contacted
    monkeypatch.setattr(file_utils, "urlretrieve", lambda *a, **k: pytest.fail("download"))
    assert len(femnist.load_femnist(4, 0).writers) == 4
    assert sorted(os.listdir(folder)) == ["fed_emnist_digitsonly_extracted"]


def test_no_internet_is_one_line_and_leaves_the_cache_clean(data_dir, monkeypatch):
    def offline(origin):
        raise urllib.error.URLError(OSError(-3, "Temporary failure in name resolution"))

    monkeypatch.setattr(download, "_urlopen", offline)
    from fedsim.engine.federation import build_federation

    with pytest.raises(DataUnavailableError) as e:
        build_federation(cfg(5))
    msg = str(e.value)
    assert msg.startswith("dataset.name 'femnist': not downloaded yet and no internet")
    assert "\n" not in msg and len(msg) <= 400
    assert download.FEMNIST.origin in msg and download.FEMNIST.sha256 in msg
    assert str(data_dir / "femnist" / "fed_emnist_digitsonly.tar.bz2") in msg
    assert os.listdir(data_dir / "femnist") == []


@pytest.mark.parametrize("damage", ["checksum", "truncated", "not-an-h5"])
def test_a_bad_download_is_one_line_and_leaves_nothing(data_dir, tmp_path, monkeypatch, damage):
    pytest.importorskip("keras")
    src = fx.femnist_archive(tmp_path / "a.tar.bz2", TRAIN, TEST, tmp_path)
    sha = fx.sha256(src)
    if damage == "checksum":
        sha = "f" * 64
    elif damage == "truncated":
        blob = open(src, "rb").read()
        src = str(tmp_path / "cut.tar.bz2")
        open(src, "wb").write(blob[: len(blob) // 3])
        sha = fx.sha256(src)
    else:  # a well-formed archive of something else
        src = fx._tar(tmp_path / "other.tar.bz2", {"readme.txt": b"hello"}, "w:bz2")
        sha = fx.sha256(src)
    r = download.REMOTES["femnist"]
    monkeypatch.setitem(download.REMOTES, "femnist", dataclasses.replace(
        r, origin=f"file://{src}", sha256=sha))
    with pytest.raises(DataUnavailableError) as e:
        femnist.load_femnist(3, 0)
    assert "\n" not in str(e.value) and str(e.value).startswith("dataset.name 'femnist': ")
    assert os.listdir(data_dir / "femnist") == []


def test_a_damaged_cached_file_is_one_line(cached, data_dir):
    open(os.path.join(cached, "fed_emnist_digitsonly_train.h5"), "wb").write(b"not hdf5")
    with pytest.raises(DataUnavailableError, match="cannot be read") as e:
        femnist.load_femnist(3, 0)
    assert "\n" not in str(e.value)


def test_the_data_folder_default_is_the_user_cache(monkeypatch):
    import platformdirs

    monkeypatch.delenv("FEDSIM_DATA_DIR", raising=False)
    assert download.cache_dir("femnist") == os.path.join(
        platformdirs.user_cache_dir("fedsim", appauthor=False), "femnist")


def test_validation_opens_nothing_and_natural_needs_no_column(tmp_path, monkeypatch):
    monkeypatch.setenv("FEDSIM_DATA_DIR", str(tmp_path / "none"))
    monkeypatch.setattr(download, "fetch", lambda *a, **k: pytest.fail("fetched"))
    cfg(100, clients={"fraction": 0.1}, model={"name": "cnn"})
    assert not (tmp_path / "none").exists()


def test_data_page_names_writers(cached):
    from tests.support.app import chart, open_app

    at = open_app({"data": "femnist", "split": "natural", "clients": "5"}, page="pages/data.py")
    assert not at.error
    ticks = chart(at, "data_labels")["layout"]["xaxis"]["ticktext"]
    assert len(ticks) == 5 and all(t.split(": ")[1].startswith("f") for t in ticks)
