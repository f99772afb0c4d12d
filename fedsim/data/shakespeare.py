"""Shakespeare by speaking role: TFF's ``shakespeare`` (LEAF's processing of the plays), the
benchmark where every client is one character of one play and the task is the next character.

The archive is the one TFF's ``simulation/datasets/shakespeare.py`` fetched (same origin, same
pinned SHA-256), downloaded once by :func:`fedsim.data.download.fetch` into fedsim's data folder
and used offline after that. It holds ``shakespeare_{train,test}.h5``, each laid out as
``examples/<role>/snippets``: variable-length strings, each a run of contiguous lines the role
speaks; 715 roles, 16,068 training and 2,356 test snippets, every role with some of each.

What fedsim takes (:func:`load_shakespeare`):

- ``clients.num_clients`` roles, a seeded random sample (stream ``dataset/shakespeare/roles``)
  of the roles with at least :data:`MIN_TRAIN_EXAMPLES` training windows, in id order;
- an example is :data:`SEQ_LEN` characters of one snippet (left-padded with id 0 near its
  start) and the label is the character that follows; characters are ids 1..86 of TFF's own
  86-character vocabulary (:data:`CHAR_VOCAB`, from TFF's text-generation tutorial), 87 any
  other character. A role keeps at most :data:`MAX_TRAIN_PER_ROLE` training windows (a seeded
  sample of every position, stream ``dataset/shakespeare/windows``) and the server's test set
  at most :data:`MAX_TEST_PER_ROLE` of each sampled role's test windows, so the client arrays
  stay small (a 20-float row per example) at all 715 roles;
- the ids are the features as they are (float32, exact): nothing is standardized. The model is
  ``char_cnn`` (embedding → 1-D convolution → next-character logits).

Partition ``natural`` gives one client per role; any other split shares the same windows out
artificially.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from fedsim.data.dataset import Dataset
from fedsim.data.download import DataUnavailableError, cached_files, damaged
from fedsim.errors import FedsimError, PartitionError
from fedsim.rng import generator

TRAIN_FILE = "shakespeare_train.h5"
TEST_FILE = "shakespeare_test.h5"
#: TFF's character vocabulary (``tff`` text-generation tutorial), ids 1..86 in this order.
CHAR_VOCAB = ("dhlptx@DHLPTX $(,048cgkoswCGKOSW[_#'/37;?bfjnrvzBFJNRVZ\"&*.26:\naeimquyAEIMQUY]"
              "!%)-159\r")
PAD, OOV = 0, len(CHAR_VOCAB) + 1
NUM_CLASSES = len(CHAR_VOCAB) + 2  # pad (never a label), the 86 characters, out-of-vocabulary
SEQ_LEN = 20
MAX_TRAIN_PER_ROLE = 256
MAX_TEST_PER_ROLE = 32
MIN_TRAIN_EXAMPLES = 16

_LOOKUP = np.full(256, OOV, np.int32)
for _i, _ch in enumerate(CHAR_VOCAB):
    _LOOKUP[ord(_ch)] = _i + 1


def _shown(ch: str) -> str:
    return {" ": "␣", "\n": "↵", "\r": "⏎"}.get(ch, ch)


CLASS_NAMES = ("<pad>", *(_shown(c) for c in CHAR_VOCAB), "<oov>")


@dataclass(frozen=True)
class ShakespeareData:
    """The loaded roles: the Dataset, each role's training-pool rows, and the role ids."""

    dataset: Dataset
    groups: tuple[np.ndarray, ...]
    roles: tuple[str, ...]


def encode(text: str) -> np.ndarray:
    """Character ids of ``text`` (1..86 TFF's vocabulary, 87 anything else)."""
    b = np.frombuffer(text.encode("utf-32-le"), np.uint32)
    out = np.full(len(b), OOV, np.int32)
    small = b < 256
    out[small] = _LOOKUP[b[small]]
    return out


def windows(snippets, cap: int, rng: np.random.Generator | None
            ) -> tuple[np.ndarray, np.ndarray]:
    """Every (previous :data:`SEQ_LEN` characters, next character) of ``snippets`` (a window
    never crosses a snippet's start: it is left-padded with 0), or a seeded sample of ``cap``
    of them in text order."""
    parts, starts = [], []
    at = 0
    for s in snippets:
        text = s.decode("utf-8", "replace") if isinstance(s, bytes) else str(s)
        ids = encode(text)
        if len(ids) < 2:
            continue
        parts.append(np.concatenate([np.zeros(SEQ_LEN, np.int32), ids]))
        starts.append(np.arange(at + SEQ_LEN + 1, at + SEQ_LEN + len(ids)))  # label positions
        at += SEQ_LEN + len(ids)
    if not parts:
        return np.zeros((0, SEQ_LEN), np.float32), np.zeros(0, np.int32)
    stream, pos = np.concatenate(parts), np.concatenate(starts)
    if len(pos) > cap:
        pos = pos[np.sort(rng.choice(len(pos), cap, replace=False))] if rng is not None \
            else pos[np.linspace(0, len(pos) - 1, cap).astype(np.int64)]
    ctx = np.lib.stride_tricks.sliding_window_view(stream, SEQ_LEN)[pos - SEQ_LEN]
    return ctx.astype(np.float32), stream[pos].astype(np.int32)


def shakespeare_files() -> tuple[str, str]:
    """The two cached HDF5 files, downloading the archive first if they are not there."""
    return cached_files("shakespeare", TRAIN_FILE, TEST_FILE)


def _damaged(path: str, why: str) -> DataUnavailableError:
    return damaged("shakespeare", path, why)


def _snippets(group) -> list:
    return list(np.asarray(group["snippets"][()]).reshape(-1))


@lru_cache(maxsize=2)
def load_shakespeare(num_roles: int, seed: int) -> ShakespeareData:
    """``num_roles`` roles as a Dataset of (context, next character) rows plus the natural
    split (see the module docstring)."""
    import h5py

    train_path, test_path = shakespeare_files()
    try:
        with h5py.File(train_path, "r") as ftr, h5py.File(test_path, "r") as fte:
            ex, ex_test = ftr["examples"], fte["examples"]
            ids = sorted(ex.keys())
            per_role = {}
            for r in ids:  # every role's window count, to know who is eligible
                n = sum(max(len(s) - 1, 0) for s in _snippets(ex[r]))
                if n >= MIN_TRAIN_EXAMPLES:
                    per_role[r] = n
            eligible = [r for r in ids if r in per_role]
            if num_roles > len(eligible):
                raise PartitionError(
                    "clients.num_clients", num_roles,
                    f"at most {len(eligible)}: the Shakespeare file has {len(eligible)} roles "
                    f"with at least {MIN_TRAIN_EXAMPLES} training windows (one client each)")
            pick = generator(seed, "dataset", "shakespeare", "roles").choice(
                len(eligible), num_roles, replace=False)
            roles = tuple(eligible[i] for i in sorted(pick))
            xs, ys, xts, yts = [], [], [], []
            for i, r in enumerate(roles):
                g = generator(seed, "dataset", "shakespeare", "windows", i)
                x, y = windows(_snippets(ex[r]), MAX_TRAIN_PER_ROLE, g)
                xs.append(x), ys.append(y)
                if r in ex_test:
                    xt, yt = windows(_snippets(ex_test[r]), MAX_TEST_PER_ROLE, None)
                    xts.append(xt), yts.append(yt)
    except FedsimError:
        raise
    except (OSError, KeyError, ValueError, TypeError) as exc:
        path = train_path if not isinstance(exc, KeyError) else f"{train_path} or {test_path}"
        raise _damaged(path, f"{type(exc).__name__}: {exc}"[:80]) from None
    sizes = np.array([len(y) for y in ys])
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    groups = tuple(np.arange(a, b, dtype=np.int64) for a, b in zip(offsets[:-1], offsets[1:]))
    x, y = np.concatenate(xs), np.concatenate(ys)
    xt = np.concatenate(xts) if xts else np.zeros((0, SEQ_LEN), np.float32)
    yt = np.concatenate(yts) if yts else np.zeros(0, np.int32)
    for a in (x, y, xt, yt, *groups):
        a.setflags(write=False)
    ds = Dataset("shakespeare", "classification", x, y, xt, yt, NUM_CLASSES,
                 tuple(f"char_{i - SEQ_LEN}" for i in range(SEQ_LEN)), CLASS_NAMES)
    return ShakespeareData(ds, groups, roles)


__all__ = ["CHAR_VOCAB", "CLASS_NAMES", "NUM_CLASSES", "SEQ_LEN", "ShakespeareData", "encode",
           "load_shakespeare", "shakespeare_files", "windows"]
