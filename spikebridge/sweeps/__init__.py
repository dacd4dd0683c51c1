"""Sweeps over grids of points, resumable, on this machine or a Ray cluster.

A study is a grid (waveforms x amplitudes, models x noise levels x seeds, ...); one task
computes one point. :func:`run_sweep` runs the task on every point not yet finished,
in this process, on a local process pool or on Ray, writing each result atomically to
``out_dir/points/<id>.json``; an interrupted sweep resumes where it stopped::

    from spikebridge.sweeps import Grid, run_sweep
    from spikebridge.sweeps.examples import lif_spike_count

    grid = Grid({"current_nA": [0.1, 0.2, 0.3]}, points=[{"current_nA": 1.0}])
    sweep = run_sweep(lif_spike_count, grid, "runs/lif-fI", workers=2, fixed={"duration_ms": 50})
    sweep.to_rows()  # [{"id": ..., "current_nA": 0.1, "spikes": 0, ...}, ...]
    run_sweep(lif_spike_count, grid, "runs/lif-fI", engine="ray", address="head:6379",
              fixed={"duration_ms": 50})  # resumes: finished points are skipped

Command lines take the same choices through :func:`add_sweep_options` and
:func:`sweep_options`.
"""

from .engines import ENGINES
from .grid import Grid, point_id
from .options import add_sweep_options, sweep_options
from .runner import SweepFailedError, SweepResult, load_sweep, run_sweep

__all__ = [
    "ENGINES",
    "Grid",
    "SweepFailedError",
    "SweepResult",
    "add_sweep_options",
    "load_sweep",
    "point_id",
    "run_sweep",
    "sweep_options",
]
