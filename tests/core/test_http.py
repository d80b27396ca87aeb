"""Reading request bodies: odd, huge and malformed bodies are refused with 400, never a 500."""

import json
from urllib.parse import urlencode

import pytest
from django.test import Client

from polls.models import Poll
from tests.helpers import post_form

pytestmark = pytest.mark.django_db

JSON_ANSWER = {"Accept": "application/json"}


@pytest.fixture
def api():
    """A client that skips CSRF (as a same-site script with the token would pass it)."""
    return Client()


def post_raw(client, body: bytes, content_type="application/json", url="/create"):
    return client.post(url, data=body, content_type=content_type, headers=JSON_ANSWER)


def test_json_body_nested_too_deeply_is_refused(api):
    """A JSON body nested a hundred thousand levels deep gets 400 invalid_json."""
    for body in (b"[" * 100_000, b'{"options": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"):
        response = post_raw(api, body)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid_json"


def test_json_integer_with_thousands_of_digits_is_a_field_error(api):
    """An integer too long for Python's int conversion is refused naming its field."""
    body = b'{"question": ' + b"7" * 5000 + b', "options": ["A", "B"]}'
    response = post_raw(api, body)
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "question"


def test_json_integers_are_accepted_as_text(api):
    """Integers in a JSON body are used as their digits, in text fields and lists alike."""
    response = post_raw(api, b'{"question": 2024, "options": [1, 2, 30000000000000000000]}')
    assert response.status_code == 201
    poll = Poll.objects.get(code=response.json()["code"])
    assert poll.question == "2024"
    assert [o.text for o in poll.options.all()] == ["1", "2", "30000000000000000000"]


@pytest.mark.parametrize("content_type", ["application/json", "application/x-www-form-urlencoded"])
def test_body_over_the_size_limit_is_refused(api, content_type):
    """A body larger than the upload limit gets 400 too_large."""
    if content_type == "application/json":
        body = json.dumps({"question": "x" * 3_000_000, "options": ["A", "B"]})
    else:
        body = urlencode({"question": "x" * 3_000_000, "options": ["A", "B"]}, doseq=True)
    response = post_raw(api, body.encode(), content_type)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "too_large"
    assert not Poll.objects.exists()


@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
def test_too_many_form_fields_names_the_repeated_field(api, encoding):
    """A form with ten thousand options gets 400 naming "options", urlencoded or multipart."""
    data = {"question": "Many?", "options": [f"option {n}" for n in range(10_000)]}
    if encoding == "multipart":
        response = api.post("/create", data, headers=JSON_ANSWER)
    else:
        body = urlencode(data, doseq=True).encode()
        response = post_raw(api, body, "application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "too_many_fields",
        "message": "Too many values were sent.",
        "field": "options",
    }


def test_multipart_form_with_csrf_check_is_read_normally(voter):
    """A multipart form that the CSRF check has already parsed still creates the poll."""
    response = post_form(voter, "/create", {"question": "Multipart?", "options": ["A", "B"]})
    assert response.status_code == 303
    assert Poll.objects.get().question == "Multipart?"


@pytest.mark.parametrize(
    ("closes_at", "zone"),
    [("9999-12-31T23:59", "Etc/GMT+12"), ("9999-12-31T23:00", "America/Los_Angeles")],
)
def test_close_time_beyond_the_calendar_is_a_field_error(api, closes_at, zone):
    """A close time that runs past year 9999 in UTC is refused naming closes_at."""
    body = {"question": "Far?", "options": ["A", "B"], "closes_at": closes_at, "timezone": zone}
    response = post_raw(api, json.dumps(body).encode())
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "closes_at"


def test_latest_close_time_east_of_utc_is_accepted(api):
    """The last minute of year 9999 east of UTC is a valid close time."""
    body = {
        "question": "Far?",
        "options": ["A", "B"],
        "closes_at": "9999-12-31T23:59",
        "timezone": "Etc/GMT-14",
    }
    response = post_raw(api, json.dumps(body).encode())
    assert response.status_code == 201
    assert api.get(response.json()["url"]).status_code == 200


@pytest.mark.parametrize(
    "body",
    [b"\xff\xfe{}", b"\xc3\x28", b"\x00", b"nul", b"{'a': 1}"],
)
def test_json_that_is_not_utf8_text_is_refused(api, body):
    """A JSON body that is not valid UTF-8 JSON text gets 400 invalid_json."""
    response = post_raw(api, body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


def test_json_utf8_encoded_surrogate_is_a_field_error(api):
    """A surrogate encoded as UTF-8 bytes inside a JSON string is refused naming its field."""
    response = post_raw(api, b'{"question": "Q\xed\xa0\x80", "options": ["A", "B"]}')
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "question"


def test_json_errors_name_nested_wrong_types(api):
    """A list inside the options list is refused naming "options"."""
    response = post_raw(api, b'{"question": "Q", "options": ["A", ["B"]]}')
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "options"
    assert "list of strings" in response.json()["error"]["message"]


def test_json_error_for_an_unknown_key_of_the_wrong_type_names_it(api):
    """An extra key holding an object is refused naming that key."""
    response = post_raw(api, b'{"question": "Q", "options": ["A", "B"], "extra": {"a": 1}}')
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "extra"
