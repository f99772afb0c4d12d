"""``fedsim data list`` and ``fedsim data fetch NAME`` (issue #25) on fixture files: a
``file://`` origin with the fixture's SHA-256 pinned, or a pre-seeded cache. A corrupted file,
a wrong checksum, a truncated download and no network each exit 2 with one line (what failed,
the URL, the checksum, where to put the file) and leave the cache as it was. Never the
network."""

from __future__ import annotations

import dataclasses
import io
import os
import urllib.error

import pytest

import datafixtures as fx
from fedsim.cli import main
from fedsim.data import download

TRAIN = {"AS_YOU_LIKE_IT_ROSALIND": 12, "HAMLET_HAMLET": 20, "KING_LEAR_FOOL": 6}
TEST = {r: 2 for r in TRAIN}


@pytest.fixture
def caches(tmp_path, monkeypatch):
    monkeypatch.setenv("FEDSIM_DATA_DIR", str(tmp_path / "fedsim-data"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    return tmp_path / "fedsim-data"


def _pin(monkeypatch, name, src, sha=None):
    monkeypatch.setitem(download.REMOTES, name, dataclasses.replace(
        download.REMOTES[name], origin=f"file://{src}", sha256=sha or fx.sha256(src)))


def _clean(folder) -> bool:
    return not os.path.isdir(folder) or os.listdir(folder) == []


def _one_line_error(capsys, name) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith(f"fedsim: error: dataset.name {name!r}: ")
    return err


def test_list_names_every_set_its_size_and_whether_it_is_cached(caches, capsys):
    assert main(["data", "list"]) == 0
    out = capsys.readouterr().out.splitlines()
    rows = {line.split()[0]: line for line in out[1:]}
    for name in ("digits", "penguins", "mnist", "cifar10", "femnist", "shakespeare"):
        assert name in rows
    assert "built in" in rows["penguins"]
    assert "not downloaded" in rows["shakespeare"] and "715 speaking roles" in rows["shakespeare"]
    assert str(caches / "shakespeare") in rows["shakespeare"]
    fx.shakespeare_files(caches / "shakespeare" / "shakespeare_extracted", TRAIN, TEST)
    assert main(["data", "list"]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[1:]}
    assert " cached " in rows["shakespeare"] and "MB on disk" in rows["shakespeare"]


def test_fetch_from_a_file_origin_verifies_and_caches(caches, tmp_path, monkeypatch, capsys):
    src = fx.shakespeare_archive(tmp_path / "shakespeare.tar.bz2", TRAIN, TEST, tmp_path)
    _pin(monkeypatch, "shakespeare", src)
    seen = []
    real = download._download

    def spy(origin, dest, sha, progress=None, chunk=1 << 20):
        real(origin, dest, sha, lambda d, t: (seen.append((d, t)), progress(d, t)), chunk=64)

    monkeypatch.setattr(download, "_download", spy)
    assert main(["data", "fetch", "shakespeare"]) == 0
    assert "verified and cached" in capsys.readouterr().out
    assert sorted(os.listdir(caches / "shakespeare")) == ["shakespeare_extracted"]
    assert download.is_cached("shakespeare")
    assert seen[0][0] == 0 and seen[-1][0] == os.path.getsize(src) and len(seen) > 3
    # a second fetch is a no-op, offline
    monkeypatch.setattr(download, "_urlopen", lambda o: pytest.fail("downloaded again"))
    assert main(["data", "fetch", "shakespeare"]) == 0
    assert "already cached" in capsys.readouterr().out


def test_an_archive_saved_by_hand_is_fetched_offline(caches, tmp_path, monkeypatch, capsys):
    folder = caches / "shakespeare"
    folder.mkdir(parents=True)
    src = fx.shakespeare_archive(folder / "shakespeare.tar.bz2", TRAIN, TEST, tmp_path)
    monkeypatch.setitem(download.REMOTES, "shakespeare", dataclasses.replace(
        download.REMOTES["shakespeare"], sha256=fx.sha256(src)))
    monkeypatch.setattr(download, "_urlopen", lambda o: pytest.fail("network"))
    assert main(["data", "fetch", "shakespeare", "--quiet"]) == 0
    assert sorted(os.listdir(folder)) == ["shakespeare_extracted"]


def test_no_network_is_one_line_exit_2_and_nothing_in_the_cache(caches, monkeypatch, capsys):
    def offline(origin):
        raise urllib.error.URLError(OSError(-3, "Temporary failure in name resolution"))

    monkeypatch.setattr(download, "_urlopen", offline)
    assert main(["data", "fetch", "femnist"]) == 2
    err = _one_line_error(capsys, "femnist")
    r = download.FEMNIST
    assert "not downloaded yet and no internet" in err
    assert r.origin in err and r.sha256 in err
    assert str(caches / "femnist" / "fed_emnist_digitsonly.tar.bz2") in err
    assert _clean(caches / "femnist")


@pytest.mark.parametrize("damage", ["checksum", "corrupted", "truncated", "server"])
def test_a_bad_download_is_one_line_exit_2_and_leaves_nothing(caches, tmp_path, monkeypatch,
                                                              capsys, damage):
    src = fx.shakespeare_archive(tmp_path / "s.tar.bz2", TRAIN, TEST, tmp_path)
    blob = open(src, "rb").read()
    if damage == "checksum":
        _pin(monkeypatch, "shakespeare", src, sha="e" * 64)
        why = "does not match its checksum"
    elif damage == "corrupted":  # the pinned checksum, but bytes that do not unpack
        bad = tmp_path / "bad.tar.bz2"
        bad.write_bytes(blob[:100] + bytes(len(blob) - 100))
        _pin(monkeypatch, "shakespeare", bad)
        why = "does not unpack"
    elif damage == "truncated":  # the connection drops before Content-Length bytes came

        class Short(io.BytesIO):
            headers = {"Content-Length": str(len(blob))}

        monkeypatch.setattr(download, "_urlopen", lambda o: Short(blob[: len(blob) // 2]))
        why = "the download was cut short"
    else:
        def refuse(origin):
            raise urllib.error.HTTPError(origin, 403, "Forbidden", {}, None)

        monkeypatch.setattr(download, "_urlopen", refuse)
        why = "the server answered 403"
    assert main(["data", "fetch", "shakespeare", "--quiet"]) == 2
    err = _one_line_error(capsys, "shakespeare")
    assert why in err and download.REMOTES["shakespeare"].sha256 in err
    assert _clean(caches / "shakespeare")


def test_an_unknown_name_is_one_line(capsys):
    with pytest.raises(SystemExit) as e:
        main(["data", "fetch", "imagenet"])
    assert e.value.code == 2 and capsys.readouterr().err.count("\n") == 1
