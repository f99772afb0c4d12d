"""The catalogues: same keys and placeholders in every language, per-session language, Babel.

No Streamlit server here (AppTest covers the pages in both languages elsewhere); these tests
read the JSON catalogues and exercise :mod:`fedsim_app.i18n` directly.
"""

from __future__ import annotations

import re
import string
import threading

import pytest

from fedsim_app import i18n
from fedsim_app.i18n import STRINGS, t, tn

LANGS = i18n.LANGS
_FMT = string.Formatter()


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in _FMT.parse(text) if name is not None}


def _texts(entry) -> list[str]:
    return [entry] if isinstance(entry, str) else list(entry.values())


@pytest.mark.parametrize("lang", [lang for lang in LANGS if lang != "en"])
def test_every_language_has_the_same_keys_per_domain(lang):
    en, other = i18n.domains("en"), i18n.domains(lang)
    assert set(other) == set(en), "one file per domain in every language"
    for domain, table in en.items():
        missing = sorted(set(table) - set(other[domain]))
        extra = sorted(set(other[domain]) - set(table))
        assert not missing, f"{lang}/{domain}.json lacks {missing[:10]} (+{len(missing)})"
        assert not extra, f"{lang}/{domain}.json has unknown keys {extra[:10]}"


@pytest.mark.parametrize("lang", [lang for lang in LANGS if lang != "en"])
def test_every_translation_has_the_same_placeholders(lang):
    en, other = STRINGS["en"], STRINGS[lang]
    bad = []
    for key, entry in en.items():
        if key not in other:
            continue
        want = set().union(*(_fields(s) for s in _texts(entry)))
        for text in _texts(other[key]):
            if _fields(text) != want:
                bad.append((key, sorted(want), sorted(_fields(text))))
    assert not bad, bad[:10]


@pytest.mark.parametrize("lang", LANGS)
def test_plural_entries_have_the_categories_babel_asks_for(lang):
    from babel import Locale

    needed = set(Locale.parse(i18n.LOCALES[lang]).plural_form.tags) | {"other"}
    for key, entry in STRINGS[lang].items():
        if not isinstance(entry, str):
            assert needed <= set(entry), (key, sorted(needed - set(entry)))
            assert "n" in set().union(*(_fields(s) for s in entry.values())), key


@pytest.mark.parametrize("lang", LANGS)
def test_every_string_formats_with_its_own_placeholders(lang):
    """A stray brace (``{`` in prose) would crash t() at runtime: format every entry."""
    for key, entry in STRINGS[lang].items():
        for text in _texts(entry):
            names = _fields(text)
            text.format(**{n: 1 for n in names})  # 1 suits {x}, {x:.2f} and {x:,}


def test_chinese_is_chinese():
    """A translation, not a copy: most entries that have letters in English have CJK in zh."""
    en, zh = STRINGS["en"], STRINGS["zh"]
    cjk = re.compile(r"[\u4e00-\u9fff]")
    words = [k for k, v in en.items() if isinstance(v, str) and len(re.findall(r"[A-Za-z]{3,}",
                                                                                  v)) >= 3]
    copied = [k for k in words if not cjk.search(zh[k] if isinstance(zh[k], str)
                                                 else zh[k]["other"])]
    assert len(copied) <= 0.02 * len(words), copied[:20]


def test_language_is_per_context_never_process_wide():
    seen = {}

    def worker(lang):
        with i18n.language(lang):
            barrier.wait()  # both threads inside their blocks at once
            seen[lang] = t("nav.training")

    barrier = threading.Barrier(2)
    threads = [threading.Thread(target=worker, args=(lang,)) for lang in ("zh", "en")]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert seen["en"] == "Training"
    assert seen["zh"] == STRINGS["zh"]["nav.training"] != "Training"
    assert i18n.current() == "en"  # outside any block and any Streamlit run


@pytest.mark.parametrize("value, want", [("zh", "zh"), ("zh-CN", "zh"), ("zh_Hans_CN", "zh"),
                                         ("ZH-tw", "zh"), ("en-GB", "en"), ("fr-FR", None),
                                         ("", None), (None, None), (["zh"], None)])
def test_normalize(value, want):
    assert i18n.normalize(value) == want


def test_choose_prefers_the_url_then_the_browser():
    assert i18n.choose("en", "zh-CN") == "en"
    assert i18n.choose(None, "zh-CN") == "zh"
    assert i18n.choose("xx", "de-DE") == "en"


def test_numbers_and_plurals_follow_the_locale():
    assert i18n.num(1234.5, 1, "en") == "1,234.5"
    assert i18n.pct(0.853, 1, "en") == "85.3%"
    assert i18n.pct(0.853, 1, "zh") == "85.3%"
    assert i18n.plural_category(1, "en") == "one"
    assert i18n.plural_category(2, "en") == "other"
    assert i18n.plural_category(1, "zh") == "other"  # Chinese has no singular form


def test_tn_picks_the_plural_form():
    plural = [k for k, v in STRINGS["en"].items() if not isinstance(v, str)]
    assert plural, "at least one sentence depends on a count"
    key = plural[0]
    names = set().union(*(_fields(s) for s in STRINGS["en"][key].values())) - {"n"}
    extra = {name: 7 for name in names}
    with i18n.language("en"):
        one, many = tn(key, 1, **extra), tn(key, 3, **extra)
    assert one != many and "1" in one and "3" in many
    with i18n.language("zh"):
        assert "3" in tn(key, 3, **extra)


# ------------------------------------------------------------------ engine errors, both languages


@pytest.mark.parametrize("data, field, needle", [
    ({"clients": {"num_clients": 0}}, "clients.num_clients", "[1, 2000]"),
    ({"partition": {"name": "x"}}, "partition.name", "dirichlet"),
    ({"partition": {"alpha": float("inf")}}, "partition.alpha", "inf"),
])
def test_config_errors_carry_a_code_and_fields_and_read_in_chinese(data, field, needle):
    from fedsim.config import SimulationConfig
    from fedsim.errors import ConfigError
    from fedsim_app.base.errors import describe

    with pytest.raises(ConfigError) as info:
        SimulationConfig.from_dict(data)
    exc = info.value
    f = exc.fields()
    assert f["code"] == "config" and f["field"] == field and f["rule"] in ("range", "choice",
                                                                           "finite")
    assert describe(exc) == str(exc)  # English: the engine's own sentence (the CLI's)
    with i18n.language("zh"):
        zh = describe(exc)
    assert field in zh and needle in zh and re.search(r"[\u4e00-\u9fff]", zh)
    assert "allowed" not in zh and "got" not in zh


def test_errors_without_a_structured_rule_say_their_english_is_english():
    from fedsim.config import SimulationConfig
    from fedsim.errors import IncompatibleConfigError
    from fedsim_app.base.errors import describe

    with pytest.raises(IncompatibleConfigError) as info:
        SimulationConfig.from_dict({"privacy": {"secure_aggregation": {"enabled": True}},
                                    "aggregation": {"name": "median"}})
    with i18n.language("zh"):
        zh = describe(info.value)
    assert zh.startswith("设置 aggregation.name") and "英文原文" in zh


def test_classroom_limit_errors_read_in_chinese():
    from fedsim_app.base.errors import describe
    from fedsim_app.base.limits import LimitError

    exc = LimitError("max_clients", "clients.num_clients", 5000, 500)
    assert exc.fields()["code"] == "limit"
    with i18n.language("zh"):
        zh = describe(exc)
    assert "课堂上限" in zh and "500" in zh and "FEDSIM" in zh.upper()


# ------------------------------------------------------------------ no English outside the catalogues

_SINKS = {"markdown", "caption", "title", "header", "subheader", "write", "text", "info",
          "warning", "error", "success", "toast", "button", "toggle", "checkbox", "radio",
          "selectbox", "multiselect", "slider", "select_slider", "number_input", "text_input",
          "text_area", "segmented_control", "pills", "file_uploader", "download_button",
          "metric", "expander", "tabs", "popover", "page_link", "progress", "spinner", "status",
          "form_submit_button"}
_SINK_KW = {"label", "help", "text", "placeholder", "caption", "title", "value_name"}
_PLOT_KW = {"title", "name", "text", "hovertemplate", "hovertext"}


def _user_words(s: str) -> bool:
    """Whether a literal holds words a reader would read (icons, placeholders, HTML, Plotly
    hover fields, acronyms such as PLD or ε, and element ids such as ``phase:train`` aside)."""
    s = re.sub(r":material/[a-z_]+:|%\{[^}]*\}|\{[^}]*\}|<[^>]+>", " ", s)
    words = re.findall(r"[A-Za-z]{2,}", s)
    return any(not w.isupper() for w in words)


def _literals(node):
    import ast

    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
    elif isinstance(node, ast.JoinedStr):
        yield "".join(v.value for v in node.values if isinstance(v, ast.Constant))
    elif isinstance(node, (ast.List, ast.Tuple)):
        for e in node.elts:
            yield from _literals(e)
    elif isinstance(node, ast.BinOp):
        yield from _literals(node.left)
        yield from _literals(node.right)
    elif isinstance(node, ast.IfExp):
        yield from _literals(node.body)
        yield from _literals(node.orelse)
    elif isinstance(node, ast.BoolOp):
        for v in node.values:
            yield from _literals(v)


def app_sources(root):
    """Every Python file of the app package (not the article's pseudo-code in its assets)."""
    return [p for p in sorted((root / "fedsim_app").rglob("*.py")) if "assets" not in p.parts]


def test_every_app_file_is_scanned():
    import pathlib

    root = pathlib.Path(__file__).resolve().parents[2]
    names = {p.relative_to(root).as_posix() for p in app_sources(root)}
    assert {"fedsim_app/frame.py", "fedsim_app/base/state.py", "fedsim_app/i18n/__init__.py",
            "fedsim_app/pages/training/page.py", "fedsim_app/pages/privacy/sections.py"} <= names


def test_no_user_facing_literal_outside_the_catalogues():
    """Every string a page shows goes through t(): a scan of fedsim_app/, pages/ and app.py for
    literals passed to Streamlit elements (label, body, help) and to Plotly (titles, trace
    names, hover text). A trace ``name=`` that is an element id (no space) is not text."""
    import ast
    import pathlib

    root = pathlib.Path(__file__).resolve().parents[2]
    found = []
    for path in sorted([*root.glob("pages/*.py"), *app_sources(root), root / "app.py"]):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            fn = node.func
            name = fn.attr if isinstance(fn, ast.Attribute) else getattr(fn, "id", "")
            sink = name in _SINKS
            cands = list(node.args[:1]) if sink else []
            cands += [k.value for k in node.keywords if k.arg in (_SINK_KW if sink else _PLOT_KW)
                      and not (k.arg == "name" and isinstance(k.value, (ast.Constant,
                                                                        ast.JoinedStr))
                               and " " not in "".join(_literals(k.value)))]
            for c in cands:
                for s in _literals(c):
                    if _user_words(s):
                        found.append(f"{path.relative_to(root)}:{node.lineno}: {s[:60]!r}")
    assert not found, found
