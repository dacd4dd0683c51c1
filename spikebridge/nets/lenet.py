"""LeNet-5 with batch normalisation (AdderNet's MNIST network), multiplying or adder synapses.

::

    conv 1 -> 6, 5x5, pad 2 -> BN -> ReLU -> max-pool 2      28x28 -> 14x14
    conv 6 -> 16, 5x5       -> BN -> ReLU -> max-pool 2      14x14 -> 5x5
    fc 400 -> 120 -> BN -> ReLU -> fc 120 -> 84 -> BN -> ReLU -> fc 84 -> 10 -> BN

``synapse="multiply"``: ``nn.Conv2d`` / ``nn.Linear`` (no biases: batch norm follows every
layer); ``"adder"``: :class:`~spikebridge.torch.adder.AdderConv2d` /
:class:`~spikebridge.torch.adder.AdderLinear` in every layer, the first and the last too,
as AdderNet's LeNet-5-BN, whose 870K additions replace the CNN's 435K multiplications and
435K additions (this layout: 417K of each, by :func:`spikebridge.cost.layer_ops.layer_operations`).
"""

from __future__ import annotations

from torch import nn

from ..errors import InputError
from ..torch.adder import ETA, AdderConv2d, AdderLinear

SYNAPSES = ("multiply", "adder")


def lenet5_bn(synapse: str = "multiply", eta: float | None = ETA) -> nn.Sequential:
    """The network (module docstring); ``eta``: the adder layers' adaptive gradient scale."""
    if synapse not in SYNAPSES:
        raise InputError(f"synapse must be one of {', '.join(SYNAPSES)}, got {synapse!r}.")

    def conv(c_in: int, c_out: int, padding: int) -> nn.Module:
        if synapse == "adder":
            return AdderConv2d(c_in, c_out, 5, padding=padding, eta=eta)
        return nn.Conv2d(c_in, c_out, 5, padding=padding, bias=False)

    def fc(n_in: int, n_out: int) -> nn.Module:
        return (
            AdderLinear(n_in, n_out, eta=eta)
            if synapse == "adder"
            else nn.Linear(n_in, n_out, bias=False)
        )

    return nn.Sequential(
        conv(1, 6, 2), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2),
        conv(6, 16, 0), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        fc(400, 120), nn.BatchNorm1d(120), nn.ReLU(),
        fc(120, 84), nn.BatchNorm1d(84), nn.ReLU(),
        fc(84, 10), nn.BatchNorm1d(10),
    )  # fmt: skip
