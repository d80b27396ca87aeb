"""Input checks for creating, editing and voting, shared by the HTML, htmx and JSON paths."""

import zoneinfo
from datetime import UTC, datetime

from django import forms
from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.utils import timezone

from circles.selectors import member_circle, user_circles
from core.validators import TEXT_VALIDATORS
from polls.models import Poll

MIN_OPTIONS = 2
MAX_OPTIONS = 20
OPTION_MAX_LENGTH = 200
COMMENT_MAX_LENGTH = 1000


class OptionsWidget(forms.Widget):
    """Reads a repeated field: several `options` values, from a form or a JSON list."""

    def value_from_datadict(self, data, files, name):
        return data.getlist(name) if hasattr(data, "getlist") else data.get(name)

    def value_omitted_from_data(self, data, files, name):
        return name not in data


class OptionsField(forms.Field):
    widget = OptionsWidget

    def to_python(self, value):
        if value in (None, ""):
            return []
        values = value if isinstance(value, list) else [value]
        return [str(item).strip() for item in values if str(item).strip()]

    def validate(self, value):
        if len(value) < MIN_OPTIONS:
            raise ValidationError(f"Give at least {MIN_OPTIONS} options.", code="too_few")
        if len(value) > MAX_OPTIONS:
            raise ValidationError(f"Give at most {MAX_OPTIONS} options.", code="too_many")
        seen = set()
        for text in value:
            for validator in TEXT_VALIDATORS:
                validator(text)
            if len(text) > OPTION_MAX_LENGTH:
                raise ValidationError(
                    f"Each option can be at most {OPTION_MAX_LENGTH} characters.", code="too_long"
                )
            folded = text.casefold()
            if folded in seen:
                raise ValidationError(f"“{text}” is listed twice.", code="duplicate")
            seen.add(folded)


class FlagInput(forms.CheckboxInput):
    """A checkbox read as on ("on", "true", "1", JSON true) or off (anything else, or
    absent): the edit form sends "off" ahead of it, so an unticked box is not left out."""

    def value_from_datadict(self, data, files, name):
        return str(data.get(name, "")).lower() in ("on", "true", "1")


ANONYMOUS_VOTES_FINAL = "Votes in an anonymous poll are final: turn off vote changes."
ANONYMITY_LOCKED = "Anonymous mode is fixed once votes arrive."


def _choice_field(choices, initial, label):
    return forms.ChoiceField(
        choices=choices, initial=initial, required=False, label=label, widget=forms.RadioSelect
    )


class PollCreateForm(forms.Form):
    question = forms.CharField(max_length=500, validators=TEXT_VALIDATORS)
    description = forms.CharField(
        max_length=2000,
        required=False,
        validators=TEXT_VALIDATORS,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    options = OptionsField()
    choice_type = _choice_field(Poll.ChoiceType.choices, Poll.ChoiceType.SINGLE, "Answers")
    results_visibility = _choice_field(
        Poll.ResultsVisibility.choices, Poll.ResultsVisibility.ALWAYS, "Show results"
    )
    comments = _choice_field(
        [("allowed", "Voters may add a comment"), ("off", "No comments")], "allowed", "Comments"
    )
    protection = _choice_field(Poll.Protection.choices, Poll.Protection.TOKEN, "Duplicate votes")
    visibility = _choice_field(
        [("listed", "Listed: public and searchable"), ("unlisted", "Unlisted: link only")],
        "listed",
        "Who can find it",
    )
    vote_changes = _choice_field(
        [
            (Poll.VoteChanges.OFF, "Votes are final"),
            (Poll.VoteChanges.ALLOWED, "Voters may change or withdraw their vote"),
        ],
        Poll.VoteChanges.OFF,
        "Changing votes",
    )
    closes_at = forms.DateTimeField(
        required=False,
        label="Closes at (optional)",
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    timezone = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)
    circle = forms.CharField(required=False, max_length=90, label="Circle")
    anonymous = forms.BooleanField(
        required=False,
        widget=FlagInput,
        label="Anonymous",
        help_text="Tally keeps that someone voted, never who chose what, not even for you.",
    )

    settings_field_names = (
        "choice_type",
        "results_visibility",
        "comments",
        "protection",
        "visibility",
        "vote_changes",
    )

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def settings_fields(self):
        return [self[name] for name in self.settings_field_names]

    def user_circles(self):
        """The circles the creator may put the poll in (the select's choices)."""
        return user_circles(user=self.user)

    def clean_circle(self):
        slug = (self.cleaned_data.get("circle") or "").strip()
        if not slug:
            return None
        found = member_circle(slug=slug, user=self.user)
        if found is None:
            raise ValidationError("Choose one of your circles.", code="not_a_member")
        return found[0]

    def _clean_choice(self, name):
        return self.cleaned_data.get(name) or self.fields[name].initial

    def clean_choice_type(self):
        return self._clean_choice("choice_type")

    def clean_results_visibility(self):
        return self._clean_choice("results_visibility")

    def clean_comments(self):
        return self._clean_choice("comments")

    def clean_protection(self):
        return self._clean_choice("protection")

    def clean_visibility(self):
        return self._clean_choice("visibility")

    def clean_vote_changes(self):
        return self._clean_choice("vote_changes")

    def clean_timezone(self):
        name = self.cleaned_data.get("timezone") or "UTC"
        try:
            zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValidationError("Unknown time zone.") from None
        return name

    def clean(self):
        cleaned = super().clean()
        closes_at = cleaned.get("closes_at")
        if closes_at is not None and "timezone" in cleaned:
            # The close time is entered as wall-clock time in the creator's zone.
            local = closes_at.replace(tzinfo=None) if isinstance(closes_at, datetime) else closes_at
            closes_at = timezone.make_aware(local, zoneinfo.ZoneInfo(cleaned["timezone"]))
            try:
                closes_at.astimezone(UTC)  # as the database will store it
            except OverflowError:  # beyond year 9999 (or before year 1) in UTC
                self.add_error("closes_at", "Pick a close time between now and the year 9999.")
            else:
                if self.close_time_allowed(closes_at):
                    cleaned["closes_at"] = closes_at
                else:
                    self.add_error("closes_at", "Pick a close time in the future.")
        if cleaned.get("anonymous") and cleaned.get("vote_changes") == Poll.VoteChanges.ALLOWED:
            # Changing a vote means finding it, and nothing leads from a voter to their ballot.
            self.add_error("vote_changes", ANONYMOUS_VOTES_FINAL)
        return cleaned

    def close_time_allowed(self, closes_at: datetime) -> bool:
        return closes_at > timezone.now()

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        arguments = {
            "question": data["question"],
            "description": data["description"],
            "options": data["options"],
            "results_visibility": data["results_visibility"],
            "allow_comments": data["comments"] == "allowed",
            "listed": data["visibility"] == "listed",
            "vote_changes": data["vote_changes"],
            "anonymous": data["anonymous"],
            "closes_at": data["closes_at"],
            "timezone_name": data["timezone"],
        }
        # Settings votes depend on: chosen at creation, absent from the edit form.
        for name in ("choice_type", "protection"):
            if name in self.fields:
                arguments[name] = data[name]
        if data.get("circle") is not None:
            # Only its members can find a circle's poll: it is never listed.
            arguments.update(circle=data["circle"], listed=False)
        return arguments


OPTIONS_LOCKED = "Options are locked once votes arrive."
CLOSE_TIME_INPUT_FORMAT = "%Y-%m-%dT%H:%M"


class PollEditForm(PollCreateForm):
    """The owner's changes: the create form's rules, minus the settings votes depend on.

    Fields a client leaves out keep their current values (see current_data), so a JSON
    client may send only what changes. Options and anonymous mode can change only while
    the poll has no votes.
    """

    choice_type = None
    protection = None
    circle = None

    settings_field_names = ("results_visibility", "comments", "visibility", "vote_changes")

    def __init__(self, *args, poll: Poll, locked: bool, **kwargs):
        self.poll = poll
        self.locked = locked
        self.current_options = [option.text for option in poll.options.all()]
        super().__init__(*args, **kwargs)

    @staticmethod
    def current_data(poll: Poll) -> QueryDict:
        """The poll as this form's data: the close time as wall-clock time in its zone."""
        data = QueryDict(mutable=True)
        closes_at = ""
        if poll.closes_at is not None:
            local = poll.closes_at.astimezone(zoneinfo.ZoneInfo(poll.timezone))
            closes_at = local.strftime(CLOSE_TIME_INPUT_FORMAT)
        data.update(
            {
                "question": poll.question,
                "description": poll.description,
                "results_visibility": poll.results_visibility,
                "comments": "allowed" if poll.allow_comments else "off",
                "visibility": "listed" if poll.listed else "unlisted",
                "vote_changes": poll.vote_changes,
                "anonymous": "on" if poll.anonymous else "off",
                "closes_at": closes_at,
                "timezone": poll.timezone,
            }
        )
        data.setlist("options", [option.text for option in poll.options.all()])
        return data

    @classmethod
    def merged(cls, poll: Poll, payload: QueryDict, *, locked: bool) -> "PollEditForm":
        """A form over the poll's current values, overridden by whatever the client sent."""
        data = cls.current_data(poll)
        for name in payload:
            data.setlist(name, payload.getlist(name))
        return cls(data, poll=poll, locked=locked)

    def clean_options(self):
        options = self.cleaned_data["options"]
        if self.locked and options != self.current_options:
            raise ValidationError(OPTIONS_LOCKED, code="locked")
        return options

    def clean_anonymous(self):
        anonymous = self.cleaned_data["anonymous"]
        if self.locked and anonymous != self.poll.anonymous:
            raise ValidationError(ANONYMITY_LOCKED, code="anonymity_locked")
        return anonymous

    def close_time_allowed(self, closes_at: datetime) -> bool:
        # An unchanged close time stays, even once it has passed.
        current = self.poll.closes_at
        if current is not None and closes_at.replace(second=0, microsecond=0) == current.replace(
            second=0, microsecond=0
        ):
            return True
        return super().close_time_allowed(closes_at)


class VoteForm(forms.Form):
    option = forms.TypedMultipleChoiceField(
        coerce=int, error_messages={"required": "Pick an option."}
    )
    comment = forms.CharField(
        max_length=COMMENT_MAX_LENGTH,
        required=False,
        validators=TEXT_VALIDATORS,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    idempotency_key = forms.CharField(max_length=128, required=False, widget=forms.HiddenInput)

    def __init__(self, *args, poll: Poll, options=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.poll = poll
        options = options if options is not None else poll.options.all()
        self.fields["option"].choices = [(option.id, option.text) for option in options]
        if not poll.allow_comments:
            del self.fields["comment"]

    def clean_option(self):
        chosen = sorted(set(self.cleaned_data["option"]))
        if not self.poll.is_multiple and len(chosen) > 1:
            raise ValidationError("This poll takes one answer.")
        return chosen
