"""The link step on Spark: the same linkage as ``matching.linkage``, for a store no one machine holds.

Nothing is decided differently. Splink scores the blocked pairs with the same model on its Spark backend;
each partition of scored pairs goes through the same ``decide_pairs``; the links found form connected
components (min-label propagation, a few rounds: a child has a handful of records), and each component is
clustered by the same constrained ``cluster`` in a pandas UDF. Clustering a component alone gives what
clustering everything at once gives, because no link and no constraint crosses a component. The driver only
ever holds the pairs for review and the few IDs whose carry-over is contested.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import pandas as pd

from matching.cluster import RecordKeys, cluster
from matching.decide import (
    APART,
    AS_NEAR_ANOTHER_CHILD,
    COPIED_IDENTIFIER_RULES,
    DOB_DIFFERENT,
    FORENAME_ALIKE,
    GENDER_DIFFERS,
    LINK,
    MATCH_WEIGHT,
    NEARNESS,
    REVIEW,
    SAME_POSTCODE,
    SURNAME_CLOSE,
    THROUGH_A_MIDDLE_NAME_READ_ALONE,
    TWO_CHILDREN_RULES,
    decide_pairs,
    doubtful_triangle,
    names_of,
    needs_an_identifier,
    read_alone,
)
from matching.linkage import RULE_WEIGHT, IdentifiersByGroup, explanation, still_asked, upn_key
from matching.model import (
    KEPT_HOMES,
    SPLINK_LOG_LEVEL,
    _fresh,
    _register_term_frequencies,
    _splink_settings,
    scored_columns,
    twins_seen,
)
from matching.moves import (
    BORN_THAT_DAY,
    DECIDED_BY_WEIGHT,
    across_known_moves,
    moves_of_pairs,
    same_home_weight,
    scoring_floor,
)
from matching.settings import MODEL_VERSION, THRESHOLDS, Thresholds, structure_of

Pairs = Iterable[tuple[str, str]]


@dataclass
class SparkLinkage:
    """``groups``: a Spark DataFrame (record_id, group_id: the group's smallest record id) of every record;
    ``review``: the pairs a steward should see, as ``matching.linkage.Linkage.review``."""

    groups: Any
    review: list[dict[str, Any]]
    pairs_scored: int
    links: int


def score(api: Any, records: Any, model: dict[str, Any], threshold: float) -> Any:
    """Every blocked pair of ``records`` scoring at least ``threshold``: ids, weight, gammas, weights."""
    from splink import Linker

    # A Spark session outlives a link step: each step's records get their own view name.
    table = api.register(records, dataset_display_name="records", table_name=_fresh("records"))
    linker = Linker(table, _splink_settings(model, "spark"), log_level=SPLINK_LOG_LEVEL)
    _register_term_frequencies(linker, model, api)
    predictions = linker.inference.predict(threshold_match_weight=threshold).as_spark_dataframe()
    return predictions.selectExpr(*scored_columns(model, list(predictions.columns), "`"))


def decide(pairs: Any, thresholds: Thresholds = THRESHOLDS, *, twins: bool = True) -> Any:
    """``decide_pairs`` on every partition; pairs decided apart are dropped unless they say two records are two
    children where the population holds twins (``links_as_near_another_child`` reads those), or the weight
    decided them at two homes (a known move may lift them: ``across_moves``)."""
    from pyspark.sql.types import StringType, StructField, StructType

    schema = StructType([*pairs.schema.fields, StructField("decision", StringType()),
                         StructField("rule", StringType())])

    def apply(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            if batch.empty:
                continue
            decided = decide_pairs(batch, thresholds, twins_seen=twins)
            at_two_homes = pd.Series([m is not None for m in moves_of_pairs(decided)], index=decided.index)
            kept = (decided["decision"] != APART) | ((decided["rule"] == MATCH_WEIGHT) & at_two_homes)
            yield decided[(kept | decided["rule"].isin(TWO_CHILDREN_RULES)) if twins else kept]

    return pairs.mapInPandas(apply, schema)


def across_moves(decided: Any, model: dict[str, Any], thresholds: Thresholds, *, twins: bool, floor: float) -> Any:
    """``matching.moves.known_moves`` and ``across_known_moves`` on Spark: the moves found in joins (a pair a rule
    links; two children's pairs born that day that would link at one home) are joined to every pair at two homes;
    each partition then lifts its pairs on a known move alike. Pairs left below ``floor`` are dropped, as on
    DuckDB."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType, StructField, StructType

    weight = same_home_weight(model)
    if weight is None or not set(KEPT_HOMES) <= set(decided.columns):
        return decided.where(F.col("match_weight") >= floor)
    columns = decided.columns
    schema = StructType([*decided.schema.fields, StructField("move_one", StringType()),
                         StructField("move_other", StringType())])

    def mark(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            moves = moves_of_pairs(batch)
            one = pd.Series([m[0] if m else None for m in moves], index=batch.index, dtype=object)
            other = pd.Series([m[1] if m else None for m in moves], index=batch.index, dtype=object)
            yield batch.assign(move_one=one, move_other=other)

    marked = decided.mapInPandas(mark, schema).localCheckpoint()
    move = ["move_one", "move_other"]
    by_weight = F.col("rule").isin(sorted(DECIDED_BY_WEIGHT))
    by_rule = marked.where((F.col("decision") == LINK) & ~by_weight & F.col("move_one").isNotNull()).select(*move)
    # A child: a record with the records it links to at its own home (``known_moves``), ids compared as text.
    one, other = F.col("unique_id_l").cast("string"), F.col("unique_id_r").cast("string")
    at_home = marked.where((F.col("decision") == LINK) & F.col("move_one").isNull())
    child = (at_home.select(one.alias("record"), other.alias("linked"))
             .unionByName(at_home.select(other.alias("record"), one.alias("linked")))
             .groupBy("record").agg(F.least(F.min("linked"), F.col("record")).alias("child")))
    left, right = child.alias("left_child"), child.alias("right_child")
    at_one_home = F.col("match_weight") - F.col("mw_household") + F.lit(weight)
    two_children = (marked.where(by_weight & F.col("move_one").isNotNull() & (at_one_home >= thresholds.link)
                                 & F.col("gamma_dob").isin(*BORN_THAT_DAY))
                    .join(left, one == F.col("left_child.record"), "left")
                    .join(right, other == F.col("right_child.record"), "left")
                    .select(*move, F.coalesce(F.col("left_child.child"), one).alias("x"),
                            F.coalesce(F.col("right_child.child"), other).alias("y"))
                    .select(*move, F.least("x", "y").alias("x"), F.greatest("x", "y").alias("y")).distinct()
                    .groupBy(*move).count().where(F.col("count") >= 2).select(*move))
    known = by_rule.unionByName(two_children).distinct().withColumn("known", F.lit(True))

    def lift(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            on = batch["known"].eq(True)
            moves = set(zip(batch.loc[on, "move_one"], batch.loc[on, "move_other"], strict=True))
            pair_moves = [None if a is None or pd.isna(a) else (a, b)
                          for a, b in zip(batch["move_one"], batch["move_other"], strict=True)]
            lifted = across_known_moves(batch[columns], moves, weight, thresholds, twins_seen=twins,
                                        pair_moves=pair_moves)
            yield lifted[lifted["match_weight"] >= floor]

    return marked.join(known, ["move_one", "move_other"], "left").mapInPandas(lift, decided.schema)


def both_ways(frame: Any, other: str, *extra: Any, one: str = "record") -> Any:
    """Each pair of ``frame`` twice, as (``one``, ``other``) and the other way round, with the ``extra`` columns."""
    from pyspark.sql import functions as F

    forward = frame.select(F.col("unique_id_l").alias(one), F.col("unique_id_r").alias(other), *extra)
    return forward.unionByName(frame.select(F.col("unique_id_r").alias(one), F.col("unique_id_l").alias(other),
                                            *extra))


def links_as_near_another_child(decided: Any, records: Any) -> Any:
    """``matching.decide.links_as_near_another_child`` in Spark joins: the same triangles, the same exceptions."""
    from pyspark.sql import functions as F

    nearness = F.coalesce(F.create_map(*(F.lit(x) for pair in NEARNESS.items() for x in pair))[F.col("gamma_forename")],
                          F.lit(0))
    scored = decided.withColumn("nearness", nearness)

    not_other_sex = (F.col("gamma_gender") != GENDER_DIFFERS) if "gamma_gender" in decided.columns else F.lit(True)
    linked = both_ways(scored.where((F.col("decision") == LINK) & F.col("nearness").between(1, 2)), "linked",
                       F.col("nearness").alias("nearness_linked"))
    one_family = ((F.col("gamma_surname") >= SURNAME_CLOSE) & (F.col("gamma_dob") > DOB_DIFFERENT)
                  & (F.col("gamma_household") >= SAME_POSTCODE))
    near = both_ways(scored.where((F.col("nearness") >= 1) & one_family & not_other_sex), "near",
                     F.col("nearness").alias("nearness_near"))
    apart = both_ways(scored.where(F.col("rule").isin(sorted(TWO_CHILDREN_RULES))), "near",
                      F.col("rule").alias("apart_rule")).withColumnRenamed("record", "linked")
    carrying_a_copy = both_ways(scored.where(F.col("rule").isin(sorted(COPIED_IDENTIFIER_RULES))), "other"
                                ).select(F.col("record").alias("carrier"), F.lit(True).alias("carries")).distinct()
    names = records.select(F.col("unique_id").alias("who"), F.col("given_names").alias("names"))

    def named(column: str, alias: str) -> Any:
        return names.withColumnRenamed("who", column).withColumnRenamed("names", alias)

    def carried(column: str, alias: str) -> Any:
        return carrying_a_copy.withColumnRenamed("carrier", column).withColumnRenamed("carries", alias)

    triangles = (linked.join(near, "record")
                 .where((F.col("linked") != F.col("near")) & (F.col("nearness_near") >= F.col("nearness_linked")))
                 .join(apart, ["linked", "near"])
                 .join(named("record", "record_names"), "record", "left")
                 .join(named("linked", "linked_names"), "linked", "left")
                 .join(named("near", "near_names"), "near", "left")
                 .join(carried("linked", "linked_carries"), "linked", "left")
                 .join(carried("near", "near_carries"), "near", "left")
                 .select("record", "linked", "apart_rule", "record_names", "linked_names", "near_names",
                         "linked_carries", "near_carries"))

    def judge(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            hit = [doubtful_triangle(rule, names_of(r), names_of(a), names_of(b),
                                     copy_carried=bool(x is True or y is True))
                   for rule, r, a, b, x, y in zip(batch["apart_rule"], batch["record_names"], batch["linked_names"],
                                                  batch["near_names"], batch["linked_carries"], batch["near_carries"],
                                                  strict=True)]
            yield batch.loc[hit, ["record", "linked"]]

    return links_to_review(decided, triangles.mapInPandas(judge, "record string, linked string"),
                           AS_NEAR_ANOTHER_CHILD)


def links_to_review(decided: Any, doubtful: Any, rule: str) -> Any:
    """``decided`` with its links between the records of each ``doubtful`` pair (two string columns, either order)
    sent to a steward under ``rule``."""
    from pyspark.sql import functions as F

    one, other = doubtful.columns[:2]
    doubtful = (doubtful.select(F.least(one, other).alias("one"), F.greatest(one, other).alias("other"))
                .distinct().withColumn("doubtful", F.lit(True)))
    marked = decided.join(doubtful, (F.least("unique_id_l", "unique_id_r") == F.col("one"))
                          & (F.greatest("unique_id_l", "unique_id_r") == F.col("other")), "left")
    marked = marked.withColumn("hit", F.coalesce(F.col("doubtful"), F.lit(False)) & (F.col("decision") == LINK))
    return (marked.withColumn("decision", F.when(F.col("hit"), F.lit(REVIEW)).otherwise(F.col("decision")))
            .withColumn("rule", F.when(F.col("hit"), F.lit(rule)).otherwise(F.col("rule")))
            .drop("one", "other", "doubtful", "hit"))


def links_through_a_middle_name_read_alone(decided: Any, records: Any) -> Any:
    """``matching.decide.links_through_a_middle_name_read_alone`` in Spark joins: a link through a middle name,
    another record alike to the one that took it, judged by ``read_alone``."""
    from pyspark.sql import functions as F

    alike = F.col("gamma_forename").isin(*FORENAME_ALIKE)
    taking = both_ways(decided.where((F.col("decision") == LINK) & ~alike), "giver", one="taker")
    partners = both_ways(decided.where(alike & F.col("decision").isin(LINK, REVIEW)
                                       & ~F.col("rule").isin(sorted(TWO_CHILDREN_RULES))), "partner", one="taker")
    names = records.select(F.col("unique_id").alias("who"), F.col("given_names").alias("names"))

    def named(column: str, alias: str) -> Any:
        return names.withColumnRenamed("who", column).withColumnRenamed("names", alias)

    triangles = (taking.join(partners, "taker").where(F.col("partner") != F.col("giver"))
                 .join(named("taker", "taker_names"), "taker", "left")
                 .join(named("giver", "giver_names"), "giver", "left")
                 .join(named("partner", "partner_names"), "partner", "left")
                 .select("taker", "giver", "taker_names", "giver_names", "partner_names"))

    def judge(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            hit = [read_alone(names_of(t), names_of(g), names_of(p)) for t, g, p in
                   zip(batch["taker_names"], batch["giver_names"], batch["partner_names"], strict=True)]
            yield batch.loc[hit, ["taker", "giver"]]

    return links_to_review(decided, triangles.mapInPandas(judge, "taker string, giver string"),
                           THROUGH_A_MIDDLE_NAME_READ_ALONE)


def components(edges: Any) -> Any:
    """(node, component) for every node of the undirected ``edges`` (a, b: longs); component = smallest node."""
    from pyspark.sql import functions as F

    both = edges.select("a", "b").union(edges.select(F.col("b").alias("a"), F.col("a").alias("b"))).distinct()
    both = both.localCheckpoint()
    labels = both.groupBy(F.col("a").alias("node")).agg(F.least(F.min("b"), F.col("node")).alias("component"))
    labels = labels.localCheckpoint()
    while True:
        neighbours = labels.select(F.col("node").alias("b"), F.col("component").alias("label"))
        lowest = both.join(neighbours, "b").groupBy(F.col("a").alias("node")).agg(F.min("label").alias("lowest"))
        updated = (labels.withColumnRenamed("component", "before").join(lowest, "node")
                   .select("node", F.least("before", "lowest").alias("component"), "before").localCheckpoint())
        if updated.where(F.col("component") != F.col("before")).limit(1).count() == 0:
            return updated.select("node", "component")
        labels = updated.select("node", "component")


def _text(value: Any) -> str | None:
    """A key as text, or None: Arrow hands an all-null column to pandas as NaN, which is truthy and would
    make every record of a component look like one child's."""
    return None if value is None or pd.isna(value) or value == "" else str(value)


def _cluster_component(must: set[tuple[str, str]], cannot: set[tuple[str, str]], children_may_merge: bool,
                       temporary_upns_count: bool) -> Any:
    def apply(records: pd.DataFrame, links: pd.DataFrame) -> pd.DataFrame:
        keys = [RecordKeys(str(r), _text(n), upn_key(_text(u), temporary_upns_count), _text(c))
                for r, n, u, c in zip(records["record_id"], records["nhs_number"], records["upn"], records["cp_id"],
                                      strict=True)]
        a, b = links["a"].astype(str), links["b"].astype(str)
        needs = links["needs_identifier"].fillna(False).astype(bool)
        outcome = cluster(keys, zip(a, b, links["weight"], strict=True), must_link=must, cannot_link=cannot,
                          children_may_merge=children_may_merge,
                          needing_an_identifier=zip(a[needs], b[needs], strict=True))
        rows: list[tuple[int, int | None, int | None, str | None]] = []
        for members in outcome.groups().values():
            group_id = min(int(m) for m in members)
            rows.extend((int(m), group_id, None, None) for m in members)
        rows.extend((int(a), None, int(b), reason) for a, b, reason in outcome.refused)
        frame = pd.DataFrame(rows, columns=["record_id", "group_id", "other_id", "reason"])
        return frame.astype({"record_id": "int64", "group_id": "Int64", "other_id": "Int64", "reason": "object"})

    return apply


def link_records(api: Any, records: Any, model: dict[str, Any], *, must_link: Pairs = (), cannot_link: Pairs = (),
                 thresholds: Thresholds = THRESHOLDS) -> SparkLinkage:
    """Link ``records`` (Spark DataFrame: ``record_id``, ``unique_id`` and the feature columns) among themselves:
    what ``matching.linkage.link_frames`` does for a full link, on Spark."""
    from pyspark.sql import functions as F

    spark = records.sparkSession
    must, cannot = set(must_link), set(cannot_link)
    floor = min(thresholds.review, thresholds.link)
    scored = score(api, records, model, scoring_floor(model, floor)).localCheckpoint()
    twins = twins_seen(model)
    decided = across_moves(decide(scored, thresholds, twins=twins), model, thresholds, twins=twins,
                           floor=floor).localCheckpoint()
    if twins:
        decided = links_as_near_another_child(decided, records).localCheckpoint()
        decided = links_through_a_middle_name_read_alone(decided, records).localCheckpoint()
    pairs_scored = scored.count()
    rule_weight = F.when(~F.col("rule").isin(sorted(DECIDED_BY_WEIGHT)), F.lit(RULE_WEIGHT)).otherwise(
        F.col("match_weight"))
    links = needing_an_identifier(decided.where(F.col("decision") == LINK), twins=twins).select(
        F.col("unique_id_l").cast("long").alias("a"), F.col("unique_id_r").cast("long").alias("b"),
        rule_weight.cast("double").alias("weight"), "needs_identifier").localCheckpoint()
    links_count = links.count()
    stewarded = spark.createDataFrame([(int(a), int(b)) for a, b in must], "a long, b long")
    nodes = components(links.select("a", "b").union(stewarded))
    temporary_upns_count = structure_of(model) == MODEL_VERSION
    keyed = records.select(F.col("record_id").cast("long").alias("record_id"), "nhs_number", "upn",
                           F.lit(None).cast("string").alias("cp_id"))
    # Each side gets its own copy of the component column (an alias is a new column): a cogroup of two
    # frames that share one column's lineage is ambiguous to Spark.
    in_components = keyed.join(nodes, keyed.record_id == nodes.node).select(
        "record_id", "nhs_number", "upn", "cp_id", nodes.component.alias("component"))
    component_links = links.join(nodes, links.a == nodes.node).select(
        "a", "b", "weight", "needs_identifier", nodes.component.alias("component"))
    clustered = (in_components.groupBy("component").cogroup(component_links.groupBy("component"))
                 .applyInPandas(_cluster_component(must, cannot, children_may_merge=True,
                                                   temporary_upns_count=temporary_upns_count),
                                "record_id long, group_id long, other_id long, reason string")).localCheckpoint()
    assigned = clustered.where(F.col("group_id").isNotNull()).select("record_id", "group_id")
    groups = (keyed.select("record_id").join(assigned, "record_id", "left")
              .select("record_id", F.coalesce("group_id", "record_id").alias("group_id"))).localCheckpoint()
    review = _review(decided, groups, clustered.where(F.col("other_id").isNotNull()), must | cannot)
    # The groups of every record a review pair touches are known here, so are those of the steward's cannot-links
    # that matter (a cannot-link outside them separates no group a pair touches).
    review = still_asked(review, _identifiers_of_groups(keyed, groups, review, temporary_upns_count), cannot)
    return SparkLinkage(groups, review, pairs_scored=pairs_scored, links=links_count)


def _identifiers_of_groups(keyed: Any, groups: Any, review: list[dict[str, Any]],
                           temporary_upns_count: bool) -> IdentifiersByGroup:
    """The NHS numbers and UPNs of the groups the review pairs touch (the driver holds only those)."""
    from pyspark.sql import functions as F

    involved = sorted({int(r) for e in review for r in (e["record_a"], e["record_b"])})
    if not involved:
        return IdentifiersByGroup([], {})
    touched = groups.where(F.col("record_id").isin(involved)).select("group_id").distinct()
    members = groups.join(touched, "group_id").join(keyed.select("record_id", "nhs_number", "upn"),
                                                     "record_id").toPandas()
    keys = [RecordKeys(str(r), _text(n), upn_key(_text(u), temporary_upns_count))
            for r, n, u in zip(members["record_id"], members["nhs_number"], members["upn"], strict=True)]
    return IdentifiersByGroup(keys, {str(r): str(g) for r, g in zip(members["record_id"], members["group_id"],
                                                                    strict=True)})


def needing_an_identifier(decided: Any, *, twins: bool) -> Any:
    """``decided`` with ``needs_identifier``: ``matching.decide.needs_an_identifier`` where the population holds
    twins (read after a known move set both records at one home, as on DuckDB), else False."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import BooleanType, StructField, StructType

    if not twins:
        return decided.withColumn("needs_identifier", F.lit(False))

    def mark(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            yield batch.assign(needs_identifier=needs_an_identifier(batch))

    return decided.mapInPandas(mark, StructType([*decided.schema.fields,
                                                 StructField("needs_identifier", BooleanType())]))


def _review(decided: Any, groups: Any, refused: Any, stewarded_pairs: set[tuple[str, str]]) -> list[dict[str, Any]]:
    """Pairs for review whose records ended in different groups, then links a constraint refused."""
    from pyspark.sql import functions as F

    stewarded = stewarded_pairs | {(b, a) for a, b in stewarded_pairs}
    left, right = groups.alias("gl"), groups.alias("gr")
    open_pairs = (decided.where(F.col("decision") == REVIEW)
                  .join(left, F.col("unique_id_l").cast("long") == F.col("gl.record_id"))
                  .join(right, F.col("unique_id_r").cast("long") == F.col("gr.record_id"))
                  .where(F.col("gl.group_id") != F.col("gr.group_id"))
                  .drop("record_id", "group_id"))
    out = [_entry(pair, str(pair["rule"])) for pair in _rows(open_pairs)
           if (str(pair["unique_id_l"]), str(pair["unique_id_r"])) not in stewarded]
    refusals = refused.select(F.col("record_id").cast("string").alias("unique_id_l"),
                              F.col("other_id").cast("string").alias("unique_id_r"), "reason")
    for pair in _rows(decided.join(refusals, ["unique_id_l", "unique_id_r"])):
        if (str(pair["unique_id_l"]), str(pair["unique_id_r"])) not in stewarded:
            out.append(_entry(pair, f"would link, but {pair['reason']}"))
    return out


def _rows(frame: Any) -> Iterator[pd.Series]:
    for _, row in frame.toPandas().iterrows():
        yield row


def _entry(pair: pd.Series, reason: str) -> dict[str, Any]:
    return {"record_a": str(pair["unique_id_l"]), "record_b": str(pair["unique_id_r"]),
            "match_weight": float(pair["match_weight"]), "reason": reason, "explanation": explanation(pair)}
