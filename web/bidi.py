"""Text of one script inside a line of the other, kept whole and named (WCAG 3.1.2).

A page in Urdu runs right to left; a serial, a name in Latin letters or an English title inside it
breaks apart at its hyphens and spaces ("GZF9-" / "Z1TP-0Y0M") unless it is isolated, and a screen
reader reads it with Urdu sounds unless it says ``lang="en"``. The same holds the other way round
for an Urdu purpose or name on an English page. Every value a page shows from data (names, titles,
field values) and every sentence that carries one goes through :func:`isolate`.
"""

from __future__ import annotations

import re
from typing import Any

from flask_babel import get_locale
from markupsafe import Markup, escape

# A certificate serial (Crockford base32, three groups of four): always left to right, whole.
_SERIAL = r"\b[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}\b"
# A run of Latin words (with the digits and punctuation inside names and titles), ending on a
# letter or digit so that a sentence's own full stop or quotation mark stays outside.
_LATIN = r"[A-Za-z0-9](?:[A-Za-z0-9.,'’&/+:@_ -]*[A-Za-z0-9])?(?: ?\([A-Za-z0-9.,'’&/+:@_ -]*\))?"
_ARABIC_LETTERS = "\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff"
_ARABIC = rf"[{_ARABIC_LETTERS}](?:[{_ARABIC_LETTERS}0-9\u200c ،.-]*[{_ARABIC_LETTERS}0-9])?"
_RUNS = re.compile(rf"(?P<serial>{_SERIAL})|(?P<latin>{_LATIN})|(?P<arabic>{_ARABIC})")
_LETTER = re.compile("[A-Za-z]")
_SERIAL_ONLY = re.compile(_SERIAL)


def _urdu_page() -> bool:
    locale = get_locale()
    return locale is not None and locale.language == "ur"


def _serials(text: str) -> Markup:
    # A Latin run may carry a serial inside it ("serial GZF9-Z1TP-0Y0M"): still kept whole.
    return Markup(_SERIAL_ONLY.sub(r'<bdi class="serial">\g<0></bdi>', str(escape(text))))  # noqa: S704


def _wrap(match: re.Match[str], urdu: bool) -> Markup:
    text = match.group(0)
    if match.lastgroup == "serial":
        return Markup('<bdi class="serial">{}</bdi>').format(text)
    if match.lastgroup == "latin":
        inner = _serials(text)
        if urdu and _LETTER.search(text):
            return Markup('<bdi lang="en">{}</bdi>').format(inner)
        return inner
    if match.lastgroup == "arabic" and not urdu:
        return Markup('<bdi lang="ur">{}</bdi>').format(text)
    return escape(text)


def isolate(value: Any) -> Markup:
    """``value`` as page markup: escaped, each serial whole and left to right, and each run in the
    page's other script isolated and marked with its language (Latin runs on an Urdu page,
    Arabic-script runs on an English page)."""
    text = "" if value is None else str(value)
    urdu = _urdu_page()
    out: list[Markup] = []
    last = 0
    for match in _RUNS.finditer(text):
        out.append(escape(text[last : match.start()]))
        out.append(_wrap(match, urdu))
        last = match.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)
