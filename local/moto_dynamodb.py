"""DynamoDB on moto 5.2.5: PartiQL ``INSERT`` as DynamoDB runs it, and items built in linear time.

Why, INSERT: the processor stores a round of results with one ``BatchExecuteStatement`` of ``INSERT``
statements, which DynamoDB refuses per statement with ``DuplicateItem`` when the key exists -
that refusal is what makes a redelivered event count as done instead of stored twice. moto
instead overwrites the existing item, and copies every item of every table to JSON for each
statement, so a round costs O(table size) (seconds per call at 100,000 results).

What: ``batch_insert`` serves a batch made only of the one form the project writes,
``INSERT INTO "table" VALUE {'name': ?, ...}`` with one parameter per attribute, through the
table's own ``put_item`` (so moto's PutItem validation applies) after a key lookup, one
statement at a time under a lock. ``apply()`` routes such batches of moto's
``batch_execute_statement`` to it; every other batch goes to moto unchanged. The embedded
server's fast path (``local.fast_path``) calls ``batch_insert`` too.

Why, items: moto's ``Item`` stores attributes in a ``LimitedSizeDict`` that re-measures the whole
item for each attribute it adds, to enforce DynamoDB's 400 KB limit: quadratic in the number of
attributes, and a third of the embedded server's CPU while the pipeline writes results. Sizes
add up, so checking the total once refuses exactly the items the per-attribute check refuses.
"""
from __future__ import annotations

import functools
import re
import threading
from typing import Any

from moto.dynamodb.exceptions import DynamodbException, ItemSizeTooLarge
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
from moto.dynamodb.models.table import Table
from moto.dynamodb.models.utilities import bytesize
from moto.dynamodb.responses import validate_put_has_empty_attrs, validate_put_has_empty_keys

_INSERT = re.compile(r'\s*INSERT\s+INTO\s+"([^"]+)"\s+VALUE\s+\{(.*)\}\s*', re.IGNORECASE | re.DOTALL)
_FIELD = re.compile(r"\s*'([^']+)'\s*:\s*\?\s*")
ITEM_SIZE_LIMIT = 405_000  # moto's figure for DynamoDB's 400 KB (LimitedSizeDict)
_lock = threading.Lock()  # a key check and its write are one step, as on DynamoDB


@functools.lru_cache(maxsize=64)
def parse_insert(statement: str) -> tuple[str, tuple[str, ...]] | None:
    """(table, attribute names) of a fully parameterised INSERT; None for anything else."""
    match = _INSERT.fullmatch(statement)
    if not match:
        return None
    fields = [_FIELD.fullmatch(part) for part in match.group(2).split(",")]
    if not all(fields):
        return None
    names = tuple(field.group(1) for field in fields if field)
    return (match.group(1), names) if len(set(names)) == len(names) else None


def batch_insert(backend: DynamoDBBackend, statements: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """The ``Responses`` of a batch of parameterised INSERTs; None if any statement is not one."""
    parsed = [parse_insert(s.get("Statement", "")) for s in statements]
    if not statements or not all(p and len(p[1]) == len(s.get("Parameters") or ()) for p, s in zip(parsed, statements)):
        return None
    return [_insert(backend, table, dict(zip(names, s["Parameters"])))
            for (table, names), s in zip(parsed, statements)]  # type: ignore[misc]


def _insert(backend: DynamoDBBackend, table_name: str, item: dict[str, Any]) -> dict[str, Any]:
    table = backend.tables.get(table_name)
    if table is None:
        return _error("ResourceNotFound", "Requested resource not found")
    try:
        validate_put_has_empty_keys(item, table)
        validate_put_has_empty_attrs(item, table)
        with _lock:
            if _stored(table, item):
                return _error("DuplicateItem", "Duplicate primary key exists in table")
            table.put_item(item, overwrite=True)  # checked above: no condition expression to parse
    except DynamodbException as error:  # moto's item validation: key types, sizes, empty values
        return _error("ValidationError", error.message)
    return {"TableName": table_name}


def _stored(table: Table, item: dict[str, Any]) -> bool:
    try:
        hash_key = DynamoType(item[table.hash_key_attr])
        range_key = DynamoType(item[table.range_key_attr]) if table.range_key_attr else None
    except KeyError:
        return False  # put_item refuses the item, with moto's own message
    return table.get_item(hash_key, range_key) is not None


def _error(code: str, message: str) -> dict[str, Any]:
    return {"Error": {"Code": code, "Message": message}}


def _item_init(self: Item, hash_key: DynamoType, range_key: DynamoType | None, attrs: dict[str, Any]) -> None:
    """``Item.__init__`` with the size limit checked once, against the same total."""
    self.hash_key = hash_key
    self.range_key = range_key
    values = {key: DynamoType(value) for key, value in attrs.items()}
    if sum(bytesize(key) + value.size() for key, value in values.items()) > ITEM_SIZE_LIMIT:
        raise ItemSizeTooLarge
    self.attrs = LimitedSizeDict(values)  # (its constructor does not check: dict.update)


def apply() -> None:
    """Route moto's ``batch_execute_statement`` through ``batch_insert`` where it applies, and
    build items in linear time (idempotent)."""
    original = DynamoDBBackend.batch_execute_statement
    if getattr(original, "_inorder_insert", False):
        return
    Item.__init__ = _item_init  # type: ignore[method-assign]

    def batch_execute_statement(self: DynamoDBBackend, statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
        answer = batch_insert(self, statements)
        return original(self, statements) if answer is None else answer

    batch_execute_statement._inorder_insert = True  # type: ignore[attr-defined]
    DynamoDBBackend.batch_execute_statement = batch_execute_statement  # type: ignore[method-assign]
