"""Signing up, logging in and out, and passwords.

Django's auth views do the work; Tally adds per-address rate limits on the forms that guess
or create credentials, 400 for refused forms, and htmx answers (the form fragment, or a
client redirect on success) beside the plain-form ones.
"""

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from accounts import selectors, services
from accounts.forms import (
    ApiTokenForm,
    LoginForm,
    PasswordChangeForm,
    PasswordResetForm,
    SetPasswordForm,
    SignUpForm,
)
from core.http import redirect_after_post, see_other, site_root
from core.ratelimit import ratelimit_hit
from core.security import client_ip
from notifications import verification


def safe_next(request) -> str:
    """The `next` page the form carries, if it is on this site; empty otherwise."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return ""


class HtmxFormMixin:
    """Count POSTs against rate_limit_scope per address; refused forms answer 400; htmx
    gets the form fragment back, or a client redirect on success."""

    rate_limit_scope = ""

    def post(self, request, *args, **kwargs):
        if self.rate_limit_scope:
            ratelimit_hit(scope=self.rate_limit_scope, ident=client_ip(request))
        return super().post(request, *args, **kwargs)

    def get_template_names(self):
        names = super().get_template_names()
        if self.request.htmx:
            return [f"{name}#form" for name in names]
        return names

    def form_invalid(self, form):
        response = super().form_invalid(form)
        response.status_code = 400
        return response

    def form_valid(self, form):
        response = super().form_valid(form)
        if isinstance(response, HttpResponseRedirect):
            return redirect_after_post(self.request, response.url)
        return response


class LoginView(HtmxFormMixin, auth_views.LoginView):
    """Log-in attempts are throttled per address and per username by
    core.middleware.LoginThrottleMiddleware, as the admin's are."""

    form_class = LoginForm


class PasswordChangeView(HtmxFormMixin, auth_views.PasswordChangeView):
    form_class = PasswordChangeForm


class PasswordResetView(HtmxFormMixin, auth_views.PasswordResetView):
    form_class = PasswordResetForm
    # Each request may send an email: hold it to the login limit of the address.
    rate_limit_scope = "login-ip"


class PasswordResetConfirmView(HtmxFormMixin, auth_views.PasswordResetConfirmView):
    form_class = SetPasswordForm


@require_http_methods(["GET", "POST"])
def signup(request):
    next_url = safe_next(request)
    if request.user.is_authenticated and request.method == "GET":
        return redirect(next_url or reverse("polls:my-polls"))
    template = "registration/signup.html#form" if request.htmx else "registration/signup.html"
    if request.method == "GET":
        return render(request, template, {"form": SignUpForm(), "next": next_url})

    ratelimit_hit(scope="signup-ip", ident=client_ip(request))
    form = SignUpForm(request.POST)
    if not form.is_valid():
        return render(request, template, {"form": form, "next": next_url}, status=400)
    user = services.user_create(
        username=form.cleaned_data["username"],
        email=form.cleaned_data["email"],
        password=form.cleaned_data["password1"],
    )
    # Logging in claims the polls this browser created (accounts.signals).
    login(request, user)
    if verification.verification_email_queue(user=user, site_url=site_root(request)):
        messages.info(
            request,
            f"Welcome! We sent a link to {user.email}: open it so Tally may email you.",
        )
    return redirect_after_post(request, next_url or reverse("polls:my-polls"))


@require_http_methods(["GET", "HEAD"])
def verify_email(request, token: str):
    """The link from the verification email: opening it proves the address."""
    user = verification.email_verify(token=token)
    status = 200 if user is not None else 400
    return render(request, "registration/verify_email_done.html", {"verified": user}, status=status)


@login_required
@require_POST
def verify_email_again(request):
    ratelimit_hit(scope="verify-email", ident=f"u:{request.user.pk}")
    if verification.verification_email_queue(user=request.user, site_url=site_root(request)):
        messages.success(request, f"A new link is on its way to {request.user.email}.")
    else:
        messages.info(request, "There is no unconfirmed address on your account.")
    return see_other(reverse("notifications:preferences"))


# Personal API tokens

TOKENS_TEMPLATE = "accounts/tokens.html"


def tokens_context(request, *, form=None, created=None, secret="") -> dict:
    return {
        "form": form or ApiTokenForm(),
        "tokens": selectors.api_tokens(user=request.user),
        "created": created,
        "secret": secret,
    }


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def api_tokens(request):
    """List the user's API tokens; a POST creates one, whose secret is shown this once."""
    template = f"{TOKENS_TEMPLATE}#tokens" if request.htmx else TOKENS_TEMPLATE
    if request.method != "POST":
        return render(request, TOKENS_TEMPLATE, tokens_context(request))
    ratelimit_hit(scope="api-token", ident=f"u:{request.user.pk}")
    form = ApiTokenForm(request.POST)
    if not form.is_valid():
        return render(request, template, tokens_context(request, form=form), status=400)
    token, secret = services.api_token_create(
        user=request.user,
        name=form.cleaned_data["name"],
        expires_at=form.expires_at(timezone.now()),
    )
    # The secret is in this answer only: never cache it, never store it.
    response = render(
        request, template, tokens_context(request, created=token, secret=secret), status=201
    )
    patch_cache_control(response, no_store=True, private=True)
    return response


@login_required
@require_POST
def api_token_revoke(request, token_id: int):
    services.api_token_revoke(user=request.user, token_id=token_id)
    if request.htmx:
        return render(request, f"{TOKENS_TEMPLATE}#tokens", tokens_context(request))
    messages.success(request, "The token is revoked: programs using it are refused from now on.")
    return see_other(reverse("accounts:tokens"))
