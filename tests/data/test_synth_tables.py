"""The synthetic history's tables are data files, and the doc shows exactly those files.

``docs/synthetic_history.md`` tables A, B, C and D are generated from ``training/data/synth_*``
(``python -m training.synth.tables --write``); a hand edit of either side alone fails here.
"""

from __future__ import annotations

import dataclasses

from features.catalog import load_catalog
from training.synth.tables import DOC_PATH, doc_blocks, load_synth_tables, render_doc_tables


def test_doc_tables_are_the_generated_ones() -> None:
    blocks = doc_blocks(DOC_PATH.read_text(encoding="utf-8"))
    rendered = render_doc_tables()
    assert set(blocks) == {"A", "B", "C", "D"}
    for name, body in rendered.items():
        assert blocks[name] == body, (
            f"docs/synthetic_history.md table {name} differs from training/data; "
            "run `python -m training.synth.tables --write`"
        )


def test_a_changed_table_changes_the_doc_table() -> None:
    # The comparison above can fail: a different utilisation renders a different table B.
    tables = load_synth_tables()
    fan = dataclasses.replace(tables.categories["fan"], util=0.123)
    changed = dataclasses.replace(tables, categories={**tables.categories, "fan": fan})
    assert "| 0.12 |" in render_doc_tables(changed)["B"]
    assert render_doc_tables(changed)["B"] != render_doc_tables()["B"]


def test_tables_cover_the_catalog() -> None:
    tables = load_synth_tables()
    catalog = load_catalog()
    assert set(tables.industries) == set(catalog.industry_codes)
    assert set(tables.categories) == set(catalog.category_codes)
    assert set(tables.names) == set(catalog.category_codes)
    for code, industry in tables.industries.items():
        assert industry.slots, code
        assert abs(sum(industry.shifts_p) - 1.0) < 1e-9, code
        assert {s.category for s in industry.slots} <= set(catalog.category_codes), code
    assert set(tables.load_shapes) == set(catalog.industry_codes)
    assert len(tables.climate_heating) == len(tables.climate_share)
