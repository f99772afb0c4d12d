"""The "What the server sees" page, headless (``streamlit.testing.v1.AppTest``).

Every number checked here is compared with an independently run
:class:`fedsim.engine.simulation.Simulation` of the same configuration: the recovered sum and the
plain sum, who was rejected, the comparison run with proofs off. Configurations are tiny
(digits, 4 clients, 1–2 rounds; Paillier with 1024-bit keys).
"""

from __future__ import annotations

import json
import pathlib
import re

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from fedsim.config import SimulationConfig
from fedsim_app.base import views
from fedsim_app.i18n import t
from fedsim_app.pages.crypto import views as cv

ROOT = pathlib.Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
PAGE = "pages/crypto.py"
TIMEOUT = 90  # the first run imports TensorFlow
BASE = {"data": "digits", "clients": "4", "rounds": "3", "seed": "1"}


def open_page(query: dict) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for k, v in {**BASE, **query}.items():
        at.query_params[k] = v
    at.switch_page(PAGE)
    at.run()
    assert not at.exception, at.exception
    return at


def next_round(at: AppTest) -> AppTest:
    at.button(key="crypto_next_round").click().run()
    assert not at.exception, at.exception
    return at


def chart(at: AppTest, key: str) -> dict:
    for c in at.get("plotly_chart"):
        if c.proto.id.endswith("-" + key):
            return json.loads(c.proto.spec)
    raise AssertionError(f"no chart {key!r}")


def has_chart(at: AppTest, key: str) -> bool:
    return any(c.proto.id.endswith("-" + key) for c in at.get("plotly_chart"))


def arr(v) -> np.ndarray:
    """A Plotly JSON array: a plain list, or Plotly 6's base64 typed array."""
    if isinstance(v, dict) and "bdata" in v:
        import base64

        out = np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"])
        if "shape" in v:
            out = out.reshape([int(d) for d in str(v["shape"]).split(",")])
        return out
    return np.asarray(v)


def metric(at: AppTest, label: str):
    return next(m for m in at.metric if m.label == label)


def engine_round(at: AppTest, rounds: int = 1):
    """An independent simulation of the page's configuration, run ``rounds`` rounds."""
    from fedsim.engine.simulation import Simulation

    sim = Simulation(SimulationConfig.from_json(at.session_state["cfg"].to_json()))
    sim.run(rounds)
    return sim


def texts(elements) -> list[str]:
    """The elements' text as a reader sees it: user-supplied parts are Markdown-escaped
    (fedsim_app.base.safe), so drop the escaping backslashes."""
    import re

    return [re.sub(r"\\(.)", r"\1", e.value) for e in elements]


# ------------------------------------------------------------------ loads, every mechanism


@pytest.mark.parametrize("query,hide", [
    ({}, "none"),
    ({"secagg": "true"}, "secagg"),
    ({"he": "ckks"}, "ckks"),
    ({"he": "paillier", "hebits": "1024"}, "paillier"),
    ({"zkp": "true", "coords": "4"}, "none"),
])
def test_page_loads_and_runs_a_round(query, hide):
    at = open_page(query)
    assert at.title[0].value == t("crypto.title")
    assert at.button_group(key="crypto_hide").value == hide
    assert texts(at.info)[-1] == t("crypto.no_rounds")
    next_round(at)
    assert not at.error, texts(at.error)
    sim = at.session_state["sim"]
    assert sim.round == 1
    assert has_chart(at, "crypto_plain") and has_chart(at, "crypto_sum")
    assert has_chart(at, "crypto_cost")
    if hide == "secagg":
        assert has_chart(at, "crypto_masked") and has_chart(at, "crypto_bytes")
    if hide in ("paillier", "ckks"):
        he = sim.history[-1].phase("protect").measurements["he"]
        (dump,) = [c.value for c in at.main.code]
        dump = dump.replace(" ", "").replace("\n", "").rstrip("…")
        assert he["preview_hex"].startswith(dump[:32])
    if query.get("zkp"):
        assert has_chart(at, "crypto_proofs")
        assert at.toggle(key="crypto_zkp").value is True
    # Explanation of the chosen mechanism, in plain words.
    assert any(m.value == t(f"crypto.explain.{hide}") for m in at.markdown)


def test_link_prefills_the_settings():
    at = open_page({"secagg": "true", "threshold": "0.6", "neighbors": "2"})
    cfg = at.session_state["cfg"]
    assert cfg.privacy.secure_aggregation.enabled
    assert at.button_group(key="crypto_hide").value == "secagg"
    assert at.slider(key="cfg_threshold").value == 0.6
    assert at.selectbox(key="crypto_neighbors").value == 2
    at = open_page({"secagg": "true", "threshold": "0.8", "drop": "0.25"})
    assert at.slider(key="cfg_threshold").value == 0.8
    assert at.slider(key="cfg_drop").value == 0.25
    assert at.session_state["cfg"].privacy.secure_aggregation.threshold == 0.8


# ------------------------------------------------------------------ secure aggregation


def test_secure_aggregation_recovers_the_plain_sum_and_the_dropouts():
    at = next_round(open_page({"secagg": "true", "threshold": "0.5", "drop": "0.3"}))
    ref = engine_round(at)
    res = ref.history[-1]
    assert res.dropped and not res.aborted  # seed 1: two clients drop, the round survives
    fig = chart(at, "crypto_sum")
    plain, recovered = arr(fig["data"][0]["y"]), arr(fig["data"][1]["y"])
    coords = [int(x.lstrip("#")) for x in fig["data"][0]["x"]]
    # The plain average from the independent engine run (its own recovered mean too).
    used = [i for i, c in enumerate(ref.last.client_ids) if c in res.aggregated]
    w = ref.last.protected.weights[used]
    engine_plain = w @ ref.last.protected.deltas[used] / w.sum()
    np.testing.assert_allclose(plain, engine_plain[coords], atol=1e-12)
    np.testing.assert_allclose(recovered, ref.last.aggregate[coords], atol=1e-12)
    shown_err = float(metric(at, t("crypto.sum_error")).value)
    shown_bound = float(metric(at, t("crypto.sum_bound")).value)
    assert np.max(np.abs(recovered - plain)) <= shown_err * 1.01  # 2 significant digits
    assert shown_err <= shown_bound
    s = res.phase("aggregate").measurements["secagg_sum"]
    assert shown_err == pytest.approx(s["max_abs_error"] / w.sum(), rel=0.05)
    assert shown_bound == pytest.approx(s["error_bound"] / w.sum(), rel=0.05)
    # The dropout story, with the engine's numbers.
    msg = texts(at.success)[-1]
    assert msg == t("crypto.recovered", ids=", ".join(map(str, res.dropped)),
                    survivors=s["survivors"],
                    t=res.phase("protect").measurements["secagg"]["threshold"],
                    holders=res.phase("protect").measurements["secagg"]["share_holders"])
    # The masked strip is what the client really sent: integers across the whole ring.
    masked = arr(chart(at, "crypto_masked")["data"][0]["y"]).astype(np.int64)
    client = at.selectbox(key="crypto_client_1").value
    row = list(ref.last.client_ids).index(client)
    sent = ref.last.protected.payload["secagg"].items[row].masked
    np.testing.assert_array_equal(masked, sent[coords])
    # Cost table: this setup's upload per client is the engine's.
    table = at.dataframe[0].value
    up = table[table[t("crypto.cost.what")] == t("crypto.cost.up_per_client")]
    assert up[t("crypto.cost.this")].iloc[0] == views.human_bytes(
        res.bytes_up / len(res.aggregated))


def test_an_aborted_round_is_shown_and_the_model_is_unchanged():
    at = next_round(open_page({"secagg": "true", "threshold": "1.0", "drop": "0.5"}))
    sim = at.session_state["sim"]
    res = sim.history[-1]
    assert res.aborted
    assert any(e.startswith(t("crypto.aborted", round=1, reason="x")[:24]) for e in
               texts(at.error))
    np.testing.assert_array_equal(sim.last.global_after, sim.last.global_before)
    assert len(chart(at, "crypto_sum")["data"]) == 1  # plain only: nothing recovered


# ------------------------------------------------------------------ proofs


def test_a_malicious_client_is_rejected_by_the_proofs():
    at = open_page({"zkp": "true", "malicious": "1", "factor": "-10", "coords": "8"})
    next_round(at)
    sim = at.session_state["sim"]
    ref = engine_round(at)
    assert ref.history[-1].rejected == sim.history[-1].rejected == (1,)
    heat = chart(at, "crypto_proofs")["data"][0]
    z = arr(heat["z"]).astype(float)
    code = {s: i + 0.5 for i, s in enumerate(cv.PROOF_CODES)}
    assert z[1, 0] == code["rejected"]
    assert [z[k, 0] for k in (0, 2, 3)] == [code["verified"]] * 3
    assert at.selectbox(key="crypto_client_1").value == 1  # the malicious client first
    assert any(m.value.startswith(t("crypto.rejected_now", round=1, ids="1", reason="")[:30])
               for m in at.markdown)
    # One click: the same run with proofs off, from the engine, drawn beside this one.
    at.toggle(key="crypto_compare").set_value(True).run()
    assert not at.exception
    acc = chart(at, "crypto_acc")["data"]
    assert len(acc) == 2
    off = engine_round_cfg(cv.proofs_flipped(at.session_state["cfg"]), 1)
    np.testing.assert_allclose(arr(acc[0]["y"]),
                               [off.initial_metrics["accuracy"],
                                off.history[0].global_metrics["accuracy"]])
    np.testing.assert_allclose(arr(acc[1]["y"])[-1],
                               sim.history[-1].global_metrics["accuracy"])


def engine_round_cfg(cfg: SimulationConfig, rounds: int):
    from fedsim.engine.simulation import Simulation

    sim = Simulation(cfg)
    sim.run(rounds)
    return sim


def test_proofs_with_masking_fix_the_masking_range():
    at = open_page({"secagg": "true"})
    at.toggle(key="crypto_zkp").set_value(True).run()
    cfg = at.session_state["cfg"]
    assert cfg.privacy.zkp.enabled
    assert cfg.privacy.secure_aggregation.clip == cfg.privacy.zkp.bound
    assert any(i.value == t("crypto.clip_fixed", bound="0.1") for i in at.info)


# ------------------------------------------------------------------ impossible combinations


def test_secure_aggregation_with_a_median_is_refused_and_nothing_changes():
    at = open_page({"agg": "median"})
    before = at.session_state["cfg"]
    at.button_group(key="crypto_hide").set_value("secagg").run()
    assert not at.exception
    errs = texts(at.error)
    assert errs and "aggregation.name" in errs[0]
    assert at.session_state["cfg"] == before
    assert at.button_group(key="crypto_hide").value == "none"  # the choice springs back
    # The page still works.
    next_round(at)
    assert at.session_state["sim"].round == 1


def test_layer_choice_for_encryption_names_the_tensor_sizes():
    at = open_page({"he": "ckks"})
    box = at.selectbox(key="crypto_helayer")
    assert box.value == "all" and len(box.options) == 1 + 4  # digits MLP: 4 weight tensors
    box.set_value(2).run()
    assert at.session_state["cfg"].privacy.he.layer == 2
    next_round(at)
    he = at.session_state["sim"].history[-1].phase("protect").measurements["he"]
    assert he["encrypted_coordinates"] == 320 and he["clear_coordinates"] > 0
    assert re.search(r"320 values", at.selectbox(key="crypto_helayer").options[3])
    # The page says which of the values shown travel in the clear.
    assert any(c.value.startswith(t("crypto.layer_shown", layer=2, inside=0, k=0)[:40])
               for c in at.caption)


def test_work_made_while_you_read_is_shown_apart():
    """The proofs' random half for round 2 is made after round 1, while the result is read;
    the cost section gives it on its own line, from the engine's own report."""
    at = open_page({"zkp": "true", "coords": "8"})
    next_round(at)
    assert not any("while you read" in c.value for c in at.caption)   # nothing ahead yet
    at.session_state["sim"].wait_prepared()
    next_round(at)
    rows = cv.round_costs(at.session_state["sim"].history)
    assert rows[0]["ahead_ms_per_client"] == 0 < rows[1]["ahead_ms_per_client"]
    ahead = float(np.median([r["ahead_ms_per_client"] for r in rows]))
    assert t("crypto.cost.ahead", ms=ahead) in [c.value for c in at.caption]
