"""Owner actions: edit, close, reopen, delete and comment removal, for owners only."""

import json
import re
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from django.utils import timezone

from chat.ask import retrieval
from chat.models import Snippet
from polls import live, services
from polls.models import TALLY_SHARDS, Ballot, BallotChoice, Option, Poll, TallyShard
from tests.accounts.factories import PASSWORD, UserFactory
from tests.helpers import open_browser, post_form, post_htmx, post_json, text
from tests.polls.factories import PollFactory

pytestmark = pytest.mark.django_db

TRANSPORTS = ["htmx", "form", "json"]


def send(transport, client, url, data=None, **headers):
    """POST data the way the given kind of client does."""
    data = data or {}
    if transport == "json":
        return post_json(client, url, data, **headers)
    if transport == "htmx":
        return post_htmx(client, url, data, **headers)
    return post_form(client, url, data, **headers)


def vote(poll, option_index=0, comment="") -> int:
    """Cast one vote from a new browser; return its ballot id."""
    option = list(poll.options.all())[option_index]
    response = post_json(
        open_browser(), f"/poll/{poll.code}/vote", {"option": option.id, "comment": comment}
    )
    assert response.status_code == 201
    return Ballot.objects.filter(poll=poll).order_by("-pk").values_list("pk", flat=True).first()


def edit_data(poll, **changes) -> dict:
    """The edit form as a browser would post it unchanged, with the given changes."""
    data = {
        "question": poll.question,
        "description": poll.description,
        "options": [option.text for option in poll.options.all()],
        "results_visibility": poll.results_visibility,
        "comments": "allowed" if poll.allow_comments else "off",
        "visibility": "listed" if poll.listed else "unlisted",
        "closes_at": "",
        "timezone": poll.timezone,
    }
    data.update(changes)
    return data


@pytest.fixture
def owned(user):
    """A poll owned by `user`."""
    return PollFactory(question="Lunch spot?", options=["Pizza", "Sushi", "Tacos"], owner=user)


@pytest.fixture
def anonymous_poll(voter):
    """A poll created by the `voter` browser without an account."""
    response = post_json(voter, "/create", {"question": "Tabs or spaces?", "options": ["T", "S"]})
    return Poll.objects.get(code=response.json()["code"])


# The owner panel


def test_owner_sees_the_panel_on_the_poll_and_share_pages(signed_in, owned):
    """The owner's poll and share pages show Edit, Close and Delete."""
    for url in (f"/poll/{owned.code}", f"/poll/{owned.code}/share"):
        page = text(signed_in.get(url))
        assert 'id="owner-panel"' in page
        assert f'href="/poll/{owned.code}/edit"' in page
        assert f'action="/poll/{owned.code}/close"' in page
        assert f'href="/poll/{owned.code}/delete"' in page
        assert "it will move to your account" not in page


def test_others_see_no_owner_panel_or_remove_buttons(voter, owned):
    """Anyone but the owner sees neither the panel nor the comment Remove buttons."""
    vote(owned, comment="Pizza, obviously")
    for url in (f"/poll/{owned.code}", f"/poll/{owned.code}/share"):
        page = text(voter.get(url))
        assert 'id="owner-panel"' not in page
        assert "/comments/" not in page
    assert "Pizza, obviously" in text(voter.get(f"/poll/{owned.code}"))


def test_anonymous_creator_sees_the_panel_with_a_sign_up_hint(voter, anonymous_poll):
    """The browser that created a poll anonymously manages it and is invited to sign up."""
    page = text(voter.get(f"/poll/{anonymous_poll.code}"))
    assert 'id="owner-panel"' in page
    assert "Sign up</a> to keep this poll — it will move to your account." in page
    assert f'href="/accounts/signup/?next=/poll/{anonymous_poll.code}"' in page


def test_owner_sees_remove_buttons_beside_comments(signed_in, owned):
    """The owner's poll page has a Remove form for each comment."""
    ballot_id = vote(owned, comment="Sushi please")
    page = text(signed_in.get(f"/poll/{owned.code}"))
    assert f'action="/poll/{owned.code}/comments/{ballot_id}/remove"' in page
    assert f'id="comment-{ballot_id}"' in page


# Who may act


ACTIONS = [
    ("get", "edit"),
    ("post", "edit"),
    ("post", "close"),
    ("post", "reopen"),
    ("get", "delete"),
    ("post", "delete"),
    ("post", "comment"),
]


def act(client, method, action, poll, ballot_id, transport="form"):
    if action == "comment":
        url = f"/poll/{poll.code}/comments/{ballot_id}/remove"
    else:
        url = f"/poll/{poll.code}/{action}"
    if method == "get":
        return client.get(url)
    data = edit_data(poll, question="Hijacked?") if action == "edit" and poll.pk else {}
    return send(transport, client, url, data)


def snapshot(poll) -> tuple:
    poll = Poll.objects.filter(pk=poll.pk).values_list("question", "closed_at").first()
    return poll, list(Ballot.objects.values_list("comment_removed", flat=True))


@pytest.fixture
def stranger():
    return open_browser()


@pytest.fixture
def other_account():
    client = open_browser()
    client.force_login(UserFactory())
    client.get("/")
    client.csrf_token = client.cookies["csrftoken"].value
    return client


@pytest.mark.parametrize(("method", "action"), ACTIONS)
@pytest.mark.parametrize("who", ["stranger", "other_account"])
def test_only_the_owner_may_act_on_an_owned_poll(who, method, action, owned, request):
    """A stranger's browser and another signed-in user get 403 and change nothing."""
    client = request.getfixturevalue(who)
    ballot_id = vote(owned, comment="Keep me")
    before = snapshot(owned)
    response = act(client, method, action, owned, ballot_id)
    assert response.status_code == 403
    assert "owner can do that" in text(response)
    assert snapshot(owned) == before


@pytest.mark.parametrize(("method", "action"), ACTIONS)
def test_creating_browser_loses_control_once_the_poll_is_claimed(
    method, action, voter, anonymous_poll, user
):
    """After sign-in claims a poll, the creating browser logged out gets 403 like anyone."""
    ballot_id = vote(anonymous_poll, comment="Tabs forever")
    login = post_form(voter, "/accounts/login/", {"username": user.username, "password": PASSWORD})
    assert login.status_code == 303
    anonymous_poll.refresh_from_db()
    assert anonymous_poll.owner == user
    voter.csrf_token = voter.cookies["csrftoken"].value  # logging in rotates the token
    assert post_form(voter, "/accounts/logout/", {}).status_code == 302
    voter.get("/")
    voter.csrf_token = voter.cookies["csrftoken"].value
    before = snapshot(anonymous_poll)
    assert act(voter, method, action, anonymous_poll, ballot_id).status_code == 403
    assert snapshot(anonymous_poll) == before
    assert 'id="owner-panel"' not in text(voter.get(f"/poll/{anonymous_poll.code}"))


def test_claimed_poll_stays_manageable_while_signed_in(voter, anonymous_poll, user):
    """Once claimed, the poll is managed from the account in the same browser."""
    post_form(voter, "/accounts/login/", {"username": user.username, "password": PASSWORD})
    voter.csrf_token = voter.cookies["csrftoken"].value
    assert 'id="owner-panel"' in text(voter.get(f"/poll/{anonymous_poll.code}"))
    assert post_form(voter, f"/poll/{anonymous_poll.code}/close", {}).status_code == 303


def test_refusals_speak_json_and_htmx(stranger, owned):
    """A refused owner action answers JSON to JSON clients and a notice fragment to htmx."""
    as_json = post_json(stranger, f"/poll/{owned.code}/close", {})
    assert as_json.status_code == 403
    assert as_json.json()["error"]["code"] == "forbidden"
    as_htmx = post_htmx(stranger, f"/poll/{owned.code}/close", {})
    assert as_htmx.status_code == 403
    assert as_htmx["HX-Retarget"] == "#notice"
    assert "<html" not in text(as_htmx)


@pytest.mark.parametrize(("method", "action"), ACTIONS)
def test_owner_routes_of_an_unknown_poll_are_404(method, action, signed_in):
    """Every owner route answers 404 for a poll code that does not exist."""
    ghost = Poll(code="nosuchpoll")
    assert act(signed_in, method, action, ghost, 1).status_code == 404


@pytest.mark.parametrize("action", ["edit", "close", "reopen", "delete", "comment"])
def test_owner_actions_refuse_posts_without_csrf_token(action, client, user, owned):
    """Every state-changing owner route refuses a POST without the CSRF token with 403."""
    ballot_id = vote(owned, comment="Still here")
    client.force_login(user)
    client.get(f"/poll/{owned.code}")
    before = snapshot(owned)
    url = (
        f"/poll/{owned.code}/comments/{ballot_id}/remove"
        if action == "comment"
        else f"/poll/{owned.code}/{action}"
    )
    body = edit_data(owned, question="Forged?") if action == "edit" else {}
    assert client.post(url, body).status_code == 403
    json_post = client.post(url, json.dumps(body), content_type="application/json")
    assert json_post.status_code == 403
    assert json_post.json()["error"]["code"] == "csrf_failed"
    assert client.post(url, body, headers={"HX-Request": "true"}).status_code == 403
    assert snapshot(owned) == before
    assert Poll.objects.filter(pk=owned.pk).exists()


# Editing


def test_edit_page_shows_the_current_poll(signed_in, owned):
    """The edit page is filled with the poll's question, options and settings."""
    page = text(signed_in.get(f"/poll/{owned.code}/edit"))
    assert 'value="Lunch spot?"' in page
    for option in ("Pizza", "Sushi", "Tacos"):
        assert f'value="{option}"' in page
    assert "Options are locked" not in page
    assert re.search(r'value="listed"[^>]*\schecked', page)


def test_edit_renames_adds_and_removes_options_while_there_are_no_votes(signed_in, owned):
    """Without votes the owner may rename, add and remove options; shards follow, and a
    renamed option is a new option (a new id) while an unchanged one keeps its id."""
    pizza = owned.options.get(text="Pizza")
    sushi = owned.options.get(text="Sushi")
    data = edit_data(owned, options=["Pizza place", "Sushi", "Ramen", "Curry"])
    response = post_form(signed_in, f"/poll/{owned.code}/edit", data)
    assert response.status_code == 303
    assert response["Location"] == f"/poll/{owned.code}"
    options = list(owned.options.all())
    assert [option.text for option in options] == ["Pizza place", "Sushi", "Ramen", "Curry"]
    assert options[0].pk != pizza.pk
    assert options[1].pk == sushi.pk
    shards = TallyShard.objects.filter(poll=owned)
    assert shards.filter(option__isnull=True).count() == TALLY_SHARDS
    for option in options:
        assert shards.filter(option=option).count() == TALLY_SHARDS
    assert shards.count() == TALLY_SHARDS * 5
    shorter = post_form(signed_in, f"/poll/{owned.code}/edit", edit_data(owned, options=["A", "B"]))
    assert shorter.status_code == 303
    assert [option.text for option in owned.options.all()] == ["A", "B"]
    assert TallyShard.objects.filter(poll=owned).count() == TALLY_SHARDS * 3
    owned.refresh_from_db()
    assert owned.question_edited is False


def test_edited_options_take_votes_and_show_in_results(signed_in, owned):
    """Options added by an edit can be voted for and count in the results."""
    post_form(signed_in, f"/poll/{owned.code}/edit", edit_data(owned, options=["X", "Y", "Z", "W"]))
    vote(owned, 3)
    body = signed_in.get(f"/poll/{owned.code}/results").json()
    assert [(o["text"], o["votes"]) for o in body["options"]] == [
        ("X", 0),
        ("Y", 0),
        ("Z", 0),
        ("W", 1),
    ]


def test_edit_changes_settings_and_description(signed_in, owned):
    """An edit saves description, comments, listing and results visibility."""
    data = edit_data(
        owned,
        description="Friday team lunch",
        comments="off",
        visibility="unlisted",
        results_visibility="after_close",
    )
    assert post_form(signed_in, f"/poll/{owned.code}/edit", data).status_code == 303
    owned.refresh_from_db()
    assert owned.description == "Friday team lunch"
    assert owned.allow_comments is False
    assert owned.listed is False
    assert owned.results_visibility == Poll.ResultsVisibility.AFTER_CLOSE


def test_edit_takes_the_close_time_in_the_polls_time_zone(signed_in, user):
    """The close time is entered and shown as wall-clock time in the poll's own zone."""
    poll = PollFactory(owner=user, timezone_name="Europe/Paris")
    data = edit_data(poll, closes_at="2031-06-01T12:00")
    assert post_form(signed_in, f"/poll/{poll.code}/edit", data).status_code == 303
    poll.refresh_from_db()
    assert poll.closes_at == datetime(2031, 6, 1, 10, 0, tzinfo=UTC)
    page = text(signed_in.get(f"/poll/{poll.code}/edit"))
    assert 'value="2031-06-01T12:00"' in page
    assert "Europe/Paris time" in page
    cleared = post_form(signed_in, f"/poll/{poll.code}/edit", edit_data(poll, closes_at=""))
    assert cleared.status_code == 303
    poll.refresh_from_db()
    assert poll.closes_at is None


def test_edit_keeps_a_passed_close_time_unchanged(signed_in, user):
    """A poll closed by its close time can still be edited without moving that time."""
    poll = PollFactory(owner=user)
    passed = timezone.now().replace(second=0, microsecond=0) - timedelta(hours=1)
    Poll.objects.filter(pk=poll.pk).update(closes_at=passed)
    poll.refresh_from_db()
    page = text(signed_in.get(f"/poll/{poll.code}/edit"))
    shown = re.search(r'name="closes_at" id="id_closes_at" value="([^"]*)"', page).group(1)
    data = edit_data(poll, description="Results are in", closes_at=shown)
    assert post_form(signed_in, f"/poll/{poll.code}/edit", data).status_code == 303
    poll.refresh_from_db()
    assert poll.closes_at == passed
    assert poll.description == "Results are in"
    moved = post_form(
        signed_in, f"/poll/{poll.code}/edit", edit_data(poll, closes_at="2001-01-01T00:00")
    )
    assert moved.status_code == 400
    assert "Pick a close time in the future." in text(moved)


def test_options_lock_once_votes_arrive(signed_in, owned):
    """With votes the edit page shows options read-only and says they are locked."""
    vote(owned)
    page = text(signed_in.get(f"/poll/{owned.code}/edit"))
    assert "Options are locked once votes arrive." in page
    assert 'name="options"' not in page


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_changing_locked_options_is_refused_with_400_naming_options(transport, signed_in, owned):
    """With votes, an edit that changes the options answers 400 naming `options`, saving nothing."""
    vote(owned)
    data = edit_data(owned, question="Changed?", options=["Pizza", "Sushi", "Burgers"])
    response = send(transport, signed_in, f"/poll/{owned.code}/edit", data)
    assert response.status_code == 400
    if transport == "json":
        assert response.json()["error"] == {
            "code": "options_locked",
            "message": "Options are locked once votes arrive.",
            "field": "options",
        }
    else:
        page = text(response)
        assert 'id="options-error"' in page
        assert 'aria-describedby="options-error"' in page
        assert "Options are locked once votes arrive." in page
    owned.refresh_from_db()
    assert owned.question == "Lunch spot?"
    assert [option.text for option in owned.options.all()] == ["Pizza", "Sushi", "Tacos"]


def test_locked_form_without_options_still_saves(signed_in, owned):
    """The locked edit form, which sends no options, saves the other fields."""
    vote(owned)
    data = edit_data(owned, description="Now with details")
    del data["options"]
    assert post_form(signed_in, f"/poll/{owned.code}/edit", data).status_code == 303
    owned.refresh_from_db()
    assert owned.description == "Now with details"


def test_a_vote_arriving_during_an_edit_locks_the_options(signed_in, owned, monkeypatch):
    """If the first vote lands between the form check and the save, options stay unchanged."""
    from polls import selectors

    ids = [option.id for option in owned.options.all()]
    monkeypatch.setattr(selectors, "poll_has_votes", lambda poll: False)
    vote(owned)
    data = edit_data(owned, options=["Only", "Two"])
    response = post_json(signed_in, f"/poll/{owned.code}/edit", data)
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "options"
    assert [option.id for option in owned.options.all()] == ids


def test_corrected_question_after_votes_shows_edited(signed_in, voter, owned):
    """With votes the question can still be corrected, and the poll page then says edited."""
    vote(owned)
    assert "(edited)" not in text(voter.get(f"/poll/{owned.code}"))
    data = edit_data(owned, question="Lunch spot on Friday?")
    assert post_form(signed_in, f"/poll/{owned.code}/edit", data).status_code == 303
    owned.refresh_from_db()
    assert owned.question == "Lunch spot on Friday?"
    assert owned.question_edited is True
    page = text(voter.get(f"/poll/{owned.code}"))
    assert "Lunch spot on Friday?" in page
    assert "(edited)" in page


def test_saving_an_unchanged_question_does_not_mark_it_edited(signed_in, owned):
    """An edit that leaves the question as it was does not mark it edited."""
    vote(owned)
    post_form(signed_in, f"/poll/{owned.code}/edit", edit_data(owned, description="More"))
    owned.refresh_from_db()
    assert owned.question_edited is False


def test_successful_edit_shows_a_message_on_the_poll_page(signed_in, owned):
    """After an edit the poll page shows a dismissible "saved" banner once."""
    response = post_form(signed_in, f"/poll/{owned.code}/edit", edit_data(owned))
    page = text(signed_in.get(response["Location"]))
    assert "Your changes are saved." in page
    assert 'aria-label="Dismiss"' in page
    assert "Your changes are saved." not in text(signed_in.get(response["Location"]))


def test_htmx_edit_redirects_the_browser_and_json_edit_returns_the_poll(signed_in, owned):
    """An htmx edit answers HX-Redirect to the poll; a JSON edit answers the poll document."""
    response = post_htmx(signed_in, f"/poll/{owned.code}/edit", edit_data(owned))
    assert response["HX-Redirect"] == f"/poll/{owned.code}"
    as_json = post_json(signed_in, f"/poll/{owned.code}/edit", {"description": "Only this"})
    assert as_json.status_code == 200
    body = as_json.json()
    assert body["description"] == "Only this"
    assert body["question"] == "Lunch spot?"
    assert [option["text"] for option in body["options"]] == ["Pizza", "Sushi", "Tacos"]


INVALID_EDITS = [
    ({"question": ""}, "question"),
    ({"question": "q" * 501}, "question"),
    ({"options": ["Only one"]}, "options"),
    ({"options": [f"Option {n}" for n in range(21)]}, "options"),
    ({"options": ["Red", " red "]}, "options"),
    ({"options": ["Red", "RED"]}, "options"),
    ({"options": ["Red", "x" * 201]}, "options"),
    ({"options": ["Red", "Blue\x00"]}, "options"),
    ({"description": "d" * 2001}, "description"),
    ({"closes_at": "not a time"}, "closes_at"),
    ({"closes_at": "2001-01-01T10:00"}, "closes_at"),
    ({"timezone": "Mars/Olympus"}, "timezone"),
    ({"results_visibility": "sometimes"}, "results_visibility"),
]


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize(("changes", "field"), INVALID_EDITS)
def test_invalid_edit_is_refused_with_400_naming_the_field(
    changes, field, transport, signed_in, owned
):
    """An edit breaking the create form's rules answers 400 with the error tied to the field."""
    response = send(transport, signed_in, f"/poll/{owned.code}/edit", edit_data(owned, **changes))
    assert response.status_code == 400
    if transport == "json":
        assert response.json()["error"]["field"] == field
    else:
        page = text(response)
        assert (transport == "htmx") == ("<html" not in page)
        if field in ("question", "description", "options", "closes_at"):
            assert f'id="{field}-error"' in page
            assert f'aria-describedby="{field}-error"' in page
    owned.refresh_from_db()
    assert owned.question == "Lunch spot?"
    assert [option.text for option in owned.options.all()] == ["Pizza", "Sushi", "Tacos"]


@pytest.mark.parametrize(
    "raw",
    ["{", "[]", '"text"', '{"options": {"a": 1}}', '{"question": ["a", "b"]}', "\ud800"],
)
def test_malformed_json_edit_is_refused_with_400(raw, signed_in, owned):
    """A JSON edit with a broken or ill-typed body answers 400, never 500."""
    response = signed_in.post(
        f"/poll/{owned.code}/edit",
        raw.encode("utf-8", "surrogatepass"),
        content_type="application/json",
        headers={"X-CSRFToken": signed_in.csrf_token},
    )
    assert response.status_code == 400
    assert "error" in response.json()


def test_add_option_without_javascript_posts_back_one_more_field(signed_in, owned):
    """Without JavaScript, "Add option" on the edit form returns it with one more empty input."""
    data = edit_data(owned, add_option="1")
    response = post_form(signed_in, f"/poll/{owned.code}/edit", data)
    assert response.status_code == 200
    assert text(response).count('name="options"') == 4
    owned.refresh_from_db()
    assert owned.options.count() == 3


def test_edit_announces_the_change_after_commit(
    signed_in, owned, monkeypatch, django_capture_on_commit_callbacks
):
    """A saved edit queues the poll's embedding and pushes the tally to open pages."""
    from chat import tasks as chat_tasks

    embedded, announced = [], []
    monkeypatch.setattr(chat_tasks, "queue_poll_embedding", embedded.append)
    monkeypatch.setattr(live, "announce_tally_soon", announced.append)
    with django_capture_on_commit_callbacks(execute=True):
        post_form(signed_in, f"/poll/{owned.code}/edit", edit_data(owned, options=["A", "B"]))
    assert embedded == [owned.pk]
    assert announced == [owned.pk]


# Closing and reopening


def test_form_close_and_reopen_redirect_back_with_a_message(signed_in, owned):
    """Without JavaScript, close and reopen answer 303 back to the page they came from."""
    share = f"/poll/{owned.code}/share"
    closed = post_form(signed_in, f"/poll/{owned.code}/close", {"next": share})
    assert closed.status_code == 303
    assert closed["Location"] == share
    owned.refresh_from_db()
    assert owned.is_closed()
    page = text(signed_in.get(f"/poll/{owned.code}"))
    assert ">Closed</span>" in page
    assert f'action="/poll/{owned.code}/reopen"' in page
    assert f'action="/poll/{owned.code}/vote"' not in page
    reopened = post_form(signed_in, f"/poll/{owned.code}/reopen", {"next": "https://evil.example"})
    assert reopened["Location"] == f"/poll/{owned.code}"
    owned.refresh_from_db()
    assert not owned.is_closed()
    page = text(signed_in.get(reopened["Location"]))
    assert "The poll is open for votes again." in page
    assert f'action="/poll/{owned.code}/vote"' in page


def test_htmx_close_updates_the_panel_status_and_vote_panel_in_place(signed_in, owned):
    """An htmx close answers the owner panel plus out-of-band status and a closed vote panel."""
    response = post_htmx(signed_in, f"/poll/{owned.code}/close", {})
    assert response.status_code == 200
    page = text(response)
    assert "<html" not in page
    assert page.lstrip().startswith('<section id="owner-panel"')
    assert f'action="/poll/{owned.code}/reopen"' in page
    assert "The poll is closed; these are its final results." in page
    assert re.search(r'<div id="poll-status"[^>]*hx-swap-oob="true"', page)
    assert re.search(r'<div id="vote-panel"[^>]*hx-swap-oob="true"', page)
    assert ">Closed</span>" in page
    assert f'action="/poll/{owned.code}/vote"' not in page
    assert "final results" in page
    share = f"/poll/{owned.code}/share"
    reopened = text(post_htmx(signed_in, f"/poll/{owned.code}/reopen", {"next": share}))
    assert f'name="next" value="{share}"' in reopened
    assert f'action="/poll/{owned.code}/vote"' in reopened
    assert f'action="/poll/{owned.code}/close"' in reopened


def test_json_close_and_reopen_answer_the_results(signed_in, owned):
    """JSON close and reopen answer the results document with the new state."""
    closed = post_json(signed_in, f"/poll/{owned.code}/close", {})
    assert closed.status_code == 200
    assert closed.json()["closed"] is True
    assert post_json(signed_in, f"/poll/{owned.code}/close", {}).json()["closed"] is True
    reopened = post_json(signed_in, f"/poll/{owned.code}/reopen", {})
    assert reopened.json()["closed"] is False


def test_closing_refuses_further_votes(signed_in, owned):
    """Once the owner closes the poll, votes get 409."""
    post_form(signed_in, f"/poll/{owned.code}/close", {})
    option = owned.options.first()
    response = post_json(open_browser(), f"/poll/{owned.code}/vote", {"option": option.id})
    assert response.status_code == 409


def test_close_and_reopen_need_a_post(signed_in, owned):
    """Close and reopen refuse GET with 405."""
    assert signed_in.get(f"/poll/{owned.code}/close").status_code == 405
    assert signed_in.get(f"/poll/{owned.code}/reopen").status_code == 405


# Deleting


def test_delete_page_asks_for_confirmation_and_deletes_nothing(signed_in, owned):
    """GET delete shows a confirmation naming the question and the votes lost, and keeps it."""
    vote(owned)
    vote(owned, 1)
    page = text(signed_in.get(f"/poll/{owned.code}/delete"))
    assert "Delete “Lunch spot?”?" in page
    assert "This removes 2 votes and cannot be undone." in page
    assert f'<form method="post" action="/poll/{owned.code}/delete"' in page
    assert Poll.objects.filter(pk=owned.pk).exists()


def test_delete_removes_the_poll_and_its_votes_and_goes_to_my_polls(signed_in, owned):
    """POST delete removes the poll with its votes and tallies, then shows /my/ with a message."""
    vote(owned, comment="Bye")
    response = post_form(signed_in, f"/poll/{owned.code}/delete", {})
    assert response.status_code == 303
    assert response["Location"] == "/my/"
    assert not Poll.objects.filter(pk=owned.pk).exists()
    assert not Ballot.objects.exists()
    assert not BallotChoice.objects.exists()
    assert not TallyShard.objects.filter(poll_id=owned.pk).exists()
    assert not Option.objects.filter(poll_id=owned.pk).exists()
    page = text(signed_in.get("/my/"))
    assert "Deleted “Lunch spot?”." in page
    assert signed_in.get(f"/poll/{owned.code}").status_code == 404


def test_anonymous_creator_delete_goes_home(voter, anonymous_poll):
    """A browser deleting the poll it created anonymously lands on the home page."""
    response = post_form(voter, f"/poll/{anonymous_poll.code}/delete", {})
    assert response["Location"] == "/"
    assert not Poll.objects.filter(pk=anonymous_poll.pk).exists()


def test_htmx_and_json_delete(signed_in, user):
    """An htmx delete answers HX-Redirect; a JSON delete answers 204."""
    first, second = PollFactory(owner=user), PollFactory(owner=user)
    assert post_htmx(signed_in, f"/poll/{first.code}/delete", {})["HX-Redirect"] == "/my/"
    as_json = post_json(signed_in, f"/poll/{second.code}/delete", {})
    assert as_json.status_code == 204
    assert not Poll.objects.exists()


# Removing comments


def comment_snippets(poll) -> None:
    """Store a snippet for the poll and each comment, as the embedding task would."""
    vector = np.full(384, 1 / 384**0.5, dtype=np.float32)
    rows = [(Snippet.Kind.POLL, poll.pk, poll.question)]
    rows += [
        (Snippet.Kind.COMMENT, ballot.pk, ballot.comment)
        for ballot in Ballot.objects.filter(poll=poll).exclude(comment="")
    ]
    Snippet.objects.bulk_create(
        Snippet(
            poll=poll,
            kind=kind,
            source_id=source_id,
            text=snippet_text,
            text_hash="x",
            model_name="test",
            vector=vector.tobytes(),
        )
        for kind, source_id, snippet_text in rows
    )


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_removed_comment_vanishes_from_the_page(transport, signed_in, owned):
    """Removing a comment hides it from the poll page, whatever the transport."""
    ballot_id = vote(owned, comment="Rude remark")
    kept = vote(owned, 1, comment="Nice remark")
    response = send(transport, signed_in, f"/poll/{owned.code}/comments/{ballot_id}/remove")
    if transport == "form":
        assert response.status_code == 303
        assert response["Location"] == f"/poll/{owned.code}#comments"
    elif transport == "htmx":
        assert response.status_code == 200
        assert response.content == b""
    else:
        assert response.json() == {"removed": True, "ballot_id": ballot_id}
    assert Ballot.objects.get(pk=ballot_id).comment_removed is True
    page = text(open_browser().get(f"/poll/{owned.code}"))
    assert "Rude remark" not in page
    assert "Nice remark" in page
    assert Ballot.objects.get(pk=kept).comment_removed is False


def test_htmx_remove_button_deletes_its_list_item(signed_in, owned):
    """The Remove button targets its own comment and swaps it away."""
    ballot_id = vote(owned, comment="Bye")
    page = text(signed_in.get(f"/poll/{owned.code}"))
    form = re.search(rf'<form[^>]*comments/{ballot_id}/remove"[^>]*>', page).group(0)
    assert f'hx-target="#comment-{ballot_id}"' in form
    assert 'hx-swap="delete"' in form


def test_removed_comment_leaves_the_ask_snippets(
    signed_in, owned, monkeypatch, django_capture_on_commit_callbacks
):
    """A removed comment's snippet is dropped, so "ask this poll" can no longer quote it."""
    from chat import tasks as chat_tasks

    queued = []

    def run_now(task, *args, countdown=0):  # whether or not a Celery worker is running
        queued.append((task, args))
        task.apply(args=args, throw=True)

    monkeypatch.setattr(chat_tasks, "enqueue", run_now)
    ballot_id = vote(owned, comment="Quote me not")
    kept = vote(owned, 1, comment="Quote me")
    comment_snippets(owned)
    with django_capture_on_commit_callbacks(execute=True):
        post_form(signed_in, f"/poll/{owned.code}/comments/{ballot_id}/remove", {})
    assert (chat_tasks.embed_comment, (ballot_id,)) in queued
    comments = Snippet.objects.filter(kind=Snippet.Kind.COMMENT)
    assert list(comments.values_list("source_id", flat=True)) == [kept]
    candidates = retrieval.snippet_candidates(poll_id=owned.pk)
    quoted = [c.source_id for c in candidates if c.kind == Snippet.Kind.COMMENT]
    assert ballot_id not in quoted
    assert kept in quoted


def test_removing_a_comment_of_another_poll_is_404(signed_in, owned):
    """A ballot id from another poll, or none at all, answers 404 and changes nothing."""
    other = PollFactory()
    foreign = vote(other, comment="Not yours")
    for ballot_id in (foreign, 10**6, 10**30):
        url = f"/poll/{owned.code}/comments/{ballot_id}/remove"
        assert post_form(signed_in, url, {}).status_code == 404
    assert Ballot.objects.get(pk=foreign).comment_removed is False


def test_removing_a_comment_twice_is_harmless(signed_in, owned):
    """Removing an already removed comment answers as before and changes nothing else."""
    ballot_id = vote(owned, comment="Twice")
    url = f"/poll/{owned.code}/comments/{ballot_id}/remove"
    assert post_json(signed_in, url, {}).status_code == 200
    assert post_json(signed_in, url, {}).status_code == 200
    assert Ballot.objects.get(pk=ballot_id).comment_removed is True


# Services


def test_poll_claim_for_browser_takes_only_unowned_polls_of_that_browser(user):
    """The claim service moves unowned polls with this browser's creator key, and counts them."""
    token = "browser-token-" + "a" * 30
    mine = PollFactory(creator_token=token)
    owned_elsewhere = PollFactory(creator_token=token, owner=UserFactory())
    someone_elses = PollFactory(creator_token="browser-token-" + "b" * 30)
    assert services.poll_claim_for_browser(user=user, token=token) == 1
    assert services.poll_claim_for_browser(user=user, token=token) == 0
    assert services.poll_claim_for_browser(user=user, token="") == 0
    mine.refresh_from_db()
    owned_elsewhere.refresh_from_db()
    someone_elses.refresh_from_db()
    assert mine.owner == user
    assert owned_elsewhere.owner != user
    assert someone_elses.owner is None
