"""Middle names as the feeds send them (GP ``other_given_names``, the CTF's ``MiddleNames``): evidence that joins
a child's records, never a bridge between twins."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from matching.cluster import UNCHECKED
from matching.files import link_files
from tools.independent_population.records import SOURCES_WITH_MIDDLE_NAMES

pytestmark = pytest.mark.unit

Link = Callable[[Path, list[dict[str, str]]], dict[str, str]]  # the fixture ``link_beside_population``


def test_the_independent_population_sends_middle_names_only_in_the_feeds_that_carry_them(population: Path) -> None:
    with (population / "records.csv").open() as handle:
        rows = {r["record_id"]: r for r in csv.DictReader(handle)}
    with (population / "truth.csv").open() as handle:
        source = {r["record_id"]: r["source"] for r in csv.DictReader(handle)}

    with_middle = {source[record] for record, row in rows.items() if row["middle_names"]}
    assert with_middle and with_middle <= SOURCES_WITH_MIDDLE_NAMES


def test_a_school_record_that_took_her_middle_name_for_her_forename_joins_the_gp_record_that_lists_it(
        tmp_path: Path, link_beside_population: Link) -> None:
    her = {"family_name": "Williams", "date_of_birth": "2015-06-02", "gender": "F", "postcode": "LS8 2QP",
           "address_line_1": "19 Harehills Lane"}
    group = link_beside_population(tmp_path / "records.csv", [
        {**her, "record_id": "lauren-gp", "given_name": "Lauren", "middle_names": "Ivy", "nhs_number": "9990000069"},
        {**her, "record_id": "ivy-school", "given_name": "Ivy", "upn": "A999000000017"}])

    assert group["lauren-gp"] == group["ivy-school"]


def test_twins_sharing_a_middle_name_stay_two_children_though_a_sibling_s_nhs_number_was_copied(
        tmp_path: Path, link_beside_population: Link) -> None:
    home = {"family_name": "Jones", "middle_names": "Sophia", "date_of_birth": "2024-07-14", "gender": "F",
            "postcode": "IG1 5QR", "address_line_1": "138 Queens Road"}
    group = link_beside_population(tmp_path / "records.csv", [
        {**home, "record_id": "ruby-gp", "given_name": "Ruby", "nhs_number": "9990000077"},
        {**home, "record_id": "matilda-gp", "given_name": "Matilda", "nhs_number": "9990000085"},
        # Ruby's NHS number on Matilda's school form, both forenames mistyped.
        {**home, "record_id": "matilda-school", "given_name": "Matila", "nhs_number": "9990000077",
         "upn": "B999000000037"},
        {**home, "record_id": "ruby-school", "given_name": "Ruey", "upn": "C999000000028"}])

    assert group["ruby-gp"] != group["matilda-gp"]
    assert group["ruby-gp"] != group["matilda-school"]


def test_a_boy_and_a_girl_whose_mistyped_forenames_come_close_are_not_linked_by_a_copied_upn(
        tmp_path: Path, link_beside_population: Link) -> None:
    home = {"family_name": "White", "date_of_birth": "2015-12-09", "postcode": "NE4 4FH",
            "address_line_1": "16 Green Street"}
    group = link_beside_population(tmp_path / "records.csv", [
        {**home, "record_id": "max-gp", "given_name": "Max", "gender": "M", "nhs_number": "9990000093"},
        {**home, "record_id": "max-school", "given_name": "Ma", "gender": "M", "upn": "D999000000019"},
        # Ava's school record carries her brother's UPN; "Aa" is one letter from "Ma".
        {**home, "record_id": "ava-school", "given_name": "Aa", "gender": "F", "upn": "D999000000019"}])

    assert group["max-gp"] == group["max-school"] != group["ava-school"]


def test_a_twin_named_as_her_sister_s_middle_name_is_not_her_sister_though_she_carries_her_nhs_number(
        tmp_path: Path, link_beside_population: Link) -> None:
    home = {"family_name": "Addo", "date_of_birth": "2018-06-19", "gender": "F", "postcode": "E12 6SA",
            "address_line_1": "210 Moseley Road"}
    group = link_beside_population(tmp_path / "records.csv", [
        {**home, "record_id": "afua-gp", "given_name": "Afua", "middle_names": "Aba", "nhs_number": "9990000077"},
        # Aba's own names are "Aba Araba": she names a middle name Afua lacks, so she did not take Afua's middle
        # name for her forename. Her school form carries Afua's NHS number.
        {**home, "record_id": "aba-school", "given_name": "Aba", "middle_names": "Araba", "nhs_number": "9990000077",
         "upn": "B999000000037"}])

    assert group["afua-gp"] != group["aba-school"]


HOLMES_HOME = {"family_name": "Holmes", "date_of_birth": "2024-03-26", "gender": "F", "postcode": "WV1 6AU",
               "address_line_1": "215 Kingsway"}
HOLMES_TWINS = [
    {"record_id": "elsie-gp", "given_name": "Elsie", "nhs_number": "9990000077"},
    # Her twin sister's middle name is Elsie; her GP registration is waiting for its NHS number.
    {"record_id": "ava-gp", "given_name": "Ava", "middle_names": "Elsie"}]


def test_twins_one_named_as_the_other_s_middle_name_wait_for_a_steward_when_one_has_no_identifier_to_check(
        tmp_path: Path, beside_population: Callable[[Path, list[dict[str, str]]], Path]) -> None:
    linkage = link_files([beside_population(tmp_path / "records.csv",
                                            [{**HOLMES_HOME, **row} for row in HOLMES_TWINS])])

    # "Elsie" against "Ava Elsie", born the same day at one home: Ava's record with a clerk's slip, or her twin.
    # Only an identifier could tell, and Ava's record has none: a steward decides.
    group = linkage.clustering.group_of
    assert group["elsie-gp"] != group["ava-gp"]
    asked = [p for p in linkage.review if {p["record_a"], p["record_b"]} == {"elsie-gp", "ava-gp"}]
    assert [p["reason"] for p in asked] == [f"would link, but {UNCHECKED}"]


def test_a_school_record_that_took_her_middle_name_joins_her_once_her_gp_record_has_its_nhs_number(
        tmp_path: Path, link_beside_population: Link) -> None:
    rows = [{**HOLMES_HOME, **row} for row in HOLMES_TWINS[1:]]
    rows[0]["nhs_number"] = "9990000085"
    rows.append({**HOLMES_HOME, "record_id": "elsie-school", "given_name": "Elsie", "upn": "A999000000017"})
    group = link_beside_population(tmp_path / "records.csv", rows)

    # Each record is known to a service by its own number: the GP's and the school's registrations of one girl.
    assert group["ava-gp"] == group["elsie-school"]


def test_twins_stay_apart_when_a_slip_turns_one_s_forename_into_what_reads_like_a_code(
        tmp_path: Path, link_beside_population: Link) -> None:
    home = {"family_name": "Appiah", "date_of_birth": "2018-02-10", "gender": "F", "postcode": "CR0 5SX",
            "address_line_1": "Flat 8, 27 Moseley Road"}
    group = link_beside_population(tmp_path / "records.csv", [
        {**home, "record_id": "esi-gp", "given_name": "Esi", "nhs_number": "9990000077"},
        {**home, "record_id": "esi-school", "given_name": "Esn", "upn": "A999000000017"},
        # Naa Akua's school form: "Na" for Naa, and her sister's UPN.
        {**home, "record_id": "naa-school", "given_name": "Na", "middle_names": "Akua", "upn": "A999000000017"}])

    assert group["esi-gp"] == group["esi-school"] != group["naa-school"]


def test_a_copy_of_na_araba_s_nhs_number_on_her_twin_aa_akosua_is_not_read_as_one_girl(
        tmp_path: Path, link_beside_population: Link) -> None:
    home = {"family_name": "Quaye", "date_of_birth": "2024-08-06", "gender": "F", "postcode": "BD5 1DZ",
            "address_line_1": "14 Little Horton Lane"}
    group = link_beside_population(tmp_path / "records.csv", [
        # Naa Araba's GP record, "Na" for Naa; her twin Yaa Akosua's, "Aa" for Yaa, carrying Naa's NHS number.
        {**home, "record_id": "naa-gp", "given_name": "Na", "middle_names": "Araba", "nhs_number": "9990000077"},
        {**home, "record_id": "yaa-gp", "given_name": "Aa", "middle_names": "Akosua", "nhs_number": "9990000077"}])

    # The forenames are a slip apart, but the further names, Araba and Akosua, say two girls (D31).
    assert group["naa-gp"] != group["yaa-gp"]


def test_twins_stay_apart_when_a_copied_number_and_slips_in_both_forenames_meet_a_record_near_both(
        tmp_path: Path, link_beside_population: Link) -> None:
    home = {"family_name": "Moore", "date_of_birth": "2023-01-24", "gender": "F", "postcode": "WF13 7RH",
            "address_line_1": "187 Cheetham Hill Road"}
    group = link_beside_population(tmp_path / "records.csv", [
        {**home, "record_id": "evie-gp", "given_name": "Eviee", "middle_names": "Ivy", "nhs_number": "9990000077"},
        {**home, "record_id": "evie-health-visitor", "given_name": "Evie"},
        # Elsie Florence's GP form: "Esie", and her twin sister's NHS number.
        {**home, "record_id": "elsie-gp", "given_name": "Esie", "middle_names": "Florence",
         "nhs_number": "9990000077"}])

    # "Evie" is a slip from either girl's forename: Florence against Ivy says two girls, so neither link is made
    # on the weight alone.
    assert group["evie-gp"] != group["elsie-gp"]


def test_spark_marks_the_same_links_as_needing_an_identifier_as_duckdb(
        tmp_path: Path, beside_population: Callable[[Path, list[dict[str, str]]], Path]) -> None:
    pytest.importorskip("pyspark", reason="the spark extra: EXTRAS=dev,spark scripts/setup.sh")
    from matching import spark_linkage
    from matching.decide import decide_pairs, needs_an_identifier
    from matching.features import features_frame
    from matching.files import read_canonical
    from matching.model import db_api, score_within, train

    path = beside_population(tmp_path / "records.csv", [{**HOLMES_HOME, **row} for row in HOLMES_TWINS])
    frame = features_frame(list(read_canonical([path])))
    decided = decide_pairs(score_within(frame, train(frame), threshold=2.0), twins_seen=True)
    on_duckdb = decided.assign(needs_identifier=needs_an_identifier(decided))
    on_spark = spark_linkage.needing_an_identifier(db_api("spark").spark.createDataFrame(decided),
                                                   twins=True).toPandas()

    def marked(pairs: pd.DataFrame) -> set[tuple[str, str]]:
        return {(str(a), str(b)) for a, b, needs in zip(pairs["unique_id_l"], pairs["unique_id_r"],
                                                        pairs["needs_identifier"], strict=True) if needs}

    assert marked(on_spark) == marked(on_duckdb)
    assert {frozenset(p) for p in marked(on_duckdb)} >= {frozenset(("elsie-gp", "ava-gp"))}
