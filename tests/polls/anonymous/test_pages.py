"""Anonymous mode on the create and edit forms, the API, and the poll page: voters are told
the poll is anonymous and, once they voted, that they did, never what they chose."""

import re

import pytest

from polls import services
from polls.models import IdempotentVote, Poll
from polls.services.templates import template_from_poll
from tests.accounts.factories import UserFactory
from tests.api.conftest import Program, bearer
from tests.helpers import open_browser, post_form, post_htmx, post_json, text
from tests.polls.factories import PollFactory

pytestmark = pytest.mark.django_db

CREATE = {"question": "Honest feedback?", "options": ["Good", "Bad"]}


def first_option(poll: Poll) -> int:
    return poll.options.first().pk


@pytest.mark.parametrize("flag", [True, "on"])
def test_a_json_create_turns_anonymous_mode_on(voter, flag):
    """JSON true or "on" makes the poll anonymous."""
    response = post_json(voter, "/create", {**CREATE, "anonymous": flag})
    assert response.status_code == 201
    assert Poll.objects.get(code=response.json()["code"]).anonymous


def test_the_create_form_offers_the_checkbox_and_a_ticked_box_is_anonymous(voter):
    page = text(voter.get("/"))
    assert 'name="anonymous"' in page
    assert "never who chose what" in page
    response = post_form(voter, "/create", {**CREATE, "anonymous": "on"})
    assert response.status_code == 303
    assert Poll.objects.get().anonymous


def test_a_poll_is_not_anonymous_unless_asked(voter):
    assert post_json(voter, "/create", {**CREATE, "anonymous": False}).status_code == 201
    assert post_form(voter, "/create", CREATE).status_code == 303
    assert not Poll.objects.filter(anonymous=True).exists()


@pytest.mark.parametrize("flag", [True, "on"])
def test_anonymous_mode_with_vote_changes_is_refused_on_vote_changes(voter, flag):
    """Votes in an anonymous poll are final: asking for both is a 400 on vote_changes."""
    response = post_json(voter, "/create", {**CREATE, "anonymous": flag, "vote_changes": "allowed"})
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "vote_changes"
    form = post_form(voter, "/create", {**CREATE, "anonymous": "on", "vote_changes": "allowed"})
    assert form.status_code == 400
    assert "Votes in an anonymous poll are final" in text(form)
    assert not Poll.objects.exists()


def test_the_api_creates_an_anonymous_poll_and_says_so(user):
    program = bearer(user)
    refused = program.post("/polls", {**CREATE, "anonymous": True, "vote_changes": "allowed"})
    assert refused.status_code == 400
    assert refused.json()["error"]["field"] == "vote_changes"
    created = program.post("/polls", {**CREATE, "anonymous": True})
    assert created.status_code == 201
    code = created.json()["code"]
    assert program.get(f"/polls/{code}").json()["anonymous"] is True


def test_anonymous_mode_switches_before_votes_and_is_fixed_after(signed_in, user):
    """The edit form and the API switch it while there are no votes; after, 400 on it."""
    poll = PollFactory(owner=user)
    edit_url = f"/poll/{poll.code}/edit"
    assert post_json(signed_in, edit_url, {"anonymous": True}).status_code == 200
    poll.refresh_from_db()
    assert poll.anonymous
    # The edit form sends "off" ahead of its checkbox, so an unticked box switches it off.
    page = text(signed_in.get(edit_url))
    assert 'type="hidden" name="anonymous" value="off"' in page
    refused = post_json(signed_in, edit_url, {"vote_changes": "allowed"})
    assert refused.status_code == 400
    assert refused.json()["error"]["field"] == "vote_changes"
    assert post_json(signed_in, edit_url, {"anonymous": "off"}).status_code == 200
    poll.refresh_from_db()
    assert not poll.anonymous

    post_json(open_browser(), f"/poll/{poll.code}/vote", {"option": first_option(poll)})
    for flag in (True, "on"):
        locked = post_json(signed_in, edit_url, {"anonymous": flag})
        assert locked.status_code == 400
        assert locked.json()["error"]["field"] == "anonymous"
    api = bearer(user).patch(f"/polls/{poll.code}", {"anonymous": True})
    assert api.status_code == 400
    assert api.json()["error"]["field"] == "anonymous"
    poll.refresh_from_db()
    assert not poll.anonymous
    assert post_json(signed_in, edit_url, {"question": "Still fine?"}).status_code == 200
    assert 'name="anonymous"' in text(signed_in.get(edit_url))


def test_an_anonymous_poll_says_so_and_a_returning_voter_sees_you_voted_only(voter):
    poll = PollFactory(anonymous=True, options=["Pineapple", "Anchovies"])
    page = text(voter.get(poll.get_absolute_url()))
    assert "data-anonymous" in page
    option = first_option(poll)
    assert post_form(voter, f"/poll/{poll.code}/vote", {"option": option}).status_code == 303

    page = text(voter.get(poll.get_absolute_url()))
    assert "You voted." in page
    assert "You voted for" not in page
    assert not _checked(page)
    panel = post_htmx(voter, f"/poll/{poll.code}/vote", {"option": option})
    assert panel.status_code == 409
    assert "You voted." in text(panel)
    assert "You voted for" not in text(panel)


def _checked(page: str) -> bool:
    return 'name="option" value' in page and " checked" in page.split('name="option"', 1)[1][:200]


def test_json_answers_your_vote_null_and_a_second_vote_is_409(voter):
    """The first vote is 201 with your_vote null; the results are as for any poll."""
    poll = PollFactory(anonymous=True)
    option = first_option(poll)
    first = post_json(voter, f"/poll/{poll.code}/vote", {"option": option})
    assert first.status_code == 201
    body = first.json()
    assert body["your_vote"] is None
    assert body["total_votes"] == 1
    assert [o["votes"] for o in body["options"]] == [1, 0, 0]

    again = post_json(voter, f"/poll/{poll.code}/vote", {"option": option})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_voted"
    results = voter.get(f"/poll/{poll.code}/results").json()
    assert "your_vote" not in results
    assert results["total_votes"] == 1


def test_an_idempotent_replay_answers_the_first_status_without_your_vote(voter):
    poll = PollFactory(anonymous=True)
    option = first_option(poll)
    url = f"/poll/{poll.code}/vote"
    first = post_json(voter, url, {"option": option}, **{"Idempotency-Key": "once"})
    replay = post_json(voter, url, {"option": option}, **{"Idempotency-Key": "once"})
    assert first.status_code == replay.status_code == 201
    assert replay.json()["your_vote"] is None
    assert replay.json()["total_votes"] == 1
    stored = IdempotentVote.objects.get().record
    assert "your_vote" not in stored
    assert "tally" not in stored


def test_the_owner_sees_comments_without_authors_or_times_of_day(signed_in, user):
    poll = PollFactory(anonymous=True, owner=user)
    writer = UserFactory(username="writer-of-comments")
    comment = {"option": first_option(poll), "comment": "Hi there"}
    assert post_json(open_browser(writer), f"/poll/{poll.code}/vote", comment).status_code == 201
    comments = text(signed_in.get(poll.get_absolute_url())).split('id="comments"', 1)[1]
    assert "Hi there" in comments
    assert writer.username not in comments
    assert " ago</p>" not in comments


def test_a_template_saved_from_an_anonymous_poll_starts_an_anonymous_one(signed_in, user):
    poll = PollFactory(anonymous=True, owner=user)
    template = template_from_poll(poll=poll, user=user)
    page = text(signed_in.get(f"/create?template={template.pk}"))
    assert re.search(r'name="anonymous"[^>]*\schecked', page)


def test_staff_see_how_many_voted_in_the_admin_and_never_a_choice(db):
    poll = PollFactory(anonymous=True)
    post_json(open_browser(), f"/poll/{poll.code}/vote", {"option": first_option(poll)})
    staff = UserFactory(username="staff-member")
    staff.is_staff = staff.is_superuser = True
    staff.save()
    page = open_browser(staff).get("/admin/polls/votermark/")
    assert page.status_code == 200
    assert "1 voter mark" in text(page)


def test_the_api_vote_answers_your_vote_null_and_409_again(db):
    poll = PollFactory(anonymous=True)
    token = Program(headers={}).post("/voter-token").json()["voter_token"]
    program = Program(headers={"X-Voter-Token": token})
    first = program.post(f"/polls/{poll.code}/vote", {"option": first_option(poll)})
    assert first.status_code == 201
    assert first.json()["your_vote"] is None
    again = program.post(f"/polls/{poll.code}/vote", {"option": first_option(poll)})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_voted"


def test_the_service_refuses_to_switch_a_poll_with_votes(db):
    """Even past the form (a vote arriving mid-edit), the switch is refused."""
    poll = PollFactory()
    post_json(open_browser(), f"/poll/{poll.code}/vote", {"option": first_option(poll)})
    with pytest.raises(services.AnonymityLocked):
        services.poll_update(
            poll=poll,
            question=poll.question,
            description="",
            allow_comments=True,
            listed=True,
            results_visibility=poll.results_visibility,
            closes_at=None,
            timezone_name="UTC",
            anonymous=True,
        )
    poll.refresh_from_db()
    assert not poll.anonymous
