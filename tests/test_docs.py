"""The documentation generator (scripts/build_docs.py): catalogue, CLI, tutorials, benchmarks.

Fast checks of the generated pages only; the strict mkdocs build itself runs in CI after
the tutorials (``python scripts/build_docs.py``).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import nbformat
import pytest

import spikebridge as sb
from spikebridge.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
# a 1x1 PNG
PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQ"
    "AAAABJRU5ErkJggg=="
)


def _load_build_docs() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_docs", ROOT / "scripts" / "build_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["build_docs"] = module
    spec.loader.exec_module(module)
    return module


bd = _load_build_docs()


# -- model catalogue ---------------------------------------------------------------------------
def test_one_catalogue_page_per_model_file_with_its_parameters(tmp_path: Path) -> None:
    pages = bd.model_pages(tmp_path, with_torch_step=False)
    files = sorted(p.stem for p in (ROOT / "equations").glob("*.py") if not p.stem.startswith("_"))
    written = sorted(Path(p).stem for p in pages if Path(p).stem != "index")
    assert written == files
    index = (tmp_path / "models" / "index.md").read_text()
    for name in files:
        assert f"[{name}]({name}.md)" in index
        page = (tmp_path / "models" / f"{name}.md").read_text()
        model = sb.load_model(name)
        assert page.startswith(f"# {name}\n")
        assert model.equations.strip().splitlines()[0].strip() in page
        assert f"`{model.method}`" in page
        for parameter in model.parameter_names:
            assert re.search(rf"^\| `{re.escape(parameter)}` \| ", page, re.MULTILINE), parameter
        for event in model.events:
            assert f"`{event.name}`" in page
    lif = (tmp_path / "models" / "lif.md").read_text()
    assert "| `tau_m` | 10. ms | s |" in lif and "| `I` | 0. A | A | input |" in lif
    assert "Refractory: `t_ref`." in lif


def test_catalogue_page_shows_the_generated_torch_step() -> None:
    from spikebridge.torch.codegen import torch_step

    model = sb.load_model("lif_dl")
    page = bd.model_page(model, sb.list_models(), torch_step(model).source)
    assert '??? example "torch step of `lif_dl` (euler)"' in page
    assert "    def step(state, params, t, dt, spike_fn):" in page


def test_docstring_markdown_fences_literal_blocks_and_links_models() -> None:
    text = "Intro::\n\n    a = b\n      c\n\nSee :mod:`lif` and :func:`~x.y` and ``z``.\n"
    markdown = bd.rst_to_markdown(text, models=["lif"])
    assert "Intro:\n\n```text\na = b\n  c\n```" in markdown
    assert "See [`lif`](lif.md) and `x.y` and `z`." in markdown


# -- command line ------------------------------------------------------------------------------
def _subcommands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> list[str]:
    names = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                names.append(" ".join((*path, name)))
                names += _subcommands(sub, (*path, name))
    return names


def test_cli_page_has_every_subcommand_with_its_usage() -> None:
    parser = build_parser()
    page = bd.cli_page(parser)
    commands = _subcommands(parser)
    assert {"models", "study", "study equivalence", "train", "validate"} <= set(commands)
    for command in commands:
        assert re.search(rf"^#+ spikebridge {command}$", page, re.MULTILINE), command
        assert f"usage: spikebridge {command} " in page, command
    assert "--dtype {float64,float32}" in page  # the options come with their help


# -- tutorials ---------------------------------------------------------------------------------
def _tutorial(folder: Path, name: str = "01_example") -> Path:
    source = folder / f"{name}.py"
    source.write_text("# %%\nprint('hi')\n")
    return source


def _executed(source: Path, outputs: list[Any]) -> Path:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_markdown_cell("# 1. Example"),
        nbformat.v4.new_code_cell("print('hi')", execution_count=1, outputs=outputs),
    ]
    path = source.with_suffix(".ipynb")
    nbformat.write(notebook, path)
    return path


def test_missing_notebook_says_to_run_the_tutorials(tmp_path: Path) -> None:
    _tutorial(tmp_path)
    with pytest.raises(bd.DocsError) as error:
        bd.check_tutorials(tmp_path)
    message = str(error.value)
    assert "01_example.ipynb is missing" in message
    assert "python scripts/run_tutorials.py" in message


def test_stale_notebook_says_to_run_the_tutorials(tmp_path: Path) -> None:
    source = _tutorial(tmp_path)
    notebook = _executed(source, [])
    os.utime(notebook, (source.stat().st_mtime - 60, source.stat().st_mtime - 60))
    with pytest.raises(bd.DocsError) as error:
        bd.check_tutorials(tmp_path)
    assert "01_example.ipynb is older than its source" in str(error.value)
    assert "python scripts/run_tutorials.py" in str(error.value)


def test_failed_notebook_is_refused(tmp_path: Path) -> None:
    source = _tutorial(tmp_path)
    error = nbformat.v4.new_output("error", ename="ValueError", evalue="boom", traceback=[])
    _executed(source, [error])
    with pytest.raises(bd.DocsError, match="ValueError: boom"):
        bd.check_tutorials(tmp_path)


def test_tutorial_page_has_outputs_and_extracted_figures(tmp_path: Path) -> None:
    (tmp_path / "tutorials").mkdir()
    source = _tutorial(tmp_path / "tutorials")
    outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="hi there\n"),
        nbformat.v4.new_output("stream", name="stderr", text="SomeWarning: noise\n"),
        nbformat.v4.new_output("display_data", data={"image/png": PNG, "text/plain": "<Fig>"}),
    ]
    _executed(source, outputs)
    out = tmp_path / "generated"
    (page,) = bd.tutorial_pages(out, source.parent)
    text = Path(page).read_text()
    assert text.startswith("# 1. Example")
    assert "hi there" in text and "SomeWarning" not in text
    (image,) = re.findall(r"!\[png\]\((01_example_files/[^)]+\.png)\)", text)
    assert (out / "tutorials" / image).is_file()


# -- benchmarks --------------------------------------------------------------------------------
def test_benchmark_pages_render_every_result_file_with_its_hardware(tmp_path: Path) -> None:
    pages = bd.benchmark_pages(tmp_path)
    results = sorted((ROOT / "benchmarks" / "results").glob("*.json"))
    assert len(pages) == len(results) + 1
    index = (tmp_path / "benchmarks" / "index.md").read_text()
    assert index.startswith("# Benchmarks")
    for path in results:
        assert f"({path.stem}.md)" in index
        page = (tmp_path / "benchmarks" / f"{path.stem}.md").read_text()
        hardware = json.loads(path.read_text()).get("hardware", {})
        assert "## hardware" in page or not hardware
        for key, value in hardware.items():
            assert re.search(rf"^\| `{key}` \| ", page, re.MULTILINE), key
            assert bd._cell(value) in page  # as the renderer writes it (None as a dash)


def test_json_shapes_become_tables() -> None:
    data = {
        "date": "2026-01-01",
        "hardware": {"cpu": "x", "cores": 2},
        "rows": [{"n": 1, "t": [0.5, 0.25]}, {"n": 2, "t": [1.0, 2.0], "extra": True}],
        "nets": {
            "a": {"name": "a", "ops": {"mul": 3}, "parts": [{"k": "p"}]},
            "b": {"name": "b", "ops": {"mul": 4}, "parts": []},
        },
    }
    page = bd.json_page("x.json", data)
    assert "| `date` | 2026-01-01 |" in page and "| `cores` | 2 |" in page
    assert "| n | t | extra |" in page and "| 2 | 1.0, 2.0 | true |" in page
    assert "|  | ops.mul |" in page and "| **a** | 3 |" in page  # "name" repeats the key
    assert '??? info "a › parts"' in page


# -- API reference, nav hook, doctests -----------------------------------------------------------
def test_api_pages_cover_every_subpackage(tmp_path: Path) -> None:
    package = tmp_path / "spikebridge"
    for folder in ("torch", "brian", "extra"):
        (package / folder).mkdir(parents=True)
        (package / folder / "__init__.py").write_text('"""Package."""\n')
        (package / folder / "core.py").write_text('"""Module."""\n')
    (package / "model.py").write_text('"""Module."""\n')
    (package / "cli.py").write_text('"""CLI."""\n')
    pages = [Path(p).name for p in bd.api_pages(tmp_path / "out", package)]
    assert pages == ["spikebridge.md", "core.md", "torch.md", "brian.md", "extra.md"]
    core = (tmp_path / "out" / "api" / "core.md").read_text()
    assert "::: spikebridge.model" in core and "spikebridge.cli" not in core
    assert "::: spikebridge.extra.core" in (tmp_path / "out" / "api" / "extra.md").read_text()

    (package / "plain").mkdir()
    (package / "plain" / "mod.py").write_text('"""No __init__."""\n')
    with pytest.raises(bd.DocsError, match=r"spikebridge/plain/__init__\.py"):
        bd.api_pages(tmp_path / "out", package)


def test_nav_hook_expands_generated_folders(tmp_path: Path) -> None:
    from mkdocs.exceptions import PluginError

    config: dict[str, Any] = {
        "docs_dir": str(tmp_path),
        "nav": [{"Home": "index.md"}, {"Models": "generated/models/"}],
        "markdown_extensions": [],
    }
    with pytest.raises(PluginError, match=r"build_docs\.py"):
        bd.on_config(dict(config))
    (tmp_path / "generated").mkdir()
    pages = ["generated/models/index.md", "generated/models/hh.md"]
    (tmp_path / "generated" / "nav.json").write_text(json.dumps({"generated/models/": pages}))
    expanded = bd.on_config(config)
    assert expanded["nav"] == [{"Home": "index.md"}, {"Models": pages}]
    assert len(expanded["markdown_extensions"]) == 1


def test_docstring_doctests_are_fenced_and_roles_become_code() -> None:
    lines = [
        "See :func:`~a.b` and :mod:`c.d`::",
        ">>> x = [1][:1]",
        "[1]",
        "",
        "```",
        ">>> kept",
        "```",
        "    >>> kept",
    ]
    assert bd.clean_markdown(lines) == [
        "See `b` and `c.d`:",
        "",
        "```pycon",
        ">>> x = [1][:1]",
        "[1]",
        "```",
        "",
        "",
        "```",
        ">>> kept",
        "```",
        "    >>> kept",
    ]


def test_readme_section_ends_at_the_next_heading_not_at_code_comments() -> None:
    readme = "# T\n\n## A\n\n```bash\n# a comment\nmake\n```\n\n### A.1\n\ntext\n\n## B\n\nb\n"
    assert bd.readme_section(readme, "A") == "```bash\n# a comment\nmake\n```\n\n### A.1\n\ntext\n"
    with pytest.raises(bd.DocsError, match="README_SNIPPETS"):
        bd.readme_section(readme, "Missing")
