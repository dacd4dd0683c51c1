r"""Operation counts and CPU timings of the paper's ten multi-task networks (digest 3.4).

The counts come from the model objects of :func:`~spikebridge.nets.build_net`: a spiking
net's synaptic maps and neuron layers from its network description (each projection's
fan-in per output and the size of the population it drives), the binary nets' and the
task heads' layers from forward hooks on every ``nn.Linear`` and ``nn.Conv2d`` during one
pass on a blank 36x36 image. ``tests/test_cost.py`` cross-checks these sizes against
ptflops' aten-level counter of what the torch engine runs.

Counting convention (the paper's ``calculate_flops`` counter, Fig. 5b)
----------------------------------------------------------------------
* Synapses, per output element and per time step: MUL = fan-in, ADD = fan-in - 1, where
  fan-in is ``in_features`` (Linear) or ``k*k*c_in`` (Conv2d, every output position,
  padding included). Biases are not counted. Every projection or conv that drives a
  spiking layer counts ``T`` times, as the paper's code recomputes it every step.
* Neurons, per neuron and per time step: LIF 3 MUL + 3 ADD; HH 23 MUL + 16 ADD;
  s-LIF2HH unit 15 MUL + 14 ADD, i.e. four LIF sub-neurons (12 + 12) plus the shared
  3->1 map of previous membranes (3 MUL + 2 ADD, bias not counted, as for synapses).
  A conv layer's neurons are its C*H*W map positions (its population's size); an
  s-LIF2HH unit counts once.
* The 50-d feature layer of the readout counts once per image (it reads the time-mean
  of the spikes). The two 50->10 task heads, average pooling, the time-mean and the
  s-LIF2HH-conv sum of the four pooled event maps before layer 2 are not counted; they
  are listed in ``parts`` with ``counted = False``.
* T = 15 for every spiking net, s-LIF2HH-conv included.
* The b-ANN and CNN (no time steps, no neuron state) count one pass of the same synaptic
  convention: hidden Linear or both convs plus the 50-d feature layer; the ReLU, the
  binary step and the pooling are not counted. The paper gives no figure for them.

Derivation (M = 1e6, T = 15)
----------------------------
fc, width w (4LIF: 2048), readout on r features (w, or 4w for s-LIF2HH)::

    LIF-fc   MUL 15*1296*512 + 512*50 + 15*3*512  =  9,953,280 + 25,600 + 23,040 = 10.00192
             ADD 15*1295*512 + 511*50 + 15*3*512  =  9,945,600 + 25,550 + 23,040 =  9.99419
    HH-fc    neurons 15*23*512 = 176,640 MUL, 15*16*512 = 122,880 ADD -> 10.15552 / 10.09403
    s-L2H-fc 3 projections, r = 2048: MUL 29,859,840 + 102,400 + 115,200 = 30.07744,
             ADD 29,836,800 + 102,350 + 107,520 = 30.04667
    4LIF-fc  MUL 39,813,120 + 102,400 + 92,160 = 40.00768; ADD 39,782,400 + 102,350
             + 92,160 = 39.97691

conv, C channels (4LIF: 40): conv1 out C*36*36 with fan-in 9, conv2 out C*18*18 with
fan-in 9C, neurons C*(36*36 + 18*18) = 16,200 C/10, readout r = C*81 (x4 for s-LIF2HH)::

    LIF-conv  MUL 15*(116,640 + 291,600) + 40,500 + 15*3*16,200 = 6.8931
              ADD 15*(103,680 + 288,360) + 40,450 + 729,000     = 6.65005
    HH-conv   neurons 5,589,000 MUL, 3,888,000 ADD -> 11.7531 / 9.80905
    4LIF-conv MUL 76,982,400 + 162,000 + 2,916,000 = 80.0604;
              ADD 76,010,400 + 161,950 + 2,916,000 = 79.08835
    s-L2H-conv, 3 convs per layer: layer 1 5,248,800 MUL, 4,665,600 ADD; layer 2
              13,122,000 MUL, 12,976,200 ADD; readout 162,000 / 161,950; neurons
              15*15*16,200 = 3,645,000 MUL, 15*14*16,200 = 3,402,000 ADD.
              ADD = 21.20575 (stored 21.206). Stored MUL 22.032 = 5,248,800 + 12,976,200
              + 162,000 + 3,645,000: layer 2 enters with its ADD count.

Every stored figure is reproduced exactly (the digest's are rounded to 3 decimals).
Alternatives fail: counting biases adds out*T per layer (LIF-fc +7,680 ADD), counting
the readout per step adds 14x its 25,600 MUL (LIF-fc 10.36M), counting the heads adds
1,000 MUL, and T = 10 for s-LIF2HH-conv gives 14.19 M ADD, 14.74 M MUL.

Quirks of the paper's counter and the corrections (``paper_quirks=False``, the default)
------------------------------------------------------------------------------------------
1. s-LIF2HH-conv: the counter adds layer 2's ADD count into ``mul_op``
   (``self.mul_op += self.lif_4_2.add_op``). Corrected: layer 2 counts its MUL,
   +145,800 MUL -> 22.1778 M MUL, 43.3836 M total (HH/s-LIF2HH 0.497 instead of 0.499).
   This is the only difference between the corrected and the paper count; the other
   nine nets are unchanged.
2. s-LIF2HH-conv's T: the paper's counter runs it at T = 15, but the paper trained it
   at T = 10 (``main.py`` leaves the default). spikebridge trains it at T = 15, so the
   count at ``steps=15`` is the trained model's; ``steps=10`` gives the paper-trained one.
Kept as convention, in both counts: synapses of a static input counted every step
(spikebridge computes the first projection once and reuses it for all T steps), the
uncounted parts above, and the per-neuron constants.
"""

from .counts import (
    NEURON_OPS,
    PAPER_FIGURES,
    Part,
    cost_table,
    count_costs,
    frozen_constants,
    network_parts,
)
from .timing import timing_table

__all__ = [
    "NEURON_OPS",
    "PAPER_FIGURES",
    "Part",
    "cost_table",
    "count_costs",
    "frozen_constants",
    "network_parts",
    "timing_table",
]
