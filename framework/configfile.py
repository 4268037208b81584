"""``generate-config`` and ``validate-config``: the config file, written out and checked.

:func:`generate_config` writes every option of every section with its default, read
from the classes themselves so it never drifts from the code: the sections' attrs
fields (:mod:`framework.config`) with the comments above them in the source and the
rule of their validator, ``[fills]`` from :class:`framework.fills.config.FillSimConfig`
and each ``[estimators.<name>]`` from the estimator's ``__init__``, both described by
their numpydoc ``Parameters``.  Options are written in the sshd_config style: ``#key =
default`` (no space after ``#``) is an option at its default, to uncomment and change;
``# text`` is prose.  So the generated file changes nothing, and pins no default.

:func:`config_report` lists every problem of a config (its file, the ``MM_*``
environment variables, and the files it names, such as ``[live] keystore``), one line
each; ``validate-config`` prints them and exits 1, or 0 when there is none.
"""

from __future__ import annotations

import inspect
import re
import sys
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from framework import config as C

__all__ = [
    "config_report",
    "generate_config",
    "live_problems",
    "numpydoc_params",
    "source_comments",
    "validate_config_command",
]

HEADER = """\
# market-maker configuration: every option with its default.
#
# Written by `market-maker generate-config` from the code's config classes, so it is
# complete and current.  `#key = value` (no space after '#') is an option at its
# default: uncomment the line and change the value to set it.  `# text` is a comment.
# Precedence: command-line flags > environment variables MM_<SECTION>_<KEY> (e.g.
# MM_RISK_MAX_DRAWDOWN=0.03) > this file > the defaults shown here.
# Check a file with `market-maker validate-config FILE` (or `-` for stdin).
# The private key is never in this file: it comes from HL_PRIVATE_KEY, or from the
# encrypted keystore file [live] keystore names, with its password in HL_KEYSTORE_PASSWORD.
"""

WIDTH = 90


# -- reading the classes ------------------------------------------------------------------
def source_comments(cls: type) -> dict[str, list[str]]:
    """The comment lines directly above each annotated field of ``cls`` in its source
    (``#`` and ``#:`` stripped), by field name."""
    import ast
    import textwrap

    try:
        lines, _ = inspect.getsourcelines(cls)
    except (OSError, TypeError):  # no source (frozen app): no comments, options still listed
        return {}
    source = textwrap.dedent("".join(lines))
    tree = ast.parse(source)
    node = tree.body[0] if tree.body else None
    if not isinstance(node, ast.ClassDef):
        return {}
    text = source.splitlines()
    out: dict[str, list[str]] = {}
    for stmt in node.body:
        if not (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)):
            continue
        k = stmt.lineno - 2  # the line above, 0-based
        block: list[str] = []
        while k >= 0 and text[k].strip().startswith("#"):
            block.append(re.sub(r"^#:?\s?", "", text[k].strip()))
            k -= 1
        out[stmt.target.id] = list(reversed(block))
    return out


def numpydoc_params(doc: str | None) -> dict[str, str]:
    """``{name: description}`` from a numpydoc ``Parameters`` section (``a, b : type``
    entries give each name the description)."""
    if not doc:
        return {}
    lines = inspect.cleandoc(doc).splitlines()

    def underline(i: int) -> bool:
        return i < len(lines) and bool(lines[i].strip()) and set(lines[i].strip()) == {"-"}

    start = next(
        (i for i in range(len(lines)) if lines[i].strip() == "Parameters" and underline(i + 1)),
        None,
    )
    if start is None:
        return {}
    out: dict[str, str] = {}
    names: list[str] = []
    desc: list[str] = []
    for i in range(start + 2, len(lines)):
        ln = lines[i]
        if ln and not ln[0].isspace():
            if underline(i + 1):
                break  # the next section
            for n in names:
                out[n] = " ".join(desc)
            head = ln.split(" : ", 1)[0]
            names = [n.strip() for n in head.split(",") if n.strip()]
            desc = []
        elif ln.strip():
            desc.append(ln.strip())
    for n in names:
        out[n] = " ".join(desc)
    return out


def _grouped(docs: dict[str, str]) -> dict[str, str]:
    """A description shared by several names (``a, b : float``) in full for the first
    and as ``as <first>`` for the others."""
    first: dict[str, str] = {}
    out: dict[str, str] = {}
    for name, text in docs.items():
        if text in first:
            out[name] = f"as {first[text]}"
        else:
            first[text] = name
            out[name] = text
    return out


def _plain(text: str) -> str:
    """Docstring markup as plain text: ``:class:`~a.b.C``` -> ``C``, ````x```` -> ``x``."""
    text = re.sub(r":\w+:`~[\w.]*\.(\w+)`", r"\1", text)
    text = re.sub(r":\w+:`([^`]+)`", r"\1", text)
    return text.replace("``", "").replace("**", "")


def _wrap(text: str, prefix: str = "# ") -> list[str]:
    import textwrap

    return [
        prefix + ln for ln in textwrap.wrap(text, WIDTH - len(prefix), break_on_hyphens=False)
    ] or [prefix.rstrip()]


def _option_lines(key: str, typ: Any, default: Any, rule: str, comment: list[str]) -> list[str]:
    """The lines of one option: its comment, its type and rule, then ``#key = default``."""
    out: list[str] = []
    for c in comment:
        out += _wrap(_plain(c))
    desc = C.type_description(typ) if typ is not None else "a value"
    out += _wrap(desc + (f"; {rule}" if rule else ""))
    if default is None:
        out += _wrap(f"{key}: unset by default")
    else:
        out.append(f"#{key} = {C._toml(default)}")
    return out


def _default(field: attrs.Attribute) -> Any:
    d = field.default
    if isinstance(d, attrs.Factory):  # type: ignore[arg-type]
        return d.factory()  # type: ignore[union-attr]
    return d


def _section_lines(cls: type) -> list[str]:
    out = [f"[{cls.SECTION}]"]
    out += _wrap(_plain(" ".join(inspect.cleandoc(cls.__doc__ or "").split())))
    out += _wrap(f"environment: {C.ENV_PREFIX}{cls.SECTION.upper()}_<KEY>")
    comments = source_comments(cls)
    hints = typing.get_type_hints(cls)
    for f in attrs.fields(cls):
        rule = getattr(f.validator, "rule", "")
        out.append("")
        out += _option_lines(f.name, hints.get(f.name), _default(f), rule, comments.get(f.name, []))
    return out


def _fills_lines() -> list[str]:
    from framework.fills.config import FillSimConfig

    out = ["[fills]"]
    out += _wrap(
        "The paper fill simulator of backtest and paper sessions ("
        + _plain(inspect.cleandoc(FillSimConfig.__doc__ or "").splitlines()[0]).rstrip(".")
        + ")."
    )
    out += _wrap(f"environment: {C.ENV_PREFIX}FILLS_<KEY>")
    docs = _grouped(numpydoc_params(FillSimConfig.__doc__))
    hints = typing.get_type_hints(FillSimConfig)
    for f in attrs.fields(FillSimConfig):
        default = _default(f)
        if isinstance(default, tuple):
            default = list(default)
        out.append("")
        doc = [docs[f.name]] if f.name in docs else []
        out += _option_lines(f.name, hints.get(f.name), default, "", doc)
    return out


def _estimator_lines(name: str, path: str) -> list[str]:
    cls = C._estimator_class(path)
    out = [f"[estimators.{name}]"]
    if cls is None:
        return [*out, f"# ({path} is not installed)"]
    first = inspect.cleandoc(cls.__doc__ or "").splitlines()
    out += _wrap(f"{cls.__name__} ({path.replace(':', '.')}): " + _plain(first[0] if first else ""))
    out += _wrap(f"environment: {C.ENV_PREFIX}ESTIMATORS_{name.upper()}_<KEY>")
    docs = _grouped(numpydoc_params(cls.__doc__) | numpydoc_params(cls.__init__.__doc__))
    hints = C.estimator_hints(cls)
    for key, p in C.estimator_params(cls).items():
        default = None if p.default is p.empty else p.default
        if isinstance(default, tuple):
            default = list(default)
        out.append("")
        doc = [docs[key]] if key in docs else []
        out += _option_lines(key, hints.get(key), default, "", doc)
    return out


def generate_config() -> str:
    """The commented TOML of every option of every section at its default."""
    blocks: list[list[str]] = []
    for name, cls in C._SECTIONS.items():
        if cls is C.FillsConfig:
            blocks.append(_fills_lines())
        elif cls is C.EstimatorsConfig:
            blocks.append(
                _wrap(
                    "Estimators: one [estimators.<name>] table each, its keys the "
                    "estimator's settings.",
                    "# ",
                )
            )
            for est, path in C.ESTIMATOR_PATHS:
                blocks.append(_estimator_lines(est, path))
        else:
            blocks.append(_section_lines(cls))
        del name
    return HEADER + "\n" + "\n\n".join("\n".join(b) for b in blocks) + "\n"


# -- validating ---------------------------------------------------------------------------
def _keystore_problems(keystore: Any, where: str = "") -> list[str]:
    if not isinstance(keystore, str) or not keystore:
        return []
    p = Path(keystore).expanduser()
    if p.is_file():
        return []
    what = "a directory" if p.is_dir() else "no such file"
    return [
        f"{where}live.keystore = {keystore!r}: {what} (relative paths are from the "
        f"working directory); fix: the path of an encrypted JSON "
        'keystore file, or "" to read the key from HL_PRIVATE_KEY'
    ]


def live_problems(cfg: C.SessionConfig) -> list[str]:
    """Problems of the files a live session needs beyond the values: the ``[live]
    keystore`` file exists.  (The key itself is checked by ``run --dry-run``.)"""
    return _keystore_problems(cfg.live.keystore)


def _keystore_origin(
    data: dict[str, Any] | None, source: str | None, environ: Mapping[str, str]
) -> tuple[Any, str]:
    """The ``[live] keystore`` in force and where it was set, for a config that did not
    resolve (so the path is still checked)."""
    for s in C.env_settings(environ)[0]:
        if s.path == ("live", "keystore"):
            return s.value, f"{s.origin}: "
    live = (data or {}).get("live")
    keystore = live.get("keystore") if isinstance(live, dict) else None
    return keystore, f"{source}: " if source else ""


def config_report(
    file: str | Path | None,
    environ: Mapping[str, str] | None = None,
    stdin: Any = None,
) -> tuple[C.SessionConfig | None, list[str]]:
    """``(config or None, problems)`` of ``file`` (``"-"`` = ``stdin``, None = no file)
    with the ``MM_*`` variables of ``environ`` applied, and the files it names."""
    import os

    environ = os.environ if environ is None else environ
    data: dict[str, Any] | None = None
    source = None
    problems: list[str] = []
    if file is not None and str(file) == "-":
        source = "<stdin>"
        stream = stdin if stdin is not None else sys.stdin.buffer
        raw = stream.read()
        try:
            text = C.decode_config_bytes(raw, source) if isinstance(raw, bytes) else raw
            data = C.parse_config_text(text, source)
        except C.ConfigError as exc:
            problems.append(str(exc))
    elif file is not None:
        try:
            data = C.read_config_file(file)
            source = str(file)
        except C.ConfigError as exc:
            problems.append(str(exc))
    cfg, found = C.check_config(None, None, environ, data=data or {}, source=source)
    problems += found
    if cfg is not None:
        keystore, where = _keystore_origin(None, None, environ)
        where = where if keystore is not None else (f"{source}: " if source else "")
        problems += _keystore_problems(cfg.live.keystore, where)
    else:  # still check the keystore the file or the environment names
        problems += _keystore_problems(*_keystore_origin(data, source, environ))
    return (cfg if not problems else None), problems


def validate_config_command(file: str | None, stdin: Any = None) -> int:
    """``market-maker validate-config [FILE|-]``: print every problem (one line each) and
    return 1, or say the config is valid and return 0.  A FILE that does not exist is a
    usage error (2)."""
    from framework.exits import UsageError

    if file is not None and file != "-" and not Path(file).is_file():
        what = "a directory" if Path(file).is_dir() else "no such file"
        raise UsageError(
            f"validate-config {file}: {what}; pass a TOML config file, or - to read stdin "
            "(`market-maker generate-config` writes one)"
        )
    _, problems = config_report(file, stdin=stdin)
    name = "<stdin>" if file == "-" else (file or "the defaults and environment")
    if problems:
        for p in problems:
            print(p)
        print(
            f"{name}: {len(problems)} problem{'s' if len(problems) > 1 else ''}",
            file=sys.stderr,
        )
        return 1
    print(f"{name}: valid")
    return 0
