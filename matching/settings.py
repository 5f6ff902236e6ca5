"""The probabilistic model as data: comparisons, blocking rules, training blocks and thresholds.

Fellegi–Sunter via Splink. Lessons written into the design (``docs/architecture.md``):
- postcode and address are ONE household comparison, or a household's evidence counts twice and
  siblings chain together;
- a forename is also compared against the other's middle and preferred names, after nicknames map to
  their formal form; surnames against former and preferred surnames (any part agreeing);
- m is estimated on blocks that cannot hold twins (forename + date of birth, NHS number, UPN);
- twins are caught by an explicit rule (``matching.decide``), not by the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MODEL_VERSION = "child_linkage_v1"
# The structure a model is estimated in on the data given (``link-files``, ``train-model``): v1's levels plus
# evidence v1 does not see. A model is always scored in the structure it was estimated in (its ``linker_uid``),
# so the bundled v1 model, and the pipeline with it, score exactly as before.
# v3 adds one level: forenames that differ beside a middle name both records carry (twins may share one).
# v4 adds two comparisons: the town, and an identifier without a check digit that the files share (a council's
# own child number, a social security number). v2 and v3 stay scoreable for models estimated in them.
V3 = "child_linkage_v3"
ESTIMATED_VERSION = "child_linkage_v4"
STRUCTURES = (MODEL_VERSION, "child_linkage_v2", V3, ESTIMATED_VERSION)


def at_least(version: str, structure: str) -> bool:
    """Whether ``version`` holds what ``structure`` added (structures only ever add)."""
    return STRUCTURES.index(version) >= STRUCTURES.index(structure)


@dataclass(frozen=True)
class Thresholds:
    """Match weights: at or above ``link`` links; from ``review`` up to it goes to a steward; below, apart."""

    link: float = 5.0
    review: float = 2.0


THRESHOLDS = Thresholds()


def _comparison(name: str, description: str, levels: list[Any]) -> Any:
    import splink.comparison_library as cl

    return cl.CustomComparison(comparison_levels=levels, output_column_name=name,
                               comparison_description=description)


def _near(column: str, other: str) -> str:
    """SQL: ``column_l`` is far from ``column_r`` (more than two letters off) and not ``other_r``, but one letter
    off it or one starts with the other (a double family name's first part, or a name cut at a letter the
    cleaning lost: "Edwards" against "Edwardsbutterworth", "Koz" against "Kozowski")."""
    name, across = f"{column}_l", f"{other}_r"
    return (f"levenshtein({name}, {column}_r) > 2 AND {name} <> {across} AND (levenshtein({name}, {across}) = 1 "
            f"OR (length({across}) >= 3 AND length({name}) >= 3 AND (substr({name}, 1, length({across})) = {across} "
            f"OR substr({across}, 1, length({name})) = {name})))")


ONLY_A_MIDDLE_NAME_SHARED = "forenames differ, only a middle name in common"
# Levels that weigh as their comparison's last level (the values differ): they exist for ``matching.decide``'s
# rules to read, not as evidence of their own. EM cannot teach them (no training block holds forenames that
# differ), and a level seen in no training pair would otherwise take the floor m against a tiny u: siblings
# sharing a middle name would weigh as a strong match.
WEIGHED_AS_DIFFERENT: dict[str, str] = {"forename": ONLY_A_MIDDLE_NAME_SHARED}


def _took_the_middle_name(one: str, other: str) -> str:
    """SQL: record ``one``'s forename is among the ``other``'s names, and ``one`` names no other forename than the
    other's (it has no other names, or the other's forename is among them): "Ivy" or "Ivy Lauren" against
    "Lauren Ivy", not "Aba Araba" against "Afua Aba" (both name a forename the other lacks)."""
    return (f"array_contains(given_names_{other}, forename_formal_{one}) AND (cardinality(given_names_{one}) = 1 "
            f"OR array_contains(given_names_{one}, forename_formal_{other}))")


def _one_slip(custom: Any, version: str) -> Any:
    """One letter added, dropped or changed (v2); v3 also takes two neighbouring letters swapped ("Ivy"/"Iyv",
    "Sofia"/"Sofai"), a clerk's commonest slip, which Jaro-Winkler reads as another name in a short forename."""
    import splink.comparison_level_library as cll

    differ = "forename_l <> forename_r AND forename_formal_l <> forename_formal_r"
    if not at_least(version, V3):
        return custom(f"{differ} AND levenshtein(forename_l, forename_r) = 1", "one letter added, dropped or changed")
    return cll.And(custom(differ, "forenames differ"), cll.DamerauLevenshteinLevel("forename", 1)).configure(
        label_for_charts="one letter added, dropped or changed, or two swapped")


def _only_a_middle_name_shared(custom: Any) -> Any:
    """v3: a name in common (the ``given_names`` lists meet), yet the forenames are far apart, not swapped, and
    neither record took the other's middle name for its forename. "Ruby Sophia" and "Matilda Sophia" are twins
    sharing a middle name; a record that took the middle name for its forename ("Ivy" against "Lauren Ivy") is
    one child, and so is a forename one letter off beside a shared middle name. v1's level for names in common
    would take them all."""
    import splink.comparison_level_library as cll

    return cll.And(cll.ArrayIntersectLevel("given_names", min_intersection=1),
                   cll.Not(cll.JaroWinklerLevel("forename", 0.88)), cll.Not(cll.DamerauLevenshteinLevel("forename", 1)),
                   custom(f"NOT ({_took_the_middle_name('l', 'r')}) AND NOT ({_took_the_middle_name('r', 'l')}) "
                          "AND forename_l <> coalesce(surname_r, '') AND forename_r <> coalesce(surname_l, '')",
                          "neither record took the other's middle name for its forename, nor swapped names")
                   ).configure(label_for_charts=ONLY_A_MIDDLE_NAME_SHARED)



def _added_levels(custom: Any, version: str) -> dict[str, tuple[Any | None, list[Any]]]:
    """Per comparison: v2's null level (None: v1's) and the levels v2 (and v3, at the top) adds.

    The added levels come right after the null level, above v1's: v1's levels keep their gamma values (Splink
    numbers levels from the bottom), so ``matching.decide``'s rules read both structures alike. Each added
    level excludes exact agreement; the name levels may take a few pairs v1 would have put at Jaro-Winkler or
    a middle name in common (a name one letter off is also Jaro-Winkler close): the rules read a name's
    levels only as "different" (0) or not, and as swapped (``matching.decide``), so those pairs decide alike.
    """
    middle_name = [_only_a_middle_name_shared(custom)] if at_least(version, V3) else []
    return {
        "forename": (None, [*middle_name, custom(_near("forename", "surname"),
                                   "given name far from the other's, near their family name (swapped)"),
                            custom("forename_l <> forename_r AND forename_l = surname_r",
                                   "given name is the other's family name (swapped)"),
                            # A typo in a short name ("Yaa"/"Yak", "Kojo"/"Kjo") falls below Jaro-Winkler's
                            # 0.88 and would read as another child: the twin rule would hold it for a steward.
                            _one_slip(custom, version)]),
        "surname": (None, [custom(_near("surname", "forename"),
                                  "family name far from the other's, near their given name (swapped)"),
                           custom("surname_l <> surname_r AND surname_l = forename_r",
                                  "family name is the other's given name (swapped)")]),
        "dob": (None, [custom("substr(dob_l, 6, 5) = substr(dob_r, 6, 5) AND substr(dob_l, 1, 3) <> "
                              "substr(dob_r, 1, 3) AND abs(birth_year_l - birth_year_r) = 1",
                              "one year apart (across a decade: no single digit)")]),
        # House number + street count without a postcode (or against a mistyped one).
        "household": (custom("(postcode_l IS NULL OR postcode_r IS NULL) AND (street_l IS NULL OR street_r IS NULL "
                             "OR house_number_l IS NULL OR house_number_r IS NULL)",
                             "no postcode and no address to compare").configure(is_null_level=True),
                      [custom("(postcode_l IS NULL OR postcode_r IS NULL OR postcode_l <> postcode_r) AND "
                              "house_number_l = house_number_r AND street_l = street_r",
                              "same house number and street, postcode missing or different"),
                       # A clerk's typo in the street name ("Kanbi Lace") still names the same house.
                       custom("(postcode_l IS NULL OR postcode_r IS NULL OR postcode_l <> postcode_r) AND "
                              "house_number_l = house_number_r AND street_l <> street_r AND "
                              "levenshtein(street_l, street_r) <= 2",
                              "same house number, street one or two letters off, postcode missing or different")]),
        # A temporary UPN (last character a letter) is a placeholder: it never disagrees with a real one.
        "upn": (custom("upn_l IS NULL OR upn_r IS NULL OR (upn_l <> upn_r AND (substr(upn_l, 13, 1) >= 'A' "
                       "OR substr(upn_r, 13, 1) >= 'A'))", "upn missing or temporary").configure(is_null_level=True),
                []),
    }


def comparisons(version: str = MODEL_VERSION) -> list[Any]:
    """The comparisons of a structure, built with Splink's level creators so each backend gets its own SQL."""
    import splink.comparison_level_library as cll

    if version not in STRUCTURES:
        raise ValueError(f"unknown model structure {version!r}")

    def custom(sql: str, label: str) -> Any:
        # Plain lower-case identifiers and functions every backend knows: the same SQL on DuckDB and Spark.
        return cll.CustomLevel(sql, label_for_charts=label)

    def simple(column: str) -> list[Any]:
        return [cll.NullLevel(column), cll.ExactMatchLevel(column), cll.ElseLevel()]

    v1: dict[str, tuple[str, list[Any]]] = {
        "forename": ("first forename (nicknames mapped), against all given names", [
            cll.NullLevel("forename"),
            cll.ExactMatchLevel("forename", term_frequency_adjustments=True),
            custom("forename_formal_l = forename_formal_r", "same formal name (nickname)"),
            cll.ArrayIntersectLevel("given_names", min_intersection=1),
            cll.JaroWinklerLevel("forename", 0.88),
            cll.ElseLevel(),
        ]),
        "surname": ("surname, against former and preferred surnames", [
            cll.NullLevel("surname"),
            cll.ExactMatchLevel("surname", term_frequency_adjustments=True),
            cll.ArrayIntersectLevel("surname_parts", min_intersection=1),
            cll.JaroWinklerLevel("surname", 0.88),
            cll.ElseLevel(),
        ]),
        "dob": ("date of birth: exact, day and month swapped, one character off", [
            cll.NullLevel("dob"),
            cll.ExactMatchLevel("dob"),
            custom("dob_l = dob_transposed_r", "day and month swapped"),
            cll.LevenshteinLevel("dob", 1),
            custom("substr(dob_l, 1, 7) = substr(dob_r, 1, 7)", "same year and month"),
            cll.ElseLevel(),
        ]),
        "household": ("postcode and address as one household", [
            cll.NullLevel("postcode"),
            custom("postcode_l = postcode_r AND house_number_l = house_number_r", "same home"),
            custom("postcode_l = postcode_r", "same postcode"),
            custom("postcode_sector_l = postcode_sector_r", "same sector"),
            custom("postcode_district_l = postcode_district_r", "same district"),
            cll.ElseLevel(),
        ]),
        "gender": ("gender (M/F; not known and indeterminate are null)", simple("gender")),
        "nhs_number": ("valid NHS number", simple("nhs_number")),
        "upn": ("valid UPN", simple("upn")),
    }
    extra = _added_levels(custom, version) if version != MODEL_VERSION else {}
    out = []
    for name, (description, levels) in v1.items():
        null, added = extra.get(name, (None, []))
        out.append(_comparison(name, description, [null or levels[0], *added, *levels[1:]]))
    if at_least(version, ESTIMATED_VERSION):
        out.append(_comparison("town", "town or locality of the address", [
            cll.NullLevel("town"), cll.ExactMatchLevel("town"), cll.JaroWinklerLevel("town", 0.9), cll.ElseLevel()]))
        # No check digit catches a typist's slip here, so one character off is a level of its own, not a conflict.
        out.append(_comparison("other_identifier", "an identifier without a check digit that the sources share", [
            cll.NullLevel("other_identifier"), cll.ExactMatchLevel("other_identifier"),
            cll.DamerauLevenshteinLevel("other_identifier", 1), cll.ElseLevel()]))
    return out


# The feature columns each comparison reads (a comparison not named here reads the column of its own name).
COMPARED_COLUMNS: dict[str, tuple[str, ...]] = {"forename": ("forename", "given_names"), "surname": ("surname",),
                                                "household": ("postcode", "house_number", "street")}


# Candidate pairs: each rule misses only records with two faults at once (e.g. a mistyped surname
# AND a swapped date of birth), and none compares a whole birth cohort with itself.
BLOCKING_KEYS: tuple[tuple[str, ...], ...] = (
    ("nhs_number",), ("upn",), ("dob", "forename_formal"), ("dob", "surname"), ("dob", "postcode_sector"),
    ("forename_formal", "surname", "birth_year"),
)
# Blocks for estimating m by EM: none can hold twins (different forenames, or one identifier).
TRAINING_KEYS: tuple[tuple[str, ...], ...] = (("forename_formal", "dob"), ("nhs_number",), ("upn",))
# Pairs agreeing on these are (almost) surely one child: used to estimate the prior match rate.
DETERMINISTIC_KEYS: tuple[tuple[str, ...], ...] = (("nhs_number", "dob"), ("upn", "dob"))
# v2 adds candidates for what its new levels can recover: a mover's or typist's record without identifiers
# that keeps the house, and names swapped between given and family (joined across the two columns).
V2_EXTRA_KEYS: tuple[tuple[str, ...], ...] = (("surname", "house_number", "street"),
                                               ("forename_formal", "house_number", "street"),
                                               # Both names mistyped or swapped (no postcode: FEBRL)
                                               ("dob", "house_number"), ("dob", "street"),
                                               # A wholly mistyped birth date beside a street also mistyped
                                               # or missing: full name and house number still meet.
                                               ("forename_formal", "surname", "house_number"))
SWAPPED_NAMES_BLOCK = "l.forename = r.surname AND l.surname = r.forename"
# v4: the other identifier finds a record whose names, birth date and home all carry faults.
V4_EXTRA_KEYS: tuple[tuple[str, ...], ...] = (("other_identifier",),)
# Without identifiers (e.g. FEBRL) the prior comes from full name + date of birth: twins never share a forename.
V2_DETERMINISTIC_KEYS: tuple[tuple[str, ...], ...] = (*DETERMINISTIC_KEYS, ("forename", "surname", "dob"),
                                                      ("other_identifier", "dob"))
# v2 estimates m on forename + date of birth (every comparison but those two) and NHS number (those two); the
# UPN block adds nothing after them, and its EM can drive a level's m below what Splink accepts.
V2_TRAINING_KEYS: tuple[tuple[str, ...], ...] = (("forename_formal", "dob"), ("nhs_number",))
# v4: the other identifier's block teaches every other comparison where the files carry one.
V4_TRAINING_KEYS: tuple[tuple[str, ...], ...] = (("other_identifier",),)
# Without identifiers, m of names and date of birth is estimated within a house (the swapped-name levels read
# both name columns, so a block on either name would leave both names untrained).
V2_FALLBACK_TRAINING_KEYS: tuple[tuple[str, ...], ...] = (("house_number", "street"),)


def blocking_rules(version: str = MODEL_VERSION) -> list[Any]:
    """The candidate-pair rules of a structure."""
    if version == MODEL_VERSION:
        return blocks(BLOCKING_KEYS)
    from splink.blocking_rule_library import CustomRule

    extra = V4_EXTRA_KEYS if at_least(version, ESTIMATED_VERSION) else ()
    return [*blocks(BLOCKING_KEYS + V2_EXTRA_KEYS + extra), CustomRule(SWAPPED_NAMES_BLOCK)]


def blocks(keys: tuple[tuple[str, ...], ...]) -> list[Any]:
    """Splink blocking rules for key tuples."""
    from splink import block_on

    return [block_on(*k) for k in keys]


def settings_dict(sql_dialect: str = "duckdb", version: str = MODEL_VERSION) -> dict[str, Any]:
    """An untrained model's Splink settings in structure ``version``, with SQL for ``sql_dialect``."""
    from splink import SettingsCreator

    creator = SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=comparisons(version),
        blocking_rules_to_generate_predictions=blocking_rules(version),
        retain_intermediate_calculation_columns=True,
        retain_matching_columns=True,
        max_iterations=25,
        em_convergence=0.0001,
    )
    settings: dict[str, Any] = creator.create_settings_dict(sql_dialect)
    settings["linker_uid"] = version
    return settings


def structure_of(model: dict[str, Any]) -> str:
    """The structure a trained model was estimated in (models older than v2 carry v1's name)."""
    uid = str(model.get("linker_uid") or MODEL_VERSION)
    return next((s for s in STRUCTURES[1:] if uid.startswith(s)), MODEL_VERSION)


def with_parameters(settings: dict[str, Any], trained: dict[str, Any]) -> dict[str, Any]:
    """``settings`` (any dialect) carrying a trained model's prior and m/u per level.

    A model is its structure (this module) plus its parameters: levels are matched by comparison name
    and position, so a model trained on DuckDB scores identically on Spark.
    """
    out = dict(settings)
    out["probability_two_random_records_match"] = trained["probability_two_random_records_match"]
    by_name = {c["output_column_name"]: c["comparison_levels"] for c in trained["comparisons"]}
    comparisons_out = []
    for comparison in settings["comparisons"]:
        levels = by_name[comparison["output_column_name"]]
        if len(levels) != len(comparison["comparison_levels"]):
            raise ValueError(f"model does not fit comparison {comparison['output_column_name']}")
        comparisons_out.append({**comparison, "comparison_levels": [
            {**level, **{k: trained_level[k] for k in ("m_probability", "u_probability") if k in trained_level}}
            for level, trained_level in zip(comparison["comparison_levels"], levels, strict=True)]})
    out["comparisons"] = comparisons_out
    return out
