"""Tests for local.moto_scan: paginated Scan on patched moto is page for page what moto 5.2.5 gives,
and a page's work no longer grows with how far into the table it starts.

The equivalence tests run each scenario twice on fresh in-process moto, once with moto's own
``Table.scan`` / ``Table.all_items`` put back and once patched, and compare every response
(Items, Count, ScannedCount, LastEvaluatedKey); they also check whether the patched run took the
shortcut (binary search) or moto's code, as intended.  They pass on unpatched moto too (both runs
are then moto's).  ``test_page_work_is_bounded`` counts the items each page visits, the key
comparisons that find its start and the walks over the whole table: it fails on unpatched moto,
as does ``test_applied_by_moto_patch_and_idempotent``; see them fail with
``INORDER_MOTO_UNPATCHED=1 python -m pytest --noconftest tests/unit/test_moto_scan.py``
(tests/conftest.py applies the patches, hence ``--noconftest``).
"""

from __future__ import annotations

import math
import os
import random
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.dynamo_type import Item
from moto.dynamodb.models.table import Table

from local import moto_patch, moto_scan

UNPATCHED = os.environ.get("INORDER_MOTO_UNPATCHED") == "1"
if not UNPATCHED:
    moto_patch.apply()

REGION = "us-east-1"
N_ITEMS = 1000
Scenario = Callable[[Any, Table], list[Any]]


@pytest.fixture(autouse=True)
def _aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                 "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(k, v)


def result_item(rnd: random.Random, account: str, seq: float) -> dict[str, Any]:
    """Shaped like the project's results, plus a random-length pad so 1 MB pages end anywhere."""
    t0 = 1718000000 + rnd.random() * 1000
    return {"account_id": {"S": account}, "seq": {"N": str(seq)},
            "type": {"S": rnd.choice(["deposit", "withdrawal", "transfer"])},
            "received_at": {"N": repr(t0)}, "started_at": {"N": repr(t0 + 0.01)},
            "finished_at": {"N": repr(t0 + 0.02)}, "result": {"S": rnd.choice(["ok", "rejected"])},
            "message_id": {"S": f"{rnd.getrandbits(128):032x}"},
            "receive_count": {"N": str(rnd.randint(1, 3))}, "pad": {"S": "x" * rnd.randint(0, 5000)}}


def create(ddb: Any, name: str, range_key: bool = True, **extra: Any) -> Table:
    keys = [{"AttributeName": "account_id", "KeyType": "HASH"}]
    attrs = [{"AttributeName": "account_id", "AttributeType": "S"}]
    if range_key:
        keys.append({"AttributeName": "seq", "KeyType": "RANGE"})
        attrs.append({"AttributeName": "seq", "AttributeType": "N"})
    attrs += extra.pop("more_attrs", [])
    ddb.create_table(TableName=name, KeySchema=keys, AttributeDefinitions=attrs,
                     BillingMode="PAY_PER_REQUEST", **extra)
    return dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].get_table(name)


def fill(table: Table, n: int = N_ITEMS, seed: int = 7) -> None:
    """n items over ~150 accounts, inserted in random order; seqs whose text order is not numeric."""
    rnd = random.Random(seed)
    keys: dict[tuple[str, int | float], None] = {}
    while len(keys) < n:
        seq = rnd.choice([rnd.randint(0, 5000), -rnd.randint(1, 99), rnd.randint(0, 99) + 0.5])
        keys[(f"acct-{rnd.randint(0, 150):04d}", seq)] = None
    for account, seq in keys:
        table.put_item(result_item(rnd, account, seq))


def pages(ddb: Any, max_pages: int = 0, start: dict[str, Any] | None = None, **kwargs: Any) -> list[dict[str, Any]]:
    """The Scan responses of a paginated read (the first ``max_pages``), without ResponseMetadata."""
    out: list[dict[str, Any]] = []
    while True:
        page = ddb.scan(**kwargs, **({"ExclusiveStartKey": start} if start else {}))
        page.pop("ResponseMetadata", None)
        out.append(page)
        start = page.get("LastEvaluatedKey")
        if not start or len(out) == max_pages:
            return out


def both(scenario: Scenario, **table: Any) -> tuple[list[Any], list[Any], int]:
    """The scenario's outcome on unpatched moto and on patched moto, each on a fresh table, and
    how many pages of the patched run found their start by binary search (the shortcut)."""
    outcomes, searches = [], 0
    for original in (True, False):
        with mock_aws(), pytest.MonkeyPatch.context() as mp:
            ddb = boto3.client("dynamodb", region_name=REGION)
            t = create(ddb, "results", **table)
            fill(t)
            if original:
                for name in ("scan", "all_items"):  # moto's own code
                    if name in moto_scan._ORIG:
                        mp.setattr(Table, name, moto_scan._ORIG[name])
            else:
                def counting(*args: Any, first_after: Any = moto_scan._first_after) -> int:
                    nonlocal searches
                    searches += 1
                    return first_after(*args)

                mp.setattr(moto_scan, "_first_after", counting)
            outcomes.append(scenario(ddb, t))
    return outcomes[0], outcomes[1], searches


def assert_same(scenario: Scenario, min_pages: int = 2, shortcut: bool | None = True, **table: Any) -> list[Any]:
    """Patched moto answers the scenario as moto does; ``shortcut``: whether the patched run
    should have used the binary search (True), never (False: moto's code ran), or either (None)."""
    before, after, searches = both(scenario, **table)
    assert len(after) == len(before)
    for i, (b, a) in enumerate(zip(before, after)):
        assert a == b, f"page {i} differs"
    assert len(after) >= min_pages, "the scenario should paginate"
    if shortcut is not None and not UNPATCHED:
        assert (searches > 0) == shortcut, f"{searches} pages used the shortcut"
    return after


def test_full_scan_size_limited_pages() -> None:
    got = assert_same(lambda ddb, t: pages(ddb, TableName="results", ConsistentRead=True))
    assert len(got) >= 3, "1 MB pages: the size limit, not a Limit, cuts them"
    assert sum(len(p["Items"]) for p in got) == N_ITEMS


@pytest.mark.parametrize("limit", [1, 97, 1000, N_ITEMS, N_ITEMS + 5])
def test_limit(limit: int) -> None:
    min_pages = 1 if limit > N_ITEMS else 2
    assert_same(lambda ddb, t: pages(ddb, max_pages=60, TableName="results", Limit=limit), min_pages=min_pages)


def test_filter_expression_projection_and_scan_filter() -> None:
    assert_same(lambda ddb, t: pages(
        ddb, TableName="results", Limit=150, FilterExpression="#t = :d AND receive_count > :one",
        ProjectionExpression="account_id, seq, #t, receive_count",
        ExpressionAttributeNames={"#t": "type"},
        ExpressionAttributeValues={":d": {"S": "deposit"}, ":one": {"N": "1"}}))
    assert_same(lambda ddb, t: pages(
        ddb, TableName="results", Limit=200,
        ScanFilter={"result": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "ok"}]}}))
    assert_same(lambda ddb, t: pages(ddb, TableName="results", Select="COUNT", Limit=333))


@pytest.mark.parametrize(("total", "limit", "min_pages"), [(2, None, 3), (3, 20, 40)])
def test_segments(total: int, limit: int | None, min_pages: int) -> None:
    def scenario(ddb: Any, t: Table) -> list[Any]:
        kw = {"Limit": limit} if limit else {}
        return [p for seg in range(total)
                for p in pages(ddb, TableName="results", Segment=seg, TotalSegments=total, **kw)]

    assert_same(scenario, min_pages=min_pages)


def test_writes_between_pages() -> None:
    """Puts before and after the cursor, deletes, overwrites, updates: the next page is still moto's."""
    def scenario(ddb: Any, t: Table) -> list[Any]:
        rnd, out, start, n = random.Random(3), [], None, 0
        while True:
            page = ddb.scan(TableName="results", Limit=80, **({"ExclusiveStartKey": start} if start else {}))
            page.pop("ResponseMetadata")
            out.append(page)
            start, n = page.get("LastEvaluatedKey"), n + 1
            if not start:
                return out
            here = start["account_id"]["S"]
            ddb.put_item(TableName="results", Item=result_item(rnd, "acct-0000", 10_000 + n))  # behind
            ddb.put_item(TableName="results", Item=result_item(rnd, here, 10_000 + n))  # ahead
            ddb.put_item(TableName="results", Item=result_item(rnd, "acct-9999", n))  # at the end
            if page["Items"]:
                victim = page["Items"][-1]
                ddb.delete_item(TableName="results",  # the cursor's own item
                                Key={"account_id": victim["account_id"], "seq": victim["seq"]})
            ddb.update_item(TableName="results", Key={"account_id": {"S": here}, "seq": {"N": "10000001"}},
                            UpdateExpression="SET #r = :r", ExpressionAttributeNames={"#r": "result"},
                            ExpressionAttributeValues={":r": {"S": "late" * rnd.randint(1, 50)}})
            ddb.batch_write_item(RequestItems={"results": [
                {"PutRequest": {"Item": result_item(rnd, f"acct-{rnd.randint(0, 150):04d}", rnd.randint(0, 5000))}}
                for _ in range(5)]})

    assert_same(scenario, min_pages=10)


def test_hash_only_table() -> None:
    def scenario(ddb: Any, t: Table) -> list[Any]:
        rnd = random.Random(5)
        for i in range(600):
            t.put_item(result_item(rnd, f"k{rnd.getrandbits(40):x}", i))
        return pages(ddb, max_pages=10, TableName="flat", Limit=77) + pages(ddb, TableName="flat")

    def with_flat(ddb: Any, t: Table) -> list[Any]:
        return scenario(ddb, create(ddb, "flat", range_key=False))

    assert_same(with_flat)


def test_index_scans_are_moto_s_own() -> None:
    gsi = [{"IndexName": "by_type", "Projection": {"ProjectionType": "KEYS_ONLY"},
            "KeySchema": [{"AttributeName": "type", "KeyType": "HASH"},
                          {"AttributeName": "message_id", "KeyType": "RANGE"}]}]
    lsi = [{"IndexName": "by_result", "Projection": {"ProjectionType": "ALL"},
            "KeySchema": [{"AttributeName": "account_id", "KeyType": "HASH"},
                          {"AttributeName": "result", "KeyType": "RANGE"}]}]
    more = [{"AttributeName": n, "AttributeType": "S"} for n in ("type", "message_id", "result")]
    assert_same(lambda ddb, t: pages(ddb, TableName="results", IndexName="by_type", Limit=700)
                + pages(ddb, TableName="results", IndexName="by_result", Limit=700), shortcut=False,
                GlobalSecondaryIndexes=gsi, LocalSecondaryIndexes=lsi, more_attrs=more)


@pytest.mark.parametrize(("start", "shortcut"), [
    ({"account_id": {"S": "acct-0050"}}, False),  # no range key
    ({"account_id": {"S": "acct-0050"}, "seq": {"S": "12"}}, False),  # range key of the wrong type
    ({"account_id": {"S": "acct-0050"}, "seq": {"N": "not a number"}}, False),
    ({"account_id": {"S": "acct-0050"}, "seq": {"N": "Infinity"}}, False),
    ({"account_id": {"S": "acct-0050"}, "seq": {"N": "12"}, "extra": {"S": "ignored"}}, True),
    ({"account_id": {"S": "acct-0050"}, "seq": {"N": "12.25"}}, True),  # between stored keys
    ({"account_id": {"S": "acct-0050"}, "seq": {"N": "1.2E+1"}}, True),  # = 12, written otherwise
    ({"account_id": {"S": "zzz"}, "seq": {"N": "0"}}, True),  # after every item
    ({"account_id": {"S": "a"}, "seq": {"N": "0"}}, True),  # before every item
])
def test_odd_start_keys_behave_as_in_moto(start: dict[str, Any], shortcut: bool) -> None:
    def scenario(ddb: Any, t: Table) -> list[Any]:
        try:
            return pages(ddb, max_pages=1, start=start, TableName="results", Limit=500)
        except Exception as error:  # noqa: BLE001 - whatever moto does, patched moto must do too
            return [type(error).__name__, str(error)]

    assert_same(scenario, min_pages=1, shortcut=shortcut)


class _CountingItems(defaultdict):  # type: ignore[type-arg]
    """A table's ``items`` that counts full walks (``values()``: what ``all_items()`` iterates)."""

    walks = 0

    def values(self) -> Any:
        type(self).walks += 1
        return super().values()


@pytest.mark.parametrize("limit", [100, None])
def test_page_work_is_bounded(monkeypatch: pytest.MonkeyPatch, limit: int | None) -> None:
    """Each page visits only its own items (+1), locates its start in O(log n) key comparisons,
    and the table is walked once for the whole read; unpatched moto walks it from the top per page."""
    visits = {"items": 0, "compares": 0}
    within, before = Item.is_within_segment, Table._item_comes_before_dct

    def counting_within(self: Item, segments: Any) -> bool:
        visits["items"] += 1
        return within(self, segments)

    def counting_before(self: Table, *args: Any) -> bool:
        visits["compares"] += 1
        return before(self, *args)

    monkeypatch.setattr(Item, "is_within_segment", counting_within)
    monkeypatch.setattr(Table, "_item_comes_before_dct", counting_before)
    monkeypatch.setattr(_CountingItems, "walks", 0)
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name=REGION)
        table = create(ddb, "results")
        fill(table)
        table.items = _CountingItems(dict, table.items)
        start, n_pages, seen = None, 0, 0
        kw = {"Limit": limit} if limit else {}
        while True:
            visits.update(items=0, compares=0)
            page = ddb.scan(TableName="results", ConsistentRead=True, **kw,
                            **({"ExclusiveStartKey": start} if start else {}))
            n_pages, seen = n_pages + 1, seen + page["Count"]
            assert visits["items"] <= page["Count"] + 1, f"page {n_pages} visited {visits['items']} items"
            assert visits["compares"] <= math.ceil(math.log2(N_ITEMS + 1)) + 1, f"page {n_pages}"
            start = page.get("LastEvaluatedKey")
            if not start:
                break
    assert seen == N_ITEMS and n_pages >= 3
    assert _CountingItems.walks == 1, "the table is sorted once for the whole paginated read"


def test_applied_by_moto_patch_and_idempotent(monkeypatch: pytest.MonkeyPatch) -> None:
    import moto

    assert moto_scan.is_applied(), "moto_patch.apply() applies moto_scan"
    scan, put = Table.scan, Table.put_item
    moto_scan.apply()  # second call: no-op
    assert (Table.scan, Table.put_item) == (scan, put)
    assert Table.scan is not moto_scan._ORIG["scan"]
    monkeypatch.setattr(moto_scan, "_applied", False)
    monkeypatch.setattr(moto, "__version__", "5.2.6")
    with pytest.raises(RuntimeError, match="5.2.5"):
        moto_scan.apply()
    assert Table.scan is scan
