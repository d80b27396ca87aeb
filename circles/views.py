"""The circle pages that belong to membership: your circles, a new circle, joining by an
invite, rotating the invite, removing a member, leaving.

A circle's own page lists its polls, so it is drawn by polls (polls/views/circles.py),
which asks circle_context() here for everything about the circle itself.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from circles import selectors, services
from circles.forms import CircleCreateForm
from circles.models import Circle, Membership
from core.http import (
    BadRequest,
    is_json_request,
    json_error,
    read_payload,
    redirect_after_post,
    site_root,
)
from core.views import bad_request_response, error_response

DETAIL = "circles/detail.html"


def circle_url(circle: Circle) -> str:
    return reverse("polls:circle", kwargs={"slug": circle.slug})


def invite_url(request, circle: Circle) -> str:
    return site_root(request) + reverse("circles:join", kwargs={"invite": circle.invite_code})


def circle_context(request, circle: Circle, membership: Membership) -> dict:
    """What the circle's page and its fragments show this member."""
    members = selectors.circle_members(circle=circle)
    return {
        "circle": circle,
        "membership": membership,
        "is_admin": membership.role == Membership.Role.ADMIN,
        "members": members,
        "full": len(members) >= circle.max_members,
        "invite_url": invite_url(request, circle),
        "invite_valid": circle.invite_valid(),
    }


def member_circle_or_404(request, slug: str) -> tuple[Circle, Membership]:
    """The circle and the viewer's membership; 404 to everyone who is not a member."""
    found = selectors.member_circle(slug=slug, user=request.user)
    if found is None:
        raise Http404("No such circle")
    return found


def refusal(request, error: services.CircleRefused, page: str = "circles/refused.html"):
    return error_response(
        request, status=error.status, code=error.code, message=error.message, page=page
    )


@login_required
@require_GET
def circle_list(request):
    return render(
        request, "circles/list.html", {"circles": selectors.user_circles(user=request.user)}
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def circle_new(request):
    if request.method != "POST":
        return render(request, "circles/new.html", {"form": CircleCreateForm()})
    try:
        form = CircleCreateForm(read_payload(request))
    except BadRequest as error:
        return bad_request_response(request, error)
    if not form.is_valid():
        if is_json_request(request):
            field, errors = next(iter(form.errors.items()))
            return json_error(400, "invalid", errors[0], None if field == "__all__" else field)
        template = "circles/new.html#form" if request.htmx else "circles/new.html"
        return render(request, template, {"form": form}, status=400)
    try:
        circle = services.circle_create(user=request.user, **form.cleaned_data)
    except services.CircleRefused as error:
        return refusal(request, error)
    document = {"slug": circle.slug, "url": circle_url(circle)}
    return redirect_after_post(request, circle_url(circle), json=document, status=201)


@require_http_methods(["GET", "HEAD", "POST"])
def join(request, invite: str):
    """GET: the circle an invite leads to, and a Join button; POST: join it."""
    circle = selectors.circle_by_invite(invite_code=invite)
    context = {"invite": invite, "circle": circle}
    if circle is None:
        return _join_refused(request, context, services.INVITE_UNKNOWN)
    membership = selectors.membership_of(circle=circle, user=request.user)
    context.update(
        membership=membership,
        member_count=selectors.member_count(circle=circle),
        circle_url=circle_url(circle),
    )
    if membership is None and not circle.invite_valid():
        return _join_refused(request, context, services.INVITE_EXPIRED)
    if membership is None and context["member_count"] >= circle.max_members:
        return _join_refused(request, context, services.CIRCLE_FULL)
    if request.method != "POST":
        return render(request, "circles/join.html", context)
    if not request.user.is_authenticated:
        if is_json_request(request):
            return json_error(401, "unauthorized", "Sign in to join a circle.")
        return _join_refused(
            request, context, services.CircleRefused(403, "sign_in", "Sign in to join.")
        )
    try:
        circle, joined = services.circle_join(invite_code=invite, user=request.user)
    except services.CircleRefused as error:
        return _join_refused(request, context, error)
    if joined:
        messages.success(request, f"You joined {circle.name}.")
    document = {"slug": circle.slug, "url": circle_url(circle), "joined": joined}
    return redirect_after_post(
        request, circle_url(circle), json=document, status=201 if joined else 200
    )


def _join_refused(request, context: dict, error: services.CircleRefused):
    if is_json_request(request):
        return json_error(error.status, error.code, error.message)
    context = {**context, "refused": error.message}
    template = "circles/join.html#join-panel" if request.htmx else "circles/join.html"
    return render(request, template, context, status=error.status)


@require_POST
def invite_rotate(request, slug: str):
    circle, membership = member_circle_or_404(request, slug)
    try:
        circle = services.invite_rotate(circle=circle, user=request.user)
    except services.CircleRefused as error:
        return refusal(request, error)
    context = circle_context(request, circle, membership)
    if is_json_request(request):
        return JsonResponse({"invite_url": context["invite_url"]})
    if request.htmx:
        context["invite_message"] = "New link made: the old one no longer works."
        return render(request, f"{DETAIL}#invite", context)
    messages.success(request, "New invite link made: the old one no longer works.")
    return redirect_after_post(request, circle_url(circle))


@require_POST
def member_remove(request, slug: str, user_id: int):
    circle, membership = member_circle_or_404(request, slug)
    try:
        services.member_remove(circle=circle, user=request.user, member_id=user_id)
    except services.CircleRefused as error:
        return refusal(request, error)
    if is_json_request(request):
        return JsonResponse({"removed": user_id})
    if request.htmx:
        context = circle_context(request, circle, membership)
        context["members_message"] = "Removed: they no longer see this circle or its polls."
        return render(request, f"{DETAIL}#members", context)
    messages.success(request, "Member removed: they no longer see this circle or its polls.")
    return redirect_after_post(request, circle_url(circle))


@require_http_methods(["GET", "HEAD", "POST"])
def leave(request, slug: str):
    """GET: ask to confirm (what leaving costs); POST: leave."""
    circle, membership = member_circle_or_404(request, slug)
    if request.method != "POST":
        context = circle_context(request, circle, membership)
        context["last_member"] = len(context["members"]) == 1
        return render(request, "circles/leave.html", context)
    try:
        services.circle_leave(circle=circle, user=request.user)
    except services.CircleRefused as error:  # left in another tab a moment ago
        return refusal(request, error)
    messages.info(request, f"You left {circle.name}.")
    return redirect_after_post(request, reverse("circles:list"), json={"left": slug})
