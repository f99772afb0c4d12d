"""Classroom caps count the real work (issue #27): proofs, encryption, secure aggregation and
DP-SGD are priced in CPU-seconds per round (fedsim_app/base/limits.py ``COST``), and a link or an
upload that asks more than ``max_round_seconds`` is refused with the usual one-line message."""

from __future__ import annotations

import json

import pytest

from fedsim.config import SimulationConfig
from fedsim_app import i18n
from fedsim_app.base import limits
from tests.support.app import cfg_of, errors, open_app, warnings

L2_LINK = {"zkp": "1", "privacy.zkp.norm": "l2", "clients": "200"}


def _cfg(**sections) -> SimulationConfig:
    return SimulationConfig.from_dict(sections)


def test_whole_model_l2_proofs_for_200_clients_are_refused_naming_the_field():
    cfg = _cfg(clients={"num_clients": 200}, privacy={"zkp": {"enabled": True, "norm": "l2"}})
    with pytest.raises(limits.RoundCostError) as info:
        limits.check(cfg, memory=False)
    exc = info.value
    msg = str(exc)
    assert exc.field == "privacy.zkp.norm" and "\n" not in msg
    assert msg.startswith("privacy.zkp.norm: whole-model L2 proofs (2,410 weights) for 200 "
                          "clients ≈ ")
    # 2,410 weights × 1.8 ms × 200 clients: hundreds of seconds, against 20
    assert 800 < exc.seconds < 950
    assert "limit of 20 CPU-seconds per round" in msg
    assert "at most 4 clients with whole-model L2 proofs" in msg
    assert "FEDSIM_MAX_ROUND_SECONDS" in msg


def test_the_allowed_number_of_clients_is_the_most_that_fit():
    # 2-D MLP, hidden 32: 162 weights × 1.8 ms = 0.29 s per client: 68 fit in 20 s
    cfg = _cfg(dataset={"name": "2d"}, model={"name": "mlp"}, clients={"num_clients": 100},
               privacy={"zkp": {"enabled": True, "norm": "l2"}})
    with pytest.raises(limits.RoundCostError) as info:
        limits.check(cfg, memory=False)
    assert info.value.allowed_clients == 68
    assert "at most 68 clients with whole-model L2 proofs (162 weights)" in str(info.value)
    for n, ok in ((68, True), (69, False)):
        c = cfg.replace(clients=cfg.clients.replace(num_clients=n))
        assert (limits.estimate(c).round_seconds <= 20) is ok


def test_the_link_is_refused_with_a_message_naming_the_field():
    at = open_app(L2_LINK, "pages/data.py")
    text = warnings(at)
    assert "privacy.zkp.norm" in text and "FEDSIM_MAX_ROUND_SECONDS" in text, text
    cfg = cfg_of(at)
    assert not (cfg.privacy.zkp.enabled and cfg.privacy.zkp.norm == "l2")
    assert limits.estimate(cfg).round_seconds <= limits.current().max_round_seconds


def test_the_same_configuration_uploaded_is_refused_and_nothing_changes():
    at = open_app({"data": "2d", "clients": "3", "samples": "200"}, "pages/data.py")
    before = cfg_of(at)
    bad = _cfg(clients={"num_clients": 200}, privacy={"zkp": {"enabled": True, "norm": "l2"}})
    at = at.file_uploader(key="upload").set_value(
        ("proofs.json", bad.to_json().encode(), "application/json")).run()
    assert not at.exception
    msgs = errors(at)
    assert len(msgs) == 1 and "privacy.zkp.norm" in msgs[0] and "\n" not in msgs[0], msgs
    assert cfg_of(at) == before


def test_a_small_proved_configuration_is_accepted():
    at = open_app({"data": "2d", "samples": "200", "clients": "4", "zkp": "1", "coords": "8"},
                  "pages/data.py")
    cfg = cfg_of(at)
    assert not warnings(at) and not errors(at)
    assert cfg.privacy.zkp.enabled and cfg.privacy.zkp.coordinates == 8
    assert cfg.clients.num_clients == 4
    est = limits.estimate(cfg)
    # 4 clients × 8 coordinates × ~1.8 ms
    assert 0.03 < est.round_seconds < 0.1


@pytest.mark.parametrize("priv, field", [
    ({"he": {"scheme": "paillier"}}, "privacy.he.scheme"),
    ({"secure_aggregation": {"enabled": True}}, "privacy.secure_aggregation.enabled"),
    ({"zkp": {"enabled": True}}, "privacy.zkp.enabled"),
    ({"zkp": {"enabled": True, "coordinates": 64}}, "privacy.zkp.coordinates"),
])
def test_each_protection_is_priced_and_named(priv, field):
    small = _cfg(clients={"num_clients": 10}, privacy=priv)
    limits.check(small, memory=False)  # 10 digits clients: the measured rounds, all under 20 s
    big = _cfg(clients={"num_clients": 200}, privacy=priv)
    # 200 clients' range proofs now fit in the default 20 s (1.8 ms a coordinate and client):
    # they are priced against a 5-second cap, which 10 clients still meet
    lim = limits.Limits(max_round_seconds=5 if "zkp" in priv else 20)
    limits.check(small, limits=lim, memory=False)
    with pytest.raises(limits.RoundCostError) as info:
        limits.check(big, limits=lim, memory=False)
    assert info.value.field == field


def test_costs_grow_as_measured():
    def seconds(n, **priv):
        return limits.estimate(_cfg(clients={"num_clients": n}, privacy=priv)).round_seconds

    plain = seconds(10)
    # secure aggregation: pairwise masks, ~clients²
    sa = {"secure_aggregation": {"enabled": True}}
    assert 3.5 < (seconds(100, **sa) - plain) / (seconds(50, **sa) - plain) < 4.5
    # Paillier 2048 at 10 clients: seconds (crypto_bench: ~4 s of wall time on several cores)
    assert 3 < seconds(10, he={"scheme": "paillier"}) < 12
    # CKKS at 10 clients: tens of ms
    assert 0.02 < seconds(10, he={"scheme": "ckks"}) < 0.2
    # range proofs, 32 coordinates at 10 clients: ~0.6 s made whole in the round, ~0.15 s
    # with their random half made ahead (bench.privacy_bench); the cap counts the first
    assert 0.3 < seconds(10, zkp={"enabled": True}) - plain < 1.0


def test_dp_sgd_counts_its_per_example_gradients():
    plain = limits.estimate(_cfg())
    dpsgd = limits.estimate(_cfg(privacy={"dp": {"mode": "dpsgd"}}))
    assert dpsgd.work_mflop == pytest.approx(plain.work_mflop * limits.COST["dpsgd_factor"])
    assert 7.5 <= limits.COST["dpsgd_factor"] <= 8.5
    lim = limits.Limits(max_work_mflop=100)  # plain: 17 MFLOP; DP-SGD: 136
    limits.check(_cfg(), limits=lim, memory=False)
    with pytest.raises(limits.LimitError) as info:
        limits.check(_cfg(privacy={"dp": {"mode": "dpsgd"}}), limits=lim, memory=False)
    assert info.value.cap == "max_work_mflop" and "DP-SGD" in str(info.value)


def test_the_budget_is_a_cap_like_the_others(tmp_path):
    assert limits.Limits().max_round_seconds == 20
    assert limits.load(env={"FEDSIM_MAX_ROUND_SECONDS": "600"},
                       path=tmp_path / "none.toml").max_round_seconds == 600
    f = tmp_path / "fedsim.toml"
    f.write_text("[limits]\nmax_round_seconds = 5\n")
    assert limits.load(env={}, path=f).max_round_seconds == 5
    cfg = _cfg(clients={"num_clients": 200}, privacy={"zkp": {"enabled": True, "norm": "l2"}})
    limits.check(cfg, limits=limits.Limits(max_round_seconds=10_000), memory=False)


def test_the_message_reads_in_chinese():
    from fedsim_app.base.errors import describe

    cfg = _cfg(clients={"num_clients": 200}, privacy={"zkp": {"enabled": True, "norm": "l2"}})
    with pytest.raises(limits.RoundCostError) as info:
        limits.check(cfg, memory=False)
    with i18n.language("zh"):
        zh = describe(info.value)
    assert "privacy.zkp.norm" in zh and "课堂上限" in zh and "零知识证明" in zh
    assert "200 个客户端" in zh and "最多允许 4 个客户端" in zh and "\n" not in zh
    assert "whole-model" not in zh and "CPU-seconds" not in zh
    assert json.dumps(info.value.fields())  # plain data


def test_every_preset_fits_the_default_caps():
    from fedsim.presets import PRESETS

    for name, preset in PRESETS.items():
        limits.check(preset.build(), memory=False)
