"""The check of a model's answer after it is generated, against the facts it was given.

Chosen over checking each sentence before it is sent: the answer still streams token by
token (the reader sees it start at once), and only an answer that needed a correction is
replaced, by the final frame, with the checked text marked "corrected". The check:

- Quotes (text between “ ” or " " of three words or more) must be verbatim in a comment of
  this poll that anyone may read now (or in the poll's own text). A near copy (SequenceMatcher
  ratio ≥ NEAR) is replaced by the comment it copies; anything else goes with its sentence.
- Numbers outside quotes must be the tally's: an option's votes or share, the ballots, a
  difference between two options' votes, a count of comments, options or a theme's size, or
  a number in the question or the poll's text. A wrong one next to "%" or "vote" in a
  sentence naming one option becomes that option's share or votes (or the ballots' total for
  "in total"); any other wrong number takes its sentence with it. With the results hidden
  from the asker, no vote or share counts at all.

Numbers written as words ("two votes") are not checked.
"""

import re
from dataclasses import dataclass
from difflib import SequenceMatcher

from chat.ask.retrieval import PollFacts

NEAR = 0.75
QUOTED = re.compile(r"“([^”]{3,}?)”|\"([^\"]{3,}?)\"")
NUMBER = re.compile(r"(?<![\w.])(\d+(?:[.,]\d+)?)(\s*(?:%|percent\b|per cent\b))?")
# A sentence ends after . ! or ?, or after a quote followed by a capital letter.
SENTENCE = re.compile(r"(?<=[.!?])\s+|(?<=\x00)\s+(?=[A-Z])|\n+")
AFTER = re.compile(r"\s*(?:out of \d+ )?(votes?|ballots?|voters?|people|respondents?)\b", re.I)
TOTAL = re.compile(r"\b(in total|total|overall|altogether|in all|cast)\b", re.I)
SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Checked:
    text: str
    corrected: bool


def _plain(text: str) -> str:
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    return SPACES.sub(" ", text).strip().casefold()


def _figure(value: str) -> float:
    return float(value.replace(",", "."))


def allowed_numbers(facts: PollFacts, question: str = "") -> set[float]:
    """Every number an answer may state for this asker."""
    tally = facts.tally
    allowed = {float(tally.total_votes), float(len(facts.all_comments))}
    allowed |= {float(theme.size) for theme in facts.themes}
    allowed.add(float(len(facts.themes)))
    allowed.add(float(len(tally.options)))
    for text in [question, facts.question, *(option.text for option in tally.options)]:
        allowed |= {_figure(value) for value, _ in NUMBER.findall(text)}
    if facts.results_visible:
        for option in tally.options:
            allowed |= {float(option.votes), option.percentage, float(round(option.percentage))}
            for other in tally.options:
                allowed.add(float(abs(option.votes - other.votes)))
                gap = abs(option.percentage - other.percentage)
                allowed |= {round(gap, 1), float(round(gap))}
        for theme in facts.themes:
            allowed |= {float(option.count) for option in theme.options or ()}
        allowed.add(100.0)
    return allowed


def _fix_quote(quoted: str, texts: list[str]) -> str | None:
    """The verbatim text for a quote: itself if verbatim, the comment it nearly copies, or
    None for a quote found nowhere."""
    exact = SPACES.sub(" ", quoted).strip().rstrip(".!?,;: ")
    if any(exact in SPACES.sub(" ", text) for text in texts):
        return quoted
    plain = _plain(quoted)
    best, best_ratio = None, 0.0
    for text in texts:
        ratio = SequenceMatcher(None, plain, _plain(text)).ratio()
        if ratio > best_ratio:
            best, best_ratio = text, ratio
    return best if best_ratio >= NEAR else None


def _fix_numbers(part: str, context: str, facts: PollFacts, allowed: set[float]) -> str | None:
    """part (of the sentence context) with its numbers made the tally's, or None if one
    cannot be. The options context names decide what a wrong number should have been."""
    mentioned = [
        option
        for option in facts.tally.options
        if option.text.strip() and option.text.casefold() in context.casefold()
    ]
    fixed, end = [], 0
    for match in NUMBER.finditer(part):
        value, percent = match.group(1), match.group(2)
        after = part[match.end() : match.end() + 40]
        counts_votes = bool(percent) or bool(AFTER.match(after))
        if not facts.results_visible:
            if not counts_votes and _figure(value) in allowed:
                continue
            if counts_votes and not percent and _figure(value) == facts.tally.total_votes:
                continue  # the number of ballots shows even while results are hidden
            return None
        if _figure(value) in allowed:
            continue
        replacement = None
        if len(mentioned) == 1 and percent:
            replacement = f"{mentioned[0].percentage:.1f}"
        elif len(mentioned) == 1 and counts_votes:
            replacement = str(mentioned[0].votes)
        elif counts_votes and not percent and TOTAL.search(context):
            replacement = str(facts.tally.total_votes)
        if replacement is None:
            return None
        fixed.append(part[end : match.start(1)] + replacement)
        end = match.end(1)
    return "".join(fixed) + part[end:]


HELD = re.compile(r"(\x00\d+\x00)")


def check_answer(text: str, facts: PollFacts, question: str = "") -> Checked:
    """The answer with every number the tally's and every quote verbatim (see module doc)."""
    texts = [*facts.all_comments.values(), facts.question]
    texts += [option.text for option in facts.tally.options]
    allowed = allowed_numbers(facts, question)
    corrected = False
    kept = []
    for paragraph in text.split("\n"):
        # Quotes are set aside first, so that a full stop or a number inside one neither
        # splits its sentence nor counts as a claim of the answer's own.
        quotes: list[str] = []

        def hold(match, quotes=quotes):
            quotes.append(match.group(1) or match.group(2))
            return f"\x00{len(quotes) - 1}\x00"

        sentences = []
        for sentence in SENTENCE.split(QUOTED.sub(hold, paragraph)):
            if not sentence.strip():
                continue
            context = HELD.sub("", sentence)
            parts, dropped = [], False
            for part in HELD.split(sentence):
                if HELD.fullmatch(part):
                    original = quotes[int(part.strip("\x00"))]
                    verbatim = (
                        _fix_quote(original, texts) if len(original.split()) >= 3 else original
                    )
                    if verbatim is None:
                        dropped = True
                        break
                    parts.append(f"“{verbatim}”")
                    corrected = corrected or verbatim != original
                    continue
                fixed = _fix_numbers(part, context, facts, allowed)
                if fixed is None:
                    dropped = True
                    break
                parts.append(fixed)
                corrected = corrected or fixed != part
            if dropped:
                corrected = True
                continue
            sentences.append("".join(parts).strip())
        kept.append(" ".join(sentences))
    final = "\n".join(kept).strip()
    return Checked(text=final if corrected else text, corrected=corrected)
