from zoneinfo import available_timezones

from django import forms

from notifications.models import Kind, Preferences

TIMEZONE_CHOICES = [(name, name.replace("_", " ")) for name in sorted(available_timezones())]


class PreferencesForm(forms.ModelForm):
    """Per kind: in the bell, by email. Plus quiet hours and a daily cap on emails."""

    timezone = forms.ChoiceField(choices=TIMEZONE_CHOICES)
    quiet_start = forms.TimeField(
        required=False, widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    quiet_end = forms.TimeField(
        required=False, widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    emails_per_day = forms.IntegerField(min_value=0, max_value=100)

    class Meta:
        model = Preferences
        fields = [
            *(f"{kind}_{channel}" for kind in Kind.values for channel in ("in_app", "email")),
            "quiet_start",
            "quiet_end",
            "timezone",
            "emails_per_day",
        ]

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("quiet_start"), cleaned.get("quiet_end")
        if (start is None) != (end is None):
            field = "quiet_end" if end is None else "quiet_start"
            self.add_error(field, "Give both the start and the end of quiet hours, or neither.")
        return cleaned

    def kind_rows(self):
        """(label, in-app field, email field) for each kind, for the preferences table."""
        return [
            (label, self[f"{kind}_in_app"], self[f"{kind}_email"]) for kind, label in Kind.choices
        ]
