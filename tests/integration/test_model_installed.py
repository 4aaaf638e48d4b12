"""The configured spaCy model is really installed and tags entities.

Fails (never skips) when the model is missing, with the message that says how to install it.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from processors.entities.model import load_pipeline, require_model
from wirehose.cli import cli
from wirehose.core.errors import ModelError
from wirehose.core.settings import get_settings


def test_configured_model_loads_and_tags_people() -> None:
    name = get_settings().spacy_model
    try:
        require_model(name)
        nlp = load_pipeline(name)
    except ModelError as exc:
        pytest.fail(str(exc))
    doc = nlp("Israeli Prime Minister Benjamin Netanyahu spoke with Vladimir Putin on Monday.")
    people = {ent.text for ent in doc.ents if ent.label_ == "PERSON"}
    assert people == {"Benjamin Netanyahu", "Vladimir Putin"}


def test_model_check_command_reports_the_model() -> None:
    result = CliRunner().invoke(cli, ["model", "check", "--json"])
    assert result.exit_code == 0, result.output
    assert '"model": "' + get_settings().spacy_model + '"' in result.output
    assert '"Vladimir Putin"' in result.output
