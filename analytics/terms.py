"""The most frequent words of free-text answers, English and French stop-words removed.

A term is a run of letters (accents kept, case folded), split at apostrophes so that
"l'immigration" gives "immigration". Dropped: the stop-words of either language (a
French answer's "les" and an English one's "the" are both noise), words of fewer than 3
letters, and digits. Each answer counts a term once (how many people used the word, not
how often one person repeated it). Ties are broken alphabetically, so the order is stable.
"""

from __future__ import annotations

import pandas as pd

from analytics.model import TermCount

__all__ = ["STOP_WORDS", "top_terms"]

_EN = """
a about above after again against all also am an and any are as at be because been
before being below between both but by can could did do does doing down during each few
for from further had has have having he her here hers herself him himself his how i if
in into is it its itself just like me more most my myself no nor not now of off on once
only or other our ours ourselves out over own same she should so some such than that the
their theirs them themselves then there these they this those through to too under until
up very was we were what when where which while who whom why will with would you your
yours yourself yourselves get got many much one use used using way well would lot lots
make need needs
""".split()  # noqa: SIM905 - a word list reads better as text

_FR = """
au aux avec ce ces cet cette dans de des du elle elles en et eux il ils je la le les
leur leurs lui ma mais me meme même mes moi mon ne nos notre nous on ou où par pas pour
qu que qui sa se ses son sur ta te tes toi ton tu un une vos votre vous c d j l à m n s
t y été étée être avoir ai as avons avez ont est sont était étaient fait faire plus
moins très aussi comme donc alors car ni si tout tous toute toutes autre autres entre
vers chez sans sous après avant cela ça ceci celui celle ceux celles dont lors quand
comment pourquoi peu beaucoup bien
""".split()  # noqa: SIM905 - a word list reads better as text

STOP_WORDS = frozenset(_EN) | frozenset(_FR)

_WORD = r"[^\W\d_]+"
"""Letters only: `\\w` minus digits and underscore, so accents are kept."""


def top_terms(texts: pd.Series, limit: int = 10) -> tuple[TermCount, ...]:
    """The `limit` commonest terms across `texts`, each counted once per answer."""
    if texts.empty:
        return ()
    words = texts.reset_index(drop=True).astype(str).str.lower().str.findall(_WORD).explode()
    words = words.dropna()
    words = words[(words.str.len() >= 3) & ~words.isin(STOP_WORDS)]
    pairs = pd.DataFrame({"answer": words.index, "term": words.to_numpy()}).drop_duplicates()
    counts = pairs["term"].value_counts()
    ordered = sorted(counts.items(), key=lambda pair: (-int(pair[1]), str(pair[0])))
    return tuple(TermCount(str(term), int(count)) for term, count in ordered[:limit])
