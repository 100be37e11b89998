"""Rendering a digest: exact text in both languages, platform limits, and escaping.

Golden files in tests/analytics/golden/ hold the exact output for `sample_digest()`.
After an intended change of wording or layout, regenerate them and review the diff:

    PARLEY_UPDATE_GOLDEN=1 .venv/bin/pytest tests/analytics/test_render.py
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from analytics.model import ChoiceCount, ChoiceSummary, Digest, TextSummary
from analytics.numbers import Numbers
from analytics.render import (
    SLACK_HEADER_CHARS,
    SLACK_MESSAGE_BLOCKS,
    SLACK_SECTION_CHARS,
    TELEGRAM_MESSAGE_CHARS,
    escape_mrkdwn,
    split_blocks,
    to_console,
    to_slack,
    to_telegram,
    utf16_len,
)
from conversations.loading import parse_questionnaire
from conversations.questionnaire import Questionnaire
from tests.analytics.sample_digest import NASTY, empty_digest, questionnaire, sample_digest
from tests.fakes.slack_blocks import plain_text, validate_blocks
from tests.fakes.telegram_api import parse_html

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("PARLEY_UPDATE_GOLDEN") == "1"
MESSAGE_BREAK = "\n\n===== next message =====\n\n"


def check_golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_text(actual, encoding="utf-8")
    assert path.exists(), f"{path} missing: run with PARLEY_UPDATE_GOLDEN=1"
    assert actual == path.read_text(encoding="utf-8")


def slack_json(digest: Digest, language: str) -> str:
    posts = [
        {"text": p.text, "blocks": list(p.blocks)}
        for p in to_slack(digest, questionnaire(), language)
    ]
    return json.dumps(posts, ensure_ascii=False, indent=2) + "\n"


# --- golden files -----------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "fr"])
@pytest.mark.parametrize(("name", "digest"), [("digest", sample_digest), ("empty", empty_digest)])
def test_golden(language: str, name: str, digest: Any) -> None:
    d = digest()
    check_golden(f"{name}.{language}.txt", to_console(d, questionnaire(), language))
    html = MESSAGE_BREAK.join(to_telegram(d, questionnaire(), language)) + "\n"
    check_golden(f"{name}.{language}.html", html)
    check_golden(f"{name}.{language}.json", slack_json(d, language))


@pytest.mark.parametrize(
    ("language", "headline"),
    [
        ("en", "8 of 15 organisations completed · 2 in progress · 5 not started"),
        ("fr", "8 organismes sur 15 ont terminé · 2 en cours · 5 pas commencé"),
    ],
)
def test_headline_as_the_issue_spells_it(language: str, headline: str) -> None:
    digest = sample_digest()
    digest = replace(digest, headline=replace(digest.headline, not_started=5))
    assert to_console(digest, questionnaire(), language).splitlines()[6] == headline
    assert to_slack(digest, questionnaire(), language)[0].text == headline


def test_empty_study_is_short_and_friendly() -> None:
    text = to_console(empty_digest(), questionnaire(), "en")
    assert "No answers yet: 4 of 16 people invited so far." in text
    assert len(text.splitlines()) <= 8
    assert len(to_telegram(empty_digest(), questionnaire(), "fr")) == 1
    assert len(to_slack(empty_digest(), questionnaire(), "fr")) == 1


# --- suppression ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "k", "expected"),
    [("en", 3, "fewer than 3"), ("fr", 3, "moins de 3"), ("en", 5, "fewer than 5")],
)
def test_suppressed_cells_say_fewer_than_k(language: str, k: int, expected: str) -> None:
    digest = replace(sample_digest(), k=k)
    text = to_console(digest, questionnaire(), language)
    breakdown = text[text.index("Breakdowns" if language == "en" else "Ventilations") :]
    rows = [line for line in breakdown.splitlines() if expected in line]
    assert len(rows) == 4  # three choice rows and the respondents row
    # The suppressed "West" respondents total is never shown as a number.
    assert "West 4" not in text
    assert f"West {expected}" in rows[-1]


# --- Slack ------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "fr"])
def test_slack_blocks_are_valid(language: str) -> None:
    for post in to_slack(sample_digest(), questionnaire(), language):
        assert validate_blocks(list(post.blocks)) == []
        assert post.text


def big_questionnaire(items: int, label: str) -> Questionnaire:
    """`items` single-choice items with long labels, in sections of ten."""
    lines = [
        'id: big\nversion: "1"\ntitle: {en: Big, fr: Gros}\nlanguages: [en, fr]',
        'consent: {version: "1", text: {en: "Ok?", fr: "Ok?"}}\nclosing: {en: Bye, fr: Salut}',
        "sections:",
    ]
    for n in range(items):
        if n % 10 == 0:
            lines.append(f"  - id: s{n}\n    title: {{en: S{n}, fr: S{n}}}\n    items:")
        lines.append(
            f"      - id: q{n}\n        type: single_choice\n"
            f'        label: {{en: "{n} {label}", fr: "{n} {label}"}}\n'
            "        choices:\n"
            + "".join(
                f'          - {{id: c{c}, label: {{en: "{label} {c}", fr: "{label} {c}"}}}}\n'
                for c in range(6)
            )
        )
    return parse_questionnaire("\n".join(lines), "big.yaml").questionnaire


def big_digest(q: Questionnaire) -> Digest:
    counts = tuple(ChoiceCount(f"c{c}", c + 1, (c + 1) / 21) for c in range(6))
    items = tuple(ChoiceSummary(item.id, "single_choice", 21, 0, counts, "c5") for item in q.items)
    return replace(sample_digest(), items=items, segments=(), changes=None, drop_off=())


LONG = "Organisme d'établissement & <association> sans but lucratif *communautaire* " * 3


def test_a_long_digest_is_split_into_valid_slack_messages() -> None:
    q = big_questionnaire(120, LONG)
    posts = to_slack(big_digest(q), q, "fr")
    assert len(posts) > 2
    for number, post in enumerate(posts, start=1):
        assert validate_blocks(list(post.blocks)) == [], number
        assert len(post.blocks) <= SLACK_MESSAGE_BLOCKS
        for block in post.blocks:
            if block["type"] == "section":
                assert len(block["text"]["text"]) <= SLACK_SECTION_CHARS
            if block["type"] == "header":
                assert len(block["text"]["text"]) <= SLACK_HEADER_CHARS
    assert posts[1].text == f"Bilan : Gros (suite, partie 2 sur {len(posts)})"
    # Nothing lost or repeated: every item appears once, in order.
    shown = "\n".join(plain_text(list(p.blocks)) for p in posts)
    positions = [shown.index(f"*{n} Organisme") for n in range(120)]
    assert positions == sorted(positions)
    assert all(shown.count(f"*{n} Organisme") == 1 for n in range(120))


@pytest.mark.parametrize(
    ("text", "forbidden"),
    [
        ("<@U123>", "<@U123>"),
        ("<!channel>", "<!channel>"),
        ("<!here|here>", "<!here"),
        ("<https://evil.example|click>", "<https://"),
        ("*bold*", "*bold*"),
        ("_it_ ~strike~ `code`", "_it_"),
        ("&lt;@U1&gt;", "&lt;@U1&gt;"),  # already-escaped text stays text, not a mention
    ],
)
def test_mrkdwn_escaping(text: str, forbidden: str) -> None:
    escaped = escape_mrkdwn(text)
    assert forbidden not in escaped
    assert "<" not in escaped and ">" not in escaped
    unescaped = escaped.replace("\u200b", "").replace("&lt;", "<").replace("&gt;", ">")
    assert unescaped.replace("&amp;", "&") == text


def test_questionnaire_and_user_text_cannot_mention_or_format_in_slack() -> None:
    posts = to_slack(sample_digest(), questionnaire(), "en")
    blob = json.dumps([list(p.blocks) for p in posts], ensure_ascii=False)
    for raw in ("<@U123>", "<!channel>", "<!here>", "<@U999>", "*bold*", "<b>", "<a href"):
        assert raw not in blob
    assert all(b["text"]["verbatim"] for p in posts for b in p.blocks if b["type"] == "section")


# --- Telegram ---------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "fr"])
def test_telegram_html_parses_and_shows_user_text_as_typed(language: str) -> None:
    messages = to_telegram(sample_digest(), questionnaire(), language)
    texts = []
    for message in messages:
        text, entities = parse_html(message)
        assert {e["type"] for e in entities} <= {"bold", "italic", "underline"}
        texts.append(text)
    shown = "\n".join(texts)
    assert NASTY in shown
    assert "Better *regional* data & <i>faster</i> access" in shown
    assert "Data *sharing* <!here> & you" in shown


def test_telegram_splits_at_4096_on_section_boundaries() -> None:
    q = big_questionnaire(60, LONG)
    digest = big_digest(q)
    messages = to_telegram(digest, q, "fr")
    whole = to_telegram(digest, q, "fr", limit=10**9)
    assert len(whole) == 1
    assert len(messages) > 2
    assert all(utf16_len(m) <= TELEGRAM_MESSAGE_CHARS for m in messages)
    assert "\n\n".join(messages) == whole[0]
    for message in messages:
        parse_html(message)  # no tag cut in two
        assert message.startswith("<b>")  # a heading or an item's question opens it


@pytest.mark.parametrize(
    ("blocks", "limit", "expected"),
    [
        ([["aa", "bb"], ["cc"]], 100, ["aa\n\nbb\n\ncc"]),
        ([["aa", "bb"], ["cc"]], 8, ["aa\n\nbb", "cc"]),  # the second section moves whole
        ([["aaaa", "bbbb"], ["cc"]], 8, ["aaaa", "bbbb\n\ncc"]),  # a long section: paragraphs
        ([["a1\na2\na3"]], 5, ["a1\na2", "a3"]),  # a long paragraph: lines
        ([["😀😀"]], 3, ["😀😀"]),  # a single line is never cut (4 UTF-16 units)
        ([["😀", "😀"]], 3, ["😀", "😀"]),  # counted in UTF-16, like Telegram
    ],
)
def test_split_blocks(blocks: list[list[str]], limit: int, expected: list[str]) -> None:
    assert split_blocks(blocks, limit) == expected


# --- console ----------------------------------------------------------------------------


def test_console_shows_terminal_escapes_as_replacement_characters() -> None:
    digest = sample_digest()
    text_item = digest.items[-1]
    assert isinstance(text_item, TextSummary)
    evil = replace(text_item, quotes=("red \x1b[31malert\x1b[0m",))
    items = (*digest.items[:-1], evil)
    text = to_console(replace(digest, items=items), questionnaire(), "en")
    assert "\x1b" not in text
    assert "“red \ufffd[31malert\ufffd[0m”" in text


# --- numbers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "call", "expected"),
    [
        ("en", lambda n: n.count(12345), "12,345"),
        ("fr", lambda n: n.count(12345), "12\u202f345"),
        ("en", lambda n: n.decimal(2.375), "2.4"),
        ("fr", lambda n: n.decimal(2.375), "2,4"),
        ("en", lambda n: n.decimal(3.0), "3"),
        ("en", lambda n: n.decimal(None), "–"),
        ("en", lambda n: n.percent(0.125), "13%"),  # half up, as a reader expects
        ("en", lambda n: n.percent(0.145), "15%"),  # 0.145 is 0.14499… as a float
        ("fr", lambda n: n.percent(2 / 3), "67\u00a0%"),
        ("en", lambda n: n.percent(None), "–"),
        ("en", lambda n: n.points(0.2), "+20 pts"),
        ("fr", lambda n: n.points(-0.125), "−13\u00a0pts"),
    ],
)
def test_numbers(language: str, call: Any, expected: str) -> None:
    assert call(Numbers(language)) == expected


# --- a digest built from answers ----------------------------------------------------------


def test_a_digest_built_from_answers_renders_everywhere() -> None:
    """`analytics.digest.build_digest` over tiny frames: every renderer takes what it makes."""
    from analytics.digest import build_digest
    from tests.analytics.tiny import NOW, Person, frames_of
    from tests.analytics.tiny import questionnaire as tiny_questionnaire

    q = tiny_questionnaire()
    rows = [("red", ["excel"], 4, "east"), ("blue", ["excel", "bi"], 2, "west")]
    rows += [("red", ["r"], 5, "east"), ("red", ["excel"], 3, "east")]
    people = [
        Person(
            answers={"colour": c, "tools": t, "ease": e, "story": "We *need* <b>data</b>"}, region=r
        )
        for c, t, e, r in rows
    ]
    people.append(Person("in_progress", {"colour": "green"}, cursor="tools"))
    digest = build_digest(frames_of(people), q, None, NOW)
    for language in ("en", "fr"):
        text = to_console(digest, q, language)
        assert ("Red: 3 (60%)" if language == "en" else "Rouge : 3 (60\u00a0%)") in text
        for post in to_slack(digest, q, language):
            assert validate_blocks(list(post.blocks)) == []
        shown = "".join(parse_html(m)[0] for m in to_telegram(digest, q, language))
        assert "We *need* <b>data</b>" in shown
    assert "• Red: east fewer than 3 · west fewer than 3" in to_console(digest, q, "en")
