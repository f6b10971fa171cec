"""Make moto 5.2.5's SQS usable for inorder's backlog and many concurrent consumers.

Why: moto's SQS (see the team's PLATFORM.md, "moto 5.2.5") has no locking, so concurrent
ReceiveMessage calls hand one FIFO group to two consumers; every call is O(queue depth) with
datetime-based checks (``Queue.attributes`` alone computes three O(depth) counts and is read
4-6 times per sent message); long polling busy-spins; dedup forgets deleted messages; stale
receipt handles still delete; SequenceNumber is random.

What: ``apply()`` monkeypatches ``moto.sqs.models``:
* one process-wide ``RLock`` around every SQS operation that touches messages, and per queue a
  ``Condition`` on it for long polling (``wait`` releases the lock; woken by send / delete /
  visibility change, or by a timeout at the next visibility/delay expiry). A change wakes ONE
  waiting poll of its queue, once per API call; a poll that receives and leaves receivable
  messages behind wakes the next. Waking every poll on every change costs the backend more than
  the calls themselves once dozens of pollers wait (they all run a receive to find nothing);
* FIFO queues get their own indexes (``_FifoState``): per-group deques in send order, a heap
  of unlocked groups keyed by their head's sequence number (oldest first), in-flight messages
  per group, a timer heap of expiries, receipt-handle and dedup dicts.  Their messages are NOT
  in ``queue._messages`` (kept empty);
* standard queues keep moto's own logic, only under the lock (and polled without spinning);
* ``Queue.attributes`` no longer computes the Approximate* counts; ``get_queue_attributes``
  adds them when asked.

It also applies ``local.moto_dynamodb`` (DynamoDB's PartiQL INSERT, as the processor uses it).
"""

from __future__ import annotations

import heapq
import json
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import moto
from moto.core.utils import camelcase_to_underscores
from moto.sqs import models as m
from moto.sqs.exceptions import ReceiptHandleIsInvalid

from local import moto_dynamodb

PINNED_VERSION = "5.2.5"
DEDUP_WINDOW = 300.0  # seconds, as on AWS
DEAD_HANDLE_TTL = 3600.0  # how long receipt handles of removed messages still "delete" fine
_COUNTS = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
)
_LOCK = threading.RLock()
# Long polls are woken once per API call, not once per message it touches: a SendMessageBatch
# of ten would otherwise wake ten pollers for what one receive takes. Both are used under _LOCK only.
_nesting = 0  # locked calls in progress (a batch call runs its single-message calls inside)
_unannounced: dict[int, tuple[threading.Condition, bool]] = {}  # queue -> (its condition, wake all)
_ORIG: dict[str, Any] = {}
_applied = False


class _FifoState:
    """Indexes of one FIFO queue; only touched under ``_LOCK``."""

    def __init__(self) -> None:
        self.seq = 0  # last SequenceNumber issued (increasing per queue)
        self.n_msgs = 0
        self.n_inflight = 0
        self.groups: dict[str, deque[m.Message]] = {}  # group -> messages in send order
        self.ready: list[tuple[int, str]] = []  # heap (head seq, group) of unlocked groups
        self.ready_key: dict[str, int] = {}  # group -> seq of its valid entry in ``ready``
        self.inflight: dict[str, dict[str, m.Message]] = {}  # group -> id -> message
        self.timers: list[tuple[float, str]] = []  # heap (when, group): vis/delay expiry
        self.handles: dict[str, m.Message] = {}  # every handle of a message still queued
        self.dead: dict[str, float] = {}  # handle of a removed message -> removal time
        self.dedup: dict[tuple[str, str], tuple[float, str, str]] = {}  # -> (t, id, seq)


def _st(q: m.Queue) -> _FifoState:
    st = q.__dict__.get("_inorder_fifo")
    if st is None:
        st = q.__dict__["_inorder_fifo"] = _FifoState()
    return st


def _make_ready(st: _FifoState, gid: str, now: float) -> None:
    """Put an unlocked, non-empty group on the ready heap (or a timer if its head is delayed)."""
    dq = st.groups.get(gid)
    if not dq or gid in st.inflight or gid in st.ready_key:
        return
    head = dq[0]
    if head._delay > now:
        heapq.heappush(st.timers, (head._delay, gid))
    else:
        st.ready_key[gid] = head._fseq
        heapq.heappush(st.ready, (head._fseq, gid))


def _expire(st: _FifoState, now: float) -> None:
    """Process due timers: messages whose visibility timed out become visible again."""
    while st.timers and st.timers[0][0] <= now:
        gid = heapq.heappop(st.timers)[1]
        fl = st.inflight.get(gid)
        if fl:
            for mid in [k for k, msg in fl.items() if msg._vis <= now]:
                del fl[mid]
                st.n_inflight -= 1
            if fl:
                continue  # a later timer covers the rest
            del st.inflight[gid]
        _make_ready(st, gid, now)


def _remove(st: _FifoState, msg: m.Message, now: float, requeue: bool = True) -> None:
    """Drop a message (delete, DLQ move, retention); unlock/clean up its group."""
    gid = msg.group_id
    dq = st.groups.get(gid, deque())
    if dq and dq[0] is msg:
        dq.popleft()
    else:
        idx = next((i for i, x in enumerate(dq) if x is msg), None)
        if idx is not None:
            del dq[idx]
    st.n_msgs -= 1
    fl = st.inflight.get(gid)
    if fl and fl.pop(msg.id, None) is not None:
        st.n_inflight -= 1
        if not fl:
            del st.inflight[gid]
    for h in msg.all_receipt_handles:
        if h:
            st.handles.pop(h, None)
            st.dead[h] = now
    while st.dead:  # insertion-ordered: prune the oldest
        h, t = next(iter(st.dead.items()))
        if now - t < DEAD_HANDLE_TTL:
            break
        del st.dead[h]
    if not dq:
        st.groups.pop(gid, None)
        st.ready_key.pop(gid, None)
    elif requeue:
        _make_ready(st, gid, now)


def _enqueue(q: m.Queue, msg: m.Message, dedup: bool = True) -> None:
    """FIFO add_message: dedup (5 min, survives deletes, optional per-group scope), index."""
    st, now, gid = _st(q), time.time(), msg.group_id or ""
    key = None
    if dedup and msg.deduplication_id:
        while st.dedup:
            k, v = next(iter(st.dedup.items()))
            if now - v[0] < DEDUP_WINDOW:
                break
            del st.dedup[k]
        scope = gid if q.deduplication_scope == "messageGroup" else ""  # type: ignore[attr-defined]
        key = (scope, msg.deduplication_id)
        hit = st.dedup.get(key)
        if hit is not None:  # duplicate: accepted but not enqueued, reports the original
            msg.id, msg.sequence_number = hit[1], hit[2]
            return
    st.seq += 1
    msg._fseq, msg.sequence_number = st.seq, f"{st.seq:020d}"
    msg._vis, msg._delay = 0.0, (msg.delayed_until or 0) / 1000.0
    if key is not None:
        st.dedup[key] = (now, msg.id, msg.sequence_number)
    st.groups.setdefault(gid, deque()).append(msg)
    st.n_msgs += 1
    _make_ready(st, gid, now)


def _fifo_receive(q: m.Queue, count: int, vis: int, names: list[str]) -> list[m.Message]:
    """AWS FIFO receive: oldest unlocked groups first, each group's visible messages in order."""
    st, now, out = _st(q), time.time(), []
    _expire(st, now)
    dlq = q.dead_letter_queue
    maxrc = q.redrive_policy["maxReceiveCount"] if dlq is not None and q.redrive_policy else 0
    while len(out) < count and st.ready:
        fseq, gid = heapq.heappop(st.ready)
        if st.ready_key.get(gid) != fseq:
            continue  # stale heap entry
        del st.ready_key[gid]
        dq, taken = st.groups.get(gid, deque()), 0
        while taken < len(dq) and len(out) < count:
            msg = dq[taken]
            if msg._delay > now:
                break
            if now - msg.sent_timestamp / 1000.0 >= q.message_retention_period:  # type: ignore
                _remove(st, msg, now, requeue=False)
                continue
            if maxrc and msg.approximate_receive_count >= maxrc:
                _remove(st, msg, now, requeue=False)
                msg.receipt_handle, msg._old_receipt_handles = None, []
                _enqueue(dlq, msg, dedup=False)  # type: ignore[arg-type]
                _changed(dlq)  # type: ignore[arg-type]
                continue
            if msg.receipt_handle:
                msg._old_receipt_handles.append(msg.receipt_handle)
            msg.receipt_handle = os.urandom(48).hex()
            st.handles[msg.receipt_handle] = msg
            msg.approximate_receive_count += 1
            msg.approximate_first_receive_timestamp = (
                msg.approximate_first_receive_timestamp or int(now * 1000)
            )
            msg._vis = now + vis
            st.inflight.setdefault(gid, {})[msg.id] = msg
            st.n_inflight += 1
            out.append(_view(msg, names))
            taken += 1
        if taken:
            heapq.heappush(st.timers, (now + vis, gid))
        elif dq:
            _make_ready(st, gid, now)  # head delayed: becomes a timer
    return out


def _view(msg: m.Message, names: list[str]) -> m.Message:
    """Shallow copy for the response (not tracked by moto, attributes filtered)."""
    c = object.__new__(m.Message)
    c.__dict__.update(msg.__dict__)
    m._filter_message_attributes(c, names)
    return c


def _cond(q: m.Queue) -> threading.Condition:
    """The condition long polls of ``q`` wait on (it shares ``_LOCK``)."""
    cond = q.__dict__.get("_inorder_cond")
    if cond is None:
        cond = q.__dict__["_inorder_cond"] = threading.Condition(_LOCK)
    return cond


def _changed(q: m.Queue, everyone: bool = False) -> None:
    """Wake a long poll of ``q`` (under _LOCK), or all of them: now, or when the outermost locked call ends.

    ``everyone``: when what changed is *when* messages become receivable (a later visibility
    timeout, a deleted queue), every waiting poll must work out its wait again.
    """
    everyone |= _unannounced.get(id(q), (None, False))[1]
    _unannounced[id(q)] = (_cond(q), everyone)
    if not _nesting:
        _announce()


def _announce() -> None:
    for cond, everyone in _unannounced.values():
        if everyone:
            cond.notify_all()
        else:
            cond.notify()
    _unannounced.clear()


def _locked(fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        global _nesting
        with _LOCK:
            _nesting += 1
            try:
                return fn(*args, **kwargs)
            finally:
                _nesting -= 1
                if not _nesting and _unannounced:
                    _announce()

    wrapper.__name__, wrapper.__doc__ = fn.__name__, fn.__doc__
    return wrapper


def _add_message(self: m.Queue, message: m.Message) -> None:
    with _LOCK:
        if self.fifo_queue:
            _enqueue(self, message)
        else:  # (also runs moto's Lambda event source mappings; FIFO queues skip those)
            _ORIG["add_message"](self, message)
        _changed(self)


def _delete_message(self: m.Queue, receipt_handle: str) -> None:
    if not self.fifo_queue:
        return _ORIG["delete_message"](self, receipt_handle)
    st = _st(self)
    msg = st.handles.get(receipt_handle)
    if msg is None:
        if receipt_handle in st.dead:
            return  # already deleted (or moved to the DLQ / purged): success
        raise ReceiptHandleIsInvalid()
    if msg.receipt_handle == receipt_handle:  # a stale handle is a no-op success
        _remove(st, msg, time.time())
        _changed(self)  # its group may be unlocked now


def _change_visibility(self: m.SQSBackend, queue_name: str, receipt_handle: str,
                       visibility_timeout: int) -> None:
    q = self.get_queue(queue_name)
    # Visible now: one poll can take it; later: every waiting poll must shorten its wait.
    _changed(q, everyone=int(visibility_timeout) > 0)
    if not q.fifo_queue:
        return _ORIG["change_message_visibility"](self, queue_name, receipt_handle,
                                                  visibility_timeout)
    st, now = _st(q), time.time()
    msg = st.handles.get(receipt_handle)
    if msg is None:
        raise ReceiptHandleIsInvalid()
    if msg.receipt_handle != receipt_handle:
        return  # stale handle: the message was received again since
    _expire(st, now)
    gid, t = msg.group_id, int(visibility_timeout)
    fl = st.inflight.setdefault(gid, {})
    if msg.id not in fl:  # (moto semantics: a visible message becomes in flight)
        fl[msg.id] = msg
        st.n_inflight += 1
        st.ready_key.pop(gid, None)
    msg._vis = now + t
    heapq.heappush(st.timers, (msg._vis, gid))
    if t <= 0:
        _expire(st, now)


def _receive_message(self: m.SQSBackend, queue_name: str, count: int,
                     wait_seconds_timeout: int, visibility_timeout: int,
                     message_attribute_names: list[str] | None = None) -> list[m.Message]:
    """Non-blocking attempt under the lock; long polling waits on the queue's condition (lock released)."""
    names = message_attribute_names or []
    deadline = time.time() + (wait_seconds_timeout or 0)
    with _LOCK:
        while True:
            q = self.get_queue(queue_name)
            if q.fifo_queue:
                out = _fifo_receive(q, count, visibility_timeout, names)
            else:
                out = _ORIG["receive_message"](self, queue_name, count, 0,
                                               visibility_timeout, names)
            now = time.time()
            if out:
                if not q.fifo_queue or _st(q).ready:
                    _cond(q).notify()  # there is more: pass the wake-up on to the next poll
                return out
            if now >= deadline:
                return out
            _cond(q).wait(min(deadline, _next_event(q, now)) - now)


def _next_event(q: m.Queue, now: float) -> float:
    """When something may become receivable without a send/delete/visibility call."""
    if q.fifo_queue:
        st = _st(q)
        return st.timers[0][0] if st.timers else float("inf")
    ts = [t / 1000.0 + 0.002 for msg in q._messages
          for t in (msg.visible_at, msg.delayed_until) if t / 1000.0 > now]
    return min(ts, default=float("inf"))


def _purge_queue(self: m.SQSBackend, queue_name: str) -> None:
    _ORIG["purge_queue"](self, queue_name)
    q = self.get_queue(queue_name)
    if q.fifo_queue:  # keep dedup history and sequence; old handles delete as no-ops
        old, new, now = _st(q), _FifoState(), time.time()
        new.seq, new.dedup, new.dead = old.seq, old.dedup, old.dead
        new.dead.update(dict.fromkeys(old.handles, now))
        q.__dict__["_inorder_fifo"] = new


def _delete_queue(self: m.SQSBackend, queue_name: str) -> m.Queue:
    """Delete the queue, and wake its long polls so that they fail at once instead of at their deadline."""
    q = self.get_queue(queue_name)
    _changed(q, everyone=True)
    return _ORIG["delete_queue"](self, queue_name)


def _fifo_counts(q: m.Queue) -> tuple[int, int, int]:
    """(visible, in flight, delayed) of a FIFO queue; O(depth) only for the delayed count."""
    st, now = _st(q), time.time()
    _expire(st, now)
    delayed = sum(1 for dq in st.groups.values() for x in dq if x._delay > now)
    return st.n_msgs - st.n_inflight - delayed, st.n_inflight, delayed


_UNDERSCORE = {a: camelcase_to_underscores(a) for a in
               m.Queue.BASE_ATTRIBUTES + m.Queue.FIFO_ATTRIBUTES + m.Queue.KMS_ATTRIBUTES}


def _attributes(self: m.Queue) -> dict[str, Any]:
    """moto's Queue.attributes minus the three O(depth) counts (read on every send)."""
    names = [a for a in m.Queue.BASE_ATTRIBUTES if a not in _COUNTS]
    if self.fifo_queue:
        names += m.Queue.FIFO_ATTRIBUTES
    if self.kms_master_key_id:  # type: ignore[attr-defined]
        names += m.Queue.KMS_ATTRIBUTES
    result = {a: getattr(self, _UNDERSCORE[a]) for a in names}
    if self.redrive_policy:  # type: ignore[attr-defined]
        result["RedrivePolicy"] = json.dumps(self.redrive_policy)  # type: ignore
    return {k: (str(v).lower() if isinstance(v, bool) else v) for k, v in result.items()}


def _get_queue_attributes(self: m.SQSBackend, queue_name: str,
                          attribute_names: list[str]) -> dict[str, Any]:
    with _LOCK:
        result = _ORIG["get_queue_attributes"](self, queue_name, attribute_names)
        q = self.get_queue(queue_name)
        counts = _fifo_counts(q) if q.fifo_queue else None
        for i, name in enumerate(_COUNTS):
            if name in attribute_names or "All" in attribute_names:
                result[name] = counts[i] if counts else getattr(q, _UNDERSCORE[name])
        return result


def apply() -> None:
    """Patch moto's SQS (see module doc). Raises RuntimeError on another moto version."""
    global _applied
    if moto.__version__ != PINNED_VERSION:
        raise RuntimeError(f"local.moto_patch is written for moto=={PINNED_VERSION}, found "
                           f"moto {moto.__version__}: re-check moto/sqs/models.py and update it")
    from local import moto_scan  # DynamoDB: paginated Scan in linear time

    moto_scan.apply()
    with _LOCK:
        if _applied:
            return
        Q, B = m.Queue, m.SQSBackend
        for name in ("add_message", "delete_message", "attributes"):
            _ORIG[name] = Q.__dict__[name]
        for name in ("receive_message", "change_message_visibility", "purge_queue",
                     "get_queue_attributes", "delete_queue"):
            _ORIG[name] = B.__dict__[name]
        # moto tracks every Message ever built (and each deepcopy) in a class list: a leak.
        m.Message.__new__ = lambda cls, *a, **k: object.__new__(cls)  # type: ignore
        Q.add_message = _add_message  # type: ignore[method-assign]
        Q.delete_message = _locked(_delete_message)  # type: ignore
        Q.attributes = property(_attributes)  # type: ignore[assignment,method-assign]
        B.receive_message = _receive_message  # type: ignore[method-assign]
        B.change_message_visibility = _locked(_change_visibility)  # type: ignore
        B.purge_queue = _locked(_purge_queue)  # type: ignore[method-assign]
        B.delete_queue = _locked(_delete_queue)  # type: ignore[method-assign]
        B.get_queue_attributes = _get_queue_attributes  # type: ignore[method-assign]
        for name in ("send_message", "send_message_batch", "delete_message", "delete_message_batch",
                     "change_message_visibility_batch", "set_queue_attributes", "create_queue"):
            setattr(B, name, _locked(getattr(B, name)))
        moto_dynamodb.apply()
        _applied = True


def is_applied() -> bool:
    return _applied
