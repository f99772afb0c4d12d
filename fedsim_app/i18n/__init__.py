"""Every user-facing string of the app, in this session's language.

``t("key", **values)`` returns the string ``key`` in the current language with its
``{placeholders}`` filled in; ``tn("key", n, **values)`` picks the plural form for the count
``n`` (``{n}`` is filled in too, formatted for the locale). Keys are grouped by page with a
dotted prefix; a widget's label key ``k`` has ``k.help`` for its ⓘ tooltip. A key missing from a
translation falls back to English (the catalogue test keeps that from happening on main).

To add a language: copy ``locales/en`` to ``locales/<code>``, translate the values (keep the keys
and the ``{placeholders}``), and add the code to :data:`LANGS`, :data:`NATIVE` and
:data:`LOCALES`.

Why the languages work like this:

- **Per session, never per process.** Streamlit runs every browser session in one process, so a
  module-level "current language" would switch the whole classroom when one student clicks
  中文. The language lives in ``st.session_state[KEY]``; outside a Streamlit run (chart tests,
  benches) it is English unless a caller wraps its code in :func:`language` (a
  :class:`contextvars.ContextVar`, so two threads never see each other's choice).
- **Chosen in this order:** the URL (``?lang=zh``), then the server's language if it has one
  (the environment variable ``FEDSIM_LANG``, which ``fedsim-playground --lang zh`` sets: the
  teacher's choice for the class), then the browser's language (``st.context.locale``), then
  English. The sidebar switch writes both the session and the URL, so a share link keeps the
  language.
- **Catalogues are data.** One folder per language under ``locales/`` with one JSON file per
  domain (``app.json``, ``privacy.json`` …, as gettext keeps one ``.po`` per domain). A value
  is a whole sentence with ``{named}`` placeholders, or, for a sentence that depends on a
  count, an object of CLDR plural categories (``{"one": …, "other": …}``; Chinese needs only
  ``other``). Babel picks the category and formats numbers and percentages for the locale.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import json
import os
import pathlib
import sys
from typing import Any, Callable, Iterator, Mapping, Union

#: Languages the app speaks, in the order of the sidebar switch.
LANGS: tuple[str, ...] = ("zh", "en")
DEFAULT = "en"
#: The name each language has in itself (the switch shows these).
NATIVE = {"zh": "中文", "en": "English"}
#: Babel locale of each language (number formats, plural rules).
LOCALES = {"zh": "zh_Hans_CN", "en": "en_US"}
#: Session-state key and URL parameter.
KEY = "lang"
#: Environment variable: the language of a new session whose URL names none (set by
#: ``fedsim-playground --lang``, :mod:`fedsim_app.launch`); unset, the browser's language.
ENV = "FEDSIM_LANG"
LOCALE_DIR = pathlib.Path(__file__).resolve().parent / "locales"

Entry = Union[str, Mapping[str, str]]
_forced: contextvars.ContextVar[str | None] = contextvars.ContextVar("fedsim_lang", default=None)


@functools.lru_cache(maxsize=None)
def catalogue(lang: str) -> dict[str, Entry]:
    """Every string of ``lang``, merged from its domain files (read once per process: the files
    are read-only data, identical for every session)."""
    folder = LOCALE_DIR / lang
    out: dict[str, Entry] = {}
    for path in sorted(folder.glob("*.json")):
        table = json.loads(path.read_text(encoding="utf-8"))
        dup = set(out) & set(table)
        if dup:
            raise ValueError(f"{path}: keys also defined in another domain: {sorted(dup)[:5]}")
        out.update(table)
    return out


def domains(lang: str) -> dict[str, dict[str, Entry]]:
    """``{domain: table}`` of one language (for the catalogue tests)."""
    return {p.stem: json.loads(p.read_text(encoding="utf-8"))
            for p in sorted((LOCALE_DIR / lang).glob("*.json"))}


def normalize(value: object) -> str | None:
    """``"zh-CN"``, ``"zh_Hans"``, ``"ZH"`` → ``"zh"``; anything unknown → None."""
    if not isinstance(value, str):
        return None
    head = value.strip().replace("_", "-").split("-")[0].lower()
    return head if head in LANGS else None


@contextlib.contextmanager
def language(lang: str) -> Iterator[None]:
    """Speak ``lang`` inside the block, in this thread/context only (tests, benches, CLI)."""
    token = _forced.set(normalize(lang) or DEFAULT)
    try:
        yield
    finally:
        _forced.reset(token)


def current() -> str:
    """The language of the code running now: a :func:`language` block, else this session's."""
    forced = _forced.get()
    if forced is not None:
        return forced
    if "streamlit" not in sys.modules:  # no Streamlit run can be active (a notebook, a bench)
        return DEFAULT
    try:
        from streamlit.runtime.scriptrunner import get_script_run_ctx

        ctx = get_script_run_ctx(suppress_warning=True)
        if ctx is None:
            return DEFAULT
        return ctx.session_state[KEY] if KEY in ctx.session_state else DEFAULT
    except Exception:  # noqa: BLE001 - no Streamlit run (a test, a bench): English
        return DEFAULT


def choose(query_value: object, browser_locale: object, server_default: object = None) -> str:
    """The first language of: the URL's ``lang``, the server's default (``FEDSIM_LANG``), the
    browser's locale, English."""
    return (normalize(query_value) or normalize(server_default) or normalize(browser_locale)
            or DEFAULT)


def init_session() -> None:
    """First run of a session: pick its language (later runs keep it unless the URL changes).
    Every run: Streamlit's own strings in that language (:func:`streamlit_strings`)."""
    import streamlit as st

    ss = st.session_state
    asked = normalize(st.query_params.get(KEY))
    if asked is not None:
        ss[KEY] = asked  # a link or the switch
    elif KEY not in ss:
        ss[KEY] = choose(None, getattr(st.context, "locale", None), os.environ.get(ENV))
    streamlit_strings()


def streamlit_strings() -> None:
    """Streamlit's own English, in this session's language, where Streamlit has no API for it.

    A file uploader shows an "Upload" button and "1MB per file • JSON", a text input "Press
    Enter to apply" (Streamlit 1.67 has no parameter for any of them). In another language than English, CSS hides the size line (the
    uploaders' labels say the limit and the file type in the user's language) and shows the
    catalogue's ``ui.upload`` on the button instead of "Upload". Drawn on every run (an empty
    rule in English), so the page's elements keep their places when the language changes."""
    import streamlit as st

    css = "/* fedsim: Streamlit's own strings are English */"
    if current() != DEFAULT:
        label = t("ui.upload").replace("\\", "\\\\").replace('"', '\\"')
        button = ('[data-testid="stFileUploaderDropzone"] '
                  '[data-testid="stBaseButton-secondary"] [data-testid="stMarkdownContainer"]')
        css = ('[data-testid="stFileUploaderDropzoneInstructions"] {display: none;}\n'
               f'{button} p {{display: none;}}\n'
               f'{button}::after {{content: "{label}";}}\n'
               # A text input's "Press Enter to apply" (text only, no child element to hide).
               '[data-testid="InputInstructions"] {font-size: 0 !important;}\n'
               '[data-testid="InputInstructions"]::after {content: "%s"; font-size: 12px;}'
               % t("ui.press_enter").replace("\\", "\\\\").replace('"', '\\"'))
    st.html(f"<style>{css}</style>")


def set_language(lang: str) -> None:
    """The sidebar switch: this session (and its URL, so links keep it) speaks ``lang``."""
    import streamlit as st

    lang = normalize(lang) or DEFAULT
    st.session_state[KEY] = lang
    st.query_params[KEY] = lang


# ------------------------------------------------------------------ plural forms and numbers


@functools.lru_cache(maxsize=None)
def _locale(lang: str):
    from babel import Locale

    return Locale.parse(LOCALES.get(lang, LOCALES[DEFAULT]))


def plural_category(n: float, lang: str | None = None) -> str:
    """CLDR plural category of ``n`` (``"one"``, ``"other"`` …) in ``lang``."""
    return _locale(lang or current()).plural_form(abs(n))


def pick(entry: Entry, n: float | None, lang: str) -> str:
    """The text of a catalogue entry: itself, or its plural form for ``n``."""
    if isinstance(entry, str):
        return entry
    if n is None:
        raise TypeError("a plural entry needs a count: use tn(key, n, ...)")
    return entry.get(plural_category(n, lang)) or entry["other"]


def num(x: float, digits: int = 0, lang: str | None = None) -> str:
    """``x`` with ``digits`` decimals and the locale's grouping (1,234.5)."""
    from babel.numbers import format_decimal

    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
    return format_decimal(x, format=pattern, locale=_locale(lang or current()))


def pct(x: float, digits: int = 1, lang: str | None = None) -> str:
    """The fraction ``x`` as a percentage in the locale's format (0.853 → 85.3%)."""
    from babel.numbers import format_percent

    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "") + "%"
    return format_percent(x, format=pattern, locale=_locale(lang or current()))


# ------------------------------------------------------------------ looking strings up


class _Catalogues(Mapping):
    """``STRINGS[lang][key]``, read lazily from the JSON catalogues (for tests and tools)."""

    def __getitem__(self, lang: str):
        if lang not in LANGS:
            raise KeyError(lang)
        return catalogue(lang)

    def __iter__(self):
        return iter(LANGS)

    def __len__(self):
        return len(LANGS)


STRINGS = _Catalogues()


def _entry(key: str, lang: str) -> Entry:
    entry = catalogue(lang).get(key)
    if entry is None:
        entry = catalogue(DEFAULT)[key]  # KeyError on a typo: tests catch unknown keys
    return entry


def t(key: str, /, **values: object) -> str:
    """The string ``key`` in this session's language, with ``{placeholders}`` filled in."""
    lang = current()
    text = pick(_entry(key, lang), values.get("n"), lang)  # type: ignore[arg-type]
    return text.format(**values) if values else text


def tn(key: str, n: float, /, **values: object) -> str:
    """The plural form of ``key`` for the count ``n``; ``{n}`` is the count, locale-formatted."""
    lang = current()
    text = pick(_entry(key, lang), n, lang)
    shown = num(n, 0 if float(n).is_integer() else 2, lang)
    return text.format(**{"n": shown, **values})


def bound_to_language(fmt: Callable[[Any], str]) -> Callable[[Any], str]:
    """``fmt`` (a widget's ``format_func``) speaking the language of this moment wherever it is
    called: Streamlit calls it during the run, and its test harness (AppTest) calls it again
    outside any run, where the session's language is unknown."""
    lang = current()

    def formatted(value: Any) -> str:
        with language(lang):
            return fmt(value)

    return formatted


def has(key: str) -> bool:
    """Whether ``key`` exists (English is the reference catalogue)."""
    return key in catalogue(DEFAULT)


def colon() -> str:
    """The colon after a label in this language: ``": "`` in English, a full-width ``"："``
    after Chinese (hover texts glue a translated label to a value with it)."""
    return t("ui.colon")
