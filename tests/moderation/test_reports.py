"""Reporting a poll, and staff acting on reports in the admin: hide, restore, dismiss."""

import json

import pytest
from django.contrib.auth import get_user_model

from audit.models import Action, AuditEntry
from moderation.models import Report
from notifications.models import Kind, Notification
from polls.models import Poll
from tests.helpers import open_browser, text
from tests.polls.factories import PollFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def owned(user):
    return PollFactory(question="Best pizza topping?", owner=user)


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_superuser(
        username="moderator", email="mod@example.com", password="a long passphrase 42"
    )


def report(browser, poll, reason="spam", details="", **headers):
    return browser.post(
        f"/poll/{poll.code}/report",
        data=json.dumps({"reason": reason, "details": details}),
        content_type="application/json",
        HTTP_X_CSRFTOKEN=browser.csrf_token,
        **headers,
    )


def test_every_poll_page_offers_the_report_form_but_the_owners_own(owned, user):
    visitor_page = text(open_browser().get(owned.get_absolute_url()))
    assert "Report this poll" in visitor_page
    assert 'name="reason" value="personal_data"' in visitor_page
    assert "Report this poll" not in text(open_browser(user).get(owned.get_absolute_url()))


def test_a_report_is_taken_once_per_reporter(owned):
    browser = open_browser()
    first = report(browser, owned, details="Selling things")
    assert first.status_code == 201
    again = report(browser, owned, reason="abuse")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_reported"
    assert report(open_browser(), owned, reason="abuse").status_code == 201
    assert sorted(Report.objects.values_list("reason", flat=True)) == ["abuse", "spam"]
    assert Report.objects.get(reason="spam").details == "Selling things"


def test_a_report_needs_one_of_the_reasons(owned):
    refused = report(open_browser(), owned, reason="boring")
    assert refused.status_code == 400
    assert refused.json()["error"]["field"] == "reason"
    assert not Report.objects.exists()


def test_reports_are_rate_limited_per_address(settings):
    settings.RATELIMIT_ENABLE = True
    settings.RATELIMITS = {**settings.RATELIMITS, "report-ip": "2/h"}
    polls = PollFactory.create_batch(3)
    statuses = [report(open_browser(), poll).status_code for poll in polls]
    assert statuses == [201, 201, 429]


def test_htmx_report_answers_the_panel_with_its_outcome(owned):
    browser = open_browser()
    answer = browser.post(
        f"/poll/{owned.code}/report",
        {"reason": "misleading"},
        HTTP_X_CSRFTOKEN=browser.csrf_token,
        HTTP_HX_REQUEST="true",
    )
    assert answer.status_code == 201
    assert 'id="report"' in text(answer)
    assert "moderators will look at this poll" in text(answer)


def admin_action(staff, model: str, action: str, ids):
    browser = open_browser(staff)
    return browser.post(
        f"/admin/{model}/",
        {
            "action": action,
            "_selected_action": [str(pk) for pk in ids],
            "csrfmiddlewaretoken": browser.csrf_token,
        },
        follow=True,
    )


def test_staff_hide_a_reported_poll_its_owner_is_told_and_it_is_audited(owned, staff):
    report(open_browser(), owned, reason="spam")
    answer = admin_action(
        staff, "moderation/report", "hide_polls", Report.objects.values_list("pk", flat=True)
    )
    assert answer.status_code == 200
    owned.refresh_from_db()
    assert owned.is_hidden
    assert owned.hidden_reason == "Reported as spam or advertising."
    assert Report.objects.get().status == Report.Status.ACTIONED
    assert open_browser().get(owned.get_absolute_url()).status_code == 404
    [notice] = Notification.objects.filter(recipient=owned.owner, kind=Kind.MODERATED)
    assert notice.text == (
        "“Best pizza topping?” was hidden by moderators: Reported as spam or advertising."
        " Only you can see it now."
    )
    entry = AuditEntry.objects.get(action=Action.HIDE)
    assert (entry.actor, entry.object_id, entry.details) == (
        staff,
        owned.code,
        {"reason": "Reported as spam or advertising."},
    )


def test_the_owner_still_sees_a_hidden_poll_and_why(owned, staff, user):
    admin_action(staff, "polls/poll", "hide_polls", [owned.pk])
    page = open_browser(user).get(owned.get_absolute_url())
    assert page.status_code == 200
    assert "Hidden by moderators." in text(page)
    assert "It breaks the site&#x27;s rules." in text(page)


def test_staff_restore_a_hidden_poll(owned, staff):
    admin_action(staff, "polls/poll", "hide_polls", [owned.pk])
    admin_action(staff, "polls/poll", "restore_polls", [owned.pk])
    owned.refresh_from_db()
    assert not owned.is_hidden
    assert open_browser().get(owned.get_absolute_url()).status_code == 200
    assert list(AuditEntry.objects.order_by("id").values_list("action", flat=True)) == [
        Action.HIDE,
        Action.RESTORE,
    ]
    texts = Notification.objects.filter(kind=Kind.MODERATED).values_list("text", flat=True)
    assert "“Best pizza topping?” is visible again: moderators restored it." in texts


def test_dismissing_a_report_keeps_the_poll_and_is_audited(owned, staff):
    report(open_browser(), owned, reason="other")
    admin_action(staff, "moderation/report", "dismiss", Report.objects.values_list("pk", flat=True))
    assert Report.objects.get().status == Report.Status.DISMISSED
    assert Poll.objects.get(pk=owned.pk).hidden_at is None
    assert AuditEntry.objects.get().action == Action.REPORT_DISMISS


def test_owner_actions_are_audited_with_who_did_them(owned, user):
    browser = open_browser(user)
    for action in ("close", "reopen"):
        browser.post(f"/poll/{owned.code}/{action}", HTTP_X_CSRFTOKEN=browser.csrf_token)
    browser.post(f"/poll/{owned.code}/delete", HTTP_X_CSRFTOKEN=browser.csrf_token)
    entries = list(AuditEntry.objects.order_by("id").values_list("action", "actor", "object_id"))
    assert entries == [
        (Action.CLOSE, user.pk, owned.code),
        (Action.REOPEN, user.pk, owned.code),
        (Action.DELETE, user.pk, owned.code),
    ]


def test_the_audit_log_cannot_be_edited_or_deleted(owned, staff, user):
    browser = open_browser(user)
    browser.post(f"/poll/{owned.code}/close", HTTP_X_CSRFTOKEN=browser.csrf_token)
    entry = AuditEntry.objects.get()
    client = open_browser(staff)
    assert client.get("/admin/audit/auditentry/").status_code == 200
    change = client.post(
        f"/admin/audit/auditentry/{entry.pk}/change/",
        {"actor_label": "nobody", "csrfmiddlewaretoken": client.csrf_token},
    )
    assert change.status_code == 403
    assert (
        client.post(f"/admin/audit/auditentry/{entry.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert client.get("/admin/audit/auditentry/add/").status_code == 403
    entry.refresh_from_db()
    assert entry.actor_label == user.username
    with pytest.raises(ValueError, match="never changed"):
        entry.save()


@pytest.mark.parametrize(
    "page",
    [
        "polls/poll",
        "polls/ballot",
        "moderation/report",
        "audit/auditentry",
        "notifications/notification",
    ],
)
def test_moderators_can_search_and_filter_every_list(staff, owned, page):
    assert open_browser(staff).get(f"/admin/{page}/?q=pizza").status_code == 200
