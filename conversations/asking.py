"""How an item is put to a person: the `Ask` message for its type, language and state."""

from __future__ import annotations

from conversations.answers import Accepted, accepted_hint
from conversations.catalog import translate
from conversations.defaults import offered_default
from conversations.messages import Ask, AskStyle, Option
from conversations.navigation import has_answer, previous_item, progress
from conversations.questionnaire import Item, ItemType, Questionnaire
from conversations.run import AnswerState, RunState

__all__ = ["ask_consent", "ask_item", "ask_other_text", "display_skipped"]

CONSENT_ITEM = "consent"
"""The pseudo item id of the consent question (never a real item id: ids are validated)."""

_STYLES = {
    ItemType.SINGLE_CHOICE: AskStyle.CHOICE,
    ItemType.MULTI_CHOICE: AskStyle.MULTI,
    ItemType.SCALE: AskStyle.SCALE,
    ItemType.YES_NO: AskStyle.YES_NO,
}


def ask_consent(q: Questionnaire, language: str) -> Ask:
    return Ask(
        item_id=CONSENT_ITEM,
        text=q.consent.get(language),
        style=AskStyle.CONSENT,
        hint=translate("consent.hint", language),
        options=(
            Option("agree", translate("consent.agree", language)),
            Option("decline", translate("consent.decline", language)),
        ),
    )


def ask_item(q: Questionnaire, run: RunState, item: Item, *, refresh: bool = False) -> Ask:
    """The question as it stands, with any current answer or default.

    `item` is as the engine offers it (`navigation.offered`: the choices a cascade allows);
    a preview passes the whole item.
    """
    language = run.language
    current = _current(run, item)
    default = offered_default(item, run)
    hint = accepted_hint(item, language)
    if current is not None:
        hint = translate("run.current_answer", language, display=current)
    elif default is not None:
        hint = translate("run.default_hint", language, display=default.display, hint=hint)
    return Ask(
        item_id=item.id,
        text=_question_text(item, language),
        style=_STYLES.get(item.type, AskStyle.FREE),
        hint=hint,
        progress=_progress_line(q, run, item),
        options=_marked(_options(item, language), default, language),
        selected=run.selection,
        current=current,
        controls=_keep_control(default, language) + _controls(q, run, item),
        done_label=translate("run.done", language) if item.type is ItemType.MULTI_CHOICE else "",
        refresh=refresh,
    )


def _current(run: RunState, item: Item) -> str | None:
    stored = run.answers.get(item.id)
    if stored is None or stored.state is AnswerState.NOT_APPLICABLE:
        return None
    return stored.display if has_answer(item, run.answers) else None


def _marked(
    options: tuple[Option, ...], default: Accepted | None, language: str
) -> tuple[Option, ...]:
    """The default choice (a single choice, a yes/no, a scale point) carries a ★."""
    if default is None or isinstance(default.value, list):
        return options
    value = _option_value(default)
    return tuple(
        Option(o.value, translate("run.default_option", language, label=o.label))
        if o.value == value
        else o
        for o in options
    )


def _option_value(default: Accepted) -> str:
    if isinstance(default.value, bool):
        return "yes" if default.value else "no"
    return str(default.value)


def _keep_control(default: Accepted | None, language: str) -> tuple[Option, ...]:
    if default is None:
        return ()
    return (Option("next", translate("run.keep_default", language, display=default.display)),)


def ask_other_text(run: RunState, item: Item) -> Ask:
    return Ask(
        item_id=item.id,
        text=translate("run.specify_other", run.language),
        style=AskStyle.FREE,
        hint=translate("run.specify_hint", run.language),
    )


def display_skipped(item: Item, language: str) -> str:
    return translate("run.prefer_not" if item.allow_skip else "run.skipped", language)


def _question_text(item: Item, language: str) -> str:
    text = item.label.get(language)
    if item.type is ItemType.SCALE and item.min_label and item.max_label:
        legend = translate(
            "run.scale_legend",
            language,
            min=item.scale_min,
            min_label=item.min_label.get(language),
            max=item.scale_max,
            max_label=item.max_label.get(language),
        )
        text = f"{text}\n{legend}"
    return text


def _options(item: Item, language: str) -> tuple[Option, ...]:
    if item.type in (ItemType.SINGLE_CHOICE, ItemType.MULTI_CHOICE):
        return tuple(Option(c.id, c.label.get(language)) for c in item.choices)
    if item.type is ItemType.SCALE:
        values = range(item.scale_min, item.scale_max + 1)
        return tuple(Option(str(v), str(v)) for v in values)
    if item.type is ItemType.YES_NO:
        return (
            Option("yes", translate("run.yes", language)),
            Option("no", translate("run.no", language)),
        )
    return ()


def _controls(q: Questionnaire, run: RunState, item: Item) -> tuple[Option, ...]:
    controls: list[Option] = []
    if item.skippable:
        controls.append(Option("skip", display_skipped(item, run.language)))
    if previous_item(q, run, q.index_of(item.id)) is not None:
        controls.append(Option("back", translate("run.back", run.language)))
    return tuple(controls)


def _progress_line(q: Questionnaire, run: RunState, item: Item) -> str:
    where = progress(q, run)
    section = q.section(item.section_id)
    return translate(
        "progress.line",
        run.language,
        number=where.number,
        total=where.total,
        section_number=q.section_number(section.id),
        section=section.title.get(run.language),
    )
