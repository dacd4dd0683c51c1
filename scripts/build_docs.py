"""Build the documentation site: generate the pages that come from the code, then build strictly.

    python scripts/build_docs.py [--site-dir DIR] [--no-build]

Generated into ``docs/generated/`` (gitignored, rewritten on every run):

* ``models/``: the model catalogue, one page per model file in ``equations/``, from the
  loaded model (:func:`spikebridge.load_model`) and its generated torch step;
* ``cli.md``: every command and nested subcommand of :func:`spikebridge.cli.build_parser`;
* ``api/``: mkdocstrings pages for the package and every subpackage (modules discovered);
* ``tutorials/``: the executed notebooks ``tutorials/*.ipynb`` as markdown, figures
  extracted (run ``python scripts/run_tutorials.py`` first; a missing or stale notebook
  is an error);
* ``benchmarks/``: ``benchmarks/README.md`` and one page per ``benchmarks/results/*.json``;
* ``snippets/``: text the hand-written pages include (README sections, the install extras
  from ``pyproject.toml``, a generated torch step);
* ``nav.json``: the pages of each generated folder, in nav order.

Then ``mkdocs build --strict`` runs; any warning fails the build. This file is also the
mkdocs hook named in ``mkdocs.yml``: :func:`on_config` expands the nav entries that name a
generated folder into that folder's pages, so ``mkdocs build``/``mkdocs serve`` see the
same site after a generation.
"""

from __future__ import annotations

import argparse
import copy
import importlib
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import tomllib

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
GENERATED = DOCS / "generated"
TUTORIALS = ROOT / "tutorials"
BENCHMARKS = ROOT / "benchmarks"
CONFIG = ROOT / "mkdocs.yml"

RUN_TUTORIALS = "python scripts/run_tutorials.py"
#: Subpackages first in the API reference, in this order; others follow alphabetically.
API_ORDER = ("torch", "brian", "bridge", "learning", "nets", "studies", "cost", "data")
#: Modules left out of the API reference: the CLI has its own generated page.
API_SKIP = frozenset({"cli"})
#: README sections the hand-written pages include, by snippet file name.
README_SNIPPETS = {
    "readme_ten_lines.md": "In ten lines",
    "readme_parity.md": "Measured parity",
    "readme_devices.md": "Devices",
}
#: Width of the generated ``--help`` texts.
HELP_COLUMNS = 100


class DocsError(Exception):
    """The documentation cannot be generated; the message names the problem and the fix."""


# ---------------------------------------------------------------------------------------------
# Small markdown helpers


def _cell(value: Any) -> str:
    """A value as the text of a markdown table cell."""
    if value is None:
        text = "–"
    elif isinstance(value, bool):
        text = str(value).lower()
    elif isinstance(value, float):
        # as recorded when short (20.24955), else 6 significant digits (0.0109866)
        text = repr(value) if len(repr(value)) <= 10 else f"{value:.6g}"
    elif isinstance(value, list | tuple):
        text = ", ".join(_cell(item) for item in value)
    else:
        text = str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def _code(text: Any) -> str:
    """Inline code for a table cell (pipes escaped, newlines folded)."""
    folded = "; ".join(line.strip() for line in str(text).strip().splitlines() if line.strip())
    return "`" + folded.replace("|", "\\|") + "`"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return [*lines, ""]


def _fence(text: str, language: str = "text", indent: str = "") -> list[str]:
    body = [indent + line if line else "" for line in text.rstrip().splitlines()]
    return [f"{indent}```{language}", *body, f"{indent}```", ""]


_ROLE = re.compile(r":(?:py:)?(?:mod|func|class|meth|attr|data|obj|exc):`(~?)\.?([^`]+)`")


def rst_to_markdown(text: str, models: Collection[str] = ()) -> str:
    """Markdown for the reST-flavoured docstrings of the model files.

    ``text::`` blocks become fenced text blocks, ``term`` lines followed by an indented
    definition become bullet items, roles and double backticks become code (a ``:mod:``
    role naming a model of ``models`` becomes a link to its page).
    """

    def inline(line: str) -> str:
        def role(match: re.Match[str]) -> str:
            name = match.group(2)
            return f"[`{name}`]({name}.md)" if name in models else f"`{name}`"

        return re.sub(r"``([^`]+)``", r"`\1`", _ROLE.sub(role, line))

    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        following = lines[i + 1] if i + 1 < len(lines) else ""
        if line.rstrip().endswith("::"):
            lead = line.rstrip()[:-2].rstrip()
            if lead:
                out.append(inline(lead + ":"))
            j = i + 1
            while j < len(lines) and not lines[j].strip():
                j += 1
            block: list[str] = []
            while j < len(lines) and (not lines[j].strip() or lines[j][:1] in (" ", "\t")):
                block.append(lines[j])
                j += 1
            if block:
                out += ["", *_fence(textwrap.dedent("\n".join(block)))]
            i = j
            continue
        term = line.strip() and line[:1] not in (" ", "\t")
        if term and not line.startswith(("* ", "- ")) and following[:1] in (" ", "\t"):
            j = i + 1
            definition: list[str] = []
            while j < len(lines) and lines[j][:1] in (" ", "\t") and lines[j].strip():
                definition.append(lines[j].strip())
                j += 1
            if definition:
                out.append(f"* {inline(line.strip())}: {inline(' '.join(definition))}")
                i = j
                continue
        out.append(inline(line))
        i += 1
    return "\n".join(out).strip() + "\n"


def _write(path: Path, text: str) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path.as_posix()


# ---------------------------------------------------------------------------------------------
# Model catalogue


def model_page(model: Any, models: Collection[str], torch_source: str | None = None) -> str:
    """The catalogue page of one model (a :class:`spikebridge.NeuronModel`)."""
    from spikebridge.units import unit_name

    summary, _, body = model.doc.partition("\n")
    methods = ", ".join(f"`{m}`" for m in model.methods)
    facts = [
        ["model file", f"`equations/{model.name}.py`"],
        ["method", f"`{model.method}` (supported: {methods})"],
        ["dt", _cell(str(model.dt))],
    ]
    if model.dt_fixed:
        facts.append(["discrete-time map", "yes: defined at this dt only (`DT_FIXED`)"])
    if model.max_dt:
        limits = ", ".join(f"{method} {value}" for method, value in model.max_dt.items())
        facts.append(["largest stable dt", _cell(limits)])
    example = ", ".join(f"{name} = {value}" for name, value in model.example_input.items())
    facts += [
        ["inputs", ", ".join(f"`{name}`" for name in model.inputs) + f" (example: {example})"],
        [
            "membrane",
            ", ".join(f"`{name}`" for name in model.membrane)
            + f" (shown in {model.membrane_unit_name})",
        ],
        ["events", ", ".join(f"`{name}`" for name in model.event_names)],
        ["surrogate half-width", f"{model.surrogate_width:g} (`SURROGATE_WIDTH`)"],
    ]
    lines = [f"# {model.name}", "", f"**{rst_to_markdown(summary).strip()}**", ""]
    lines += _table(["", ""], facts)
    lines += ["## Description", "", rst_to_markdown(textwrap.dedent(body).strip(), models)]
    lines += ["## Equations", "", "As declared in `EQUATIONS` (Brian2 syntax):", ""]
    lines += _fence(textwrap.dedent(model.equations).strip())

    lines += ["## Threshold, reset and refractoriness", ""]
    lines += _table(
        ["event", "condition", "reset"],
        [
            [f"`{e.name}`", _code(e.condition), _code(e.reset) if e.reset else "none"]
            for e in model.events
        ],
    )
    if model.refractory is None:
        lines += ["Refractory: none.", ""]
    else:
        lines += [f"Refractory: {_code(model.refractory)}.", ""]

    rows = []
    for name in model.parameter_names:
        roles = []
        if name in model.inputs:
            roles.append("input")
        if name in model.shared_parameters:
            roles.append("shared by all neurons")
        if name in model.random_parameters:
            low, high = model.random_parameters[name]
            roles.append(f"random per {'model' if name in model.shared_parameters else 'neuron'}")
            default = f"uniform in [{low}, {high})"
        else:
            default = str(model.parameters[name])
        rows.append(
            [f"`{name}`", _cell(default), _cell(unit_name(model.dim(name))), ", ".join(roles)]
        )
    lines += ["## Parameters", "", "Defaults from `PARAMETERS` / `RANDOM_PARAMETERS`.", ""]
    lines += _table(["parameter", "default", "unit", "role"], rows)

    lines += ["## State variables", ""]
    lines += _table(
        ["variable", "unit", "initial value"],
        [
            [
                f"`{name}`",
                _cell(unit_name(model.dim(name))),
                _cell(str(model.initial.get(name, 0))),
            ]
            for name in model.state_variables
        ],
    )
    if model.subexpression_names:
        lines += ["## Subexpressions", ""]
        lines += _table(
            ["name", "unit"],
            [[f"`{n}`", _cell(unit_name(model.dim(n)))] for n in model.subexpression_names],
        )
    if torch_source is not None:
        lines += [
            "## Generated torch step",
            "",
            "The torch engine's step for the declared method, rendered from Brian2's own "
            f"statements (`spikebridge show {model.name} --torch`):",
            "",
            f'??? example "torch step of `{model.name}` ({model.method})"',
            "",
            *_fence(torch_source, "python", indent="    "),
        ]
    return "\n".join(lines).rstrip() + "\n"


def model_pages(out: Path, with_torch_step: bool = True) -> list[str]:
    """Write ``out/models/``: an index and one page per model file of ``equations/``."""
    import spikebridge

    equations = importlib.import_module("spikebridge.equations")  # the equations/ folder
    names = spikebridge.list_models()
    if not names:
        raise DocsError("No model files found in equations/; the catalogue would be empty.")
    folder = out / "models"
    rows, pages = [], []
    for name in names:
        model = spikebridge.load_model(name)
        source = None
        if with_torch_step:
            from spikebridge.torch.codegen import torch_step

            source = torch_step(model).source
        pages.append(_write(folder / f"{name}.md", model_page(model, names, source)))
        others = ", ".join(m for m in model.methods if m != model.method)
        rows.append(
            [
                f"[{name}]({name}.md)",
                _cell(rst_to_markdown(model.doc.splitlines()[0]).strip()),
                f"{model.method}" + (f" ({others})" if others else ""),
                _cell(str(model.dt)),
            ]
        )
    index = [
        "# Model catalogue",
        "",
        "One page per model file in `equations/`, generated from the model as "
        "`spikebridge.load_model` reads it (`spikebridge models` lists them, "
        "`spikebridge show MODEL` prints one).",
        "",
        *_table(["model", "what", "method (other supported)", "dt"], rows),
        "## The model file format",
        "",
        rst_to_markdown(textwrap.dedent(equations.__doc__ or "").strip(), names),
        'A model file of your own loads with `spikebridge.load_model("path/to/model.py")`.',
        "",
    ]
    return [_write(folder / "index.md", "\n".join(index)), *pages]


# ---------------------------------------------------------------------------------------------
# Command line


@contextmanager
def _columns(width: int) -> Iterator[None]:
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(width)
    try:
        yield
    finally:
        if old is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = old


def iter_commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], str | None, argparse.ArgumentParser]]:
    """Every subcommand of ``parser``, depth first: (names, help text, parser)."""
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        helps = {choice.dest: choice.help for choice in action._choices_actions}
        seen: set[int] = set()
        for name, sub in action.choices.items():
            if id(sub) in seen:  # an alias of a command already listed
                continue
            seen.add(id(sub))
            yield (*path, name), helps.get(name), sub
            yield from iter_commands(sub, (*path, name))


def cli_page(parser: argparse.ArgumentParser) -> str:
    """The command-line reference: the usage and help of every (nested) subcommand."""
    prog = parser.prog
    with _columns(HELP_COLUMNS):
        lines = [
            "# Command line",
            "",
            f"Generated from `spikebridge.cli.build_parser()`; `{prog} COMMAND --help` prints "
            "the same text.",
            "",
            f"## {prog}",
            "",
            *_fence(parser.format_help()),
        ]
        for names, help_text, sub in iter_commands(parser):
            level = "#" * min(len(names) + 1, 6)
            lines += [f"{level} {prog} {' '.join(names)}", ""]
            if help_text:
                text = help_text[:1].upper() + help_text[1:]
                lines += [text if text.endswith((".", "!", "?", ")")) else text + ".", ""]
            lines += _fence(sub.format_help())
    return "\n".join(lines).rstrip() + "\n"


# ---------------------------------------------------------------------------------------------
# API reference


def _modules(folder: Path) -> list[str]:
    return sorted(p.stem for p in folder.glob("*.py") if not p.name.startswith("_"))


def api_pages(out: Path, package: Path = ROOT / "spikebridge") -> list[str]:
    """mkdocstrings pages: the top-level API, the top-level modules, every subpackage."""
    folder = out / "api"
    pages = [
        _write(
            folder / "spikebridge.md",
            "# spikebridge\n\nThe top-level API (`import spikebridge as sb`).\n\n::: spikebridge\n",
        )
    ]
    core = [m for m in _modules(package) if m not in API_SKIP]
    text = ["# Core modules", "", "The modules of `spikebridge/` outside the subpackages.", ""]
    text += [f"::: spikebridge.{module}\n" for module in core]
    pages.append(_write(folder / "core.md", "\n".join(text)))
    subpackages = [p.name for p in package.iterdir() if p.is_dir() and _modules(p)]
    namespace = [name for name in subpackages if not (package / name / "__init__.py").is_file()]
    if namespace:
        raise DocsError(
            "The API reference cannot document "
            + ", ".join(f"spikebridge/{name}/" for name in sorted(namespace))
            + ": griffe (mkdocstrings) only finds subpackages that have an __init__.py. Add "
            + ", ".join(f"spikebridge/{name}/__init__.py" for name in sorted(namespace))
            + " (a module docstring is enough)."
        )
    order = {name: i for i, name in enumerate(API_ORDER)}
    for name in sorted(subpackages, key=lambda n: (order.get(n, len(order)), n)):
        # the package docstring only: its re-exports are documented in their modules
        text = [f"# spikebridge.{name}", "", f"::: spikebridge.{name}"]
        text += ["    options:", "      members: false", ""]
        text += [f"::: spikebridge.{name}.{module}\n" for module in _modules(package / name)]
        pages.append(_write(folder / f"{name}.md", "\n".join(text)))
    return pages


# ---------------------------------------------------------------------------------------------
# Tutorials


def notebook_problem(source: Path) -> str | None:
    """Why the executed notebook of tutorial ``source`` cannot be rendered (None: it can)."""
    import nbformat

    notebook = source.with_suffix(".ipynb")
    if not notebook.is_file():
        return f"{source.name}: the executed notebook {notebook.name} is missing"
    if notebook.stat().st_mtime < source.stat().st_mtime:
        return f"{source.name}: {notebook.name} is older than its source (edited since its run)"
    nb = nbformat.read(notebook, as_version=4)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    if code and all(cell.get("execution_count") is None for cell in code):
        return f"{source.name}: {notebook.name} has not been executed"
    for cell in code:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                return (
                    f"{source.name}: a cell failed when it was executed "
                    f"({output.get('ename')}: {output.get('evalue')})"
                )
    return None


def check_tutorials(folder: Path = TUTORIALS) -> list[Path]:
    """The tutorial sources ``folder/[0-9]*.py``; raise if any executed notebook is unusable."""
    sources = sorted(folder.glob("[0-9]*.py"))
    if not sources:
        raise DocsError(f"No tutorials found: {folder} has no [0-9]*.py files.")
    problems = [problem for source in sources if (problem := notebook_problem(source))]
    if problems:
        raise DocsError(
            "The executed tutorial notebooks are missing or out of date:\n"
            + "".join(f"  - {problem}\n" for problem in problems)
            + f"Run `{RUN_TUTORIALS}` first (it executes tutorials/[0-9]*.py and writes "
            "tutorials/*.ipynb next to them), then build the docs again."
        )
    return sources


def tutorial_pages(out: Path, folder: Path = TUTORIALS) -> list[str]:
    """Each executed tutorial notebook as markdown with its outputs; figures extracted."""
    import nbformat
    from nbconvert import MarkdownExporter

    target = out / "tutorials"
    pages = []
    for source in check_tutorials(folder):
        nb = nbformat.read(source.with_suffix(".ipynb"), as_version=4)
        nb = copy.deepcopy(nb)
        for cell in nb.cells:
            if cell.cell_type == "code":
                # warnings and progress bars on stderr are not part of the tutorial
                cell.outputs = [
                    o
                    for o in cell.outputs
                    if not (o.output_type == "stream" and o.name == "stderr")
                ]
        body, resources = MarkdownExporter().from_notebook_node(
            nb, resources={"output_files_dir": f"{source.stem}_files"}
        )
        for name, data in resources.get("outputs", {}).items():
            path = target / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        note = (
            f'\n!!! note "Source"\n    Rendered from `tutorials/{source.name}`, executed by '
            f"`{RUN_TUTORIALS}`.\n"
        )
        pages.append(_write(target / f"{source.stem}.md", body.rstrip() + "\n" + note))
    return pages


# ---------------------------------------------------------------------------------------------
# Benchmarks


def _is_leaf(value: Any) -> bool:
    scalar = (str, int, float, bool, type(None))
    return isinstance(value, scalar) or (
        isinstance(value, list) and all(isinstance(item, scalar) for item in value)
    )


def _flatten(record: Mapping[str, Any], prefix: str = "") -> tuple[dict[str, Any], dict[str, Any]]:
    """Leaves of a nested record under dotted keys, and the parts that are not leaves."""
    leaves: dict[str, Any] = {}
    nested: dict[str, Any] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if _is_leaf(value):
            leaves[name] = value
        elif isinstance(value, dict):
            sub_leaves, sub_nested = _flatten(value, f"{name}.")
            leaves.update(sub_leaves)
            nested.update(sub_nested)
        else:
            nested[name] = value
    return leaves, nested


def _records(value: Any) -> list[tuple[str, dict[str, Any]]] | None:
    """Rows of a list of objects or of an object of objects (None if ``value`` is neither)."""
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return [(str(i + 1), v) for i, v in enumerate(value)]
    if (
        isinstance(value, dict)
        and len(value) >= 2
        and all(isinstance(v, dict) for v in value.values())
        and len({tuple(sorted(v)) for v in value.values()}) == 1
    ):
        # an object of objects with the same keys: one row per entry
        return [(str(k), v) for k, v in value.items()]
    return None


def _record_table(
    rows: list[tuple[str, dict[str, Any]]], keyed: bool
) -> tuple[list[str], dict[str, Any]]:
    flat = [(key, *_flatten(record)) for key, record in rows]
    columns: list[str] = []
    for _, leaves, _ in flat:
        columns += [c for c in leaves if c not in columns]
    if keyed:  # a column that only repeats the row's key (a "name" field) is left out
        columns = [c for c in columns if any(str(lv.get(c)) != key for key, lv, _ in flat)]
    header = ([""] if keyed else []) + columns
    body = [
        ([f"**{key}**"] if keyed else []) + [_cell(leaves.get(c)) for c in columns]
        for key, leaves, _ in flat
    ]
    nested = {f"{key} › {name}": value for key, _, inner in flat for name, value in inner.items()}
    return _table(header, body), nested


def _render_json(node: Any, level: int) -> list[str]:
    if _is_leaf(node):
        return [_cell(node), ""]
    records = _records(node)
    if records is not None:
        table, nested = _record_table(records, keyed=isinstance(node, dict))
        for title, value in nested.items():
            table += [f'??? info "{title}"', ""]
            table += ["    " + line if line else "" for line in _render_json(value, level + 1)]
        return table
    if not isinstance(node, dict):
        return _fence(json.dumps(node, indent=1), "json")
    lines: list[str] = []
    leaves = {k: v for k, v in node.items() if _is_leaf(v)}
    if leaves:
        lines += _table(["setting", "value"], [[f"`{k}`", _cell(v)] for k, v in leaves.items()])
    simple = [k for k, v in node.items() if isinstance(v, dict) and all(map(_is_leaf, v.values()))]
    rest = [k for k in node if k not in leaves and k not in simple]
    for key in simple + rest:
        lines += ["#" * min(level, 6) + f" {key}", ""]
        lines += _render_json(node[key], level + 1)
    return lines


def json_page(name: str, data: Any) -> str:
    """One benchmark result file as tables: its settings and hardware, then its results."""
    lines = [
        f"# {Path(name).stem}",
        "",
        f"Rendered from `benchmarks/results/{name}` (long floats to 6 significant "
        "digits; nested lists in the collapsed boxes).",
        "",
    ]
    lines += _render_json(data, 2)
    return "\n".join(lines).rstrip() + "\n"


def benchmark_pages(out: Path, folder: Path = BENCHMARKS) -> list[str]:
    """``benchmarks/README.md`` as the index, and one page per result file."""
    target = out / "benchmarks"
    pages = []
    links = []
    for path in sorted((folder / "results").glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise DocsError(f"{path} is not valid JSON ({exc}); fix or remove the file.") from exc
        pages.append(_write(target / f"{path.stem}.md", json_page(path.name, data)))
        links.append(f"* [`{path.name}`]({path.stem}.md)")
    readme = folder / "README.md"
    if not readme.is_file():
        raise DocsError(f"{readme} is missing; the benchmarks page is rendered from it.")
    text = readme.read_text(encoding="utf-8").rstrip() + "\n"
    if links:
        text += "\n## Result files\n\nEvery file of `benchmarks/results/` as tables:\n\n"
        text += "\n".join(links) + "\n"
    return [_write(target / "index.md", text), *pages]


# ---------------------------------------------------------------------------------------------
# Snippets included by the hand-written pages


def readme_section(readme: str, title: str) -> str:
    """The body of the README section headed ``title`` (up to the next heading of its level)."""
    body: list[str] | None = None
    level = 0
    fence: str | None = None
    for line in readme.splitlines():
        marker = _FENCE.match(line)
        if marker and (fence is None or marker.group(1).startswith(fence)):
            fence = None if fence else marker.group(1)
        heading = re.match(r"(#+) (.*?)\s*$", line) if fence is None else None
        if body is None:
            if heading and heading.group(2) == title:
                body, level = [], len(heading.group(1))
        elif heading and len(heading.group(1)) <= level:
            break
        else:
            body.append(line)
    if body is None:
        raise DocsError(
            f"README.md has no section '{title}', which the docs include. Restore the heading "
            "or update README_SNIPPETS in scripts/build_docs.py."
        )
    return "\n".join(body).strip() + "\n"


def extras_table(pyproject: Path = ROOT / "pyproject.toml") -> str:
    """The optional dependencies of ``pyproject.toml`` with the comment above each."""
    text = pyproject.read_text(encoding="utf-8")
    extras = tomllib.loads(text)["project"].get("optional-dependencies", {})
    comments: dict[str, str] = {}
    pending: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            pending.append(stripped.lstrip("#").strip())
            continue
        key = stripped.split("=", 1)[0].strip()
        if key in extras and pending:
            comments[key] = " ".join(pending)
        pending = []
    rows = [
        [f"`pip install -e '.[{name}]'`", ", ".join(f"`{p}`" for p in pkgs), comments.get(name, "")]
        for name, pkgs in extras.items()
    ]
    return "\n".join(_table(["install", "adds", "what for"], rows))


def snippets(out: Path) -> list[str]:
    """Files included by the hand-written pages (``--8<--``)."""
    from spikebridge import load_model
    from spikebridge.torch.codegen import torch_step

    folder = out / "snippets"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    written = [
        _write(folder / name, readme_section(readme, title))
        for name, title in README_SNIPPETS.items()
    ]
    written.append(_write(folder / "extras.md", extras_table()))
    written.append(_write(folder / "lif_torch_step.py", torch_step(load_model("lif")).source))
    return written


# ---------------------------------------------------------------------------------------------
# Generation, the mkdocs hook and the build


def generate(out: Path = GENERATED, tutorials: Path = TUTORIALS) -> dict[str, list[str]]:
    """Write every generated page into ``out`` (emptied first) and ``out/nav.json``."""
    started = time.perf_counter()
    check_tutorials(tutorials)  # fail before the slow parts if the notebooks are not ready
    from spikebridge.cli import build_parser

    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    docs = out.parent

    def relative(paths: list[str]) -> list[str]:
        return [Path(p).relative_to(docs).as_posix() for p in paths if p.endswith(".md")]

    nav = {
        "generated/tutorials/": relative(tutorial_pages(out, tutorials)),
        "generated/models/": relative(model_pages(out)),
        "generated/api/": relative(api_pages(out)),
        "generated/benchmarks/": relative(benchmark_pages(out)),
    }
    _write(out / "cli.md", cli_page(build_parser()))
    snippets(out)
    _write(out / "nav.json", json.dumps(nav, indent=1) + "\n")
    print(f"generated {out} in {time.perf_counter() - started:.1f} s", flush=True)
    return nav


def _expand(entry: Any, sections: Mapping[str, list[str]], fail: Callable[[str], Exception]) -> Any:
    if isinstance(entry, list):
        return [_expand(item, sections, fail) for item in entry]
    if isinstance(entry, dict):
        return {title: _expand(value, sections, fail) for title, value in entry.items()}
    if isinstance(entry, str) and entry.endswith("/"):
        if entry not in sections:
            raise fail(
                f"nav entry '{entry}' names a folder that scripts/build_docs.py does not "
                f"generate (it generates {', '.join(sections)})."
            )
        return list(sections[entry])
    return entry


_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_PROMPT = re.compile(r"^ {0,3}>>>( |$)")


def _plain_role(match: re.Match[str]) -> str:
    tilde, target = match.groups()
    return f"`{target.rsplit('.', 1)[-1] if tilde else target}`"


def clean_markdown(lines: list[str]) -> list[str]:
    """Markdown for the reST habits of the docstrings, outside fenced code.

    Interactive examples (``>>>`` blocks up to the next blank line) are wrapped in pycon
    fences: as markdown they would run together into one paragraph (and ``[x][:2]`` reads
    as a reference link). Sphinx roles (``:func:`~a.b``) become inline code (``b``), and
    reST's ``text::`` before a literal block becomes ``text:``. Indented code blocks keep
    their doctests.
    """
    out: list[str] = []
    fence: str | None = None
    i = 0
    while i < len(lines):
        line = lines[i]
        marker = _FENCE.match(line)
        if fence is not None:
            if marker and marker.group(1)[0] == fence[0] and len(marker.group(1)) >= len(fence):
                fence = None
            out.append(line)
        elif marker:
            fence = marker.group(1)
            out.append(line)
        elif _PROMPT.match(line):
            j = i
            while j < len(lines) and lines[j].strip():
                j += 1
            if out and out[-1].strip():
                out.append("")
            out += ["```pycon", *(item.strip() for item in lines[i:j]), "```", ""]
            i = j
            continue
        else:
            line = _ROLE.sub(_plain_role, line)
            if line.rstrip().endswith("::"):  # reST's literal-block marker: "text::" -> "text:"
                line = line.rstrip()[:-2] + (":" if line.strip() != "::" else "")
            out.append(line)
        i += 1
    return out


def clean_markdown_extension() -> Any:
    """A Markdown extension running :func:`clean_markdown` (pages and docstrings alike)."""
    # classes built with type(): Python-Markdown ships no type information
    markdown = importlib.import_module("markdown")
    preprocessors = importlib.import_module("markdown.preprocessors")

    def run(self: Any, lines: list[str]) -> list[str]:
        return clean_markdown(lines)

    def extend_markdown(self: Any, md: Any) -> None:
        # after snippets (32) and whitespace normalisation (30), before fences (25)
        md.preprocessors.register(cleaner(md), "spikebridge_clean_markdown", 29)

    cleaner = type("CleanMarkdown", (preprocessors.Preprocessor,), {"run": run})
    extension = type(
        "CleanMarkdownExtension", (markdown.Extension,), {"extendMarkdown": extend_markdown}
    )
    return extension()


def on_config(config: Any) -> Any:
    """mkdocs hook: expand the nav entries naming a generated folder into its pages; fence
    the doctests and roles of docstrings (:func:`clean_markdown`)."""
    from mkdocs.exceptions import PluginError

    nav_file = Path(config["docs_dir"]) / "generated" / "nav.json"
    if not nav_file.is_file():
        raise PluginError(
            f"{nav_file} is missing: the generated pages have not been written. Build the docs "
            "with `python scripts/build_docs.py` (or generate them with its --no-build)."
        )
    sections = json.loads(nav_file.read_text(encoding="utf-8"))
    config["nav"] = _expand(config["nav"], sections, PluginError)
    config["markdown_extensions"].append(clean_markdown_extension())
    return config


def build_site(site_dir: Path | None = None) -> int:
    """Run ``mkdocs build --strict``; non-zero if it fails or prints any warning."""
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(CONFIG)]
    if site_dir is not None:
        command += ["--site-dir", str(site_dir.resolve())]
    started = time.perf_counter()
    # NO_MKDOCS_2_WARNING: mkdocs-material's banner about its successor, not a build warning
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert process.stdout is not None
    warnings = []
    for line in process.stdout:
        print(line, end="", flush=True)
        if line.lstrip().startswith(("WARNING", "ERROR")):
            warnings.append(line.strip())
    code = process.wait()
    seconds = time.perf_counter() - started
    if code != 0 or warnings:
        print(
            f"docs build FAILED ({len(warnings)} warning(s)/error(s), exit {code}); "
            "fix the pages or docstrings named above.",
            file=sys.stderr,
        )
        return code or 1
    print(f"docs built in {seconds:.1f} s", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--site-dir", type=Path, default=None, help="output folder of the site")
    parser.add_argument(
        "--no-build", action="store_true", help="only generate docs/generated/, do not build"
    )
    args = parser.parse_args(argv)
    try:
        generate()
    except DocsError as exc:
        print(f"build_docs: error: {exc}", file=sys.stderr)
        return 2
    return 0 if args.no_build else build_site(args.site_dir)


if __name__ == "__main__":
    sys.exit(main())
