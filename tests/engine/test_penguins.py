"""Palmer penguins split by nature (issue #25): one client per island (or study year), from the
CSV the palmerpenguins package ships (nothing downloaded), checked without opening anything
when the configuration is built; the preset, its catalogue entries and the Data page."""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest

from fedsim.config import SimulationConfig
from fedsim.data import builtin
from fedsim.data.builtin import PENGUIN_SPECIES, penguins_table
from fedsim.data.load import load_dataset, natural_groups
from fedsim.engine.federation import build_federation
from fedsim.errors import ConfigError, IncompatibleConfigError

ROOT = pathlib.Path(__file__).resolve().parents[2]


def cfg(**sections) -> SimulationConfig:
    base = {"seed": 0, "rounds": 5, "dataset": {"name": "penguins"},
            "partition": {"name": "natural"}, "clients": {"num_clients": 3}}
    for k, v in sections.items():
        base[k] = {**base.get(k, {}), **v} if isinstance(v, dict) else v
    return SimulationConfig.from_dict(base)


def test_the_table_drops_the_two_penguins_without_measurements():
    t = penguins_table()
    assert t.x.shape == (342, 4) and t.dropped == 2
    assert np.isfinite(t.x).all()
    assert np.bincount(t.y).tolist() == [151, 68, 123]  # Adelie, Chinstrap, Gentoo
    assert set(t.island) == {"Biscoe", "Dream", "Torgersen"}
    assert set(t.year.tolist()) == {2007, 2008, 2009}


def test_loaded_like_the_other_built_ins():
    c = cfg()
    ds = load_dataset(c.dataset, c.seed)
    assert ds.num_classes == 3 and ds.class_names == PENGUIN_SPECIES
    assert ds.feature_names == ("bill_length_mm", "bill_depth_mm", "flipper_length_mm",
                                "body_mass_g")
    assert len(ds.y_train) + len(ds.y_test) == 342
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int32
    # standardized with the training pool's statistics (not the test set's)
    np.testing.assert_allclose(ds.x_train.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(ds.x_train.std(0), 1, atol=1e-5)
    assert not np.allclose(ds.x_test.mean(0), 0, atol=1e-3)


def test_natural_split_gives_one_client_per_island_and_torgersen_only_has_adelie():
    fed = build_federation(cfg())
    assert fed.client_names == ("Biscoe", "Dream", "Torgersen")
    counts = fed.label_counts()
    adelie, chinstrap, gentoo = range(3)
    assert counts[2, chinstrap] == counts[2, gentoo] == 0 and counts[2, adelie] > 0
    assert counts[0, chinstrap] == 0 and counts[1, gentoo] == 0  # Biscoe / Dream
    # the groups are the training pool, each row once, each row on its own island
    pool = np.concatenate(fed.partition.indices)
    assert sorted(pool.tolist()) == list(range(len(fed.data.y_train)))
    t = penguins_table()
    test = builtin._test_mask(t.y, "classification", 0.2, 0)
    islands = t.island[~test]
    for k, name in enumerate(fed.client_names):
        assert set(islands[fed.partition.indices[k]]) == {name}
    np.testing.assert_array_equal(fed.data.y_train[pool], t.y[~test][pool])


def test_split_by_year_is_a_split_over_time():
    fed = build_federation(cfg(dataset={"partition_column": "year"}))
    assert fed.client_names == ("2007", "2008", "2009")
    assert (fed.label_counts() > 0).all()  # every species every year


def test_the_natural_split_is_the_same_for_every_seed_but_the_test_set_moves():
    a, b = (natural_groups(cfg(seed=s).dataset, s)[1] for s in (0, 1))
    assert a == b == ("Biscoe", "Dream", "Torgersen")


@pytest.mark.parametrize("data, field", [
    ({"clients": {"num_clients": 4}}, "clients.num_clients"),
    ({"dataset": {"partition_column": "sex"}}, "dataset.partition_column"),
    ({"model": {"name": "cnn"}}, "model.name"),
    ({"clients": {"num_clients": 3, "malicious": {"ids": [0], "attack": "label_flip",
                                                  "source_label": 3, "target_label": 0}}},
     "clients.malicious.source_label"),
])
def test_bad_penguin_settings_name_the_field(data, field):
    with pytest.raises(ConfigError) as e:
        cfg(**data)
    assert e.value.field == field


def test_validation_never_opens_the_data(monkeypatch):
    """The island count is known statically; the CSV is read when the federation is built."""
    builtin.penguins_table.cache_clear()

    def refuse():
        raise AssertionError("validation read the data")

    monkeypatch.setattr(builtin, "penguins_table", refuse)
    cfg()
    cfg(dataset={"partition_column": "year"})
    with pytest.raises(IncompatibleConfigError):
        cfg(clients={"num_clients": 5})


def test_natural_still_needs_groups_and_csv_natural_is_unchanged(tmp_path):
    with pytest.raises(IncompatibleConfigError) as e:
        SimulationConfig.from_dict({"partition": {"name": "natural"}})
    assert "'natural' only with dataset 'csv' and a dataset.partition_column" in str(e.value)
    p = tmp_path / "h.csv"
    p.write_text("site,x,y\n" + "".join(f"{'ab'[i % 2]},{i},{i % 2}\n" for i in range(40)))
    c = SimulationConfig.from_dict({"dataset": {"name": "csv", "path": str(p), "label": "y",
                                                "partition_column": "site"},
                                    "partition": {"name": "natural"},
                                    "clients": {"num_clients": 2}})
    assert build_federation(c).client_names == ("a", "b")


def test_other_splits_work_on_penguins_too():
    fed = build_federation(cfg(partition={"name": "dirichlet", "alpha": 0.5},
                               clients={"num_clients": 5}))
    assert fed.partition.num_clients == 5 and fed.client_names == ()


@pytest.mark.parametrize("model", ["mlp", "logistic"])
def test_mlp_and_logistic_learn_the_species_across_islands(model):
    from fedsim.engine.simulation import Simulation

    sim = Simulation(cfg(rounds=10, model={"name": model, "hidden": 16},
                         training={"lr": 0.05, "local_epochs": 3}))
    sim.run()
    assert sim.history[-1].global_metrics["accuracy"] > 0.85


def test_preset_and_its_catalogue_entries():
    from fedsim.presets import PRESETS

    p = PRESETS["penguins-islands"]
    c = p.build()
    assert (c.dataset.name, c.partition.name, c.clients.num_clients) == ("penguins", "natural", 3)
    build_federation(c)
    for lang in ("en", "zh"):
        cat = json.loads((ROOT / "fedsim_app/i18n/locales" / lang / "app.json").read_text())
        assert cat["preset.penguins-islands.title"] and cat["preset.penguins-islands.blurb"]
        assert cat["data.dataset.penguins"]
    en = json.loads((ROOT / "fedsim_app/i18n/locales/en/app.json").read_text())
    assert en["preset.penguins-islands.title"] == p.title


def test_data_page_names_the_islands_under_the_label_bars():
    from tests.support.app import cfg_of, chart, open_app

    at = open_app({"data": "penguins", "split": "natural", "clients": "3"},
                  page="pages/data.py")
    assert not at.error
    fig = chart(at, "data_labels")
    assert fig["layout"]["xaxis"]["ticktext"] == ["0: Biscoe", "1: Dream", "2: Torgersen"]
    assert [tr["name"] for tr in fig["data"]] == list(PENGUIN_SPECIES)
    assert any("natural split" in c.value and "Torgersen" in c.value for c in at.caption)
    at.selectbox(key="cfg_dataset.partition_column").set_value("year").run()
    assert cfg_of(at).dataset.partition_column == "year"
    assert chart(at, "data_labels")["layout"]["xaxis"]["ticktext"][0] == "0: 2007"
    at.selectbox(key="cfg_data").set_value("digits").run()  # no groups: natural gives way
    assert (cfg_of(at).dataset.name, cfg_of(at).partition.name) == ("digits", "iid")
    at.selectbox(key="cfg_data").set_value("penguins").run()
    at.selectbox(key="cfg_split").set_value("natural").run()  # three islands, three clients
    assert cfg_of(at).clients.num_clients == 3 and not at.error
