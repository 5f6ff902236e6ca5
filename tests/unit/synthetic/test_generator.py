"""The synthetic generator's own promises: deterministic bytes, a population independent of the
feeds chosen, faults at the requested rate, realistic households, and flat memory."""

from __future__ import annotations

import csv
import gc
import tracemalloc
from collections import Counter
from pathlib import Path

import pytest

from schemas.identifiers import normalise_postcode, uln_is_valid
from tests.unit.synthetic.feedfiles import AS_OF, Row, digests_under_hash_seeds, read_children, read_rows, read_truth
from tools.synthetic import FAULT_KINDS, ROW_FAULTS, GenerationSummary, generate
from tools.synthetic.places import all_local_authorities


@pytest.mark.unit
def test_same_seed_gives_identical_bytes_and_another_seed_does_not(tmp_path: Path) -> None:
    outs = {}
    for label, seed in (("a", 3), ("b", 3), ("c", 4)):
        generate(tmp_path / label, children=1500, seed=seed, checksums=True)
        outs[label] = {p.relative_to(tmp_path / label): p.read_bytes() for p in (tmp_path / label).rglob("*")
                       if p.is_file()}
    assert outs["a"] == outs["b"]
    assert outs["a"] != outs["c"]
    assert not any(p.name.endswith(".part") for p in outs["a"])


_GENERATE = "generate(out, children=600, seed=21)"


@pytest.mark.unit
def test_output_does_not_depend_on_the_string_hash_seed(tmp_path: Path) -> None:
    digests = digests_under_hash_seeds(_GENERATE, "out", tmp_path)
    assert len(digests) == 1


@pytest.mark.unit
def test_population_does_not_depend_on_the_feeds_chosen(tmp_path: Path) -> None:
    generate(tmp_path / "all", children=1200, seed=5)
    generate(tmp_path / "gp", children=1200, seed=5, feeds=("gp",))
    assert (tmp_path / "all/children.csv").read_bytes() == (tmp_path / "gp/children.csv").read_bytes()
    [gp_all] = (tmp_path / "all/inbound/gp").iterdir()
    [gp_only] = (tmp_path / "gp/inbound/gp").iterdir()
    assert gp_all.name == gp_only.name and gp_all.read_bytes() == gp_only.read_bytes()
    assert not (tmp_path / "gp/inbound/school").exists()


@pytest.mark.unit
def test_fault_rate_is_within_tolerance_and_zero_means_none(
    run: tuple[Path, GenerationSummary], tmp_path: Path
) -> None:
    out, summary = run
    rows, faulty = sum(summary.rows.values()), sum(summary.faulty_rows.values())
    assert 0.085 < faulty / rows < 0.115
    kinds = Counter(t["fault"] for t in read_truth(out) if t["fault"])
    assert set(kinds) == set(FAULT_KINDS)
    row_share = sum(kinds[k] for k in ROW_FAULTS) / faulty
    assert 0.14 < row_share < 0.27
    clean = generate(tmp_path, children=800, seed=7, fault_rate=0.0)
    assert sum(clean.faulty_rows.values()) == 0
    assert all(not t["fault"] for t in read_truth(tmp_path))


@pytest.mark.unit
def test_twins_share_surname_dob_and_postcode(run: tuple[Path, GenerationSummary]) -> None:
    out, _ = run
    children = read_children(out)
    twins = [c for c in children.values() if c["twin_of"]]
    assert 0.007 < len(twins) / len(children) < 0.025
    for child in twins:
        other = children[child["twin_of"]]
        assert other["twin_of"] == child["child_id"]
        for column in ("family_name", "date_of_birth", "postcode", "household_id"):
            assert child[column] == other[column]
        assert child["given_name"] != other["given_name"]
    # In a feed too: clean GP rows of twins agree on family name, date of birth and postcode.
    truth = {(t["file_name"], int(t["row_number"])): t for t in read_truth(out)}
    gp: dict[str, Row] = {}
    for row in read_rows(out):
        t = truth[(row.file, row.number)]
        if row.feed == "gp" and not t["fault"] and children[t["child_id"]]["twin_of"]:
            gp[t["child_id"]] = row
    pairs = [(gp[c], gp[children[c]["twin_of"]]) for c in gp if children[c]["twin_of"] in gp]
    assert pairs
    for one, two in pairs:
        assert (one.family, one.dob, one.postcode) == (two.family, two.dob, two.postcode)


@pytest.mark.unit
def test_population_is_realistic(run: tuple[Path, GenerationSummary]) -> None:
    out, _ = run
    children = list(read_children(out).values())
    families = Counter(c["family_name"] for c in children)
    assert families.most_common(1)[0][1] > 50  # common surnames repeat
    assert any("'" in name for name in families) and any("-" in name for name in families)
    assert any(" " in name for name in families)
    assert any(not c["given_name"].isascii() for c in children)
    assert 0.05 < sum(1 for c in children if c["old_postcode"]) / len(children) < 0.12
    assert all(normalise_postcode(c["postcode"]) == c["postcode"] for c in children)
    ages = Counter(AS_OF.year - int(c["date_of_birth"][:4]) for c in children)
    assert max(ages) <= 25 and min(ages) >= 0
    nhs_numbers = [c["nhs_number"] for c in children if c["nhs_number"]]
    assert len(set(nhs_numbers)) == len(nhs_numbers)
    upns = [c["upn"] for c in children if c["upn"]]
    assert len(set(upns)) == len(upns) and any(u[-1].isalpha() for u in upns)
    ulns = [c["uln"] for c in children if c["uln"]]
    assert ulns and len(set(ulns)) == len(ulns) and all(uln_is_valid(u) for u in ulns)
    with open(next((out / "inbound/ics").iterdir()), encoding="utf-8", newline="") as handle:
        ics = list(csv.DictReader(handle))
    for r in ics:
        assert r["event"] in ("open", "close") and r["consent_sensitive"] in ("Y", "N")
        if r["service_type"] not in ("sexual_health", "mental_health", "substance_misuse"):
            assert r["consent_sensitive"] == "N"


@pytest.mark.unit
def test_every_la_district_makes_valid_postcodes() -> None:
    from random import Random

    from tools.synthetic.idgen import postcode

    rng = Random(0)
    authorities = all_local_authorities()
    assert len({la.code for la in authorities}) == len(authorities) > 100
    assert len({la.ccg_code for la in authorities}) == len(authorities)
    for la in authorities:
        for _, districts in la.towns:
            for district in districts:
                code = postcode(district, rng)
                assert normalise_postcode(code) == code


@pytest.mark.unit
def test_small_population_and_progress(tmp_path: Path) -> None:
    seen: list[int] = []
    summary = generate(tmp_path, children=100, seed=11, progress=seen.append)
    assert summary.children == 100 and seen and seen[-1] == 100 and seen == sorted(seen)
    assert summary.files["gp"] == 1 and summary.rows["gp"] > 90 and summary.rows["school"] > 40
    assert len(read_truth(tmp_path)) == sum(summary.rows.values())
    with pytest.raises(FileExistsError):
        generate(tmp_path, children=100, seed=11)
    with pytest.raises(ValueError):
        generate(tmp_path / "x", children=10, feeds=("fax",))


def _peak(out: Path, children: int) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        generate(out, children=children, seed=1)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.unit
def test_memory_stays_flat_as_the_population_grows(tmp_path: Path) -> None:
    _peak(tmp_path / "warm", 200)  # imports and caches are not part of the comparison
    small = _peak(tmp_path / "small", 2_000)
    large = _peak(tmp_path / "large", 20_000)
    print(f"peak traced memory: 2k children {small / 1e6:.1f} MB, 20k children {large / 1e6:.1f} MB")  # noqa: T201
    assert large < 3 * small
