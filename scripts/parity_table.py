"""Print the parity of every model x method x dtype as a markdown table (the README's table).

.venv/bin/python scripts/parity_table.py [--device cpp_standalone]
"""

from __future__ import annotations

import argparse

import spikebridge as sb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", default="cpp_standalone")
    args = parser.parse_args()
    print(
        "| model | method | steps | float64 max \\|ΔV\\| | float32 max \\|ΔV\\| | unit "
        "| spikes | float64 spike steps equal | float32 max shift (steps) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name in sb.list_models():
        for method in sb.load_model(name).methods:
            f64 = sb.parity(name, method=method, dtype="float64", device=args.device)
            f32 = sb.parity(name, method=method, dtype="float32", device=args.device)
            print(
                f"| {name} | {method} | {f64.n_steps} | {f64.max_abs_v:.1e} | {f32.max_abs_v:.1e} "
                f"| {f64.membrane_unit} | {f64.spikes_brian2} | {f64.spike_steps_equal} "
                f"| {f32.max_spike_shift} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
