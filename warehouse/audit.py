"""The audit log's hash chains, recomputed outside the database, and their heads anchored outside it too.

The log is ``LANES`` chains (migration 0013): lane 0 holds entries 1, 2, 3..., lane *k* entries
``k * LANE_SPAN + 1, + 2...``; concurrent appends take different lanes so their commits need not wait for
each other's disk flush. ``audit.append`` (migration 0004) writes each entry with
``entry_hash = sha256_hex(utf8(prev_hash + "|" + canonical_text(entry)))``; this module recomputes the
same bytes independently (``prev_hash`` being the entry before it in its lane), so a verifier does not
trust the database's own functions. Anyone able to
write the table (a superuser, the owner) could rewrite the whole chain consistently; the anchors file,
an append-only text file of ``entry_id,entry_hash,timestamp`` lines kept outside the database, catches
that: every anchored entry must still be in the chain with the same hash.

What the chain cannot show: entries appended after the newest anchor by someone computing hashes the
same way are indistinguishable from real appends (no key is involved). Anchor often.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from hashlib import sha256
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text

from contactpoint.settings import get_settings

GENESIS_HASH = "0" * 64
LANES, LANE_SPAN = 8, 10**15
"""Entry ids of one audit lane (migration 0013): lane k holds k * LANE_SPAN + 1, + 2, ... each lane a chain
of its own from the genesis hash, so concurrent reads commit side by side instead of one at a time."""
FIELDS = ("entry_id", "occurred_at", "username", "user_role", "action", "cp_id", "purpose", "detail")

_ENTRIES = text("""
    SELECT entry_id, occurred_at, username, user_role, action, cp_id, purpose, detail::text AS detail,
           prev_hash, entry_hash
    FROM audit.entry ORDER BY entry_id""")


def default_anchors_path() -> Path:
    """Where the hub keeps its anchors unless told otherwise: ``<data_dir>/audit/anchors.log``."""
    return get_settings().data_dir / "audit" / "anchors.log"


def _field(value: str | None) -> str:
    # Escaping makes the text unambiguous: "a|b" + "c" and "a" + "b|c" must not hash alike.
    if value is None:
        return "\\N"
    return value.replace("\\", "\\\\").replace("|", "\\|")


def _json_string(value: str) -> str:
    # PostgreSQL's escape_json and json.dumps(ensure_ascii=False) escape the same characters the same way.
    return json.dumps(value, ensure_ascii=False)


def jsonb_text(value: Any) -> str:
    """PostgreSQL's text output of a jsonb value made of counts and codes (objects, lists, str, int, bool, None).

    jsonb orders object keys by byte length, then bytewise, and writes ``", "`` and ``": "``. Floats are
    refused: numeric output keeps the input's scale, which Python cannot know.
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _json_string(value)
    if isinstance(value, Mapping):
        keys = sorted(value, key=lambda k: (len(k.encode()), k.encode()))
        return "{" + ", ".join(f"{_json_string(k)}: {jsonb_text(value[k])}" for k in keys) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(jsonb_text(v) for v in value) + "]"
    raise TypeError(f"audit detail holds counts and codes only, not {type(value).__name__}")


def _timestamp(value: datetime | str) -> str:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        raise ValueError("occurred_at must carry a time zone")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_text(entry: Mapping[str, Any]) -> str:
    """``entry_id|occurred_at|username|user_role|action|cp_id|purpose|detail``, as migration 0004 documents.

    ``detail`` may be the jsonb text read from the database (used verbatim) or a dict (serialised as
    PostgreSQL would).
    """
    detail = entry.get("detail")
    detail_text = detail if isinstance(detail, str) else jsonb_text({} if detail is None else detail)
    return "|".join((
        str(int(entry["entry_id"])),
        _timestamp(entry["occurred_at"]),
        _field(entry["username"]),
        _field(entry["user_role"]),
        _field(entry["action"]),
        _field(entry.get("cp_id")),
        _field(entry.get("purpose")),
        _field(detail_text),
    ))


def entry_hash(prev_hash: str, entry: Mapping[str, Any]) -> str:
    """The hash an entry must carry, given the previous entry's hash (64 zeros for the first)."""
    return sha256(f"{prev_hash}|{canonical_text(entry)}".encode()).hexdigest()


@dataclass(frozen=True)
class Anchor:
    """One line of the anchors file: the chain head as it was at ``anchored_at``."""

    entry_id: int
    entry_hash: str
    anchored_at: str


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of a verification: where the chain first breaks (an entry id) and why."""

    ok: bool
    entries: int
    first_break: int | None
    reason: str
    anchors_checked: int = 0
    after_newest_anchor: int = 0
    """Entries written after the newest anchor (all of them when there is none): what nothing outside
    the database vouches for yet."""


def read_anchors(path: Path) -> list[Anchor]:
    """Every anchor in the file (none if it does not exist); a malformed line raises ValueError."""
    if not path.exists():
        return []
    anchors = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.strip().split(",")
        if len(parts) != 3 or not parts[0].isdigit() or len(parts[1]) != 64:
            raise ValueError(f"{path}:{number}: not an anchor line")
        anchors.append(Anchor(int(parts[0]), parts[1], parts[2]))
    return anchors


def lane_of(entry_id: int) -> int:
    """The lane an entry id belongs to (lane *k* holds ids ``k * LANE_SPAN + 1, + 2, ...``)."""
    return (entry_id - 1) // LANE_SPAN


def check_chain(rows: Iterable[Mapping[Any, Any]], anchors: Iterable[Anchor] = (),
                max_unanchored: int | None = None) -> VerifyResult:
    """Verify entries given in ``entry_id`` order against each other and against the anchors.

    Each lane's ids must run ``k * LANE_SPAN + 1, + 2...`` without gaps (``audit.append`` assigns them so);
    each entry's ``prev_hash`` must be the previous entry's hash in its lane (64 zeros for a lane's first)
    and its ``entry_hash`` must match its content. An edit breaks the edited entry's hash; a deletion
    leaves a gap; an insertion or reordering changes ids or breaks the links; a consistent rewrite of
    everything no longer matches the anchors.

    Whoever can rewrite the database can rewrite the entries after the newest anchor consistently, so
    with ``max_unanchored`` the chain also fails when more entries than that stand after it (or when
    there is no anchor and the chain is longer than that).
    """
    wanted: dict[int, list[Anchor]] = {}
    for anchor in anchors:
        wanted.setdefault(anchor.entry_id, []).append(anchor)
    breaks: list[tuple[int, str]] = []
    lane_end: dict[int, int] = {}
    lane, expected_id, expected_prev, count, checked = 0, 1, GENESIS_HASH, 0, 0
    for row in rows:
        count += 1
        entry_id = int(row["entry_id"])
        if lane_of(entry_id) != lane:  # the next lane starts its own chain
            lane = lane_of(entry_id)
            expected_id, expected_prev = lane * LANE_SPAN + 1, GENESIS_HASH
        if not breaks:
            problem = _problem(row, entry_id, expected_id, expected_prev)
            if problem is None:
                for anchor in wanted.get(entry_id, []):
                    checked += 1
                    if anchor.entry_hash != row["entry_hash"]:
                        problem = (f"entry {entry_id} is not the entry anchored at {anchor.anchored_at}: "
                                   "the chain up to it was rewritten")
                        break
            if problem is not None:
                breaks.append((entry_id, problem))
        expected_id, expected_prev = entry_id + 1, str(row["entry_hash"])
        lane_end[lane] = entry_id
    if not breaks:
        missing = sorted(i for i in wanted if i > lane_end.get(lane_of(i), lane_of(i) * LANE_SPAN))
        if missing:
            first = wanted[missing[0]][0]
            end = lane_end.get(lane_of(first.entry_id), lane_of(first.entry_id) * LANE_SPAN)
            breaks.append((first.entry_id, f"entry {first.entry_id}, anchored at {first.anchored_at}, is no longer "
                                           f"in the chain (which ends at {end}): entries were deleted"))
    newest: dict[int, int] = {}
    for entry_id in wanted:
        newest[lane_of(entry_id)] = max(newest.get(lane_of(entry_id), 0), entry_id)
    after = sum(max(end - newest.get(k, k * LANE_SPAN), 0) for k, end in lane_end.items())
    if breaks:
        return VerifyResult(False, count, breaks[0][0], breaks[0][1], checked, after)
    if max_unanchored is not None and after > max_unanchored:
        newest_id = max(newest.values(), default=0)
        anchored = (f"after the newest anchors (entry {newest_id})" if newest_id
                    else "and no anchor vouches for any of them")
        return VerifyResult(False, count, None, f"{after:,} entries stand {anchored}, more than the "
                                                f"{max_unanchored:,} allowed: anchor the chain (audit_anchor DAG)",
                            checked, after)
    return VerifyResult(True, count, None, "chain intact", checked, after)


def _problem(row: Mapping[Any, Any], entry_id: int, expected_id: int, expected_prev: str) -> str | None:
    if entry_id != expected_id:
        if entry_id > expected_id:
            return f"entries {expected_id}..{entry_id - 1} are missing before entry {entry_id}"
        return f"entry {entry_id} appears out of order"
    if row["prev_hash"] != expected_prev:
        return (f"entry {entry_id} does not follow entry {entry_id - 1}: an entry was deleted, inserted "
                "or moved, or the one before it was rewritten")
    if entry_hash(str(row["prev_hash"]), row) != row["entry_hash"]:
        return f"entry {entry_id} was changed after it was written (its content no longer matches its hash)"
    return None


def verify_chain(conn: Connection, anchors_path: Path | None = None, *,
                 max_unanchored: int | None = None) -> VerifyResult:
    """Verify the whole chain in the database, and every anchor in ``anchors_path`` (default: the hub's);
    with ``max_unanchored``, fail when more entries than that stand after the newest anchor."""
    # Anchors first: one written while we read must refer to an entry our snapshot already holds.
    path = anchors_path or default_anchors_path()
    try:
        anchors = read_anchors(path)
    except ValueError as error:
        return VerifyResult(False, 0, None, str(error))
    rows = conn.execution_options(yield_per=5_000).execute(_ENTRIES).mappings()
    return check_chain(rows, anchors, max_unanchored)


def anchor_head(conn: Connection, path: Path | None = None) -> Anchor | None:
    """Append the head of every lane to the anchors file (fsynced); returns lane 0's (the first lane's)
    anchor, None when the log is empty.

    The chain is verified first, so a tampered head is never anchored as if it were genuine.
    """
    path = path or default_anchors_path()
    result = verify_chain(conn, path)
    if not result.ok:
        raise RuntimeError(f"audit chain broken at entry {result.first_break}: {result.reason}; not anchoring")
    heads = conn.execute(text(f"""
        SELECT h.entry_id, h.entry_hash FROM generate_series(0, {LANES - 1}) AS lane
        CROSS JOIN LATERAL (SELECT e.entry_id, e.entry_hash FROM audit.entry e
                            WHERE e.entry_id > lane * {LANE_SPAN} AND e.entry_id <= (lane + 1) * {LANE_SPAN}
                            ORDER BY e.entry_id DESC LIMIT 1) AS h
        ORDER BY h.entry_id""")).all()
    if not heads:
        return None
    at = datetime.now(UTC).isoformat(timespec="seconds")
    anchors = [Anchor(int(head.entry_id), str(head.entry_hash), at) for head in heads]
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_APPEND: never rewrite what is there. (Make the file append-only on disk too: chattr +a.)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, "".join(f"{a.entry_id},{a.entry_hash},{a.anchored_at}\n" for a in anchors).encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    return anchors[0]


def append(conn: Connection, *, username: str, role: str | None, action: str, cp_id: str | None = None,
           purpose: str | None = None, detail: Mapping[str, Any] | None = None) -> int:
    """Append one entry through ``audit.append`` (e.g. ``sign_in``, ``sign_in_failed``); returns its id.

    ``role`` None (a name no user has) is logged as ``unknown``.

    ``detail`` holds counts and codes only, never a child's name, date of birth, address or identifier.
    """
    return int(conn.execute(
        text("SELECT audit.append(:u, :r, :a, :c, :p, CAST(:d AS jsonb))"),
        {"u": username, "r": role, "a": action, "c": cp_id, "p": purpose,
         "d": json.dumps(dict(detail or {}))}).scalar_one())
