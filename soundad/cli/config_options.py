"""Command-line options derived from the stages' frozen settings objects (chapter 06).

A settings object such as :class:`soundad.features.MelConfig` declares each
setting once: its name, type, default and, in the class docstring's
``Parameters`` section, what it means. :func:`add_config_options` turns its
fields into ``argparse`` options and :func:`config_from_args` turns the
parsed options back into the object, so a setting has the same default on
the command line as in Python, and a new field becomes an option by itself:

>>> import argparse
>>> from soundad.features import MelConfig
>>> parser = argparse.ArgumentParser()
>>> actions = add_config_options(parser, MelConfig, fields=("n_mels", "hop_length"))
>>> config_from_args(MelConfig, parser.parse_args(["--n-mels", "64"]))
MelConfig(sr=16000, n_fft=1024, hop_length=512, n_mels=64, fmin=0.0, fmax=8000.0, power=2.0, top_db=80.0)

Field ``n_mels`` becomes ``--n-mels`` (dest ``n_mels``); ``prefix="window-"``
makes ``WindowConfig.length`` the option ``--window-length`` (dest
``window_length``); ``names={"name": "backbone"}`` renames one field's option.
Help text comes from a field's ``metadata["help"]`` or the docstring; choices
from a docstring type such as ``{"imagenet", "random"}``; the unit in square
brackets (``[Hz]``) is appended to the help. Each option made here carries
``action.config_field = (cls, field_name)``, which is how the tests check
that every command-line default equals the dataclass default.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import re
import typing
from types import UnionType
from typing import Any, Callable, Mapping, Sequence

from soundad.errors import ParameterError

__all__ = ["add_config_options", "config_from_args", "option_name", "parameter_docs"]

_SECTION = re.compile(r"^(\S[^\n]*)\n-{3,}\n", re.M)


def parameter_docs(cls: type) -> dict[str, tuple[str, str]]:
    """``{field: (type spec, description)}`` from the numpydoc ``Parameters`` section of ``cls``.

    A line ``fmin, fmax : float >= 0 [Hz], default=0.0, 8000.0`` documents two
    fields with the same type spec and description.
    """
    parts = _SECTION.split(inspect.cleandoc(cls.__doc__ or ""))
    body = dict(zip(parts[1::2], parts[2::2])).get("Parameters", "")
    found: dict[str, tuple[str, list[str]]] = {}
    names: list[str] = []
    for line in body.splitlines():
        if line and not line[0].isspace():
            head, _, spec = line.partition(" : ")
            names = [n.strip() for n in head.split(",")]
            for name in names:
                found[name] = (spec.strip(), [])
        elif line.strip():
            for name in names:
                found[name][1].append(line.strip())
    return {name: (spec, " ".join(text)) for name, (spec, text) in found.items()}


def option_name(field: str, *, prefix: str = "", names: Mapping[str, str] | None = None) -> str:
    """The option of ``field``: ``--`` + (``names[field]`` or ``prefix + field``) in kebab case."""
    return "--" + (dict(names or {}).get(field) or prefix + field).replace("_", "-")


def _dest(option: str) -> str:
    return option[2:].replace("-", "_")


def _value_type(cls: type, field: dataclasses.Field) -> Any:
    """The field's type without ``None`` (``int | None`` -> ``int``); ``Any`` for anything else."""
    hint = typing.get_type_hints(cls).get(field.name, Any)
    if typing.get_origin(hint) in (typing.Union, UnionType):
        rest = [a for a in typing.get_args(hint) if a is not type(None)]
        hint = rest[0] if len(rest) == 1 else Any
    return hint


def _choices(spec: str) -> tuple[str, ...] | None:
    """``{"auto", "librosa", None}`` in a docstring type -> ``("auto", "librosa")``."""
    match = re.match(r"\{([^}]*)\}", spec)
    if match is None:
        return None
    items = (item.strip().strip("'\"") for item in match.group(1).split(","))
    return tuple(item for item in items if item and item != "None")


def _help(field: dataclasses.Field, doc: tuple[str, str] | None) -> str:
    if "help" in field.metadata:
        return field.metadata["help"]
    spec, text = doc if doc is not None else ("", "")
    unit = re.search(r"\[([^\]]+)\]", spec)
    text = re.sub(r":\w+:`~?([^`]+)`", r"\1", text or field.name.replace("_", " ")).replace("``", "")
    text = text.replace("%", "%%") + (f" [{unit.group(1)}]" if unit else "")  # argparse formats help with %
    if "default:" not in text and field.default is not None and not isinstance(field.default, bool):
        text += " (default: %(default)s)"  # docstrings say "the default is ..." in prose
    return text


def add_config_options(
    parser,
    cls: type,
    *,
    prefix: str = "",
    fields: Sequence[str] | None = None,
    names: Mapping[str, str] | None = None,
    choices: Mapping[str, Sequence[str]] | None = None,
    types: Mapping[str, Callable[[str], Any]] | None = None,
    helps: Mapping[str, str] | None = None,
    metavars: Mapping[str, str] | None = None,
) -> list[argparse.Action]:
    """Add one option per field of the frozen dataclass ``cls`` to ``parser``; return the actions.

    Parameters
    ----------
    parser : argparse.ArgumentParser or argument group
    cls : dataclass type
        E.g. :class:`~soundad.features.MelConfig`.
    prefix : str, default=""
        Put before each field name (``"window-"``: ``--window-length``).
    fields : sequence of str or None, default=None
        The fields to expose, in this order; ``None``: all of them.
    names : mapping, optional
        Field -> option name without dashes, replacing ``prefix + field``.
    choices, types, helps, metavars : mapping, optional
        Field -> a value replacing what is derived from the docstring or the
        type (e.g. a type that refuses 0 at parse time, or command-specific help).
        The default is always the dataclass default.
    """
    docs = parameter_docs(cls)
    by_name = {f.name: f for f in dataclasses.fields(cls)}
    unknown = [name for name in (fields or ()) if name not in by_name]
    if unknown:
        raise ParameterError(f"{cls.__name__} has no field(s) {unknown}; it has {sorted(by_name)}")
    actions = []
    for name in fields if fields is not None else list(by_name):
        field = by_name[name]
        option = option_name(name, prefix=prefix, names=names)
        kwargs: dict[str, Any] = {"dest": _dest(option), "default": field.default,
                                  "help": dict(helps or {}).get(name) or _help(field, docs.get(name))}
        value_type = _value_type(cls, field)
        if value_type is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        else:
            kwargs["type"] = dict(types or {}).get(name) or (value_type if value_type in (int, float) else str)
            kwargs["choices"] = dict(choices or {}).get(name) or _choices(docs.get(name, ("", ""))[0])
            kwargs["metavar"] = dict(metavars or {}).get(name) or (None if kwargs["choices"] else name.upper())
        action = parser.add_argument(option, **kwargs)
        action.config_field = (cls, name)
        actions.append(action)
    # which fields have options, for config_from_args: another option with the same dest
    # (``reproduce --weights``, a list) is then never read as a field
    parser.set_defaults(**{_fields_dest(cls, prefix): tuple(a.config_field[1] for a in actions)})
    return actions


def _fields_dest(cls: type, prefix: str) -> str:
    """The namespace attribute recording the fields of ``cls`` (with ``prefix``) that have options."""
    return f"_config_fields_{cls.__name__}_{prefix}"


def config_from_args(cls: type, args: argparse.Namespace, *, prefix: str = "",
                     names: Mapping[str, str] | None = None, **fixed: Any):
    """Build ``cls`` from the options :func:`add_config_options` added; ``fixed`` sets other fields.

    Only the fields that were given options are read (``add_config_options``
    records them in the parsed namespace; in a namespace built otherwise, every
    field found), so another option of the command with the same dest
    (``reproduce --weights``, a list) is not taken for a field; the others keep
    their defaults. The object's own ``validate()`` runs
    when it has one, with the message naming the option (``--n-mels`` rather
    than ``MelConfig.n_mels``).
    """
    values = dict(fixed)
    recorded = getattr(args, _fields_dest(cls, prefix), None)  # None: a namespace built by hand
    read = [f.name for f in dataclasses.fields(cls)] if recorded is None else list(recorded)
    for name in read:
        dest = _dest(option_name(name, prefix=prefix, names=names))
        if name not in values and hasattr(args, dest):
            values[name] = getattr(args, dest)
    config = cls(**values)
    if hasattr(config, "validate"):
        try:
            config.validate()
        except ParameterError as error:
            message = str(error)
            for field in dataclasses.fields(cls):
                if field.name not in fixed and field.name in read:
                    message = message.replace(f"{cls.__name__}.{field.name}",
                                              option_name(field.name, prefix=prefix, names=names))
            raise ParameterError(message) from None
    return config
