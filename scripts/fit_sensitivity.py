"""How the s-LIF2HH fit's held-out error depends on the training grid and the timing weight.

For one waveform: HH's two-layer chain (Brian2, the study's settings) on a 0.05 grid of
levels 0.8-2.0, then the unit fitted per waveform (:func:`spikebridge.studies.fitting.fit`,
the full study's optimiser budget and restarts) on the study's 19 training levels (the grid
without the held-out ones) or, with ``--coarse``, on the 7 levels 0.8-2.0 step 0.2, with the
given timing weights, and judged on the study's held-out levels 0.9-1.9. Prints HH's
layer-2 counts on the grid and one line per variant:

    .venv/bin/python scripts/fit_sensitivity.py sawtooth --timing-weights 0.05,0.3 --coarse
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from spikebridge.studies.chains import Engine, hh_chain
from spikebridge.studies.equivalence import LEVEL_GRID as GRID
from spikebridge.studies.equivalence import Settings, inputs
from spikebridge.studies.fitting import TIMING_WEIGHT, as_quantities, chain_counts, fit
from spikebridge.studies.metrics import spike_count_relative_error
from spikebridge.studies.summary import Condition
from spikebridge.studies.waveforms import WAVEFORMS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("waveform", choices=WAVEFORMS)
    parser.add_argument("--timing-weights", default=str(TIMING_WEIGHT))
    parser.add_argument("--coarse", action="store_true", help="also fit on levels 0.8-2.0 step 0.2")
    args = parser.parse_args()
    settings = Settings.full()
    x, x_bins = inputs(settings, [Condition(args.waveform, level, "grid") for level in GRID])
    hh = hh_chain(x, Engine(), settings.hh_dt_ms)
    counts = [len(train) for train in hh.layer2]
    print("HH layer-2 counts:", dict(zip(GRID, counts, strict=True)))

    def index(levels: tuple[float, ...]) -> list[int]:
        return [min(range(len(GRID)), key=lambda i: abs(GRID[i] - level)) for level in levels]

    held_out = index(settings.test_levels)
    grids = {"study": index(settings.train_levels)}
    if args.coarse:
        grids["coarse"] = index(tuple(round(0.8 + 0.2 * k, 1) for k in range(7)))
    for grid, train in grids.items():
        for weight in (float(w) for w in args.timing_weights.split(",")):
            start = time.perf_counter()
            result = fit(
                "s_lif2hh",
                x_bins[:, train],
                [np.asarray(hh.layer1[i]) for i in train],
                [np.asarray(hh.layer2[i]) for i in train],
                duration=settings.duration_ms,
                popsize=settings.popsize,
                maxiter=settings.maxiter,
                seed=settings.seed,
                timing_weight=weight,
                restarts=settings.restarts,
            )
            params, w = as_quantities("s_lif2hh", result.values)
            unit = chain_counts("s_lif2hh", x_bins[:, held_out], params, w)
            reference = [hh.layer2[i] for i in held_out]
            mre = np.mean(list(map(spike_count_relative_error, reference, unit.layer2)))
            print(
                f"{grid} grid ({len(train)} levels), timing weight {weight:g}: held-out MRE "
                f"{100 * mre:.1f} % (unit {[len(t) for t in unit.layer2]}, "
                f"HH {[len(t) for t in reference]}; "
                f"{time.perf_counter() - start:.0f} s)",
                flush=True,
            )


if __name__ == "__main__":
    main()
