"""The API's documents: what the pages' JSON already answers with, and what clients send."""

from datetime import datetime

from ninja import Schema

from core.api_errors import ErrorBody

# Schemas: the documents the pages' JSON already answers with.


class ResultOption(Schema):
    id: int
    text: str
    votes: int | None
    percentage: float | None


class Results(Schema):
    code: str
    question: str
    total_votes: int
    closed: bool
    results_visible: bool
    options: list[ResultOption]


class VoteAccepted(Results):
    your_vote: list[int] | None  # null in an anonymous poll: the choice is not kept


class VoteRefused(ErrorBody):
    results: Results | None = None  # with a vote's refusal: the results as they stand


class VoterTokenOut(Schema):
    voter_token: str


class PollCreated(Schema):
    code: str
    url: str
    share_url: str


class OptionOut(Schema):
    id: int
    text: str


class PollSummary(Schema):
    code: str
    url: str
    question: str
    description: str
    choice_type: str
    closed: bool
    created_at: datetime


class PollPage(Schema):
    items: list[PollSummary]
    next: str | None


class PollDetail(PollSummary):
    share_url: str
    question_edited: bool
    options: list[OptionOut]
    results_visibility: str
    allow_comments: bool
    protection: str
    listed: bool
    anonymous: bool
    closes_at: datetime | None
    timezone: str
    is_owner: bool


class CommentOut(Schema):
    id: int
    text: str
    created_at: datetime


class CommentPage(Schema):
    items: list[CommentOut]
    next: str | None


class PollEditIn(Schema):
    """The edit form's fields; each one left out keeps its current value."""

    question: str | None = None
    description: str | None = None
    options: list[str] | None = None
    results_visibility: str | None = None
    comments: str | None = None
    visibility: str | None = None
    closes_at: str | None = None
    timezone: str | None = None
    vote_changes: str | None = None
    anonymous: bool | str | None = None  # true or "on"; fixed once the poll has votes


class PollCreateIn(PollEditIn):
    """The create form's fields: question and 2 to 20 options are needed; the rest default."""

    choice_type: str | None = None
    protection: str | None = None
    circle: str | None = None


class VoteIn(Schema):
    """An option id (a list of them for multiple choice) and an optional comment."""

    option: int | list[int] | None = None
    comment: str | None = None
    idempotency_key: str | None = None
