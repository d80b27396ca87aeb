"""Who the API believes: personal tokens (revoked and expired ones refused), voter tokens,
the browser session with CSRF, and cookieless programs, which get no cookies back."""

from django.conf import settings
from django.test import Client
from django.utils import timezone

from accounts import services
from accounts.models import ApiToken
from polls.models import Ballot
from tests.api.conftest import API, Program, bearer, error_of, expired, option_ids
from tests.polls.factories import PollFactory


def test_token_authenticates_as_its_owner_and_notes_its_last_use(owner, owned_poll):
    """A valid token acts as its user: it may close their poll, and its last use is noted."""
    program = bearer(owner)
    token = ApiToken.objects.get(user=owner)
    assert token.last_used_at is None
    response = program.post(f"/polls/{owned_poll.code}/close")
    assert response.status_code == 200
    assert response.json()["closed"] is True
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_only_a_hash_of_the_token_is_stored(owner):
    """The database holds a SHA-256 fingerprint and a short hint, never the token itself."""
    token, secret = services.api_token_create(user=owner, name="bot")
    stored = ApiToken.objects.filter(pk=token.pk).values().get()
    assert secret not in str(stored)
    assert len(stored["token_hash"]) == 64
    assert secret.startswith(stored["hint"])


def test_revoked_token_is_refused_with_401(owner, owned_poll):
    """A revoked token is refused with 401 and the error body, on reads and writes alike."""
    program = bearer(owner)
    token = ApiToken.objects.get(user=owner)
    assert services.api_token_revoke(user=owner, token_id=token.pk)
    for response in (
        program.get(f"/polls/{owned_poll.code}"),
        program.post(f"/polls/{owned_poll.code}/close"),
    ):
        assert response.status_code == 401
        assert error_of(response)["code"] == "invalid_token"
    owned_poll.refresh_from_db()
    assert owned_poll.closed_at is None


def test_expired_token_is_refused_with_401(owner, owned_poll):
    """A token past its expiry is refused with 401."""
    response = expired(owner).post(f"/polls/{owned_poll.code}/close")
    assert response.status_code == 401
    assert error_of(response)["code"] == "invalid_token"
    assert "Bearer" in response["WWW-Authenticate"]


def test_unknown_token_and_other_schemes_are_refused_with_401(poll):
    """A made-up token or a non-Bearer Authorization header gets 401, never anonymous access."""
    for header in ("Bearer tly_not-a-real-token", "Basic dXNlcjpwYXNz", "Bearer ", "tly_x"):
        response = Program({"Authorization": header}).get(f"/polls/{poll.code}")
        assert response.status_code == 401, header
        assert error_of(response)["code"] == "invalid_token"


def test_another_users_revoke_does_nothing(owner, user):
    """Revoking takes only the user's own tokens."""
    token, _ = services.api_token_create(user=owner, name="bot")
    assert not services.api_token_revoke(user=user, token_id=token.pk)
    token.refresh_from_db()
    assert token.revoked_at is None


def test_invalid_voter_token_is_refused_with_401(poll):
    """An X-Voter-Token that the cookie's rules would not accept is refused with 401."""
    for value in ("short", "x" * 65, "bad token with spaces!!!!!!!!!!!!!!!!!!"):
        response = Program({"X-Voter-Token": value}).post(
            f"/polls/{poll.code}/vote", {"option": option_ids(poll)["Red"]}
        )
        assert response.status_code == 401, value
        assert error_of(response)["code"] == "invalid_voter_token"
    assert not Ballot.objects.exists()


def test_session_request_without_csrf_is_refused_with_403(owner_browser, owned_poll):
    """A browser's session request that changes something needs the CSRF token, as pages do."""
    response = owner_browser.request("POST", f"/polls/{owned_poll.code}/close", {}, csrf=False)
    assert response.status_code == 403
    assert error_of(response)["code"] == "csrf_failed"
    owned_poll.refresh_from_db()
    assert owned_poll.closed_at is None
    allowed = owner_browser.post(f"/polls/{owned_poll.code}/close")
    assert allowed.status_code == 200


def test_anonymous_browser_vote_needs_csrf_too(anonymous_browser, poll):
    """A browser voting with its voter cookie needs the CSRF token: its vote is ambient."""
    body = {"option": option_ids(poll)["Red"]}
    refused = anonymous_browser.request("POST", f"/polls/{poll.code}/vote", body, csrf=False)
    assert refused.status_code == 403
    assert not Ballot.objects.exists()
    assert anonymous_browser.post(f"/polls/{poll.code}/vote", body).status_code == 201


def test_header_requests_ignore_cookies_and_need_no_csrf(owner, owned_poll, user):
    """With a token header the session cookie of another account is ignored and no CSRF
    token is needed."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)  # someone else's session cookie rides along
    _, secret = services.api_token_create(user=owner, name="bot")
    response = client.post(
        f"{API}/polls/{owned_poll.code}/close",
        data="{}",
        content_type="application/json",
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert response.status_code == 200
    response = client.get(f"{API}/polls/{owned_poll.code}", headers={"X-Voter-Token": "v" * 43})
    assert response.json()["is_owner"] is False  # the voter token, not the session


def test_programs_get_no_voter_cookie(poll, voter_api, anonymous_api):
    """Programs are told apart by headers: the API hands them no voter cookie."""
    for response in (
        voter_api.post(f"/polls/{poll.code}/vote", {"option": option_ids(poll)["Red"]}),
        anonymous_api.get(f"/polls/{poll.code}"),
        anonymous_api.post("/voter-token"),
    ):
        assert settings.VOTER_COOKIE_NAME not in response.cookies


def test_anonymous_program_reads_public_polls(anonymous_api, db):
    """With no credentials at all a program reads polls and their results."""
    poll = PollFactory()
    assert anonymous_api.get(f"/polls/{poll.code}").status_code == 200
    assert anonymous_api.get(f"/polls/{poll.code}/results").status_code == 200
    assert anonymous_api.get("/polls").json()["items"][0]["code"] == poll.code


def test_token_expiry_in_the_future_still_works(owner, owned_poll):
    """A token with an expiry ahead of it authenticates."""
    program = bearer(owner, expires_at=timezone.now() + timezone.timedelta(days=1))
    assert program.get(f"/polls/{owned_poll.code}").json()["is_owner"] is True
