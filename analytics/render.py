"""A `Digest` as Slack Block Kit (mrkdwn), Telegram HTML, or console text.

The words come from `analytics.wording` (one `Document` for all three), so the numbers
are the same everywhere; this module only adds markup, escapes, and splits:

- **Slack**: a header block per section, then mrkdwn section blocks (several when a
  section is over 3,000 characters), messages of at most 50 blocks and `SLACK_MESSAGE_CHARS`
  characters (Slack rejects long block messages below its documented limits). The parts
  come back in order: post the first, the rest as thread replies or follow-ups.
  Text is escaped for mrkdwn (`&`, `<`, `>`), so no mention, channel ping or link can be
  injected; formatting characters (`*`, `_`, `~` and the backtick) get a zero-width
  space on each side, which Slack cannot read as the edge of bold, italic, strike or
  code: mrkdwn has no escape for them. Text objects are `verbatim`, so Slack does not
  auto-link either.
- **Telegram**: HTML parse mode, every text `html.escape`d, split into messages of at
  most 4,096 characters (counted in UTF-16, as Telegram does) on section boundaries,
  then paragraph, then line boundaries; a tag never spans two messages.
- **Console**: plain text, with control characters (terminal escapes) made visible.
"""

from __future__ import annotations

import html
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from analytics import wording_sections as sections
from analytics.model import Digest, ItemSummary
from analytics.wording import Document, Line, Paragraph, Quote, Section, Strong, Words, cap
from analytics.wording_items import item_paragraph
from conversations.questionnaire import Questionnaire

__all__ = [
    "SLACK_HEADER_CHARS",
    "SLACK_MESSAGE_BLOCKS",
    "SLACK_MESSAGE_CHARS",
    "SLACK_SECTION_CHARS",
    "TELEGRAM_MESSAGE_CHARS",
    "SlackPost",
    "document_for",
    "escape_html",
    "escape_mrkdwn",
    "to_console",
    "to_slack",
    "to_telegram",
]

TELEGRAM_MESSAGE_CHARS = 4096
SLACK_MESSAGE_BLOCKS = 50
SLACK_SECTION_CHARS = 3000
SLACK_HEADER_CHARS = 150
SLACK_MESSAGE_CHARS = 10_000
"""Well under the ~13k characters at which Slack answers `msg_blocks_too_long`."""
_ZWSP = "\u200b"
_MRKDWN_FORMATTING = "*_~`"


@dataclass(frozen=True)
class SlackPost:
    """One `chat.postMessage`: fallback/notification `text` (mrkdwn) and the blocks."""

    text: str
    blocks: tuple[dict[str, Any], ...]


def document_for(digest: Digest, questionnaire: Questionnaire, language: str) -> Document:
    """The digest's words in `language`; a short, friendly one for an empty study."""
    words = Words(questionnaire, language, digest.k)
    title = words("digest.title", title=cap(questionnaire.title.get(language)))
    subtitle = words("digest.as_of", when=digest.built_at.strftime("%Y-%m-%d %H:%M UTC"))
    if digest.is_empty:
        h = digest.headline
        empty = words("digest.empty", invited=words.count(h.invited), roster=words.count(h.roster))
        body = (Section(words("digest.section.headline"), ((Line((empty,)),),)),)
        return Document(title, subtitle, empty, body + sections.groups(digest, words))
    parts = [sections.headline(digest, words), sections.funnel(digest, words)]
    parts += sections.changes(digest, words)
    parts += _item_sections(digest.items, words)
    parts += sections.segments(digest, words)
    parts += sections.groups(digest, words)
    parts.append(sections.delivery(digest, words))
    return Document(title, subtitle, sections.headline_sentence(digest, words), tuple(parts))


def _item_sections(items: Sequence[ItemSummary], words: Words) -> list[Section]:
    """One section per questionnaire section, its items as paragraphs, in asking order."""
    grouped: dict[str, list[Paragraph]] = {}
    for summary in items:
        grouped.setdefault(words.section_of(summary.item_id), []).append(
            item_paragraph(summary, words)
        )
    return [Section(words.section(sid), tuple(ps)) for sid, ps in grouped.items()]


# --- console ----------------------------------------------------------------------------


def to_console(digest: Digest, questionnaire: Questionnaire, language: str) -> str:
    """Plain text for a terminal; headings underlined."""
    document = document_for(digest, questionnaire, language)
    out = [_underline(document.title, "="), document.subtitle]
    for section in document.sections:
        out.append("")
        out.append(_underline(section.heading, "-"))
        out.append("\n\n".join(_lines(p, _console_line) for p in section.paragraphs))
    return _printable("\n".join(out)) + "\n"


def _underline(text: str, mark: str) -> str:
    return f"{text}\n{mark * len(text)}"


def _console_line(line: Line) -> str:
    return ("• " if line.bullet else "") + line.plain


def _printable(text: str) -> str:
    """Control characters other than newlines shown as U+FFFD: a terminal escape in an
    answer must not recolour or rewrite the researcher's terminal.
    """
    return "".join(
        "\ufffd" if ch != "\n" and unicodedata.category(ch) == "Cc" else ch for ch in text
    )


def _lines(paragraph: Paragraph, render: Callable[[Line], str]) -> str:
    return "\n".join(render(line) for line in paragraph)


# --- Telegram ---------------------------------------------------------------------------


def escape_html(text: str) -> str:
    return html.escape(text, quote=False)


def to_telegram(
    digest: Digest,
    questionnaire: Questionnaire,
    language: str,
    *,
    limit: int = TELEGRAM_MESSAGE_CHARS,
) -> list[str]:
    """Messages for `parse_mode=HTML`, each at most `limit` UTF-16 code units."""
    document = document_for(digest, questionnaire, language)
    title = f"<b>{escape_html(document.title)}</b>\n<i>{escape_html(document.subtitle)}</i>"
    blocks = [[title]]
    for section in document.sections:
        heading = f"<b><u>{escape_html(section.heading)}</u></b>"
        paragraphs = [_lines(p, _html_line) for p in section.paragraphs]
        blocks.append([f"{heading}\n{paragraphs[0]}", *paragraphs[1:]])
    return split_blocks(blocks, limit)


def _html_line(line: Line) -> str:
    return ("• " if line.bullet else "") + "".join(_html_part(p) for p in line.parts)


def _html_part(part: str | Strong | Quote) -> str:
    if isinstance(part, Strong):
        return f"<b>{escape_html(part.text)}</b>"
    if isinstance(part, Quote):
        return f"<i>{escape_html(part.text)}</i>"
    return escape_html(part)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def split_blocks(blocks: Sequence[Sequence[str]], limit: int) -> list[str]:
    """Pack sections (lists of paragraphs) into messages of at most `limit`.

    A section that fits in a message is never split; one that does not is split between
    paragraphs, and a paragraph longer than a message between lines. Lines themselves
    are short (user text is capped), and markup never spans lines, so no tag is cut.
    """
    messages: list[str] = []
    current = ""
    for separator, piece in _pieces(blocks, limit):
        if current and utf16_len(current) + utf16_len(separator + piece) > limit:
            messages.append(current)
            current = piece
        else:
            current = f"{current}{separator}{piece}" if current else piece
    if current:
        messages.append(current)
    return messages


def _pieces(blocks: Sequence[Sequence[str]], limit: int) -> Iterator[tuple[str, str]]:
    """(separator, text) in reading order: whole sections when they fit, else smaller."""
    for block in blocks:
        whole = "\n\n".join(block)
        if utf16_len(whole) <= limit:
            yield "\n\n", whole
            continue
        for paragraph in block:
            if utf16_len(paragraph) <= limit:
                yield "\n\n", paragraph
                continue
            separator = "\n\n"
            for line in paragraph.split("\n"):
                yield separator, line
                separator = "\n"


# --- Slack ------------------------------------------------------------------------------


def escape_mrkdwn(text: str) -> str:
    """Text shown as typed in mrkdwn: no mention, link, or formatting can come from it."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    for mark in _MRKDWN_FORMATTING:
        escaped = escaped.replace(mark, f"{_ZWSP}{mark}{_ZWSP}")
    return escaped


def to_slack(digest: Digest, questionnaire: Questionnaire, language: str) -> list[SlackPost]:
    """Posts in order: the first has the header and headline; each later one says which
    part it is, so it reads well as a thread reply or as a message of its own.
    """
    document = document_for(digest, questionnaire, language)
    head: list[dict[str, Any]] = [
        {"type": "header", "text": _plain(cap(document.title, SLACK_HEADER_CHARS))},
        {"type": "context", "elements": [_mrkdwn(escape_mrkdwn(document.subtitle))]},
    ]
    messages = _pack_blocks(head, [_section_blocks(s) for s in document.sections])
    posts = [SlackPost(escape_mrkdwn(document.summary), tuple(messages[0]))]
    words = Words(questionnaire, language, digest.k)
    for number, blocks in enumerate(messages[1:], start=2):
        note = words("digest.continued", title=document.title, part=number, parts=len(messages))
        context = {"type": "context", "elements": [_mrkdwn(escape_mrkdwn(note))]}
        posts.append(SlackPost(escape_mrkdwn(note), (context, *blocks)))
    return posts


def _section_blocks(section: Section) -> list[dict[str, Any]]:
    """A header (plain text: nothing in it is markup), then the section's paragraphs as
    mrkdwn section blocks of at most 3,000 characters each.
    """
    paragraphs = [_lines(p, _mrkdwn_line) for p in section.paragraphs]
    texts = split_blocks([paragraphs], SLACK_SECTION_CHARS)
    header = {"type": "header", "text": _plain(cap(section.heading, SLACK_HEADER_CHARS))}
    return [header, *({"type": "section", "text": _mrkdwn(t)} for t in texts)]


def _pack_blocks(
    head: list[dict[str, Any]], groups: Sequence[list[dict[str, Any]]]
) -> list[list[dict[str, Any]]]:
    """Fill messages section by section; a section moves whole to the next message when
    it does not fit, and is cut between blocks only when it fills more than a message.
    """
    messages = [list(head)]
    for group in groups:
        if not _fits(messages[-1], group):
            messages.append([])
        for block in group:
            if not _fits(messages[-1], [block]):
                messages.append([])
            messages[-1].append(block)
    return messages


def _fits(message: list[dict[str, Any]], extra: list[dict[str, Any]]) -> bool:
    """Room for `extra`, keeping one block for a later part's "continued" line."""
    blocks = len(message) + len(extra) + 1
    chars = sum(_block_chars(b) for b in [*message, *extra]) + SLACK_HEADER_CHARS * 2
    return blocks <= SLACK_MESSAGE_BLOCKS and chars <= SLACK_MESSAGE_CHARS


def _block_chars(block: dict[str, Any]) -> int:
    text = block.get("text")
    if isinstance(text, dict):
        return len(text["text"])
    return sum(len(e["text"]) for e in block.get("elements", ()))


def _mrkdwn_line(line: Line) -> str:
    return ("• " if line.bullet else "") + "".join(_mrkdwn_part(p) for p in line.parts)


def _mrkdwn_part(part: str | Strong | Quote) -> str:
    if isinstance(part, Strong):
        return f"*{escape_mrkdwn(part.text)}*"
    if isinstance(part, Quote):
        return f"_{escape_mrkdwn(part.text)}_"
    return escape_mrkdwn(part)


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": False}
