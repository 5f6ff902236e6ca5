"""The retention rules at their boundary days: the day before a child leaves, the day it leaves, the day after."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from warehouse.retention.rules import RETENTION_RULES, ChildFacts, Leave, add_years, leave_date

pytestmark = pytest.mark.unit

BORN = date(2008, 6, 15)
DAY = timedelta(days=1)


def child(**facts: object) -> ChildFacts:
    return ChildFacts(cp_id="CP000000001A", date_of_birth=facts.pop("born", BORN), **facts)  # type: ignore[arg-type]


def is_out(facts: ChildFacts, on: date) -> bool:
    """Whether the daily pass on ``on`` archives the child."""
    return leave_date(facts).on <= on


def assert_leaves_on(facts: ChildFacts, day: date, reason: str) -> None:
    assert leave_date(facts) == Leave(day, reason)
    assert (is_out(facts, day - DAY), is_out(facts, day), is_out(facts, day + DAY)) == (False, True, True)


def test_every_child_leaves_on_its_18th_birthday() -> None:
    assert_leaves_on(child(), date(2026, 6, 15), "age_18")


def test_a_young_person_with_connexions_consent_stays_to_19() -> None:
    assert_leaves_on(child(flags={"connexions_consent_to_19": True}), date(2027, 6, 15), "connexions_consent_to_19")


def test_a_care_leaver_or_young_person_with_learning_difficulties_who_consents_stays_to_25() -> None:
    facts = child(flags={"care_leaver_or_learning_difficulties_to_25": True, "connexions_consent_to_19": True})
    assert_leaves_on(facts, date(2033, 6, 15), "care_leaver_or_learning_difficulties_to_25")


def test_consent_withdrawn_brings_the_normal_rule_back() -> None:
    withdrawn = child(flags={"connexions_consent_to_19": False, "care_leaver_or_learning_difficulties_to_25": False})
    assert_leaves_on(withdrawn, date(2026, 6, 15), "age_18")


def test_a_child_who_died_stays_one_year_marked_then_leaves() -> None:
    died = child(born=date(2015, 1, 10), deregistration_reason="death", deregistered_on=date(2026, 3, 1))
    assert_leaves_on(died, date(2027, 3, 1), "died")


def test_a_child_who_died_near_18_still_leaves_at_18() -> None:
    died = child(deregistration_reason="death", deregistered_on=date(2026, 1, 1))
    assert_leaves_on(died, date(2026, 6, 15), "age_18")


def test_a_child_who_left_england_with_no_current_service_leaves_on_the_deregistration_day() -> None:
    gone = child(born=date(2014, 2, 2), deregistration_reason="left_england", deregistered_on=date(2026, 9, 30))
    assert_leaves_on(gone, date(2026, 9, 30), "left_england")


def test_a_child_who_left_england_but_still_has_a_current_school_stays() -> None:
    still_at_school = child(born=date(2014, 2, 2), deregistration_reason="left_england",
                            deregistered_on=date(2026, 9, 30), current_service=True)
    assert leave_date(still_at_school) == Leave(date(2032, 2, 2), "age_18")


def test_a_child_who_left_england_leaves_when_the_last_service_here_ended_if_that_is_later() -> None:
    gone = child(born=date(2014, 2, 2), deregistration_reason="left_england", deregistered_on=date(2026, 9, 30),
                 last_service_ended=date(2026, 10, 20))
    assert_leaves_on(gone, date(2026, 10, 20), "left_england")


def test_another_deregistration_reason_ends_nothing() -> None:
    moved_practice = child(deregistration_reason="other", deregistered_on=date(2020, 1, 1))
    assert leave_date(moved_practice) == Leave(date(2026, 6, 15), "age_18")


def test_a_child_born_on_29_february_comes_of_age_on_1_march_in_a_common_year() -> None:
    assert_leaves_on(child(born=date(2008, 2, 29)), date(2026, 3, 1), "age_18")
    assert add_years(date(2008, 2, 29), 16) == date(2024, 2, 29)


def test_the_rules_are_one_table_with_one_reason_each() -> None:
    reasons = [r.reason for r in RETENTION_RULES]
    assert len(reasons) == len(set(reasons))
    assert {r.until_age for r in RETENTION_RULES if r.until_age} == {18, 19, 25}
