"""Small helpers for driving Tally's HTTP API from tests."""

import json


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
