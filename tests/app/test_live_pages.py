"""The live class's pages in AppTest (issue #24): a teacher starts a class, students join with
the code, answer a posed step, the reveal shows their tally beside the engine's result, the
federation mode steps rounds with the students' choices; forged tokens and bad input get one
line in the student's language and change nothing."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from fedsim_app.base import live_session as ls
from tests.support.app import APP, TIMEOUT

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _open(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.switch_page("pages/live.py")
    at.run()
    assert not at.exception, at.exception
    return at


def _q(at: AppTest, key: str):
    v = at.query_params.get(key)
    return v[0] if isinstance(v, list) else v


def _teacher() -> tuple[AppTest, str, str]:
    at = _open()
    at.button(key="live_start").click().run()
    assert not at.exception, at.exception
    return at, _q(at, "class"), _q(at, "teacher")


def _student(code: str, name: str, lang: str = "en") -> AppTest:
    at = _open({"class": code, "lang": lang})
    at.text_input(key="live_name").input(name)
    at.button[0].click().run()  # the form's Join
    assert not at.exception, at.exception
    return at


def _alerts(at: AppTest) -> str:
    return " ".join(e.value for kind in (at.success, at.warning, at.info, at.error) for e in kind)


def _html(at: AppTest) -> str:
    return " ".join(str(e.proto) for e in at.main if e.type == "html")


def test_teacher_starts_students_join_answer_and_see_the_reveal():
    teacher, code, token = _teacher()
    cls = ls.classes().get(code)
    assert cls.is_teacher(token)
    assert code.replace(" ", "") in _html(teacher).replace(" ", "")  # the big code
    assert [e for e in teacher.main if e.type == "image"], "the QR code"
    # the students' link carries the code, never the token or the presenter view
    assert all(token not in c.value and "present" not in c.value for c in teacher.code)
    students = [_student(code, n) for n in ("Ann", "Bo", "Cy")]
    zh = _student(code, "小明", "zh")
    assert len(cls.students) == 4
    teacher.selectbox(key="live_step").set_value(
        "Lesson 3, step 2: Weighted or simple?").run()
    teacher.button(key="live_ask").click().run()
    assert cls.question is not None and cls.question.key == "weights.weighted"
    options = cls.question.options
    for at, opt in zip(students + [zh], [options[0], options[0], options[1], options[0]]):
        at.run()
        radio = at.radio(key=f"live_answer_{cls.question.number}")
        radio.set_value(opt).run()
        assert not at.exception
    counts, answered, n = cls.tally()
    assert (answered, n) == (4, 4) and counts[options[0]] == 3 and counts[options[1]] == 1
    teacher.run()
    assert any("4 of 4 answered" in (p.proto.text or "") for p in teacher.get("progress"))
    teacher.button(key="live_reveal").click().run()
    assert not teacher.exception
    q = cls.question
    assert q.revealed and q.truth in options and q.measured
    chart = teacher.get("plotly_chart")
    assert chart, "the class's answers as a chart"
    import json
    fig = json.loads(chart[0].proto.spec)
    bars = fig["data"][0]
    assert bars["x"] == [counts[o] for o in options]  # the projector's chart is the tally
    # each phone: its own answer against the engine's, in its own language
    zh.run()
    assert "引擎" in _alerts(zh)


def test_forged_token_is_refused_and_changes_nothing():
    teacher, code, token = _teacher()
    cls = ls.classes().get(code)
    v = cls.version
    at = _open({"class": code, "teacher": token[:-1] + ("A" if token[-1] != "A" else "B")})
    assert any("Only the teacher" in e.value for e in at.error)
    assert not at.get("metric")  # no projector view
    assert cls.version == v and cls.question is None


@pytest.mark.parametrize("lang,needle", [("en", "no live class"), ("zh", "没有代码为")])
def test_wrong_code_one_line_in_the_student_s_language(lang, needle):
    at = _open({"class": "ZZZ222", "lang": lang})
    errs = [e.value for e in at.error]
    assert len(errs) == 1 and needle in errs[0] and "\n" not in errs[0]


def test_names_are_data_and_bounded():
    teacher, code, token = _teacher()
    cls = ls.classes().get(code)
    at = _student(code, "<img src=x>**bold**")  # the field caps what a phone can type at 24
    st_ = next(iter(cls.students.values()))
    assert st_.name == "<img src=x>**bold**"  # kept as typed: it is data
    teacher.run()
    html = _html(teacher)
    assert "<img src=x>" not in html and "&lt;img src=x&gt;**bold**" in html
    at.run()
    assert "<img src=x>" not in _html(at) and not any("bold" in m.value for m in at.markdown)
    empty = _open({"class": code})
    empty.text_input(key="live_name").input("   ")
    empty.button[0].click().run()
    assert any("display name" in e.value for e in empty.error)


def test_federation_mode_students_choose_and_see_their_client():
    teacher, code, token = _teacher()
    cls = ls.classes().get(code)
    phones = [_student(code, f"s{i}") for i in range(4)]
    teacher.segmented_control(key="live_mode").set_value("federation").run()
    assert cls.mode == "federation"
    teacher.number_input(key="live_fed_clients").set_value(4).run()
    teacher.button(key="live_fed_start").click().run()
    assert not teacher.exception and cls.federation is not None and cls.clients == 4
    for at in phones:
        at.run()
    phones[1].segmented_control(key="live_action").set_value("scale").run()
    phones[2].segmented_control(key="live_action").set_value("drop").run()
    assert cls.choices() == {0: "honest", 1: "scale", 2: "drop", 3: "honest"}
    teacher.button(key="live_fed_next").click().run()
    teacher.button(key="live_fed_next").click().run()
    assert not teacher.exception
    assert len(cls.rounds) == 2 and cls.rounds[-1]["dropped"] == [2]
    phones[2].run()
    assert "dropped out" in _alerts(phones[2])
    phones[1].run()
    norm = [m for m in phones[1].metric if m.label == "Update length"]
    assert norm and float(norm[0].value) == pytest.approx(cls.outcomes[1].update_norm, abs=1e-3)


def test_ending_the_class_frees_it():
    teacher, code, token = _teacher()
    _student(code, "Ann")
    before = len(ls.classes())
    teacher.button(key="live_end").click().run()
    assert not teacher.exception
    assert len(ls.classes()) == before - 1
    late = _open({"class": code})
    assert any("ended" in e.value for e in late.error)


def test_full_class_and_reused_teacher_link_one_line_in_the_student_s_language():
    teacher, code, token = _teacher()
    cls = ls.classes().get(code)
    cls.set_max_students(token, 1, ls.now())
    _student(code, "Ann")
    late = _open({"class": code, "lang": "zh"})
    late.text_input(key="live_name").input("Bo")
    late.button[0].click().run()
    errs = [e.value for e in late.error]
    assert errs == ["这个课堂已满（1 名学生）。"]
    assert len(cls.students) == 1
    ls.classes().end(code, token)
    again = _open({"class": code, "teacher": token, "lang": "zh"})
    assert [e.value for e in again.error] == ["这个课堂已经结束。"]
