import functools

from notifications.selectors import unread_count


def bell(request):
    """The unread count for the header's bell: counted only if a template shows it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    # Templates call a callable variable; the cache keeps it to one query per render.
    return {"unread_count": functools.cache(lambda: unread_count(user_id=user.pk))}
