"""Sweeps: grids and point ids, the three engines agreeing, resuming, refusing other sweeps."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from spikebridge import namp
from spikebridge.errors import InputError
from spikebridge.sweeps import (
    Grid,
    SweepFailedError,
    add_sweep_options,
    load_sweep,
    point_id,
    run_sweep,
    sweep_options,
)
from spikebridge.sweeps.examples import lif_spike_count

# ---------------------------------------------------------------------------------------------
# Tasks (top level, so that spawned workers and Ray import them by name)


def counted(point: dict[str, Any], *, marker_dir: str, fail_list: str) -> dict[str, Any]:
    """A numpy computation that leaves one marker file per execution and raises for the
    values listed in the file ``fail_list`` (so a test can change that between runs)."""
    Path(marker_dir, f"{point['x']}-{uuid.uuid4().hex}").touch()
    if point["x"] in json.loads(Path(fail_list).read_text()):
        raise RuntimeError(f"x = {point['x']} is listed to fail")
    values = np.linspace(0.0, point["x"], 7)
    return {"sum": np.sum(values**2), "x": point["x"], "argmax": np.argmax(values)}


def other_task(point: dict[str, Any]) -> dict[str, Any]:
    return {"value": point["x"]}


def not_a_dict(point: dict[str, Any]) -> Any:
    return [point["x"]]


def executions(marker_dir: Path) -> list[int]:
    return sorted(int(path.name.split("-")[0]) for path in marker_dir.iterdir())


@pytest.fixture
def counted_sweep(tmp_path: Path) -> dict[str, Any]:
    """Arguments of a five-point sweep of ``counted`` whose failing values a test sets."""
    markers = tmp_path / "markers"
    markers.mkdir()
    fail_list = tmp_path / "fail.json"
    fail_list.write_text("[]")
    return {
        "task": counted,
        "grid": {"x": [1, 2, 3, 4, 5]},
        "out_dir": tmp_path / "sweep",
        "fixed": {"marker_dir": str(markers), "fail_list": str(fail_list)},
        "workers": 1,
        "progress": False,
    }


def folder_files(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


# ---------------------------------------------------------------------------------------------
# Grids and ids


def test_grid_is_the_product_in_axis_order_then_the_explicit_points() -> None:
    grid = Grid(
        {"model": ["lif", "hh"], "seed": range(2)},
        points=[{"model": "tv_lif", "seed": 7}],
    )
    assert [point for _, point in grid] == [
        {"model": "lif", "seed": 0},
        {"model": "lif", "seed": 1},
        {"model": "hh", "seed": 0},
        {"model": "hh", "seed": 1},
        {"model": "tv_lif", "seed": 7},
    ]
    assert len(grid) == 5 and len(set(grid.ids)) == 5
    assert Grid.from_json(json.loads(json.dumps(grid.to_json()))) == grid


def test_point_ids_are_readable_stable_and_independent_of_key_order() -> None:
    identifier = point_id({"seed": 1, "model": "lif", "level": -0.5})
    assert identifier == point_id({"model": "lif", "level": -0.5, "seed": 1})
    assert identifier.startswith("level=-0.5_model=lif_seed=1-")
    assert len(identifier.rsplit("-", 1)[1]) == 10
    # An int and a float, a bool and an int, are different points.
    assert point_id({"x": 1}) != point_id({"x": 1.0}) != point_id({"x": True})
    # Names that sanitise alike still get different ids; long points are shortened.
    assert point_id({"name": "a/b"}) != point_id({"name": "a b"})
    assert len(point_id({"waveform": "x" * 500})) < 80


def test_grid_values_become_plain_json() -> None:
    grid = Grid({"level": np.linspace(0.5, 1.0, 2), "n": np.arange(2), "shape": [(2, 3)]})
    points = list(grid.points)
    assert points[0] == {"level": 0.5, "n": 0, "shape": [2, 3]}
    assert type(points[0]["level"]) is float and type(points[0]["n"]) is int


@pytest.mark.parametrize(
    ("axes", "points", "message"),
    [
        ({"seed": []}, None, "Axis 'seed' has no values"),
        ({"model": "lif"}, None, r"Write \{'model': \['lif'\]\}"),
        ({"current": [0.2 * namp]}, None, "quantity with units"),
        ({"model": [object()]}, None, "which JSON cannot store"),
        ({"level": [float("nan")]}, None, "Use a finite number"),
        ({"options": [{1: "a"}]}, None, "JSON keys are strings"),
        ({"seed": [0, 1, 0]}, None, "twice .combination 0 of the axes and combination 2"),
        ({"seed": [0, 1]}, [{"seed": 1}], "combination 1 of the axes and explicit point 0"),
        (None, [{"seed": 1}, {"seed": 1.0}, {"seed": 1}], "explicit point 0 and explicit point 2"),
        (None, ["seed=1"], "a point is a dict"),
        (None, None, "The sweep grid has no points"),
    ],
)
def test_bad_grids_are_refused_with_the_fix(
    axes: dict[str, Any] | None, points: list[Any] | None, message: str
) -> None:
    with pytest.raises(InputError, match=message):
        Grid(axes, points)


# ---------------------------------------------------------------------------------------------
# The engines: the same lif grid inline, on a spawned pool and on a local Ray instance

# The explicit point is not a current: its task fails (in Brian2's unit check) by design.
LIF_GRID = Grid({"current_nA": [0.15, 0.2, 0.3, 0.45]}, points=[{"current_nA": "high"}])
LIF_FIXED = {"duration_ms": 50.0}


def run_lif_grid(out_dir: Path, **engine: Any) -> tuple[SweepFailedError, float]:
    """Run the lif grid (one point fails by design); return the summary error and the time."""
    began = time.perf_counter()
    with pytest.raises(SweepFailedError, match="1 of 5 sweep points failed") as caught:
        run_sweep(lif_spike_count, LIF_GRID, out_dir, fixed=LIF_FIXED, progress=False, **engine)
    return caught.value, time.perf_counter() - began


@pytest.fixture(scope="module")
def inline_lif(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SweepFailedError]:
    out = tmp_path_factory.mktemp("inline") / "sweep"
    error, seconds = run_lif_grid(out, workers=1)
    print(f"inline: {seconds:.1f} s")
    return out, error


def check_same_as_inline(
    reference_dir: Path, out: Path, error: SweepFailedError, engine: str
) -> None:
    """Same points and results as the inline sweep, and the failure recorded with its traceback."""
    stored = {name: json.loads(text) for name, text in folder_files(out / "points").items()}
    expected = {
        name: json.loads(text) for name, text in folder_files(reference_dir / "points").items()
    }
    assert stored.keys() == expected.keys() and len(stored) == 4
    for name, record in stored.items():
        assert record["point"] == expected[name]["point"]
        assert record["result"] == expected[name]["result"]
        assert record["engine"] == engine and record["seconds"] > 0
    assert error.result.failed == 1
    (failure,) = [json.loads(path.read_text()) for path in (out / "failed").iterdir()]
    assert failure["point"] == {"current_nA": "high"}
    assert failure["error"].startswith("TypeError: Object of type <class 'str'>")
    assert "in lif_spike_count" in failure["traceback"]


def test_inline_results_are_the_lif_spike_counts(
    inline_lif: tuple[Path, SweepFailedError],
) -> None:
    _, error = inline_lif
    sweep = error.result
    counts = [None if result is None else result["spikes"] for result in sweep.results]
    # 0.15 nA is the rheobase (15 mV / 100 MOhm): no spike; then the f-I curve rises.
    assert counts == [0, 3, 5, 8, None]
    assert (sweep.ran, sweep.skipped, sweep.failed, sweep.complete) == (4, 0, 1, False)
    assert [row["spikes"] for row in sweep.to_rows()] == [0, 3, 5, 8]


def test_local_pool_matches_inline(
    inline_lif: tuple[Path, SweepFailedError], tmp_path: Path
) -> None:
    error, seconds = run_lif_grid(tmp_path / "sweep", workers=2)
    print(f"pool of 2 spawned workers: {seconds:.1f} s")
    check_same_as_inline(inline_lif[0], tmp_path / "sweep", error, "local")
    assert error.result.results == inline_lif[1].result.results

    # The folder resumes with another engine: only the failed point runs (and fails) again.
    finished = folder_files(tmp_path / "sweep" / "points")
    again, _ = run_lif_grid(tmp_path / "sweep", workers=1)
    assert (again.result.ran, again.result.skipped, again.result.failed) == (0, 4, 1)
    assert folder_files(tmp_path / "sweep" / "points") == finished


@pytest.mark.slow  # starting Ray takes 20-35 s on 2 busy cores
def test_ray_matches_inline(inline_lif: tuple[Path, SweepFailedError], tmp_path: Path) -> None:
    pytest.importorskip("ray")
    import ray

    error, seconds = run_lif_grid(tmp_path / "sweep", engine="ray", workers=2)
    print(f"local Ray instance, 2 workers: {seconds:.1f} s")
    check_same_as_inline(inline_lif[0], tmp_path / "sweep", error, "ray")
    assert error.result.results == inline_lif[1].result.results
    assert not ray.is_initialized()  # the instance the sweep started is shut down


# ---------------------------------------------------------------------------------------------
# Resuming


def test_rerun_runs_only_the_failed_points_and_keeps_finished_files(
    counted_sweep: dict[str, Any],
) -> None:
    markers = Path(counted_sweep["fixed"]["marker_dir"])
    Path(counted_sweep["fixed"]["fail_list"]).write_text("[2, 4]")
    with pytest.raises(SweepFailedError, match="2 of 5 sweep points failed") as caught:
        run_sweep(**counted_sweep)
    first = caught.value.result
    assert executions(markers) == [1, 2, 3, 4, 5]  # the failures did not stop the others
    assert [r and r["x"] for r in first.results] == [1, None, 3, None, 5]
    assert list(first.failures.values()) == [
        "RuntimeError: x = 2 is listed to fail",
        "RuntimeError: x = 4 is listed to fail",
    ]
    out = counted_sweep["out_dir"]
    finished = folder_files(out / "points")
    assert len(finished) == 3 and len(list((out / "failed").iterdir())) == 2

    Path(counted_sweep["fixed"]["fail_list"]).write_text("[]")
    second = run_sweep(**counted_sweep)
    assert executions(markers) == [1, 2, 2, 3, 4, 4, 5]  # x = 2 and 4 once more, nothing else
    assert (second.ran, second.skipped, second.failed, second.complete) == (2, 3, 0, True)
    assert all(folder_files(out / "points")[name] == data for name, data in finished.items())
    assert not list((out / "failed").iterdir())  # a point that succeeds loses its failure file
    assert second.results[1] == {"sum": pytest.approx(4 * 91 / 36), "x": 2, "argmax": 6}

    third = run_sweep(**counted_sweep)
    assert len(executions(markers)) == 7 and (third.ran, third.skipped) == (0, 5)
    assert third.results == second.results == load_sweep(out).results


def test_an_interrupted_write_leaves_no_partial_file_and_the_rerun_completes(
    counted_sweep: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    markers = Path(counted_sweep["fixed"]["marker_dir"])
    replace = os.replace
    calls = []

    def interrupted_on_third_rename(source: Any, target: Any) -> None:
        calls.append(target)
        if len(calls) == 3:  # sweep.json, point 1, then Ctrl-C while point 2 is written
            raise KeyboardInterrupt
        replace(source, target)

    monkeypatch.setattr(os, "replace", interrupted_on_third_rename)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(**counted_sweep)
    monkeypatch.setattr(os, "replace", replace)
    out = counted_sweep["out_dir"]
    assert list(folder_files(out / "points")) == [f"{point_id({'x': 1})}.json"]  # no temp file
    assert executions(markers) == [1, 2]

    sweep = run_sweep(**counted_sweep)
    assert executions(markers) == [1, 2, 2, 3, 4, 5]
    assert (sweep.ran, sweep.skipped, sweep.complete) == (4, 1, True)
    assert sorted(os.listdir(out / "points")) == sorted(f"{key}.json" for key in sweep.ids)


# ---------------------------------------------------------------------------------------------
# Refusals and errors


def test_a_folder_holding_another_sweep_is_refused(counted_sweep: dict[str, Any]) -> None:
    run_sweep(**counted_sweep)
    manifest = (counted_sweep["out_dir"] / "sweep.json").read_bytes()
    changes = [
        {"grid": {"x": [1, 2, 3]}},
        {"task": other_task, "fixed": {}},
        {"fixed": {**counted_sweep["fixed"], "fail_list": "elsewhere.json"}},
    ]
    for change, differing in zip(changes, ("grid", "task", "fixed"), strict=True):
        with pytest.raises(InputError, match=f"holds a different sweep .{differing} differs"):
            run_sweep(**{**counted_sweep, **change})
    assert (counted_sweep["out_dir"] / "sweep.json").read_bytes() == manifest

    # A result file whose point is not this sweep's point with that id.
    path = counted_sweep["out_dir"] / "points" / f"{point_id({'x': 3})}.json"
    record = json.loads(path.read_text())
    path.write_text(json.dumps({**record, "point": {"x": 33}}))
    with pytest.raises(InputError, match=r'holds the point \{"x":33\}.*different sweep'):
        run_sweep(**counted_sweep)


def test_tasks_and_results_that_cannot_be_stored(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="top level of a module"):
        run_sweep(lambda point: {}, {"x": [1]}, tmp_path / "a", progress=False)
    with pytest.raises(InputError, match=r"fixed\['out'\] is PosixPath"):
        run_sweep(other_task, {"x": [1]}, tmp_path / "b", fixed={"out": tmp_path})
    with pytest.raises(SweepFailedError) as caught:
        run_sweep(not_a_dict, {"x": [1]}, tmp_path / "c", workers=1, progress=False)
    assert "returned list, not a dict" in caught.value.result.failures[point_id({"x": 1})]
    assert not (tmp_path / "c" / "points").exists()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"engine": "dask"}, "Unknown sweep engine 'dask'"),
        ({"workers": 0}, "give 1 .run in this process. or more"),
        ({"address": "head:6379"}, "needs engine='ray'"),
        ({"resources": {"gpus": 1}}, r"Unknown sweep resources \['gpus'\].*num_gpus"),
    ],
)
def test_bad_engine_options_are_refused_before_anything_is_written(
    options: dict[str, Any], message: str, tmp_path: Path
) -> None:
    with pytest.raises(InputError, match=message):
        run_sweep(other_task, {"x": [1]}, tmp_path / "sweep", progress=False, **options)
    assert not (tmp_path / "sweep").exists()


def test_missing_ray_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now raises ImportError
    with pytest.raises(InputError, match=r"pip install 'spikebridge\[ray\]'"):
        run_sweep(other_task, {"x": [1]}, tmp_path / "sweep", engine="ray", progress=False)
    assert not (tmp_path / "sweep").exists()


def test_rows_rename_result_keys_that_clash_with_the_point(counted_sweep: dict[str, Any]) -> None:
    rows = run_sweep(**counted_sweep).to_rows()
    assert rows[0] == {
        "id": point_id({"x": 1}),
        "x": 1,
        "sum": pytest.approx(np.sum(np.linspace(0, 1, 7) ** 2)),
        "result.x": 1,
        "argmax": 6,
    }


def test_progress_bar_counts_points_and_can_be_hidden(
    counted_sweep: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    run_sweep(**{**counted_sweep, "progress": True})
    shown = capsys.readouterr().err
    assert "sweep sweep: 100%" in shown and "5/5" in shown
    run_sweep(**counted_sweep)  # progress=False
    assert capsys.readouterr().err == ""


# ---------------------------------------------------------------------------------------------
# Command-line options


def test_cli_options_become_run_sweep_arguments() -> None:
    parser = argparse.ArgumentParser()
    add_sweep_options(parser)
    assert sweep_options(parser.parse_args([])) == {
        "engine": "local",
        "workers": None,
        "address": None,
    }
    args = parser.parse_args(["--engine", "ray", "--address", "head:6379", "--workers", "8"])
    assert sweep_options(args) == {"engine": "ray", "workers": 8, "address": "head:6379"}
    for bad in (["--workers", "0"], ["--workers", "two"], ["--engine", "dask"]):
        with pytest.raises(SystemExit):
            parser.parse_args(bad)
