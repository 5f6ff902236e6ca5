"""School feed: one Common Transfer File (CTF) per school, the school's full roll.

Built with plain string templates and ``xml.sax.saxutils.escape`` because this is the hot path
(most children are pupils, and a real CTF pupil is long). With ``case_fields`` each pupil also
carries what ContactPoint must never store (attainment, SEN, FSM, attendance, ethnicity...),
as real CTFs do; the hub has to read past it.
"""

from __future__ import annotations

from datetime import date
from random import Random
from xml.sax.saxutils import escape

from tools.synthetic import names
from tools.synthetic.dropzone import DropZone
from tools.synthetic.faults import FaultInjector
from tools.synthetic.idgen import between, choose
from tools.synthetic.places import Address, School
from tools.synthetic.population import Carer, Child, Neighbourhood, academic_year_start
from tools.synthetic.rows import Conventions, Options, person_for

_AS_TYPED = Conventions(upper_family=False, ascii_only=False, compact_postcode=False)
_P = "      "  # indentation of a Pupil's children
_TF = ("false", "true")


def write_school(zone: DropZone, school: School[Child], options: Options) -> None:
    """Write ``school``'s CTF (nothing if it has no pupils this run)."""
    if not school.pupils:
        return
    base = f"{options.seed}/school/{school.la_code}/{school.estab}"
    rng = Random(base)
    faults = FaultInjector(options.fault_rate, Random(base + "/faults"), options.as_of)
    out = zone.open("school", school.sender_id, "xml")
    start = academic_year_start(options.as_of)
    gender_tag = "Gender" if float(school.ctf_version) < 21 else "Sex"
    write = out.handle.write
    write(
        '<?xml version="1.0" encoding="UTF-8"?>\n<CTfile>\n  <Header>\n'
        "    <DocumentName>Common Transfer File</DocumentName>\n"
        f"    <CTFversion>{school.ctf_version}</CTFversion>\n"
        f"    <DateTime>{out.stamp:%Y-%m-%dT%H:%M:%S}</DateTime>\n"
        f"    <DocumentQualifier>{'full' if options.case_fields else 'partial'}</DocumentQualifier>\n"
        f"    <SupplierID>{escape(school.supplier)}</SupplierID>\n"
        "    <SourceSchool>\n"
        f"      <LEA>{school.la_code}</LEA>\n      <Estab>{school.estab:04d}</Estab>\n"
        f"      <URN>{school.urn}</URN>\n      <SchoolName>{escape(school.name)}</SchoolName>\n"
        f"      <AcademicYear>{start}/{start + 1}</AcademicYear>\n"
        "    </SourceSchool>\n  </Header>\n  <CTFpupilData>\n"
    )
    pupils = sorted(school.pupils, key=lambda c: (c.family, c.given, c.child_id))
    for child in pupils:
        parts: list[str] = []
        key, fault = _pupil(parts, child, school, rng, faults, options, start, gender_tag)
        write("".join(parts))
        out.record(key, child.child_id, fault)
    write("  </CTFpupilData>\n</CTfile>\n")
    out.close()
    school.pupils.clear()


def _pupil(
    parts: list[str], child: Child, school: School[Child], rng: Random, faults: FaultInjector, options: Options,
    start: int, gender_tag: str,
) -> tuple[str, str]:
    """Append one Pupil element; return its source key (the UPN as written) and its fault."""
    household = child.household
    address = household.address
    person = person_for(child, address, _AS_TYPED, nhs=False, upn=True, uln=bool(child.uln))
    fault = faults.maybe(person, child.dob, address.postcode)
    a = parts.append
    a("    <Pupil>\n")
    a(f"{_P}<UPN>{escape(person.upn)}</UPN>\n")
    if person.uln:
        a(f"{_P}<UniqueLearnerNumber>{person.uln}</UniqueLearnerNumber>\n")
    a(
        f"{_P}<Surname>{escape(person.family)}</Surname>\n{_P}<Forename>{escape(person.given)}</Forename>\n"
        f"{_P}<DOB>{escape(person.dob)}</DOB>\n{_P}<{gender_tag}>{escape(person.gender)}</{gender_tag}>\n"
    )
    basic: list[str] = []
    if person.middle:
        basic.append(f"<MiddleNames>{escape(person.middle)}</MiddleNames>")
    if rng.random() < 0.5 and person.family:
        basic.append(f"<PreferredSurname>{escape(person.family)}</PreferredSurname>")
    if person.former_family:
        basic.append(f"<FormerSurname>{escape(person.former_family)}</FormerSurname>")
    familiar = names.NICKNAMES.get(child.given)
    if familiar and rng.random() < 0.3:
        basic.append(f"<PreferredForename>{escape(familiar)}</PreferredForename>")
    looked_after = any(carer.relationship == "CAR" for carer in household.carers)
    if options.case_fields:
        basic.append(f"<Ethnicity>{choose(rng, names.ETHNICITY_CODES)}</Ethnicity>")
        basic.append(
            f"<Languages><Type><LanguageType>F</LanguageType><Language>{choose(rng, names.LANGUAGE_CODES)}"
            "</Language></Type></Languages>"
        )
        basic.append(f"<MedicalFlag>{_TF[rng.random() < 0.08]}</MedicalFlag>")
        if rng.random() < 0.04:
            code = choose(rng, names.DISABILITY_CODES)
            basic.append(f"<Disabilities><Disability>{code}</Disability></Disabilities>")
    if basic:
        a(f"{_P}<BasicDetails>\n{_P}  " + f"\n{_P}  ".join(basic) + f"\n{_P}</BasicDetails>\n")
    if options.case_fields:
        care = f"<CareAuthority>{school.la_code}</CareAuthority>" if looked_after else ""
        a(f"{_P}<LookedAfter><InCare>{_TF[looked_after]}</InCare>{care}</LookedAfter>\n")
        if rng.random() < 0.13:
            a(
                f"{_P}<SENhistory><SEN><StartDate>{start - between(rng, 0, 3)}-09-0{between(rng, 2, 8)}"
                f"</StartDate><SENprovision>{choose(rng, 'KKKE')}</SENprovision></SEN><SENneeds><SENneed>"
                f"<SENtypeRank>1</SENtypeRank><SENtype>{choose(rng, names.SEN_TYPES)}</SENtype></SENneed>"
                "</SENneeds></SENhistory>\n"
            )
    _address(parts, school, address, person.postcode)
    _contacts(parts, household.carers)
    if options.case_fields:
        _assessments(parts, child.school_age, start, rng)
    _history(parts, child, school, start, rng)
    if options.case_fields and rng.random() < 0.24:
        a(
            f"{_P}<FSMhistory><FSMreviewDate>{start}-09-01</FSMreviewDate><FSMinstance><FSMstartDate>"
            f"{start - between(rng, 0, 4)}-0{between(rng, 1, 9)}-1{between(rng, 0, 9)}</FSMstartDate>"
            "<UKcountry>ENG</UKcountry></FSMinstance></FSMhistory>\n"
        )
    a("    </Pupil>\n")
    return person.upn, fault


def _address(parts: list[str], school: School[Child], address: Address, postcode: str) -> None:
    a = parts.append
    a(f"{_P}<Address>\n")
    if school.bs7666:
        a(f"{_P}  <BS7666Address>\n")
        if address.saon:
            a(f"{_P}    <SAON>{escape(address.saon)}</SAON>\n")
        a(f"{_P}    <PAON>{escape(address.paon)}</PAON>\n{_P}    <Street>{escape(address.street)}</Street>\n")
        if address.locality:
            a(f"{_P}    <Locality>{escape(address.locality)}</Locality>\n")
        a(f"{_P}    <Town>{escape(address.town)}</Town>\n")
        if address.county:
            a(f"{_P}    <AdministrativeArea>{escape(address.county)}</AdministrativeArea>\n")
        a(f"{_P}    <PostTown>{escape(address.town.upper())}</PostTown>\n")
        a(f"{_P}    <UniquePropertyReferenceNumber>{address.uprn}</UniquePropertyReferenceNumber>\n")
        a(f"{_P}  </BS7666Address>\n")
    else:
        lines = [line for line in (address.line1, address.locality, address.town) if line]
        a(f"{_P}  <AddressLines>\n")
        for number, line in enumerate(lines, start=1):
            a(f"{_P}    <AddressLine{number}>{escape(line)}</AddressLine{number}>\n")
        a(f"{_P}  </AddressLines>\n")
        if address.county:
            a(f"{_P}  <County>{escape(address.county)}</County>\n")
    a(f"{_P}  <PostCode>{escape(postcode)}</PostCode>\n{_P}</Address>\n")


def _contacts(parts: list[str], carers: list[Carer]) -> None:
    if not carers:
        return
    a = parts.append
    a(f"{_P}<Contacts>\n")
    for order, carer in enumerate(carers, start=1):
        email = f"\n{_P}    <Email>{escape(carer.email)}</Email>" if carer.email else ""
        a(
            f"{_P}  <Contact>\n{_P}    <Order>{order}</Order>\n{_P}    <Title>{carer.title}</Title>\n"
            f"{_P}    <Surname>{escape(carer.family)}</Surname>\n"
            f"{_P}    <Forename>{escape(carer.given)}</Forename>\n"
            f"{_P}    <Relationship>{carer.relationship}</Relationship>\n"
            f"{_P}    <Responsibility>{_TF[carer.responsibility]}</Responsibility>\n"
            f"{_P}    <AddressAsPupil>{_TF[carer.lives_with]}</AddressAsPupil>\n"
            f"{_P}    <Phones><Phone><PhoneNo>{carer.phone}</PhoneNo></Phone></Phones>{email}\n"
            f"{_P}  </Contact>\n"
        )
    a(f"{_P}</Contacts>\n")


def _result(year: int, stage: str, subject: str, method: str, component: str, result: object) -> str:
    return (
        f"{_P}  <StageAssessment><Locale>EN</Locale><Year>{year}</Year><Stage>{stage}</Stage>"
        f"<Subject>{subject}</Subject><Method>{method}</Method><Component>{component}</Component>"
        f"<ResultStatus>R</ResultStatus><ResultQualifier>NC</ResultQualifier><Result>{result}</Result>"
        "</StageAssessment>\n"
    )


def _assessments(parts: list[str], school_age: int, start: int, rng: Random) -> None:
    """Attendance last year and the statutory assessments a pupil of this age has sat."""
    a = parts.append
    if school_age >= 5:
        possible = between(rng, 300, 330)
        a(
            f"{_P}<Attendance><YearData><Year>{start - 1}</Year>"
            f"<SessionsPossible>{possible}</SessionsPossible>"
            f"<SessionsAuthorised>{between(rng, 0, 25)}</SessionsAuthorised><SessionsUnauthorised>"
            f"{between(rng, 0, 4) if rng.random() < 0.9 else between(rng, 5, 60)}</SessionsUnauthorised>"
            "</YearData></Attendance>\n"
        )
    results: list[str] = []
    if school_age >= 6:
        results.append(_result(start - school_age + 6, "PHON", "PHO", "TT", "MARK", between(rng, 18, 40)))
    if school_age >= 9:
        results.append(_result(start - school_age + 9, "MTC", "MAT", "TT", "MARK", between(rng, 5, 25)))
    if school_age >= 11:
        year = start - school_age + 11
        results.append(_result(year, "KS2", "MAT", "TT", "SCALED", between(rng, 85, 120)))
        results.append(_result(year, "KS2", "READ", "TT", "SCALED", between(rng, 85, 120)))
    if school_age >= 16:
        results.append(_result(start, "KS4", "MAT", "EX", "GCSE", between(rng, 1, 9)))
    if results:
        a(f"{_P}<StageAssessments>\n" + "".join(results) + f"{_P}</StageAssessments>\n")


def _history(parts: list[str], child: Child, school: School[Child], start: int, rng: Random) -> None:
    reception = date(start - (child.school_age - 4), 9, between(rng, 2, 7))
    a = parts.append
    a(f"{_P}<SchoolHistory>\n")
    first = child.first_school
    if school.secondary and first is not None and first is not school:
        left = date(start - (child.school_age - 11), 7, between(rng, 18, 23))
        a(
            f"{_P}  <School><LEA>{first.la_code}</LEA><Estab>{first.estab:04d}</Estab><SchoolName>"
            f"{escape(first.name)}</SchoolName><EntryDate>{reception.isoformat()}</EntryDate>"
            f"<LeavingDate>{left.isoformat()}</LeavingDate></School>\n"
        )
        entry = date(left.year, 9, between(rng, 2, 7))
    else:
        entry = reception
    a(
        f"{_P}  <School><LEA>{school.la_code}</LEA><Estab>{school.estab:04d}</Estab><SchoolName>"
        f"{escape(school.name)}</SchoolName><EntryDate>{entry.isoformat()}</EntryDate></School>\n"
    )
    a(f"{_P}</SchoolHistory>\n")


def write_schools(zone: DropZone, nb: Neighbourhood, options: Options) -> None:
    """Every school of the neighbourhood, in establishment-number order."""
    for school in sorted(nb.schools, key=lambda s: s.estab):
        write_school(zone, school, options)
