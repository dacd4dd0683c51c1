"""Every study-file fit resumes from its checkpoint: a search or an Adam fit stopped after k
generations and started again from the file ends exactly where an uninterrupted one does
(point, loss, budget counts, trace but its seconds), and a checkpoint that cannot be read or
is from another search is refused, naming the file, and left alone."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from spikebridge.errors import InputError
from spikebridge.studies import fit_study, gradient_fit
from spikebridge.studies.population_search import SearchProgress, search
from spikebridge.studies.study_file import Optimiser, StudyFile, load_study_file

from .test_study_file import LIF_STUDY

CENTRE = np.array([0.3, 0.62, 0.45])


class StoppedError(Exception):
    """The fit's process stopping in the middle of a generation."""


def _bowl(
    progress: SearchProgress, calls: list[np.ndarray], stop_at: int | None = None
) -> Callable[[np.ndarray], np.ndarray]:
    """A quadratic bowl (rounded to 1/64 so that some losses tie), counted as the fits count
    it (three conditions per candidate); it stops when asked for generation ``stop_at``."""

    def batch(points: np.ndarray) -> np.ndarray:
        if stop_at is not None and progress.generations == stop_at:
            raise StoppedError
        calls.append(points.copy())
        losses = np.round(((points - CENTRE[: len(points), None]) ** 2).sum(axis=0) * 64) / 64
        progress.record(losses, 3)
        return losses

    return batch


def _run(
    optimiser: Optimiser, dims: int, checkpoint: Path | None, stop_at: int | None = None
) -> tuple[np.ndarray, float, SearchProgress, list[np.ndarray]]:
    progress, calls = SearchProgress(), []
    point, loss = search(_bowl(progress, calls, stop_at), dims, optimiser, progress, checkpoint)
    return point, loss, progress, calls


def _counts(progress: SearchProgress) -> tuple[Any, ...]:
    losses = [(c, b) for c, b, _ in progress.trace]
    return progress.generations, progress.candidates, progress.simulated_neurons, losses


@pytest.mark.parametrize(
    ("method", "dims", "popsize", "generations"),
    [("de", 3, 10, 12), ("de", 1, 5, 8), ("cma", 3, 6, 12), ("cma", 2, 4, 9)],
)
def test_a_stopped_search_resumes_where_it_stopped(
    tmp_path: Path, method: str, dims: int, popsize: int, generations: int
) -> None:
    optimiser = Optimiser(method=method, popsize=popsize, generations=generations, seed=4)
    point, loss, progress, calls = _run(optimiser, dims, None)
    total = len(calls)  # 1-D DE stops early, its population's losses all equal (tol = 0)
    assert total == progress.generations == (5 if dims == 1 else generations + (method == "de"))
    again = _run(optimiser, dims, tmp_path / "with.checkpoint")  # checkpointing alone
    assert np.array_equal(again[0], point) and again[1] == loss
    assert _counts(again[2]) == _counts(progress)
    for k in (0, 1, total - 3):
        checkpoint = tmp_path / f"stopped_{k}.checkpoint"
        with pytest.raises(StoppedError):
            _run(optimiser, dims, checkpoint, stop_at=k)
        assert checkpoint.exists() == (k > 0)  # written after every finished generation
        with pytest.raises(StoppedError):  # stopped again, two generations later
            _run(optimiser, dims, checkpoint, stop_at=k + 2)
        resumed_point, resumed_loss, resumed, tail = _run(optimiser, dims, checkpoint)
        assert np.array_equal(resumed_point, point) and resumed_loss == loss
        assert _counts(resumed) == _counts(progress)
        assert len(tail) == len(calls) - (k + 2)  # only the generations not yet done
        assert all(np.array_equal(a, b) for a, b in zip(tail, calls[k + 2 :], strict=True))
        assert resumed.seconds_before > 0
        finished = _run(optimiser, dims, checkpoint)  # a finished search's checkpoint
        assert np.array_equal(finished[0], point) and finished[1] == loss and not finished[3]


def test_an_unreadable_or_foreign_checkpoint_is_refused(tmp_path: Path) -> None:
    de = Optimiser(method="de", popsize=6, generations=3, seed=1)
    checkpoint = tmp_path / "fit.checkpoint"
    _run(de, 2, checkpoint)
    written = checkpoint.read_bytes()
    foreign = [
        (replace(de, method="cma"), 2),
        (replace(de, popsize=8), 2),
        (replace(de, seed=2), 2),
        (de, 3),
    ]
    for optimiser, dims in foreign:
        with pytest.raises(InputError, match=r"is from another search.*Delete it to start"):
            _run(optimiser, dims, checkpoint)
    checkpoint.write_bytes(written[: len(written) // 2])  # truncated mid-write
    with pytest.raises(InputError, match=r"fit\.checkpoint' cannot be read.*Delete it"):
        _run(de, 2, checkpoint)
    checkpoint.write_bytes(b"not a pickle")
    with pytest.raises(InputError, match="cannot be read"):
        _run(de, 2, checkpoint)
    assert checkpoint.read_bytes() == b"not a pickle"  # never overwritten


def _lif(tmp_path: Path, method: str, **optimiser: Any) -> tuple[StudyFile, Any, Any]:
    path = tmp_path / "study.toml"
    path.write_text(LIF_STUDY.replace("METHOD", method).replace('"200 ms"', '"100 ms"'))
    study = load_study_file(path)
    study = replace(study, optimiser=replace(study.optimiser, **optimiser))
    conds = fit_study.conditions(study)
    train = [i for i, c in enumerate(conds) if c.split == "train"]
    current = fit_study.currents(study, conds)[:, train]
    targets = fit_study.simulate_entry(
        study, study.reference, current, engine="torch", device="cpu"
    )
    return study, current, targets


def _stopping(monkeypatch: pytest.MonkeyPatch, module: Any, name: str, at: int) -> None:
    """``module.name`` raising :class:`StoppedError` on its call ``at`` (0 first)."""
    original, calls = getattr(module, name), [0]

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if calls[0] == at:
            raise StoppedError
        calls[0] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapped)


def _without_seconds(fit: dict[str, Any]) -> dict[str, Any]:
    budget = {k: v for k, v in fit["budget"].items() if k != "seconds"}
    trace = [{k: v for k, v in p.items() if k != "seconds"} for p in fit["best_loss_by_candidates"]]
    return {**fit, "budget": budget, "best_loss_by_candidates": trace}


@pytest.mark.parametrize("method", ["de", "cma"])
def test_a_stopped_study_fit_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, method: str
) -> None:
    """Through :func:`.fit_study.fit_candidate`, the study's LIF simulations stopped in the
    third generation."""
    study, current, targets = _lif(tmp_path, method, popsize=4, generations=4)
    entry = study.candidates[0]
    whole = fit_study.fit_candidate(study, entry, current, targets)
    checkpoint = tmp_path / "fit_lif.checkpoint"
    with monkeypatch.context() as patch:
        _stopping(patch, fit_study, "entry_result", 2)
        with pytest.raises(StoppedError):
            fit_study.fit_candidate(study, entry, current, targets, checkpoint=checkpoint)
    resumed = fit_study.fit_candidate(study, entry, current, targets, checkpoint=checkpoint)
    assert _without_seconds(resumed) == _without_seconds(whole)


def test_a_stopped_adam_fit_resumes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    study, current, targets = _lif(tmp_path, "adam", popsize=2, generations=5, learning_rate=0.2)
    entry = study.candidates[0]
    whole = gradient_fit.fit_by_gradient(study, entry, current, targets)
    checkpoint = tmp_path / "fit_lif.checkpoint"
    again = gradient_fit.fit_by_gradient(study, entry, current, targets, checkpoint=checkpoint)
    assert _without_seconds(again) == _without_seconds(whole)  # checkpointing alone
    checkpoint.unlink()
    with monkeypatch.context() as patch:
        _stopping(patch, gradient_fit, "run_steps", 2)
        with pytest.raises(StoppedError):
            gradient_fit.fit_by_gradient(study, entry, current, targets, checkpoint=checkpoint)
    with monkeypatch.context() as patch:  # the resumed fit runs only the steps not yet done
        _stopping(patch, gradient_fit, "run_steps", 3)
        resumed = gradient_fit.fit_by_gradient(
            study, entry, current, targets, checkpoint=checkpoint
        )
    assert _without_seconds(resumed) == _without_seconds(whole)
    seconds = [p["seconds"] for p in resumed["best_loss_by_candidates"]]
    assert seconds == sorted(seconds) and resumed["budget"]["seconds"] >= seconds[-1] > 0

    other = replace(study, optimiser=replace(study.optimiser, learning_rate=0.1))
    with pytest.raises(InputError, match=r"is from another fit.*Delete it to start"):
        gradient_fit.fit_by_gradient(other, entry, current, targets, checkpoint=checkpoint)
    checkpoint.write_bytes(checkpoint.read_bytes()[:100])
    with pytest.raises(InputError, match=r"fit_lif\.checkpoint' cannot be read.*Delete it"):
        gradient_fit.fit_by_gradient(study, entry, current, targets, checkpoint=checkpoint)
