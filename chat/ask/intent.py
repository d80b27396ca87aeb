"""What kind of question a visitor asked of a poll, and which option it names: the local
answer is built to fit it, and retrieval puts the comments that answer it first (those of
an option's voters for "why X", of the other options' voters for "objections to Y")."""

import re
from enum import StrEnum


class Intent(StrEnum):
    LEAD = "lead"
    WHY = "why"
    OBJECTIONS = "objections"
    COUNT = "count"
    SUMMARY = "summary"
    GENERAL = "general"


SUMMARY = re.compile(
    r"summar|overview|recap|\bgist\b|main (points|themes|ideas|topics)|\bthemes?\b|"
    r"in (short|brief|a nutshell)|what (did|do|does) (people|voters|everyone|everybody) "
    r"(say|think|feel)|what are (people|voters) saying|overall (feeling|mood|sentiment)|"
    r"general (feeling|mood|sentiment)|big picture|key takeaways?"
)
OBJECTIONS = re.compile(
    r"objection|\bagainst\b|dislike|(don|doesn|didn)['\u2019]?t (like|want|choose|pick)|downside|"
    r"drawback|\bcons\b|concern|criticis|critique|complain|problems? with|issues? with|"
    r"wrong with|negatives?|\bhate|worr|oppos|disadvantage|bad about|reservations|push ?back|"
    r"weakness|skeptic|sceptic"
)
WHY = re.compile(
    r"\bwhy\b|reasons?\b|what makes|what draws|motivat|appeal|attract|in favou?r of|"
    r"case for|arguments? for|\bpros\b|benefits?|advantages?|what do (people|voters) like"
)
LEAD = re.compile(
    r"winning|\bwins?\b|winner|\bleads?\b|leading|ahead|\bon top\b|most popular|"
    r"favou?rite|first place|margin|by how much|beating|behind|majority|standings|"
    r"front.?runner|which (option|one) (is|are) (best|top)|who is up|how far"
)
COUNT = re.compile(r"how many|number of|\bcount\b|how much support|\btotal\b|turnout")
COMMENTS = re.compile(r"comment|remark|wrote|said something|left a note")
WORD = re.compile(r"[^\W_]+")


def _words(text: str) -> list[str]:
    return WORD.findall(text.casefold())


def named_option(question: str, options: list[str]) -> str | None:
    """The option the question is about: its whole text in the question, else the option
    sharing most of its words (by prefix, so "trains" names "Train"), else none."""
    asked = question.casefold()
    whole = [
        option for option in options if re.search(rf"(?<!\w){re.escape(option.casefold())}", asked)
    ]
    if whole:
        return max(whole, key=len)
    asked_words = _words(question)
    best, best_share = None, 0.0
    for option in options:
        own = [word for word in _words(option) if len(word) > 2]
        if not own:
            continue
        shared = sum(
            any(a.startswith(w[:5]) or w.startswith(a[:5]) for a in asked_words if len(a) > 2)
            for w in own
        )
        share = shared / len(own)
        if share > best_share:
            best, best_share = option, share
    return best if best_share >= 0.5 else None


def question_intent(question: str, options: list[str]) -> tuple[Intent, str | None]:
    """What kind of question this is, and the option it names if any."""
    asked = question.casefold()
    option = named_option(question, options)
    if "by how much" in asked or "how far ahead" in asked:
        return Intent.LEAD, option
    if SUMMARY.search(asked):
        return Intent.SUMMARY, option
    if OBJECTIONS.search(asked):
        return Intent.OBJECTIONS, option
    if COUNT.search(asked):
        return Intent.COUNT, option
    if WHY.search(asked) and option is not None:
        return Intent.WHY, option
    if LEAD.search(asked):
        return Intent.LEAD, option
    if WHY.search(asked):
        return Intent.WHY, None
    return Intent.GENERAL, option
