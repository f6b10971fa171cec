"""Make moto 5.2.5's paginated DynamoDB Scan linear in the size of the table.

Why: the verifier (``local.outcome.scan_results``) reads the whole results table with one
paginated Scan.  moto's ``Table.scan`` starts every page from scratch: ``all_items()`` builds
and sorts a list of the whole table (``DynamoType`` comparisons, each building ``Decimal``s),
then the loop walks it from the first item, calling ``_item_comes_before_dct`` on every item up
to ``ExclusiveStartKey``.  Every page costs O(N log N), the whole read O(N^2 log N / page).
Measured on in-process ``mock_aws`` (2 busy cores), result-shaped items, ~5,500 a 1 MB page:
moto's ``Table.scan`` alone over a whole paginated read took 18 s for 50,000 items and 54 s for
100,000 (~4.3 s a page at 200,000, ~165 s a read); patched: 3.6 s, 5.4 s and 10 s for 200,000
(one sort, then ~0.15 s a page).  The boto3 read as the verifier does it: 99 s -> 61 s for
100,000 items; 200,000: ~8 s a page, ~290 s a read -> 134 s.  What remains is linear and is
moto's response serializer (``moto.core.serialize``, ~0.5 ms an item, 50 s of the 61 s).

What: ``apply()`` patches ``moto.dynamodb.models.table.Table``:
* the sorted list moto's ``all_items()`` returns is kept per table (``_CACHE``) and rebuilt
  only after a write: ``put_item`` / ``delete_item`` (every write path of the DynamoDB backend
  goes through them; ``update_item`` changes items in place, never their keys) stamp the table
  with a new token, and a cached list is only used while the token and the ``items`` dict it
  was built from are unchanged;
* a Scan of the table (not of an index) finds the start of its page by binary search in that
  list with moto's own ``_item_comes_before_dct``, then runs moto's ORIGINAL ``scan`` on the
  remaining suffix (``all_items()`` returns a lazy view of it for that one call only, through a
  thread-local), with the same ``ExclusiveStartKey``: limits, 1 MB page size, segments, filters,
  projections, ``LastEvaluatedKey`` and ``ScannedCount`` all come from moto's code unchanged;
* the binary search is used only when it provably lands where moto's walk would: every key of
  the table and of ``ExclusiveStartKey`` is of the table's declared type (S, N or B, stored as a
  string; N finite), so the order is total and "comes before or at" holds for a prefix of the
  sorted list.  Otherwise, and for index scans, moto's original ``scan`` runs as is.
"""

from __future__ import annotations

import itertools
import threading
import weakref
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import moto
from moto.dynamodb.models import table as t
from moto.dynamodb.models.dynamo_type import Item

PINNED_VERSION = "5.2.5"
_LOCK = threading.Lock()
_TOKENS = itertools.count(1)
_TLS = threading.local()  # .suffix = (table, iterable) for the all_items() call of one scan
_ORIG: dict[str, Any] = {}
# table -> token of its last write (absent: not written since apply())
_VERSION: weakref.WeakKeyDictionary[t.Table, int] = weakref.WeakKeyDictionary()
# table -> (token when built, the items dict it was built from, all_items(), keys all safe)
_CACHE: weakref.WeakKeyDictionary[t.Table, tuple[int | None, Any, list[Item], bool]] = (
    weakref.WeakKeyDictionary())
_applied = False


def _safe_key(kind: str, value: Any, declared: str | None) -> bool:
    """A key (type, value) of the declared type whose moto ordering is a plain total order."""
    if kind != declared or declared not in ("S", "N", "B") or not isinstance(value, str):
        return False
    if declared == "N":
        try:
            return Decimal(value).is_finite()
        except ArithmeticError:
            return False
    return True


def _item_safe(table: t.Table, item: Item) -> bool:
    pairs = [(table.hash_key_attr, item.hash_key, table.hash_key_type)]
    if table.range_key_attr is not None:
        pairs.append((table.range_key_attr, item.range_key, table.range_key_type))
    for attr, key, declared in pairs:  # scan sorts by item.*_key, compares item.attrs[...]
        a = item.attrs.get(attr)
        if key is None or not _safe_key(key.type, key.value, declared) or a is None \
                or (a.type, a.value) != (key.type, key.value):
            return False
    return True


def _sorted_items(table: t.Table) -> tuple[list[Item], bool]:
    """moto's ``all_items()`` of the table (cached until its next write), and whether it is safe."""
    token = _VERSION.get(table)  # read before building: a write during the build invalidates it
    items = table.items
    cached = _CACHE.get(table)
    if cached is not None and cached[0] == token and cached[1] is items:
        return cached[2], cached[3]
    ordered = _ORIG["all_items"](table)
    safe = all(_item_safe(table, item) for item in ordered)
    _CACHE[table] = (token, items, ordered, safe)
    return ordered, safe


def _start_key_safe(table: t.Table, start_key: Any) -> bool:
    if not isinstance(start_key, dict):
        return False
    pairs = [(table.hash_key_attr, table.hash_key_type)]
    if table.range_key_attr is not None:
        pairs.append((table.range_key_attr, table.range_key_type))
    for attr, declared in pairs:
        raw = start_key.get(attr)
        if not (isinstance(raw, dict) and len(raw) == 1):
            return False
        (kind, value), = raw.items()
        if not _safe_key(kind, value, declared):
            return False
    return True


def _first_after(table: t.Table, ordered: list[Item], start_key: dict[str, Any]) -> int:
    """Index of the first item moto's walk would not skip as "before or at" ``start_key``."""
    hash_attrs, range_attrs = [table.hash_key_attr], [table.range_key_attr]
    lo, hi = 0, len(ordered)
    while lo < hi:
        mid = (lo + hi) // 2
        if table._item_comes_before_dct(ordered[mid], start_key, hash_attrs, range_attrs, True):
            lo = mid + 1
        else:
            hi = mid
    return lo


def _scan(self: t.Table, filters: dict[str, Any], limit: int, exclusive_start_key: dict[str, Any],
          filter_expression: Any = None, index_name: str | None = None, consistent_read: bool = False,
          projection_expression: list[list[str]] | None = None,
          segments: tuple[None, None] | tuple[int, int] = (None, None)) -> Any:
    def original() -> Any:
        return _ORIG["scan"](self, filters, limit, exclusive_start_key, filter_expression, index_name,
                             consistent_read, projection_expression, segments=segments)

    if index_name:
        return original()
    ordered, safe = _sorted_items(self)
    if exclusive_start_key is None:
        start = 0
    elif safe and _start_key_safe(self, exclusive_start_key):
        start = _first_after(self, ordered, exclusive_start_key)
    else:
        return original()
    _TLS.suffix = (self, map(ordered.__getitem__, range(start, len(ordered))))
    try:
        return original()
    finally:
        _TLS.suffix = None


def _all_items(self: t.Table) -> Iterable[Item]:
    suffix = getattr(_TLS, "suffix", None)
    if suffix is not None and suffix[0] is self:
        _TLS.suffix = None  # one call only: the one at the top of the original scan
        return suffix[1]
    return _ORIG["all_items"](self)


def _stamping(fn: Any) -> Any:
    def wrapper(self: t.Table, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(self, *args, **kwargs)
        finally:
            _VERSION[self] = next(_TOKENS)

    wrapper.__name__, wrapper.__doc__ = fn.__name__, fn.__doc__
    return wrapper


def apply() -> None:
    """Patch moto's DynamoDB Table.scan (see module doc). Raises RuntimeError on another moto version."""
    global _applied
    if moto.__version__ != PINNED_VERSION:
        raise RuntimeError(f"local.moto_scan is written for moto=={PINNED_VERSION}, found "
                           f"moto {moto.__version__}: re-check moto/dynamodb/models/table.py and update it")
    with _LOCK:
        if _applied:
            return
        T = t.Table
        for name in ("scan", "all_items", "put_item", "delete_item"):
            _ORIG[name] = T.__dict__[name]
        T.put_item = _stamping(T.put_item)  # type: ignore[method-assign]
        T.delete_item = _stamping(T.delete_item)  # type: ignore[method-assign]
        T.all_items = _all_items  # type: ignore[method-assign,assignment]
        T.scan = _scan  # type: ignore[method-assign]
        _applied = True


def is_applied() -> bool:
    return _applied
