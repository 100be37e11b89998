"""`parley questionnaire preview`: every item as the console would show it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from bot.channels.console import render
from conversations.asking import ask_consent, ask_item
from conversations.catalog import translate
from conversations.questionnaire import Questionnaire
from conversations.run import RunState

__all__ = ["preview_lines"]


def preview_lines(q: Questionnaire, language: str) -> Iterator[str]:
    language = q.language_or_default(language)
    run = RunState(q.id, q.version, language)
    yield render(ask_consent(q, language))
    for section_number, section in enumerate(q.sections, start=1):
        yield ""
        yield f"== Section {section_number}: {section.title.get(language)} =="
        if section.intro:
            yield section.intro.get(language)
        for item in section.items:
            yield ""
            if not item.is_question:
                yield item.label.get(language)
                continue
            if item.relevant is not None:
                yield translate("preview.asked_if", language, condition=item.relevant.source)
            yield render(ask_item(q, replace(run, cursor=item.id), item))
    yield ""
    yield q.closing.get(language)
