"""What happens to circles, announced after commit through core.events.announce.

The services in circles/services.py announce these and know nothing of who listens.

- MemberLeft(circle_id, user_id)
    A member left the circle.
- MemberRemoved(circle_id, user_id, removed_by_id)
    An admin removed a member.
    For both, notifications: drop the former member's notifications about the circle's
    polls, whose links now answer 404. Open poll sockets need no event: every push asks
    polls.visibility again, which no longer admits the former member.
"""

from dataclasses import dataclass

from core.events import Event


@dataclass(frozen=True)
class MemberLeft(Event):
    circle_id: int
    user_id: int


@dataclass(frozen=True)
class MemberRemoved(Event):
    circle_id: int
    user_id: int
    removed_by_id: int
