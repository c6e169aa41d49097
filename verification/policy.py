"""One strict offline validation policy, for what Amanat releases and what it accepts.

``signing/pades.py`` validates every freshly signed file with this policy before it leaves the
service, and ``verification/pdf.py`` judges every uploaded file with it: our trust anchors only,
nothing fetched from the network, revocation hard-fail. Because both take their contexts from here,
"what we release" and "what we accept" cannot drift apart.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TypeVar

from asn1crypto import x509 as asn1_x509
from pyhanko_certvalidator import ValidationContext

from verification import hexstrings

T = TypeVar("T")

# Whatever reads PDFs under this policy (our verdicts, the pre-release check, signing) reads hex
# strings in blocks; the reader returns exactly what pyHanko's own does (verification/hexstrings).
hexstrings.install()


def run_async(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run pyHanko's async API from synchronous code, even under a running event loop.

    pyHanko's sync wrappers call ``asyncio.run``, which fails when the thread already runs a loop
    (an async host, or a test harness); then the work runs on a short-lived thread of its own.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


def strict_settings(
    trust_roots: Sequence[bytes], *, at: dt.datetime | None = None
) -> dict[str, Any]:
    """pyHanko validation settings: these roots (DER) only, offline, revocation hard-fail."""
    return {
        "trust_roots": [asn1_x509.Certificate.load(r) for r in trust_roots],
        "allow_fetching": False,
        "revocation_mode": "hard-fail",
        "moment": at,
    }


def strict_context(
    trust_roots: Sequence[bytes],
    *,
    at: dt.datetime | None = None,
    crls: Sequence[bytes] = (),
    ocsps: Sequence[bytes] = (),
    other_certs: Sequence[bytes] = (),
) -> ValidationContext:
    """A strict offline context with the revocation data and certificates given (DER)."""
    return ValidationContext(
        **strict_settings(trust_roots, at=at),
        crls=list(crls),
        ocsps=list(ocsps),
        other_certs=[asn1_x509.Certificate.load(c) for c in other_certs],
    )


def file_context(
    reader: Any, trust_roots: Sequence[bytes], *, at: dt.datetime | None = None
) -> Any:
    """A maker of strict contexts from what the file itself carries (its DSS), and whether it
    carries validation data at all: a fresh context per signature, since pyHanko caches paths."""
    from pyhanko.sign.validation.dss import DocumentSecurityStore  # noqa: PLC0415 - pyHanko only when a PDF is checked (one-shot commands stay quick)
    from pyhanko.sign.validation.errors import NoDSSFoundError  # noqa: PLC0415 - pyHanko only when a PDF is checked (one-shot commands stay quick)

    try:
        dss = DocumentSecurityStore.read_dss(reader)
    except NoDSSFoundError:
        dss = None
    settings = strict_settings(trust_roots, at=at)

    def context() -> ValidationContext:
        if dss is not None:
            return dss.as_validation_context(settings)
        return ValidationContext(**settings, crls=[], ocsps=[])

    return context, dss is not None and bool(dss.ocsps or dss.crls)
