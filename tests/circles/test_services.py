"""Circle services: creating, joining by invite, rotating, leaving and removing."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import Action, AuditEntry
from circles import services
from circles.models import Circle, Membership
from notifications.models import Kind, Notification
from notifications.services import notification_create
from tests.accounts.factories import UserFactory
from tests.circles.factories import CircleFactory, circle_poll, member_of

pytestmark = pytest.mark.django_db


def test_the_creator_becomes_the_admin_member(admin):
    """Creating a circle makes its creator its one admin."""
    circle = services.circle_create(user=admin, name="Reading group", max_members=5)
    membership = Membership.objects.get(circle=circle)
    assert (membership.user, membership.role) == (admin, Membership.Role.ADMIN)
    assert circle.slug == "reading-group"


def test_two_circles_of_one_name_get_different_slugs(admin):
    """Slugs stay unique when names repeat."""
    first = services.circle_create(user=admin, name="Team")
    second = services.circle_create(user=admin, name="Team")
    assert first.slug != second.slug


def test_joining_twice_is_harmless(circle, member):
    """A member who follows the invite again stays one member."""
    _circle, joined = services.circle_join(invite_code=circle.invite_code, user=member)
    assert joined is False
    assert circle.memberships.filter(user=member).count() == 1


def test_a_full_circle_refuses_a_new_member(admin):
    """Past max_members the invite answers 409 circle_full."""
    circle = CircleFactory(user=admin, max_members=2)
    member_of(circle)
    with pytest.raises(services.CircleRefused) as refused:
        member_of(circle)
    assert (refused.value.status, refused.value.code) == (409, "circle_full")


def test_an_expired_invite_is_refused(admin):
    """After invite_expires_at the link answers 410."""
    circle = CircleFactory(user=admin, invite_expires_at=timezone.now() + timedelta(hours=1))
    Circle.objects.filter(pk=circle.pk).update(invite_expires_at=timezone.now())
    with pytest.raises(services.CircleRefused) as refused:
        member_of(circle)
    assert refused.value.status == 410


def test_rotating_the_invite_kills_the_old_link(circle, admin):
    """After a rotation the old code joins nobody; the new one works."""
    old = circle.invite_code
    services.invite_rotate(circle=circle, user=admin)
    with pytest.raises(services.CircleRefused) as refused:
        services.circle_join(invite_code=old, user=UserFactory())
    assert refused.value.code == "invite_unknown"
    member_of(circle)


def test_only_an_admin_rotates_or_removes(circle, member, admin):
    """A plain member is refused with 403."""
    with pytest.raises(services.CircleRefused) as refused:
        services.invite_rotate(circle=circle, user=member)
    assert refused.value.status == 403
    with pytest.raises(services.CircleRefused):
        services.member_remove(circle=circle, user=member, member_id=admin.pk)


def test_removing_a_member_is_audited(circle, member, admin):
    """A removal writes an audit row naming who was removed."""
    services.member_remove(circle=circle, user=admin, member_id=member.pk)
    assert not circle.memberships.filter(user=member).exists()
    entry = AuditEntry.objects.get(action=Action.MEMBER_REMOVE)
    assert entry.actor == admin
    assert entry.object_id == str(circle.pk)
    assert entry.details["member"] == "bo"


def test_the_last_admin_leaving_hands_the_role_on(circle, member, admin):
    """The circle keeps an admin: the longest-standing member becomes one."""
    services.circle_leave(circle=circle, user=admin)
    assert Membership.objects.get(circle=circle, user=member).role == Membership.Role.ADMIN


def test_the_last_member_leaving_deletes_the_circle(circle, admin, private_poll):
    """A circle nobody is in is gone, with the polls nobody could reach any more."""
    services.circle_leave(circle=circle, user=admin)
    assert not Circle.objects.filter(pk=circle.pk).exists()
    assert not type(private_poll).objects.filter(pk=private_poll.pk).exists()


def test_an_admin_removes_themselves_by_leaving(circle, admin):
    with pytest.raises(services.CircleRefused) as refused:
        services.member_remove(circle=circle, user=admin, member_id=admin.pk)
    assert refused.value.code == "remove_self"


def test_a_former_member_loses_and_gets_no_notifications_of_circle_polls(
    circle, member, django_capture_on_commit_callbacks
):
    """Leaving drops the member's notifications about the circle's polls, and no new
    one is made for a poll they can no longer reach."""
    poll = circle_poll(circle, member)
    notification_create(recipient_id=member.pk, kind=Kind.COMMENT, text="New comment", poll=poll)
    assert Notification.objects.filter(recipient=member).count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        services.circle_leave(circle=circle, user=member)
    assert Notification.objects.filter(recipient=member).count() == 0
    assert (
        notification_create(recipient_id=member.pk, kind=Kind.COMMENT, text="x", poll=poll) is None
    )
