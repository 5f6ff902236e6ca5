"""What every XML feed reader shares: a hardened streaming parser, the root check, the spec-shape
reader and freeing what has been read.

lxml's ``iterparse`` runs with entities, DTD loading and the network off, and any DOCTYPE rejects the
file at its root: feeds never need one, and it is how external-entity and entity-expansion attacks
arrive (``shared/STACK-NOTES.md``). Only elements a spec shape names are read; others are skipped
unread and only their names reported, so a receipt can say what was dropped without storing it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

from lxml import etree

from connectors.parsers import FileRejected

# A spec layout: a leaf is None, a group is a dict, a repeated group is a 1-tuple holding its shape.
Shape = dict[str, Any]


def localname(element: Any) -> str:
    """An element's name without namespace; an undeclared prefix (``<a:b/>``) rejects the file."""
    tag = str(element.tag)
    if tag.startswith("{"):
        return tag.rsplit("}", 1)[1]
    if ":" in tag:
        # libxml2 only warns about a prefix with no declaration; the file is not namespace-well-formed.
        raise FileRejected(f"element {tag[:80]!r} uses an undeclared namespace prefix")
    return tag


def xml_events(stream: IO[bytes]) -> Iterator[tuple[str, Any]]:
    """Start/end events of a hardened parser; malformed XML becomes ``FileRejected``."""
    parser = etree.iterparse(
        stream, events=("start", "end"), resolve_entities=False, no_network=True, load_dtd=False,
        huge_tree=False, remove_comments=True, remove_pis=True,
    )
    try:
        yield from parser
    except etree.XMLSyntaxError as exc:
        raise FileRejected(f"not well-formed XML: {exc.msg}") from None


def check_root(element: Any, expected: str) -> None:
    """Refuse a DOCTYPE (before any entity is used) and a root element other than ``expected``."""
    if element.getroottree().docinfo.doctype:
        raise FileRejected("a DOCTYPE or entity declaration is not allowed in a feed file")
    if localname(element) != expected:
        raise FileRejected(f"root element is {localname(element)!r}, expected {expected!r}")


def _text(element: Any) -> str | None:
    text = element.text
    if text is None:
        return None
    return text.strip() or None


def read_shape(element: Any, shape: Shape, path: str, dropped: list[str]) -> dict[str, Any]:
    """Spec fields of ``element`` as nested dicts and lists; other element names go to ``dropped``."""
    out: dict[str, Any] = {}
    for child in element:
        if not isinstance(child.tag, str):  # comments, processing instructions, unresolved entities
            continue
        name = localname(child)
        sub = shape.get(name, ...)
        where = f"{path}/{name}" if path else name
        if sub is ...:
            dropped.append(where)
        elif sub is None:
            out[name] = _text(child)
        elif isinstance(sub, tuple):
            out.setdefault(name, []).append(read_shape(child, sub[0], where, dropped))
        else:
            out[name] = read_shape(child, sub, where, dropped)
    return out


def free(element: Any) -> None:
    """Release an element that has been read, and any earlier siblings the tree still holds."""
    element.clear()
    parent = element.getparent()
    while element.getprevious() is not None and parent is not None:
        del parent[0]
