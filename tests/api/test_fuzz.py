"""Schema fuzzing: Schemathesis generates requests for every operation of the live OpenAPI
schema, valid and invalid, and each answer must be no server error, a documented status,
and a body that matches the documented schema.

Half the cases speak about a real poll (owned by the token they send, with a comment),
so the fuzzing reaches past 404 into the forms, services and owner actions.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from accounts import services as account_services
from config.asgi import application
from core.voters import Voter, new_voter_token
from polls import services
from tests.accounts.factories import UserFactory
from tests.polls.factories import PollFactory

EXAMPLES_PER_OPERATION = 20
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture
def fuzz_setting(settings):
    settings.RATELIMIT_ENABLE = False  # reach the operations, not the limiter
    settings.GROQ_API_KEY = ""  # answers come from the local pipeline, no provider
    settings.EMBED_IN_BACKGROUND = False


@pytest.fixture
def world(fuzz_setting):
    """An account with a token, to send with half the cases."""
    user = UserFactory()
    _, secret = account_services.api_token_create(user=user, name="fuzz")
    return user, secret


def real_poll(owner):
    poll = PollFactory(owner=owner)
    services.vote_cast(
        poll=poll,
        voter=Voter(token=new_voter_token(), ip=""),
        option_ids=[poll.options.first().pk],
        comment="A comment to remove",
    )
    return poll, poll.ballots.get().pk


def test_every_operation_answers_as_documented(world):
    """Whatever is sent, the API answers a documented status with a documented body."""
    user, secret = world
    api_schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", application)
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert operations

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def answers_as_documented(case):
            if (hash(repr(case.body)) + hash(repr(case.query))) % 2:
                poll, ballot_id = real_poll(user)
                if case.path_parameters and "code" in case.path_parameters:
                    case.path_parameters["code"] = poll.code
                if case.path_parameters and "comment_id" in case.path_parameters:
                    case.path_parameters["comment_id"] = ballot_id
                case.headers = {**(case.headers or {}), "Authorization": f"Bearer {secret}"}
            case.call_and_validate(checks=CHECKS)

        answers_as_documented()
