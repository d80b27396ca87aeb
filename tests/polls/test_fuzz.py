"""Generated create and vote bodies: never a 500, every refusal a 400 naming the field at fault.

Each generated field value carries whether the form should accept it, so every example knows
its expected answer: valid bodies succeed, invalid ones are refused naming one of the fields
that are actually wrong (or, for a body that is not a JSON object, with invalid_json).
"""

import json
import secrets
from typing import NamedTuple
from urllib.parse import urlencode

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.test.client import BOUNDARY, encode_multipart
from hypothesis import HealthCheck, assume, event, given, note
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from polls.models import Poll
from tests.polls.factories import PollFactory

pytestmark = pytest.mark.django_db

FUZZ_SETTINGS = hypothesis_settings(
    max_examples=1000,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
MEGABYTE = 1_000_000
ABSENT = object()


class Spec(NamedTuple):
    """How to generate one field: values the form should accept, and values it should refuse."""

    valid: st.SearchStrategy
    invalid: st.SearchStrategy


def spec(valid: list, invalid: list) -> Spec:
    return Spec(st.one_of(*valid), st.one_of(*invalid))


@st.composite
def bodies(draw, specs: dict[str, Spec], extra: Spec):
    """Fields for one request, and the names of those that are wrong.

    A third of bodies are wholly valid, a third have one wrong field, the rest any mix.
    """
    mode = draw(st.sampled_from(["valid", "one wrong", "any"]), label="mode")
    names = list(specs)
    if mode == "valid":
        wrong = set()
    elif mode == "one wrong":
        wrong = {draw(st.sampled_from(names))}
    else:
        wrong = set(draw(st.lists(st.sampled_from(names), unique=True)))
    fields = {
        name: draw(spec.invalid if name in wrong else spec.valid, label=name)
        for name, spec in specs.items()
    }
    extra_names = draw(
        st.lists(
            st.text(min_size=1, max_size=8).filter(lambda name: name not in RESERVED_NAMES),
            max_size=2,
            unique=True,
        ),
        label="extra names",
    )
    for name in extra_names:
        is_wrong = mode == "any" and draw(st.booleans())
        fields[name] = draw(extra.invalid if is_wrong else extra.valid, label=name)
        if is_wrong:
            wrong.add(name)
    fields = {name: value for name, value in fields.items() if value is not ABSENT}
    return fields, wrong


# Building blocks

# Text the forms accept: no control characters or surrogates, no surrounding whitespace.
ODD_UNICODE = st.characters(exclude_categories=("Cc", "Cs"))
SURROGATES = st.integers(0xD800, 0xDFFF).map(chr)
CONTROLS = st.sampled_from([chr(code) for code in range(32) if chr(code) not in "\t\n\r"])


def clean_text(min_size: int, max_size: int):
    return (
        st.text(ODD_UNICODE, min_size=min_size, max_size=max_size)
        .map(str.strip)
        .filter(lambda text: len(text) >= min_size)
    )


def with_inside(char_strategy):
    """Text with the given character in its middle, where stripping cannot remove it."""
    return st.builds(
        lambda left, char, right: f"a{left}{char}{right}b",
        clean_text(0, 20),
        char_strategy,
        clean_text(0, 20),
    )


INTEGERS = st.integers(-(10**30), 10**30)
WRONG_SCALARS = st.one_of(
    st.booleans(),
    st.floats(allow_nan=True, allow_infinity=False),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    st.just({"nested": [{"deeper": [1, [2, [3]]]}]}),
)
WRONG_TYPES = st.one_of(
    WRONG_SCALARS, st.lists(st.one_of(st.text(max_size=5), st.integers()), max_size=3)
)
HUGE_TEXT = st.sampled_from(["x" * MEGABYTE, "x" * (MEGABYTE - 1) + "\x00", "<b>" * 333_334])


def text_field(*, max_length: int, required: bool) -> Spec:
    """A free-text field such as question, description or comment."""
    valid = [clean_text(1, max_length), INTEGERS]
    invalid = [
        st.just("q" * (max_length + 1)),
        HUGE_TEXT,
        with_inside(CONTROLS),
        with_inside(SURROGATES),
        WRONG_TYPES,
    ]
    empty = [st.sampled_from([ABSENT, None, "", " ", "\n\t "])]
    return spec(valid + ([] if required else empty), invalid + (empty if required else []))


def choice_field(choices: list[str]) -> Spec:
    """A settings field: one of a few fixed values, empty or absent for the default."""
    return spec(
        [st.sampled_from([ABSENT, None, "", *choices])],
        [
            st.text(min_size=1, max_size=12).filter(lambda text: text not in choices),
            INTEGERS,
            WRONG_TYPES,
        ],
    )


OPTION_TEXT = st.one_of(clean_text(1, 200), st.integers(0, 10**12))
BLANKS = st.lists(st.sampled_from(["", "  ", "\n"]), max_size=2)
VALID_OPTIONS = st.builds(
    lambda options, blanks: options + blanks,
    st.lists(OPTION_TEXT, min_size=2, max_size=20, unique_by=lambda v: str(v).casefold()),
    BLANKS,
)


def options_with(item_strategy):
    """Valid options with one bad item slipped in."""
    return st.builds(
        lambda options, item, at: [*options[:at], item, *options[at:]],
        VALID_OPTIONS,
        item_strategy,
        st.integers(0, 3),
    )


OPTIONS_FIELD = spec(
    [VALID_OPTIONS],
    [
        st.sampled_from([ABSENT, None, "", [], ["only one"], ["same", " same "], "one"]),
        st.lists(OPTION_TEXT, min_size=0, max_size=1),
        st.lists(OPTION_TEXT, min_size=21, max_size=30, unique_by=lambda v: str(v).casefold()),
        st.just([f"option {n}" for n in range(10_000)]),
        VALID_OPTIONS.filter(lambda options: options[0] != "").map(lambda o: [*o, o[0]]),
        options_with(st.just("o" * 201)),
        options_with(HUGE_TEXT),
        options_with(with_inside(CONTROLS)),
        options_with(with_inside(SURROGATES)),
        options_with(st.one_of(WRONG_SCALARS, st.none(), st.lists(st.integers(), max_size=2))),
        WRONG_SCALARS,
    ],
)

FUTURE = ["2099-01-01T10:00", "2099-12-31 23:59", "2088-02-29T00:00:00", "2099-01-01T10:00Z"]
PAST = ["2000-01-01T00:00", "1970-01-01 00:00", "0001-01-01T00:00"]
CLOSES_AT_FIELD = spec(
    [st.sampled_from([ABSENT, None, "", *FUTURE])],
    [
        st.sampled_from(PAST),
        st.text(max_size=20).filter(lambda t: t.strip() and not any(c.isdigit() for c in t)),
        st.sampled_from(["2099-13-01T00:00", "2099-02-30T10:00", "tomorrow", "\x00"]),
        INTEGERS,
        WRONG_TYPES,
    ],
)
ZONES = ["UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata", "Pacific/Kiritimati"]
TIMEZONE_FIELD = spec(
    [st.sampled_from([ABSENT, None, "", *ZONES])],
    [
        st.sampled_from(["Mars/Olympus", "America", "../../etc/passwd", "/", "a" * 65, "\x00"]),
        st.sampled_from(["Europe/\ud800", "\udfff"]),
        INTEGERS,
        WRONG_TYPES,
    ],
)

CREATE_FIELDS = {
    "question": text_field(max_length=500, required=True),
    "description": text_field(max_length=2000, required=False),
    "options": OPTIONS_FIELD,
    "choice_type": choice_field(["single", "multiple"]),
    "results_visibility": choice_field(["always", "after_vote", "after_close"]),
    "comments": choice_field(["allowed", "off"]),
    "protection": choice_field(["token", "token_ip", "account"]),
    "visibility": choice_field(["listed", "unlisted"]),
    "closes_at": CLOSES_AT_FIELD,
    "timezone": TIMEZONE_FIELD,
}
RESERVED_NAMES = {
    *CREATE_FIELDS,
    "option",
    "comment",
    "idempotency_key",
    "add_option",
    "csrfmiddlewaretoken",
}
EXTRA_FIELD = spec(
    [
        st.none(),
        st.text(max_size=20),
        INTEGERS,
        HUGE_TEXT,
        st.builds(lambda c: f"x{c}", SURROGATES),
    ],
    [WRONG_TYPES],
)


def is_json_object(raw: bytes) -> bool:
    try:
        return isinstance(json.loads(raw), dict)
    except (ValueError, RecursionError):
        return False


NOT_AN_OBJECT = st.one_of(
    st.sampled_from(
        [b"", b"null", b"[]", b"true", b"0", b'"question"', b"{", b'{"question": }', b"\xff\xfe"]
    ),
    st.lists(st.text(max_size=5), max_size=3).map(lambda v: json.dumps(v).encode()),
    st.text(max_size=30).map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=30).filter(lambda raw: not is_json_object(raw)),
    st.just(b"[" * 50_000),
)


# Sending and judging


def has_surrogate(value) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, list):
        return any(has_surrogate(item) for item in value)
    return False


def form_encodable(fields: dict, list_field: str) -> bool:
    """Whether the fields can travel as an HTML form (text only, lists only where repeated)."""
    for name, value in fields.items():
        if value is None:  # sent as JSON null, the same as leaving the field out
            continue
        if has_surrogate(name) or has_surrogate(value):
            return False
        items = value if isinstance(value, list) and name == list_field else [value]
        if not all(isinstance(item, str) or type(item) is int for item in items):
            return False
    return True


def form_data(fields: dict) -> dict:
    return {
        name: [str(item) for item in value] if isinstance(value, list) else str(value)
        for name, value in fields.items()
        if value is not None
    }


def send(client, url: str, fields: dict, transport: str):
    """POST the fields as JSON, as a urlencoded or multipart form, or as a browser form."""
    if transport in ("json", "json-utf8"):
        body = json.dumps(fields, ensure_ascii=transport == "json").encode()
        content_type = "application/json"
    elif transport == "multipart":
        body = encode_multipart(BOUNDARY, form_data(fields))
        content_type = f"multipart/form-data; boundary={BOUNDARY}"
    else:
        body = urlencode(form_data(fields), doseq=True).encode()
        content_type = "application/x-www-form-urlencoded"
    assume(len(body) < django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    accept = "text/html" if transport == "html" else "application/json"
    return client.post(url, body, content_type=content_type, headers={"Accept": accept})


def check_answer(response, transport, invalid_fields, success_statuses):
    event(f"{transport}: {'refused' if invalid_fields else 'valid'} {response.status_code}")
    assert response.status_code != 500
    if not invalid_fields:
        expected = success_statuses["html" if transport == "html" else "json"]
        assert response.status_code in expected, response.content[:300]
        return
    assert response.status_code == 400, response.content[:300]
    if transport != "html":
        error = response.json()["error"]
        assert error.get("field") in invalid_fields, (error, invalid_fields)


def pick_transport(data, fields: dict, list_field: str) -> str:
    """JSON (escaped or raw UTF-8), or when the fields allow it, one of the form encodings."""
    # A uniform pick: Hypothesis would favour the first transport, and forms would be rare.
    rng = data.draw(st.randoms(use_true_random=True), label="transport picker")
    if form_encodable(fields, list_field) and rng.random() < 0.5:
        transport = rng.choice(["urlencoded", "multipart", "html"])
    elif any(has_surrogate(name) or has_surrogate(value) for name, value in fields.items()):
        transport = "json"  # JSON text with \ud800-style escapes
    else:
        transport = rng.choice(["json", "json-utf8"])
    note(f"transport: {transport}")
    return transport


@pytest.fixture
def api(settings):
    settings.RATELIMIT_ENABLE = False
    return Client(enforce_csrf_checks=False, raise_request_exception=False)


@FUZZ_SETTINGS
@given(body=bodies(CREATE_FIELDS, EXTRA_FIELD), data=st.data())
def test_generated_create_bodies(api, body, data):
    """No create body causes a 500; valid ones create the poll, others name a wrong field."""
    sent, wrong = body
    transport = pick_transport(data, sent, "options")
    polls_before = Poll.objects.count()
    response = send(api, "/create", sent, transport)
    check_answer(response, transport, wrong, {"json": {201}, "html": {303}})
    assert Poll.objects.count() == polls_before + (0 if wrong else 1)


@hypothesis_settings(FUZZ_SETTINGS, max_examples=300)
@given(raw=NOT_AN_OBJECT, url=st.sampled_from(["/create", "vote"]))
def test_json_bodies_that_are_not_objects(api, fuzz_polls, raw, url):
    """A JSON body that is not a JSON object is refused with 400 invalid_json."""
    if url == "vote":
        url = f"/poll/{fuzz_polls[0][0].code}/vote"
    response = api.post(url, raw, content_type="application/json", CONTENT_TYPE="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_json"


@pytest.fixture
def fuzz_polls(db):
    """A single-choice and a multiple-choice poll, each with its vote field strategies."""
    polls = (
        PollFactory(options=["Red", "Green", "Blue"]),
        PollFactory(options=["Tea", "Coffee", "Water", "Juice"], choice_type="multiple"),
    )
    return [(poll, vote_specs(poll)) for poll in polls]


TEN_THOUSAND_IDS = [str(n) for n in range(10_000)]


def vote_specs(poll) -> dict[str, Spec]:
    """How to generate each vote field for this poll."""
    ids = [option.id for option in poll.options.all()]
    one_id = st.sampled_from(ids)
    id_forms = st.one_of(one_id, one_id.map(str))
    if poll.is_multiple:
        valid = [id_forms, st.lists(id_forms, min_size=1, max_size=len(ids) + 1)]
        several = []
    else:
        valid = [id_forms, id_forms.map(lambda value: [value])]
        several = [st.lists(one_id, min_size=2, max_size=2, unique=True)]
    unknown = st.integers(max(ids) + 1_000_000, max(ids) + 10**9)
    option = spec(
        valid,
        [
            *several,
            st.sampled_from([ABSENT, None, "", [], " "]),
            unknown,
            st.lists(unknown, min_size=1, max_size=2),
            one_id.map(lambda value: f" {value}"),
            st.text(max_size=10).filter(lambda text: text.strip() and not text.isdigit()),
            with_inside(SURROGATES),
            WRONG_SCALARS,
            one_id.map(lambda value: [[value]]),
            one_id.map(lambda value: [value, None]),
            st.just(TEN_THOUSAND_IDS),
        ],
    )
    idempotency_key = spec(
        [
            st.sampled_from([ABSENT, None, ""]),
            st.text(st.characters(exclude_characters="\x00"), max_size=128),
            st.builds(lambda c: f"key-{c}", SURROGATES),
        ],
        [st.just("k" * 129), with_inside(st.just("\x00")), WRONG_TYPES],
    )
    return {
        "option": option,
        "comment": text_field(max_length=1000, required=False),
        "idempotency_key": idempotency_key,
    }


@FUZZ_SETTINGS
@given(data=st.data())
def test_generated_vote_bodies(api, fuzz_polls, data):
    """No vote body causes a 500; valid ones are counted, others name a wrong field."""
    poll, specs = data.draw(st.sampled_from(fuzz_polls), label="poll")
    sent, wrong = data.draw(bodies(specs, EXTRA_FIELD), label="body")
    transport = pick_transport(data, sent, "option")
    # A new browser each time: valid votes are first votes.
    api.cookies[django_settings.VOTER_COOKIE_NAME] = secrets.token_urlsafe(32)
    if data.draw(st.booleans(), label="Idempotency-Key header"):
        api.defaults["HTTP_IDEMPOTENCY_KEY"] = secrets.token_hex(8)
    else:
        api.defaults.pop("HTTP_IDEMPOTENCY_KEY", None)
    ballots_before = poll.ballots.count()
    response = send(api, f"/poll/{poll.code}/vote", sent, transport)
    check_answer(response, transport, wrong, {"json": {201}, "html": {303}})
    assert poll.ballots.count() == ballots_before + (0 if wrong else 1)
