"""The live class as an object (issue #24): bounded, locked, with a lifetime; a student can never
act as the teacher; the federation mode runs the students' choices through the real engine."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from hypothesis import given, settings, strategies as hs

from fedsim.config import SimulationConfig
from fedsim_app.base.live import model
from fedsim_app.base.live.federation import LiveFederation, federation_config, plan_of
from fedsim_app.base.live.model import LiveClass, LiveError, clean_name, normalize_code
from fedsim_app.base.live.registry import LiveClasses


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


def _class(**kw):
    return LiveClass("ABCDEF", "secret-token", 0.0, **kw)


def test_codes_and_tokens_are_unguessable_and_distinct():
    reg = LiveClasses(max_classes=8)
    made = [reg.start() for _ in range(8)]
    codes = {c.code for c, _ in made}
    tokens = {tok for _, tok in made}
    assert len(codes) == 8 and len(tokens) == 8
    assert all(len(c) == model.CODE_LEN and set(c) <= set(model.CODE_ALPHABET) for c in codes)
    assert all(len(t) >= 32 for t in tokens)  # 192 bits, URL-safe
    with pytest.raises(LiveError) as e:
        reg.start()
    assert e.value.code == "capacity"


def test_normalize_code_and_clean_name():
    assert normalize_code(" abc-def ") == "ABCDEF"
    assert normalize_code("ABCDE0") == ""  # 0 is not in the alphabet
    assert normalize_code("x" * 10_000) == ""
    assert clean_name("  **Bold**\x00\u202e name  ") == "**Bold** name"
    assert len(clean_name("长" * 500)) == model.NAME_MAX
    for bad in ("", "   ", "\x00\x01", "\u200b\u200b"):
        with pytest.raises(LiveError) as e:
            clean_name(bad)
        assert e.value.code == "name"


def test_forged_or_missing_token_changes_nothing():
    c = _class()
    s = c.join("Ann", "en", 1.0)
    v = c.version
    for token in (None, "", "secret-tokeN", s.id, "secret-token" + "x"):
        for act in (lambda: c.pose(token, "flow.init", ("a", "b"), 2.0),
                    lambda: c.set_mode(token, "federation", 2.0),
                    lambda: c.reveal(token, "a", {}, 2.0),
                    lambda: c.end(token),
                    lambda: c.teacher_view(token)):
            with pytest.raises(LiveError) as e:
                act()
            assert e.value.code == "not_teacher"
    assert c.version == v and not c.ended and c.question is None and c.mode == "answer"


def test_answers_tally_and_a_student_sees_only_the_aggregate():
    c = _class()
    ids = [c.join(f"s{i}", "en", 1.0).id for i in range(5)]
    c.pose("secret-token", "flow.init", ("a", "b", "c"), 2.0)
    for sid, opt in zip(ids, "aabca"):
        c.answer(sid, opt, 3.0)
    counts, answered, n = c.tally()
    assert counts == {"a": 3, "b": 1, "c": 1} and answered == 5 and n == 5
    view = c.student_view(ids[2])
    assert view["answer"] == "b" and view["counts"] is None  # nothing before the reveal
    assert "roster" not in view and all("s0" not in str(v) for v in view.values())
    c.reveal("secret-token", "a", {"acc": 0.9}, 4.0)
    assert c.student_view(ids[2])["counts"] == {"a": 3, "b": 1, "c": 1}
    with pytest.raises(LiveError) as e:
        c.answer(ids[0], "b", 5.0)  # revealed: closed
    assert e.value.code == "no_question"
    c.pose("secret-token", "flow.aggregate", ("x", "y"), 6.0)  # a new question resets answers
    assert c.tally() == ({"x": 0, "y": 0}, 0, 5)
    with pytest.raises(LiveError) as e:
        c.answer(ids[0], "a", 7.0)
    assert e.value.code == "option"


def test_rate_limits_answers_and_joins():
    c = _class()
    sid = c.join("Ann", "en", 0.0).id
    c.pose("secret-token", "k", ("a", "b"), 0.0)
    ok = 0
    for _ in range(50):
        try:
            c.answer(sid, "a", 1.0)
            ok += 1
        except LiveError as e:
            assert e.code == "rate"
    assert ok == 5  # the burst, then one a second
    c.answer(sid, "b", 2.5)  # a second later: allowed again
    c.max_students = 10_000
    joined = 0
    for i in range(400):
        try:
            c.join(f"x{i}", "en", 20.0)
            joined += 1
        except LiveError as e:
            assert e.code == "rate"
    assert joined == model.JOIN_BURST  # a whole class at once, not a flood (Ann's refilled)


def test_class_holds_sixty_from_many_threads_and_refuses_the_rest():
    c = _class(max_students=60)
    c._joins = model.RateLimit(10_000, 0, 0.0)  # this test is about the cap and the lock
    errors, barrier = [], threading.Barrier(16)

    def worker(k):
        barrier.wait()
        for i in range(10):
            try:
                c.join(f"t{k}-{i}", "zh", 1.0)
            except LiveError as e:
                errors.append(e.code)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(16)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert len(c.students) == 60 and errors == ["full"] * 100
    assert sorted(s.number for s in c.students.values()) == list(range(60))


def test_closed_tabs_leave_and_idle_classes_end_and_the_janitor_frees_them():
    clock = Clock()
    reg = LiveClasses(clock=clock)
    cls, token = reg.start(idle_s=600)
    a = cls.join("A", "en", clock.t).id
    cls.join("B", "en", clock.t)
    clock.t += model.STUDENT_TTL_S - 1
    cls.heartbeat(a, clock.t)
    clock.t += 2  # B's phone stopped calling in (tab closed)
    reg.sweep()
    assert set(cls.students) == {a}
    clock.t += 601
    assert reg.sweep() == 1 and len(reg) == 0 and cls.ended and not cls.students
    with pytest.raises(LiveError) as e:
        reg.get(cls.code)
    assert e.value.code == "ended"
    with pytest.raises(LiveError) as e:
        reg.get("ZZZZZZ")
    assert e.value.code == "no_class"


def test_teacher_ends_the_class_a_forged_token_cannot():
    reg = LiveClasses()
    cls, token = reg.start()
    with pytest.raises(LiveError):
        reg.end(cls.code, "forged")
    assert len(reg) == 1
    reg.end(cls.code, token)
    assert len(reg) == 0 and cls.ended
    with pytest.raises(LiveError) as e:
        cls.pose(token, "k", ("a",), 0.0)  # the token of an ended class does nothing
    assert e.value.code == "ended"


def test_janitor_thread_sweeps():
    clock = Clock()
    reg = LiveClasses(clock=clock)
    cls, _ = reg.start(idle_s=300)
    reg.start_janitor(interval=0.01)
    clock.t += 301
    for _ in range(500):
        if len(reg) == 0:
            break
        threading.Event().wait(0.01)
    reg.stop()
    assert len(reg) == 0 and reg.swept == 1


@settings(max_examples=60, deadline=None)
@given(hs.lists(hs.tuples(hs.integers(0, 9), hs.sampled_from("abcz")), max_size=60))
def test_tally_invariants(events):
    c = _class()
    c._joins = model.RateLimit(10_000, 0, 0.0)
    ids = [c.join(f"s{i}", "en", 0.0).id for i in range(10)]
    c.pose("secret-token", "k", ("a", "b", "c"), 0.0)
    last = {}
    for t, (who, opt) in enumerate(events):
        try:
            c.answer(ids[who], opt, 100.0 * t)
            last[who] = opt
        except LiveError as e:
            assert e.code == "option" and opt == "z"
    counts, answered, n = c.tally()
    assert sum(counts.values()) == answered == len(last) <= n == 10
    for opt in "abc":
        assert counts[opt] == sum(1 for v in last.values() if v == opt)


def test_assignment_queue_and_share():
    c = _class()
    ids = [c.join(f"s{i}", "en", 0.0).id for i in range(5)]
    c.clients = 3
    assert [c.assignment()[i] for i in ids] == [0, 1, 2, None, None]
    c.overflow = "share"
    assert [c.assignment()[i] for i in ids] == [0, 1, 2, 0, 1]
    c.choose(ids[3], "scale", 0.0)  # shares client 0 with s0 (honest): one attacker is enough
    assert c.choices() == {0: "scale", 1: "honest", 2: "honest"}
    with pytest.raises(LiveError) as e:
        c.choose(ids[0], "rm -rf", 1.0)
    assert e.value.code == "action"


def test_plan_of_maps_choices_to_the_engine():
    plan = plan_of({0: "honest", 1: "scale", 2: "drop", 3: "label_flip", 4: "scale", 9: "drop"},
                   5)
    assert plan.drop == (2,)
    assert [(m.attack, m.ids) for m in plan.attacks] == [("scale", (1, 4)),
                                                         ("label_flip", (3,))]


def test_federation_round_is_the_engine_s_with_the_students_choices():
    base = SimulationConfig.from_dict({"seed": 2, "dataset": {"name": "digits"}})
    cfg = federation_config(base, 6)
    assert cfg.clients.num_clients == 6 and cfg.clients.fraction == 1.0
    honest, live = LiveFederation(cfg), LiveFederation(cfg)
    _, h = honest.step({})
    server, out = live.step({1: "scale", 2: "drop"})
    assert out[2].dropped and out[2].update_norm is None and out[2].toward is None
    assert out[1].update_norm == pytest.approx(10 * h[1].update_norm, rel=1e-9)
    assert out[0].update_norm == h[0].update_norm and out[0].action == "honest"
    assert server["dropped"] == [2] and server["arrived"] == 5 and server["attackers"] == 1
    # the scaled client pulls the average toward itself much more than an honest one
    assert out[1].toward > out[0].toward
    assert -1.0 <= min(o.toward for o in out.values() if o.toward is not None)


# ------------------------------------------------------------------ drawings and consent


def test_a_drawing_becomes_an_8x8_digit_like_the_data_set_s():
    from fedsim_app.base.live.drawing import to_digit

    canvas = np.full((224, 224, 4), 255, np.uint8)
    canvas[40:190, 100:118, :3] = 0  # a vertical stroke: a "1"
    d = to_digit(canvas)
    assert d.shape == (8, 8) and d.dtype == np.uint8 and d.min() == 0 and 8 <= d.max() <= 16
    assert d[:, 3:5].sum() > 0.8 * d.sum()  # the ink is in the middle columns
    assert to_digit(np.full((50, 50, 4), 255, np.uint8)) is None  # nothing drawn
    transparent = np.zeros((50, 50, 4), np.uint8)  # fully transparent = white background
    assert to_digit(transparent) is None
    for bad in (np.zeros((5000, 10, 4)), np.zeros((10, 10)), "x"):
        with pytest.raises(ValueError):
            to_digit(bad)


def test_drawings_are_bounded_validated_and_private():
    c = _class()
    a, b = c.join("A", "en", 0.0).id, c.join("B", "en", 0.0).id
    c.clients = 2
    digit = np.eye(8, dtype=np.uint8) * 16
    for t in range(40):
        try:
            c.add_drawing(a, digit, 1, 10.0 * t)
        except LiveError as e:
            assert e.code == "rate"
    assert len(c.students[a].drawings) == 10  # the newest ten
    for bad in ((np.ones((9, 9), np.uint8), 1), (digit * 2, 1), (digit, 11), (digit, "7")):
        with pytest.raises(LiveError) as e:
            c.add_drawing(a, *bad, 1000.0 + 10 * len(bad))
        assert e.value.code in ("drawing", "rate")
    assert set(c.drawings()) == {0}  # B has drawn nothing
    assert c.student_view(b)["drawings"] == []  # B never sees A's drawings
    c.set_use_drawings(a, False, 2000.0)
    assert c.drawings() == {}


def _digits_federation(**privacy):
    from sklearn.datasets import load_digits

    base = SimulationConfig.from_dict({"seed": 5, "dataset": {"name": "digits"},
                                       "model": {"name": "mlp"}, "privacy": privacy})
    fed = LiveFederation(federation_config(base, 4))
    d = load_digits()
    drawn = {"pixels": d.images[7:8].astype(np.uint8), "labels": d.target[7:8],
             "consent": True}
    return fed, drawn


def test_with_consent_the_server_reconstructs_a_drawing_from_the_update_in_the_clear():
    fed, drawn = _digits_federation()
    server, out = fed.step({}, {2: drawn})
    (rec,) = server["reconstructions"]
    assert rec["client"] == 2 and rec["how"] == "clear" and rec["psnr"] > 40  # dB: exact
    assert np.allclose(rec["pixels"], drawn["pixels"][0], atol=0.05)
    no, _ = fed.step({}, {2: {**drawn, "consent": False}})
    assert no["reconstructions"] == []  # never without consent


def test_secure_aggregation_and_local_dp_stop_the_reconstruction():
    fed, drawn = _digits_federation(secure_aggregation={"enabled": True})
    server, _ = fed.step({}, {1: drawn})
    assert server["reconstructions"][0]["how"] == "hidden"
    assert server["reconstructions"][0]["pixels"] is None
    fed, drawn = _digits_federation(dp={"mode": "local", "clip": 1.0, "noise_multiplier": 1.0})
    server, _ = fed.step({}, {1: drawn})
    rec = server["reconstructions"][0]
    assert rec["how"] == "noised" and rec["psnr"] < 15  # noise swamps the digit
