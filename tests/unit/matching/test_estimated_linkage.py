"""link-files on data the team never saw: a model estimated on the files given, and the evidence it adds."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import pytest

from matching.cluster import RecordKeys
from matching.features import features_frame
from matching.files import link_files, read_canonical
from matching.linkage import IdentifiersByGroup, link_frames
from matching.model import BUNDLED_MODEL, load_model, score_within, train
from matching.settings import ESTIMATED_VERSION, MODEL_VERSION, settings_dict, structure_of
from schemas.identifiers import normalise_nhs_number, normalise_upn
from tools.independent_population.generate import generate

pytestmark = pytest.mark.unit
COLUMNS = ("record_id", "given_name", "family_name", "date_of_birth", "gender", "postcode", "address_line_1",
           "nhs_number", "upn")


def _gammas(version: str) -> dict[str, dict[str, int]]:
    """Comparison → level label → gamma value (Splink numbers non-null levels from the bottom)."""
    out = {}
    for comparison in settings_dict("duckdb", version)["comparisons"]:
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        out[comparison["output_column_name"]] = {lv["label_for_charts"]: len(levels) - 1 - i
                                                 for i, lv in enumerate(levels)}
    return out


def test_the_estimated_structure_keeps_every_v1_level_at_its_gamma_so_one_set_of_rules_decides_both() -> None:
    v1, v2 = _gammas(MODEL_VERSION), _gammas(ESTIMATED_VERSION)
    for comparison, levels in v1.items():
        for label, gamma in levels.items():
            assert v2[comparison][label] == gamma, (comparison, label)
    added = {(c, label) for c, levels in v2.items() for label in levels if label not in v1.get(c, {})}
    assert ("forename", "given name is the other's family name (swapped)") in added
    assert ("household", "same house number and street, postcode missing or different") in added


def test_the_bundled_model_is_still_scored_in_its_own_structure() -> None:
    assert structure_of(load_model(BUNDLED_MODEL)) == MODEL_VERSION


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row.get(c, "") for c in COLUMNS})
    return path


@pytest.fixture(scope="module")
def population(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(tmp_path_factory.mktemp("independent"), children=1_500, seed=5).records.parent


def test_the_independent_population_follows_the_feed_spec_and_knows_its_twins(population: Path) -> None:
    with (population / "records.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    with (population / "truth.csv").open() as handle:
        truth = {r["record_id"]: r for r in csv.DictReader(handle)}
    assert set(truth) == {r["record_id"] for r in rows}
    clean = [r for r in rows if "identifier_typo" not in truth[r["record_id"]]["faults"]]
    assert all(normalise_nhs_number(r["nhs_number"]) for r in clean if r["nhs_number"])
    assert all(normalise_upn(r["upn"]) for r in clean if r["upn"])  # temporary UPNs included
    assert any(r["upn"][-1].isalpha() for r in rows if r["upn"])
    with (population / "children.csv").open() as handle:
        assert any(r["twin_of"] for r in csv.DictReader(handle))


def test_link_files_estimates_on_the_files_says_what_it_estimated_and_keeps_twins_apart(population: Path) -> None:
    linkage = link_files([population / "records.csv"])

    assert linkage.estimated is not None
    assert linkage.estimated["records"] > 1_500 and 0 < linkage.estimated["prior"] < 0.01
    assert "forename_formal+dob" in linkage.estimated["em_blocks"]
    assert isinstance(linkage.estimated["too_little_evidence"], list)
    with (population / "truth.csv").open() as handle:
        truth = {r["record_id"]: r for r in csv.DictReader(handle)}
    with (population / "children.csv").open() as handle:
        twin_of = {r["child_id"]: r["twin_of"] for r in csv.DictReader(handle) if r["twin_of"]}
    members: dict[str, list[str]] = defaultdict(list)
    for record, group in linkage.clustering.group_of.items():
        members[group].append(record)
    merged = [records for records in members.values() if len({truth[r]["child_id"] for r in records}) > 1]
    assert len(merged) <= len(members) * 0.002  # precision first
    for records in merged:
        kids = {truth[r]["child_id"] for r in records}
        if any(twin_of.get(k) in kids for k in kids):  # twins merge only through a sibling's copied identifier
            assert any("sibling_identifier" in truth[r]["faults"] for r in records)
    assert len(members) < len(truth) * 0.65  # most children's records were joined


def test_swapped_names_and_a_house_without_a_postcode_join_a_child_the_bundled_model_leaves_apart(
        tmp_path: Path, population: Path) -> None:
    with (population / "records.csv").open() as handle:
        rows = list(csv.DictReader(handle))[:600]
    child = {"given_name": "Abdirahman", "family_name": "Warsame", "date_of_birth": "2016-03-09", "gender": "M"}
    rows += [{**child, "record_id": "gp-1", "postcode": "B8 1QT", "address_line_1": "14 Alum Rock Road",
              "nhs_number": "9990000018"},
             {**child, "record_id": "school-1", "given_name": "Warsame", "family_name": "Abdirahman",
              "address_line_1": "14 Alum Rock Road"}]
    files = [_write(tmp_path / "records.csv", rows)]
    estimated = link_files(files)
    bundled = link_files(files, BUNDLED_MODEL)
    assert estimated.clustering.group_of["gp-1"] == estimated.clustering.group_of["school-1"]
    assert bundled.clustering.group_of["gp-1"] != bundled.clustering.group_of["school-1"]


def test_link_files_on_the_command_line_says_what_it_estimated(population: Path, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    from cli.main import main

    out = tmp_path / "clusters.csv"
    assert main(["link-files", str(population / "records.csv"), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "model estimated on" in printed and "u by random sampling, m by EM on forename_formal+dob" in printed
    assert "too little evidence" in printed
    with out.open() as handle:
        assert len(list(csv.DictReader(handle))) > 1_500


def _twins_and_a_typo(population: Path) -> list[dict[str, str]]:
    """Population rows, then same-sex twins (a GP record with an NHS number and a school record with a UPN
    each, one more of the second twin with no identifier), twins of whom one is known only by a record without
    an identifier, twins of whom one has a school record under her initial, and a child whose short name is
    mistyped."""
    with (population / "records.csv").open() as handle:
        rows = list(csv.DictReader(handle))[:600]
    home = {"family_name": "Wright", "date_of_birth": "2011-08-28", "gender": "F", "postcode": "N17 2EQ",
            "address_line_1": "47 Station Road"}
    yaa = {"family_name": "Ofori", "date_of_birth": "2019-04-17", "gender": "F", "postcode": "N17 5JW",
           "address_line_1": "210 Moseley Road"}
    khan = {"family_name": "Khan", "date_of_birth": "2012-09-09", "gender": "F", "postcode": "E12 7HS",
            "address_line_1": "192 Albert Street"}
    lee = {"family_name": "Lee", "date_of_birth": "2014-02-03", "gender": "F", "postcode": "B12 9QP",
           "address_line_1": "8 Mill Lane"}
    return rows + [
        {**lee, "record_id": "jessica-gp", "given_name": "Jessica", "nhs_number": "9990000050"},
        {**lee, "record_id": "jessica-school", "given_name": "Jessica", "upn": "X999000000015"},
        {**lee, "record_id": "j-school", "given_name": "J", "upn": "L999000000016"},
        {**home, "record_id": "amelia-gp", "given_name": "Amelia", "nhs_number": "9990000018"},
        {**home, "record_id": "amelia-school", "given_name": "Amelia", "upn": "Q999000000011"},
        {**home, "record_id": "sophia-gp", "given_name": "Sophia", "nhs_number": "9990000026"},
        {**home, "record_id": "sophia-school", "given_name": "Sophia", "upn": "E999000000012"},
        {**home, "record_id": "sophia-ecaf", "given_name": "Sophia"},
        {**khan, "record_id": "amna-gp", "given_name": "Amna", "nhs_number": "9990000042"},
        {**khan, "record_id": "amna-school", "given_name": "Amna", "upn": "H999000000014"},
        {**khan, "record_id": "noor-ecaf", "given_name": "Noor"},
        {**yaa, "record_id": "yaa-gp", "given_name": "Yaa", "nhs_number": "9990000034"},
        {**yaa, "record_id": "yaa-school", "given_name": "Yak", "upn": "U999000000013"},
    ]


def test_twins_each_known_by_her_own_identifiers_are_apart_without_a_steward_and_conflicts_are_still_asked(
        tmp_path: Path, population: Path) -> None:
    linkage = link_files([_write(tmp_path / "records.csv", _twins_and_a_typo(population))])

    group = linkage.clustering.group_of
    assert group["amelia-gp"] == group["amelia-school"] != group["sophia-gp"] == group["sophia-school"]
    assert group["sophia-ecaf"] == group["sophia-gp"]
    asked = [{p["record_a"], p["record_b"]} for p in linkage.review]
    # Amelia's school record and Sophia's GP record share surname, birth date and home and no identifier, but
    # each twin's own NHS number and UPN differ from the other's: two children, no steward asked (the owner's call).
    assert not [pair for pair in asked
                if pair & {"amelia-gp", "amelia-school"} and pair & {"sophia-gp", "sophia-school", "sophia-ecaf"}]
    # Noor is known only by a record without an identifier: she could be Amna, and a steward decides.
    assert group["noor-ecaf"] != group["amna-gp"] == group["amna-school"]
    assert {"noor-ecaf", "amna-gp"} in asked or {"noor-ecaf", "amna-school"} in asked
    # "J" may be Jessica under her initial, whatever its UPN says: the evidence conflicts, a steward decides.
    assert group["j-school"] != group["jessica-gp"] == group["jessica-school"]
    assert [p["reason"] for p in linkage.review if "j-school" in (p["record_a"], p["record_b"])
            and {p["record_a"], p["record_b"]} & {"jessica-gp", "jessica-school"}] != []


def test_two_children_a_steward_kept_apart_are_not_asked_again_through_another_pair_of_their_records(
        tmp_path: Path, population: Path) -> None:
    rows = _twins_and_a_typo(population)
    asked = link_files([_write(tmp_path / "records.csv", rows)]).review
    noor = [(p["record_a"], p["record_b"]) for p in asked if "noor-ecaf" in (p["record_a"], p["record_b"])
            and {p["record_a"], p["record_b"]} & {"amna-gp", "amna-school"}]
    assert noor  # Noor may be Amna: a steward's question, through one or both of Amna's records

    frame = features_frame(list(read_canonical([tmp_path / "records.csv"])))
    # The steward answers the entry through one of its record pairs; Amna's other record is no new question.
    relinked = link_frames(frame, train(frame), cannot_link=[("noor-ecaf", "amna-gp")])
    assert not [p for p in relinked.review if "noor-ecaf" in (p["record_a"], p["record_b"])
                and {p["record_a"], p["record_b"]} & {"amna-gp", "amna-school"}]


def test_two_groups_holding_different_nhs_numbers_or_upns_are_two_children() -> None:
    records = [RecordKeys("gp-a", nhs_number="9990000018"), RecordKeys("school-a", upn="Q999000000011"),
               RecordKeys("gp-b", nhs_number="9990000026"), RecordKeys("ecaf-b"),
               RecordKeys("school-c", upn="E999000000012"), RecordKeys("gp-d", nhs_number="9990000018")]
    group_of = {"gp-a": "a", "school-a": "a", "gp-b": "b", "ecaf-b": "b", "school-c": "c", "gp-d": "d"}
    held = IdentifiersByGroup(records, group_of)

    assert held.differ("school-a", "ecaf-b")        # the records share no identifier; their children do not
    assert held.differ("school-a", "school-c")      # different UPNs
    assert not held.differ("gp-b", "school-c")      # an NHS number on one side, a UPN on the other
    assert not held.differ("school-a", "gp-d")      # one NHS number in common
    assert not held.differ("ecaf-b", "unknown")     # a record in no group holds nothing


def test_groups_sharing_one_identifier_and_differing_on_another_are_a_steward_s_question() -> None:
    # Her sister's NHS number copied onto the record that joined her own child (her own UPN).
    records = [RecordKeys("school-a", upn="Q999000000011"), RecordKeys("gp-a", nhs_number="9990000018"),
               RecordKeys("school-b", upn="E999000000012"), RecordKeys("gp-b-copied", nhs_number="9990000018")]
    held = IdentifiersByGroup(records, {"school-a": "a", "gp-a": "a", "school-b": "b", "gp-b-copied": "b"})

    assert not held.differ("school-a", "gp-b-copied")


def test_twins_whose_names_say_two_children_are_told_apart_by_the_kind_of_identifier_that_differs() -> None:
    # Sophie's GP record carries Amelia's NHS number, copied; her school record gives her own UPN. A rule that
    # already reads the names as two children's (twins, a copied identifier) takes the shared number for the
    # copy: their UPNs differ, so a steward would only confirm two children.
    records = [RecordKeys("amelia-school", upn="Q999000000011"), RecordKeys("amelia-gp", nhs_number="9990000018"),
               RecordKeys("sophie-school", upn="E999000000012"),
               RecordKeys("sophie-gp-copied", nhs_number="9990000018"), RecordKeys("sophie-ecaf")]
    held = IdentifiersByGroup(records, {"amelia-school": "a", "amelia-gp": "a", "sophie-school": "s",
                                        "sophie-gp-copied": "s", "sophie-ecaf": "s"})

    assert held.differ("amelia-gp", "sophie-gp-copied", names_say_two_children=True)
    assert held.differ("amelia-school", "sophie-ecaf", names_say_two_children=True)
    # Names that may be one child's (a link the clustering refused) leave the conflict to a steward.
    assert not held.differ("amelia-gp", "sophie-gp-copied")
    # Nothing differs in either kind: the names alone cannot settle it.
    lone = IdentifiersByGroup([RecordKeys("amelia-gp", nhs_number="9990000018"),
                               RecordKeys("sophie-gp-copied", nhs_number="9990000018")],
                              {"amelia-gp": "a", "sophie-gp-copied": "s"})
    assert not lone.differ("amelia-gp", "sophie-gp-copied", names_say_two_children=True)


def test_twins_one_of_whom_carries_her_sister_s_nhs_number_are_two_children_once_their_schools_give_two_upns(
        tmp_path: Path, population: Path) -> None:
    # Zara's GP copied Hana's NHS number onto her record; each girl's school gives her own UPN.
    twins = {"family_name": "Begum", "date_of_birth": "2013-05-06", "gender": "F", "postcode": "E6 1AB",
             "address_line_1": "12 Kempton Road"}
    rows = _twins_and_a_typo(population) + [
        {**twins, "record_id": "hana-gp", "given_name": "Hana", "nhs_number": "9990000077"},
        {**twins, "record_id": "hana-school", "given_name": "Hana", "upn": "P999000000018"},
        {**twins, "record_id": "zara-gp", "given_name": "Zara", "nhs_number": "9990000077"},
        {**twins, "record_id": "zara-school", "given_name": "Zara", "upn": "D999000000019"},
    ]
    linkage = link_files([_write(tmp_path / "records.csv", rows)])

    group = linkage.clustering.group_of
    assert group["hana-gp"] == group["hana-school"] != group["zara-gp"] == group["zara-school"]
    # Zara's GP record and Hana's share a number, but the names say two girls and so do their schools' UPNs:
    # the shared number is the copy, and no steward is asked.
    assert not [p for p in linkage.review if {group[p["record_a"]], group[p["record_b"]]}
                == {group["hana-gp"], group["zara-gp"]}]


def test_identifiers_one_typo_or_transposition_apart_may_be_one_child_s() -> None:
    records = [RecordKeys("gp-a", nhs_number="9990000018"), RecordKeys("gp-b", nhs_number="9990000081"),
               RecordKeys("gp-c", nhs_number="9990000028"), RecordKeys("gp-d", nhs_number="9990000034")]
    held = IdentifiersByGroup(records, {r.record_id: r.record_id for r in records})

    assert not held.differ("gp-a", "gp-b")          # the last two digits swapped
    assert not held.differ("gp-a", "gp-c")          # one digit changed
    assert held.differ("gp-a", "gp-d")              # two digits changed: another child's number


def test_a_short_forename_one_letter_off_joins_its_child_instead_of_waiting_as_a_twin(
        tmp_path: Path, population: Path) -> None:
    linkage = link_files([_write(tmp_path / "records.csv", _twins_and_a_typo(population))])

    assert linkage.clustering.group_of["yaa-gp"] == linkage.clustering.group_of["yaa-school"]
    assert not [p for p in linkage.review if {p["record_a"], p["record_b"]} == {"yaa-gp", "yaa-school"}]


def test_a_short_forename_with_two_letters_swapped_joins_its_child_who_has_moved(
        tmp_path: Path, population: Path) -> None:
    ivy = {"given_name": "Ivy", "family_name": "Okafor", "date_of_birth": "2018-02-11", "gender": "F"}
    rows = [*_twins_and_a_typo(population),
            {**ivy, "record_id": "ivy-gp", "postcode": "M14 5RG", "address_line_1": "3 Platt Lane",
             "nhs_number": "9990000069"},
            # The school has her new home and "Iyv": Jaro-Winkler reads the swap in a three-letter name as another.
            {**ivy, "record_id": "ivy-school", "given_name": "Iyv", "postcode": "LS6 2AB",
             "address_line_1": "40 Hyde Park Road", "upn": "A999000000017"}]
    group = link_files([_write(tmp_path / "records.csv", rows)]).clustering.group_of

    assert group["ivy-gp"] == group["ivy-school"]


def test_a_swapped_record_joins_its_own_child_and_never_the_twin_whose_family_name_it_shares(
        tmp_path: Path, population: Path) -> None:
    with (population / "records.csv").open() as handle:
        rows = list(csv.DictReader(handle))[:600]
    gill = {"family_name": "Gill", "date_of_birth": "2016-05-31", "gender": "M", "postcode": "N15 9WW",
            "address_line_1": "29 Elm Road"}
    harry = {"date_of_birth": "2021-04-14", "gender": "M", "postcode": "LS7 3HX", "address_line_1": "133 Wilmslow Road"}
    rows += [{**gill, "record_id": "ravi-gp", "given_name": "Ravi", "nhs_number": "9990000018"},
             {**gill, "record_id": "manveer-ecaf", "given_name": "Manveer"},  # no identifier to tell them apart
             # The school wrote Ravi's names the wrong way round: "Gill Ravi" shares a name with each twin.
             {**gill, "record_id": "ravi-school", "given_name": "Gill", "family_name": "Ravi", "upn": "Q999000000011"},
             # Only the first part of a double family name, swapped into the given name.
             {**harry, "record_id": "harry-gp", "given_name": "Harry", "family_name": "Edwards-Butterworth",
              "nhs_number": "9990000034"},
             {**harry, "record_id": "harry-school", "given_name": "Edwards", "family_name": "Harry",
              "upn": "E999000000012"}]
    group = link_files([_write(tmp_path / "records.csv", rows)]).clustering.group_of

    assert group["ravi-school"] == group["ravi-gp"] != group["manveer-ecaf"]
    assert group["harry-school"] == group["harry-gp"]


def test_a_record_whose_birth_date_and_street_are_both_mistyped_is_still_compared_by_name_and_house(
        population: Path) -> None:
    with (population / "records.csv").open() as handle:
        rows = list(csv.DictReader(handle))[:600]
    her = {"given_name": "Joanna", "family_name": "Linnell", "gender": "F", "postcode": "", "nhs_number": "",
           "upn": ""}
    rows += [{**her, "record_id": "joanna-1", "date_of_birth": "2014-05-11", "address_line_1": "2 Lambrigg Street"},
             {**her, "record_id": "joanna-2", "date_of_birth": "2012-08-19", "address_line_1": "2 Lambrig Stret"}]
    frame = features_frame(list(read_canonical([_write(population.parent / "mistyped.csv", rows)])))
    pairs = score_within(frame, train(frame), threshold=-100)

    assert {frozenset(p) for p in zip(pairs["unique_id_l"], pairs["unique_id_r"], strict=True)} >= {
        frozenset(("joanna-1", "joanna-2"))}


def test_an_em_session_that_stops_leaves_the_estimated_model_every_comparison(
        population: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # On a 100k population Splink stopped EM on the NHS-number block (an m that underflowed) after taking the
    # comparison out of the linker's settings, and the model came out with no NHS number comparison at all.
    from splink.internals import em_training_session

    real = em_training_session.expectation_maximisation

    def stops_on_the_nhs_number_block(*args: object, core_model_settings: object, **kwargs: object) -> object:
        names = {c.output_column_name for c in core_model_settings.comparisons}  # type: ignore[attr-defined]
        if "nhs_number" not in names:
            raise ValueError("m_probability value 0.0 is below the minimum allowed value of 1e-300.")
        return real(*args, core_model_settings=core_model_settings, **kwargs)

    monkeypatch.setattr(em_training_session, "expectation_maximisation", stops_on_the_nhs_number_block)
    frame = features_frame(list(read_canonical([population / "records.csv"])))
    model = train(frame)

    assert model["contactpoint_estimation"]["em_blocks_failed"] == ["nhs_number"]
    assert [c["output_column_name"] for c in model["comparisons"]] == [
        c["output_column_name"] for c in settings_dict("duckdb", ESTIMATED_VERSION)["comparisons"]]
    assert not score_within(frame, model, threshold=10.0).empty
