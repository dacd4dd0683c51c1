"""A recurrent spiking classifier: input values, a recurrent LIF layer, a LIF output layer.

The deep-learning form of a recurrent SNN (as snnTorch's ``RLeaky`` networks), in the
paper's LIF (``equations/lif_dl.py``: u_t = decay u_(t-1) (1 - s_(t-1)) + I_t, decay 0.2,
threshold 0.3): ``inputs`` values held over T steps (e.g. image pixels) project densely,
with a bias, onto ``hidden`` LIF neurons (a summed variable), which project onto
themselves (recurrent, their spikes of the previous step) and onto ``classes`` output
LIF neurons (the same step), with a bias onto the outputs from a constant source. The
``layered`` schedule gives the deep-learning order. Weights are drawn like
``torch.nn.Linear``'s (uniform within 1/sqrt(fan-in)) from ``seed`` and are trainable;
predictions are the output neurons' spike counts. The input's default values (one trial,
uniform in [0, 3) from ``seed``) let ``spikebridge network run`` and ``parity`` run it as is;
a run's inputs replace them (``inputs={"pixels": [trials, inputs]}``).
"""

import numpy as np
from brian2 import ms

from spikebridge.network import (
    ConstantSource,
    Dense,
    Network,
    Population,
    Projection,
    Synapse,
    ValueSource,
)


def linear_init(rng: np.random.Generator, fan_in: int, shape: tuple[int, ...]) -> np.ndarray:
    bound = 1.0 / np.sqrt(fan_in)
    return rng.uniform(-bound, bound, shape)


def build(
    inputs: int = 64, hidden: int = 128, classes: int = 10, steps: int = 25, seed: int = 1
) -> Network:
    rng = np.random.default_rng(seed)
    values = np.random.default_rng([seed, 1]).uniform(0, 3, inputs)  # the default trial
    summed = Synapse("w : 1\nI_post = w * x_pre : 1 (summed)")
    spikes = Synapse("w : 1", on_pre="I_post += w")
    lif = {"decay": 0.2, "theta": 0.3}
    return Network(
        "recurrent_classifier",
        1 * ms,
        (
            Population("hidden", "lif_dl", hidden, parameters=lif),
            Population("output", "lif_dl", classes, parameters=lif),
        ),
        (
            ValueSource("pixels", inputs, values=values, constant_unit=True),
            ConstantSource("one"),
        ),
        (
            Projection(
                "input",
                "pixels",
                "hidden",
                summed,
                Dense(),
                weights=linear_init(rng, inputs, (inputs, hidden)),
                bias=linear_init(rng, inputs, (hidden,)),
                trainable=True,
            ),
            Projection(
                "recurrent",
                "hidden",
                "hidden",
                spikes,
                Dense(),
                weights=linear_init(rng, hidden, (hidden, hidden)),
                trainable=True,
            ),
            Projection(
                "readout_bias",
                "one",
                "output",
                summed,
                Dense(),
                weights=linear_init(rng, hidden, (1, classes)),
                trainable=True,
            ),
            Projection(
                "readout",
                "hidden",
                "output",
                spikes,
                Dense(),
                weights=linear_init(rng, hidden, (hidden, classes)),
                trainable=True,
            ),
        ),
        schedule="layered",
        duration=steps * ms,
        doc=__doc__ or "",
    )
