"""The fast vote route and the page path answer every vote alike: a table of the cases of
SPEC §3, each sent as htmx, as a plain form and as JSON to both, in one process."""

import json
import re
from dataclasses import dataclass, field

import httpx
import pytest
from asgiref.sync import sync_to_async
from django.db import connection

from config.asgi import django_asgi_app
from core.voters import new_voter_token
from polls import services
from polls.fast_vote.route import FastVoteRoute
from polls.models import Option, Poll
from tests.polls.factories import PollFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CSRF = "k" * 32
KINDS = ("json", "htmx", "form")


@dataclass
class Case:
    """One vote (after `before`, votes by the same voter), and how the poll is set up."""

    name: str
    body: dict = field(default_factory=lambda: {"option": 0})
    before: int = 0  # accepted votes by the same voter first
    poll: dict = field(default_factory=dict)
    closed: bool = False
    csrf: bool = True
    unknown_poll: bool = False
    raw_json: str | None = None
    headers: dict = field(default_factory=dict)
    kinds: tuple = KINDS
    secure: bool = False  # sent over HTTPS, where CSRF also checks Origin and Referer


CASES = [
    Case("accepted"),
    Case("accepted with a comment", body={"option": 1, "comment": "Because."}),
    Case("multiple choice", body={"option": [0, 2]}, poll={"choice_type": "multiple"}),
    Case("already voted", before=1),
    Case("closed", closed=True),
    Case("unknown option", body={"option": 999_999_999}),
    Case("no option", body={"comment": "x"}),
    Case("two options on a single-choice poll", body={"option": [0, 1]}),
    Case("option not a number", body={"option": "red"}),
    Case("comment too long", body={"option": 0, "comment": "x" * 1001}),
    Case("comment with control characters", body={"option": 0, "comment": "a\x01b"}),
    Case("no CSRF token", csrf=False),
    Case("unknown poll", unknown_poll=True),
    Case("body not JSON", raw_json="{nope", kinds=("json",)),
    Case("JSON body not an object", raw_json="[1]", kinds=("json",)),
    Case("address already voted", before=1, poll={"protection": "token_ip"}),
    Case(
        "idempotency key replayed",
        before=1,
        headers={"Idempotency-Key": "same-key-1"},
        kinds=("json",),
    ),
    Case("comments off", body={"option": 0, "comment": "dropped"}, poll={"allow_comments": False}),
    Case("over HTTPS from the site", secure=True, headers={"Origin": "https://testserver"}),
    Case("over HTTPS from another site", secure=True, headers={"Origin": "https://evil.example"}),
    Case("over HTTPS with no Origin or Referer", secure=True),
]


def make_poll(case: Case) -> tuple[Poll, list[int]]:
    poll = PollFactory(question="Which option is best?", **case.poll)
    if case.closed:
        services.poll_close(poll=poll)
    return poll, list(poll.options.values_list("id", flat=True))


def request_for(case: Case, kind: str, poll: Poll, ids: list[int], token: str) -> dict:
    body = {
        name: [ids[i] for i in value] if isinstance(value, list) else value
        for name, value in case.body.items()
    }
    if "option" in body and isinstance(case.body["option"], int):
        index = case.body["option"]
        body["option"] = ids[index] if index < len(ids) else index
    headers = {"Cookie": f"tally_voter={token}; csrftoken={CSRF}", **case.headers}
    if kind == "json":
        headers |= {"Content-Type": "application/json", "Accept": "application/json"}
        content = case.raw_json if case.raw_json is not None else json.dumps(body)
    else:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        form = [(k, str(v)) for k, values in body.items() for v in _listed(values)]
        if case.csrf and kind == "form":
            form.append(("csrfmiddlewaretoken", CSRF))
        content = httpx.QueryParams(form).__str__()
    if case.csrf and kind != "form":
        headers["X-CSRFToken"] = CSRF
    if kind == "htmx":
        headers["HX-Request"] = "true"
    code = "nosuchpoll" if case.unknown_poll else poll.code
    return {"url": f"/poll/{code}/vote", "headers": headers, "content": content}


def _listed(value):
    return value if isinstance(value, list) else [value]


async def answer(app, case: Case, kind: str) -> dict:
    """Send the case to app on a poll of its own; what came back, made comparable."""
    poll, ids = await sync_to_async(make_poll)(case)
    token = new_voter_token()
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    base_url = f"{'https' if case.secure else 'http'}://testserver"
    async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
        for _ in range(case.before):
            first = request_for(Case("first", headers=case.headers), kind, poll, ids, token)
            await client.post(first["url"], headers=first["headers"], content=first["content"])
        sent = request_for(case, kind, poll, ids, token)
        response = await client.post(sent["url"], headers=sent["headers"], content=sent["content"])
    return comparable(response, poll, ids)


def comparable(response: httpx.Response, poll: Poll, ids: list[int]) -> dict:
    """The answer with what differs from poll to poll (code, ids, tokens) masked."""
    text = response.text.replace(poll.code, "CODE")
    for index, option_id in enumerate(ids):
        text = re.sub(rf"\b{option_id}\b", f"OPTION{index}", text)
    text = re.sub(r"\b[A-Za-z0-9]{64}\b", "CSRF", text)  # masked CSRF tokens
    text = re.sub(r"in \d+ seconds", "in N seconds", text)  # a rate-limit window's rest
    text = re.sub(r'data-version="[^"]*"', "VERSION", text)
    return {
        "status": response.status_code,
        "location": response.headers.get("location", "").replace(poll.code, "CODE"),
        "headers": sorted(
            f"{name}: {value}" if name == "vary" else name
            for name, value in response.headers.items()
            if name != "content-length"
        ),
        "cookies": sorted(response.cookies),
        "body": text,
    }


@pytest.fixture
def apps(django_db_blocker):
    """Both routes; option ids made large, so that masking them cannot touch a count."""
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence(%s, 'id'), 1000000 + nextval("
            "pg_get_serial_sequence(%s, 'id')))",
            [Option._meta.db_table, Option._meta.db_table],
        )
    return {"fast": FastVoteRoute(django_asgi_app), "page": django_asgi_app}


@pytest.mark.parametrize(
    ("case", "kind"),
    [(case, kind) for case in CASES for kind in case.kinds],
    ids=[f"{case.name}-{kind}" for case in CASES for kind in case.kinds],
)
async def test_fast_route_answers_as_the_page_path_does(on_postgres, apps, case, kind):
    """Each vote of the table gets the same status, headers, cookies and body from both,
    and the fast route wrote every vote that got as far as the database itself."""
    try:
        fast = await answer(apps["fast"], case, kind)
        wrote = bool(apps["fast"].writers)
    finally:
        await apps["fast"].close()
    page = await answer(apps["page"], case, kind)
    for part in page:
        assert fast[part] == page[part], part
    reached_database = fast["status"] in (200, 201, 303, 409)
    assert wrote == reached_database


async def test_rate_limited_votes_are_refused_alike(on_postgres, apps, settings):
    """Over the per-voter limit, both answer 429 with Retry-After, for every kind."""
    settings.RATELIMIT_ENABLE = True
    settings.RATELIMITS = {**settings.RATELIMITS, "vote-voter": "1/m"}
    case = Case("over the limit", before=1)
    try:
        for kind in KINDS:
            fast = await answer(apps["fast"], case, kind)
            page = await answer(apps["page"], case, kind)
            assert fast["status"] == 429
            for part in page:
                assert fast[part] == page[part], (kind, part)
    finally:
        await apps["fast"].close()
