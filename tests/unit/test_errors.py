"""The class tree in wirehose.core.errors' docstring is the one the module defines."""

from __future__ import annotations

import inspect
import re

import pytest

from wirehose.core import errors

# One tree line: the drawing (indent, "│", "├──", "└──"), a class name, then its description.
_TREE_LINE = re.compile(r"^(?P<drawing>[ │├└─]*)(?P<name>[A-Za-z_]\w*)(?:\s|$)")


def parse_tree(doc: str) -> dict[str, str | None]:
    """Class name -> the name of its parent in the drawn tree (None for a root).

    The tree is the literal block after the line ending in ``::``; each level is indented four
    characters more than its parent, whether by spaces, "│   ", "├── " or "└── ".
    """
    lines = doc.splitlines()
    start = next(i for i, line in enumerate(lines) if line.rstrip().endswith("::")) + 1
    while start < len(lines) and not lines[start].strip():
        start += 1
    block: list[str] = []
    for line in lines[start:]:
        if not line.strip():
            break
        block.append(line)
    assert block, "no tree after the '::' line"
    margin = len(block[0]) - len(block[0].lstrip())
    parents: dict[str, str | None] = {}
    path: list[str] = []  # the ancestors of the current line, root first
    for line in block:
        match = _TREE_LINE.match(line[margin:])
        assert match, f"not a tree line: {line!r}"
        width, name = len(match["drawing"]), match["name"]
        assert width % 4 == 0, f"indent is not a multiple of four: {line!r}"
        depth = width // 4
        assert depth <= len(path), f"{name} is indented more than one level below its parent"
        assert name not in parents, f"{name} is drawn twice"
        del path[depth:]
        parents[name] = path[-1] if path else None
        path.append(name)
    return parents


def defined_exceptions() -> dict[str, type[BaseException]]:
    return {
        name: value
        for name, value in vars(errors).items()
        if inspect.isclass(value)
        and issubclass(value, BaseException)
        and value.__module__ == errors.__name__
    }


def test_the_docstring_tree_draws_every_exception_class_and_nothing_else() -> None:
    assert errors.__doc__ is not None
    drawn = set(parse_tree(errors.__doc__))
    defined = set(defined_exceptions())
    assert drawn - defined == set(), "drawn in the docstring but not defined in the module"
    assert defined - drawn == set(), "defined in the module but missing from the docstring tree"


def test_each_class_is_drawn_under_its_base() -> None:
    assert errors.__doc__ is not None
    classes = defined_exceptions()
    for name, parent in parse_tree(errors.__doc__).items():
        assert name in classes, f"{name} is drawn but not defined"
        bases = classes[name].__bases__
        local = [base.__name__ for base in bases if base.__module__ == errors.__name__]
        if parent is None:
            assert local == [], f"{name} is drawn as a root but derives from {local}"
        else:
            assert local == [parent], f"{name} is drawn under {parent} but derives from {local}"


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ("Tree::\n\n    A\n    └── B\n            └── C\n", "more than one level"),
        ("Tree::\n\n    A\n    ├── B\n    └── B\n", "drawn twice"),
        ("Tree::\n\n    A\n      └── B\n", "multiple of four"),
    ],
)
def test_the_parser_rejects_a_malformed_tree(doc: str, message: str) -> None:
    with pytest.raises(AssertionError, match=message):
        parse_tree(doc)


def test_the_parser_reads_nesting_and_returns_to_outer_levels() -> None:
    doc = "Tree::\n\n    A\n    ├── B\n    │   └── C\n    └── D\n\nAfter the tree.\n"
    assert parse_tree(doc) == {"A": None, "B": "A", "C": "B", "D": "A"}
