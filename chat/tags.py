"""Topic tags: each poll gets 1 to 3 labels from a fixed list, those nearest its search row by
cosine, stored as PollTag rows that the poll page shows and search filters by. The labels'
own vectors are embedded once per process, the first time a poll is tagged."""

import threading

import numpy as np
from django.db import transaction

from chat import embeddings, search
from chat.models import PollTag, Snippet
from polls.models import Poll

# Each topic label and the text its vector is embedded from.
TOPICS = {
    "food": "food, cooking, recipes, restaurants and eating",
    "drinks": "drinks, coffee, tea, beer, wine and cocktails",
    "sports": "sports, football, soccer, basketball, tennis, leagues, teams, players and matches",
    "fitness": "fitness, exercise, gym, running and workouts",
    "health": "health, medicine, doctors, illness and wellbeing",
    "technology": "technology, computers, gadgets, phones and software",
    "programming": "programming, code, developers, languages and frameworks",
    "science": "science, physics, chemistry, biology and research",
    "space": "space, astronomy, planets, rockets and stars",
    "nature": "nature, animals, plants, forests and wildlife",
    "pets": "pets, dogs, cats and animal care",
    "environment": "environment, climate change, pollution and recycling",
    "weather": "weather, rain, sunshine, snow, storms and temperature",
    "travel": "travel, holidays, trips, destinations and tourism",
    "transport": "transport, cars, vehicles, trains, bikes and commuting",
    "music": "music, songs, bands, concerts and albums",
    "movies": "movies, films, cinema, actors and directors",
    "tv": "television, tv series, streaming shows and episodes",
    "books": "books, reading, novels, authors and literature",
    "games": "video games, board games, gaming and players",
    "art": "art, painting, drawing, design and museums",
    "fashion": "fashion, clothes, style, shoes and outfits",
    "education": "education, school, university, teachers and learning",
    "work": "work, jobs, careers, offices and meetings",
    "business": "business, companies, startups, markets and products",
    "money": "money, finance, saving, prices and investing",
    "politics": "politics, elections, government, laws and voting",
    "news": "news, current events, media and journalism",
    "history": "history, the past, historical events and ancient times",
    "family": "family, parents, children and relationships",
    "home": "home, house, furniture, cleaning and gardening",
    "events": "events, parties, meetups, celebrations and planning a date",
    "holidays": "holidays, christmas, birthdays and festive traditions",
    "language": "language, words, grammar, names and spelling",
    "philosophy": "philosophy, ethics, beliefs and big questions",
    "social media": "social media, the internet, apps and online communities",
    "shopping": "shopping, stores, brands and buying things",
    "cities": "cities, neighbourhoods, places to live and local life",
    "hobbies": "hobbies, crafts, collecting and free time",
    "fun": "fun, jokes, trivia, silly questions and would-you-rather",
}
MAX_TAGS = 3
# Tags after the first must fit almost as well as the best one, and well in absolute terms.
EXTRA_TAG_MIN_SCORE = 0.25
EXTRA_TAG_MAX_GAP = 0.05

_topic_matrix = None
_topic_lock = threading.Lock()


def _topics() -> tuple[list[str], np.ndarray]:
    global _topic_matrix
    with _topic_lock:
        if _topic_matrix is None:
            _topic_matrix = embeddings.embed(list(TOPICS.values()))
    return list(TOPICS), _topic_matrix


def tags_for_vector(vector: np.ndarray) -> list[tuple[str, float]]:
    """Return 1 to 3 (label, score) pairs for a poll's search vector, best first."""
    labels, matrix = _topics()
    scores = matrix @ vector
    order = np.argsort(-scores)[:MAX_TAGS]
    best = float(scores[order[0]])
    chosen = [(labels[order[0]], best)]
    for position in order[1:]:
        score = float(scores[position])
        if score >= EXTRA_TAG_MIN_SCORE and best - score <= EXTRA_TAG_MAX_GAP:
            chosen.append((labels[position], score))
    return chosen


def poll_tags_assign(*, poll_id: int) -> list[str]:
    """Give a poll 1 to 3 topic tags from its embedded text; return the labels."""
    rows = Snippet.objects.filter(
        poll_id=poll_id, kind__in=[Snippet.Kind.POLL, Snippet.Kind.OPTION]
    ).values_list("kind", "vector")
    question, options = None, []
    for kind, vector in rows:
        array = np.frombuffer(vector, dtype="<f4")
        if kind == Snippet.Kind.POLL:
            question = array
        else:
            options.append(array)
    if question is None or not Poll.objects.filter(pk=poll_id).exists():
        return []
    chosen = tags_for_vector(search.combine(question, options))
    labels = [label for label, _ in chosen]
    with transaction.atomic():
        PollTag.objects.filter(poll_id=poll_id).exclude(label__in=labels).delete()
        PollTag.objects.bulk_create(
            [PollTag(poll_id=poll_id, label=label, score=score) for label, score in chosen],
            update_conflicts=True,
            unique_fields=["poll", "label"],
            update_fields=["score"],
        )
    return labels
