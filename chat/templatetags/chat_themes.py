"""{% poll_themes poll results_visible %}: the poll's comment themes where its results show."""

from django import template

from chat.themes import poll_themes_for

register = template.Library()


@register.inclusion_tag("chat/themes.html")
def poll_themes(poll, results_visible):
    return {"themes": poll_themes_for(poll=poll, visible=bool(results_visible))}
