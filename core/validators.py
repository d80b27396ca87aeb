"""Checks on free text that every app's forms share: it must be storable and printable."""

import re

from django.core.exceptions import ValidationError

CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def reject_unencodable(value: str) -> None:
    """Refuse text that cannot be stored as UTF-8 (lone surrogates from JSON escapes)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError("Contains characters that are not valid text.") from None


def reject_control_characters(value: str) -> None:
    # A regular expression, not a loop in Python: this runs on megabyte-long refused input too.
    if CONTROL_CHARACTERS.search(value):
        raise ValidationError("Contains control characters.")


TEXT_VALIDATORS = [reject_unencodable, reject_control_characters]
