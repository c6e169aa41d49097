"""Every ledger event has a sentence for the citizen, whoever recorded it: never a raw tag."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask_babel import Babel, force_locale

from audit import AuditEvent, EventTag
from web.activity_lines import as_html, describe


@pytest.fixture(scope="module")
def app() -> Iterator[Flask]:
    """A bare Flask app with the catalogues: describe needs no database."""
    bare = Flask(__name__)
    folder = Path(__file__).resolve().parents[2] / "web" / "translations"
    bare.config["BABEL_TRANSLATION_DIRECTORIES"] = str(folder)
    Babel(bare)
    yield bare


ACTORS = [
    "account:7",
    "account:99",
    "department:UNI",
    "operator",
    "organisation:BANK",
    "link",
    "anonymous",
    "deployment:archive",
]


@pytest.mark.parametrize("tag", list(EventTag))
@pytest.mark.parametrize("actor", ACTORS)
def test_no_event_is_shown_as_its_tag(app, tag: EventTag, actor: str) -> None:
    event = AuditEvent(
        seq=1,
        tag=tag.value,
        actor=actor,
        subject_id=7,
        details={"title": "Degree Certificate", "serial": "AB12-CD34-EF56", "department": "UNI"},
        occurred_at=dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
    )
    with app.test_request_context("/"):
        line = describe(event)
    assert line
    assert tag.value not in line


@pytest.mark.parametrize("actor", ["account:99", "operator", "department:UNI"])
def test_a_certificate_issued_by_an_officer_is_not_something_you_did(app, actor: str) -> None:
    event = AuditEvent(
        seq=1,
        tag=EventTag.VAULT_DOCUMENT_UPLOADED.value,
        actor=actor,
        subject_id=7,
        details={"title": "Degree Certificate"},
        occurred_at=dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
    )
    with app.test_request_context("/"):
        assert describe(event) == "\u201cDegree Certificate\u201d was issued into your vault."


@pytest.mark.parametrize(
    ("tag", "actor"),
    [
        (EventTag.CERTIFICATE_VERIFIED, "anonymous"),
        (EventTag.CERTIFICATE_VERIFIED, "organisation:BANK api-key:k"),
        (EventTag.CERTIFICATE_ISSUED, "department:UNI"),
        (EventTag.CERTIFICATE_REVOKED, "department:UNI"),
    ],
)
def test_an_urdu_reader_sees_the_certificate_type_in_urdu(app, tag: EventTag, actor: str) -> None:
    """Issue 10: the line names the certificate by its type's Urdu title, not the English one
    the event recorded."""

    event = AuditEvent(
        seq=1,
        tag=tag.value,
        actor=actor,
        subject_id=7,
        details={"title": "Degree Certificate", "type": "degree", "serial": "AB12-CD34-EF56"},
        occurred_at=dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
    )
    with app.test_request_context("/"):
        english = describe(event)
        with force_locale("ur"):
            urdu = describe(event)
    assert "Degree Certificate" in english
    assert "Degree Certificate" not in urdu
    assert "ڈگری" in urdu


@pytest.mark.parametrize(
    ("line", "html"),
    [
        (
            "Someone checked your degree (serial GZF9-Z1TP-0Y0M).",
            'Someone checked your degree (serial <bdi class="serial">GZF9-Z1TP-0Y0M</bdi>).',
        ),
        ("You uploaded \u201c<b>x</b>\u201d.", "You uploaded \u201c&lt;b&gt;x&lt;/b&gt;\u201d."),
    ],
)
def test_a_line_on_a_page_keeps_serials_whole_and_escapes_the_rest(line: str, html: str) -> None:

    assert str(as_html(line)) == html


@pytest.mark.parametrize(
    ("lang", "words"),
    [("en", "“Degree Certificate” was renewed"), ("ur", "“ڈگری کا سرٹیفکیٹ” کی نئی آرکائیو")],
)
def test_an_archive_renewal_is_not_an_upload_of_yours(app, lang: str, words: str) -> None:

    event = AuditEvent(
        seq=1,
        tag=EventTag.VAULT_DOCUMENT_VERSION_ADDED.value,
        actor="deployment:archive",
        subject_id=7,
        details={"title": "Degree Certificate", "version": 2, "size": 1, "type": "degree"},
        occurred_at=dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
    )
    with app.test_request_context("/"), force_locale(lang):
        line = describe(event)
    assert words in line
    assert "You uploaded" not in line


def _urdu_line(app: Flask, tag: EventTag, actor: str, details: dict[str, object]) -> str:

    event = AuditEvent(
        seq=1,
        tag=tag.value,
        actor=actor,
        subject_id=7,
        details=details,
        occurred_at=dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
    )
    with app.test_request_context("/"), force_locale("ur"):
        return describe(event)


@pytest.mark.parametrize(
    ("details", "words"),
    [
        ({"recipient": "Example Bank", "recipient_ur": "مثالی بینک"}, "مثالی بینک"),
        ({"recipient": "anyone with the link", "recipient_type": "link"}, "لنک رکھنے والا"),
        ({"recipient": "anyone with the link"}, "لنک رکھنے والا"),  # before recipient_type
    ],
)
def test_an_urdu_reader_sees_the_recipient_in_urdu(app, details, words: str) -> None:
    line = _urdu_line(app, EventTag.CONSENT_GRANTED, "account:7", {**details, "purpose": "قرض"})
    assert words in line
    assert "anyone" not in line
    assert "Bank" not in line


@pytest.mark.parametrize(
    ("tag", "details"),
    [
        (
            EventTag.CERTIFICATE_ISSUED,
            {"department": "University of the Punjab", "department_ur": "جامعہ پنجاب",
             "title": "Degree Certificate", "type": "degree", "serial": "GZF9-Z1TP-0Y0M"},
        ),
        # The upload of an issued document records the title it was stored under.
        (EventTag.VAULT_DOCUMENT_UPLOADED, {"title": "Degree Certificate", "size": 1}),
    ],
)  # fmt: skip
def test_an_urdu_reader_sees_an_issued_certificate_in_urdu(app, tag, details) -> None:
    line = _urdu_line(app, tag, "department:UNI", details)
    assert "ڈگری کا سرٹیفکیٹ" in line
    assert "Degree" not in line
    assert "University" not in line
