"""Streaming reader for the eCAF feed: Common Assessment notifications (XML).

The hardened parser of ``xml_safety``: entities, DTDs and the network are off and any DOCTYPE
rejects the file. One ``Notification`` (a child of the
root ``CAFNotifications``) is one row, read and then freed, so memory stays flat in the file size.

The hub records that an assessment exists and who to contact, never its content: only the elements
the spec names are read. Anything else in a notification (``AssessmentText``, ``Notes``, needs,
outcomes) is skipped unread and named in ``dropped``; an unknown element directly under the root is
skipped the same way and named in the file's ``dropped``.

Only ``Notification`` events reach Python (lxml filters the rest in C). Root-level strangers are named
from the tree when the next notification is read (or at the end), and freed with it: they stay in
memory until then, bounded by the file's size limit, where every notification is freed as it is read.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import chain
from typing import IO, Any

from connectors.parsers import FileRejected, ParsedFile, ParsedRow
from connectors.parsers.xml_safety import Shape, XmlEvents, check_root, free, localname, read_shape

ROOT = "CAFNotifications"
RECORD = "Notification"
NOTIFICATION: Shape = {
    "NotificationId": None, "Event": None, "EventDate": None,
    "Child": {
        "NHSNumber": None, "UPN": None, "FamilyName": None, "GivenName": None, "DateOfBirth": None,
        "Gender": None, "Address": {f"AddressLine{i}": None for i in range(1, 6)}, "Postcode": None,
    },
    "Practitioner": {
        "Name": None, "Role": None, "Organisation": None, "Phone": None, "Email": None, "LeadProfessional": None,
    },
}


@dataclass
class EcafFile:
    """An eCAF file being read: its notifications one at a time.

    ``dropped`` names root-level elements that are not notifications; it is complete once ``rows``
    has been read to the end.
    """

    rows: Iterator[ParsedRow]
    dropped: list[str] = field(default_factory=list)


def read_ecaf(stream: IO[bytes]) -> EcafFile:
    """Open an eCAF file: check its root now, then hand back the notifications lazily.

    Raises ``FileRejected`` (now or while the rows are read) for a DOCTYPE, a wrong root or XML that
    is not well formed; the caller loads nothing of such a file.
    """
    # Only Notification events reach Python: the rest is read by libxml2 alone and named from the tree.
    events = XmlEvents(stream, tags=("{*}" + RECORD,))
    stream_events = iter(events)
    first = next(stream_events, None)
    root = first[1].getroottree().getroot() if first is not None else events.root
    if root is None:
        raise FileRejected("not well-formed XML: no root element")
    check_root(root, ROOT)
    ecaf = EcafFile(rows=iter(()))
    ecaf.rows = _notifications(chain([first] if first is not None else [], stream_events), root, ecaf.dropped)
    return ecaf


def _strangers(elements: Iterable[Any]) -> list[str]:
    """Names of root-level elements that are not notifications (a freed notification keeps its name)."""
    return [name for name in map(localname, elements) if name != RECORD]


def _notifications(events: Iterator[tuple[str, Any]], root: Any, file_dropped: list[str]) -> Iterator[ParsedRow]:
    row_number = 0
    for event, element in events:
        if event != "end" or element.getparent() is not root:
            continue  # a notification nested in another element is part of that element, skipped with it
        # The root-level elements since the previous notification, freed with this one below.
        file_dropped.extend(reversed(_strangers(element.itersiblings(preceding=True))))
        row_number += 1
        dropped: list[str] = []
        values = read_shape(element, NOTIFICATION, "", dropped)
        yield ParsedRow(row_number=row_number, values=values, dropped=dropped)
        free(element)
    file_dropped.extend(_strangers(root))  # those after the last notification


def read_ecaf_file(stream: IO[bytes], sender: str, columns: tuple[str, ...] = ()) -> ParsedFile:
    """An eCAF file for the loader: its notifications, judged in the sender's name (XML: no columns)."""
    ecaf = read_ecaf(stream)
    return ParsedFile(ecaf.rows, sender, ecaf.dropped)
