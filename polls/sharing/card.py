"""The poll's result card: a 1200x630 PNG for link previews (OpenGraph, Twitter).

Drawing is split in two: `layout` turns what the card says (`CardContent`) into positioned
text and bars, and `render` paints them. The card shows numbers only where anyone may see
them (`publicly_visible`), so one card serves every viewer and can be cached for all.
"""

import hashlib
import io
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from core.cache import shared_cache
from polls.models import Poll
from polls.selectors import poll_tally
from polls.sharing.links import publicly_visible

logger = logging.getLogger(__name__)

WIDTH, HEIGHT = 1200, 630
# Bumped whenever the drawing changes, so cached cards and ETags of the old look expire.
DESIGN_VERSION = 1
MAX_ROWS = 6
PADDING = 64
FOOTER_TOP = HEIGHT - PADDING - 44
QUESTION_SIZES = (64, 58, 52, 46, 40, 36)
QUESTION_MAX_LINES = 3

INK = (30, 41, 59)
MUTED = (100, 116, 139)
TRACK = (241, 245, 249)
BORDER = (226, 232, 240)
LEADER_FILL = (165, 180, 252)
OTHER_FILL = (224, 231, 255)
MARK_FROM, MARK_TO = (99, 102, 241), (139, 92, 246)

# DejaVu (Debian's fonts-dejavu-core): Latin with every accent, Greek, Cyrillic, Armenian,
# Georgian, Hebrew and Arabic in one file each, so a question mixing scripts draws whole.
FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/local/share/fonts/dejavu"),
)
REGULAR_FONT, BOLD_FONT = "DejaVuSans.ttf", "DejaVuSans-Bold.ttf"


@dataclass(frozen=True)
class CardRow:
    text: str
    percentage: float | None  # None: the numbers are hidden
    leading: bool = False


@dataclass(frozen=True)
class CardContent:
    question: str
    rows: tuple[CardRow, ...]
    more_options: bool
    status: str  # the footer's words: the vote count, or why there are no numbers

    def fingerprint(self) -> str:
        """Changes whenever the drawing would: the card's cache key and ETag."""
        text = repr((DESIGN_VERSION, self))
        return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Text:
    x: float
    y: float
    text: str
    size: int
    bold: bool = False
    color: tuple = INK
    anchor: str = "la"


@dataclass(frozen=True)
class Bar:
    box: tuple[float, float, float, float]
    color: tuple
    outline: tuple | None = None


def hidden_status(poll: Poll) -> str:
    if poll.results_visibility == Poll.ResultsVisibility.AFTER_VOTE:
        return "Vote to see the results"
    return "Results are shown when the poll closes"


def card_content(poll: Poll) -> CardContent:
    """What the card says now. Without public results it carries no number at all."""
    tally = poll_tally(poll=poll)
    visible = publicly_visible(poll)
    shown = tally.options[:MAX_ROWS]
    rows = tuple(
        CardRow(
            text=option.text,
            percentage=option.percentage if visible else None,
            leading=visible and tally.total_votes > 0 and option.votes == tally.leading_votes,
        )
        for option in shown
    )
    if visible:
        votes = tally.total_votes
        status = f"{votes} vote{'s' if votes != 1 else ''}" if votes else "No votes yet"
        if poll.is_closed():
            status = f"Final · {status}"
    else:
        status = hidden_status(poll)
    return CardContent(
        question=poll.question,
        rows=rows,
        more_options=len(tally.options) > MAX_ROWS,
        status=status,
    )


@cache
def font_path(name: str) -> str | None:
    for folder in FONT_DIRS:
        if (folder / name).is_file():
            return str(folder / name)
    logger.warning("Font %s not found in %s: cards fall back to Pillow's own font", name, FONT_DIRS)
    return None


@cache
def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    path = font_path(BOLD_FONT if bold else REGULAR_FONT)
    if path is None:
        return ImageFont.load_default(size)
    return ImageFont.truetype(path, size)


def text_width(text: str, size: int, bold: bool = False) -> float:
    return font(size, bold).getlength(text)


def ellipsize(text: str, width: float, size: int, bold: bool = False) -> str:
    if text_width(text, size, bold) <= width:
        return text
    while text and text_width(text + "…", size, bold) > width:
        text = text[:-1]
    return text.rstrip() + "…"


def wrap(text: str, width: float, size: int, bold: bool) -> list[str]:
    """Greedy word wrap by drawn width; a word longer than a line is broken anywhere."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}" if line else word
        if text_width(candidate, size, bold) <= width:
            line = candidate
            continue
        if line:
            lines.append(line)
        line = ""
        for character in word:
            if text_width(line + character, size, bold) > width and line:
                lines.append(line)
                line = ""
            line += character
    if line:
        lines.append(line)
    return lines


def fit_question(question: str, width: float) -> tuple[list[str], int]:
    """The largest size at which the question fits its lines; at the smallest, cut short."""
    for size in QUESTION_SIZES:
        lines = wrap(question, width, size, bold=True)
        if len(lines) <= QUESTION_MAX_LINES:
            return lines, size
    size = QUESTION_SIZES[-1]
    lines = wrap(question, width, size, bold=True)[:QUESTION_MAX_LINES]
    lines[-1] = ellipsize(lines[-1] + "…", width, size, bold=True)
    return lines, size


def layout(content: CardContent) -> list[Text | Bar]:
    """Everything the card draws, in order, positioned on the 1200x630 canvas."""
    items: list[Text | Bar] = []
    inner = WIDTH - 2 * PADDING

    lines, size = fit_question(content.question, inner)
    line_height = round(size * 1.2)
    y = PADDING
    for line in lines:
        items.append(Text(PADDING, y, line, size, bold=True))
        y += line_height

    top = y + 28
    bottom = FOOTER_TOP - 24
    count = len(content.rows) + (1 if content.more_options else 0)
    pitch = min(76, (bottom - top) / max(count, 1))
    row_height = pitch * 0.8
    label_size = max(18, min(30, round(row_height * 0.5)))
    for row in content.rows:
        box = (PADDING, top, PADDING + inner, top + row_height)
        middle = top + row_height / 2
        if row.percentage is None:
            items.append(Bar(box, (255, 255, 255), outline=BORDER))
            label_width = inner - 48
        else:
            items.append(Bar(box, TRACK))
            filled = inner * row.percentage / 100
            if filled >= 1:
                fill = LEADER_FILL if row.leading else OTHER_FILL
                items.append(Bar((PADDING, top, PADDING + filled, top + row_height), fill))
            label = f"{row.percentage:.1f}%"
            items.append(
                Text(WIDTH - PADDING - 20, middle, label, label_size, bold=True, anchor="rm")
            )
            label_width = inner - 48 - text_width(label, label_size, bold=True) - 24
        text = ellipsize(row.text, label_width, label_size, bold=row.leading)
        items.append(Text(PADDING + 20, middle, text, label_size, bold=row.leading, anchor="lm"))
        top += pitch
    if content.more_options:
        items.append(
            Text(
                PADDING + 20,
                top + row_height / 2,
                "…and more",
                label_size,
                color=MUTED,
                anchor="lm",
            )
        )

    items.extend(mark_items())
    items.append(
        Text(WIDTH - PADDING, FOOTER_TOP + 22, content.status, 28, color=MUTED, anchor="rm")
    )
    return items


def mark_items() -> list[Text | Bar]:
    """Tally's mark, as in the site's header: three rising bars on a violet tile, the name."""
    x, y, side = PADDING, FOOTER_TOP, 44
    items: list[Text | Bar] = [Bar((x, y, x + side, y + side), MARK_FROM)]
    for left, height in ((8, 17), (18, 26), (28, 31)):
        items.append(
            Bar((x + left, y + side - 6 - height, x + left + 7, y + side - 6), (255, 255, 255))
        )
    items.append(Text(x + side + 14, y + side / 2, "Tally", 32, bold=True, anchor="lm"))
    return items


def render(items: list[Text | Bar]) -> bytes:
    image = Image.new("RGB", (WIDTH, HEIGHT), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, WIDTH, 10), fill=MARK_TO)
    for item in items:
        if isinstance(item, Bar):
            radius = min(12, (item.box[3] - item.box[1]) / 2)
            draw.rounded_rectangle(
                item.box, radius=radius, fill=item.color, outline=item.outline, width=2
            )
        else:
            draw.text(
                (item.x, item.y),
                item.text,
                font=font(item.size, item.bold),
                fill=item.color,
                anchor=item.anchor,
            )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def draw_card(content: CardContent) -> bytes:
    return render(layout(content))


# Cached cards


REFRESH_SECONDS = 5
CACHE_TIMEOUT = 3600
LOCAL_CARDS = 256
_local: OrderedDict[str, tuple[float, str, bytes]] = OrderedDict()
_local_lock = threading.Lock()


def cache_key(poll: Poll) -> str:
    # With the code: SQLite may give a deleted poll's id to the next one.
    return f"card:{poll.pk}:{poll.code}"


def card_png(poll: Poll) -> tuple[bytes, str]:
    """The card's PNG and its fingerprint. A card younger than REFRESH_SECONDS is served
    as it is, so a stream of votes redraws it at most once per window; an older one is
    redrawn only if what it says has changed. Drawn on a GET, never on the vote path.

    The shared cache lets processes share one drawing; the small in-process copy keeps
    the bound when the shared cache is unreachable."""
    key = cache_key(poll)
    now = time.monotonic()
    wall = time.time()
    with _local_lock:
        local = _local.get(key)
    if local is not None and now - local[0] < REFRESH_SECONDS:
        return local[2], local[1]
    shared = shared_cache().get(key)
    if shared is not None and wall - shared[0] < REFRESH_SECONDS:
        remember(key, now - (wall - shared[0]), shared[1], shared[2])
        return shared[2], shared[1]

    content = card_content(poll)
    fingerprint = content.fingerprint()
    if shared is not None and shared[1] == fingerprint:
        png = shared[2]
    elif local is not None and local[1] == fingerprint:
        png = local[2]
    else:
        png = draw_card(content)
    shared_cache().set(key, (wall, fingerprint, png), timeout=CACHE_TIMEOUT)
    remember(key, now, fingerprint, png)
    return png, fingerprint


def remember(key: str, made_at: float, fingerprint: str, png: bytes) -> None:
    with _local_lock:
        _local[key] = (made_at, fingerprint, png)
        _local.move_to_end(key)
        while len(_local) > LOCAL_CARDS:
            _local.popitem(last=False)
