"""Perturbations of a network run that the simulator expresses well (Brian2 only).

A :class:`Perturbations` gives, per trial of a run (Brian2 runs trials back to back, so a
strength per trial is a ``TimedArray`` over the trial windows):

* ``membrane``: additive noise on a population's membrane variables,
  ``dv/dt += s * scale_v * xi_v / sqrt(dt)``: with Euler-Maruyama at ``dt`` this adds
  ``s * scale_v * N(0, 1)`` to ``v`` at every step (the model's equations are rewritten,
  :func:`membrane_noise_equations`; the method must handle noise, as ``euler`` does);
* ``input``: fresh Gaussian noise of standard deviation ``s`` on every unit of a value
  source (not its constant unit) at every step;
* ``weights``: the weight of every synapse of a projection scaled by ``1 + s * eps`` with a
  fixed ``eps`` per synapse (the weight variable is replaced by that product in the
  synapse's code; bias synapses take ``eps = 0``).

``seed`` seeds Brian2's random numbers. The torch engine has no such perturbations; the
unperturbed trials (strength 0) of the same build reproduce it spike for spike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from ..model import NeuronModel


@dataclass(frozen=True)
class Perturbations:
    """Per-trial perturbation strengths (see the module docstring)."""

    membrane: Mapping[str, tuple[np.ndarray, Mapping[str, float]]] = field(default_factory=dict)
    input: Mapping[str, np.ndarray] = field(default_factory=dict)
    weights: Mapping[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    seed: int = 0

    @property
    def random(self) -> bool:
        """Whether the perturbations draw random numbers in Brian2 (then ``seed`` applies)."""
        return bool(self.membrane or self.input)


def membrane_noise_equations(model: NeuronModel, tag: str = "") -> str:
    """``model``'s equations with additive noise on each membrane variable.

    ``dv/dt = f`` becomes ``dv/dt = (f) + sb_membrane_noise<tag>(t) * sb_noise_scale_v *
    xi_v / sqrt(sb_noise_dt)``."""
    lines = []
    for line in model.equations.splitlines():
        head = line.strip()
        for var in model.membrane:
            prefix = f"d{var}/dt ="
            if head.startswith(prefix):
                rhs, _, unit = head[len(prefix) :].rpartition(":")
                term = (
                    f"sb_membrane_noise{tag}(t) * sb_noise_scale_{var} * xi_{var} / "
                    "sqrt(sb_noise_dt)"
                )
                line = f"{prefix} ({rhs.strip()}) + {term} : {unit.strip()}"
        lines.append(line)
    return "\n".join(lines)
