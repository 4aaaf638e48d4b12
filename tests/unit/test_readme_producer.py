"""The README's "Adding a producer" example is real code: run it against a fake endpoint."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from producers.base import Retry
from producers.fetch import make_client

README = Path(__file__).resolve().parents[2] / "README.md"


def _example_namespace() -> dict[str, Any]:
    section = README.read_text().split("## Adding a producer", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert code, "the README lost its producer example"
    source = code.group(1)
    # Everything up to the run: the class definition and its imports.
    definition = source.split("settings = get_settings()")[0]
    namespace: dict[str, Any] = {}
    exec(compile(definition, "README.md", "exec"), namespace)
    return namespace


def _source_answering(response: httpx.Response) -> Any:
    source = _example_namespace()["LatestApi"]("https://api.example.com/latest")
    assert source.client.follow_redirects is False  # a client from producers.fetch
    source.client = make_client(transport=httpx.MockTransport(lambda request: response))
    return source


def test_the_readme_source_turns_api_items_into_articles() -> None:
    payload = {
        "articles": [
            {
                "title": "Ceasefire talks",
                "body": "Talks resumed in Cairo.",
                "url": "https://example.com/a",
            }
        ]
    }
    source = _source_answering(httpx.Response(200, json=payload))
    (article,) = source.poll()
    assert article.title == "Ceasefire talks"
    assert article.producer == "json:https://api.example.com/latest"
    assert article.url == "https://example.com/a"


def test_the_readme_source_waits_on_429() -> None:
    source = _source_answering(httpx.Response(429))
    with pytest.raises(Retry) as caught:
        source.poll()
    assert caught.value.after == 60
