from django import forms

from moderation.models import Reason

FIELD_CLASS = (
    "mt-1 block w-full rounded-lg border border-slate-300 px-3 py-2 text-sm shadow-sm"
    " focus:border-indigo-500 focus:outline-none focus:ring-2 focus:ring-indigo-500/40"
)


class ReportForm(forms.Form):
    reason = forms.ChoiceField(
        choices=Reason.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose what is wrong with this poll."},
    )
    details = forms.CharField(
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3, "class": FIELD_CLASS}),
        help_text="Optional: what moderators should look at.",
    )
