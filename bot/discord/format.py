"""Pure reply builders for the Discord adapter: an Answer, the sources, a passage or a
notice in; a ``discord.Embed`` or message text out, always within Discord's limits.

Discord rejects a whole message when any limit is exceeded, so every builder measures what
it makes. Lengths are counted in UTF-16 code units, which is never less than the number of
code points, so the result fits however Discord counts.

Document and question text is shown with its markdown escaped: a passage holding ``**``,
a code fence or ``> quote`` is shown as typed and cannot break the reply's own formatting.
Text is trimmed before it is escaped, so a cut never leaves half an escape, and since
nothing of the documents is left as markdown, no cut can fall inside a code block.
Mentions are left as text: embeds never ping, and every message the bot sends also carries
``AllowedMentions.none()`` (see ``bot/discord/bot.py``).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import discord

from bot.discord.logs import scrub
from bot.discord.report import Group
from index.models import Answer, Passage, SourceInfo

# Discord's limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits)
CONTENT_LIMIT = 2000
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FIELD_COUNT_LIMIT = 25
FOOTER_LIMIT = 2048
EMBED_TOTAL_LIMIT = 6000
BUTTON_LABEL_LIMIT = 80
BUTTONS_PER_ROW = 5
THREAD_NAME_LIMIT = 100

# Our own choices, well inside the limits: an answer should read at a glance.
SHOWN_PASSAGES = 10  # the first ten, plus any cited passage beyond them
MAX_PASSAGE_FIELDS = 20  # four rows of five buttons; the fifth row holds 👍/👎
SNIPPET_CHARS = 300
FIELD_NAME_CHARS = 150  # 20 long headings must still leave room for the answer
MIN_SNIPPET_CHARS = 60
MAX_LINK_CHARS = 400  # a longer URL is left out rather than crowd out the passages
MAX_LINKS_CHARS = 2000
LINK_TEXT = "docs ↗"

ELLIPSIS = "…"
NOT_ANSWERED = "**Not answered.**"
CLOSEST_BELOW = "The closest passages are below."
FOOTER = "Press [n] to see a whole passage (only you will see it) · 👍/👎 rate the answer"

ANSWER_COLOUR = discord.Colour.blurple()
ABSTAIN_COLOUR = discord.Colour.orange()

APOLOGY = "Sorry, something went wrong while answering. It has been logged; please try again."
DMS_OFF = "I don't answer direct messages here: please ask in the server."
NOT_THIS_SERVER = "I don't answer questions in this server."
NO_TEXT = "That message has no text to ask about."
STALE_PASSAGE = (
    "That passage is no longer in the index (it was rebuilt after this answer): "
    "ask again to get the current passages."
)
NOT_ALLOWED_TO_REINDEX = "Only members with Manage Server, or the bot's owners, can reindex."
REINDEX_RUNNING = "A reindex is already running; the new index is swapped in when it is done."
BUSY = "I'm answering a lot of questions right now: please try again in a moment."
NOT_FOUND = "I couldn't find this in the documents."
FEEDBACK_SAME = "You already rated this answer that way."
FEEDBACK_THANKS = {
    "up": "Thanks for the feedback: noted as helpful.",
    "down": "Thanks for the feedback: noted as not helpful, so this question can be reviewed.",
}

Vote = Literal["up", "down"]


# -- measuring, trimming, escaping ------------------------------------------------------


def dlen(text: str) -> int:
    """Length as Discord may count it: UTF-16 code units (an emoji counts 2)."""
    return len(text.encode("utf-16-le")) // 2


def _prefix_within(text: str, units: int) -> str:
    """The longest prefix of ``text`` whose :func:`dlen` is at most ``units``."""
    if units <= 0:
        return ""
    if len(text) == dlen(text):  # all in the BMP: one unit per character
        return text[:units]
    used = 0
    for i, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > units:
            return text[:i]
    return text


_SPACE = re.compile(r"\s")


def trim_words(text: str, limit: int) -> str:
    """``text`` if it fits in ``limit``, else its longest prefix that ends at a word
    boundary plus "…". A first word longer than the limit is cut (there is no boundary)."""
    if dlen(text) <= limit:
        return text
    room = limit - dlen(ELLIPSIS)
    if room <= 0:
        return ""
    cut = _prefix_within(text, room)
    if not _SPACE.match(text, len(cut)):  # the cut falls inside a word: back up to a space
        spaces = [m.start() for m in _SPACE.finditer(cut)]
        if spaces:
            cut = cut[: spaces[-1]]
    cut = cut.rstrip()
    return cut + ELLIPSIS if cut else _prefix_within(text, room) + ELLIPSIS


# Discord hides a backslash before any punctuation, so over-escaping costs length, not
# looks. discord.utils.escape_markdown is not enough: it leaves the inside of a masked link
# "[x](https://e.com/```)" alone, and those backticks would open a code block.
_ALWAYS = re.compile(r"([\\*_~|`\[])")
_LINE_START = re.compile(r"^([ \t]*)(?:([>#-])|([0-9]+)(\.))", re.MULTILINE)
# A bare URL as Discord's markdown finds one (its "url" rule: the link runs to a space or
# "<" and does not end in . , : ; " ' ) ]); the URL is taken whole before any other rule
# looks inside it, so its "_", "*" and "~" stay as they are and it stays clickable. A
# backslash would read as an escape: the URL is taken to end before one.
URL = re.compile(r"https?://[^\s<\\]*[^\s<\\.,:;\"')\]]")


def _escape_text(text: str) -> str:
    return _ALWAYS.sub(r"\\\1", text)


def escape(text: str) -> str:
    """``text`` with every markdown character escaped except inside bare URLs, which keep
    their ``_``, ``*`` and ``~`` so they stay clickable (backticks in a URL are escaped
    all the same: nothing could ever open a code block)."""
    parts, last = [], 0
    for match in URL.finditer(text):
        parts.append(_escape_text(text[last : match.start()]))
        parts.append(match[0].replace("`", "\\`"))
        last = match.end()
    parts.append(_escape_text(text[last:]))
    text = "".join(parts)
    # a quote, heading, subtext or list marker starts a line: escape its punctuation (a
    # backslash before a digit would show)
    return _LINE_START.sub(
        lambda m: m[1] + ("\\" + m[2] if m[2] else m[3] + "\\" + m[4]), text
    )


def unescape(text: str) -> str:
    """The inverse of :func:`escape` (every backslash there escapes the next character)."""
    return re.sub(r"\\(.)", r"\1", text, flags=re.DOTALL)


def fit(text: str, limit: int) -> str:
    """``text`` trimmed at a word boundary and escaped, within ``limit`` units."""
    n = limit
    while n > 0:
        out = escape(trim_words(text, n))
        over = dlen(out) - limit
        if over <= 0:
            return out
        n -= over  # each escape adds one character, so this many fewer raw ones suffice
    return ""


def one_line(text: str) -> str:
    """Whitespace collapsed: snippets, titles and names read as one line."""
    return " ".join(text.split())


def plain(text: str) -> str:
    """Message text (not an embed) trimmed to the content limit."""
    return trim_words(text, CONTENT_LIMIT)


# -- answers ------------------------------------------------------------------------------


def passage_digest(text: str) -> str:
    """A short fingerprint of a passage's text: a button pressed after a reindex can tell
    whether the chunk with that id is still the passage it was made for."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


def passage_custom_id(n: int, passage: Passage) -> str:
    """The custom id of passage ``n``'s button; the bot decodes it after a restart too."""
    return f"docqa:p:{n}:{passage.chunk_id}:{passage_digest(passage.text)}"


PASSAGE_ID_TEMPLATE = r"docqa:p:(?P<n>[0-9]+):(?P<chunk>[0-9]+):(?P<digest>[0-9a-f]{8})"
FEEDBACK_ID_TEMPLATE = r"docqa:fb:(?P<vote>up|down)"


def shown_passages(answer: Answer) -> list[int]:
    """The 1-based numbers of the passages an answer shows: the first ones and every cited
    one, at most :data:`MAX_PASSAGE_FIELDS`."""
    numbers = set(range(1, min(len(answer.passages), SHOWN_PASSAGES) + 1))
    numbers |= {s.passage for s in answer.sentences if 1 <= s.passage <= len(answer.passages)}
    return sorted(numbers)[:MAX_PASSAGE_FIELDS]


def snippet_text(passage: Passage) -> str:
    """The passage on one line, without its leading heading lines (the field name already
    shows the heading)."""
    text = passage.text
    if passage.heading:
        start = 0
        for a, b, kind in passage.blocks:  # the heading blocks the passage opens with
            if kind != "heading" or text[start:a].strip() or not text[b:].strip():
                break
            start = b
        text = text[start:]
    lines = text.strip().split("\n")
    if passage.heading:  # a passage without blocks (plain text): its "#" lines
        while len(lines) > 1 and lines[0].lstrip().startswith("#"):
            lines.pop(0)
    return one_line("\n".join(lines))


STALE_MARK = " (changed since indexed)"


def field_name(n: int, passage: Passage, limit: int = FIELD_NAME_CHARS) -> str:
    """``[n] SOURCE:FIRST-LAST — heading``; the heading is trimmed first. A passage whose
    file changed since it was indexed ends with ``STALE_MARK``."""
    marker = f"[{n}] "
    stale = STALE_MARK if passage.stale else ""
    limit -= len(stale)
    name = marker + fit(passage.citation, limit - len(marker))
    if passage.heading:
        room = limit - dlen(name) - 3
        if room > 8:  # fewer characters than that of a heading help nobody
            name += " — " + fit(one_line(passage.heading), room)
    return name + stale


def answer_description(answer: Answer, limit: int = DESCRIPTION_LIMIT) -> str:
    """The answer with its ``[n]`` markers, or a clear abstention; within ``limit``.

    Sentences are shortened evenly (the longest first) and their markers always kept whole.
    """
    if answer.abstained:
        text = f"{NOT_ANSWERED} {escape(one_line(answer.text))}"
        if answer.passages:
            text += "\n" + CLOSEST_BELOW
        if dlen(text) <= limit:
            return text
        return f"{NOT_ANSWERED} " + fit(one_line(answer.text), limit - dlen(NOT_ANSWERED) - 1)
    markers = [f" [{s.passage}]" for s in answer.sentences]
    texts = [one_line(s.text) for s in answer.sentences]
    room = limit - sum(dlen(m) for m in markers) - max(len(texts) - 1, 0)
    lengths = [dlen(escape(t)) for t in texts]
    cap = max(lengths, default=0)
    if sum(lengths) > room:
        # the largest per-sentence cap that fits: short sentences stay whole
        lo, hi = 0, cap
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if sum(min(n, mid) for n in lengths) <= room:
                lo = mid
            else:
                hi = mid - 1
        cap = lo
    parts = [fit(t, min(n, cap)) + m for t, n, m in zip(texts, lengths, markers)]
    return " ".join(parts)


Links = Mapping[int, str]  # passage number -> the published page it stands on


def safe_url(url: str) -> str | None:
    """``url`` usable as a link target in Discord markdown, or None: only http(s), and the
    characters that would end a masked link or break it percent-encoded."""
    if not re.match(r"https?://", url, re.IGNORECASE) or dlen(url) > MAX_LINK_CHARS:
        return None
    return re.sub(r"[\s()<>\\`]", lambda m: f"%{ord(m[0]):02X}", url)


def link_markdown(url: str | None) -> str:
    """The link shown before a passage's snippet: ``[docs ↗](URL)``, or "" without one."""
    safe = safe_url(url) if url else None
    return f"[{LINK_TEXT}]({safe}) " if safe else ""


def answer_embed(answer: Answer, links: Links | None = None) -> discord.Embed:
    """The reply to a question: the question as title, the answer (or abstention) with its
    markers, then each shown passage as ``[n] SOURCE:FIRST-LAST — heading`` and a snippet,
    after a link to its page in the published documents when ``links`` has one."""
    numbers = shown_passages(answer)
    hidden = len(answer.passages) - len(numbers)
    footer = FOOTER if numbers else ""
    if hidden > 0:
        footer += f" · {hidden} more passage{'s' if hidden != 1 else ''} not shown"
    title = fit(one_line(answer.question), TITLE_LIMIT)
    names = [field_name(n, answer.passages[n - 1]) for n in numbers]
    shown_links = [link_markdown((links or {}).get(n)) for n in numbers]
    if sum(dlen(link) for link in shown_links) > MAX_LINKS_CHARS:
        shown_links = [""] * len(numbers)  # links are a help, the answer comes first
    remaining = (
        EMBED_TOTAL_LIMIT - dlen(title) - dlen(footer) - sum(dlen(n) for n in names)
        - sum(dlen(link) for link in shown_links)
    )
    description = answer_description(
        answer, min(DESCRIPTION_LIMIT, remaining - MIN_SNIPPET_CHARS * len(numbers))
    )
    remaining -= dlen(description)
    embed = discord.Embed(
        title=title,
        description=description,
        colour=ABSTAIN_COLOUR if answer.abstained else ANSWER_COLOUR,
    )
    if numbers:
        per_field = min(FIELD_VALUE_LIMIT, SNIPPET_CHARS, remaining // len(numbers))
        for n, name, link in zip(numbers, names, shown_links, strict=True):
            value = link + fit(snippet_text(answer.passages[n - 1]), per_field)
            embed.add_field(name=name, value=value or ELLIPSIS, inline=False)
    if footer:
        embed.set_footer(text=footer)
    return embed


@dataclass(frozen=True)
class ButtonSpec:
    """One button under an answer, before the adapter turns it into a discord.ui item."""

    label: str
    custom_id: str
    row: int
    emoji: str | None = None


def answer_buttons(answer: Answer) -> list[ButtonSpec]:
    """A ``[n]`` button per shown passage (five to a row), then 👍 and 👎 on their own row."""
    specs = [
        ButtonSpec(f"[{n}]", passage_custom_id(n, answer.passages[n - 1]), i // BUTTONS_PER_ROW)
        for i, n in enumerate(shown_passages(answer))
    ]
    row = math.ceil(len(specs) / BUTTONS_PER_ROW)
    specs.append(ButtonSpec("Helpful", "docqa:fb:up", row, "👍"))
    specs.append(ButtonSpec("Not helpful", "docqa:fb:down", row, "👎"))
    return specs


def passage_embed(n: int, passage: Passage, url: str | None = None) -> discord.Embed:
    """The whole passage behind citation ``[n]``, its lines kept; its title links to the
    published page when there is one."""
    note = f"\n\n(trimmed to fit Discord; the whole passage is {escape(passage.citation)})"
    text = passage.text.strip()
    description = fit(text, DESCRIPTION_LIMIT)
    if dlen(description) < dlen(escape(text)):
        description = fit(text, DESCRIPTION_LIMIT - dlen(note)) + note
    return discord.Embed(
        title=field_name(n, passage, TITLE_LIMIT),
        description=description,
        colour=ANSWER_COLOUR,
        url=safe_url(url) if url else None,
    )


# -- the other commands ---------------------------------------------------------------


def sources_embed(sources: Sequence[SourceInfo]) -> discord.Embed:
    """``/sources``: each indexed document and its chunk count, as many as fit."""
    chunks = sum(s.chunks for s in sources)
    embed = discord.Embed(title="Indexed documents", colour=ANSWER_COLOUR)
    if not sources:
        embed.description = "No documents are indexed."
        return embed
    lines: list[str] = []
    used = 0
    for i, source in enumerate(sources):
        line = f"{fit(source.source, 200)} — {source.chunks} chunk{'s' if source.chunks != 1 else ''}"
        later = len(sources) - i - 1
        # keep room for the "… and N more" line that would follow if the next one fails
        reserve = dlen(f"\n… and {later} more") if later else 0
        if used + dlen(line) + reserve > DESCRIPTION_LIMIT:
            lines.append(f"… and {len(sources) - i} more")
            break
        lines.append(line)
        used += dlen(line) + 1
    embed.description = "\n".join(lines)
    embed.set_footer(
        text=f"{len(sources)} document{'s' if len(sources) != 1 else ''}, "
        f"{chunks} chunk{'s' if chunks != 1 else ''}"
    )
    return embed


def help_text(bot_name: str) -> str:
    """``/help``: how to ask, follow up, read the citations and rate an answer."""
    name = one_line(bot_name) or "the bot"
    return plain(
        f"**Ask the documents a question** and get a short answer copied from them, "
        f"with a citation `[n]` after each sentence.\n"
        f"• `/ask question:` — ask anywhere I answer.\n"
        f"• Mention me: `@{name} how do I upgrade?` — the question is your message without "
        f"the mention.\n"
        f"• Follow-ups: reply to my answer (keep the ping on) or ask in its thread, e.g. "
        f"“and how long does it take?”.\n"
        f"• Right-click a message → Apps → **Ask the docs** to ask with its text.\n"
        f"• Under an answer, `[n]` shows that whole passage to you alone; 👍/👎 rate it.\n"
        f"• `/sources` lists the documents; `/reindex` (Manage Server) reloads them.\n"
        f"When the documents do not answer a question I say so and show the closest passages."
    )


def cooldown_message(seconds: float) -> str:
    wait = max(1, math.ceil(seconds))
    return f"You're asking quickly: please wait {wait} s before your next question."


def channels_message(channel_ids: Sequence[int]) -> str:
    """Where questions are answered (channel mentions link, they never ping)."""
    return plain("I only answer questions in " + ", ".join(f"<#{c}>" for c in channel_ids) + ".")


def empty_question_message(bot_name: str) -> str:
    name = one_line(bot_name) or "the bot"
    return plain(f"Ask me a question after the mention, e.g. `@{name} how do I upgrade?`, or use `/ask`.")


def question_error_message(error: Exception) -> str:
    return plain(f"I can't search that: {error}")


def thread_name(question: str) -> str:
    """A thread's name from its first question (names show no markdown)."""
    return trim_words(one_line(question), THREAD_NAME_LIMIT) or "Question"


def reindex_message(
    before: Sequence[SourceInfo], after: Sequence[SourceInfo], seconds: float
) -> str:
    def count(sources: Sequence[SourceInfo]) -> str:
        chunks = sum(s.chunks for s in sources)
        return f"{len(sources)} document{'s' if len(sources) != 1 else ''}, {chunks} chunks"

    return f"Reindexed in {seconds:.1f} s: {count(after)} (before: {count(before)})."


def reindex_failed_message(error: Exception | None) -> str:
    reason = f": {error}" if error is not None else " (see the bot's log)"
    return plain(f"The reindex failed{reason}. Questions are still answered from the old index.")


# -- plain text, when the bot may not embed -----------------------------------------------


def answer_text(answer: Answer, links: Links | None = None) -> str:
    """The answer as message text (for a channel where the bot lacks Embed Links): the
    question in bold, the answer with its markers, then a line per shown passage with its
    published page in ``<>`` (no preview). Within the 2,000-character content limit."""
    title = "**" + fit(one_line(answer.question), 200) + "**"
    cites = []
    for n in shown_passages(answer):
        url = links.get(n) if links else None
        safe = safe_url(url) if url else None
        cites.append(field_name(n, answer.passages[n - 1]) + (f" <{safe}>" if safe else ""))

    def room(cites: list[str]) -> int:
        # title \n description [\n\n citation lines]
        cited = 2 + sum(dlen(c) for c in cites) + len(cites) - 1 if cites else 0
        return CONTENT_LIMIT - dlen(title) - 1 - cited

    while cites and room(cites) < 600:
        cites.pop()  # the answer matters more than the last citations
    text = title + "\n" + answer_description(answer, room(cites))
    return text + "\n\n" + "\n".join(cites) if cites else text


_CITE_LINE = re.compile(r"^\[[0-9]+\] ")


def text_answer_parts(content: str) -> dict[str, Any]:
    """An answer sent by :func:`answer_text`, as the embed dictionary it stands for (title,
    description, field names), so a vote on it is recorded the same way."""
    head, _, rest = content.partition("\n")
    body, _, cites = rest.partition("\n\n")
    names = [re.sub(r" <[^<>]*>$", "", line) for line in cites.split("\n") if _CITE_LINE.match(line)]
    return {
        "title": head.removeprefix("**").removesuffix("**"),
        "description": body,
        "fields": [{"name": name} for name in names],
    }


# -- feedback and the unanswered ------------------------------------------------------------


def _citation_of(name: str) -> str:
    """``SOURCE:FIRST-LAST`` from a field name ``[n] SOURCE:FIRST-LAST — heading``."""
    text = unescape(name).removesuffix(STALE_MARK)
    text = re.sub(r"^\[[0-9]+\] ", "", text)
    return text.split(" — ", 1)[0]


def feedback_record(
    embed: Mapping[str, Any], vote: Vote, user: str, when: datetime, link: str = "", docs: str = ""
) -> dict[str, Any]:
    """The feedback log line for a vote on an answer, read back from the answer's embed
    (the message is all a button press brings, also after a restart). ``user`` is the
    voter's keyed pseudonym (``bot.discord.logs.pseudonym``); mentions in the question are
    not kept."""
    description = str(embed.get("description", ""))
    abstained = description.startswith(NOT_ANSWERED)
    return {
        "time": when.isoformat(timespec="seconds"),
        "vote": vote,
        "question": scrub(unescape(str(embed.get("title", "")))),
        "answer": unescape(description.split("\n", 1)[0].removeprefix(NOT_ANSWERED).strip())
        if abstained
        else unescape(description),
        "abstained": abstained,
        "citations": [_citation_of(str(f.get("name", ""))) for f in embed.get("fields", [])],
        "user": user,
        "link": link,
        "docs": docs,
    }


def abstention_record(
    answer: Answer, via: str, user: str, when: datetime, link: str = "", docs: str = ""
) -> dict[str, Any]:
    """The abstention log line for a question the bot did not answer (it abstained, or a
    post's answer fell short of the auto-answer threshold)."""
    return {
        "time": when.isoformat(timespec="seconds"),
        "via": via,
        "question": scrub(answer.question),
        "answer": "" if answer.abstained else answer.text,
        "coverage": round(answer.coverage, 4),
        "closest": [p.citation for p in answer.passages[:3]],
        "user": user,
        "link": link,
        "docs": docs,
    }


def digest_message(groups: Sequence[Group], days: int) -> str:
    """The weekly digest for a channel: how many questions went unanswered, then each
    group's terms and its questions with their message links, as many as fit in one
    message; links in ``<>`` so Discord shows no previews."""
    total = sum(len(g.items) for g in groups)
    head = (
        f"**{total} question{'s' if total != 1 else ''} went unanswered or "
        f"{'were' if total != 1 else 'was'} rated 👎 "
        f"in the last {days} days.** `docqa report` lists them all."
    )
    lines = [head]
    used = dlen(head)
    shown = 0
    for g in groups:
        title = "**" + fit(", ".join(g.terms) if g.terms else "other questions", 200) + f"** ({len(g.items)})"
        block = [title]
        for item in g.items:
            link = f" <{item.link}>" if item.link.startswith("https://discord.com/") else ""
            block.append("• " + fit(one_line(item.question), 200) + link)
        text = "\n".join(block)
        reserve = dlen(f"\n… and {total} more")
        if used + 1 + dlen(text) + reserve > CONTENT_LIMIT:
            break
        lines.append(text)
        used += 1 + dlen(text)
        shown += len(g.items)
    if shown < total:
        lines.append(f"… and {total - shown} more")
    return "\n".join(lines)
