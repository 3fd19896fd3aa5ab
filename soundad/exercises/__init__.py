"""Self-checking exercises: a student calls :func:`check` and learns right or not yet.

In a chapter notebook::

    from soundad.exercises import check
    check("ch02-windows", 9)                       # ✓ right   /   ✗ not yet — hint: ...
    check("ch04-auc-pairs", 0.81, scores=scores)   # context the check needs, by keyword

Chapter modules (``soundad/exercises/chNN.py``) register one function per
exercise with :func:`register`. The function gets the student's answer and the
context, computes the right answer from soundad itself (never a stored literal)
and returns True or False. :func:`check` prints one line and returns that
bool; it never prints the right answer, so the student book gives nothing away.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable

__all__ = ["check", "register", "registered", "hint", "Exercise"]

RIGHT = "✓ right"
NOT_YET = "✗ not yet — hint: {hint}"


@dataclass(frozen=True)
class Exercise:
    """One registered check: its id, its hint and the function that judges an answer."""

    exercise_id: str
    hint: str
    judge: Callable[..., bool]


_REGISTRY: dict[str, Exercise] = {}


def register(exercise_id: str, *, hint: str) -> Callable[[Callable[..., bool]], Callable[..., bool]]:
    """Decorator: register ``judge(answer, **context) -> bool`` under ``exercise_id``.

    Parameters
    ----------
    exercise_id : str
        ``"chNN-topic"``, e.g. ``"ch02-windows"``; unique in the book.
    hint : str
        Shown after a wrong answer: a step towards the answer, not the answer.

    Returns
    -------
    decorator
        Returns the function unchanged (chapter tests can call it directly).
    """
    if not isinstance(exercise_id, str) or not exercise_id.strip() or exercise_id != exercise_id.strip():
        raise ValueError(f"exercise_id={exercise_id!r}; expected a name such as 'ch02-windows'")
    if not isinstance(hint, str) or not hint.strip():
        raise ValueError(f"register({exercise_id!r}): hint={hint!r}; expected a sentence that helps")

    def decorator(judge: Callable[..., bool]) -> Callable[..., bool]:
        if not callable(judge):
            raise TypeError(f"register({exercise_id!r}) decorates a function (answer, **context) -> bool")
        known = _REGISTRY.get(exercise_id)
        same = known is not None and known.judge.__qualname__ == judge.__qualname__ and (
            known.judge.__module__ == judge.__module__)
        if known is not None and not same:  # re-importing a module re-registers the same function
            raise ValueError(f"exercise id {exercise_id!r} is registered twice "
                             f"({known.judge.__module__}.{known.judge.__qualname__} and "
                             f"{judge.__module__}.{judge.__qualname__})")
        _REGISTRY[exercise_id] = Exercise(exercise_id, hint.strip(), judge)
        return judge

    return decorator


def registered() -> list[str]:
    """The ids of every registered exercise, sorted."""
    return sorted(_REGISTRY)


def hint(exercise_id: str) -> str:
    """The hint of an exercise (what :func:`check` prints after a wrong answer)."""
    return _lookup(exercise_id).hint


def _lookup(exercise_id: str) -> Exercise:
    try:
        return _REGISTRY[exercise_id]
    except (KeyError, TypeError):
        known = ", ".join(registered()) or "none"
        raise LookupError(f"no exercise {exercise_id!r}; known exercises: {known}") from None


def check(exercise_id: str, answer: Any, **context: Any) -> bool:
    """Say whether ``answer`` is right; print ``✓ right`` or ``✗ not yet — hint: ...``.

    Parameters
    ----------
    exercise_id : str
        As registered, e.g. ``"ch02-windows"``.
    answer : object
        The student's answer (a number, an array, a table, ... as the exercise asks).
    **context
        What the check needs from the student's run, e.g. ``scores=scores``.

    Returns
    -------
    bool
        True when right. An unknown id or missing context prints one line saying
        what to fix and returns False; a check that breaks on a malformed answer
        counts as not yet.
    """
    try:
        exercise = _lookup(exercise_id)
    except LookupError as error:
        print(f"✗ {error}")
        return False
    missing = _missing_context(exercise.judge, context)
    if missing:
        print(f"✗ check({exercise_id!r}, ...) needs {', '.join(f'{m}=...' for m in missing)}: "
              "pass it from your notebook, e.g. " + ", ".join(f"{m}={m}" for m in missing))
        return False
    try:
        right = bool(exercise.judge(answer, **context))
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, ArithmeticError):
        right = False  # an answer of the wrong kind is simply not right yet
    print(RIGHT if right else NOT_YET.format(hint=exercise.hint))
    return right


def _missing_context(judge: Callable[..., bool], context: dict) -> list[str]:
    """Keyword-only parameters without default that the caller did not pass."""
    params = inspect.signature(judge).parameters.values()
    return [p.name for p in params
            if p.kind is inspect.Parameter.KEYWORD_ONLY and p.default is inspect.Parameter.empty
            and p.name not in context]


# The chapters register their checks on import (nb-a: ch01-ch03, nb-b: ch04-ch06, ch07).
from soundad.exercises import ch01, ch02, ch03, ch04, ch05, ch06, ch07  # noqa: E402,F401
