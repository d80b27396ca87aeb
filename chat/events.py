"""What happens in "ask this poll", announced after commit through core.events.

- QuestionAsked(poll, question, asker_id)
    notifications: tell the poll's owner (unless they asked it themselves).
"""

from dataclasses import dataclass

from core.events import Event
from polls.models import Poll


@dataclass(frozen=True)
class QuestionAsked(Event):
    """Someone asked the poll a question (the asker is None when signed out)."""

    poll: Poll
    question: str
    asker_id: int | None
