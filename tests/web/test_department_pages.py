"""Department pages: officers issue, search, revoke and batch-issue; nobody else gets in."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from flask.testing import FlaskClient
from flask_babel import force_locale
from sqlalchemy import func, select, update

from audit.models import AuditEvent
from identity import passwords
from identity.accounts import create_account
from identity.models import Role
from signing.models import Batch, BatchItem, IssuedCertificate
from signing.pki import create_department, ensure_pki, load_pki
from tests.web.conftest import csrf_of, run_jobs
from tests.web.helpers import register
from web.activity_lines import describe
from web.tasks import task_engine


@pytest.fixture
def officer(app, sessions, file_keystore, clock) -> FlaskClient:
    # Signing times come from the wall clock (pyHanko): keep the app's clock on it too.
    now = clock.value = dt.datetime.now(dt.UTC)
    with sessions() as s:
        ensure_pki(s, keystore=file_keystore, now=now)
        material = load_pki(s, keystore=file_keystore, base_url="http://localhost:8000")
        for code in ("UNI", "CRD"):
            create_department(
                s,
                keystore=file_keystore,
                material=material,
                code=code,
                name=f"Dept {code}",
                now=now,
            )
        for login, code in (("uni.officer", "UNI"), ("crd.officer", "CRD")):
            account = create_account(
                s, role=Role.OFFICER, display_name=login, login=login, affiliation=code, now=now
            )
            passwords.set_password(s, account=account, password="officer passphrase", now=now)
        s.commit()
    citizen = app.test_client()
    register(citizen, cnic="35202-1234567-1")
    client = app.test_client()
    _sign_in(client, "uni.officer")
    return client


def _sign_in(client: FlaskClient, login: str):
    csrf = csrf_of(client, "/login")
    res = client.post(
        "/login/password",
        data={"csrf_token": csrf, "login": login, "password": "officer passphrase"},
    )
    assert res.status_code == 302
    return res


def _issue(client: FlaskClient, **overrides):
    csrf = csrf_of(client, "/department/issue?type=degree")
    data = {
        "csrf_token": csrf,
        "type": "degree",
        "citizen": "35202-1234567-1",
        "f_name": "Ayesha Khan",
        "f_name:ur": "عائشہ خان",
        "f_degree": "BSc Physics",
        "f_year": "2024",
        "level": "B-LTA",
        **overrides,
    }
    return client.post("/department/issue", data=data)


def _check(client: FlaskClient, cnic: str):
    """The form's 'Check the CNIC' (a POST with the form's CSRF token)."""
    csrf = csrf_of(client, "/department/issue?type=degree")
    return client.post(
        "/department/issue/check", data={"csrf_token": csrf, "type": "degree", "citizen": cnic}
    )


def test_officer_lands_on_the_department_page(app, officer) -> None:
    fresh = app.test_client()
    assert _sign_in(fresh, "uni.officer").headers["Location"] == "/department"
    assert "Dept UNI" in officer.get("/department").get_data(as_text=True)


def test_issue_form_is_built_from_the_type(officer) -> None:
    page = officer.get("/department/issue?type=birth").get_data(as_text=True)
    for name in (
        "f_name",
        "f_father_name",
        "f_date_of_birth-day",
        "f_date_of_birth-month",
        "f_date_of_birth-year",
        "f_place_of_birth",
        "f_gender",
        "f_name:ur",
    ):
        assert f'name="{name}"' in page
    # Three boxes, not the browser's picker (mm/dd/yyyy on an Urdu page).
    assert 'type="date"' not in page


def _birth(client: FlaskClient, day: str, month: str, year: str):
    return _issue(
        client, type="birth", f_father_name="Imran Khan", f_place_of_birth="Lahore",
        f_gender="female", f_degree="", f_year="",
        **{"f_date_of_birth-day": day, "f_date_of_birth-month": month,
           "f_date_of_birth-year": year},
    )  # fmt: skip


def test_a_date_typed_in_three_boxes_is_issued_as_iso(officer, sessions) -> None:
    res = _birth(officer, "7", "3", "2001")
    assert res.status_code == 302, res.get_data(as_text=True)
    with sessions() as s:
        (row,) = s.scalars(select(IssuedCertificate)).all()
    assert row.fields["date_of_birth"] == "2001-03-07"


def test_an_impossible_date_comes_back_named_by_its_label_with_the_boxes_kept(officer) -> None:
    res = _birth(officer, "31", "2", "2001")
    page = res.get_data(as_text=True)
    assert res.status_code == 400
    assert "“Date of birth” must be a real date" in page
    for name, value in (("day", "31"), ("month", "02"), ("year", "2001")):
        assert re.search(rf'name="f_date_of_birth-{name}"[^>]*value="{value}"', page), name


def test_issue_search_and_revoke(officer, sessions) -> None:
    res = _issue(officer)
    assert res.status_code == 302
    serial = res.headers["Location"].rsplit("/", 1)[1]
    page = officer.get(f"/department/certificates/{serial}").get_data(as_text=True)
    assert "Ayesha Khan" in page
    assert "عائشہ خان" in page
    assert serial in officer.get("/department?q=ayesha").get_data(as_text=True)
    assert serial in officer.get(f"/department?q={serial.lower()}").get_data(as_text=True)
    assert serial not in officer.get("/department?q=nobody").get_data(as_text=True)
    csrf = csrf_of(officer, "/department")
    done = officer.post(
        f"/department/certificates/{serial}/revoke",
        data={"csrf_token": csrf, "reason": "Typo in name"},
    )
    assert done.status_code == 302
    with sessions() as s:
        assert s.get(IssuedCertificate, serial).status == "revoked"


def test_bad_issue_input_is_refused_and_changes_nothing(officer, sessions) -> None:
    for overrides, message in (
        ({"citizen": "35202-0000000-0"}, "No citizen"),
        ({"f_year": "last year"}, "year like 2024"),
        ({"f_degree": ""}, "Missing required field"),
        ({"f_degree": "x" * 300}, "at most"),
        ({"type": "passport"}, "Unknown certificate type"),
    ):
        res = _issue(officer, **overrides)
        assert res.status_code == 400, overrides
        assert message in res.get_data(as_text=True), overrides
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(IssuedCertificate)) == 0


def test_other_departments_certificates_are_not_found(app, officer) -> None:
    serial = _issue(officer).headers["Location"].rsplit("/", 1)[1]
    other = app.test_client()
    _sign_in(other, "crd.officer")
    assert other.get(f"/department/certificates/{serial}").status_code == 404
    csrf = csrf_of(other, "/department")
    assert (
        other.post(
            f"/department/certificates/{serial}/revoke", data={"csrf_token": csrf, "reason": "x"}
        ).status_code
        == 404
    )


def test_non_officers_get_403(app, officer) -> None:
    citizen = app.test_client()
    register(citizen, cnic="35202-7777777-7")
    for path in ("/department", "/department/issue", "/department/batch"):
        assert citizen.get(path).status_code == 403
    csrf = csrf_of(citizen, "/vault")
    assert citizen.post("/department/issue", data={"csrf_token": csrf}).status_code == 403
    assert (
        app.test_client().get("/department").status_code == 302
    )  # not signed in: to the sign-in page


def _send_batch(client: FlaskClient, data: bytes, name: str = "batch.csv") -> str:
    """Upload a batch, let the queue's jobs run, and return the batch page."""
    csrf = csrf_of(client, "/department/batch")
    sent = client.post(
        "/department/batch",
        data={"csrf_token": csrf, "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )
    assert sent.status_code == 303, sent.get_data(as_text=True)[:300]
    run_jobs(client.application)
    return client.get(sent.headers["Location"]).get_data(as_text=True)


def test_batch_upload_issues_good_rows_and_reports_broken_ones(officer, sessions) -> None:
    csv_data = (
        b"citizen,type,name,degree,year\n"
        b"35202-1234567-1,degree,Ayesha Khan,BSc,2020\n"
        b"35202-1234567-1,degree,Ayesha Khan,,2020\n"
        b"35202-1234567-1,degree,Ayesha Khan,MSc,2022\n"
    )
    page = _send_batch(officer, csv_data)
    assert "2 issued, 1 failed" in page
    assert "Missing required field(s): Degree." in page
    assert len(re.findall(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}</bdi></a>", page)) == 2
    again = _send_batch(officer, csv_data)
    assert "2 issued, 1 failed" in again
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(IssuedCertificate)) == 2


_TWO_ROWS = (
    b"citizen,type,name,degree,year\n"
    b"35202-1234567-1,degree,Ayesha Khan,BSc,2020\n"
    b"35202-1234567-1,degree,Ayesha Khan,MSc,2022\n"
)


def _upload(client: FlaskClient, data: bytes) -> str:
    """Upload a batch without running its jobs; the batch page's address."""
    csrf = csrf_of(client, "/department/batch")
    sent = client.post(
        "/department/batch",
        data={"csrf_token": csrf, "file": (io.BytesIO(data), "two.csv")},
        content_type="multipart/form-data",
    )
    assert sent.status_code == 303
    return sent.headers["Location"]


def test_a_waiting_batch_page_refreshes_itself_and_a_done_one_does_not(officer) -> None:
    where = _upload(officer, _TWO_ROWS)
    waiting = officer.get(where).get_data(as_text=True)
    assert 'http-equiv="refresh"' in waiting
    assert "0 of 2 rows done" in waiting
    run_jobs(officer.application)
    done = officer.get(where).get_data(as_text=True)
    assert 'http-equiv="refresh"' not in done
    assert "2 of 2 rows done: 2 issued" in done


def test_the_batch_list_links_each_batch(officer) -> None:
    where = _upload(officer, _TWO_ROWS)
    listing = officer.get("/department/batch").get_data(as_text=True)
    assert f'href="{where}"' in listing
    assert "two.csv" in listing


def test_the_batch_report_has_every_row_as_csv(officer) -> None:
    where = _upload(officer, _TWO_ROWS)
    run_jobs(officer.application)
    report = officer.get(where + "/report.csv")
    assert report.mimetype == "text/csv"
    lines = report.get_data(as_text=True).splitlines()
    assert lines[0] == "line,citizen,serial,error"
    assert len(lines) == 3
    assert all(re.fullmatch(r"\d,35202-1234567-1,[0-9A-Z-]{14},", line) for line in lines[1:])


def test_another_departments_batch_is_not_found(app, officer) -> None:
    where = _upload(officer, _TWO_ROWS)
    other = app.test_client()
    _sign_in(other, "crd.officer")
    assert other.get(where).status_code == 404
    assert other.get(where + "/report.csv").status_code == 404


def test_a_batch_whose_jobs_were_lost_is_put_back_on_the_queue(officer, sessions) -> None:
    """The queue lost the batch's jobs (a worker killed as it took them): the periodic resume
    finds the batch nobody works on and the rows are issued."""


    where = _upload(officer, _TWO_ROWS)
    rt = officer.application.extensions["amanat"]
    engine = task_engine(rt.settings)
    engine.huey.flush()  # the jobs are gone
    assert run_jobs(officer.application) == 0
    sent_at = rt.clock() - dt.timedelta(minutes=10)
    with sessions() as s:
        s.execute(update(Batch).values(created_at=sent_at))
        s.execute(update(BatchItem).values(updated_at=sent_at))
        s.commit()
    engine.resume_batches()
    assert run_jobs(officer.application) >= 2
    assert "2 of 2 rows done: 2 issued" in officer.get(where).get_data(as_text=True)


def test_checking_a_cnic_shows_its_registered_name_and_starts_the_form_with_it(officer) -> None:
    page = _check(officer, "35202-1234567-1").text
    assert 'id="registered-name"' in page
    assert "Ayesha Khan" in page
    assert 'value="Ayesha Khan"' in page
    assert 'value="35202-1234567-1"' in page


def test_checking_an_unknown_cnic_says_so_on_the_form(officer) -> None:
    page = _check(officer, "35202-0000000-0")
    assert page.status_code == 200
    assert "No citizen is registered with this CNIC." in page.text


def test_a_refusal_comes_back_on_the_form_with_what_was_typed(officer) -> None:
    res = _issue(officer, f_year="last year", f_degree="BSc Physics")
    page = res.get_data(as_text=True)
    assert res.status_code == 400
    assert 'id="issue-error"' in page
    assert 'value="BSc Physics"' in page
    assert 'value="35202-1234567-1"' in page


def test_a_name_that_differs_from_the_registered_one_is_asked_again(officer, sessions) -> None:
    first = _issue(officer, f_name="Aisha Khan")
    page = first.get_data(as_text=True)
    assert first.status_code == 200
    assert 'id="name-differs"' in page
    assert 'name="name_confirmed" value="Aisha Khan"' in page
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(IssuedCertificate)) == 0
    confirmed = _issue(officer, f_name="Aisha Khan", name_confirmed="Aisha Khan")
    assert confirmed.status_code == 302


def test_confirming_one_name_does_not_confirm_another(officer, sessions) -> None:
    res = _issue(officer, f_name="Aisha Khan", name_confirmed="Someone Else")
    assert res.status_code == 200
    assert 'id="name-differs"' in res.get_data(as_text=True)
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(IssuedCertificate)) == 0


def test_the_same_name_written_otherwise_is_not_asked_again(officer) -> None:
    assert _issue(officer, f_name="  ayesha   KHAN ").status_code == 302


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("en", "An officer of Dept UNI looked up the name registered for your CNIC"),
        ("ur", "Dept UNI کے ایک افسر نے آپ کو سرٹیفکیٹ جاری کرنے کے لیے"),
    ],
)
def test_a_lookup_is_in_the_citizens_activity(app, officer, sessions, lang, words) -> None:
    """An official read the citizen's registered name: the citizen sees who and when."""


    _check(officer, "35202-1234567-1")
    with sessions() as s:
        event = s.scalar(select(AuditEvent).where(AuditEvent.tag == "certificate:holder-checked"))
        assert event is not None
        assert event.actor.startswith("account:")
        assert event.subject_id
        with app.test_request_context("/"), force_locale(lang):
            assert words in describe(event)


def test_an_unknown_cnic_looked_up_records_nothing(officer, sessions) -> None:

    _check(officer, "35202-0000000-0")
    with sessions() as s:
        tags = s.scalars(select(AuditEvent.tag)).all()
    assert "certificate:holder-checked" not in tags
