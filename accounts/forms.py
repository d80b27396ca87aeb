"""Account forms: Django's own, with Tally's input styling and autocomplete hints."""

from datetime import timedelta

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
        help_text="For password resets and, once you confirm it, the notices you choose.",
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


class ApiTokenForm(StyledFormMixin, forms.Form):
    """Name a new API token and choose how long it lasts."""

    EXPIRY_DAYS = {"never": None, "7": 7, "30": 30, "90": 90, "365": 365}

    name = forms.CharField(
        max_length=100,
        help_text="What the token is for, such as “Stand-up bot” or “Phone”.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    expires = forms.ChoiceField(
        label="Expires",
        choices=[
            ("never", "Never"),
            ("7", "In 7 days"),
            ("30", "In 30 days"),
            ("90", "In 90 days"),
            ("365", "In a year"),
        ],
        initial="90",
    )

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Give the token a name.")
        return name

    def expires_at(self, now):
        days = self.EXPIRY_DAYS[self.cleaned_data["expires"]]
        return None if days is None else now + timedelta(days=days)
