"""Shakespeare by speaking role (issue #25): TFF's ``shakespeare`` HDF5 layout
(``examples/<role>/snippets``) written by the tests into a temporary FEDSIM_DATA_DIR; windows
of 20 characters and the next one; partition ``natural`` one client per role; the ``char_cnn``
model (embedding → 1-D convolution → next character) run by the vectorized trainer against
Keras and a per-client Keras loop; it learns; runs are identical across processes; offline it
is one line. Never the network."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error

import numpy as np
import pytest

import datafixtures as fx
from fedsim.config import SimulationConfig
from fedsim.data import download, shakespeare
from fedsim.data.download import DataUnavailableError
from fedsim.errors import ConfigError

ROLES = {"ALLS_WELL_THAT_ENDS_WELL_HELENA": 14, "HAMLET_HAMLET": 30, "HAMLET_OPHELIA": 9,
         "KING_LEAR_FOOL": 12, "MACBETH_LADY_MACBETH": 20, "OTHELLO_IAGO": 25,
         "THE_TEMPEST_ARIEL": 6, "TWELFTH_NIGHT_VIOLA": 16}
TEST = {r: 3 for r in ROLES}


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    d = tmp_path / "fedsim-data"
    monkeypatch.setenv("FEDSIM_DATA_DIR", str(d))
    shakespeare.load_shakespeare.cache_clear()
    yield d
    shakespeare.load_shakespeare.cache_clear()


@pytest.fixture
def cached(data_dir):
    return fx.shakespeare_files(data_dir / "shakespeare" / "shakespeare_extracted", ROLES, TEST)


def cfg(n=5, **sections):
    base = {"seed": 0, "rounds": 2, "dataset": {"name": "shakespeare"},
            "partition": {"name": "natural"}, "clients": {"num_clients": n}}
    for k, v in sections.items():
        base[k] = {**base.get(k, {}), **v} if isinstance(v, dict) else v
    return SimulationConfig.from_dict(base)


# --------------------------------------------------------------------------- data
def test_encode_and_windows_on_a_tiny_text():
    ids = shakespeare.encode("Hi\n\u00e9")
    assert ids.tolist() == [shakespeare.CHAR_VOCAB.index("H") + 1,
                            shakespeare.CHAR_VOCAB.index("i") + 1,
                            shakespeare.CHAR_VOCAB.index("\n") + 1, shakespeare.OOV]
    x, y = shakespeare.windows([b"abc", b"d", "ef"], 100, None)
    a, b, c, e, f = (shakespeare.CHAR_VOCAB.index(ch) + 1 for ch in "abcef")
    assert y.tolist() == [b, c, f]  # a one-character snippet has no window
    assert x.shape == (3, shakespeare.SEQ_LEN) and x.dtype == np.float32
    assert x[0, -1] == a and not x[0, :-1].any()  # left-padded: never the previous snippet
    assert x[1, -2:].tolist() == [a, b] and x[2, -1] == e and not x[2, :-1].any()
    x2, y2 = shakespeare.windows([b"abcdefgh"], 3, np.random.default_rng(0))
    assert len(y2) == 3 and set(y2.tolist()) <= set(shakespeare.encode("bcdefgh").tolist())


def test_one_client_per_role_from_the_h5_layout(cached, monkeypatch):
    from fedsim.engine.federation import build_federation

    monkeypatch.setattr(download, "fetch", lambda *a, **k: pytest.fail("downloaded"))
    fed = build_federation(cfg(5))
    sh = shakespeare.load_shakespeare(5, 0)
    assert fed.client_names == sh.roles and len(set(sh.roles)) == 5
    assert set(sh.roles) <= set(ROLES) and list(sh.roles) == sorted(sh.roles)
    assert fed.spec.name == "char_cnn" and fed.spec.num_features == shakespeare.SEQ_LEN
    assert fed.spec.num_outputs == shakespeare.NUM_CLASSES == 88
    for k, rows in enumerate(sh.groups):  # client k holds exactly role k's windows
        assert sorted(fed.partition.indices[k].tolist()) == rows.tolist()
    assert len(sh.groups[0]) <= shakespeare.MAX_TRAIN_PER_ROLE
    assert len(fed.data.y_test) <= 5 * shakespeare.MAX_TEST_PER_ROLE
    # the roles are a seeded sample: another seed, other roles
    others = {shakespeare.load_shakespeare(5, s).roles for s in range(1, 6)}
    assert len(others | {sh.roles}) > 1
    with pytest.raises(ConfigError, match="at most 8"):
        build_federation(cfg(9))


def test_config_rules_without_opening_anything(tmp_path, monkeypatch):
    monkeypatch.setenv("FEDSIM_DATA_DIR", str(tmp_path / "none"))
    c = cfg(700)
    assert c.model_name == "char_cnn"
    with pytest.raises(ConfigError, match="char_cnn"):
        cfg(5, model={"name": "mlp"})
    with pytest.raises(ConfigError, match="char_cnn"):
        SimulationConfig.from_dict({"model": {"name": "char_cnn"}})
    with pytest.raises(ConfigError):
        cfg(716)
    assert not os.path.exists(tmp_path / "none")


def test_offline_is_one_line_and_leaves_the_cache_clean(data_dir, monkeypatch):
    def offline(origin):
        raise urllib.error.URLError(OSError(-3, "Temporary failure in name resolution"))

    monkeypatch.setattr(download, "_urlopen", offline)
    from fedsim.engine.federation import build_federation

    with pytest.raises(DataUnavailableError) as e:
        build_federation(cfg(5))
    msg = str(e.value)
    assert msg.startswith("dataset.name 'shakespeare': not downloaded yet and no internet")
    assert download.SHAKESPEARE.origin in msg and download.SHAKESPEARE.sha256 in msg
    assert "\n" not in msg and os.listdir(data_dir / "shakespeare") == []


def test_a_damaged_cached_file_is_one_line(cached):
    open(os.path.join(cached, "shakespeare_train.h5"), "wb").write(b"not hdf5")
    with pytest.raises(DataUnavailableError, match="cannot be read") as e:
        shakespeare.load_shakespeare(3, 0)
    assert "\n" not in str(e.value)


# --------------------------------------------------------------------------- the model
tf = None


def _tf():
    return pytest.importorskip("tensorflow")


def _char_clients(sizes, seed=0):
    from fedsim.training.batching import ClientData

    rng = np.random.default_rng(seed)
    xs = [rng.integers(0, 88, size=(n, shakespeare.SEQ_LEN)).astype(np.float32) for n in sizes]
    ys = [rng.integers(1, 88, size=n).astype(np.int32) for n in sizes]
    return ClientData.build(xs, ys, [a[:2] for a in xs], [b[:2] for b in ys]), xs, ys


def test_char_cnn_shapes_forward_and_stacking_equal_keras():
    tf = _tf()
    from fedsim.training.models import ModelSpec, build_keras_model
    from fedsim.training.spec import layer_shapes
    from fedsim.training.stacked import stacked_forward

    spec = ModelSpec("char_cnn", shakespeare.SEQ_LEN, 88)
    model = build_keras_model(spec, 0)
    assert [tuple(w.shape) for w in model.get_weights()] == layer_shapes(spec)
    fwd = stacked_forward(model)
    assert fwd is not None
    data, xs, _ = _char_clients([6, 6, 6])
    rng = np.random.default_rng(1)
    stacked = [np.stack([w + 0.1 * rng.normal(size=w.shape).astype(np.float32)
                         for _ in range(3)]) for w in model.get_weights()]
    out = fwd([tf.constant(w) for w in stacked], tf.constant(np.stack(xs))).numpy()
    for k in range(3):
        model.set_weights([w[k] for w in stacked])
        np.testing.assert_allclose(out[k], np.asarray(model(xs[k])), rtol=1e-5, atol=2e-6)


@pytest.mark.parametrize("opt, mu, atol", [("sgd", 0.0, 5e-6), ("momentum", 0.0, 5e-6),
                                           ("sgd", 0.5, 5e-6), ("adam", 0.0, 2e-3)])
def test_char_cnn_round_equals_per_client_keras_loop(opt, mu, atol):
    """Unequal sizes (padding, masked steps), two epochs. Adam divides by √v: where a
    gradient entry is ~0 (a relu unit barely on), the two sums' last-bit differences become
    differences of lr-sized steps, so its tolerance is wider; SGD's and momentum's are not."""
    _tf()
    from test_trainer import _reference

    from fedsim.training.models import ModelSpec, initial_weights
    from fedsim.training.trainer import VectorizedTrainer, batch_schedule

    spec = ModelSpec("char_cnn", shakespeare.SEQ_LEN, 88)
    data, xs, ys = _char_clients([7, 3, 12])
    w0 = initial_weights(spec, 1)
    tr = VectorizedTrainer(spec, "classification", opt)
    res = tr.train(w0, data, epochs=2, batch_size=4, lr=0.1, rng=np.random.default_rng(5),
                   prox_mu=mu)
    idx, emask = batch_schedule(data.counts, 2, 4, np.random.default_rng(5))
    ref = _reference(spec, "classification", w0, xs, ys, idx, emask, 0.1, opt, mu)
    for k in range(3):
        for a, b in zip(res.weights, ref[k]):
            np.testing.assert_allclose(a[k], b, atol=atol)


def _big_fixture(data_dir):
    roles = {f"PLAY_{i:02d}_ROLE": 40 for i in range(10)}
    return fx.shakespeare_files(data_dir / "shakespeare" / "shakespeare_extracted", roles,
                                {r: 6 for r in roles})


def test_it_learns_the_next_character(data_dir):
    _tf()
    from fedsim.engine.simulation import Simulation

    _big_fixture(data_dir)
    sim = Simulation(cfg(10, rounds=8, clients={"fraction": 0.5},
                         training={"optimizer": "adam", "lr": 0.01, "local_epochs": 1}))
    sim.run()
    y = sim.fed.data.y_test
    majority = np.bincount(y).max() / len(y)  # always guessing the commonest character
    acc = [r.global_metrics["accuracy"] for r in sim.history]
    assert acc[-1] > majority + 0.1, (acc, majority)
    assert sim.history[-1].global_metrics["loss"] < sim.initial_metrics["loss"] - 1.0


def test_runs_are_identical_across_processes(data_dir, tmp_path):
    _tf()
    _big_fixture(data_dir)
    cp = tmp_path / "c.json"
    cp.write_text(cfg(6, rounds=2, clients={"fraction": 0.5}).to_json())
    outs = []
    for i in range(2):
        out = tmp_path / f"r{i}.json"
        p = subprocess.run([sys.executable, "-m", "fedsim", "run", "--config", str(cp), "--out",
                            str(out), "--quiet"], capture_output=True, text=True,
                           env={**os.environ, "FEDSIM_DATA_DIR": str(data_dir)})
        assert p.returncode == 0, p.stderr[-800:]
        outs.append(_no_timings(json.loads(out.read_text())))
    assert outs[0] == outs[1] and outs[0]["rounds"][-1]


def _no_timings(o):
    if isinstance(o, dict):
        return {k: _no_timings(v) for k, v in o.items()
                if not (k == "ms" or k.endswith("_ms") or k.startswith("ms_"))}
    return [_no_timings(v) for v in o] if isinstance(o, list) else o
