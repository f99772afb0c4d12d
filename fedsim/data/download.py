"""Data sets that exist only once downloaded: where they are cached, how they are fetched, and
the one-line error when they are not there and cannot be.

Nothing here touches the network at import, and nothing is downloaded unless a data set that
needs it is loaded (or :func:`fetch` is called: ``fedsim data fetch NAME``). Each remote file
is pinned to the SHA-256 its upstream loader pins and hashed as it streams in (``urllib``, no
TensorFlow import: the same file ``keras.utils.get_file`` would fetch and verify); a cached
file is then used offline forever.

- ``mnist`` and ``cifar10`` live where ``keras.datasets`` keeps them (``$KERAS_HOME/datasets``,
  else ``~/.keras/datasets``), with Keras's own file names, origins and hashes, so a file a
  teacher's Keras already downloaded is used as is.
- ``femnist`` (TFF's ``fed_emnist_digitsonly``) and ``shakespeare`` (TFF's ``shakespeare``)
  live in fedsim's data folder:
  ``$FEDSIM_DATA_DIR``, else the user cache folder (``platformdirs.user_cache_dir("fedsim")``).

A download goes to a fresh temporary folder beside the cache, is verified there (and, for an
archive, extracted and checked), and only then moved into place, so an interrupted, refused or
corrupted download leaves nothing in the cache.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass

from fedsim.errors import MAX_MESSAGE_CHARS, ConfigError


class DataUnavailableError(ConfigError):
    """A data set's files are not on this machine and could not be fetched (one line: what
    failed, the URL, where to put the file and the checksum it must have)."""

    code = "data"

    def __init__(self, name: str, message: str):
        super().__init__("dataset.name", name, "a data set whose files are available",
                         message=message)


@dataclass(frozen=True)
class Remote:
    """One downloaded file a data set is made from, and how it sits in the cache."""

    dataset: str
    origin: str
    sha256: str
    get_name: str  # the name keras.utils.get_file is called with (upstream's loader)
    archive: str  # the downloaded file's name in the cache
    folder: str | None  # the folder it is extracted into (None: used as is)
    size: str  # what a teacher is told before downloading
    license: str
    keep_archive: bool = True  # keep the archive beside its extracted folder
    members: tuple[str, ...] = ()  # files the extracted folder must hold

    def complete(self, path: str) -> bool:
        """Whether ``path`` (the file, or the extracted folder) holds what it should."""
        if self.folder is None:
            return os.path.isfile(path)
        return all(os.path.isfile(os.path.join(path, m)) for m in self.members)


MNIST = Remote("mnist", "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz",
               "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
               "mnist.npz", "mnist.npz", None, "11 MB",
               "CC BY-SA 3.0 (Yann LeCun and Corinna Cortes)")
#: keras.datasets.cifar10 calls get_file("cifar-10-batches-py-target", extract=True): the
#: archive is cached as ``cifar-10-batches-py-target_archive`` and extracted into
#: ``cifar-10-batches-py-target/cifar-10-batches-py/`` (the pickled batches).
CIFAR10 = Remote("cifar10", "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
                 "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
                 "cifar-10-batches-py-target", "cifar-10-batches-py-target_archive",
                 "cifar-10-batches-py-target", "163 MB",
                 "no license stated; free to use citing Krizhevsky (2009)",
                 members=tuple(f"cifar-10-batches-py/{b}" for b in (
                     *(f"data_batch_{i}" for i in range(1, 6)), "test_batch")))
#: TFF's federated EMNIST, digits only, as TFF's ``simulation/datasets/emnist.py`` fetched it
#: before it moved to SQLite: a tar.bz2 of fed_emnist_digitsonly_{train,test}.h5.
FEMNIST = Remote("femnist",
                 "https://storage.googleapis.com/tff-datasets-public/fed_emnist_digitsonly.tar.bz2",
                 "55333deb8546765427c385710ca5e7301e16f4ed8b60c1dc5ae224b42bd5b14b",
                 "fed_emnist_digitsonly.tar.bz2", "fed_emnist_digitsonly.tar.bz2",
                 "fed_emnist_digitsonly_extracted",
                 "382,705 images of 28×28; the archive's size is not published",
                 "LEAF's processing of NIST SD 19 (BSD-2-Clause, as flwrlabs/femnist states)",
                 keep_archive=False, members=("fed_emnist_digitsonly_train.h5",
                                              "fed_emnist_digitsonly_test.h5"))
#: TFF's federated Shakespeare as ``simulation/datasets/shakespeare.py`` fetched it before it
#: moved to SQLite (same origin, same pinned SHA-256): a tar.bz2 of
#: shakespeare_{train,test}.h5, laid out as ``examples/<role>/snippets``.
SHAKESPEARE = Remote("shakespeare",
                     "https://storage.googleapis.com/tff-datasets-public/shakespeare.tar.bz2",
                     "0285be9906cb5f268092eee4edeeacfc2af4574f2941f7cc2f08a321d7f5c707",
                     "shakespeare.tar.bz2", "shakespeare.tar.bz2", "shakespeare_extracted",
                     "715 speaking roles, 16,068 training and 2,356 test snippets; the "
                     "archive's size is not published",
                     "LEAF's processing of Shakespeare's plays (Project Gutenberg text, public "
                     "domain; LEAF is BSD-2-Clause)",
                     keep_archive=False, members=("shakespeare_train.h5",
                                                  "shakespeare_test.h5"))
REMOTES = {r.dataset: r for r in (MNIST, CIFAR10, FEMNIST, SHAKESPEARE)}


def keras_datasets_dir() -> str:
    """Where ``keras.datasets`` caches its files: ``$KERAS_HOME/datasets``, else
    ``~/.keras/datasets`` (Keras's own rule, without importing Keras)."""
    home = os.environ.get("KERAS_HOME")
    if not home:
        base = os.path.expanduser("~")
        if not os.access(base, os.W_OK):
            base = "/tmp"
        home = os.path.join(base, ".keras")
    return os.path.join(home, "datasets")


def fedsim_data_dir() -> str:
    """fedsim's own data cache: ``$FEDSIM_DATA_DIR``, else the user cache folder."""
    env = os.environ.get("FEDSIM_DATA_DIR")
    if env:
        return os.path.abspath(os.path.expanduser(env))
    import platformdirs

    return platformdirs.user_cache_dir("fedsim", appauthor=False)


def cache_dir(name: str) -> str:
    """The folder data set ``name``'s files are cached in."""
    return keras_datasets_dir() if name in ("mnist", "cifar10") else \
        os.path.join(fedsim_data_dir(), name)


def cached_path(name: str) -> str:
    """Where data set ``name``'s usable copy is (the file, or the extracted folder)."""
    r = REMOTES[name]
    return os.path.join(cache_dir(name), r.folder or r.archive)


def is_cached(name: str) -> bool:
    """Whether data set ``name`` is on this machine (nothing to download)."""
    return REMOTES[name].complete(cached_path(name))


def unavailable(name: str, what: str, why: str = "") -> DataUnavailableError:
    """The one-line error for data set ``name``: ``what`` went wrong (``why``, when the line
    has room for it), then the URL, the checksum the file must have and where it goes."""
    r = REMOTES[name]
    rest = (f": go online once (it is then cached) or save {r.origin} (sha256 {r.sha256}) "
            f"as {os.path.join(cache_dir(name), r.archive)}")
    line = f"dataset.name {name!r}: {what}{rest}"
    if why and len(line) + len(why) + 4 <= MAX_MESSAGE_CHARS:
        line += f" [{why}]"
    return DataUnavailableError(name, line)


class _Failed(Exception):
    """A download or check that failed: ``what`` (the one line's cause) and ``why`` (detail)."""

    def __init__(self, what: str, why: str = ""):
        super().__init__(what)
        self.what, self.why = what, why


def _cut(text: str, n: int = 50) -> str:
    return text if len(text) <= n else text[: n - 3] + "..."


#: ``progress(done_bytes, total_bytes_or_None)``, called as a download goes.
Progress = Callable[[int, "int | None"], None]


def _download(origin: str, dest: str, sha256: str, progress: Progress | None = None,
              chunk: int = 1 << 20) -> None:
    """Stream ``origin`` into the new file ``dest``, hashing as it goes; raise
    :class:`_Failed` when the network refuses, the stream stops short of its announced length,
    or the SHA-256 differs from ``sha256``. ``urllib`` reads ``https://`` and ``file://``
    alike (the tests' fixtures come from ``file://`` origins)."""
    import hashlib
    import urllib.error
    import urllib.request

    h, done, total = hashlib.sha256(), 0, None
    with open(dest, "xb") as out:  # a fresh name in a fresh folder: never an existing file
        try:
            with _urlopen(origin) as resp:
                length = resp.headers.get("Content-Length") if resp.headers else None
                total = int(length) if length and str(length).isdigit() else None
                if progress is not None:
                    progress(0, total)
                while True:
                    block = resp.read(chunk)
                    if not block:
                        break
                    out.write(block)
                    h.update(block)
                    done += len(block)
                    if progress is not None:
                        progress(done, total)
        except urllib.error.HTTPError as exc:  # the network works, the server said no
            raise _Failed(f"not downloaded yet: the server answered {exc.code}",
                          _cut(str(exc.reason))) from None
        except urllib.error.URLError as exc:
            raise _Failed("not downloaded yet and no internet", _cut(str(exc.reason))) from None
        except (ConnectionError, TimeoutError) as exc:
            what = "the download was cut short" if done else "not downloaded yet and no internet"
            raise _Failed(what, _cut(f"{type(exc).__name__}: {exc}")) from None
    if total is not None and done < total:
        raise _Failed("the download was cut short", f"{done:,} of {total:,} bytes")
    if h.hexdigest() != sha256:
        raise _Failed("the downloaded file does not match its checksum",
                      f"got sha256 {h.hexdigest()[:16]}...")


def _urlopen(origin: str):
    """The one place that opens a URL (the tests replace it to simulate no network)."""
    import urllib.request

    return urllib.request.urlopen(origin, timeout=60)


def _sha256_of(path: str) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _extract(archive: str, folder: str) -> None:
    """Unpack a tar archive (any compression) into ``folder``: regular files and folders
    only, nothing outside it (``tarfile``'s ``data`` filter)."""
    import tarfile

    os.makedirs(folder)
    try:
        with tarfile.open(archive, "r:*") as tar:
            tar.extractall(folder, filter="data")
    except (tarfile.TarError, EOFError, OSError, ValueError) as exc:
        raise _Failed("the downloaded file does not unpack",
                      _cut(f"{type(exc).__name__}: {exc}")) from None


def fetch(name: str, check: Callable[[str], bool] | None = None,
          progress: Progress | None = None) -> str:
    """Download data set ``name``'s file into its cache folder, verified against the pinned
    SHA-256 (and extracted, for an archive), and return :func:`cached_path`.

    The file is streamed into a temporary folder beside the cache (``progress(done, total)``
    is told as it comes: the CLI draws a progress bar with it, the app a progress widget),
    hashed on the way, and only once the hash matches (and, for an archive, it unpacks and
    :meth:`Remote.complete` and ``check`` accept what came out) moved into place, so a failure
    leaves the cache as it was. An archive already saved in the cache (by hand, say) is
    verified and extracted without any download. One fetch at a time per process (Streamlit
    sessions share it); a set another caller fetched meanwhile is not fetched again. Raises
    :class:`DataUnavailableError` (one line) when the download or a check fails.
    """
    with _FETCH_LOCK:
        if check is None and is_cached(name):
            return cached_path(name)
        return _fetch(name, check, progress)


_FETCH_LOCK = threading.Lock()


def _fetch(name: str, check: Callable[[str], bool] | None, progress: Progress | None) -> str:
    r = REMOTES[name]
    target_dir = cache_dir(name)
    os.makedirs(target_dir, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".download-", dir=target_dir)
    try:
        placed = os.path.join(target_dir, r.archive)
        archive = os.path.join(tmp, r.archive)
        try:
            if r.folder and os.path.isfile(placed) and _sha256_of(placed) == r.sha256:
                shutil.copyfile(placed, archive)  # saved by hand and verified: no download
            else:
                _download(r.origin, archive, r.sha256, progress)
            got = archive
            if r.folder:
                got = os.path.join(tmp, r.folder)
                _extract(archive, got)
        except _Failed as exc:
            raise unavailable(name, exc.what, exc.why) from None
        if not r.complete(got) or (check is not None and not check(got)):
            raise unavailable(name, "the downloaded file does not hold what it should")
        _replace(got, cached_path(name))
        if r.folder and r.keep_archive:
            _replace(archive, placed)  # as keras.datasets leaves it: found, not fetched again
        elif r.folder and os.path.isfile(placed) and not r.keep_archive:
            os.remove(placed)  # extracted and verified: the copy placed by hand is not needed
        return cached_path(name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _replace(src: str, dst: str) -> None:
    """Move ``src`` to ``dst`` (same file system), replacing whatever was there."""
    if os.path.isdir(dst) and not os.path.islink(dst):
        shutil.rmtree(dst)
    os.replace(src, dst)


__all__ = ["CIFAR10", "DataUnavailableError", "FEMNIST", "MNIST", "REMOTES", "Remote",
           "SHAKESPEARE",
           "cache_dir", "cached_path", "fedsim_data_dir", "fetch", "is_cached",
           "keras_datasets_dir",
           "unavailable"]


def cached_files(name: str, *files: str) -> tuple[str, ...]:
    """The paths of ``files`` in data set ``name``'s cache folder, fetching it first if it is
    not cached (FEMNIST's and Shakespeare's pair of HDF5 files)."""
    folder = cached_path(name)
    if not is_cached(name):
        fetch(name)
    return tuple(os.path.join(folder, f) for f in files)


def damaged(name: str, path: str, why: str) -> DataUnavailableError:
    """The one-line error for a cached file of ``name`` that cannot be read."""
    return DataUnavailableError(name, f"dataset.name {name!r}: the cached file {path} cannot "
                                f"be read ({why}); delete its folder and load the data set "
                                "again with internet")

