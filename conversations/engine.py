"""The conversation engine: a pure function from (definition, state, input, now) to a Step.

The engine never sends, stores or reads the clock. The shell persists `Step.run` and
`Step.recorded` and delivers `Step.messages`, all in one transaction, so a step is
either wholly applied or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from conversations.answers import (
    Accepted,
    Rejected,
    check_selection,
    explain,
    is_missing,
    parse_answer,
)
from conversations.asking import (
    CONSENT_ITEM,
    ask_consent,
    ask_item,
    ask_other_text,
    display_skipped,
)
from conversations.catalog import translate
from conversations.defaults import accepts_default, offered_default, preselected
from conversations.errors import InvalidInput
from conversations.inputs import (
    Begin,
    Command,
    CommandName,
    Input,
    Pick,
    Reply,
    Submit,
    Toggle,
    Unreadable,
    parse_text,
)
from conversations.messages import Answered, Ask, Message, Notice, Say
from conversations.navigation import (
    counted_values,
    has_answer,
    next_item,
    offered,
    previous_item,
    progress,
    reconcile_relevance,
)
from conversations.questionnaire import Item, ItemType, Questionnaire
from conversations.run import AnswerState, Awaiting, RunState, RunStatus, StoredAnswer
from conversations.text import fold

__all__ = ["Recorded", "Step", "consent_answer", "start", "step"]

Recorded = tuple[str, StoredAnswer]
"""An answer (item id, stored answer) created or changed by a step."""

_AGREE = frozenset({"agree", "i agree", "yes", "y", "1", "oui", "o", "j'accepte", "j’accepte"})
_DECLINE = frozenset({"decline", "i do not agree", "no", "n", "2", "non", "je n'accepte pas"})


@dataclass(frozen=True)
class Step:
    run: RunState
    messages: tuple[Message, ...] = ()
    recorded: tuple[Recorded, ...] = ()


def start(q: Questionnaire, language: str | None, now: datetime) -> Step:
    """A new run, asking for consent in `language` (or the questionnaire's default)."""
    run = RunState(
        questionnaire_id=q.id,
        questionnaire_version=q.version,
        language=q.language_or_default(language),
    )
    return _ask_consent(q, replace(run, turn=1))


def step(q: Questionnaire, run: RunState, event: Input, now: datetime) -> Step:
    """Apply one input to a run. Bad replies are re-prompts, never exceptions."""
    if (run.questionnaire_id, run.questionnaire_version) != (q.id, q.version):
        raise InvalidInput(
            f"run is on {run.questionnaire_id} v{run.questionnaire_version}, "
            f"not {q.id} v{q.version}"
        )
    if isinstance(event, Reply):
        event = parse_text(event.text)
    run = replace(run, turn=run.turn + 1)
    if isinstance(event, Reply) and _looks_like_command(event.text):
        return Step(run, (Say(translate("run.unknown_command", run.language)),))
    if isinstance(event, Command) and event.name is CommandName.LANGUAGE:
        return _change_language(q, run, event.argument)
    handler = _BY_STATUS[run.status]
    return handler(q, run, event, now)


# --- per status -----------------------------------------------------------------------


def _when_invited(q: Questionnaire, run: RunState, event: Input, now: datetime) -> Step:
    return _ask_consent(q, run)


def _when_consenting(q: Questionnaire, run: RunState, event: Input, now: datetime) -> Step:
    answer = consent_answer(event)
    if answer == "agree":
        agreed = replace(
            run,
            status=RunStatus.IN_PROGRESS,
            consent_version=q.consent_version,
            started_at=run.started_at or now,
        )
        agreement = Answered(
            CONSENT_ITEM, q.consent.get(run.language), translate("consent.agree", run.language)
        )
        return _advance(q, agreed, after=-1, now=now, lead=(agreement,))
    if answer == "decline":
        declined = replace(run, status=RunStatus.DECLINED, awaiting=Awaiting.NOTHING)
        return Step(declined, (Say(translate("consent.declined", run.language)),))
    if isinstance(event, Command) and event.name is CommandName.HELP:
        return Step(run, (Say(translate("consent.hint", run.language)),))
    if isinstance(event, Command) and event.name is CommandName.STOP:
        return _stop(run)
    return _ask_consent(q, run)


def _when_in_progress(q: Questionnaire, run: RunState, event: Input, now: datetime) -> Step:
    item = _current_item(q, run)
    if isinstance(event, Begin):
        return _reask(q, run, item, translate("run.welcome_back", run.language))
    if _is_stale(event, item, run):
        return Step(run, (Notice(translate("run.stale", run.language)),))
    if isinstance(event, Unreadable):
        return Step(run, (Say(translate("run.unreadable", run.language)),))
    if isinstance(event, Command):
        return _command(q, run, item, event, now)
    if isinstance(event, Toggle):
        return _toggle(q, run, item, event.choice_id)
    if isinstance(event, Submit):
        if event.choices is not None:
            run = replace(run, selection=tuple(c for c in event.choices if item.choice(c)))
        return _submit_selection(q, run, item, now)
    if isinstance(event, Pick):
        if item.type is ItemType.MULTI_CHOICE:
            return _toggle(q, run, item, event.value)
        return _answer(q, run, item, event.value, now)
    if run.awaiting is Awaiting.OTHER_TEXT:
        return _specify_other(q, run, item, event.text, now)
    default = offered_default(item, run)
    if default is not None and accepts_default(item, event.text):
        return _accept(q, run, item, event.text, default, now)
    return _answer(q, run, item, event.text, now)


def _is_stale(event: Input, item: Item, run: RunState) -> bool:
    """A button from another question, or pressed while a "please specify" text is awaited."""
    if isinstance(event, Command):
        return event.item_id is not None and event.item_id != item.id
    if isinstance(event, (Pick, Toggle, Submit)):
        return event.item_id != item.id or run.awaiting is not Awaiting.ANSWER
    return False


def _when_paused(q: Questionnaire, run: RunState, event: Input, now: datetime) -> Step:
    resumed = replace(run, status=RunStatus.IN_PROGRESS)
    if isinstance(event, (Reply, Begin)) or (
        isinstance(event, Command) and event.name is CommandName.RESUME
    ):
        item = _current_item(q, resumed)
        return _reask(q, resumed, item, translate("run.welcome_back", run.language))
    return _when_in_progress(q, resumed, event, now)


def _when_completed(q: Questionnaire, run: RunState, event: Input, now: datetime) -> Step:
    return Step(run, (Say(translate("run.completed", run.language)),))


def _when_stopped(q: Questionnaire, run: RunState, event: Input, now: datetime) -> Step:
    if _is_restart(event):
        if run.consent_version is None:
            return _ask_consent(q, run)
        resumed = replace(run, status=RunStatus.IN_PROGRESS)
        return _reask(
            q, resumed, _current_item(q, resumed), translate("run.welcome_back", run.language)
        )
    return Step(run, (Say(translate("run.still_stopped", run.language)),))


def _when_declined(q: Questionnaire, run: RunState, event: Input, now: datetime) -> Step:
    if _is_restart(event):
        return _ask_consent(q, run)
    return Step(run, (Say(translate("consent.still_declined", run.language)),))


_BY_STATUS = {
    RunStatus.INVITED: _when_invited,
    RunStatus.CONSENTING: _when_consenting,
    RunStatus.IN_PROGRESS: _when_in_progress,
    RunStatus.PAUSED: _when_paused,
    RunStatus.COMPLETED: _when_completed,
    RunStatus.WITHDRAWN: _when_stopped,
    RunStatus.DECLINED: _when_declined,
}


# --- answering --------------------------------------------------------------------------


def _answer(q: Questionnaire, run: RunState, item: Item, raw: str, now: datetime) -> Step:
    if not raw.strip() and item.required and item.required_message is not None:
        return _needs_answer(run, item, "run.not_skippable")
    parsed = parse_answer(item, raw, run.language)
    if isinstance(parsed, Rejected):
        return _rejected(run, item, parsed)
    return _accept(q, run, item, raw, parsed, now)


def _submit_selection(q: Questionnaire, run: RunState, item: Item, now: datetime) -> Step:
    parsed = check_selection(item, run.selection, run.language)
    if isinstance(parsed, Rejected):
        return _rejected(run, item, parsed)
    return _accept(q, run, item, ", ".join(run.selection), parsed, now)


def _rejected(run: RunState, item: Item, rejected: Rejected) -> Step:
    """The re-prompt: the item's own `required_message` when nothing was given at all."""
    if is_missing(rejected) and item.required and item.required_message is not None:
        return _needs_answer(run, item, rejected.reason)
    return Step(run, (Say(explain(rejected, run.language)),))


def _needs_answer(run: RunState, item: Item, fallback: str) -> Step:
    """A required item left unanswered (skip, next, an empty reply): its message, or ours."""
    if item.required_message is not None:
        return Step(run, (Say(item.required_message.get(run.language)),))
    return Step(run, (Say(translate(fallback, run.language)),))


def _accept(
    q: Questionnaire, run: RunState, item: Item, raw: str, parsed: Accepted, now: datetime
) -> Step:
    if item.constraint is not None and not item.constraint.evaluate(
        counted_values(run.answers), parsed.value
    ):
        message = item.constraint_message.get(run.language) if item.constraint_message else None
        return Step(run, (Say(message or translate("run.constraint_failed", run.language)),))
    stored = StoredAnswer(
        value=parsed.value,
        raw=raw,
        display=parsed.display,
        state=AnswerState.ANSWERED,
        language=run.language,
        answered_at=now,
    )
    answered = Answered(item.id, item.label.get(run.language), parsed.display)
    run = replace(run, answers={**run.answers, item.id: stored}, selection=())
    if _chose_other(item, parsed):
        waiting = replace(run, awaiting=Awaiting.OTHER_TEXT)
        return Step(waiting, (answered, ask_other_text(run, item)), ((item.id, stored),))
    return _advance(
        q, run, q.index_of(item.id), now, lead=(answered,), recorded=((item.id, stored),)
    )


def _chose_other(item: Item, parsed: Accepted) -> bool:
    chosen = parsed.value if isinstance(parsed.value, list) else [parsed.value]
    return any(c.other and c.id in chosen for c in item.choices)


def _specify_other(q: Questionnaire, run: RunState, item: Item, text: str, now: datetime) -> Step:
    specified = text.strip()[: item.max_length]
    if not specified:
        return Step(run, (ask_other_text(run, item),))
    stored = run.answers[item.id]
    updated = replace(stored, other_text=specified, answered_at=now)
    run = replace(run, answers={**run.answers, item.id: updated}, awaiting=Awaiting.ANSWER)
    return _advance(q, run, q.index_of(item.id), now, recorded=((item.id, updated),))


def _toggle(q: Questionnaire, run: RunState, item: Item, choice_id: str) -> Step:
    if item.choice(choice_id) is None:
        return Step(run, (Notice(translate("run.stale", run.language)),))
    run = replace(run, selection=_toggled(item, run.selection, choice_id))
    return Step(run, (ask_item(q, run, item, refresh=True),))


def _toggled(item: Item, selection: tuple[str, ...], choice_id: str) -> tuple[str, ...]:
    """Tick or untick; an exclusive choice ("None of these") clears the others and vice versa."""
    exclusive = {c.id for c in item.choices if c.exclusive}
    if choice_id in selection:
        ticked = set(selection) - {choice_id}
    elif choice_id in exclusive:
        ticked = {choice_id}
    else:
        ticked = (set(selection) - exclusive) | {choice_id}
    return tuple(c.id for c in item.choices if c.id in ticked)


# --- moving through the questionnaire ---------------------------------------------------


def _advance(
    q: Questionnaire,
    run: RunState,
    after: int,
    now: datetime,
    *,
    lead: tuple[Message, ...] = (),
    recorded: tuple[Recorded, ...] = (),
) -> Step:
    """Settle relevance, say any notes and section intros, and ask the next item."""
    run, changed = reconcile_relevance(q, run, now)
    recorded = _merge(recorded, changed)
    messages = list(lead)
    previous_section = q.items[after].section_id if after >= 0 else None
    position = after
    while (item := next_item(q, run, position)) is not None:
        if item.section_id != previous_section:
            messages.extend(_section_intro(q, run, item.section_id))
            previous_section = item.section_id
        if item.is_question:
            item = offered(item, run.answers)
            ticks = preselected(item, run)
            run = replace(run, cursor=item.id, awaiting=Awaiting.ANSWER, selection=ticks)
            messages.append(ask_item(q, run, item))
            return Step(run, tuple(messages), recorded)
        messages.append(Say(item.label.get(run.language)))
        position = q.index_of(item.id)
    done = replace(
        run, status=RunStatus.COMPLETED, awaiting=Awaiting.NOTHING, cursor=None, completed_at=now
    )
    messages.append(Say(q.closing.get(run.language)))
    return Step(done, tuple(messages), recorded)


def _merge(first: tuple[Recorded, ...], second: tuple[Recorded, ...]) -> tuple[Recorded, ...]:
    """Later changes to the same item win; one record per item per step."""
    merged = dict(first)
    merged.update(second)
    return tuple(merged.items())


def _section_intro(q: Questionnaire, run: RunState, section_id: str) -> tuple[Say, ...]:
    section = q.section(section_id)
    if any(i.id in run.answers for i in section.items):
        return ()
    heading = translate(
        "section.heading",
        run.language,
        number=q.section_number(section_id),
        title=section.title.get(run.language),
    )
    intro = section.intro.get(run.language) if section.intro else ""
    return (Say(f"{heading}\n{intro}".strip()),)


def _current_item(q: Questionnaire, run: RunState) -> Item:
    """The item being asked, with the choices a cascade offers given the answers so far."""
    if run.cursor is None or not q.has_item(run.cursor):
        raise InvalidInput(f"run has no current item (cursor {run.cursor!r})")
    return offered(q.item(run.cursor), run.answers)


def _reask(q: Questionnaire, run: RunState, item: Item, lead: str) -> Step:
    return Step(run, (Say(lead), _question_for(q, run, item)))


def _question_for(q: Questionnaire, run: RunState, item: Item) -> Ask:
    if run.awaiting is Awaiting.OTHER_TEXT:
        return ask_other_text(run, item)
    return ask_item(q, run, item)


# --- commands ---------------------------------------------------------------------------


def _command(q: Questionnaire, run: RunState, item: Item, command: Command, now: datetime) -> Step:
    name = command.name
    language = run.language
    if name is CommandName.BACK:
        return _back(q, run, item)
    if name is CommandName.NEXT:
        return _keep(q, run, item, now)
    if name is CommandName.SKIP:
        return _skip(q, run, item, now)
    if name is CommandName.PAUSE:
        paused = replace(run, status=RunStatus.PAUSED)
        return Step(paused, (Say(translate("run.paused", language)),))
    if name is CommandName.HELP:
        lines = [item.help.get(language)] if item.help else []
        lines.append(translate("help.general", language))
        return Step(run, (Say("\n".join(lines)),))
    if name is CommandName.PROGRESS:
        where = progress(q, run)
        summary = translate(
            "progress.summary", language, answered=where.answered, total=where.total
        )
        return Step(run, (Say(summary),))
    if name is CommandName.STOP:
        return _stop(run)
    return _reask(q, run, item, translate("run.welcome_back", language))


def _back(q: Questionnaire, run: RunState, item: Item) -> Step:
    if run.awaiting is Awaiting.OTHER_TEXT:
        choosing = replace(run, awaiting=Awaiting.ANSWER, selection=_ticks(run, item))
        return Step(choosing, (ask_item(q, choosing, item),))
    previous = previous_item(q, run, q.index_of(item.id))
    if previous is None:
        return Step(run, (Say(translate("run.first_question", run.language)),))
    moved = replace(
        run, cursor=previous.id, awaiting=Awaiting.ANSWER, selection=_ticks(run, previous)
    )
    return Step(moved, (ask_item(q, moved, offered(previous, moved.answers)),))


def _ticks(run: RunState, item: Item) -> tuple[str, ...]:
    """Revisiting a multi-choice item starts from its current ticks."""
    stored = run.answers.get(item.id)
    if item.type is ItemType.MULTI_CHOICE and stored and isinstance(stored.value, list):
        return tuple(stored.value)
    return ()


def _keep(q: Questionnaire, run: RunState, item: Item, now: datetime) -> Step:
    """`next`/`keep`: keep the current answer, accept the default, or say one is needed."""
    default = offered_default(item, run)
    if default is not None and run.awaiting is Awaiting.ANSWER:
        return _accept(q, run, item, "keep", default, now)
    if not has_answer(item, run.answers):
        return _needs_answer(run, item, "run.next_needs_answer")
    kept = replace(run, awaiting=Awaiting.ANSWER)
    return _advance(q, kept, q.index_of(item.id), now)


def _skip(q: Questionnaire, run: RunState, item: Item, now: datetime) -> Step:
    if not item.skippable:
        return _needs_answer(run, item, "run.not_skippable")
    display = display_skipped(item, run.language)
    stored = StoredAnswer(
        value=None,
        raw="skip",
        display=display,
        state=AnswerState.SKIPPED,
        language=run.language,
        answered_at=now,
    )
    answered = Answered(item.id, item.label.get(run.language), display)
    run = replace(run, answers={**run.answers, item.id: stored}, awaiting=Awaiting.ANSWER)
    return _advance(
        q, run, q.index_of(item.id), now, lead=(answered,), recorded=((item.id, stored),)
    )


def _stop(run: RunState) -> Step:
    stopped = replace(run, status=RunStatus.WITHDRAWN)
    return Step(stopped, (Say(translate("run.stopped", run.language)),))


def _change_language(q: Questionnaire, run: RunState, language: str) -> Step:
    wanted = fold(language)
    if wanted not in q.languages:
        listed = ", ".join(q.languages)
        return Step(run, (Say(translate("language.unknown", run.language, languages=listed)),))
    switched = replace(run, language=wanted)
    said = Say(translate("language.changed", wanted))
    if switched.status is RunStatus.CONSENTING or switched.status is RunStatus.INVITED:
        return Step(switched, (said, ask_consent(q, wanted)))
    if switched.status is RunStatus.IN_PROGRESS and switched.cursor is not None:
        return Step(switched, (said, _question_for(q, switched, _current_item(q, switched))))
    return Step(switched, (said,))


# --- consent ----------------------------------------------------------------------------


def _ask_consent(q: Questionnaire, run: RunState) -> Step:
    consenting = replace(run, status=RunStatus.CONSENTING, awaiting=Awaiting.CONSENT)
    language = run.language
    intro = [translate("consent.intro", language, title=q.title.get(language))]
    if q.estimated_minutes:
        intro.append(translate("consent.duration", language, minutes=q.estimated_minutes))
    return Step(consenting, (Say("\n".join(intro)), ask_consent(q, language)))


def consent_answer(event: Input) -> str | None:
    """ "agree", "decline" or None: a consent button, or the typed words for either."""
    if isinstance(event, Pick) and event.item_id == CONSENT_ITEM:
        return event.value if event.value in ("agree", "decline") else None
    if isinstance(event, Reply):
        said = fold(event.text).replace("’", "'")
        if said in _AGREE:
            return "agree"
        if said in _DECLINE:
            return "decline"
    return None


def _looks_like_command(text: str) -> bool:
    """`/something` that is not one of ours: never stored as an answer."""
    words = text.strip().split()
    return len(words) == 1 and words[0].startswith("/") and len(words[0]) > 1


def _is_restart(event: Input) -> bool:
    return isinstance(event, Begin) or (
        isinstance(event, Command) and event.name is CommandName.RESUME
    )
