"""Ledger benchmark: chained Merkle appends next to a plain INSERT into an unchained table (same
run, same database, one transaction per row, 1 and 8 threads), on SQLite and PostgreSQL; and
inclusion-proof time at 10^4, 10^5 and 10^6 events next to reading one event by its number."""

from __future__ import annotations

import datetime as dt
import os
import random
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import JSON, BigInteger, Column, DateTime, Integer, MetaData, String, Table, text
from sqlalchemy import select as sa_select

from amanat.db import Base, create_engine, session_factory, transaction
from audit import EventTag, NewEvent, record_event, record_events
from audit.keyring import bind_keystore, ensure_ledger_key
from audit.ledger import inclusion_proof, publish_tree_head, verify_ledger
from audit.models import AuditEvent
from audit.service import chain_pending
from keys.stores import FileKeyStore

PG_URL = os.environ.get("AMANAT_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1/test")
APPENDS = 2000
NOW = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)

_plain_meta = MetaData()
PLAIN = Table(
    "bench_plain_events",
    _plain_meta,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True),
    Column("tag", String(64), nullable=False),
    Column("actor", String(80), nullable=False),
    Column("subject_id", BigInteger),
    Column("details", JSON, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
)


def _engine(kind: str, tmp: Path):  # type: ignore[no-untyped-def]
    if kind == "sqlite":
        return create_engine(f"sqlite:///{tmp / 'ledger.db'}")
    schema = "bench_" + uuid.uuid4().hex[:8]
    admin = create_engine(PG_URL)
    with admin.begin() as c:
        c.execute(text(f"CREATE SCHEMA {schema}"))
    admin.dispose()
    return create_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"}), schema


def _rate(
    threads: int, total: int, one: Callable[[int], None], finish: Callable[[], None] | None = None
) -> float:
    per = total // threads
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            for i in range(per):
                one(k * per + i)
        except BaseException as exc:
            errors.append(exc)

    pool = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    t = time.perf_counter()
    for p in pool:
        p.start()
    for p in pool:
        p.join()
    if finish is not None:
        finish()  # timed: the run is done when every event is chained
    elapsed = time.perf_counter() - t
    if errors:
        raise errors[0]
    return per * threads / elapsed


def _append_results(kind: str, engine) -> list[dict]:  # type: ignore[no-untyped-def]
    Base.metadata.create_all(engine)
    _plain_meta.create_all(engine)
    keystore = FileKeyStore.create(Path(tempfile.mkdtemp()) / "master.keys")
    sessions = bind_keystore(session_factory(engine), keystore)
    with transaction(sessions) as s:
        ensure_ledger_key(s, keystore=keystore, now=NOW)  # as 'amanat init' does

    def plain(i: int) -> None:
        with transaction(sessions) as s:
            s.execute(
                PLAIN.insert().values(
                    tag="vault:document-viewed",
                    actor=f"account:{i % 50}",
                    subject_id=i % 50,
                    details={"title": f"Doc {i}"},
                    occurred_at=NOW,
                )
            )

    def chained(i: int) -> None:
        # An event that finds the ledger busy waits in audit_pending; the next holder chains it.
        with transaction(sessions) as s:
            record_event(
                s,
                tag=EventTag.VAULT_DOCUMENT_VIEWED,
                actor=f"account:{i % 50}",
                subject_id=i % 50,
                details={"title": f"Doc {i}"},
                now=NOW,
            )

    def finish() -> None:
        with transaction(sessions) as s:
            chain_pending(s)

    out = []
    for threads in (1, 8):
        base = _rate(threads, APPENDS, plain)
        ours = _rate(threads, APPENDS, chained, finish=finish)
        with sessions() as s:
            publish_tree_head(s, keystore=keystore, now=NOW)
            report = verify_ledger(s, keystore=keystore)
            assert report.intact, report  # the measured appends built one valid tree
        suffix = "" if threads == 1 else ".8threads"
        out.append(
            {
                "name": f"ledger.append.{kind}{suffix}",
                "value": round(ours, 1),
                "unit": "rows/s",
                "baseline": "plain INSERT, unchained table",
                "baseline_value": round(base, 1),
                "ratio": round(ours / base, 3),
                "target": ">= 0.5",
            }
        )
        print(f"  {kind} {threads} thread(s): chained {ours:.0f}/s, plain {base:.0f}/s")
    return out


def _proof_results(tmp: Path) -> list[dict]:
    engine = create_engine(f"sqlite:///{tmp / 'proofs.db'}")
    Base.metadata.create_all(engine)
    keystore = FileKeyStore.create(tmp / "master.keys")
    sessions = bind_keystore(session_factory(engine), keystore)
    rng = random.Random(6962)
    out, size = [], 0
    for target in (10**4, 10**5, 10**6):
        t = time.perf_counter()
        while size < target:
            n = min(50_000, target - size)
            with transaction(sessions) as s:
                record_events(
                    s,
                    events=[
                        NewEvent(
                            tag=EventTag.VAULT_DOCUMENT_VIEWED,
                            actor="account:1",
                            subject_id=1,
                            object_id=str(size + i),
                            details={"title": "D"},
                        )
                        for i in range(n)
                    ],
                    now=NOW,
                )
            size += n
        print(f"  built {target} events in {time.perf_counter() - t:.1f} s")
        with transaction(sessions) as s:
            head = publish_tree_head(s, keystore=keystore, now=NOW)
        seqs = [rng.randint(1, target) for _ in range(300)]
        with sessions() as s:
            head = s.merge(head)
            inclusion_proof(s, keystore=keystore, seq=seqs[0], head=head)  # warm the cache
            t = time.perf_counter()
            for seq in seqs:
                inclusion_proof(s, keystore=keystore, seq=seq, head=head)
            proof_ms = (time.perf_counter() - t) / len(seqs) * 1000
            t = time.perf_counter()
            for seq in seqs:
                s.execute(sa_select(*AuditEvent.__table__.c).where(AuditEvent.seq == seq)).one()
            read_ms = (time.perf_counter() - t) / len(seqs) * 1000
        print(f"  proof at {target}: {proof_ms:.3f} ms (one-row read {read_ms:.3f} ms)")
        out.append(
            {
                "name": f"ledger.proof.{target}",
                "value": round(proof_ms, 3),
                "unit": "ms",
                "baseline": "read one event by its number",
                "baseline_value": round(read_ms, 3),
                "ratio": round(read_ms / proof_ms, 3),
                "target": "< 5 ms at 10^6; grows with log n",
            }
        )
    engine.dispose()
    return out


def run(*, sizes: list[str] | None = None) -> list[dict]:
    results: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="amanat-ledger-bench-") as tmp_name:
        tmp = Path(tmp_name)
        results.extend(_append_results("sqlite", _engine("sqlite", tmp)))
        engine, schema = _engine("postgresql", tmp)
        try:
            results.extend(_append_results("postgresql", engine))
        finally:
            engine.dispose()
            admin = create_engine(PG_URL)
            with admin.begin() as c:
                c.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            admin.dispose()
        results.extend(_proof_results(tmp))
    return results
