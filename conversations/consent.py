"""Consent versions: who must be asked again, and what a step agreed to or declined (#7).

The consent text is versioned in the questionnaire. A run remembers the version it was
agreed under (`RunState.consent_version`, kept in step with the ledger by the shell), so
whether someone must renew their agreement is a pure comparison with the current
questionnaire. The shell records a ledger row for each `Decision` a step makes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from conversations import engine
from conversations.asking import CONSENT_ITEM, ask_consent
from conversations.catalog import translate
from conversations.inputs import Begin, Input, Pick
from conversations.messages import Message, Say
from conversations.questionnaire import Questionnaire
from conversations.run import Awaiting, RunState, RunStatus

__all__ = ["Decision", "Verdict", "ask_again", "decision_of", "renewal", "renewal_due"]

_NOT_AGREED = (RunStatus.INVITED, RunStatus.CONSENTING, RunStatus.DECLINED)


class Verdict(StrEnum):
    AGREED = "agreed"
    DECLINED = "declined"


@dataclass(frozen=True)
class Decision:
    """An agreement or a decline made by a step: one row of the consent ledger."""

    verdict: Verdict
    version: str
    language: str


def renewal_due(current: Questionnaire, shown_version: str, run: RunState) -> bool:
    """Whether `run` must see the current consent text before anything else happens.

    True when the person agreed to another version than the current one, or has not agreed
    yet and would be shown an outdated text (`shown_version`, the run's pinned one). A
    completed run asks nothing more, so it needs no renewal.
    """
    if run.questionnaire_id != current.id or run.status is RunStatus.COMPLETED:
        return False
    agreed = run.consent_version
    if agreed is None:
        return shown_version != current.consent_version
    return agreed != current.consent_version


def ask_again(current: Questionnaire, language: str) -> tuple[Message, ...]:
    """The current consent text, introduced as changed."""
    return (Say(translate("consent.changed", language)), ask_consent(current, language))


def renewal(
    pinned: Questionnaire, run: RunState, answer: str, version: str, now: datetime
) -> engine.Step:
    """They answered the renewed consent (`answer` "agree"/"decline" to `version`).

    Agreeing carries the run on where it was (or starts it, if they had never agreed),
    under the new version; declining ends it as a first decline would.
    """
    if answer == "decline":
        declined = replace(run, status=RunStatus.DECLINED, awaiting=Awaiting.NOTHING)
        return engine.Step(declined, (Say(translate("consent.declined", run.language)),))
    given: Input = Begin()
    if run.consent_version is None or run.status in _NOT_AGREED:
        run = replace(run, status=RunStatus.CONSENTING, awaiting=Awaiting.CONSENT)
        given = Pick(CONSENT_ITEM, "agree")
    result = engine.step(pinned, run, given, now)
    return replace(result, run=replace(result.run, consent_version=version))


def decision_of(before: RunState, after: RunState, shown_version: str) -> Decision | None:
    """What a step from `before` to `after` decided about consent, if anything."""
    if after.consent_version is not None and after.consent_version != before.consent_version:
        return Decision(Verdict.AGREED, after.consent_version, after.language)
    if after.status is RunStatus.DECLINED and before.status is not RunStatus.DECLINED:
        return Decision(Verdict.DECLINED, shown_version, after.language)
    return None
