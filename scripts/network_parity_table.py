"""Engine parity of every network of ``networks/`` at its default size: the README's table.

For each network, Brian2 device and float type: ``spikebridge.network.network_parity``
(Brian2 against the torch engine with event delivery, the same frozen inputs), written as
one JSON and printed as a markdown table (max |dV| per population while the rasters agree,
steps spike for spike, spikes and rates on both engines).

    .venv/bin/python scripts/network_parity_table.py --out benchmarks/results/network-parity.json
"""

from __future__ import annotations

import argparse
import time

from spikebridge.io import write_json
from spikebridge.network import list_networks, network_from, network_parity


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--devices", default="runtime,cpp_standalone")
    parser.add_argument("--dtypes", default="float64,float32")
    parser.add_argument("--networks", default=",".join(list_networks()))
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    rows = []
    print("| network | device | dtype | steps | steps spike for spike | max \\|ΔV\\| | spikes "
          "Brian2 / torch | rates Brian2 / torch (Hz) | within tolerance |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    for name in args.networks.split(","):
        network = network_from(name)
        for device in args.devices.split(","):
            for dtype in args.dtypes.split(","):
                began = time.perf_counter()
                report = network_parity(network, device=device, dtype=dtype).to_dict()
                report["wall_seconds"] = time.perf_counter() - began
                rows.append(report)
                write_json(args.out, {"rows": rows})
                pops = report["populations"].values()
                measured = [p["max_abs_v"] for p in pops if p["max_abs_v"] is not None]
                unit = next(iter(pops))["membrane_unit"]
                shown = "no state" if not measured else f"{max(measured):.1e}"
                shown += "" if unit in ("1", "") or not measured else f" {unit}"
                spikes = (
                    " + ".join(f"{p['spikes_brian2']}" for p in pops)
                    + " / "
                    + " + ".join(f"{p['spikes_torch']}" for p in pops)
                )
                rates = ", ".join(
                    f"{n} {p['rate_brian2_hz']:.2f} / {p['rate_torch_hz']:.2f}"
                    for n, p in report["populations"].items()
                )
                print(
                    f"| {name} | {device} | {dtype} | {report['n_steps']} | "
                    f"{report['steps_equal_until']} | {shown} | {spikes} | {rates} | "
                    f"{report['within_tolerance']} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
