"""A generated population delivered to the hub: what the linking, model and review stories start from."""

from __future__ import annotations

from pathlib import Path

from connectors.feeds import FEEDS
from pipeline.steps import run_feed
from tests.factories import drop
from tools.synthetic import generate


def deliver_population(store: Path, *, children: int, seed: int, fault_rate: float) -> Path:
    """Generate ``children`` with the generator's faults, send every feed's files to the drop zone as a sender
    does and run each feed; returns the generated folder (its ground truth says who is who)."""
    generated = store.parent / "generated"
    generate(generated, children=children, seed=seed, fault_rate=fault_rate)
    for feed in FEEDS:
        folder = generated / "inbound" / feed
        for path in sorted(folder.iterdir()) if folder.is_dir() else []:
            drop(store, feed, path.name, path.read_bytes())
        run_feed(feed, f"run-{feed}")
    return generated
