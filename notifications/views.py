"""The notification list, marking read and preferences. Each works with htmx, as a plain
form and (for marking read) as JSON."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from core.http import is_json_request, see_other
from notifications import selectors, services
from notifications.forms import PreferencesForm
from notifications.live import render_badge

PAGE_SIZE = 50
LIST_TEMPLATE = "notifications/list.html"


def inbox_page(request):
    return Paginator(selectors.inbox(user_id=request.user.pk), PAGE_SIZE).get_page(
        request.GET.get("page")
    )


@login_required
@require_http_methods(["GET", "HEAD"])
def notification_list(request):
    page = inbox_page(request)
    template = f"{LIST_TEMPLATE}#inbox" if request.htmx else LIST_TEMPLATE
    return render(request, template, {"page": page})


@login_required
@require_POST
def mark_read(request, notification_id: int):
    user_id = request.user.pk
    notification = selectors.inbox(user_id=user_id).filter(pk=notification_id).first()
    if notification is None:
        raise Http404("No such notification.")
    services.notification_mark_read(user_id=user_id, notification_id=notification_id)
    unread = selectors.unread_count(user_id=user_id)
    if is_json_request(request):
        return JsonResponse({"unread": unread})
    if request.htmx:
        notification.refresh_from_db()
        return render(
            request,
            f"{LIST_TEMPLATE}#item-read",
            {"notification": notification, "badge": render_badge(count=unread)},
        )
    return see_other(reverse("notifications:list"))


@login_required
@require_POST
def mark_all_read(request):
    user_id = request.user.pk
    services.notifications_mark_all_read(user_id=user_id)
    if is_json_request(request):
        return JsonResponse({"unread": 0})
    if request.htmx:
        context = {"page": inbox_page(request), "badge": render_badge(count=0)}
        return render(request, f"{LIST_TEMPLATE}#inbox", context)
    return see_other(reverse("notifications:list"))


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def preferences(request):
    current = services.preferences_for(user_id=request.user.pk)
    template = "notifications/preferences.html"
    context = {"email_verified": current.email_is_verified(request.user.email)}
    if request.method != "POST":
        return render(request, template, {**context, "form": PreferencesForm(instance=current)})
    form = PreferencesForm(request.POST, instance=current)
    if not form.is_valid():
        partial = f"{template}#form" if request.htmx else template
        return render(request, partial, {**context, "form": form}, status=400)
    services.preferences_update(user_id=request.user.pk, **form.cleaned_data)
    if request.htmx:
        return render(request, f"{template}#form", {**context, "form": form, "saved": True})
    messages.success(request, "Notification settings saved.")
    return see_other(reverse("notifications:preferences"))
