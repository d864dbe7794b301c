"""Pydantic models built from values that are already of their fields' types.

A single answer builds ~70 small models (sheet rows and lines, drivers, name matches,
tier options). ``model_construct`` skips validation but still loops over every field
looking for aliases and defaults: in the issue-27 profile that loop was 7 % of an
answer. :func:`trusted` gives the same object when the values name every field, in the
order the model declares them, and falls back to ``model_construct`` otherwise.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)

_FIELDS: dict[type[BaseModel], tuple[str, ...] | None] = {}
"""Per model: its field names in declaration order, or None where the fast path does not
apply (a root model, extra fields kept, private attributes or a post-init hook)."""


def _fields_of(cls: type[BaseModel]) -> tuple[str, ...] | None:
    plain = (
        not cls.__pydantic_root_model__
        and cls.model_config.get("extra") != "allow"
        and not cls.__private_attributes__
        and not cls.__pydantic_post_init__
    )
    return tuple(cls.__pydantic_fields__) if plain else None


def trusted(cls: type[M], **values: Any) -> M:
    """``cls.model_construct(**values)`` for values already of the fields' types.

    The same instance (``__dict__`` in field order, every field set, no extra, no
    private attributes) without the per-field search when ``values`` names every field
    of ``cls`` in declaration order; otherwise ``model_construct`` itself. Nothing is
    validated: the caller vouches for the types (a float field given an int would
    serialise as ``15`` instead of ``15.0``).
    """
    try:
        names = _FIELDS[cls]
    except KeyError:
        names = _FIELDS[cls] = _fields_of(cls)
    if names is None or tuple(values) != names:
        return cls.model_construct(**values)
    model = cls.__new__(cls)
    # As model_construct sets them (pydantic 2.x): the serialiser reads ``__dict__``.
    object.__setattr__(model, "__dict__", values)
    object.__setattr__(model, "__pydantic_fields_set__", set(values))
    object.__setattr__(model, "__pydantic_extra__", None)
    object.__setattr__(model, "__pydantic_private__", None)
    return model
