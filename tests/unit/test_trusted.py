"""trusted() gives the object model_construct gives, or falls back to it."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, PrivateAttr

from features.engineering import GroupInput, SheetRow
from features.trusted import trusted
from serving.schemas import Driver, NameMatch

DRIVER: dict[str, Any] = {
    "key": "category:machine_tool",
    "label_zh": "金属切削机床",
    "label_en": "Machine tools",
    "kw": 12.5,
    "engineering_kw": 10.0,
    "correction_kw": 2.5,
}
ROW: dict[str, Any] = {
    "category": "fan",
    "name": None,
    "installed_kw": 44.0,
    "kx": 0.8,
    "kx_overridden": False,
    "cos_phi": 0.8,
    "cos_phi_overridden": False,
    "tan_phi": 0.75,
    "p_kw": 35.2,
    "q_kvar": 26.4,
    "kind": "group",
}


def _same(a: BaseModel, b: BaseModel) -> None:
    assert type(a) is type(b)
    assert a.__dict__ == b.__dict__
    assert list(a.__dict__) == list(b.__dict__)  # the serialiser follows this order
    assert a.model_fields_set == b.model_fields_set
    assert a.__pydantic_extra__ == b.__pydantic_extra__
    assert a.__pydantic_private__ == b.__pydantic_private__
    assert a.model_dump_json() == b.model_dump_json()


@pytest.mark.parametrize(("cls", "values"), [(Driver, DRIVER), (SheetRow, ROW)])
def test_every_field_in_order_is_model_construct(
    cls: type[BaseModel], values: dict[str, Any]
) -> None:
    _same(trusted(cls, **values), cls.model_construct(**values))


def test_a_frozen_model_too() -> None:
    values: dict[str, Any] = {
        "category": "fan",
        "installed_kw": 3.0,
        "kx": None,
        "cos_phi": None,
        "name": None,
    }
    got = trusted(GroupInput, **values)
    _same(got, GroupInput.model_construct(**values))
    assert got == GroupInput(category="fan", installed_kw=3.0)


def test_a_missing_field_falls_back_to_its_default() -> None:
    values: dict[str, Any] = {
        "index": 0,
        "text": None,
        "category": "fan",
        "confidence": 1.0,
        "matched_alias": None,
        "source": "code",
        "reason": "category code given",
        "candidates": [],
    }  # no ``guess``: model_construct fills its default
    got = trusted(NameMatch, **values)
    _same(got, NameMatch.model_construct(**values))
    assert got.guess is False


def test_fields_out_of_order_fall_back() -> None:
    values = dict(reversed(list(DRIVER.items())))
    got = trusted(Driver, **values)
    _same(got, Driver.model_construct(**values))
    assert list(got.__dict__) == list(Driver.model_fields)


class _WithPrivate(BaseModel):
    model_config = ConfigDict(extra="allow")

    a: int
    _seen: int = PrivateAttr(default=0)


def test_models_the_shortcut_does_not_cover_use_model_construct() -> None:
    got = trusted(_WithPrivate, a=1, b=2)
    want = _WithPrivate.model_construct(a=1, b=2)
    assert got.__pydantic_extra__ == want.__pydantic_extra__ == {"b": 2}
    assert got.__pydantic_private__ == want.__pydantic_private__ == {"_seen": 0}
