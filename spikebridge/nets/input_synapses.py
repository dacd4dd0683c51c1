"""The synapse of the paper nets' input projections: multiplying (the paper's) or adder.

::

    multiply:  I_post = w * x_pre                                  summed, plus a bias per target
    adder:     I_post = g / sqrt(K) * (c - abs(x_pre / S - v))     summed, no bias
               v = 1/2 + sqrt(K) / 2 * w

``K``: the projection's fan-in (9 for the conv nets' 3x3 kernels, 1296 for the fc nets);
``S = 255``: the pixels' scale (the nets take pixel units), so that ``x / S`` lies in
[0, 1]; ``g``: the net's ``adder_gain`` (:class:`~spikebridge.nets.specs.NetSpec`); ``v``:
the template value, in the data's range, of the stored weight ``w``. The weights are stored
in the multiplying layer's units: drawn as ``torch.nn``'s uniform init in ``+-1 / sqrt(K)``
(the multiplying net's very draws, so every other layer of the two variants starts from the
same weights), they put ``v`` uniform on [0, 1], and one optimiser step moves ``w`` as far,
relative to its range, as it moves the multiplying layer's weights (in ``v`` units ``sqrt(K)
/ 2`` times the step: with the fc nets' lr 1e-4 a template stored as ``v`` itself would move
1e-4 of the pixel range per step and not learn in the paper's budget). Summed over a target's
``K`` synapses the adder input is ``g / sqrt(K) (K c - sum_k |x_k / S - v_k|)``: AdderNet's
negative L1 distance (Chen et al., CVPR 2020, eq. 2) under a fixed affine map that stands
where AdderNet has batch normalisation. The centre ``c = 0.42`` is the mean
distance at initialisation, ``E|x - v| = E[x^2 - x + 1/2]`` for ``v`` uniform on [0, 1],
over Multi-Fashion's training composites (measured on 5,000: 0.4213), so an input starts
near zero on average; the ``1 / sqrt(K)`` scales the sum's spread like a weighted sum's, and
``g = 16`` for every net (``NetSpec.adder_gain``) sets how strongly the distance drives the
neuron. Chosen by a sweep on Multi-Fashion (12,000 training composites, 2 epochs, 5,000 test
composites, seed 1; task 1 / task 2 test accuracy; templates then stored as ``v`` itself):
lif-conv with g = 1, 4, 16, 32 reached 0.732 / 0.713, 0.757 / 0.742, 0.766 / 0.739, 0.768 /
0.745 against the multiplying net's 0.783 / 0.757; hh-conv with g = 1, 16 reached 0.684 /
0.665, 0.729 / 0.707 against 0.733 / 0.712. With the templates stored as above, g = 16:
lif-conv 0.761 / 0.744, hh-conv 0.730 / 0.713, and the fc nets, which stayed at chance
before, learn (1,024 composites, 3 epochs: hh-fc 0.28 / 0.23, lif-fc 0.18 / 0.17 against
the multiplying nets' 0.57 / 0.51 and 0.31 / 0.26). It has no bias: a weight
template outside the data range contributes ``g / sqrt(K) (c - |v| + sign(v) x / S)``, an
offset and a linear term, so a channel's offset is learnt with its weights.

The torch engine recognises the form and runs it as :func:`spikebridge.torch.adder.adder`,
with AdderNet's gradients (full precision for the weights, HardTanh-clipped for the inputs);
Brian2 runs the same equation as a summed synaptic variable, so an adder net bridges and
validates like the multiplying one.
"""

from __future__ import annotations

import math
from typing import Literal

from ..errors import InputError
from ..network import Synapse

SynapseKind = Literal["multiply", "adder"]
SYNAPSES: tuple[SynapseKind, ...] = ("multiply", "adder")
PIXEL_SCALE = 255.0
ADDER_CENTRE = 0.42


def check_synapse(kind: str) -> SynapseKind:
    """``kind`` if it is a known synapse, else a clear error."""
    if kind not in SYNAPSES:
        raise InputError(f"Unknown synapse '{kind}'. Choose one of: {', '.join(SYNAPSES)}.")
    return kind


def check_synapse_for(name: str, spiking: bool, kind: str) -> SynapseKind:
    """``kind`` checked for net ``name``: adder synapses are for the spiking nets only."""
    if check_synapse(kind) != "multiply" and not spiking:
        raise InputError(
            f"'{name}' is a binary ANN; adder synapses are for the spiking nets (the LeNet-5 of "
            "spikebridge.nets.lenet has an adder variant). Leave --synapse out, or choose a "
            "spiking net."
        )
    return kind  # type: ignore[return-value]


def summed(variable: str) -> Synapse:
    """A static multiplying input projection: ``<variable>_post = w * x_pre`` summed."""
    return Synapse(f"w : 1\n{variable}_post = w * x_pre : 1 (summed)")


def adder_summed(variable: str, fan_in: int, gain: float) -> Synapse:
    """The adder input projection of the module docstring onto ``variable``."""
    scale, centre, pixel = gain / math.sqrt(fan_in), ADDER_CENTRE, PIXEL_SCALE
    spread = math.sqrt(fan_in) / 2
    distance = f"abs(x_pre / {pixel!r} - (0.5 + {spread!r} * w))"
    return Synapse(f"w : 1\n{variable}_post = {scale!r} * ({centre!r} - {distance}) : 1 (summed)")
