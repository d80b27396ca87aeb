"""Input checks for creating a circle, shared by the pages and the JSON API."""

from datetime import UTC, datetime

from django import forms
from django.utils import timezone

from core.validators import TEXT_VALIDATORS

INPUT_CLASS = (
    "mt-1 block w-full rounded-lg border border-slate-300 px-3 py-2 shadow-sm"
    " focus:border-indigo-500 focus:outline-none focus:ring-2 focus:ring-indigo-500/40"
    " aria-[invalid=true]:border-rose-500"
)
MAX_MEMBERS_LIMIT = 1000


class CircleCreateForm(forms.Form):
    name = forms.CharField(
        max_length=80, validators=TEXT_VALIDATORS, help_text="Up to 80 characters."
    )
    description = forms.CharField(
        max_length=1000,
        required=False,
        validators=TEXT_VALIDATORS,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    max_members = forms.IntegerField(
        min_value=2,
        max_value=MAX_MEMBERS_LIMIT,
        initial=50,
        label="Most members",
        help_text=f"From 2 to {MAX_MEMBERS_LIMIT}, you included.",
    )
    invite_expires_at = forms.DateTimeField(
        required=False,
        label="Invite link expires",
        help_text="Leave empty for a link that works until you replace it.",
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs.setdefault("class", INPUT_CLASS)

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not any(character.isalnum() for character in name):
            raise forms.ValidationError("Give the circle a name with letters or digits.")
        return name

    def clean_invite_expires_at(self) -> datetime | None:
        expires = self.cleaned_data.get("invite_expires_at")
        if expires is None:
            return None
        try:
            expires.astimezone(UTC)  # as the database will store it
        except OverflowError:
            raise forms.ValidationError("Pick an expiry before the year 9999.") from None
        if expires <= timezone.now():
            raise forms.ValidationError("Pick an expiry in the future.")
        return expires
