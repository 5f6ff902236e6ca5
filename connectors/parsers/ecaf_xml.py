"""Streaming reader for the eCAF feed: Common Assessment notifications (XML).

The hardened parser of ``xml_safety``: entities, DTDs and the network are off and any DOCTYPE
rejects the file. One ``Notification`` (a child of the
root ``CAFNotifications``) is one row, read and then freed, so memory stays flat in the file size.

The hub records that an assessment exists and who to contact, never its content: only the elements
the spec names are read. Anything else in a notification (``AssessmentText``, ``Notes``, needs,
outcomes) is skipped unread and named in ``dropped``; an unknown element directly under the root is
skipped the same way and named in the file's ``dropped``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from connectors.parsers import FileRejected, ParsedRow
from connectors.parsers.xml_safety import Shape, check_root, free, localname, read_shape, xml_events

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
    events = xml_events(stream)
    for event, element in events:
        if event == "start":  # the first start is the root
            check_root(element, ROOT)
            ecaf = EcafFile(rows=iter(()))
            ecaf.rows = _notifications(events, ecaf.dropped)
            return ecaf
    raise FileRejected("not well-formed XML: no root element")


def _notifications(events: Iterator[tuple[str, Any]], file_dropped: list[str]) -> Iterator[ParsedRow]:
    depth = 1  # inside the root; an element ending back at depth 1 is one of the root's children
    row_number = 0
    for event, element in events:
        if event == "start":
            depth += 1
            continue
        depth -= 1
        if depth != 1:
            continue  # part of a notification (read with it), or the root's own end
        name = localname(element)
        if name == RECORD:
            row_number += 1
            dropped: list[str] = []
            values = read_shape(element, NOTIFICATION, "", dropped)
            yield ParsedRow(row_number=row_number, values=values, dropped=dropped)
        else:
            file_dropped.append(name)
        free(element)
