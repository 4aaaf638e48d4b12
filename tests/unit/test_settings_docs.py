"""Every setting is documented: docs/settings.md carries the generated table, up to date."""

from __future__ import annotations

import re
from pathlib import Path

from wirehose.cli.settings import markdown_table
from wirehose.core.settings import Settings

DOCS = Path(__file__).resolve().parents[2] / "docs" / "settings.md"


def _documented_block() -> str:
    text = DOCS.read_text()
    match = re.search(r"<!-- settings:begin -->\n(.*)\n<!-- settings:end -->", text, re.DOTALL)
    assert match, "docs/settings.md lost its settings markers"
    return match.group(1)


def test_every_setting_has_a_description() -> None:
    missing = [
        name
        for name, field in Settings.model_fields.items()
        if not (field.description or "").strip()
    ]
    assert missing == []


def test_docs_table_is_current() -> None:
    # Regenerate with: wirehose settings --markdown (and paste between the markers).
    assert _documented_block() == markdown_table()


def test_every_env_variable_appears_in_the_docs() -> None:
    block = _documented_block()
    for name in Settings.model_fields:
        assert f"`WIREHOSE_{name.upper()}`" in block
