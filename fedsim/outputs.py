"""Output files every subcommand writes (``run --out/--csv``, ``invert --out``, ``flower run
--out``), written safely: :class:`OutputFiles` refuses a device (``/dev/null``), FIFO, folder
or symlink before any work starts (a rename over a symlink would replace the link, and writing
"through" it is how a shared folder gets a file overwritten elsewhere), checks the disk has
room for the estimated size, writes into an ``O_EXCL`` temporary file beside the target
through its open descriptor, and renames it over the target at the end after checking target
and temporary file again. A run that fails or is stopped leaves any previous file as it was.
"""

from __future__ import annotations

import math
import os
import shutil
import stat
import tempfile

from fedsim.config import SimulationConfig
from fedsim.errors import FedsimError, short


class OutputError(FedsimError):
    """An output file could not be created or written (names the flag and the path)."""


ALLOWED_OUTPUT = "a file path (a regular file or a new name; not a device, FIFO, folder or symlink)"


def _special_kind(mode: int) -> str | None:
    """What a non-regular file is, in words (None for a regular file)."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISDIR(mode):
        return "folder"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "special file"


def check_output_path(flag: str, path: str) -> None:
    """Raise :class:`OutputError` unless ``path`` is a regular file or does not exist yet.

    ``lstat``, not ``stat``: a symlink is refused, never followed. ``/dev/null`` would "work"
    (the rename replaces the device node, or fails, after the whole run), a FIFO would block,
    and a symlink planted in a shared folder would redirect the write.
    """
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return  # a new file
    except OSError as exc:  # e.g. a component of the path is a file (ENOTDIR)
        raise OutputError(f"{flag}: cannot use {short(path)}: {exc.strerror or exc}; "
                          f"allowed: {ALLOWED_OUTPUT}") from None
    kind = _special_kind(st.st_mode)
    if kind:
        raise OutputError(f"{flag}: {short(path)} is a {kind}; allowed: {ALLOWED_OUTPUT}")


def _size(n: int) -> str:
    for unit, scale in (("GB", 2**30), ("MB", 2**20), ("kB", 2**10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def estimate_run_bytes(cfg: SimulationConfig, *, csv_table: bool = False,
                       baselines: bool = False) -> int:
    """A generous estimate of the run JSON's (or, with ``csv_table``, the CSV's) size.

    Measured on digits: about 520 bytes per sampled client per round in the JSON (more with
    privacy and attack fields) and 160 bytes per CSV row. The figures here are about twice
    that, with 20 % more sampled clients than expected (Poisson sampling under central DP):
    running out of space after an hour of training costs more than refusing a nearly full disk.
    """
    n, rounds = cfg.clients.num_clients, cfg.rounds
    sampled = min(n, math.ceil(cfg.clients.fraction * n * 1.2) + 5)
    if csv_table:
        return 4096 + rounds * sampled * 320
    return 64 * 1024 + n * 512 + rounds * (8192 + sampled * 1024) + (rounds * 256 if baselines
                                                                        else 0)


class _Temp:
    """One reserved output: the target, its temporary file (name, open descriptor) and the
    identity (device, inode) of that file, checked again before the rename."""

    __slots__ = ("target", "tmp", "fd", "ident")

    def __init__(self, target: str, tmp: str, fd: int):
        self.target, self.tmp, self.fd = target, tmp, fd
        st = os.fstat(fd)
        self.ident = (st.st_dev, st.st_ino)


class OutputFiles:
    """The output files of one command, created as temporary files beside their targets
    before the slow part (so a bad path fails in milliseconds) and renamed over the targets
    at the end.

    - :meth:`reserve` refuses anything but a regular file or a new name
      (:func:`check_output_path`), a missing folder, the same path twice, and a disk whose free
      space is below the estimated size of all outputs reserved on it; then creates the
      temporary file ``.NAME.XXXXXXXX.tmp`` with ``O_EXCL`` (``mkstemp``: never an existing
      file or a symlink) in the target's own folder, so the final rename is atomic.
    - :meth:`write` writes through the descriptor ``mkstemp`` returned (the temporary name is
      not opened again), fsyncs, re-checks right before the rename that the target has not
      become a symlink, folder or device and that the temporary name is still our file
      (minutes of training lie between the two), then renames.
    - :meth:`discard` (call it in a ``finally``) closes and removes whatever was not written,
      so Ctrl-C, SIGTERM or an error leave no ``.tmp`` files and the previous outputs intact.
    """

    def __init__(self, written: list[str] | None = None):
        self._temps: dict[str, _Temp] = {}  # flag -> reserved output
        self._need: dict[int, int] = {}  # device -> bytes the outputs reserved on it need
        self.written = written if written is not None else []

    def reserve(self, flag: str, path: str | None, size: int = 0) -> None:
        """Check ``path`` for ``flag`` and create its temporary file; ``size`` is the
        estimated output size in bytes (0: no free-space check)."""
        if not path or path == "-":
            return
        check_output_path(flag, path)
        target = os.path.abspath(path)
        folder = os.path.dirname(target)
        if not os.path.isdir(folder):
            raise OutputError(f"{flag}: folder {short(folder)} does not exist")
        if any(t.target == target for t in self._temps.values()):
            raise OutputError(f"{flag}: {short(path)} is already another output of this run")
        self._check_space(flag, folder, size)
        try:
            # The name is cut so that prefix + random part + suffix stay under NAME_MAX.
            fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(target)[:100]}.",
                                       suffix=".tmp", dir=folder)
        except OSError as exc:
            raise OutputError(f"{flag}: cannot write in {short(folder)}: "
                              f"{exc.strerror or exc}") from None
        self._temps[flag] = _Temp(target, tmp, fd)  # recorded first: discard() finds it
        try:
            os.fchmod(fd, _file_mode(target))
        except OSError as exc:
            raise OutputError(f"{flag}: cannot write in {short(folder)}: "
                              f"{exc.strerror or exc}") from None

    def _check_space(self, flag: str, folder: str, size: int) -> None:
        """Refuse a disk that cannot hold the outputs, before the run rather than after it."""
        if size <= 0:
            return
        try:
            dev = os.stat(folder).st_dev
            usage = shutil.disk_usage(folder)
        except OSError:
            return  # cannot tell; the atomic write still keeps any previous file intact
        if usage.total == 0:  # /proc, sysfs, some FUSE mounts: no size to go by
            return
        free = usage.free
        need = self._need.get(dev, 0) + int(size)
        self._need[dev] = need
        if free < need:
            raise OutputError(f"{flag}: only {_size(free)} free in {short(folder)}; the "
                              f"outputs of this run need about {_size(need)}; allowed: a "
                              "folder on a disk with enough free space")

    def write(self, flag: str, text: str) -> None:
        """Write ``text`` to the temporary file and rename it over the target."""
        t = self._temps.pop(flag)
        try:
            with os.fdopen(t.fd, "w", encoding="utf-8", newline="") as fh:  # closes the fd
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            self._replace(flag, t)
            self.written.append(t.target)
        except OSError as exc:
            _remove(t.tmp)
            raise OutputError(f"{flag}: could not write {short(t.target)}: "
                              f"{exc.strerror or exc}; the previous file (if any) is "
                              "unchanged") from None
        except BaseException:  # OutputError from the re-check, or Ctrl-C/SIGTERM mid-write
            _remove(t.tmp)
            raise

    @staticmethod
    def _replace(flag: str, t: _Temp) -> None:
        # Between reserve() and now the target may have become a symlink, folder or device,
        # or the temporary name may have been swapped for another file. os.replace() would
        # replace a symlink rather than follow it, but silently replacing what someone put
        # there is not what was asked: refuse. (What remains is the few microseconds between
        # these checks and the rename, which no path-based API can close.)
        check_output_path(flag, t.target)
        st = os.lstat(t.tmp)
        if (st.st_dev, st.st_ino) != t.ident or not stat.S_ISREG(st.st_mode):
            raise OutputError(f"{flag}: the temporary file {short(t.tmp)} was replaced by "
                              f"another file; {short(t.target)} was not written")
        os.replace(t.tmp, t.target)

    def discard(self) -> None:
        for t in self._temps.values():
            if t.fd >= 0:
                try:
                    os.close(t.fd)
                except OSError:
                    pass
            _remove(t.tmp)
        self._temps.clear()


def _file_mode(path: str) -> int:
    """The target's permissions if it exists, else what ``open()`` would give (umask)."""
    try:
        return os.lstat(path).st_mode & 0o777
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
