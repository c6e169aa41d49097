"""Sending notices: e-mail through SMTP (STARTTLS), SMS through an HTTP gateway, in the citizen's
language, with a link to each activity line and never a document's content.

A notice is sent after the events it tells of were committed (it is read from the ledger), so a
slow or failed delivery never holds up the access itself; a failed one is tried again later
(``vault.notices.notice_failed``). Run by the task engine's worker every few seconds.
"""

from __future__ import annotations

import json
import logging
import smtplib
import ssl
from email.message import EmailMessage
from typing import Any

import requests
from flask import Flask
from flask_babel import force_locale
from flask_babel import gettext as _

from amanat.db import transaction
from amanat.errors import AmanatError
from amanat.settings import Settings
from vault.notices import Notice, channel_delivered, due_notices, notice_failed, notice_sent
from web.activity_lines import describe

_log = logging.getLogger("amanat.notices")
SMS_MAX = 300


class NoticeUndelivered(AmanatError):
    """A notice could not be handed to the mail server or the SMS gateway."""

    code = "notice_undelivered"


def _when(app: Flask, value: Any) -> str:
    return str(app.jinja_env.filters["when"](value))


def notice_texts(app: Flask, notice: Notice, *, base_url: str) -> tuple[str, str, str]:
    """(e-mail subject, e-mail body, SMS text) in the citizen's language."""
    with app.test_request_context("/"), force_locale(notice.language):
        lines = [(e, describe(e)) for e in notice.events]
        subject = _("Amanat: new activity in your vault")
        body = [_("This happened in your Amanat vault:"), ""]
        for event, line in lines:
            body += [f"- {_when(app, event.occurred_at)}: {line}",
                     f"  {base_url}/activity#event-{event.seq}"]  # fmt: skip
        if notice.more:
            body.append(_("and %(n)s more.", n=notice.more))
        body += ["", _("If you did not expect this, open your activity page: %(url)s",
                       url=f"{base_url}/activity"),
                 _("You get these notices because you chose them. Change that here: %(url)s",
                   url=f"{base_url}/security")]  # fmt: skip
        first, seq = lines[0][1], lines[0][0].seq
        more = f" (+{len(lines) - 1 + notice.more})" if len(lines) > 1 or notice.more else ""
        sms = f"Amanat: {first}{more} {base_url}/activity#event-{seq}"
    return str(subject), "\n".join(str(b) for b in body), sms[:SMS_MAX]


def send_email(settings: Settings, *, to: str, subject: str, body: str) -> None:
    """Hand one message to the SMTP server (STARTTLS by default)."""
    if not settings.smtp_host:
        raise NoticeUndelivered("No SMTP server.", code="notice_no_smtp")
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = settings.smtp_from, to, subject
    message.set_content(body)  # UTF-8: Urdu arrives as written
    context = ssl.create_default_context(cafile=settings.smtp_ca_file or None)
    try:
        if settings.smtp_tls == "tls":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(settings.smtp_host, settings.smtp_port,
                                                  timeout=20, context=context)  # fmt: skip
        else:
            smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=20)
        with smtp:
            if settings.smtp_tls == "starttls":
                smtp.starttls(context=context)
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password)
            smtp.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        raise NoticeUndelivered(f"SMTP: {exc}", code="notice_undelivered") from None


def send_sms(settings: Settings, *, to: str, text: str) -> None:
    """Post one SMS to the gateway: the configured JSON template with the number and the text."""
    if not settings.sms_url:
        raise NoticeUndelivered("No SMS gateway.", code="notice_no_sms")
    body = settings.sms_template.replace("{to}", json.dumps(to)[1:-1]).replace(
        "{text}", json.dumps(text, ensure_ascii=False)[1:-1]
    )
    headers = {"Content-Type": "application/json; charset=utf-8"}
    if settings.sms_token:
        headers["Authorization"] = f"Bearer {settings.sms_token}"
    try:
        answer = requests.post(settings.sms_url, data=body.encode(), headers=headers, timeout=10)
        answer.raise_for_status()
    except requests.RequestException as exc:
        raise NoticeUndelivered(f"SMS gateway: {exc}", code="notice_undelivered") from None


def _deliver(app: Flask, notice: Notice) -> None:
    """Each channel tells what it has not told yet; one that delivered is recorded at once, so a
    retry after the other channel failed does not tell it twice."""
    rt = app.extensions["amanat"]
    settings, base = rt.settings, rt.settings.public_base_url
    for channel, address in (("email", notice.email), ("sms", notice.phone)):
        todo = notice.for_channel(channel) if address else None
        if todo is None or address is None:
            continue
        subject, body, sms = notice_texts(app, todo, base_url=base)
        if channel == "email":
            send_email(settings, to=address, subject=subject, body=body)
        else:
            send_sms(settings, to=address, text=sms)
        with transaction(rt.sessions) as s:
            channel_delivered(s, account_id=notice.account_id, channel=channel,
                              up_to_seq=notice.up_to_seq)  # fmt: skip


def send_due_notices(app: Flask) -> int:
    """Send every notice that is due; how many went out."""
    rt = app.extensions["amanat"]
    with transaction(rt.sessions) as s:
        notices = due_notices(s, ctx=rt.vault, now=rt.clock())
    sent = 0
    for notice in notices:
        try:
            _deliver(app, notice)
        except NoticeUndelivered as exc:
            with transaction(rt.sessions) as s:
                again = notice_failed(s, account_id=notice.account_id, now=rt.clock())
            _log.warning("notice to account %s not delivered (%s); again at %s",
                         notice.account_id, exc, again.isoformat())  # fmt: skip
            continue
        with transaction(rt.sessions) as s:
            notice_sent(s, account_id=notice.account_id, up_to_seq=notice.up_to_seq)
        sent += 1
    return sent
