"""Signing up, logging in and out, and passwords.

Django's auth views do the work; Tally adds per-address rate limits on the forms that guess
or create credentials, 400 for refused forms, and htmx answers (the form fragment, or a
client redirect on success) beside the plain-form ones.
"""

from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from accounts import services
from accounts.forms import (
    LoginForm,
    PasswordChangeForm,
    PasswordResetForm,
    SetPasswordForm,
    SignUpForm,
)
from core.http import redirect_after_post
from core.ratelimit import ratelimit_hit
from core.security import client_ip


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
    form_class = LoginForm
    rate_limit_scope = "login-ip"


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
    return redirect_after_post(request, next_url or reverse("polls:my-polls"))
