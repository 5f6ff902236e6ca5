"""Standardisation: the variants feeds send compare equal, and junk never agrees with anything."""

from __future__ import annotations

from datetime import date

import pytest

from matching.features import record_features
from matching.standardise import (
    clean_name,
    forename_key,
    house_number,
    postcode_parts,
    street_key,
    surname_key,
    surname_parts,
    transposed,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("left", "right"), [
    ("Smith-Jones", "SMITH JONES"), ("O'Brien", "obrien"), ("Zoë", "Zoe"), ("  de  la Cruz ", "De-La-Cruz"),
])
def test_surname_variants_compare_equal(left: str, right: str) -> None:
    assert surname_key(left) == surname_key(right)


@pytest.mark.parametrize(("nickname", "formal"), [
    ("Alfie", "alfred"), ("Maisie", "margaret"), ("ELLIE", "eleanor"), ("Freddie", "frederick"), ("Kate", "katherine"),
    ("Oliver", "oliver"),
])
def test_nicknames_map_to_their_formal_forename(nickname: str, formal: str) -> None:
    assert forename_key(nickname) == formal


@pytest.mark.parametrize(("one", "other"), [
    ("Yousef", "Yusuf"), ("Hussein", "Hussain"), ("Ayesha", "Aisha"), ("Faduma", "Fatima"), ("Umar", "Omar"),
    ("Kasia", "Katarzyna"), ("Gosia", "Małgorzata"), ("Kuba", "Jakub"),
])
def test_one_name_spelt_or_shortened_as_other_traditions_do_is_one_forename(one: str, other: str) -> None:
    assert forename_key(one) == forename_key(other)


@pytest.mark.parametrize(("one", "other"), [("Hasan", "Hussain"), ("Anna", "Anne"), ("Emeka", "Chukwuemeka"),
                                             ("Tobi", "Oluwatobi")])
def test_different_names_stay_different(one: str, other: str) -> None:
    assert forename_key(one) != forename_key(other)


@pytest.mark.parametrize(("written", "plain"), [
    ("Małgorzata", "malgorzata"), ("Łukasz", "lukasz"), ("Michał", "michal"), ("Søren", "soren"),
    ("Đorđe", "dorde"), ("Æsa", "aesa"), ("Zoë", "zoe"),
])
def test_letters_without_a_decomposition_are_spelt_out_not_dropped(written: str, plain: str) -> None:
    assert clean_name(written) == plain


@pytest.mark.parametrize("junk", ["UNKNOWN", "Baby Boy", "twin 1", "  ", "x", None, "NA", "N/A", "n/a", "na"])
def test_placeholder_names_are_missing_not_values(junk: str | None) -> None:
    assert clean_name(junk) is None and forename_key(junk) is None


def test_a_code_written_as_a_name_is_a_name() -> None:
    # "Na" is how a clerk writes a name (Naa with a letter dropped), not how a system writes "not available".
    assert clean_name("Na") == forename_key("Na") == "na"
    # And so it is among the given names, read word by word as written.
    assert record_features({"record_id": "1", "given_name": "Na", "middle_names": "Araba"})["given_names"] == [
        "na", "araba"]
    assert record_features({"record_id": "2", "given_name": "NA", "middle_names": "Araba"})["given_names"] == [
        "araba"]


def test_every_part_of_every_surname_is_kept_for_comparison() -> None:
    assert surname_parts("Ward-Prowse", "Smith", None, "ward") == ("ward", "prowse", "smith")


def test_a_day_month_swap_only_when_it_is_a_different_real_date() -> None:
    assert transposed(date(2015, 3, 7)) == date(2015, 7, 3)
    assert transposed(date(2015, 3, 13)) is None and transposed(date(2015, 4, 4)) is None


def test_postcode_levels_and_address_parts() -> None:
    parts = postcode_parts("SW1A 1AA")
    assert (parts.sector, parts.district, parts.area) == ("SW1A 1", "SW1A", "SW")
    assert house_number("12a Oak Road") == "12a" and street_key("12a Oak Road") == "oak road"
    assert house_number("Flat 3, 27 Mill Lane") == "27"


def test_record_features_trust_only_valid_identifiers_and_real_postcodes() -> None:
    features = record_features({"record_id": 7, "given_name": "Alfie James", "middle_names": "Tom",
                                "family_name": "Smith-Jones", "former_family_name": "Brown",
                                "date_of_birth": "2016-03-04", "gender": "U", "postcode": "s601aa",
                                "nhs_number": "9434765918", "upn": "not a upn", "address_line_1": "12 Oak Road"})
    assert features["forename_formal"] == "alfred" and features["given_names"] == ["alfred", "james", "thomas"]
    assert features["surname"] == "smithjones" and features["surname_parts"] == ["smith", "jones", "brown"]
    assert features["dob_transposed"] == "2016-04-03" and features["gender"] is None
    assert features["postcode"] == "S60 1AA" and features["nhs_number"] is None and features["upn"] is None


def test_a_town_and_an_identifier_without_a_check_digit_are_compared_as_written_less_case_and_spacing() -> None:
    features = record_features({"record_id": 8, "given_name": "Courtney", "town": "Winston  Hills",
                                "other_identifier": " 530-4218 "})
    assert features["town"] == "winston hills" and features["other_identifier"] == "5304218"
    assert record_features({"record_id": 9, "other_identifier": " - "})["other_identifier"] is None
