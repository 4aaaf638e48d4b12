"""Deterministic measures of work, for tests that check an input cannot take super-linear time.

Wall-clock time is no measure here: it depends on the machine and on what else runs. These
count work instead, and the same input always gives the same count.

``RegexSteps`` counts the steps of a backtracking regular-expression engine. Python's ``re``
does not expose how much it backtracked, so this re-implements matching for one compiled
pattern: the pattern's own parse tree (``re._parser``, what ``re.compile`` compiles) becomes a
small program for a backtracking machine that tries alternatives in the order ``re`` does
(a greedy repeat its longest run first, a lazy one its shortest, the left alternative first,
nothing back out of a possessive repeat or an atomic group) and counts each instruction it
executes. A catastrophic pattern costs this
machine as much as it costs ``re``, because both walk the same tree of choices; ``re``'s own
shortcuts (a literal prefix, a look at the next character before trying a repeat) save a
constant per step, never the exponent. Every call also returns what it matched, and
``check_against_re`` compares that with ``re``, so a test also shows the model reads the
pattern as ``re`` does.

``WorkMeter`` counts the work of a whole function: one unit per line of Python executed while
it runs (``sys.settrace``), plus the machine's steps for every call of a pattern of the modules
it watches (while it measures, their patterns are swapped for counting stand-ins). So it sees a
loop that runs too often, a pattern that backtracks, and a function that hands a pattern the
same text again and again. Work inside other C functions (``str.find``, ``json.loads``,
pydantic's validation) is one line of the caller; the code under test calls them so that each
scans only what it then consumes.
"""

from __future__ import annotations

import re
import sys
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from re import _constants as C
from re import _parser
from typing import Any

# --- the backtracking machine -------------------------------------------------------------------
_CHAR, _SPLIT, _JUMP, _AT, _SUB, _MATCH = range(6)
_STEP_LIMIT = 50_000_000  # a runaway pattern fails its test instead of hanging it


class StepLimitExceeded(RuntimeError):
    pass


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"


def _category(code: Any) -> Callable[[str], bool]:
    tests: dict[Any, Callable[[str], bool]] = {
        C.CATEGORY_DIGIT: str.isdecimal,
        C.CATEGORY_NOT_DIGIT: lambda c: not c.isdecimal(),
        C.CATEGORY_SPACE: str.isspace,
        C.CATEGORY_NOT_SPACE: lambda c: not c.isspace(),
        C.CATEGORY_WORD: _is_word,
        C.CATEGORY_NOT_WORD: lambda c: not _is_word(c),
        C.CATEGORY_LINEBREAK: lambda c: c == "\n",
        C.CATEGORY_NOT_LINEBREAK: lambda c: c != "\n",
    }
    return tests[code]


def _variants(char: str, ignore_case: bool) -> tuple[str, ...]:
    if not ignore_case:
        return (char,)
    return tuple({char, char.lower(), char.upper(), char.casefold()})


def _char_test(op: Any, av: Any, flags: int) -> Callable[[str], bool]:
    ignore_case = bool(flags & re.IGNORECASE)
    if op is C.ANY:
        return (lambda c: True) if flags & re.DOTALL else (lambda c: c != "\n")
    if op is C.LITERAL or op is C.NOT_LITERAL:
        wanted = frozenset(_variants(chr(av), ignore_case))
        inside = op is C.LITERAL
        return lambda c: (c in wanted or not wanted.isdisjoint(_variants(c, ignore_case))) == inside
    assert op is C.IN, op
    negate = False
    members: list[Callable[[str], bool]] = []
    for item, value in av:
        if item is C.NEGATE:
            negate = True
        elif item is C.LITERAL:
            members.append(chr(value).__eq__)
        elif item is C.RANGE:
            members.append(lambda c, lo=value[0], hi=value[1]: lo <= ord(c) <= hi)
        elif item is C.CATEGORY:
            members.append(_category(value))
        else:
            raise NotImplementedError(f"character set item {item}")

    def test(char: str) -> bool:
        variants = [v for v in _variants(char, ignore_case) if len(v) == 1]
        return any(member(v) for v in variants for member in members) != negate

    return test


def _at_test(code: Any, flags: int) -> Callable[[str, int], bool]:
    multiline = bool(flags & re.MULTILINE)

    def boundary(s: str, pos: int) -> bool:
        if not s:
            return False
        before = pos > 0 and _is_word(s[pos - 1])
        after = pos < len(s) and _is_word(s[pos])
        return before != after

    tests: dict[Any, Callable[[str, int], bool]] = {
        C.AT_BEGINNING: lambda s, p: p == 0 or (multiline and s[p - 1] == "\n"),
        C.AT_BEGINNING_STRING: lambda s, p: p == 0,
        C.AT_END: lambda s, p: (
            p == len(s) or (p == len(s) - 1 and s[p] == "\n") or (multiline and s[p] == "\n")
        ),
        C.AT_END_STRING: lambda s, p: p == len(s),
        C.AT_BOUNDARY: boundary,
        C.AT_NON_BOUNDARY: lambda s, p: bool(s) and not boundary(s, p),
    }
    return tests[code]


def _compile(items: Any, flags: int, program: list[Any]) -> None:
    """Append the instructions for the parsed ``items`` to ``program``."""
    for op, av in items:
        if op in (C.LITERAL, C.NOT_LITERAL, C.ANY, C.IN):
            program.append((_CHAR, _char_test(op, av, flags)))
        elif op is C.AT:
            program.append((_AT, _at_test(av, flags)))
        elif op is C.SUBPATTERN:
            _group, add, remove, body = av
            _compile(body, (flags | add) & ~remove, program)
        elif op is C.BRANCH:
            jumps = []
            alternatives = av[1]
            for index, alternative in enumerate(alternatives):
                if index < len(alternatives) - 1:
                    split = len(program)
                    program.append(None)
                    _compile(alternative, flags, program)
                    jumps.append(len(program))
                    program.append(None)
                    program[split] = (_SPLIT, split + 1, len(program))
                else:
                    _compile(alternative, flags, program)
            for jump in jumps:
                program[jump] = (_JUMP, len(program))
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT):
            _repeat(av, greedy=op is C.MAX_REPEAT, flags=flags, program=program)
        elif op is C.POSSESSIVE_REPEAT:
            inner: list[Any] = []
            _repeat(av, greedy=True, flags=flags, program=inner)
            inner.append((_MATCH,))
            program.append((_SUB, inner, "atomic", 0))
        elif op is C.ATOMIC_GROUP:
            program.append((_SUB, _subprogram(av, flags), "atomic", 0))
        elif op in (C.ASSERT, C.ASSERT_NOT):
            direction, body = av
            width = 0
            if direction < 0:
                low, high = body.getwidth()
                assert low == high, "look-behind has a fixed width in re"
                width = low
            kind = ("ahead" if direction > 0 else "behind") + ("" if op is C.ASSERT else "-not")
            program.append((_SUB, _subprogram(body, flags), kind, width))
        else:
            raise NotImplementedError(f"regex construct {op}")


def _subprogram(items: Any, flags: int) -> list[Any]:
    program: list[Any] = []
    _compile(items, flags, program)
    program.append((_MATCH,))
    return program


def _repeat(av: Any, *, greedy: bool, flags: int, program: list[Any]) -> None:
    low, high, body = av
    for _ in range(low):
        _compile(body, flags, program)
    if high is C.MAXREPEAT:
        if body.getwidth()[0] == 0:
            raise NotImplementedError("an unbounded repeat of something that can be empty")
        loop = len(program)
        program.append(None)
        _compile(body, flags, program)
        program.append((_JUMP, loop))
        after = len(program)
        program[loop] = (_SPLIT, loop + 1, after) if greedy else (_SPLIT, after, loop + 1)
        return
    splits = []
    for _ in range(high - low):
        splits.append(len(program))
        program.append(None)
        _compile(body, flags, program)
    after = len(program)
    for split in splits:
        program[split] = (_SPLIT, split + 1, after) if greedy else (_SPLIT, after, split + 1)


@dataclass
class RegexSteps:
    """A compiled pattern run on the counting machine. ``steps`` accumulates over calls."""

    pattern: re.Pattern[str]
    steps: int = 0
    _program: list[Any] = field(init=False, repr=False)
    _full: list[Any] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        tree = _parser.parse(self.pattern.pattern, self.pattern.flags)
        flags = tree.state.flags
        self._program = _subprogram(tree, flags)
        end_of_string = (_AT, _at_test(C.AT_END_STRING, flags))
        self._full = [*self._program[:-1], end_of_string, (_MATCH,)]

    def _run(self, program: list[Any], s: str, start: int) -> int | None:
        """End of the first match of ``program`` at ``start``, in ``re``'s order, or None."""
        stack = [(0, start)]
        while stack:
            pc, pos = stack.pop()
            while True:
                self.steps += 1
                if self.steps > _STEP_LIMIT:
                    raise StepLimitExceeded(self.pattern.pattern)
                instruction = program[pc]
                kind = instruction[0]
                if kind == _CHAR:
                    if pos < len(s) and instruction[1](s[pos]):
                        pc, pos = pc + 1, pos + 1
                        continue
                    break
                if kind == _SPLIT:
                    stack.append((instruction[2], pos))
                    pc = instruction[1]
                    continue
                if kind == _JUMP:
                    pc = instruction[1]
                    continue
                if kind == _AT:
                    if instruction[1](s, pos):
                        pc += 1
                        continue
                    break
                if kind == _SUB:
                    _, inner, how, width = instruction
                    if how == "atomic":
                        end = self._run(inner, s, pos)
                        if end is None:
                            break
                        pc, pos = pc + 1, end
                        continue
                    if how.startswith("ahead"):
                        found = self._run(inner, s, pos) is not None
                    else:
                        found = pos >= width and self._run(inner, s, pos - width) == pos
                    if found != how.endswith("-not"):
                        pc += 1
                        continue
                    break
                return pos  # _MATCH
        return None

    # The calls, as on re.Pattern. Each returns the span(s) matched; ``steps`` grows.
    def match(self, s: str, pos: int = 0) -> tuple[int, int] | None:
        end = self._run(self._program, s, pos)
        return None if end is None else (pos, end)

    def fullmatch(self, s: str, pos: int = 0) -> tuple[int, int] | None:
        end = self._run(self._full, s, pos)
        return None if end is None else (pos, end)

    def search(self, s: str, pos: int = 0) -> tuple[int, int] | None:
        for start in range(pos, len(s) + 1):
            end = self._run(self._program, s, start)
            if end is not None:
                return (start, end)
        return None

    def finditer(self, s: str) -> list[tuple[int, int]]:
        """Spans ``finditer`` (and so ``findall``, ``sub`` and ``split``) would find."""
        spans, pos = [], 0
        while (span := self.search(s, pos)) is not None:
            if span[0] == span[1]:
                raise NotImplementedError("patterns that match the empty string")
            spans.append(span)
            pos = span[1]
        return spans

    def cost(self, method: str, s: str) -> int:
        """Steps that one ``method`` call on ``s`` takes."""
        before = self.steps
        getattr(self, method)(s)
        return self.steps - before


def re_result(pattern: re.Pattern[str], method: str, s: str) -> Any:
    """What ``re`` itself gives for the same call, in ``RegexSteps``'s terms."""
    if method == "finditer":
        return [m.span() for m in pattern.finditer(s)]
    found = getattr(pattern, method)(s)
    return None if found is None else found.span()


def check_against_re(pattern: re.Pattern[str], method: str, s: str) -> int:
    """Steps of ``method`` on ``s``, after checking the machine matched what ``re`` matches."""
    machine = RegexSteps(pattern)
    got = getattr(machine, method)(s)
    want = re_result(pattern, method, s)
    assert got == want, f"the step counter read {pattern.pattern!r} unlike re: {got} != {want}"
    return machine.steps


# --- the work of a whole function ---------------------------------------------------------------
_PATTERN_CALLS = {"match", "fullmatch", "search", "sub", "subn", "split", "findall", "finditer"}


@contextmanager
def _untraced() -> Iterator[None]:
    """Stop the line count while the meter itself works (compiling a pattern for the machine
    runs code in ``re``), so that only the code under test is counted."""
    trace = sys.gettrace()
    sys.settrace(None)
    try:
        yield
    finally:
        sys.settrace(trace)


class _CountingPattern:
    """Stands in for a compiled pattern: does what it does, and charges the meter the steps the
    counting machine takes for the same call (checking it matched the same)."""

    def __init__(self, pattern: re.Pattern[str], meter: WorkMeter) -> None:
        self._pattern = pattern
        self._meter = meter
        self.pattern = pattern.pattern
        self.flags = pattern.flags

    def __getattr__(self, name: str) -> Any:
        if name not in _PATTERN_CALLS:
            return getattr(self._pattern, name)
        method = getattr(self._pattern, name)
        with _untraced():
            machine = self._meter.machine(self._pattern)

        def call(*args: Any, **kwargs: Any) -> Any:
            with _untraced():
                return counted(*args, **kwargs)

        def counted(*args: Any, **kwargs: Any) -> Any:
            assert not kwargs, f"{name}{kwargs}: not modelled"
            before = machine.steps
            if name in {"sub", "subn"}:
                machine.finditer(args[1])
            elif name in {"split", "findall", "finditer"}:
                assert len(args) == 1, f"{name} with {args[1:]}: not modelled"
                machine.finditer(args[0])
            else:
                span = getattr(machine, name)(*args)
                found = method(*args)
                assert span == (found.span() if found else None), self.pattern
                self._meter.units += machine.steps - before
                return found
            self._meter.units += machine.steps - before
            return method(*args)

        return call


class _CountingRe(types.ModuleType):
    """Stands in for the ``re`` module inside a watched module (``re.sub(r"...", ...)``)."""

    def __init__(self, meter: WorkMeter) -> None:
        super().__init__("re")
        self._meter = meter

    def __getattr__(self, name: str) -> Any:
        if name not in _PATTERN_CALLS:
            return getattr(re, name)

        def call(pattern: str, *args: Any, flags: int = 0) -> Any:
            with _untraced():
                counted = _CountingPattern(re.compile(pattern, flags), self._meter)
            return getattr(counted, name)(*args)

        return call


@dataclass
class WorkMeter:
    """Counts the Python lines executed, plus the counting machine's steps for every pattern
    the ``watched`` modules use (their compiled patterns, and ``re.sub(r"...")`` calls)."""

    watched: tuple[types.ModuleType, ...]
    units: int = 0
    _machines: dict[re.Pattern[str], RegexSteps] = field(default_factory=dict)

    def machine(self, pattern: re.Pattern[str]) -> RegexSteps:
        if pattern not in self._machines:
            self._machines[pattern] = RegexSteps(pattern)
        return self._machines[pattern]

    def _stand_in(self, value: Any) -> Any:
        if isinstance(value, re.Pattern):
            return _CountingPattern(value, self)
        if value is re:
            return _CountingRe(self)
        if (
            isinstance(value, dict)
            and value
            and all(isinstance(v, re.Pattern) for v in value.values())
        ):
            return {k: _CountingPattern(v, self) for k, v in value.items()}
        return value

    def measure(self, function: Callable[[], object]) -> int:
        """Work units ``function()`` takes; an exception it raises counts as its result."""
        saved: list[tuple[types.ModuleType, str, Any]] = []
        for module in self.watched:
            for name, value in list(vars(module).items()):
                stand_in = self._stand_in(value)
                if stand_in is not value:
                    saved.append((module, name, value))
                    setattr(module, name, stand_in)
        self.units = 0
        own = __file__

        def local(frame: types.FrameType, event: str, arg: object) -> Any:
            if event == "line":
                self.units += 1
            return local

        def start(frame: types.FrameType, event: str, arg: object) -> Any:
            return None if frame.f_code.co_filename == own else local

        sys.settrace(start)
        try:
            function()
        except Exception:  # the work it takes to reject an input counts like any other
            pass
        finally:
            sys.settrace(None)
            for module, name, value in saved:
                setattr(module, name, value)
        return self.units


def pumped(prefix: str, pump: str, suffix: str, n: int) -> str:
    """The attack string ``prefix + pump * n + suffix``."""
    return prefix + pump * n + suffix


def growth(cost: Callable[[int], int], n: int) -> float:
    """How much the cost grows when the input grows eightfold: ``cost(8n) / cost(n)``.

    An affine cost ``a + b*n`` gives at most 8; a quadratic one tends to 64.
    """
    return cost(8 * n) / max(1, cost(n))


def iter_patterns(module: types.ModuleType) -> Iterator[tuple[str, re.Pattern[str]]]:
    """The compiled patterns a module keeps at top level."""
    for name, value in vars(module).items():
        if isinstance(value, re.Pattern):
            yield name, value
