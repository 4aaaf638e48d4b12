"""Where the labelled story set is found, for the tests that score stories against it.

The set is read from ``WIREHOSE_LABELLED_STORIES``, else from ``shared/eval/basil`` beside the
checkout (BASIL: 300 real articles, 100 events each covered by three outlets). It is never
copied into the repository. Without it a test is skipped on a developer's machine, and fails
under CI: a story score that was not measured is not a passing one.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from wirehose.bench import stories_eval

BESIDE_CHECKOUT = Path(__file__).resolve().parents[2] / "shared" / "eval" / "basil"


def labelled_directory() -> Path:
    where = os.environ.get(stories_eval.ENVIRONMENT) or BESIDE_CHECKOUT
    try:
        return stories_eval.labelled_dir(where)
    except FileNotFoundError as missing:
        message = (
            f"no labelled story set ({missing}); set {stories_eval.ENVIRONMENT} to a directory "
            "holding articles.jsonl and events.json"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
