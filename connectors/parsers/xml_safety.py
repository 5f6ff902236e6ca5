"""What every XML feed reader shares: a hardened streaming parser, the root check, the spec-shape
reader and freeing what has been read.

lxml's ``iterparse`` runs with entities, DTD loading and the network off, and any DOCTYPE rejects the
file at its root: feeds never need one, and it is how external-entity and entity-expansion attacks
arrive (``docs/stack-notes.md``). Only elements a spec shape names are read; others are skipped
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


def xml_events(stream: IO[bytes], tags: tuple[str, ...] | None = None) -> Iterator[tuple[str, Any]]:
    """Start/end events of a hardened parser; malformed XML becomes ``FileRejected``.

    With ``tags`` only those elements' events reach Python (lxml filters them in C, which halves the
    cost of a large file); the tree is still built whole, so a reader frees what it has read.
    """
    yield from XmlEvents(stream, tags)


class XmlEvents:
    """The events of ``xml_events``; ``root`` is the document's root once the file has been read."""

    def __init__(self, stream: IO[bytes], tags: tuple[str, ...] | None = None) -> None:
        self._parser = etree.iterparse(
            stream, events=("start", "end"), tag=tags, resolve_entities=False, no_network=True,
            load_dtd=False, huge_tree=False, remove_comments=True, remove_pis=True,
        )

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        try:
            yield from self._parser
        except etree.XMLSyntaxError as exc:
            raise FileRejected(syntax_reason(exc)) from None

    @property
    def root(self) -> Any:
        """The root element (None before it is read)."""
        return self._parser.root


def syntax_reason(exc: etree.XMLSyntaxError) -> str:
    """Why the XML is not well formed, as a sender can act on it.

    An undefined entity makes libxml2 give up with a misleading last message ("no element found",
    "Start tag expected"); its first fatal error says what happened, so that one is reported.
    """
    for entry in exc.error_log:
        if entry.type_name == "ERR_UNDECLARED_ENTITY":
            return (f"not well-formed XML: line {entry.line} uses an entity that is not defined (feed files may "
                    "use only &amp; &lt; &gt; &quot; &apos; and character references)")
    return f"not well-formed XML: {exc.msg}"


def check_root(element: Any, expected: str) -> None:
    """Refuse a DOCTYPE (before any entity is used) and a root element other than ``expected``."""
    if element.getroottree().docinfo.doctype:
        raise FileRejected("a DOCTYPE or entity declaration is not allowed in a feed file")
    if localname(element) != expected:
        raise FileRejected(f"root element is {localname(element)!r}, expected {expected!r}")


def read_shape(element: Any, shape: Shape, path: str, dropped: list[str]) -> dict[str, Any]:
    """Spec fields of ``element`` as nested dicts and lists; other element names go to ``dropped``."""
    out: dict[str, Any] = {}
    for child in element:
        tag = child.tag
        if not isinstance(tag, str):  # comments, processing instructions, unresolved entities
            continue
        # Most feeds use no namespace: a plain name needs no further look (this loop runs for every element).
        name = localname(child) if ("}" in tag or ":" in tag) else tag
        sub = shape.get(name, ...)
        if sub is None:
            text = child.text
            out[name] = (text.strip() or None) if text is not None else None
        elif sub is ...:
            dropped.append(f"{path}/{name}" if path else name)
        elif isinstance(sub, tuple):
            out.setdefault(name, []).append(read_shape(child, sub[0], f"{path}/{name}" if path else name, dropped))
        else:
            out[name] = read_shape(child, sub, f"{path}/{name}" if path else name, dropped)
    return out


def free(element: Any) -> None:
    """Release an element that has been read, and any earlier siblings the tree still holds."""
    element.clear()
    parent = element.getparent()
    while element.getprevious() is not None and parent is not None:
        del parent[0]
