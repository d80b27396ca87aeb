"""Reads: who belongs to a circle, a user's circles, and finding a circle by slug or invite."""

from django.db.models import Count, QuerySet

from circles.models import Circle, Membership


def circle_member_ids(*, circle_id: int) -> frozenset[int]:
    """The user ids of the circle's members, in one query."""
    return frozenset(
        Membership.objects.filter(circle_id=circle_id).values_list("user_id", flat=True)
    )


def user_circle_ids(*, user_id: int) -> QuerySet:
    """The ids of the user's circles, as a subquery to filter other tables with."""
    return Membership.objects.filter(user_id=user_id).values("circle_id")


def user_circles(*, user) -> list[Circle]:
    """The circles the user belongs to, by name, each with `member_count` and `role`."""
    if not getattr(user, "is_authenticated", False):
        return []
    memberships = (
        Membership.objects.filter(user=user)
        .select_related("circle")
        .annotate(member_count=Count("circle__memberships"))
        .order_by("circle__name", "circle_id")
    )
    circles = []
    for membership in memberships:
        circle = membership.circle
        circle.member_count = membership.member_count
        circle.role = membership.role
        circles.append(circle)
    return circles


def membership_of(*, circle: Circle, user) -> Membership | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return Membership.objects.filter(circle=circle, user=user).first()


def member_circle(*, slug: str, user) -> tuple[Circle, Membership] | None:
    """The circle with this slug and the user's membership of it, if the user is a member."""
    if not getattr(user, "is_authenticated", False):
        return None
    membership = (
        Membership.objects.filter(circle__slug=slug, user=user).select_related("circle").first()
    )
    return None if membership is None else (membership.circle, membership)


def circle_members(*, circle: Circle) -> list[Membership]:
    """The circle's memberships with their users, admins first, then by joining order."""
    return list(
        circle.memberships.select_related("user").order_by(
            "role", "joined_at", "id"
        )  # "admin" sorts first
    )


def circle_by_invite(*, invite_code: str) -> Circle | None:
    if not invite_code:
        return None
    return Circle.objects.filter(invite_code=invite_code).first()


def member_count(*, circle: Circle) -> int:
    return circle.memberships.count()
