"""Operation counts and timings of the paper's networks (digest section 3.4, Fig. 5b)."""

from __future__ import annotations

import io
from typing import Any

import pytest
import torch

from spikebridge.cost import (
    NEURON_OPS,
    PAPER_FIGURES,
    cost_table,
    count_costs,
    network_parts,
    timing_table,
)
from spikebridge.errors import InputError
from spikebridge.model import load_model
from spikebridge.nets import NETS, build_net

from .test_nets import PAPER_PARAMETERS

#: The digest's table of the paper's counter output, M operations: ADD, MUL, total.
DIGEST = {
    "lif-fc": (9.994, 10.002, 19.996),
    "hh-fc": (10.094, 10.156, 20.250),
    "s-lif2hh-fc": (30.047, 30.077, 60.124),
    "4lif-fc": (39.977, 40.008, 79.985),
    "lif-conv": (6.650, 6.893, 13.543),
    "hh-conv": (9.809, 11.753, 21.562),
    "s-lif2hh-conv": (21.206, 22.032, 43.238),
    "4lif-conv": (79.088, 80.060, 159.149),
}
FROZEN = {"hh-fc": 3072, "hh-conv": 324}
#: s-LIF2HH-conv layer 2: 3 convs x T x 3240 outputs x (fan-in - (fan-in - 1)).
QUIRK_MUL = 3 * 15 * 10 * 18 * 18


@pytest.fixture(scope="module")
def table() -> dict[str, Any]:
    return cost_table()


def test_table_has_the_ten_models(table: dict[str, Any]) -> None:
    assert list(table["models"]) == list(NETS)
    assert len(NETS) == 10


@pytest.mark.parametrize("name", sorted(DIGEST))
def test_paper_figures_reproduced(table: dict[str, Any], name: str) -> None:
    costs = table["models"][name]
    add, mul, total = DIGEST[name]
    assert costs["paper_add_m"] == pytest.approx(add, rel=1e-3)
    assert costs["paper_mul_m"] == pytest.approx(mul, rel=1e-3)
    assert costs["paper_ops_m"] == pytest.approx(total, rel=1e-3)
    # The notebook's unrounded output is reproduced exactly.
    assert (costs["paper_add_m"], costs["paper_mul_m"]) == pytest.approx(
        PAPER_FIGURES[name], rel=1e-12
    )


@pytest.mark.parametrize("name", sorted(NETS))
def test_parameters_and_frozen_constants(table: dict[str, Any], name: str) -> None:
    costs = table["models"][name]
    assert costs["params"] == PAPER_PARAMETERS[name]
    assert costs["frozen"] == FROZEN.get(name, 0)


@pytest.mark.parametrize("name", sorted(NETS))
def test_corrected_differs_only_where_the_quirk_applies(table: dict[str, Any], name: str) -> None:
    costs = table["models"][name]
    assert costs["paper_quirks"] is False
    assert costs["add_m"] == costs["paper_add_m"]
    if name == "s-lif2hh-conv":
        assert round((costs["mul_m"] - costs["paper_mul_m"]) * 1e6) == QUIRK_MUL
        assert costs["mul_m"] == pytest.approx(22.1778)
    else:
        assert costs["mul_m"] == costs["paper_mul_m"]


def test_paper_quirks_flag_gives_the_paper_count() -> None:
    costs = count_costs("s-lif2hh-conv", paper_quirks=True)
    assert costs["paper_quirks"] is True
    for key in ("add_m", "mul_m", "ops_m"):
        assert costs[key] == costs[f"paper_{key}"]


def test_ratios(table: dict[str, Any]) -> None:
    fc, conv = table["ratios"]["fc"], table["ratios"]["conv"]
    assert fc["paper_ops_m_hh_over_slif2hh"] == pytest.approx(0.337, abs=5e-4)
    assert conv["paper_ops_m_hh_over_slif2hh"] == pytest.approx(0.499, abs=5e-4)
    assert conv["ops_m_hh_over_slif2hh"] == pytest.approx(0.497, abs=5e-4)
    assert conv["params_hh_over_slif2hh"] == pytest.approx(0.256, abs=5e-4)


@pytest.mark.parametrize(
    ("name", "add", "mul"), [("ann-fc", 688_590, 689_152), ("cnn", 432_490, 448_740)]
)
def test_binary_nets_count_one_pass_without_neurons(
    table: dict[str, Any], name: str, add: int, mul: int
) -> None:
    costs = table["models"][name]
    assert costs["steps"] == 1
    assert round(costs["add_m"] * 1e6) == add
    assert round(costs["mul_m"] * 1e6) == mul
    kinds = {part["kind"] for part in costs["parts"] if part["counted"]}
    assert kinds == {"synapse", "readout"}
    assert all(part["times"] == 1 for part in costs["parts"])


def test_parts_are_sized_from_the_description(table: dict[str, Any]) -> None:
    parts = {part["name"]: part for part in table["models"]["s-lif2hh-conv"]["parts"]}
    assert parts["conv2_2"]["mul"] == 10 * 18 * 18 * 90  # pool + conv onto layer 2's neurons
    assert parts["layer1"]["mul"] == 10 * 36 * 36 * 15  # units, not 4 sub-neurons each
    assert "bias2_2" not in parts  # the bias is a constant drive, not a synaptic operation
    assert parts["sum of 4 event maps"] == {
        "name": "sum of 4 event maps",
        "kind": "merge",
        "mul": 0,
        "add": 3 * 10 * 18 * 18,
        "times": 15,
        "counted": False,
    }
    assert not parts["readout.heads.0"]["counted"]
    assert parts["readout.feature"]["times"] == 1


def test_neuron_constants_match_the_models() -> None:
    lif_mul, lif_add = NEURON_OPS["lif_dl"]
    model = load_model("s_lif2hh_dl")
    sub_neurons = len(model.membrane)
    map_weights = len(model.shared_parameters) - 1  # a_1..a_3; the bias b_4 is not counted
    assert NEURON_OPS["s_lif2hh_dl"] == (
        sub_neurons * lif_mul + map_weights,
        sub_neurons * lif_add + map_weights - 1,
    )


def test_per_step_parts_scale_with_steps() -> None:
    ops = [count_costs("lif-conv", steps=steps)["ops_m"] for steps in (5, 10, 15)]
    assert ops[2] - ops[1] == pytest.approx(ops[1] - ops[0])
    assert count_costs("lif-conv", steps=10)["steps"] == 10


def test_unknown_net_is_an_input_error() -> None:
    with pytest.raises(InputError):
        count_costs("nope")


@pytest.mark.parametrize("name", ["cnn", "ann-fc", "lif-conv", "s-lif2hh-conv"])
def test_synaptic_sizes_agree_with_ptflops(name: str) -> None:
    """ptflops (aten backend) counts every matmul/conv as run: MACs, plus bias outputs for
    the layers that add a bias in the same call (nn.Linear, nn.Conv2d).

    The torch engine computes a spiking net's first stage once per image (a summed
    variable of a static input, hoisted out of the time loop) as a matmul or conv without
    bias (the bias comes through the image's constant unit), and layer 2's conv once per
    step on the summed event maps, without bias; so ptflops' total is MUL of stage 1, T x
    MUL of stage 2, and MUL + outputs of the readout and heads (and of the binary nets).
    """
    ptflops = pytest.importorskip("ptflops")
    net = build_net(name)
    macs, _ = ptflops.get_model_complexity_info(
        net,
        (1, 36, 36),
        as_strings=False,
        print_per_layer_stat=False,
        backend="aten",
        ost=io.StringIO(),
        input_constructor=lambda shape: {"images": torch.zeros(1, *shape)},
    )
    expected = 0
    for part in network_parts(net):
        if part.kind not in ("synapse", "readout", "head"):
            continue
        outputs = part.mul - part.add
        if net.spec.spiking and part.kind == "synapse":
            expected += (part.times if part.name.startswith("conv2") else 1) * part.mul
        else:
            expected += part.mul + outputs
    assert macs == expected


def test_timing_table_tiny() -> None:
    result = timing_table(("hh-fc", "s-lif2hh-fc"), batch=2, repeats=1, warmup=0, steps=3)
    assert set(result["models"]) == {"hh-fc", "s-lif2hh-fc"}
    for timings in result["models"].values():
        for phase in ("inference", "train"):
            assert timings[phase]["median_s"] > 0
            assert len(timings[phase]["samples_s"]) == 1
    ratio = result["ratios"]["hh_over_slif2hh_fc"]
    assert ratio["inference"] > 0 and ratio["train"] > 0
    assert "hh_over_slif2hh_conv" not in result["ratios"]
    with pytest.raises(InputError):
        timing_table(("lif-fc",), repeats=0)


def test_the_cost_and_timing_tables_take_adder_input_layers() -> None:
    table = cost_table(steps=2, synapse="adder")
    assert table["synapse"] == "adder"
    assert set(table["models"]) == {n for n in NETS if NETS[n].spiking}  # no binary ANN
    for name, row in table["models"].items():
        inputs = [p for p in row["parts"] if p["name"].startswith(("input_", "conv1_"))]
        assert inputs and all(p["mul"] * 2 * 9 <= p["add"] for p in inputs), name
    timed = timing_table(("lif-conv",), batch=2, repeats=1, warmup=0, steps=2, synapse="adder")
    assert timed["models"]["lif-conv"]["train"]["median_s"] > 0
