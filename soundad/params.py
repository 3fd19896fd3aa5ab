"""Parameter rules of soundad's estimators, declared once per class and checked in ``fit``.

scikit-learn's estimators store their constructor arguments untouched and
check them when ``fit`` runs. soundad's detectors and autoencoders do the
same with these plain rules: each class declares ``parameter_rules``, a
mapping from parameter name to the list of rules any one of which the value
must satisfy, and its ``fit`` calls :func:`check_params` first. A value that
satisfies no rule raises :class:`~soundad.errors.ParameterError` naming the
class, the parameter, the value and what is accepted, e.g.
``KNNDetector: n_neighbors=0; expected an integer >= 1``.

Rules
-----
:class:`Interval`      a number in a range (``int`` or ``float``; never a bool)
:class:`Options`       one of a few strings
:class:`InstanceOf`    an instance of some types (e.g. ``tuple`` or ``list``)
:data:`BOOLEAN`        ``True`` or ``False`` (also numpy booleans)
:data:`RANDOM_STATE`   ``None``, a seed in ``[0, 2**32 - 1]`` or a ``numpy.random.RandomState``
``None``               the value ``None`` itself

The same rules check plain function arguments: :func:`check_value` (any
rules), :func:`check_int` and :func:`check_number` (the common cases), each
raising one ``ParameterError`` such as ``n_normal=0; expected an integer >= 1``.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any, Mapping, Sequence

import numpy as np

from soundad.errors import ParameterError

__all__ = [
    "BOOLEAN",
    "POSITIVE_INT",
    "RANDOM_STATE",
    "InstanceOf",
    "Interval",
    "Options",
    "check_int",
    "check_number",
    "check_params",
    "check_value",
]


@dataclass(frozen=True)
class Interval:
    """A number between ``low`` and ``high``.

    Parameters
    ----------
    kind : {int, float}
        ``int`` accepts integers only (Python or numpy); ``float`` accepts
        any real number, integers included. Booleans are never numbers here.
    low, high : float or None
        Bounds; ``None`` is unbounded on that side.
    closed : {"both", "left", "right", "neither"}, default="both"
        Which bounds belong to the interval.
    """

    kind: type
    low: float | None = None
    high: float | None = None
    closed: str = "both"

    def accepts(self, value: Any) -> bool:
        if isinstance(value, (bool, np.bool_)):
            return False
        if not isinstance(value, Integral if self.kind is int else Real):
            return False
        if not isinstance(value, Integral) and np.isnan(value):
            return False
        if self.low is not None:
            if value < self.low or (value == self.low and self.closed in ("right", "neither")):
                return False
        if self.high is not None:
            if value > self.high or (value == self.high and self.closed in ("left", "neither")):
                return False
        return True

    def __str__(self) -> str:
        noun = "an integer" if self.kind is int else "a number"
        if self.low is not None and self.high is not None:
            left = "[" if self.closed in ("both", "left") else "("
            right = "]" if self.closed in ("both", "right") else ")"
            return f"{noun} in {left}{self.low}, {self.high}{right}"
        if self.low is not None:
            return f"{noun} {'>=' if self.closed in ('both', 'left') else '>'} {self.low}"
        if self.high is not None:
            return f"{noun} {'<=' if self.closed in ('both', 'right') else '<'} {self.high}"
        return noun


@dataclass(frozen=True)
class Options:
    """One of a fixed set of strings."""

    values: frozenset

    def __init__(self, *values: str):
        object.__setattr__(self, "values", frozenset(values))

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str) and value in self.values

    def __str__(self) -> str:
        return "one of " + ", ".join(repr(v) for v in sorted(self.values))


@dataclass(frozen=True)
class InstanceOf:
    """An instance of one of ``types``, described to the user as ``description``."""

    types: tuple
    description: str

    def accepts(self, value: Any) -> bool:
        return isinstance(value, self.types) and not (
            isinstance(value, (bool, np.bool_)) and Integral in self.types
        )

    def __str__(self) -> str:
        return self.description


@dataclass(frozen=True)
class _Boolean:
    def accepts(self, value: Any) -> bool:
        return isinstance(value, (bool, np.bool_))

    def __str__(self) -> str:
        return "True or False"


@dataclass(frozen=True)
class _RandomState:
    def accepts(self, value: Any) -> bool:
        return value is None or isinstance(value, np.random.RandomState) or Interval(
            int, 0, 2**32 - 1
        ).accepts(value)

    def __str__(self) -> str:
        return "None, a seed in [0, 4294967295] or a numpy.random.RandomState"


#: ``True`` or ``False``.
BOOLEAN = _Boolean()
#: What scikit-learn accepts as ``random_state``.
RANDOM_STATE = _RandomState()


def _describe(rule) -> str:
    return "None" if rule is None else str(rule)


def _satisfies(rule, value) -> bool:
    return value is None if rule is None else rule.accepts(value)


def check_params(estimator, rules: Mapping[str, Sequence] | None = None) -> None:
    """Raise :class:`~soundad.errors.ParameterError` unless every parameter obeys its rules.

    Parameters
    ----------
    estimator : object
        Holds the parameters as attributes (a scikit-learn style estimator).
    rules : mapping of str to list of rules, default=None
        ``{parameter name: [rule, ...]}``; a value must satisfy at least one
        rule of its list (``None`` in the list admits ``None``). Default:
        ``type(estimator).parameter_rules``.

    Raises
    ------
    ParameterError
        For the first parameter that satisfies none of its rules, e.g.
        ``GaussianMixtureDetector: n_components=0; expected an integer >= 1``.
    """
    rules = type(estimator).parameter_rules if rules is None else rules
    for name, allowed in rules.items():
        check_value(f"{type(estimator).__name__}: {name}", getattr(estimator, name), *allowed)


#: The rule most integer settings obey (an ``int`` or numpy integer >= 1, never a bool); for
#: checks that keep their own message, e.g. ``MelConfig.n_mels must be a positive integer``.
POSITIVE_INT = Interval(int, 1)


def check_value(name: str, value: Any, *rules) -> Any:
    """Return ``value`` if it satisfies one of ``rules``; else raise ``ParameterError`` naming ``name``.

    ``None`` among ``rules`` admits ``None``. The message reads
    ``"<name>=<value!r>; expected <what the rules accept>"``.
    """
    if any(_satisfies(rule, value) for rule in rules):
        return value
    expected = " or ".join(_describe(rule) for rule in rules)
    raise ParameterError(f"{name}={value!r}; expected {expected}")


def check_int(name: str, value: Any, *, low: int | None = None, high: int | None = None,
              allow_none: bool = False) -> int | None:
    """``value`` as a Python ``int`` if it is an integer (not a bool) in ``[low, high]``.

    Examples
    --------
    >>> check_int("n_normal", 3, low=1)
    3
    >>> check_int("n_normal", 0, low=1)
    Traceback (most recent call last):
    ...
    soundad.errors.ParameterError: n_normal=0; expected an integer >= 1
    """
    rules = [Interval(int, low, high)] + ([None] if allow_none else [])
    check_value(name, value, *rules)
    return None if value is None else int(value)


def check_number(name: str, value: Any, *, low: float | None = None, high: float | None = None,
                 closed: str = "both", allow_none: bool = False) -> float | None:
    """``value`` as a Python ``float`` if it is a real number (not a bool, not NaN) in the interval."""
    rules = [Interval(float, low, high, closed)] + ([None] if allow_none else [])
    check_value(name, value, *rules)
    return None if value is None else float(value)
