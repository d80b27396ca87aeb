"""The API describes itself: OpenAPI 3 at /api/v1/openapi.json and docs at /api/v1/docs
served from Tally's own static files (the network may be closed), and every refusal,
ninja's schema validation included, has the pages' error body."""

import re

from django.contrib.staticfiles import finders

from tests.api.conftest import Program, error_of

PATHS = {
    "/api/v1/polls",
    "/api/v1/polls/{code}",
    "/api/v1/polls/{code}/close",
    "/api/v1/polls/{code}/reopen",
    "/api/v1/polls/{code}/vote",
    "/api/v1/polls/{code}/results",
    "/api/v1/polls/{code}/comments",
    "/api/v1/polls/{code}/comments/{comment_id}",
    "/api/v1/polls/{code}/ask",
    "/api/v1/notifications",
    "/api/v1/notifications/read",
    "/api/v1/voter-token",
}


def test_openapi_schema_lists_every_endpoint_and_the_auth_schemes(client, db):
    """The schema is OpenAPI 3 with each endpoint, and Bearer, voter-token and session auth."""
    schema = client.get("/api/v1/openapi.json").json()
    assert schema["openapi"].startswith("3.")
    assert set(schema["paths"]) >= PATHS
    schemes = schema["components"]["securitySchemes"]
    assert schemes["BearerToken"] == {"type": "http", "scheme": "bearer"}
    assert schemes["VoterToken"]["name"] == "X-Voter-Token"
    vote = schema["paths"]["/api/v1/polls/{code}/vote"]["post"]
    assert {"201", "400", "403", "404", "409", "429"} <= set(vote["responses"])
    ask = schema["paths"]["/api/v1/polls/{code}/ask"]["post"]
    assert "text/event-stream" in ask["responses"]["200"]["content"]


def test_docs_page_loads_its_scripts_from_this_site(client, db):
    """The docs page's scripts and styles are Tally's static files, none from a CDN."""
    page = client.get("/api/v1/docs").content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert any(asset.endswith("swagger-ui-bundle.js") for asset in assets)
    for asset in assets:
        assert asset.startswith("/static/"), asset
        assert finders.find(asset.removeprefix("/static/")), asset


def test_schema_validation_errors_have_the_error_body(db):
    """A value of the wrong type, from the body or the query, gets 400 naming the field."""
    program = Program({})
    wrong_type = program.post("/polls", {"question": 5, "options": "x"})
    assert wrong_type.status_code == 400
    assert error_of(wrong_type)["field"] in {"question", "options"}
    bad_id = program.post("/notifications/nope/read")
    assert bad_id.status_code in (400, 401)
    error_of(bad_id)
    long_query = program.get("/polls?q=" + "x" * 201)
    assert long_query.status_code == 400
    assert error_of(long_query)["field"] == "q"
    assert "detail" not in long_query.json()


def test_notifications_need_an_account(db):
    """Anonymous programs get 401 with the error body on the notification endpoints."""
    program = Program({})
    for response in (program.get("/notifications"), program.post("/notifications/read")):
        assert response.status_code == 401
        assert error_of(response)["code"] == "unauthorized"
