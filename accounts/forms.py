"""Account forms: Django's own, with Tally's input styling and autocomplete hints."""

from django import forms
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.models import User

INPUT_CLASS = (
    "mt-1 block w-full rounded-lg border border-slate-300 px-3 py-2 shadow-sm"
    " focus:border-indigo-500 focus:outline-none focus:ring-2 focus:ring-indigo-500/40"
    " aria-[invalid=true]:border-rose-500"
)


class StyledFormMixin:
    """Give every input the site's look; aria-invalid marks the ones with errors."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs.setdefault("class", INPUT_CLASS)


class SignUpForm(StyledFormMixin, auth_forms.UserCreationForm):
    email = forms.EmailField(
        required=False,
        help_text="Only used to reset your password.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    class Meta(auth_forms.UserCreationForm.Meta):
        model = User
        fields = ("username", "email")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].widget.attrs.update(autocomplete="username", autofocus=True)


class LoginForm(StyledFormMixin, auth_forms.AuthenticationForm):
    pass


class PasswordChangeForm(StyledFormMixin, auth_forms.PasswordChangeForm):
    pass


class PasswordResetForm(StyledFormMixin, auth_forms.PasswordResetForm):
    pass


class SetPasswordForm(StyledFormMixin, auth_forms.SetPasswordForm):
    pass
