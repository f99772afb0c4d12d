"""Chinese a teacher would sign (issue #23): the fixed terms of
``fedsim_app/i18n/glossary.json`` hold in every zh catalogue, and Chinese text has Chinese
punctuation.

- Wherever the English says *epoch*, the Chinese says 本地训练轮次 (the glossary's epoch term),
  and never a bare 轮 for it: 轮 is a round (通信轮, 第 N 轮).
- 轮次 alone is never used (it was used for both rounds and epochs).
- The required terms (round, epoch, client, server, secure aggregation, differential privacy,
  ...) appear in the Chinese wherever their English words appear.
- No ASCII ``:`` ``,`` ``(`` ``;`` ``?`` ``!`` right after a Chinese character (full-width
  ``：，（；？！`` instead).

Every catalogue is checked, ``lessons.json`` included, one test per domain; a failure lists
the offending keys. Keys where an English word of a term has another sense are listed, with
why, under ``exceptions`` in the glossary.
"""

from __future__ import annotations

import json
import re

import pytest

from fedsim_app import i18n

GLOSSARY = json.loads((i18n.LOCALE_DIR.parent / "glossary.json").read_text(encoding="utf-8"))
TERMS: dict[str, dict] = GLOSSARY["terms"]
EXCEPT: dict[str, list[str]] = GLOSSARY["exceptions"]["keys"]
DOMAINS = sorted(i18n.domains("en"))

CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")
_ASCII_AFTER_CJK = re.compile(f"[{CJK}][:,(;?!]")


def _texts(entry) -> list[str]:
    return [entry] if isinstance(entry, str) else list(entry.values())


def _pairs(domain: str):
    """(key, English text, Chinese text) of every entry of ``domain`` (each plural form)."""
    en, zh = i18n.domains("en")[domain], i18n.domains("zh")[domain]
    for key, entry in en.items():
        if key not in zh:
            continue
        en_texts, zh_texts = _texts(entry), _texts(zh[key])
        for e, z in zip(en_texts, zh_texts):
            yield key, e, z


def _says(term: str, english: str) -> bool:
    text = _PLACEHOLDER.sub(" ", english)
    return any(re.search(p, text, re.I) for p in TERMS[term]["en"])


def _forms(term: str) -> list[str]:
    spec = TERMS[term]
    return [re.escape(spec["zh"]), *spec["forms"]]


def _has(term: str, chinese: str) -> bool:
    return any(re.search(p, chinese) for p in _forms(term))


PARAMS = DOMAINS


def test_the_glossary_is_well_formed():
    for name in ("round", "local epoch", "client", "server", "aggregation", "secure aggregation",
                 "differential privacy", "homomorphic encryption", "zero-knowledge proof",
                 "non-IID", "update", "global model"):
        assert name in TERMS, name
    for name, spec in TERMS.items():
        assert spec["en"] and spec["zh"] and isinstance(spec["forms"], list), name
        for p in spec["en"] + spec["forms"]:
            re.compile(p)
        assert _has(name, spec["zh"]), name
    assert TERMS["round"]["zh"] == "通信轮"
    assert TERMS["local epoch"]["zh"] == "本地训练轮次（epoch）"
    why = GLOSSARY["exceptions"]["why"]
    for key, terms in EXCEPT.items():
        assert set(terms) <= set(TERMS), key
        assert why.get(key), f"{key}: say why it is an exception"


@pytest.mark.parametrize("domain", PARAMS)
def test_epochs_are_local_training_epochs_and_never_a_bare_lun(domain):
    """Where the English says epoch, the Chinese says 本地训练轮次, and every 轮 left in it
    is a round's (通信轮, 第 N 轮, 每轮, 本轮 ...)."""
    bad = []
    for key, en, zh in _pairs(domain):
        if not _says("local epoch", en) or "local epoch" in EXCEPT.get(key, ()):
            continue
        if not _has("local epoch", zh):
            bad.append((key, "no 本地训练轮次", zh))
            continue
        rest = zh
        for p in _forms("local epoch"):
            rest = re.sub(p, "", rest)
        # in a sentence about epochs a count "N 轮" would be ambiguous: only the round forms
        # that cannot be read as an epoch count are allowed
        for p in [f for f in _forms("round") if "\\d" not in f and "\\{" not in f]:
            rest = re.sub(p, "", rest)
        if "轮" in rest:
            bad.append((key, "a bare 轮 beside epochs", zh))
    assert not bad, _report(domain, bad)


@pytest.mark.parametrize("domain", PARAMS)
def test_lunci_alone_is_never_used(domain):
    """轮次 without 训练 before it read as both a round and an epoch: rounds are 通信轮."""
    bad = [(key, "轮次", zh) for key, _, zh in _pairs(domain)
           if re.search(r"(?<!训练)轮次", zh)]
    assert not bad, _report(domain, bad)


@pytest.mark.parametrize("domain", PARAMS)
def test_required_terms_appear_in_chinese_where_the_english_has_them(domain):
    required = [n for n, spec in TERMS.items() if spec.get("required")]
    bad = []
    for key, en, zh in _pairs(domain):
        for term in required:
            if term in EXCEPT.get(key, ()) or not _says(term, en):
                continue
            text = zh
            if term == "round":  # the 轮 of 训练轮次 is not a round
                for p in _forms("local epoch"):
                    text = re.sub(p, "", text)
            if not _has(term, text):
                bad.append((key, f"no {TERMS[term]['zh']}", zh))
    assert not bad, _report(domain, bad)


@pytest.mark.parametrize("domain", PARAMS)
def test_full_width_punctuation_after_chinese(domain):
    bad = [(key, m.group(), zh) for key, _, zh in _pairs(domain)
           for m in [_ASCII_AFTER_CJK.search(zh)] if m]
    assert not bad, _report(domain, bad)


def _report(domain: str, bad: list) -> str:
    lines = [f"{domain}.json: {len(bad)} entries"]
    lines += [f"  {k}: {why}: {z[:90]!r}" for k, why, z in bad]
    return "\n".join(lines)
