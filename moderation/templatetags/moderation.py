from django import template

from moderation.models import Reason

register = template.Library()


@register.inclusion_tag("moderation/report_form.html", takes_context=True)
def report_panel(context, poll):
    """The "Report this poll" form, for the foot of a poll page."""
    return {"poll": poll, "report_reasons": Reason.choices, "csrf_token": context.get("csrf_token")}
