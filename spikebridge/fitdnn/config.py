"""The size and timing of a folded-in-time network, and the choice of its delay loops.

A Fit-DNN with ``nodes`` = N virtual nodes per hidden layer and ``layers`` = L hidden layers
runs one sample in L clock cycles of T = N theta. Each of the D delay loops serves one
diagonal of the hidden weight matrices: the loop with offset n' (node j of layer l-1 feeds
node j + n' of layer l) has delay tau = T + n' theta = (N + n') theta.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ..errors import ParameterError

DIAGONAL_CHOICES = ("uniform", "equidistant")


@dataclass(frozen=True)
class FitDNNConfig:
    """Architecture and discretisation of one Fit-DNN (the paper's defaults)."""

    nodes: int = 100
    layers: int = 2
    loops: int = 50
    theta: float = 0.5  # node separation, in the element's time unit
    substeps: int = 32  # integration steps per node (the paper's N_h)
    inputs: int = 784
    outputs: int = 10
    element: str = "sine"
    method: str | None = None
    diagonal_choice: str = "uniform"
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("nodes", "layers", "loops", "substeps", "inputs", "outputs"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ParameterError(
                    f"FitDNNConfig.{name} must be a positive integer, got {value!r}."
                )
        if self.layers < 2:
            raise ParameterError(
                "FitDNNConfig.layers must be at least 2: the delay loops connect hidden layers "
                f"(layer 1 is driven by the input), got {self.layers}."
            )
        if self.loops > 2 * self.nodes - 1:
            raise ParameterError(
                f"FitDNNConfig.loops = {self.loops}: N = {self.nodes} nodes have only "
                f"2N - 1 = {2 * self.nodes - 1} diagonals (that many makes the layers dense)."
            )
        if self.diagonal_choice not in DIAGONAL_CHOICES:
            raise ParameterError(
                f"diagonal_choice '{self.diagonal_choice}' is unknown; use one of "
                f"{', '.join(DIAGONAL_CHOICES)}."
            )
        if not self.theta > 0:
            raise ParameterError(f"theta must be positive, got {self.theta}.")

    @property
    def step(self) -> float:
        """Integration step, in the element's time unit."""
        return self.theta / self.substeps

    @property
    def offsets(self) -> np.ndarray:
        """The diagonal offsets n' of the delay loops, sorted (fixed by ``seed``)."""
        return diagonal_offsets(self.nodes, self.loops, self.diagonal_choice, self.seed)

    @property
    def delay_steps(self) -> np.ndarray:
        """Delay of each loop in integration steps: (N + n') * substeps."""
        return (self.nodes + self.offsets) * self.substeps

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def diagonal_offsets(nodes: int, loops: int, choice: str, seed: int) -> np.ndarray:
    """``loops`` distinct offsets in -(N-1)..N-1: drawn uniformly (at least one on each side
    of the main diagonal when there is room, as the reference code) or spread evenly."""
    every = np.arange(-(nodes - 1), nodes)
    if loops == every.size:
        return every
    if choice == "equidistant":
        return np.unique(np.round(np.linspace(-(nodes - 1), nodes - 1, loops)).astype(int))
    rng = np.random.default_rng(seed)
    while True:
        offsets = np.sort(rng.choice(every, size=loops, replace=False))
        if loops < 2 or (offsets.min() < 0 < offsets.max()):
            return offsets
