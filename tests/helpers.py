"""Small helpers for driving Tally's HTTP API and sockets from tests."""

import asyncio
import json

from django.test import Client


def open_browser(user=None) -> Client:
    """A browser that has opened the home page (signed in as user, if given): CSRF checks
    on, holding a voter token and, as csrf_token, the value to send back."""
    client = Client(enforce_csrf_checks=True)
    if user is not None:
        client.force_login(user)
    client.get("/")
    client.csrf_token = client.cookies["csrftoken"].value
    return client


def session_id(user) -> str:
    """The value of a session cookie signed in as user, for sockets and browsers."""
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def text(response) -> str:
    return response.content.decode()


async def receive_until(communicator, predicate, deadline: float = 10):
    """Read socket frames until one satisfies predicate; return it (fails after deadline)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline
    while True:
        frame = await communicator.receive_from(timeout=max(0.01, end - loop.time()))
        if predicate(frame):
            return frame


def post_json(client, url, body, **headers):
    """POST a JSON body with the CSRF header, as a JSON client would."""
    return client.post(
        url,
        data=json.dumps(body),
        content_type="application/json",
        headers={"X-CSRFToken": client.csrf_token, **headers},
    )


def post_form(client, url, data, **headers):
    """POST a form as a browser without JavaScript would (CSRF token in the form)."""
    return client.post(
        url, data={**data, "csrfmiddlewaretoken": client.csrf_token}, headers=headers
    )


def post_htmx(client, url, data, **headers):
    """POST a form as htmx does (CSRF in the header, HX-Request set)."""
    return client.post(
        url,
        data=data,
        headers={"X-CSRFToken": client.csrf_token, "HX-Request": "true", **headers},
    )
