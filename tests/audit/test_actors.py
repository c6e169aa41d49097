"""audit.Actor: every producer names an actor the same way."""

from __future__ import annotations

import pytest

from audit.actors import ANONYMOUS, LINK, Actor


@pytest.mark.parametrize(
    ("actor", "text"),
    [
        (Actor.account(7), "account:7"),
        (Actor.department("UNI"), "department:UNI"),
        (Actor.department("UNI", api_key="k1"), "department:UNI api-key:k1"),
        (Actor.department("UNI", account_id=7), "department:UNI account:7"),
        (Actor.organisation("BANK", api_key="k1"), "organisation:BANK api-key:k1"),
        (Actor.organisation("BANK", member_id=7), "organisation:BANK member:7"),
        (ANONYMOUS, "anonymous"),
        (LINK, "link"),
    ],
)
def test_an_actor_reads_as_the_ledger_keeps_it(actor: Actor, text: str) -> None:
    assert str(actor) == text
    assert Actor(text) == actor


@pytest.mark.parametrize(
    ("text", "account_id", "own"),
    [
        ("account:7", 7, True),
        ("account:7", 8, False),
        ("account:7", None, False),
        ("department:UNI account:7", 7, False),  # an officer is not the citizen
        ("organisation:BANK member:7", 7, False),
    ],
)
def test_only_the_account_itself_is_its_own_actor(text: str, account_id: int | None, own: bool):
    assert Actor(text).is_account(account_id) is own
