"""Accounts: sign-up, log in and out, passwords, claiming a browser's polls, and /my/."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail

from polls.models import Poll
from tests.accounts.factories import PASSWORD, UserFactory
from tests.helpers import open_browser, post_form, post_htmx, post_json, text

pytestmark = pytest.mark.django_db

SIGNUP = "/accounts/signup/"
LOGIN = "/accounts/login/"
LOGOUT = "/accounts/logout/"
NEW_PASSWORD = "another long passphrase 7"


def signup_data(username="ada", **extra) -> dict:
    return {"username": username, "password1": PASSWORD, "password2": PASSWORD, **extra}


def create_poll(client, question="Tea or coffee?") -> Poll:
    """Create a poll from this browser, as its page does."""
    response = post_json(client, "/create", {"question": question, "options": ["Tea", "Coffee"]})
    assert response.status_code == 201
    return Poll.objects.get(code=response.json()["code"])


def is_logged_in(client) -> bool:
    return client.get("/my/").status_code == 200


# Signing up


def test_signup_page_has_labelled_fields_with_autocomplete(client):
    """The sign-up form labels every field and gives browsers autocomplete hints."""
    page = text(client.get(SIGNUP))
    for field in ("username", "email", "password1", "password2"):
        assert f'for="id_{field}"' in page
    assert 'autocomplete="username"' in page
    assert 'autocomplete="email"' in page
    assert page.count('autocomplete="new-password"') == 2
    assert 'aria-describedby="id_password1_helptext"' in page


def test_signup_creates_the_user_logs_in_and_goes_to_my_polls(voter):
    """Signing up creates the account, logs the browser in and redirects to /my/ with 303."""
    response = post_form(voter, SIGNUP, signup_data(email="ada@example.com"))
    assert response.status_code == 303
    assert response["Location"] == "/my/"
    user = get_user_model().objects.get(username="ada")
    assert user.email == "ada@example.com"
    assert user.check_password(PASSWORD)
    assert is_logged_in(voter)


def test_signup_email_is_optional(voter):
    """An account can be made without an email address."""
    assert post_form(voter, SIGNUP, signup_data()).status_code == 303
    assert get_user_model().objects.get(username="ada").email == ""


def test_signup_claims_this_browsers_polls_and_not_another_browsers(voter, other_voter):
    """Signing up moves the polls this browser created to the account, and no one else's."""
    mine = create_poll(voter, "Mine?")
    theirs = create_poll(other_voter, "Theirs?")
    post_form(voter, SIGNUP, signup_data())
    user = get_user_model().objects.get(username="ada")
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.owner == user
    assert theirs.owner is None
    page = text(voter.get("/my/"))
    assert "Mine?" in page
    assert "Theirs?" not in page


def test_signup_goes_to_a_safe_next_page_only(voter, other_voter):
    """Sign-up redirects to `next` when it is on this site and to /my/ when it is not."""
    response = post_form(voter, SIGNUP, signup_data("ada", next="/poll/abc"))
    assert response["Location"] == "/poll/abc"
    response = post_form(other_voter, SIGNUP, signup_data("bob", next="https://evil.example/"))
    assert response["Location"] == "/my/"


def test_signup_errors_are_400_and_tied_to_their_fields(voter):
    """A refused sign-up answers 400 with each error linked to its input."""
    response = post_form(voter, SIGNUP, {**signup_data(), "password2": "something else 99"})
    assert response.status_code == 400
    page = text(response)
    assert 'id="id_password2_error"' in page
    field = re.search(r'<input[^>]*name="password2"[^>]*>', page).group(0)
    assert 'aria-invalid="true"' in field
    assert "id_password2_error" in field
    assert not get_user_model().objects.exists()
    assert not is_logged_in(voter)


def test_signup_refuses_a_taken_username(voter, user):
    """Signing up with a username already in use answers 400 naming the username."""
    response = post_form(voter, SIGNUP, signup_data(user.username))
    assert response.status_code == 400
    assert 'id="id_username_error"' in text(response)


def test_htmx_signup_redirects_the_browser_or_returns_the_form(voter):
    """With htmx, a refused sign-up returns the form fragment and a good one an HX-Redirect."""
    refused = post_htmx(voter, SIGNUP, {**signup_data(), "password2": "nope"})
    assert refused.status_code == 400
    assert "<html" not in text(refused)
    assert text(refused).lstrip().startswith("<form")
    accepted = post_htmx(voter, SIGNUP, signup_data())
    assert accepted.status_code == 200
    assert accepted["HX-Redirect"] == "/my/"


def test_signup_rate_limit_per_ip_answers_429_with_retry_after(settings):
    """Sign-ups over the per-address limit get 429 with Retry-After; page views do not count."""
    settings.RATELIMITS = {**settings.RATELIMITS, "signup-ip": "2/h"}
    first = open_browser()
    for _ in range(5):
        assert first.get(SIGNUP).status_code == 200
    assert post_form(first, SIGNUP, {**signup_data("a1"), "password2": "x"}).status_code == 400
    assert post_form(open_browser(), SIGNUP, signup_data("a2")).status_code == 303
    refused = post_form(open_browser(), SIGNUP, signup_data("a3"))
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 3600
    assert not get_user_model().objects.filter(username="a3").exists()


# Logging in and out


def test_login_logs_in_and_goes_to_my_polls(voter, user):
    """A correct login answers 303 to /my/ and the browser is signed in."""
    response = post_form(voter, LOGIN, {"username": user.username, "password": PASSWORD})
    assert response.status_code == 303
    assert response["Location"] == "/my/"
    assert is_logged_in(voter)


def test_login_claims_this_browsers_polls(voter, other_voter, user):
    """Logging in moves the browser's anonymous polls to the account, and no one else's."""
    mine = create_poll(voter, "Mine?")
    theirs = create_poll(other_voter, "Theirs?")
    post_form(voter, LOGIN, {"username": user.username, "password": PASSWORD})
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.owner == user
    assert theirs.owner is None


def test_login_never_takes_a_poll_someone_already_owns(voter, user):
    """A poll that already has an owner stays theirs when its creating browser logs in."""
    owner = UserFactory()
    poll = create_poll(voter)
    Poll.objects.filter(pk=poll.pk).update(owner=owner)
    post_form(voter, LOGIN, {"username": user.username, "password": PASSWORD})
    poll.refresh_from_db()
    assert poll.owner == owner


def test_wrong_password_is_400_with_the_error_shown(voter, user):
    """A wrong password answers 400 with a visible error, and the browser stays anonymous."""
    response = post_form(voter, LOGIN, {"username": user.username, "password": "wrong"})
    assert response.status_code == 400
    assert 'role="alert"' in text(response)
    assert "correct username and password" in text(response)
    assert not is_logged_in(voter)


def test_login_follows_a_safe_next(voter, user):
    """Login redirects to `next` when it is a page of this site."""
    data = {"username": user.username, "password": PASSWORD, "next": "/poll/xyz"}
    assert post_form(voter, LOGIN, data)["Location"] == "/poll/xyz"
    other = open_browser()
    data["next"] = "//evil.example/"
    assert post_form(other, LOGIN, data)["Location"] == "/my/"


def test_htmx_login_redirects_the_browser(voter, user):
    """With htmx, a good login answers an HX-Redirect to /my/."""
    response = post_htmx(voter, LOGIN, {"username": user.username, "password": PASSWORD})
    assert response["HX-Redirect"] == "/my/"


def test_login_rate_limit_per_ip_answers_429_with_retry_after(voter, user, settings):
    """Login attempts over the per-address limit get 429 with Retry-After, even correct ones."""
    settings.RATELIMITS = {**settings.RATELIMITS, "login-ip": "3/m"}
    for _ in range(5):
        assert voter.get(LOGIN).status_code == 200
    for _ in range(3):
        response = post_form(voter, LOGIN, {"username": user.username, "password": "wrong"})
        assert response.status_code == 400
    refused = post_form(voter, LOGIN, {"username": user.username, "password": PASSWORD})
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert "Too many requests" in text(refused)
    assert not is_logged_in(voter)


def test_htmx_login_over_the_limit_gets_the_notice(voter, user, settings):
    """An htmx login over the limit gets a 429 notice aimed at the form's notice region."""
    settings.RATELIMITS = {**settings.RATELIMITS, "login-ip": "1/m"}
    post_htmx(voter, LOGIN, {"username": user.username, "password": "wrong"})
    refused = post_htmx(voter, LOGIN, {"username": user.username, "password": PASSWORD})
    assert refused.status_code == 429
    assert refused["HX-Retarget"] == "#notice"
    assert refused["Retry-After"]


def test_logout_needs_a_post(signed_in):
    """Logging out takes a POST; a GET changes nothing."""
    assert signed_in.get(LOGOUT).status_code == 405
    assert is_logged_in(signed_in)
    response = post_form(signed_in, LOGOUT, {})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert not is_logged_in(signed_in)


# Passwords


def test_password_change_sets_the_new_password(signed_in, user):
    """Changing the password with the old one accepts the new one and keeps the session."""
    response = post_form(
        signed_in,
        "/accounts/password_change/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 303
    assert response["Location"] == "/accounts/password_change/done/"
    assert "Password changed" in text(signed_in.get(response["Location"]))
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert is_logged_in(signed_in)


def test_password_change_with_a_wrong_old_password_is_400(signed_in, user):
    """A password change with the wrong old password answers 400 naming that field."""
    response = post_form(
        signed_in,
        "/accounts/password_change/",
        {"old_password": "wrong", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 400
    assert 'id="id_old_password_error"' in text(response)
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_password_change_needs_login(client):
    """The password change page sends anonymous browsers to log in."""
    response = client.get("/accounts/password_change/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def reset_link(message) -> str:
    found = re.search(r"http://testserver(/accounts/reset/[^/\s]+/[^/\s]+/)", message.body)
    assert found, message.body
    return found.group(1)


def test_password_reset_mails_a_link_that_sets_a_new_password(voter, user):
    """A reset request mails a link; following it sets a new password that logs in."""
    response = post_form(voter, "/accounts/password_reset/", {"email": user.email})
    assert response.status_code == 303
    assert response["Location"] == "/accounts/password_reset/done/"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [user.email]
    assert message.subject == "Reset your Tally password"
    link = reset_link(message)

    form_page = voter.get(link, follow=True)
    assert form_page.status_code == 200
    assert "Choose a new password" in text(form_page)
    set_url = form_page.redirect_chain[-1][0]
    done = post_form(voter, set_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 303
    assert done["Location"] == "/accounts/reset/done/"
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)

    again = voter.get(link, follow=True)
    assert "This link no longer works" in text(again)
    fresh = open_browser()
    login = post_form(fresh, LOGIN, {"username": user.username, "password": NEW_PASSWORD})
    assert login.status_code == 303


def test_password_reset_requests_share_the_login_limit(voter, user, settings):
    """Reset requests count against the per-address login limit, so mail cannot be flooded."""
    settings.RATELIMITS = {**settings.RATELIMITS, "login-ip": "2/m"}
    for _ in range(2):
        assert (
            post_form(voter, "/accounts/password_reset/", {"email": user.email}).status_code == 303
        )
    refused = post_form(voter, "/accounts/password_reset/", {"email": user.email})
    assert refused.status_code == 429
    assert refused["Retry-After"]
    assert len(mail.outbox) == 2


def test_password_reset_for_an_unknown_address_sends_nothing_and_says_the_same(voter, user):
    """A reset for an address with no account sends no mail and gives the same answer."""
    response = post_form(voter, "/accounts/password_reset/", {"email": "nobody@example.com"})
    assert response.status_code == 303
    assert response["Location"] == "/accounts/password_reset/done/"
    assert mail.outbox == []


def test_password_reset_with_a_bad_address_is_400(voter):
    """A reset request whose address is not an email answers 400 tied to the field."""
    response = post_form(voter, "/accounts/password_reset/", {"email": "not an address"})
    assert response.status_code == 400
    assert 'id="id_email_error"' in text(response)


def test_a_forged_reset_link_is_refused(client, user):
    """A reset link with a made-up token shows that it no longer works."""
    page = client.get("/accounts/reset/MQ/forged-token/", follow=True)
    assert page.status_code == 200
    assert "This link no longer works" in text(page)


# CSRF


def reset_confirm_url(user) -> str:
    """The set-password page a valid reset link leads to, reached by a CSRF-enforcing client."""
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return f"/accounts/reset/{uid}/{default_token_generator.make_token(user)}/"


@pytest.mark.parametrize(
    ("url", "signed_in_first"),
    [
        (SIGNUP, False),
        (LOGIN, False),
        (LOGOUT, True),
        ("/accounts/password_change/", True),
        ("/accounts/password_reset/", False),
        ("reset-confirm", False),
    ],
)
def test_account_forms_refuse_posts_without_csrf_token(url, signed_in_first, client, user):
    """Every account form refuses a POST without the CSRF token with 403 and changes nothing."""
    if signed_in_first:
        client.force_login(user)
    if url == "reset-confirm":
        url = client.get(reset_confirm_url(user), follow=True).redirect_chain[-1][0]
    client.get("/" if url == LOGOUT else url)
    data = {
        "username": "mallory",
        "password": PASSWORD,
        "password1": PASSWORD,
        "password2": PASSWORD,
        "old_password": PASSWORD,
        "new_password1": NEW_PASSWORD,
        "new_password2": NEW_PASSWORD,
        "email": user.email,
    }
    response = client.post(url, data)
    assert response.status_code == 403
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert not get_user_model().objects.filter(username="mallory").exists()
    assert mail.outbox == []
    assert is_logged_in(client) is signed_in_first


# Header


def test_header_offers_login_and_signup_to_anonymous_browsers(client, db):
    """An anonymous visitor's header links to log in and sign up, and has no logout."""
    page = text(client.get("/"))
    assert 'href="/accounts/login/"' in page
    assert 'href="/accounts/signup/"' in page
    assert 'action="/accounts/logout/"' not in page


def test_header_offers_my_polls_notifications_and_logout_when_signed_in(signed_in):
    """A signed-in header links to My polls and the bell and logs out with a POST form."""
    page = text(signed_in.get("/"))
    assert 'href="/my/"' in page
    assert 'id="bell"' in page
    logout = re.search(r'<form method="post" action="/accounts/logout/".*?</form>', page, re.S)
    assert logout
    assert 'name="csrfmiddlewaretoken"' in logout.group(0)
    assert 'href="/accounts/login/' not in page
