"""Anonymous polls store who voted and what was chosen in rows that share nothing: checked
over every table of the database, not one model at a time."""

import uuid
from datetime import UTC

import pytest
from django.db import connection

from core.voters import Voter
from polls import selectors, services
from polls.models import Ballot, BallotChoice, IdempotentVote, Poll, VoterMark
from polls.services import VoteResult
from tests.accounts.factories import UserFactory
from tests.polls.factories import PollFactory

pytestmark = pytest.mark.django_db


def browser(number: int, *, ip: str | None = None, user_id: int | None = None) -> Voter:
    return Voter(
        token=f"anonymous-browser-{number:04d}-" + "z" * 24,
        ip=ip or f"198.51.100.{number}",
        user_id=user_id,
    )


def anonymous_poll(**settings) -> Poll:
    return PollFactory(anonymous=True, **settings)


def option_ids(poll: Poll) -> list[int]:
    return [option.pk for option in poll.options.all()]


def test_an_anonymous_vote_is_counted_and_its_ballot_names_no_voter():
    """The vote counts; its ballot has no voter key, address, user or time of day."""
    poll = anonymous_poll(protection=Poll.Protection.TOKEN_IP)
    _red, green, _blue = option_ids(poll)
    voter = browser(1)
    outcome = services.vote_cast(poll=poll, voter=voter, option_ids=[green], comment="Because")
    assert outcome.result == VoteResult.ACCEPTED
    assert outcome.your_vote == []
    assert [o.votes for o in outcome.tally.options] == [0, 1, 0]

    ballot = Ballot.objects.get(poll=poll)
    assert (ballot.voter_key, ballot.ip_key, ballot.user_id) == (None, "", None)
    assert ballot.comment == "Because"
    day = ballot.created_at.astimezone(UTC)
    assert (day.hour, day.minute, day.second, day.microsecond) == (0, 0, 0, 0)
    assert list(ballot.choices.values_list("option_id", flat=True)) == [green]

    mark = VoterMark.objects.get(poll=poll)
    assert (mark.voter_key, mark.ip_key) == (voter.key, voter.ip_key)


def test_a_second_vote_from_the_same_voter_or_address_is_refused():
    """The mark refuses the same browser again, and another browser on the same address."""
    poll = anonymous_poll(protection=Poll.Protection.TOKEN_IP)
    red, green, _ = option_ids(poll)
    services.vote_cast(poll=poll, voter=browser(1), option_ids=[red])
    again = services.vote_cast(poll=poll, voter=browser(1), option_ids=[green])
    same_address = services.vote_cast(
        poll=poll, voter=browser(2, ip="198.51.100.1"), option_ids=[green]
    )
    assert again.result == same_address.result == VoteResult.ALREADY_VOTED
    assert again.your_vote == []  # voted, and what they chose is not known
    assert same_address.your_vote is None
    assert Ballot.objects.filter(poll=poll).count() == 1
    assert selectors.poll_tally(poll=poll).total_votes == 1


def test_a_returning_voter_has_voted_without_a_choice():
    """Who voted is known (the form gives way to "You voted"); what they chose is not."""
    poll = anonymous_poll()
    services.vote_cast(poll=poll, voter=browser(1), option_ids=option_ids(poll)[:1])
    assert selectors.voter_choices(poll=poll, voter=browser(1)) == []
    assert selectors.voter_has_voted(poll=poll, voter=browser(1))
    assert selectors.voter_choices(poll=poll, voter=browser(2)) is None
    assert selectors.voter_ballot(poll=poll, voter=browser(1)) is None


def test_an_idempotent_retry_answers_the_first_outcome_and_stores_no_choice():
    """The stored record keeps the outcome, never the choice or the tally it left."""
    poll = anonymous_poll()
    red, green, _ = option_ids(poll)
    first = services.vote_cast(
        poll=poll, voter=browser(1), option_ids=[green], idempotency_key="retry-1"
    )
    record = IdempotentVote.objects.get()
    assert record.outcome == VoteResult.ACCEPTED
    assert set(record.record) == {"results_visible", "closed"}
    day = record.created_at.astimezone(UTC)
    assert (day.hour, day.minute, day.second, day.microsecond) == (0, 0, 0, 0)

    replay = services.vote_cast(
        poll=poll, voter=browser(1), option_ids=[red], idempotency_key="retry-1"
    )
    assert replay.replayed
    assert replay.result == first.result == VoteResult.ACCEPTED
    assert replay.your_vote == []
    assert replay.tally == first.tally
    assert selectors.poll_tally(poll=poll).total_votes == 1


def test_a_rotated_hash_key_keeps_the_voters_mark(settings):
    """After HASH_KEY rotates the mark still refuses the voter, and moves to the new key."""
    settings.HASH_KEY, settings.HASH_KEY_FALLBACKS = "old-key-" + "o" * 50, []
    poll = anonymous_poll(protection=Poll.Protection.TOKEN_IP)
    services.vote_cast(poll=poll, voter=browser(1), option_ids=option_ids(poll)[:1])
    settings.HASH_KEY, settings.HASH_KEY_FALLBACKS = "new-key-" + "n" * 50, ["old-key-" + "o" * 50]
    assert selectors.voter_has_voted(poll=poll, voter=browser(1))
    again = services.vote_cast(poll=poll, voter=browser(1), option_ids=option_ids(poll)[:1])
    other_browser = services.vote_cast(
        poll=poll, voter=browser(9, ip="198.51.100.1"), option_ids=option_ids(poll)[:1]
    )
    assert again.result == other_browser.result == VoteResult.ALREADY_VOTED
    mark = VoterMark.objects.get(poll=poll)
    assert (mark.voter_key, mark.ip_key) == (browser(1).key, browser(1).ip_key)


# The whole database, row by row.


def _references(table: str) -> dict[str, str]:
    """Each foreign-key column of the table, with the table it points to."""
    with connection.cursor() as cursor:
        relations = connection.introspection.get_relations(cursor, table)
    return {column: target for column, (_target_column, target) in relations.items()}


def _rows(table: str) -> tuple[list[str], list[tuple]]:
    quoted = connection.ops.quote_name(table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {quoted}")  # noqa: S608 - a table name from introspection
        columns = [column[0] for column in cursor.description]
        return columns, cursor.fetchall()


def _as_text(value) -> str:
    if isinstance(value, bytes | memoryview):
        return bytes(value).decode("utf-8", "replace")
    return "" if value is None else str(value)


@pytest.fixture
def voted_everywhere():
    """Anonymous polls under each protection, voted on by several voters, some with a
    comment, some with an idempotency key; returns what would tell a voter and a choice."""
    users = [UserFactory() for _ in range(3)]
    voters = []
    chosen_options, ballots = set(), set()
    for protection, accounts in [
        (Poll.Protection.TOKEN, False),
        (Poll.Protection.TOKEN_IP, False),
        (Poll.Protection.ACCOUNT, True),
    ]:
        poll = anonymous_poll(protection=protection, owner=users[0])
        options = option_ids(poll)
        for number in range(3):
            voter = browser(len(voters) + 1, user_id=users[number].pk if accounts else None)
            outcome = services.vote_cast(
                poll=poll,
                voter=voter,
                option_ids=[options[number]],
                comment=f"Reason number {len(voters)}" if number != 1 else "",
                idempotency_key=f"key-{len(voters)}" if number == 2 else "",
            )
            assert outcome.result == VoteResult.ACCEPTED
            voters.append(voter)
            chosen_options.add(options[number])
        ballots |= set(Ballot.objects.filter(poll=poll).values_list("pk", flat=True))
    identity_text = set()
    for voter in voters:
        identity_text |= {voter.key, voter.token, voter.ip, *voter.keys, *voter.ip_keys}
    return {
        "identity_text": identity_text,
        "user_ids": {user.pk for user in users},
        "option_ids": chosen_options,
        "ballot_ids": ballots,
        "voting_order": [voter.key for voter in voters],
    }


def test_no_row_in_any_table_holds_both_a_voter_and_a_choice(voted_everywhere):
    """Every row of every table: none names a voter (key, token, address or its hash,
    user) together with an option or a ballot that leads to options."""
    found = voted_everywhere
    user_table = connection.introspection.identifier_converter("auth_user")
    option_table = Poll._meta.get_field("options").related_model._meta.db_table
    ballot_table = Ballot._meta.db_table
    scanned = 0
    for table in connection.introspection.table_names():
        references = _references(table)
        columns, rows = _rows(table)
        for row in rows:
            scanned += 1
            cells = dict(zip(columns, row, strict=True))
            names_voter = any(
                needle in _as_text(value)
                for value in cells.values()
                for needle in found["identity_text"]
            ) or any(
                references.get(column) == user_table and value in found["user_ids"]
                for column, value in cells.items()
            )
            leads_to_choice = any(
                (references.get(column) == option_table and value in found["option_ids"])
                or (references.get(column) == ballot_table and value in found["ballot_ids"])
                or (table == ballot_table and column == "id" and value in found["ballot_ids"])
                or (column == "source_id" and value in found["ballot_ids"])
                for column, value in cells.items()
            )
            assert not (names_voter and leads_to_choice), f"{table} row {cells} links them"
    assert scanned > 0
    assert BallotChoice.objects.count() == 9
    assert VoterMark.objects.count() == 9


def test_the_marks_cannot_be_lined_up_with_the_ballots(voted_everywhere):
    """A mark has a random key and no time; a ballot only its day: nothing orders a mark
    against a ballot, nor the marks among themselves."""
    table = VoterMark._meta.db_table
    with connection.cursor() as cursor:
        described = connection.introspection.get_table_description(cursor, table)
    assert {column.name for column in described} == {"id", "poll_id", "voter_key", "ip_key"}
    marks = list(VoterMark.objects.values_list("pk", flat=True))
    assert all(isinstance(pk, uuid.UUID) and pk.version == 4 for pk in marks)

    days = set(Ballot.objects.values_list("created_at", flat=True))
    assert len(days) <= 2  # a test run across midnight sees two days
    assert all((day.hour, day.minute, day.second, day.microsecond) == (0, 0, 0, 0) for day in days)
    # Nine voters: their marks in key order match the order they voted in one time in 9!.
    in_key_order = list(VoterMark.objects.order_by("pk").values_list("voter_key", flat=True))
    assert in_key_order != voted_everywhere["voting_order"]


def _marks_in_storage_order(poll: Poll) -> list[str]:
    quoted = connection.ops.quote_name(VoterMark._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT voter_key, poll_id FROM {quoted}")  # noqa: S608 - model table
        return [key for key, poll_id in cursor.fetchall() if poll_id == poll.pk]


def test_closing_rewrites_the_marks_in_random_order_and_they_still_refuse():
    """Rows come back in the order they were written; at the close the marks are written
    again shuffled, so even that order no longer follows the votes."""
    poll = anonymous_poll()
    voters = [browser(number) for number in range(1, 11)]
    for voter in voters:
        services.vote_cast(poll=poll, voter=voter, option_ids=option_ids(poll)[:1])
    services.poll_close(poll=poll)
    stored = _marks_in_storage_order(poll)
    assert sorted(stored) == sorted(voter.key for voter in voters)
    assert stored != [voter.key for voter in voters]  # equal one time in 10!
    services.poll_reopen(poll=poll)
    again = services.vote_cast(poll=poll, voter=voters[0], option_ids=option_ids(poll)[:1])
    assert again.result == VoteResult.ALREADY_VOTED
