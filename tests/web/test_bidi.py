"""web.bidi: text of one script inside a line of the other is isolated and named (WCAG 3.1.2)."""

from __future__ import annotations

import pytest
from flask_babel import force_locale

from web.bidi import isolate


@pytest.mark.parametrize(
    ("lang", "text", "html"),
    [
        # Latin inside Urdu: one isolated English run; Urdu punctuation stays outside it.
        ("ur", "Example Bank نے دیکھا۔", '<bdi lang="en">Example Bank</bdi> نے دیکھا۔'),
        # A trailing parenthesised group belongs to the run; a sentence's bracket does not.
        ("ur", "(PAdES B-LTA) دستخط", '(<bdi lang="en">PAdES B-LTA</bdi>) دستخط'),
        ("ur", "بینک Habib Bank (Lahore)", 'بینک <bdi lang="en">Habib Bank (Lahore)</bdi>'),
        # Digits alone are no language: left as they are.
        ("ur", "30 دن", "30 دن"),
        # A serial is whole and left to right on either page, inside a run or alone.
        ("ur", "سیریل GZF9-Z1TP-0Y0M", 'سیریل <bdi class="serial">GZF9-Z1TP-0Y0M</bdi>'),
        ("en", "serial GZF9-Z1TP-0Y0M.", 'serial <bdi class="serial">GZF9-Z1TP-0Y0M</bdi>.'),
        # Urdu inside English: isolated and named Urdu; English text is left alone.
        ("en", "Purpose: قرض کی درخواست.", 'Purpose: <bdi lang="ur">قرض کی درخواست</bdi>.'),
        # Everything else is escaped, never passed through as markup.
        (
            "ur",
            '<b>x</b> & "y"',
            '&lt;<bdi lang="en">b</bdi>&gt;<bdi lang="en">x</bdi>&lt;/'
            '<bdi lang="en">b</bdi>&gt; &amp; &#34;<bdi lang="en">y</bdi>&#34;',
        ),
        ("en", '<b>x</b> & "y"', "&lt;b&gt;x&lt;/b&gt; &amp; &#34;y&#34;"),
    ],
)
def test_a_run_of_the_other_script_is_isolated_and_named(
    app, lang: str, text: str, html: str
) -> None:

    with app.test_request_context(), force_locale(lang):
        assert str(isolate(text)) == html


@pytest.mark.parametrize("value", [None, ""])
def test_nothing_is_an_empty_string(app, value: object) -> None:

    with app.test_request_context():
        assert str(isolate(value)) == ""
