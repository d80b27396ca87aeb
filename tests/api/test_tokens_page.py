"""The /accounts/tokens/ page: create (the token shown once), list with last use, revoke,
with htmx and without JavaScript; only for signed-in users, and rate limited."""

import re

import pytest

from accounts.models import ApiToken
from tests.api.conftest import Program
from tests.helpers import post_form, post_htmx, text
from tests.polls.factories import PollFactory

URL = "/accounts/tokens/"
SECRET = re.compile(r'value="(tly_[A-Za-z0-9_-]+)"')


@pytest.mark.parametrize("post", [post_form, post_htmx])
def test_creating_a_token_shows_it_once(post, signed_in, user):
    """A new token is shown in the answer to its creation and never again."""
    response = post(signed_in, URL, {"name": "Stand-up bot", "expires": "30"})
    assert response.status_code == 201
    assert "no-store" in response["Cache-Control"]
    page = text(response)
    secret = SECRET.search(page).group(1)
    assert "Stand-up bot" in page
    assert ("<html" in page) == (post is post_form)
    token = ApiToken.objects.get(user=user)
    assert token.expires_at is not None
    assert secret not in text(signed_in.get(URL))
    # The token works at once.
    code = PollFactory(owner=user).code
    assert Program({"Authorization": f"Bearer {secret}"}).get(f"/polls/{code}").json()["is_owner"]


def test_the_list_shows_last_use(signed_in, user):
    """The list says "Never used" until a program uses the token, then when it was used."""
    post_form(signed_in, URL, {"name": "Phone", "expires": "never"})
    page = text(signed_in.get(URL))
    assert "Never used" in page
    assert "Never expires" in page
    phone = ApiToken.objects.get(user=user)
    response = post_form(signed_in, URL, {"name": "Laptop", "expires": "7"})
    laptop = SECRET.search(text(response)).group(1)
    Program({"Authorization": f"Bearer {laptop}"}).get("/notifications")
    page = text(signed_in.get(URL))
    assert "Last used" in page
    assert page.count("Never used") == 1
    assert phone.name in page


@pytest.mark.parametrize("post", [post_form, post_htmx])
def test_revoking_a_token_refuses_it_from_then_on(post, signed_in, user):
    """Revoke marks the token revoked on the page and the API refuses it at once."""
    response = post_form(signed_in, URL, {"name": "Bot", "expires": "never"})
    secret = SECRET.search(text(response)).group(1)
    token = ApiToken.objects.get(user=user)
    revoked = post(signed_in, f"{URL}{token.pk}/revoke", {})
    if post is post_form:
        assert revoked.status_code == 303
        assert revoked["Location"] == URL
        page = text(signed_in.get(URL))
    else:
        assert revoked.status_code == 200
        page = text(revoked)
    assert "Revoked" in page
    assert f'action="{URL}{token.pk}/revoke"' not in page
    assert Program({"Authorization": f"Bearer {secret}"}).get("/notifications").status_code == 401


def test_a_token_without_a_name_is_refused_with_400(signed_in, user):
    """A nameless token is refused with 400 and the form says why."""
    response = post_form(signed_in, URL, {"name": "  ", "expires": "never"})
    assert response.status_code == 400
    assert 'aria-invalid="true"' in text(response)
    assert not ApiToken.objects.exists()


def test_another_users_token_cannot_be_revoked(signed_in, user):
    """Revoking someone else's token changes nothing."""
    from accounts import services
    from tests.accounts.factories import UserFactory

    other, _ = services.api_token_create(user=UserFactory(), name="Theirs")
    post_form(signed_in, f"{URL}{other.pk}/revoke", {})
    other.refresh_from_db()
    assert other.revoked_at is None


def test_the_page_needs_an_account(client, db):
    """Signed out, the page sends the visitor to log in and back."""
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/accounts/tokens/")


def test_creating_tokens_is_rate_limited(signed_in, settings):
    """Token creation is limited per account: over the limit, 429 with Retry-After."""
    settings.RATELIMITS = {**settings.RATELIMITS, "api-token": "1/h"}
    assert post_form(signed_in, URL, {"name": "One", "expires": "never"}).status_code == 201
    refused = post_form(signed_in, URL, {"name": "Two", "expires": "never"})
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) >= 1
    assert ApiToken.objects.count() == 1
