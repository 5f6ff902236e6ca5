"""eCAF feed: Common Assessment Framework notifications, one XML file per LA.

A notification says an assessment exists and who leads it; with ``case_note_columns`` it also
carries ``Notes`` and ``AssessmentText`` (the content the hub must never keep).
"""

from __future__ import annotations

from datetime import timedelta
from xml.sax.saxutils import escape

from tools.synthetic import names
from tools.synthetic.dropzone import FeedFile
from tools.synthetic.idgen import below, choose
from tools.synthetic.population import Neighbourhood
from tools.synthetic.rows import Conventions, LaFeed, date_between, person_for

_SCHOOL_ROLES = frozenset(
    ("Class Teacher", "Special Educational Needs Coordinator", "Learning Mentor",
     "Designated Safeguarding Lead")
)
_C = "      "  # indentation inside Child and Practitioner


class EcafFeed(LaFeed):
    """About 3% of under-18s have a CAF: completed, then perhaps updated and closed."""

    feed = "ecaf"
    ext = "xml"

    def start(self, out: FeedFile) -> None:
        """XML declaration and the root element."""
        out.handle.write('<?xml version="1.0" encoding="UTF-8"?>\n<CAFNotifications>\n')

    def finish(self, out: FeedFile) -> None:
        """Close the root element."""
        out.handle.write("</CAFNotifications>\n")

    def add(self, nb: Neighbourhood) -> None:
        """One Notification per event, in the order the events happened for each child."""
        rng, faults = self.streams(nb)
        conv = Conventions.draw(self.options.seed, self.feed, self.sender, 0.0, 0.2, 0.1)
        as_of = self.options.as_of
        yesterday = as_of - timedelta(days=1)
        practitioners = self.ctx.practitioners
        for child in nb.children:
            if child.age >= 18 or rng.random() >= 0.03:
                continue
            staff = practitioners[below(rng, len(practitioners))]
            organisation = staff.organisation
            if staff.role in _SCHOOL_ROLES and child.school is not None:
                organisation = child.school.name
            lead = rng.random() < 0.6
            completed = date_between(rng, max(child.dob, as_of - timedelta(days=730)), yesterday)
            events = [("completed", completed)]
            if rng.random() < 0.4:
                events.append(("updated", date_between(rng, completed, yesterday)))
            if rng.random() < 0.3:
                events.append(("closed", date_between(rng, events[-1][1], yesterday)))
            address = child.household.address_known_to(0.25)
            known_nhs = rng.random() < 0.7
            known_upn = rng.random() < 0.6
            lines = [line for line in (address.line1, address.locality, address.town) if line]
            address_xml = "".join(
                f"{_C}  <AddressLine{n}>{escape(line)}</AddressLine{n}>\n"
                for n, line in enumerate(lines, start=1)
            )
            practitioner_xml = (
                f"    <Practitioner>\n{_C}<Name>{escape(staff.name)}</Name>\n"
                f"{_C}<Role>{escape(staff.role)}</Role>\n"
                f"{_C}<Organisation>{escape(organisation)}</Organisation>\n{_C}<Phone>{staff.phone}</Phone>\n"
                f"{_C}<Email>{escape(staff.email)}</Email>\n"
                f"{_C}<LeadProfessional>{'true' if lead else 'false'}</LeadProfessional>\n"
                "    </Practitioner>\n"
            )
            for event, when in events:
                person = person_for(child, address, conv, nhs=known_nhs, upn=known_upn, uln=False)
                fault = faults.maybe(person, child.dob, address.postcode)
                notification_id = f"CAF{self.ctx.la.code}-{self.next_serial():06d}"
                parts = [
                    f"  <Notification>\n    <NotificationId>{notification_id}</NotificationId>\n"
                    f"    <Event>{event}</Event>\n    <EventDate>{when.isoformat()}</EventDate>\n"
                    "    <Child>\n"
                ]
                if person.nhs:
                    parts.append(f"{_C}<NHSNumber>{escape(person.nhs)}</NHSNumber>\n")
                if person.upn:
                    parts.append(f"{_C}<UPN>{escape(person.upn)}</UPN>\n")
                parts.append(
                    f"{_C}<FamilyName>{escape(person.family)}</FamilyName>\n"
                    f"{_C}<GivenName>{escape(person.given)}</GivenName>\n"
                    f"{_C}<DateOfBirth>{escape(person.dob)}</DateOfBirth>\n{_C}<Gender>{escape(person.gender)}</Gender>\n"
                    f"{_C}<Address>\n{address_xml}{_C}</Address>\n{_C}<Postcode>{escape(person.postcode)}</Postcode>\n"
                    f"    </Child>\n{practitioner_xml}"
                )
                if self.options.case_note_columns:
                    parts.append(
                        f"    <Notes>{escape(choose(rng, names.CASE_NOTES))}</Notes>\n"
                        f"    <AssessmentText>{escape(choose(rng, names.ASSESSMENT_TEXT))}</AssessmentText>\n"
                    )
                parts.append("  </Notification>\n")
                out = self.file()
                out.handle.write("".join(parts))
                out.record(notification_id, child.child_id, fault)
