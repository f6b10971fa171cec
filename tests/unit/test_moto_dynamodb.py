"""moto's items built in linear time, refusing exactly what moto's own size check refuses."""
from __future__ import annotations

from typing import Any

import pytest
from moto.dynamodb.exceptions import ItemSizeTooLarge
from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict

from local import moto_patch

moto_patch.apply()


def moto_accepts(attrs: dict[str, Any]) -> bool:
    """moto's own rule: each attribute added re-checks the whole item (LimitedSizeDict.__setitem__)."""
    checked = LimitedSizeDict()
    try:
        for key, value in attrs.items():
            checked[key] = DynamoType(value)
    except ItemSizeTooLarge:
        return False
    return True


def patched_accepts(attrs: dict[str, Any]) -> bool:
    try:
        Item(DynamoType({"S": "k"}), None, attrs)
    except ItemSizeTooLarge:
        return False
    return True


@pytest.mark.parametrize("padding", [404_900, 404_992, 404_993, 405_100])  # moto refuses from 404,993
def test_items_near_the_limit_are_refused_as_moto_refuses_them(padding: int) -> None:
    attrs = {"k": {"S": "k"}, "n": {"N": "12"}, "pad": {"S": "x" * padding}}
    assert patched_accepts(attrs) == moto_accepts(attrs)


def test_an_item_measures_each_attribute_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = 0
    size = DynamoType.size

    def counted(self: DynamoType) -> int:
        nonlocal calls
        calls += 1
        return size(self)

    monkeypatch.setattr(DynamoType, "size", counted)
    item = Item(DynamoType({"S": "k"}), None, {f"a{i}": {"N": str(i)} for i in range(20)})
    assert calls == 20 and item.attrs["a7"] == DynamoType({"N": "7"})
