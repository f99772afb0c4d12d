"""Every user-facing string of the app, looked up in this session's language.

``t("key", **values)`` returns the string ``key`` in the current language (:mod:`ui.i18n`) with
its ``{placeholders}`` filled in; ``tn("key", n, **values)`` picks the plural form for the count
``n`` (``{n}`` is filled in too, formatted for the locale). The strings themselves are data, one
catalogue per language: ``ui/locales/<lang>/<domain>.json``. Keys are grouped by page with a
dotted prefix; a widget's label key ``k`` has ``k.help`` for its ⓘ tooltip. A key missing from a
translation falls back to English (the catalogue test keeps that from happening on main).

To add a language: copy ``ui/locales/en`` to ``ui/locales/<code>``, translate the values (keep
the keys and the ``{placeholders}``), and add the code to :data:`ui.i18n.LANGS`.
"""

from __future__ import annotations

from typing import Mapping

from . import i18n


class _Catalogues(Mapping):
    """``STRINGS[lang][key]``, read lazily from the JSON catalogues (for tests and tools)."""

    def __getitem__(self, lang: str):
        if lang not in i18n.LANGS:
            raise KeyError(lang)
        return i18n.catalogue(lang)

    def __iter__(self):
        return iter(i18n.LANGS)

    def __len__(self):
        return len(i18n.LANGS)


STRINGS = _Catalogues()


def _entry(key: str, lang: str):
    entry = i18n.catalogue(lang).get(key)
    if entry is None:
        entry = i18n.catalogue(i18n.DEFAULT)[key]  # KeyError on a typo: tests catch unknown keys
    return entry


def t(key: str, /, **values: object) -> str:
    """The string ``key`` in this session's language, with ``{placeholders}`` filled in."""
    lang = i18n.current()
    text = i18n.pick(_entry(key, lang), values.get("n"), lang)  # type: ignore[arg-type]
    return text.format(**values) if values else text


def tn(key: str, n: float, /, **values: object) -> str:
    """The plural form of ``key`` for the count ``n``; ``{n}`` is the count, locale-formatted."""
    lang = i18n.current()
    text = i18n.pick(_entry(key, lang), n, lang)
    shown = i18n.num(n, 0 if float(n).is_integer() else 2, lang)
    return text.format(**{"n": shown, **values})


def has(key: str) -> bool:
    """Whether ``key`` exists (English is the reference catalogue)."""
    return key in i18n.catalogue(i18n.DEFAULT)
