"""Circles through the JSON API: your circles, creating one, and a circle's members.

Every operation needs an account (a personal token, or the browser's session with CSRF on
changes); a circle you are not in answers 404, as on the pages.
"""

from datetime import datetime

from django.http import QueryDict
from ninja import Router, Schema, Status

from circles import selectors, services
from circles.forms import CircleCreateForm
from circles.models import Circle, Membership
from circles.views import circle_url, invite_url
from core.api_errors import refusals
from core.http import Refused

router = Router(tags=["circles"])


class CircleOut(Schema):
    slug: str
    name: str
    description: str
    url: str
    invite_url: str
    invite_expires_at: datetime | None
    max_members: int
    members: int
    role: str


class CirclePage(Schema):
    items: list[CircleOut]


class CircleIn(Schema):
    """The new-circle form's fields: a name is needed; the rest default."""

    name: str
    description: str | None = None
    max_members: int | None = None
    invite_expires_at: datetime | None = None


class MemberOut(Schema):
    id: int
    username: str
    role: str
    joined_at: datetime


class MemberPage(Schema):
    items: list[MemberOut]


def signed_in_user(request):
    if not request.user.is_authenticated:
        raise Refused(
            401,
            "unauthorized",
            "Circles belong to accounts: send your API token"
            " (Authorization: Bearer <token>) or sign in.",
        )
    return request.user


def refused(error: services.CircleRefused) -> Refused:
    """The circle services' refusal as the API's error body answers it."""
    return Refused(error.status, error.code, error.message)


def circle_document(request, circle: Circle, *, members: int, role: str) -> dict:
    return {
        "slug": circle.slug,
        "name": circle.name,
        "description": circle.description,
        "url": circle_url(circle),
        "invite_url": invite_url(request, circle),
        "invite_expires_at": circle.invite_expires_at,
        "max_members": circle.max_members,
        "members": members,
        "role": role,
    }


@router.get("/circles", response={200: CirclePage, **refusals()}, summary="Your circles")
def circle_list(request):
    """The circles you are in, by name, with your role in each."""
    user = signed_in_user(request)
    circles = selectors.user_circles(user=user)
    return {
        "items": [
            circle_document(request, circle, members=circle.member_count, role=circle.role)
            for circle in circles
        ]
    }


@router.post("/circles", response={201: CircleOut, **refusals()}, summary="Create a circle")
def circle_create(request, payload: CircleIn):
    """Create a circle; you are its admin and first member."""
    user = signed_in_user(request)
    data = QueryDict(mutable=True)
    data.update({"max_members": str(CircleCreateForm.base_fields["max_members"].initial)})
    for name, value in payload.dict(exclude_none=True).items():
        data[name] = value.isoformat() if isinstance(value, datetime) else str(value)
    form = CircleCreateForm(data)
    if not form.is_valid():
        field, errors = next(iter(form.errors.items()))
        raise Refused(400, "invalid", errors[0], None if field == "__all__" else field)
    try:
        circle = services.circle_create(user=user, **form.cleaned_data)
    except services.CircleRefused as error:
        raise refused(error) from None
    document = circle_document(request, circle, members=1, role=Membership.Role.ADMIN)
    return Status(201, document)


@router.get("/circles/{slug}/members", response={200: MemberPage, **refusals()}, summary="Members")
def member_list(request, slug: str):
    """A circle's members, admins first (only for its members)."""
    user = signed_in_user(request)
    found = selectors.member_circle(slug=slug, user=user)
    if found is None:
        raise refused(services.NOT_FOUND)
    return {
        "items": [
            {
                "id": membership.user_id,
                "username": membership.user.get_username(),
                "role": membership.role,
                "joined_at": membership.joined_at,
            }
            for membership in selectors.circle_members(circle=found[0])
        ]
    }
