"""User-supplied text is data, not Markdown.

Share links arrive by e-mail and files are uploaded by anyone, and ``st.markdown``,
``st.warning``, ``st.error``, ``st.info`` and toasts all render Markdown: a URL key
``![pixel](http://host/p.png)`` would make the browser fetch an image (a tracking pixel) and a
value ``[Click here](http://host/phish)`` would show a clickable link inside the app's own
warning. Every string that comes from a URL, a file (its name or its content) or an error
message that echoes such a value goes through :func:`md` before it is put into a message;
the message templates themselves (``fedsim_app.i18n``) stay Markdown.

:func:`md` backslash-escapes every ASCII punctuation character (CommonMark allows escaping
any of them, and an escaped character is always literal: no link, image, emphasis, heading,
HTML, LaTeX or colour directive can start), folds the text onto one line and cuts it to a
bounded length. Streamlit's renderer also turns bare URLs and e-mail addresses into links
(GFM autolinks) *after* escapes are resolved — measured in Chromium: ``http\://host`` still
became a link — so :func:`md` also puts a zero-width space after ``http``/``https``/``ftp``,
``www`` and ``@``, which the reader does not see and the autolinker does not match.
"""

from __future__ import annotations

import re
import string

from fedsim.errors import clip

#: Longest user-supplied text shown in one message (characters, before escaping).
MAX_CHARS = 300

_PUNCT = re.compile("([" + re.escape(string.punctuation) + "])")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u200b-\u200f\u2028-\u202e\u2066-\u2069]+")
_ZWSP = "\u200b"
_AUTOLINK = re.compile(r"(?i)(https?|ftp)(?=:)|\b(www)(?=\.)|(@)")


def plain(value: object, limit: int = MAX_CHARS) -> str:
    """One line of at most ``limit`` characters, control characters replaced by spaces."""
    return clip(_CONTROL.sub(" ", str(value)), limit)


def md(value: object, limit: int = MAX_CHARS) -> str:
    """``value`` as Markdown that renders as exactly its text (see the module docstring)."""
    text = _AUTOLINK.sub(lambda m: m.group() + _ZWSP, plain(value, limit))
    return _PUNCT.sub(r"\\\1", text)


def error(exc: BaseException, limit: int = MAX_CHARS) -> str:
    """An exception's message in the user's language (:mod:`fedsim_app.base.errors`), escaped."""
    from fedsim_app.base.errors import describe

    return md(describe(exc), limit)
