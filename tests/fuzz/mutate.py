"""Hypothesis strategies that mutate real inputs, and the diff that tells which fields moved.

A fuzz target gets (a) inputs generated from scratch and (b) real inputs (messages of the
BTC capture, real request bodies, a real config) mutated: a value replaced by any JSON
value, a key deleted or added, a list element dropped or doubled, a string edited by a
character, bytes flipped, inserted, deleted or the text cut short.

``changed_paths(before, after)`` lists the paths whose value differs (type-exact: ``1``,
``1.0`` and ``True`` differ), so a test can check "a row that parses equals the reference
row unless the mutation touched a field the row is made of" without tracking mutations.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from hypothesis import strategies as st

Path = tuple[Any, ...]

#: Strings that break naive parsers: number look-alikes, huge digit runs, non-ASCII
#: digits, a lone surrogate (not encodable as UTF-8), NUL, whitespace.
NASTY_STRINGS = [
    "",
    " ",
    "0",
    "-0",
    "0.0",
    "-1",
    "1e400",
    "-1e400",
    "1e-400",
    "NaN",
    "nan",
    "inf",
    "-Infinity",
    "1_000",
    " 1.5 ",
    "0x10",
    "١٢٣",  # Arabic-Indic digits: str.isdigit() is True
    "\ud800",
    "\x00",
    "9" * 5000,
    "B",
    "A",
    "BTC",
    "2026-02-31T00:00:00",
]
NASTY_INTS = [
    0,
    -1,
    2**31 - 1,
    2**31,
    2**63 - 1,
    2**63,
    -(2**63) - 1,
    2**64,
    10**30,
    10**400,  # float() of it overflows
]
NASTY_FLOATS = [0.0, -0.0, 1e-320, 1e308, math.inf, -math.inf, math.nan]


def scalars() -> st.SearchStrategy[Any]:
    """Any JSON scalar, biased towards the boundaries above."""
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.sampled_from(NASTY_INTS),
        st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from(NASTY_FLOATS),
        st.text(max_size=12),
        st.sampled_from(NASTY_STRINGS),
    )


def json_values(max_leaves: int = 6) -> st.SearchStrategy[Any]:
    """Any value ``json.loads`` can return (Python's json also yields NaN/Infinity)."""
    return st.recursive(
        scalars(),
        lambda inner: st.one_of(
            st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)
        ),
        max_leaves=max_leaves,
    )


def paths(doc: Any, prefix: Path = ()) -> Iterator[Path]:
    """Every path into ``doc`` (the root included)."""
    yield prefix
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from paths(v, (*prefix, i))


def _exists(doc: Any, path: Path) -> bool:
    for k in path:
        in_dict = isinstance(doc, dict) and k in doc
        in_list = isinstance(doc, list) and isinstance(k, int) and 0 <= k < len(doc)
        if not (in_dict or in_list):
            return False
        doc = doc[k]
    return True


def get(doc: Any, path: Path) -> Any:
    for k in path:
        doc = doc[k]
    return doc


def _copy(doc: Any) -> Any:
    if isinstance(doc, dict):
        return {k: _copy(v) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_copy(v) for v in doc]
    return doc


def edit_string(data: st.DataObject, s: str) -> str:
    """``s`` with one character inserted, deleted or replaced (number strings stay close)."""
    alphabet = st.sampled_from(list("0123456789.-+eE_ xAB\x00\u0661")) | st.characters()
    op = data.draw(st.sampled_from(["insert", "delete", "replace", "double"]))
    i = index(data, len(s))
    if op == "insert":
        return s[:i] + data.draw(alphabet) + s[i:]
    if op == "delete" and s:
        i = min(i, len(s) - 1)
        return s[:i] + s[i + 1 :]
    if op == "replace" and s:
        i = min(i, len(s) - 1)
        return s[:i] + data.draw(alphabet) + s[i + 1 :]
    return s + s


def mutate_doc(
    data: st.DataObject, doc: Any, n_max: int = 3, focus: list[Path] | tuple[Path, ...] = ()
) -> Any:
    """A copy of the decoded JSON ``doc`` with 1..n_max structural or value mutations.

    Half of the mutations hit a path of ``focus`` (the fields the output is made of) when
    one exists: a message has hundreds of paths and few that matter.
    """
    doc = _copy(doc)
    for _ in range(data.draw(st.integers(1, n_max))):
        targets = list(paths(doc))
        present = [p for p in focus if _exists(doc, p)]
        if present and data.draw(st.booleans()):
            targets = present
        path = data.draw(st.sampled_from(targets))
        node = get(doc, path)
        ops = ["replace"]
        if isinstance(node, str):
            ops += ["edit", "edit", "number"]
        if isinstance(node, int | float) and not isinstance(node, bool):
            ops += ["as_string", "as_other_number", "extreme"]
        if isinstance(node, dict):
            ops += ["delete_key", "add_key"]
        if isinstance(node, list):
            ops += ["drop", "double", "append"]
        op = data.draw(st.sampled_from(ops))
        if op == "replace":
            new: Any = data.draw(json_values())
        elif op == "edit":
            new = edit_string(data, node)
        elif op == "number":  # a string field given a JSON number instead
            new = data.draw(st.one_of(st.integers(), st.floats()))
        elif op == "as_string":
            new = repr(node)
        elif op == "as_other_number":
            new = _other_number(node)
        elif op == "extreme":  # a number at a type's edge: int64, double, NaN, -0.0
            new = data.draw(st.sampled_from(NASTY_INTS + NASTY_FLOATS))
        elif op == "delete_key":
            if node:
                del node[data.draw(st.sampled_from(list(node)))]
            continue
        elif op == "add_key":
            key = data.draw(st.text(max_size=6) | st.sampled_from(_field_names(doc)))
            node[key] = data.draw(json_values())
            continue
        elif op == "drop":
            if node:
                node.pop(index(data, len(node) - 1))
            continue
        elif op == "double":
            if node:
                j = index(data, len(node) - 1)
                node.insert(j, _copy(node[j]))
            continue
        else:  # append
            node.append(data.draw(json_values()))
            continue
        if path:
            get(doc, path[:-1])[path[-1]] = new
        else:
            doc = new
    return doc


def _other_number(x: float) -> float:
    """An int as a float (inf when too large) and a float as an int (0 when not finite)."""
    if isinstance(x, int):
        try:
            return float(x)
        except OverflowError:
            return math.inf
    return int(x) if math.isfinite(x) else 0


def _field_names(doc: Any) -> list[str]:
    """Keys used anywhere in ``doc`` (an added key may shadow a real field)."""
    names = {p[-1] for p in paths(doc) if p and isinstance(p[-1], str)}
    return sorted(names) or ["x"]


def index(data: st.DataObject, n: int) -> int:
    """A position in ``0..n`` drawn with bounds that do not depend on ``n`` (an input's
    length may vary between runs, e.g. a signature; hypothesis needs the same draws)."""
    return data.draw(st.integers(0, 2**20)) % (n + 1)


def mutate_bytes(data: st.DataObject, raw: bytes, n_max: int = 4) -> bytes:
    """``raw`` with bytes flipped, inserted, deleted, a run zeroed, or cut short."""
    b = bytearray(raw)
    for _ in range(data.draw(st.integers(1, n_max))):
        op = data.draw(st.sampled_from(["flip", "set", "insert", "delete", "zero_run", "cut"]))
        i = index(data, max(0, len(b) - 1))
        if op == "flip" and b:
            b[i] ^= 1 << data.draw(st.integers(0, 7))
        elif op == "set" and b:
            b[i] = data.draw(st.integers(0, 255))
        elif op == "insert":
            b[i:i] = data.draw(st.binary(min_size=1, max_size=8))
        elif op == "delete" and b:
            del b[i : i + data.draw(st.integers(1, 8))]
        elif op == "zero_run" and b:
            n = data.draw(st.integers(1, 50))
            b[i : i + n] = bytes(len(b[i : i + n]))
        elif op == "cut":
            del b[i:]
    return bytes(b)


def changed_paths(before: Any, after: Any, prefix: Path = ()) -> list[Path]:
    """Paths whose value differs between two decoded JSON documents (type-exact)."""
    if isinstance(before, dict) and isinstance(after, dict):
        out: list[Path] = []
        for k in before.keys() | after.keys():
            if k not in before or k not in after:
                out.append((*prefix, k))
            else:
                out += changed_paths(before[k], after[k], (*prefix, k))
        return out
    if isinstance(before, list) and isinstance(after, list):
        if len(before) != len(after):
            return [prefix]
        out = []
        for i, (a, b) in enumerate(zip(before, after, strict=True)):
            out += changed_paths(a, b, (*prefix, i))
        return out
    same = type(before) is type(after) and (
        before == after or (isinstance(before, float) and math.isnan(before) and math.isnan(after))
    )
    return [] if same else [prefix]


def touches(changed: list[Path], used: list[Path]) -> bool:
    """True when a changed path and a used path are on one branch (one a prefix of the
    other): the change reached a field the output is made of, or a container of one."""
    for c in changed:
        for u in used:
            n = min(len(c), len(u))
            if c[:n] == u[:n]:
                return True
    return False
