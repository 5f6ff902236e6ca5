"""Middle names as the feeds send them (GP ``other_given_names``, the CTF's ``MiddleNames``): evidence that joins
a child's records, never a bridge between twins."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import pytest

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
