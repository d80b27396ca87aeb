"""Domain events: how an app says that something happened without knowing who listens.

An app declares its events in its own `events.py` as frozen dataclasses that subclass
Event; each class gets a signal of its own. Listeners connect to `TheEvent.signal` in their
app's `receivers.py`, imported from `AppConfig.ready()`, and are called as
`receiver(sender=TheEvent, event=the_event)`.

announce() is the one hand-off: it delivers the event once the current transaction
commits (at once outside a transaction), so listeners never see a write that is rolled
back. Each receiver runs on its own: one that raises is logged by Django's send_robust and
neither undoes the write nor keeps the others from running.
"""

from typing import ClassVar

from django.db import transaction
from django.dispatch import Signal


class Event:
    signal: ClassVar[Signal]

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.signal = Signal()


def announce(event: Event) -> None:
    """Deliver the event to its receivers once the current transaction commits."""
    transaction.on_commit(lambda: deliver(event), robust=True)


def deliver(event: Event) -> None:
    type(event).signal.send_robust(sender=type(event), event=event)
