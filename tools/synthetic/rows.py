"""What every feed writer shares: run options, per-LA file handling, sender conventions, and
turning a true child into the identifying fields of one row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from random import Random

from tools.synthetic.dropzone import DropZone, FeedFile
from tools.synthetic.faults import FaultInjector, RowPerson
from tools.synthetic.idgen import between
from tools.synthetic.places import Address, LaContext, ascii_fold
from tools.synthetic.population import Child, Neighbourhood


@dataclass(frozen=True, slots=True)
class Options:
    """The knobs of one generation run that writers need."""

    seed: int
    as_of: date
    fault_rate: float
    case_fields: bool
    case_note_columns: bool


@dataclass(frozen=True, slots=True)
class Conventions:
    """How one sender's system writes values: consistent within a file, varied between senders.

    These are not faults: real systems upper-case surnames (as the Spine does), drop accents, or
    store postcodes without the space. A linker has to standardise them all the same.
    """

    upper_family: bool
    ascii_only: bool
    compact_postcode: bool

    @classmethod
    def draw(
        cls, seed: int, feed: str, sender: str, upper: float, ascii_: float, compact: float
    ) -> Conventions:
        """The conventions of ``sender``'s system for ``feed`` (stable for a seed)."""
        rng = Random(f"{seed}/conventions/{feed}/{sender}")
        return cls(rng.random() < upper, rng.random() < ascii_, rng.random() < compact)


def person_for(
    child: Child, address: Address, conv: Conventions, *, nhs: bool, upn: bool, uln: bool
) -> RowPerson:
    """The identifying fields of ``child`` as this sender writes them, before any fault."""
    given, middle, family = child.given, child.middle, child.family
    if conv.ascii_only:
        given, middle, family = ascii_fold(given), ascii_fold(middle), ascii_fold(family)
    if conv.upper_family:
        family = family.upper()
    code = address.postcode.replace(" ", "") if conv.compact_postcode else address.postcode
    return RowPerson(
        given=given, middle=middle, family=family, former_family=child.former_family,
        dob=child.dob.isoformat(), gender=child.gender, postcode=code, nhs=child.nhs if nhs else "",
        upn=child.upn if upn else "", uln=child.uln if uln else "",
    )


def date_between(rng: Random, first: date, last: date) -> date:
    """A uniformly random day from ``first`` to ``last`` (``first`` if the range is empty)."""
    span = (last - first).days
    return first + timedelta(days=between(rng, 0, span)) if span > 0 else first


class LaFeed:
    """A per-LA file for one feed (gp, connexions, ecaf, ics), opened on its first row."""

    feed = ""
    ext = "csv"

    def __init__(self, zone: DropZone, ctx: LaContext, options: Options) -> None:
        self.zone = zone
        self.ctx = ctx
        self.options = options
        self._file: FeedFile | None = None

    @property
    def sender(self) -> str:
        """The sender id in this feed's file names (the LA code unless a subclass says otherwise)."""
        return self.ctx.la.code

    def streams(self, nb: Neighbourhood) -> tuple[Random, FaultInjector]:
        """Independent random streams for content and faults, so a fault rate never shifts content."""
        base = f"{self.options.seed}/{self.feed}/{self.ctx.la.code}/{nb.index}"
        injector = FaultInjector(self.options.fault_rate, Random(base + "/faults"), self.options.as_of)
        return Random(base), injector

    def next_serial(self) -> int:
        """The LA's next record number in this feed: client, event and notification ids count up per LA."""
        self.ctx.serials[self.feed] += 1
        return self.ctx.serials[self.feed]

    def file(self) -> FeedFile:
        """The LA's file, opened (with its header) on first use."""
        if self._file is None:
            self._file = self.zone.open(self.feed, self.sender, self.ext)
            self.start(self._file)
        return self._file

    def start(self, out: FeedFile) -> None:
        """Write what precedes the first row (a CSV header, an XML root)."""

    def finish(self, out: FeedFile) -> None:
        """Write what follows the last row."""

    def add(self, nb: Neighbourhood) -> None:
        """Write the rows this feed holds about the neighbourhood's children."""
        raise NotImplementedError

    def close(self) -> None:
        """Complete the file, if any row was written."""
        if self._file is not None:
            self.finish(self._file)
            self._file.close()
            self._file = None
