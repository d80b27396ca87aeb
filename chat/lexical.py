"""The lexical side of an answer's retrieval: each poll's snippets in the full-text index
(core.fulltext) under a kind of their own, "snippet:<poll id>", so that a lexical search
can only ever see the one poll it is asked about."""

import re

from core import fulltext

# Words that say what kind of question it is, not what it is about: matching them would
# rank every comment that happens to say "people" or "why".
_STOPWORDS = """a about after all also am an and any are as at be because been but by can could did
    do does doing for from had has have how i if in into is it its me more most my no not of
    on or our people person so some such than that the their them then there these they this
    those to too us very was we were what when where which who whom why will with would you
    your voters voter vote voted votes voting say said says think thinks poll option options
    choose chose chosen choosing pick picked prefer preferred like liked main reason reasons
    give given tell explain others other many much"""
STOPWORDS = frozenset(_STOPWORDS.split())
APOSTROPHE = re.compile(r"['\u2019]\w*")


def kind_for(poll_id: int) -> str:
    return f"snippet:{poll_id}"


def index_snippets(*, poll_id: int, texts: dict[int, str]) -> None:
    """Put these snippets (id → text) of the poll in the index, replacing older text."""
    for snippet_id, text in texts.items():
        fulltext.index_document(kind=kind_for(poll_id), object_id=snippet_id, title="", body=text)


def drop_snippets(*, poll_id: int, snippet_ids: list[int]) -> None:
    for snippet_id in snippet_ids:
        fulltext.remove_document(kind=kind_for(poll_id), object_id=snippet_id)


def query_words(question: str) -> str:
    """The question's words that can tell one snippet from another."""
    plain = APOSTROPHE.sub("", question)
    return " ".join(
        word for word in fulltext.words(plain) if word not in STOPWORDS and len(word) > 2
    )


def ranked_ids(*, poll_id: int, question: str, texts: dict[int, str], limit: int = 50) -> list[int]:
    """This poll's snippet ids holding the question's words, best first.

    texts are the poll's current snippets (id → text): the index is brought in line with
    them first (rows missing or left over), so a poll stored before the index existed, or
    a write whose indexing failed, heals on its next question.
    """
    indexed = fulltext.indexed_ids(kind=kind_for(poll_id))
    missing = {snippet_id: text for snippet_id, text in texts.items() if snippet_id not in indexed}
    if missing:
        index_snippets(poll_id=poll_id, texts=missing)
    extra = sorted(indexed - texts.keys())
    if extra:
        drop_snippets(poll_id=poll_id, snippet_ids=extra)
    query = query_words(question)
    if not query:
        return []
    hits = fulltext.search_any(kind=kind_for(poll_id), query=query, limit=limit)
    return [snippet_id for snippet_id, _ in hits if snippet_id in texts]
