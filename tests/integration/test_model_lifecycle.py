"""The steward lead's model lifecycle: stewards' decisions as labels, a confusion matrix per model version, a
comparison before a retrained model is promoted, and an audited promotion followed by a full re-link."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import text

from cli.main import main
from matching.decide import APART, LINK, REVIEW
from matching.lifecycle import (
    MATCH,
    NON_MATCH,
    compare_models,
    confusion_by_version,
    current_version,
    labelled_pairs,
    model_of,
    model_versions,
    promote,
)
from matching.settings import MODEL_VERSION, THRESHOLDS
from matching.stewardship import record_decision, undo_decision
from tests.integration.model_lifecycle import (
    SHIFTED,
    add_steward,
    conflicting_identifiers,
    load_population,
    rows,
    signed_in_console,
    store_shifted_model,
    sure_matches,
)
from warehouse.audit import verify_chain
from warehouse.db import transaction


@pytest.mark.postgres
def test_stewards_decisions_are_labels_and_each_model_version_gets_a_confusion_matrix(store: Path) -> None:
    load_population(store)
    store_shifted_model()
    matches, non_matches = sure_matches(4), conflicting_identifiers(3)
    assert len(matches) == 4 and len(non_matches) == 3
    with transaction() as conn:
        for a, b in matches:
            record_decision(conn, a, b, "must_link", steward="lead", reason="same NHS number and birth date")
        for a, b in non_matches:
            record_decision(conn, a, b, "cannot_link", steward="lead", reason="different NHS numbers")
        withdrawn = record_decision(conn, *non_matches[0], "must_link", steward="lead", reason="mistake")
        undo_decision(conn, withdrawn)

    with transaction() as conn:
        labels = labelled_pairs(conn)
        matrices = {m.version: m for m in confusion_by_version(conn)}

    # The undone decision is no label; the decision it covered stands.
    assert sorted((p.record_a, p.record_b, p.label) for p in labels) == sorted(
        [(a, b, MATCH) for a, b in matches] + [(a, b, NON_MATCH) for a, b in non_matches])
    assert set(matrices) == {MODEL_VERSION, SHIFTED}
    for matrix in matrices.values():
        assert matrix.labelled == 7
        assert matrix.count(LINK, MATCH) == 4          # the identifier rule links them under any weights
        assert matrix.count(APART, NON_MATCH) == 3     # conflicting identifiers keep them apart
        assert (matrix.precision, matrix.recall) == (1.0, 1.0)


@pytest.mark.postgres
def test_a_comparison_shows_how_many_pairs_a_retrained_model_would_decide_differently(store: Path) -> None:
    load_population(store)
    store_shifted_model()
    with transaction() as conn:
        reviewed = conn.execute(text("SELECT count(*) FROM identity.review_pair")).scalar_one()
        comparison = compare_models(conn, SHIFTED)
    assert reviewed > 0, "the population must give the linker some doubtful pairs"

    assert comparison.current == MODEL_VERSION
    assert comparison.pairs == reviewed
    assert sum(comparison.transitions.values()) == reviewed
    # Three more bits of evidence for every pair: review pairs within 3 of the link threshold now link, and
    # no pair moves down.
    assert comparison.changed > 0
    for before, after in comparison.transitions:
        assert (before, after) in {(REVIEW, REVIEW), (REVIEW, LINK), (APART, APART), (APART, REVIEW),
                                   (APART, LINK), (LINK, LINK)}
    assert comparison.examples
    for change in comparison.examples:
        assert change.current.decision != change.candidate.decision
        assert change.current.weight is not None and change.candidate.weight is not None
        assert change.candidate.weight - change.current.weight == pytest.approx(3.0, abs=0.01)
        if change.candidate.decision == LINK and change.candidate.rule == "match weight":
            assert change.candidate.weight >= THRESHOLDS.link > change.current.weight
        # Record ids and weights only: nothing that names a child; the review pair they came from.
        assert isinstance(change.record_a, int) and isinstance(change.record_b, int)
        assert change.pair_id is not None and rows(
            "SELECT record_a, record_b FROM identity.review_pair WHERE pair_id = :p", p=change.pair_id) == [
            (change.record_a, change.record_b)]


@pytest.mark.postgres
def test_promotion_is_audited_and_the_full_re_link_keeps_contactpoint_ids_stable(store: Path) -> None:
    load_population(store)
    store_shifted_model()
    add_steward("lead")
    add_steward("rita", role="reader")
    before = dict(rows("SELECT record_id, cp_id FROM identity.link"))
    with transaction() as conn:
        with pytest.raises(ValueError, match="reason"):
            promote(conn, SHIFTED, steward="lead", reason=" ", run_id="nope")
        with pytest.raises(PermissionError):
            promote(conn, SHIFTED, steward="rita", reason="try", run_id="nope")
        with pytest.raises(KeyError):
            promote(conn, "no-such-model", steward="lead", reason="try", run_id="nope")
        assert current_version(conn) == MODEL_VERSION

    with transaction() as conn:
        promotion = promote(conn, SHIFTED, steward="lead", reason="retrained on the autumn census", run_id="promote-1")

    with transaction() as conn:
        assert current_version(conn) == SHIFTED
        assert [v.version for v in model_versions(conn) if v.current] == [SHIFTED]
        promoted = model_of(conn, SHIFTED)["contactpoint_promotions"][-1]
        assert (promoted["reason"], promoted["run_id"], promoted["steward"]) == (
            "retrained on the autumn census", "promote-1", "lead")
        assert [v.promotions[-1]["previous"] for v in model_versions(conn) if v.version == SHIFTED] == [MODEL_VERSION]
        entry = conn.execute(text("SELECT username, action, detail FROM audit.entry "
                                  "WHERE action = 'model_promoted'")).one()
        assert verify_chain(conn, store.parent / "anchors.log").ok
    assert promotion.previous == MODEL_VERSION and promotion.relink.mode == "full"
    assert (entry.username, entry.detail["version"], entry.detail["previous"]) == ("lead", SHIFTED, MODEL_VERSION)
    assert entry.detail["records"] == len(before) and "retrained" not in json.dumps(entry.detail)

    # Every child whose records are unchanged keeps its ContactPoint ID; no ID is reused for other records.
    after = dict(rows("SELECT record_id, cp_id FROM identity.link"))
    groups_before: dict[str, frozenset[int]] = {}
    groups_after: dict[str, frozenset[int]] = {}
    for record, cp_id in before.items():
        groups_before[cp_id] = groups_before.get(cp_id, frozenset()) | {record}
    for record, cp_id in after.items():
        groups_after[cp_id] = groups_after.get(cp_id, frozenset()) | {record}
    unchanged = set(groups_before.values()) & set(groups_after.values())
    assert len(unchanged) > 0.9 * len(groups_before)
    by_members_before = {members: cp_id for cp_id, members in groups_before.items()}
    by_members_after = {members: cp_id for cp_id, members in groups_after.items()}
    assert all(by_members_before[m] == by_members_after[m] for m in unchanged)
    # A higher prior can only join children, never split one.
    assert promotion.relink.new_children == 0
    assert promotion.relink.children_merged == len(groups_before) - len(groups_after)

    # Promoting back is one more audited promotion, and the linker's model follows.
    with transaction() as conn:
        promote(conn, MODEL_VERSION, steward="lead", reason="roll back", run_id="promote-2")
        assert current_version(conn) == MODEL_VERSION
        assert conn.execute(text("SELECT count(*) FROM audit.entry WHERE action = 'model_promoted'")).scalar() == 2


@pytest.mark.postgres
def test_the_steward_lead_reads_the_matrices_compares_and_promotes_in_the_console(
        store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    load_population(store)
    store_shifted_model()
    secret = add_steward("lead")
    with transaction() as conn:
        a, b = sure_matches(1)[0]
        record_decision(conn, a, b, "must_link", steward="lead", reason="same NHS number")
    client = signed_in_console(monkeypatch, "lead", secret)

    overview = client.get("/console/model/")
    assert overview.status_code == 200
    text_only = html.unescape(overview.text)
    assert f"{MODEL_VERSION} current" in re.sub(r"<[^>]+>", "", text_only)
    assert f"/console/model/compare?candidate={SHIFTED}" in text_only
    assert "1 labelled pair(s)" in text_only and "Precision: 100.0%" in re.sub(r"<[^>]+>", "", text_only)

    compared = client.get("/console/model/compare", params={"candidate": SHIFTED})
    assert compared.status_code == 200
    with transaction() as conn:
        changed = compare_models(conn, SHIFTED).changed
    assert f"<strong>{changed}</strong> change decision" in compared.text
    # Each example leads to its review pair and to the children, whose pages check entitlements.
    assert re.search(r'href="/console/review/\d+"', compared.text)
    assert re.search(r'href="/console/identity/CP\d{9}[A-Z]"', compared.text)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', compared.text)
    assert csrf is not None
    assert client.get("/console/model/compare", params={"candidate": "nonsense"}).status_code == 404

    # A promotion needs the form's token and a reason; neither refusal changes the model.
    assert client.post("/console/model/promote", data={"version": SHIFTED, "reason": "x"}).status_code == 403
    refused = client.post("/console/model/promote", data={"version": SHIFTED, "reason": " ",
                                                           "csrf_token": csrf.group(1)})
    assert refused.status_code == 400 and "needs a reason" in refused.text
    with transaction() as conn:
        assert current_version(conn) == MODEL_VERSION

    done = client.post("/console/model/promote", data={"version": SHIFTED, "reason": "autumn retrain",
                                                       "csrf_token": csrf.group(1)})
    assert done.status_code == 200 and f"{SHIFTED} is now the linker" in done.text
    with transaction() as conn:
        assert current_version(conn) == SHIFTED
        assert conn.execute(text("SELECT username FROM audit.entry WHERE action = 'model_promoted'")).scalar() == "lead"

    history = html.unescape(client.get("/console/model/").text)
    assert f"lead, over {MODEL_VERSION} (promote-" in history and "autumn retrain" in history

    weights = client.get("/console/model/weights")
    assert weights.status_code == 200 and "<script" not in weights.text
    assert weights.text.count("stroke-dasharray") == 2  # both thresholds drawn
    assert f"Match weights of {SHIFTED}" in weights.text
    assert f"link threshold +1 (to {THRESHOLDS.link + 1:.1f})" in weights.text


@pytest.mark.postgres
def test_model_commands_list_compare_and_promote(store: Path, capsys: pytest.CaptureFixture[str]) -> None:
    load_population(store)
    store_shifted_model()
    add_steward("lead")
    add_steward("rita", role="reader")

    assert main(["model", "list"]) == 0
    listed = capsys.readouterr().out
    assert f"{MODEL_VERSION} (current): 0 labels" in listed and f"{SHIFTED}: 0 labels" in listed

    assert main(["model", "compare", SHIFTED, "--examples", "2"]) == 0
    compared = capsys.readouterr().out
    with transaction() as conn:
        comparison = compare_models(conn, SHIFTED)
    assert compared.startswith(f"{SHIFTED} against {MODEL_VERSION}: {comparison.pairs} labelled or reviewed pairs, "
                               f"{comparison.changed} change decision")

    assert main(["model", "promote", SHIFTED, "--reason", "retrained", "--steward", "rita"]) == 1
    assert "not an enabled steward" in capsys.readouterr().err
    assert main(["model", "promote", SHIFTED, "--reason", "retrained", "--steward", "lead"]) == 0
    assert f"{SHIFTED} promoted over {MODEL_VERSION}" in capsys.readouterr().out
    with transaction() as conn:
        assert current_version(conn) == SHIFTED
