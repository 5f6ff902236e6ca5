"""The CSV feeds: GP registrations, Connexions and social care (ICS), one file per LA each.

Column lists are the feed spec's, in its order. With ``case_note_columns`` three columns of case
information are appended, which the hub must drop (and say so in the receipt).
"""

from __future__ import annotations

import csv
from datetime import timedelta
from random import Random

from tools.synthetic import names
from tools.synthetic.dropzone import FeedFile, RowWriter
from tools.synthetic.idgen import Weighted, below, between, choose
from tools.synthetic.population import Neighbourhood
from tools.synthetic.rows import Conventions, LaFeed, date_between, person_for

GP_COLUMNS = (
    "nhs_number", "family_name", "given_name", "other_given_names", "date_of_birth", "gender",
    "address_line_1", "address_line_2", "address_line_3", "address_line_4", "postcode", "practice_code",
    "practice_name", "practice_phone", "registration_date", "deregistration_date", "deregistration_reason",
    "restricted", "record_action",
)
CONNEXIONS_COLUMNS = (
    "client_id", "upn", "uln", "family_name", "given_name", "date_of_birth", "gender", "address_line_1",
    "address_line_2", "town", "postcode", "la_code", "adviser_name", "adviser_phone", "adviser_email",
    "involvement_start", "involvement_end", "consent_extend_to_19",
)
ICS_COLUMNS = (
    "event_id", "event", "event_date", "la_code", "nhs_number", "upn", "family_name", "given_name",
    "date_of_birth", "gender", "address_line_1", "town", "postcode", "worker_name", "team_name",
    "worker_phone", "worker_email", "service_type", "consent_sensitive", "lead_professional", "extend_to_25",
)
CASE_NOTE_COLUMNS = ("notes", "assessment_text", "diagnosis")
SENSITIVE_SERVICES = frozenset(("sexual_health", "mental_health", "substance_misuse"))
ICS_SERVICES = Weighted(
    ("social_care", "youth_offending", "sexual_health", "mental_health", "substance_misuse", "other"),
    (55, 10, 7, 12, 5, 11),
)
# Youth justice starts at 10 (the age of criminal responsibility); sexual health and substance
# misuse services for children see teenagers.
ICS_SERVICE_MIN_AGE = {"youth_offending": 10, "sexual_health": 13, "substance_misuse": 12, "mental_health": 4}


def _yn(flag: bool) -> str:
    return "Y" if flag else "N"


class CsvFeed(LaFeed):
    """A per-LA CSV file with the spec's header row."""

    columns: tuple[str, ...] = ()

    def start(self, out: FeedFile) -> None:
        """Header row (plus the case-note columns when asked for)."""
        self.writer: RowWriter = csv.writer(out.handle)
        header = self.columns + (CASE_NOTE_COLUMNS if self.options.case_note_columns else ())
        self.writer.writerow(header)

    def emit(self, row: list[str], rng: Random, key: str, child_id: str, fault: str) -> None:
        """Write one data row and record it in the ground truth."""
        out = self.file()
        if self.options.case_note_columns:
            notes = choose(rng, names.CASE_NOTES)
            row += [notes, choose(rng, names.ASSESSMENT_TEXT), choose(rng, names.DIAGNOSES)]
        self.writer.writerow(row)
        out.record(key, child_id, fault)


class GpFeed(CsvFeed):
    """GP registrations from the LA's CCG: adds and updates, a few deregistrations."""

    feed = "gp"
    columns = GP_COLUMNS

    @property
    def sender(self) -> str:
        """A CCG-style code, e.g. ``14C``."""
        return self.ctx.la.ccg_code

    def add(self, nb: Neighbourhood) -> None:
        """One row per registered child; moved families often still have their old address here."""
        rng, faults = self.streams(nb)
        conv = Conventions.draw(self.options.seed, self.feed, self.sender, 0.35, 0.5, 0.3)
        as_of = self.options.as_of
        for child in nb.children:
            if not child.gp_registered:
                continue
            household = child.household
            address = household.address_known_to(0.75)
            person = person_for(child, address, conv, nhs=True, upn=False, uln=False)
            fault = faults.maybe(person, child.dob, address.postcode)
            lines = [line for line in (address.line1, address.locality, address.town, address.county) if line]
            lines += [""] * (4 - len(lines))
            first = child.dob + timedelta(days=14)
            early = first + timedelta(days=between(rng, 0, 90))
            registered = early if early < as_of and rng.random() < 0.7 else date_between(rng, first, as_of)
            roll = rng.random()
            dereg_date = reason = ""
            if roll < 0.02:
                action = "deregister"
                dereg_date = date_between(rng, registered, as_of - timedelta(days=1)).isoformat()
                reason = "death" if roll < 0.0005 else "left_england" if roll < 0.009 else "other"
            else:
                action = "update" if roll < 0.25 else "add"
            practice = household.practice
            self.emit(
                [person.nhs, person.family, person.given, person.middle, person.dob, person.gender, *lines,
                 person.postcode, practice.code, practice.name, practice.phone, registered.isoformat(),
                 dereg_date, reason, _yn(household.restricted), action],
                rng, person.nhs, child.child_id, fault,
            )


class ConnexionsFeed(CsvFeed):
    """Young people aged 13-19 known to the LA's Connexions service (a full snapshot)."""

    feed = "connexions"
    columns = CONNEXIONS_COLUMNS

    def add(self, nb: Neighbourhood) -> None:
        """About a third of 13-19-year-olds, each with a personal adviser."""
        rng, faults = self.streams(nb)
        conv = Conventions.draw(self.options.seed, self.feed, self.sender, 0.1, 0.3, 0.1)
        as_of = self.options.as_of
        for child in nb.children:
            if not 13 <= child.age <= 19 or child.care_leaver or rng.random() >= 0.33:
                continue
            address = child.household.address_known_to(0.25)
            person = person_for(child, address, conv, nhs=False, upn=True, uln=True)
            fault = faults.maybe(person, child.dob, address.postcode)
            client_id = f"CX{self.ctx.la.code}{self.next_serial():06d}"
            adviser = self.ctx.advisers[below(rng, len(self.ctx.advisers))]
            thirteenth = child.dob + timedelta(days=int(13 * 365.25))
            yesterday = as_of - timedelta(days=1)
            start = date_between(rng, max(thirteenth, as_of - timedelta(days=4 * 365)), yesterday)
            end = date_between(rng, start, yesterday).isoformat() if rng.random() < 0.2 else ""
            consent = child.age >= 18 and rng.random() < (0.5 if child.age == 18 else 0.8)
            self.emit(
                [client_id, person.upn, person.uln, person.family, person.given, person.dob, person.gender,
                 address.line1, address.locality, address.town, person.postcode, self.ctx.la.code,
                 adviser.name, adviser.phone, adviser.email, start.isoformat(), end, _yn(consent)],
                rng, client_id, child.child_id, fault,
            )


class IcsFeed(CsvFeed):
    """Social care involvement: open and close events, some for sensitive services."""

    feed = "ics"
    columns = ICS_COLUMNS

    def add(self, nb: Neighbourhood) -> None:
        """About 3% of children, plus most care leavers (who may stay to 25 with consent)."""
        rng, faults = self.streams(nb)
        conv = Conventions.draw(self.options.seed, self.feed, self.sender, 0.2, 0.2, 0.2)
        as_of = self.options.as_of
        for child in nb.children:
            chosen = rng.random() < (0.85 if child.care_leaver else 0.03 if child.age < 18 else 0.0)
            if not chosen:
                continue
            if child.care_leaver:
                service, team = "social_care", names.LEAVING_CARE_TEAM
            else:
                service = ICS_SERVICES.pick(rng)
                if child.age < ICS_SERVICE_MIN_AGE.get(service, 0):
                    service = "social_care" if rng.random() < 0.8 else "other"
                team = choose(rng, names.ICS_TEAMS[service])
            worker = self.ctx.workers[below(rng, len(self.ctx.workers))]
            sensitive = service in SENSITIVE_SERVICES
            consent = sensitive and rng.random() < 0.6
            lead = rng.random() < 0.4
            extend = child.care_leaver and rng.random() < 0.85
            opened = date_between(rng, max(child.dob, as_of - timedelta(days=730)), as_of - timedelta(days=1))
            events = [("open", opened)]
            if rng.random() < 0.3:
                events.append(("close", date_between(rng, opened, as_of - timedelta(days=1))))
            address = child.household.address_known_to(0.25)
            for event, when in events:
                known_nhs, known_upn = rng.random() < 0.85, rng.random() < 0.5
                person = person_for(child, address, conv, nhs=known_nhs, upn=known_upn, uln=False)
                fault = faults.maybe(person, child.dob, address.postcode)
                event_id = f"ICS{self.ctx.la.code}-{self.next_serial():07d}"
                self.emit(
                    [event_id, event, when.isoformat(), self.ctx.la.code, person.nhs, person.upn,
                     person.family, person.given, person.dob, person.gender, address.line1, address.town,
                     person.postcode, worker.name, team, worker.phone, worker.email, service, _yn(consent),
                     _yn(lead), _yn(extend)],
                    rng, event_id, child.child_id, fault,
                )
