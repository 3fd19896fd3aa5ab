"""Sentences on comparisons, verdicts and sample sizes, written from their numbers (04-06).

The book states an outcome only where a run computed it. These functions turn a
:class:`soundad.evaluate.Comparison`, a row of :func:`soundad.claims.check_claims`
or an interval's width into one sentence whose wording follows the numbers
(the wording of a plain difference is :func:`soundad.prose.difference_sentence`'s).
Every sentence carries the estimate and the interval it rests on, so that a
test can read them back.
"""

from __future__ import annotations

from soundad.errors import ParameterError
from soundad.prose import check_interval, difference_sentence, interval

__all__ = [
    "comparison_sentence",
    "verdict_sentence",
    "noise_sentence",
    "settle_sentence",
]


def _interval(estimate: float, lo: float, hi: float, digits: int) -> str:
    return interval(estimate, lo, hi, digits=digits, sign=True)


def comparison_sentence(comparison, *, a: str | None = None, b: str | None = None,
                        digits: int = 2) -> str:
    """The sentence of :func:`soundad.prose.difference_sentence` for a Comparison.

    Parameters
    ----------
    comparison : soundad.evaluate.Comparison
        Uses its ``a_label``, ``b_label``, ``metric``, ``estimate``, ``lo``,
        ``hi``, ``level`` and ``n_clips``.
    a, b : str or None
        Names for the two sides as the reader knows them (default: the
        comparison's labels, e.g. ``"detector=gmm"``).
    digits : int, default=2

    Returns
    -------
    sentence : str
        Names a better side only where the interval excludes zero.
    """
    return difference_sentence(
        a or str(comparison.a_label), b or str(comparison.b_label), float(comparison.estimate),
        float(comparison.lo), float(comparison.hi), n_clips=int(comparison.n_clips),
        metric=str(comparison.metric).upper().replace("PAUC", "pAUC"),
        level=float(comparison.level), digits=digits,
    )


_VERDICT_WORDS = {
    "supported": "supported by this run: the interval lies on the side the paper claims",
    "contradicted": "contradicted by this run: the interval lies on the side opposite "
                    "to the paper's claim",
    "inconclusive": "inconclusive on this run: the interval includes zero, so the data "
                    "cannot tell",
}


def verdict_sentence(row, *, digits: int = 3) -> str:
    """One sentence for one row of :func:`soundad.claims.check_claims`.

    Parameters
    ----------
    row : mapping or pd.Series
        With ``check``, ``claim``, ``verdict``, ``estimate``, ``lo``, ``hi``
        and ``evidence``.

    Returns
    -------
    sentence : str
        ``"Check 0 (…claim…) is supported by this run: … The estimate is
        +0.120 [+0.050, +0.200]."``; for ``"not testable here"`` the evidence
        says which rows are missing.
    """
    verdict = str(row["verdict"])
    head = f"Check {int(row['check'])} ({row['claim']})"
    if verdict == "not testable here":
        why = str(row["evidence"]).strip().rstrip(".")
        if why.lower().startswith("not testable here"):  # the evidence may repeat it
            why = why[len("not testable here"):].lstrip(" :;,-—")
        return f"{head} is not testable here: {why}."
    if verdict not in _VERDICT_WORDS:
        raise ParameterError(
            f"verdict {verdict!r} unknown; expected one of {sorted(_VERDICT_WORDS)} "
            "or 'not testable here'"
        )
    estimate, lo, hi = float(row["estimate"]), float(row["lo"]), float(row["hi"])
    check_interval(estimate, lo, hi)
    return (f"{head} is {_VERDICT_WORDS[verdict]}. The estimate is "
            f"{_interval(estimate, lo, hi, digits)}.")


def noise_sentence(estimate: float, lo: float, hi: float, *, n_clips: int,
                   needed: int | None, digits: int = 2) -> str:
    """What an interval means for a reader: the noise floor, and what would settle it.

    Parameters
    ----------
    estimate, lo, hi : float
        A difference of AUCs and its interval.
    n_clips : int
        Test clips behind it.
    needed : int or None
        Test clips that would make an interval of the same kind exclude zero for a
        difference of this size (see :func:`soundad.sample_size.clips_needed`);
        None when the estimate is zero.
    """
    check_interval(estimate, lo, hi)
    half = (hi - lo) / 2
    text = (f"On {n_clips} test clips, differences in AUC smaller than about "
            f"{half:.{digits}f} cannot be told from noise.")
    if needed is None:
        return text + " The measured difference is zero, so no number of clips would show a side."
    if needed <= n_clips:
        return text + (f" The measured difference of {abs(estimate):.{digits}f} is larger "
                       "than that, so these clips suffice.")
    return text + (f" To tell a difference of {abs(estimate):.{digits}f} (the size measured "
                   f"here) from zero would take about {needed} test clips, "
                   f"{needed / n_clips:.0f} times as many.")


def settle_sentence(needed: int | None, *, n_test: int, n_available: int, data: str,
                    command: str) -> str:
    """Which run would settle a comparison, from the clips it needs.

    Parameters
    ----------
    needed : int or None
        Test clips needed (see :func:`soundad.sample_size.clips_needed`); None
        when the measured difference is zero.
    n_test : int
        Test clips of the run at hand.
    n_available : int
        Test clips the larger data set named by ``data`` would give.
    data : str
        That data set, e.g. ``"MIMII fan id_00 at 0 dB"``.
    command : str
        The command that runs it.
    """
    if needed is None:
        return (f"The measured difference is zero; a run on {data} ({n_available:,} test "
                f"clips) would show whether a real difference hides below it: {command}")
    if needed <= n_test:
        return "This run has enough test clips for a difference of the size measured."
    if needed <= n_available:
        return (f"{data} gives {n_available:,} test clips, more than the {needed:,} "
                f"needed, so a run on it would settle the question: {command}")
    return (f"Even {data} gives only {n_available:,} test clips, fewer than the "
            f"{needed:,} needed; only pooling several machine models, as the paper's "
            f"full grid does, could settle it: {command}")
