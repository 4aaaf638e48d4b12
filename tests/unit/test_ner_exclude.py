"""Which components a pipeline is loaded without, read from its own config."""

from __future__ import annotations

from pathlib import Path

import pytest
import spacy

from processors.entities.components import ner_exclude
from wirehose.core.errors import ModelError


def saved(tmp_path: Path, *components: str) -> str:
    nlp = spacy.blank("en")
    for name in components:
        nlp.add_pipe(name)
    nlp.to_disk(tmp_path / "pipeline")
    return str(tmp_path / "pipeline")


def test_a_rule_based_pipeline_is_loaded_whole(tmp_path: Path) -> None:
    # Its patterns may read any token attribute, so nothing of it can be left out.
    assert ner_exclude(saved(tmp_path, "sentencizer", "entity_ruler")) == ()


def test_a_pipeline_that_finds_no_entities_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="has no ner component"):
        ner_exclude(saved(tmp_path, "sentencizer"))
