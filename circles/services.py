"""Writes: creating circles, joining by invite, rotating the invite, leaving, removing.

Joining locks the circle's row (PostgreSQL; SQLite serialises writers anyway), so two
people taking the last seat at once cannot both get it.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils.text import slugify

from audit.models import Action
from audit.services import audit_record
from circles.events import MemberLeft, MemberRemoved
from circles.models import Circle, Membership, new_invite_code
from core.events import announce

SLUG_MAX = 80


@dataclass
class CircleRefused(Exception):
    """A circle action that cannot happen, with its status and the user's message."""

    status: int
    code: str
    message: str


NOT_FOUND = CircleRefused(404, "not_found", "There is no circle here, or you are not in it.")
INVITE_UNKNOWN = CircleRefused(
    404, "invite_unknown", "This invite link does not work: it may have been replaced by a new one."
)
INVITE_EXPIRED = CircleRefused(
    410, "invite_expired", "This invite link has expired: ask for a new one."
)
CIRCLE_FULL = CircleRefused(
    409, "circle_full", "This circle is full: it has all the members it takes."
)


def _unique_slug(name: str) -> str:
    base = slugify(name)[:SLUG_MAX].strip("-") or "circle"
    slug, number = base, 2
    while Circle.objects.filter(slug=slug).exists():
        slug, number = f"{base}-{number}", number + 1
    return slug


def circle_create(
    *,
    user,
    name: str,
    description: str = "",
    max_members: int = 50,
    invite_expires_at: datetime | None = None,
) -> Circle:
    """Create a circle whose first member and admin is its creator."""
    for _attempt in range(3):
        try:
            with transaction.atomic():
                circle = Circle.objects.create(
                    name=name,
                    slug=_unique_slug(name),
                    description=description,
                    max_members=max_members,
                    invite_expires_at=invite_expires_at,
                    created_by=user,
                )
                Membership.objects.create(circle=circle, user=user, role=Membership.Role.ADMIN)
                return circle
        except IntegrityError:  # someone took the same slug a moment earlier
            continue
    raise CircleRefused(409, "slug_taken", "Try again: that name was taken a moment ago.")


def circle_join(*, invite_code: str, user) -> tuple[Circle, bool]:
    """Add the user to the invite's circle; return (circle, joined now). A member who
    joins again is left as they are."""
    with transaction.atomic():
        circle = Circle.objects.select_for_update().filter(invite_code=invite_code).first()
        if circle is None or not invite_code:
            raise INVITE_UNKNOWN
        if Membership.objects.filter(circle=circle, user=user).exists():
            return circle, False
        if not circle.invite_valid():
            raise INVITE_EXPIRED
        if circle.memberships.count() >= circle.max_members:
            raise CIRCLE_FULL
        try:
            with transaction.atomic():
                Membership.objects.create(circle=circle, user=user)
        except IntegrityError:  # the same user joining from two tabs at once
            return circle, False
    return circle, True


def _admin_membership(*, circle: Circle, user) -> Membership:
    membership = Membership.objects.filter(circle=circle, user=user).first()
    if membership is None:
        raise NOT_FOUND
    if membership.role != Membership.Role.ADMIN:
        raise CircleRefused(403, "forbidden", "Only the circle's admins can do that.")
    return membership


def invite_rotate(*, circle: Circle, user) -> Circle:
    """Admin: give the circle a new invite code; the old link stops working at once."""
    _admin_membership(circle=circle, user=user)
    circle.invite_code = new_invite_code()
    circle.save(update_fields=["invite_code"])
    return circle


def _last_admin(membership: Membership) -> bool:
    return (
        membership.role == Membership.Role.ADMIN
        and not membership.circle.memberships.filter(role=Membership.Role.ADMIN)
        .exclude(pk=membership.pk)
        .exists()
    )


def _hand_over_admin(membership: Membership) -> None:
    """A circle keeps an admin: the longest-standing other member becomes one."""
    successor = membership.circle.memberships.exclude(pk=membership.pk).first()
    if successor is not None:
        successor.role = Membership.Role.ADMIN
        successor.save(update_fields=["role"])


def circle_leave(*, circle: Circle, user) -> None:
    """The user leaves the circle. The last admin hands the role to the longest-standing
    member; the last member leaving deletes the circle and its polls."""
    with transaction.atomic():
        Circle.objects.select_for_update().filter(pk=circle.pk).first()
        membership = Membership.objects.filter(circle=circle, user=user).first()
        if membership is None:
            raise NOT_FOUND
        if _last_admin(membership):
            _hand_over_admin(membership)
        membership.delete()
        circle_id = circle.pk
        if not circle.memberships.exists():
            circle.delete()
        announce(MemberLeft(circle_id=circle_id, user_id=user.pk))


def member_remove(*, circle: Circle, user, member_id: int) -> None:
    """Admin: remove a member (audited). An admin removes themselves by leaving."""
    with transaction.atomic():
        Circle.objects.select_for_update().filter(pk=circle.pk).first()
        _admin_membership(circle=circle, user=user)
        membership = (
            Membership.objects.filter(circle=circle, user_id=member_id)
            .select_related("user")
            .first()
        )
        if membership is None:
            raise CircleRefused(404, "not_a_member", "That person is not in this circle.")
        if membership.user_id == user.pk:
            raise CircleRefused(
                409, "remove_self", "To stop being a member yourself, leave the circle."
            )
        membership.delete()
        audit_record(
            actor=user,
            action=Action.MEMBER_REMOVE,
            object_type="circle",
            object_id=circle.pk,
            object_label=circle.name,
            member_id=member_id,
            member=membership.user.get_username(),
        )
        announce(MemberRemoved(circle_id=circle.pk, user_id=member_id, removed_by_id=user.pk))
