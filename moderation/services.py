"""Writes of moderation: visitors reporting polls, staff acting on the reports.

Hiding goes through polls.services.hiding, which audits it and tells the owner; a dismissal
is audited here.
"""

from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.models import Action
from audit.services import audit_record
from core.voters import Voter
from moderation.models import Reason, Report
from polls.models import Poll
from polls.services.hiding import poll_hide, poll_restore


class AlreadyReported(Exception):
    """This reporter has reported this poll before."""


def report_create(*, poll: Poll, voter: Voter, reason: str, details: str = "") -> Report:
    try:
        with transaction.atomic():
            return Report.objects.create(
                poll=poll,
                reporter_key=voter.key,
                reporter_id=voter.user_id,
                reason=reason,
                details=details.strip()[:1000],
            )
    except IntegrityError as error:
        raise AlreadyReported from error


def reports_hide_polls(*, reports, actor) -> int:
    """Hide the poll of each report, with the report's reason; returns how many polls."""
    hidden = 0
    with transaction.atomic():
        for poll_id in sorted({report.poll_id for report in reports}):
            poll = Poll.objects.get(pk=poll_id)
            first = next(report for report in reports if report.poll_id == poll_id)
            reason = f"Reported as {Reason(first.reason).label.lower()}."
            hidden += poll_hide(poll=poll, reason=reason, actor=actor)
            Report.objects.filter(poll_id=poll_id, status=Report.Status.OPEN).update(
                status=Report.Status.ACTIONED, reviewed_by=actor, reviewed_at=timezone.now()
            )
    return hidden


def reports_dismiss(*, reports, actor) -> int:
    dismissed = 0
    with transaction.atomic():
        for report in reports:
            if report.status != Report.Status.OPEN:
                continue
            Report.objects.filter(pk=report.pk).update(
                status=Report.Status.DISMISSED, reviewed_by=actor, reviewed_at=timezone.now()
            )
            audit_record(
                actor=actor,
                action=Action.REPORT_DISMISS,
                object_type="report",
                object_id=report.pk,
                object_label=str(report),
            )
            dismissed += 1
    return dismissed


def polls_restore(*, polls, actor) -> int:
    return sum(poll_restore(poll=poll, actor=actor) for poll in polls)
