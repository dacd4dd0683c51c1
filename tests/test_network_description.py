"""Network descriptions: connectivity forms, validation and clear errors, lossless files.

Each connectivity kind's per-synapse form (what Brian2 builds) and its matrix form (what the
torch engine trains with) are the same linear map; random rules are reproducible and obey
their constraints; bad descriptions raise InputError naming the element and the fix; a
saved network loads back with every value and array identical.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from brian2 import Hz, ms, mV, namp, nS

import spikebridge as sb
from spikebridge.errors import InputError, SpikebridgeError, UnknownModelError
from spikebridge.network import (
    Chain,
    ChannelBias,
    ConstantSource,
    Conv2d,
    CurrentInput,
    Dense,
    FixedInDegree,
    Network,
    Normal,
    OneToOne,
    PoissonSource,
    Pool2d,
    Population,
    Probability,
    Projection,
    Sparse,
    SpikeSource,
    Synapse,
    Uniform,
    ValueSource,
    list_networks,
    load_network,
    network_from,
    plan_network,
    prepare_run,
    save_network,
)
from spikebridge.network.file import network_to_dict
from spikebridge.torch.network import run_network_torch

RNG = np.random.default_rng(0)
KINDS: list[tuple[str, Any, int, int]] = [
    ("dense", Dense(), 7, 5),
    ("one_to_one", OneToOne(), 6, 6),
    ("sparse", Sparse(RNG.integers(0, 7, 30), RNG.integers(0, 5, 30)), 7, 5),
    ("probability", Probability(0.3, seed=2), 20, 15),
    ("in_degree", FixedInDegree(4, seed=3), 20, 15),
    ("conv", Conv2d((2, 6, 5), 3, (3, 2), stride=(2, 1), padding=(1, 0)), 60, 3 * 3 * 4),
    ("avg_pool", Pool2d((2, 6, 4), 2), 48, 12),
    ("sum_pool", Pool2d((1, 6, 6), 3, stride=2, mode="sum"), 36, 4),
    ("pool_conv", Chain((Pool2d((2, 6, 6), 2), Conv2d((2, 3, 3), 4, 3, padding=1))), 72, 36),
    ("channel_bias", ChannelBias((3, 2, 4)), 1, 24),
]


@pytest.mark.parametrize(("name", "kind", "n_pre", "n_post"), KINDS, ids=[k[0] for k in KINDS])
def test_synapse_form_equals_matrix_form(name: str, kind: Any, n_pre: int, n_post: int) -> None:
    kind.check(n_pre, n_post)
    arrays = kind.synapses(n_pre, n_post)
    shape = kind.weight_shape(n_pre, n_post)
    weight = None if shape is None else torch.randn(shape, dtype=torch.float64)
    x = torch.randn(3, n_pre, dtype=torch.float64)
    matrix = kind.apply(x, weight, n_post)
    w = torch.as_tensor(arrays.weights(None if weight is None else weight.numpy()))
    per_synapse = torch.zeros(3, n_post, dtype=torch.float64).index_add(
        -1, torch.as_tensor(arrays.post), x[:, torch.as_tensor(arrays.pre)] * w
    )
    assert arrays.size > 0
    torch.testing.assert_close(per_synapse, matrix, rtol=1e-12, atol=1e-12)


def test_conv_and_pool_synapses_against_torch() -> None:
    """An independent oracle: torch's own conv2d and avg_pool2d of an image."""
    conv = Conv2d((2, 7, 6), 3, 3, stride=2, padding=1)
    image = torch.randn(1, 2, 7, 6, dtype=torch.float64)
    kernel = torch.randn(3, 2, 3, 3, dtype=torch.float64)
    arrays = conv.synapses(84, int(np.prod(conv.out_shape)))
    expected = F.conv2d(image, kernel, stride=2, padding=1).flatten()
    got = np.zeros(arrays.n_post)
    np.add.at(
        got, arrays.post, image.flatten().numpy()[arrays.pre] * arrays.weights(kernel.numpy())
    )
    np.testing.assert_allclose(got, expected.numpy(), rtol=1e-12)
    pool = Pool2d((2, 7, 6), 2)
    pooled = pool.synapses(84, int(np.prod(pool.out_shape)))
    got = np.zeros(pooled.n_post)
    np.add.at(got, pooled.post, image.flatten().numpy()[pooled.pre] * pooled.weights(None))
    np.testing.assert_allclose(got, F.avg_pool2d(image, 2).flatten().numpy(), rtol=1e-12)


def test_random_rules() -> None:
    fixed = FixedInDegree(15, seed=1, recurrent=True).synapses(200, 200)
    assert (fixed.in_degrees() == 15).all()
    assert not (fixed.pre == fixed.post).any()
    assert (np.diff(fixed.pre * 200 + fixed.post) > 0).all()  # sorted, no duplicate
    every = FixedInDegree(19, seed=1, recurrent=True).synapses(20, 20)
    assert every.size == 20 * 19 and not (every.pre == every.post).any()
    pairs = Probability(0.1, seed=2, recurrent=True).synapses(300, 300)
    expected = 0.1 * 300 * 299
    assert abs(pairs.size - expected) < 5 * np.sqrt(expected)
    assert Probability(1.0, recurrent=True).synapses(50, 50).size == 50 * 49
    assert Probability(1.0, recurrent=True, autapses=True).synapses(50, 50).size == 50 * 50
    assert Probability(0.0).synapses(50, 50).size == 0
    np.testing.assert_array_equal(
        Probability(0.1, seed=2, recurrent=True).synapses(300, 300).post, pairs.post
    )
    between = Probability(1.0).synapses(4, 6)  # two populations: every pair, none skipped
    assert between.size == 24


# -- bad descriptions ---------------------------------------------------------------------------
def _pops() -> tuple[Population, Population]:
    return Population("exc", "lif_coba", 8), Population("inh", "lif_coba", 4)


EXC_SYN = Synapse("w : siemens", on_pre="g_e_post += w")


def _network(*projections: Projection, **kwargs: Any) -> Network:
    return Network("net", 0.1 * ms, _pops(), kwargs.pop("sources", ()), projections, **kwargs)


def _plan_and_build(network: Network) -> None:
    plan = plan_network(network)
    run_network_torch(prepare_run(plan, n_steps=3))


BAD: list[tuple[str, Callable[[], Any], str]] = [
    (
        "unknown population",
        lambda: _network(Projection("p", "exc", "nowhere", EXC_SYN, Dense(), weights=1 * nS)),
        r"unknown target 'nowhere'.*populations and sources are: exc, inh",
    ),
    (
        "unknown variable in on_pre",
        lambda: _plan_and_build(
            _network(
                Projection(
                    "p",
                    "exc",
                    "inh",
                    Synapse("w : siemens", on_pre="g_x_post += w"),
                    Dense(),
                    weights=1 * nS,
                )
            )
        ),
        r"'g_x_post' refers to 'g_x' of 'inh', which has no such variable",
    ),
    (
        "weights of the wrong shape",
        lambda: plan_network(
            _network(Projection("p", "exc", "inh", EXC_SYN, Dense(), weights=np.ones((4, 8)) * nS))
        ),
        r"weights have shape \(4, 8\); give them in the shape \(8, 4\)",
    ),
    (
        "delay not whole steps",
        lambda: plan_network(
            _network(
                Projection("p", "exc", "inh", EXC_SYN, Dense(), weights=1 * nS, delay=0.25 * ms)
            )
        ),
        r"delay 0.25 ms is not a whole number of steps of dt = 0.1 ms.*e.g. 0.2 ms",
    ),
    (
        "weight in the wrong unit",
        lambda: _plan_and_build(
            _network(
                Projection(
                    "p",
                    "exc",
                    "inh",
                    Synapse("w : volt", on_pre="g_e_post += w"),
                    Dense(),
                    weights=1 * mV,
                )
            )
        ),
        r"Projection 'p'.*Check the units",
    ),
    (
        "summed onto a variable the target lacks",
        lambda: _plan_and_build(
            _network(
                Projection(
                    "p",
                    "exc",
                    "inh",
                    Synapse("w : amp\nJ_post = w : amp (summed)"),
                    Dense(),
                    weights=1 * namp,
                )
            )
        ),
        r"Projection 'p'.*'J_post' refers to 'J' of 'inh', which has no such",
    ),
    (
        "weights in the wrong unit",
        lambda: plan_network(
            _network(Projection("p", "exc", "inh", EXC_SYN, Dense(), weights=1 * mV))
        ),
        r"needs units of S",
    ),
    (
        "no weights",
        lambda: plan_network(_network(Projection("p", "exc", "inh", EXC_SYN, Dense()))),
        r"give weights for 'w'",
    ),
    (
        "weight not declared",
        lambda: plan_network(
            _network(
                Projection(
                    "p",
                    "exc",
                    "inh",
                    Synapse("", on_pre="g_e_post += 1*nS"),
                    Dense(),
                    weights=1 * nS,
                )
            )
        ),
        r"weight variable 'w' is not a parameter of the synapse model",
    ),
    ("reserved name", lambda: Population("t", "lif", 3), r"Population name 't' is not allowed"),
    (
        "duplicate names",
        lambda: Network(
            "n", 0.1 * ms, (Population("a", "lif", 2),), (PoissonSource("a", 2, 5 * Hz),)
        ),
        r"the names \['a'\] are used twice",
    ),
    (
        "unknown model",
        lambda: plan_network(Network("n", 0.1 * ms, (Population("a", "lifx", 2),))),
        r"Population 'a': Unknown model 'lifx'",
    ),
    (
        "unknown parameter",
        lambda: plan_network(
            Network("n", 0.1 * ms, (Population("a", "lif", 2, parameters={"tau": 1 * ms}),))
        ),
        r"has no parameter 'tau'.*tau_m",
    ),
    (
        "a value source with on_pre",
        lambda: plan_network(
            _network(
                Projection("p", "pix", "inh", EXC_SYN, Dense(), weights=1 * nS),
                sources=(ValueSource("pix", 3),),
            )
        ),
        r"on_pre needs spikes, but 'pix' is a ValueSource",
    ),
    (
        "a bias without a constant unit",
        lambda: plan_network(
            _network(Projection("p", "exc", "inh", EXC_SYN, Dense(), weights=1 * nS, bias=1 * nS))
        ),
        r"a bias is added through synapses from the source's constant unit",
    ),
    (
        "dt too large for the method",
        lambda: plan_network(Network("n", 0.5 * ms, (Population("a", "lif_dl", 2),))),
        r"discrete-time map defined at dt = 1. ms",
    ),
    (
        "one-to-one of unequal sizes",
        lambda: plan_network(
            _network(Projection("p", "exc", "inh", EXC_SYN, OneToOne(), weights=1 * nS))
        ),
        r"OneToOne connects populations",
    ),
    (
        "conv of the wrong source size",
        lambda: plan_network(
            _network(
                Projection("p", "exc", "inh", EXC_SYN, Conv2d((1, 3, 3), 1, 2), weights=1 * nS)
            )
        ),
        r"Conv2d reads an image of shape \(1, 3, 3\) \(9 neurons\), but the source has 8",
    ),
]


@pytest.mark.parametrize(("what", "build", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_description_is_a_clear_error(
    what: str, build: Callable[[], Any], message: str
) -> None:
    with pytest.raises(SpikebridgeError, match=message):
        build()


def test_pathway_that_reads_what_it_writes_is_refused() -> None:
    synapse = Synapse("w : volt", on_pre="v_post += w * (v_post - E_L_post) / mV")
    network = _network(Projection("p", "exc", "inh", synapse, Dense(), weights=1 * mV))
    with pytest.raises(InputError, match="on_pre reads 'v_post', which it also changes"):
        _plan_and_build(network)


def test_assigning_a_postsynaptic_variable_is_refused() -> None:
    synapse = Synapse("w : siemens", on_pre="g_e_post = w")
    network = _network(Projection("p", "exc", "inh", synapse, Dense(), weights=1 * nS))
    with pytest.raises(InputError, match=r"other than by \+= or -="):
        _plan_and_build(network)


def test_a_pathway_overwritten_by_a_summed_variable_is_refused() -> None:
    summed = Synapse("w : amp\nI_post = w * x_pre : amp (summed)")
    adds = Synapse("w : amp", on_pre="I_post += w")
    network = _network(
        Projection("drive", "one", "inh", summed, Dense(), weights=0.1 * namp),
        Projection("p", "exc", "inh", adds, Dense(), weights=0.1 * namp),
        sources=(ConstantSource("one"),),
    )
    with pytest.raises(InputError, match="sets anew every step before 'inh' updates"):
        _plan_and_build(network)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"n_steps": 0}, "n_steps must be an integer >= 1"),
        ({"n_steps": 5, "trials": 0}, "trials must be an integer >= 1"),
        ({"n_steps": 5, "inputs": {"exc.I": np.ones(7) * namp}}, r"has shape \(7,\)"),
        ({"n_steps": 5, "inputs": {"exc.J": 1 * namp}}, "'J' is not a parameter"),
        ({"n_steps": 5, "inputs": {"nowhere": 1}}, "neither sources nor"),
        ({"n_steps": 5, "record": ("exc.q",)}, "has no variable 'q'"),
        ({}, "declares no duration"),
    ],
)
def test_bad_runs(options: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message):
        prepare_run(plan_network(_network()), **options)


# -- files ---------------------------------------------------------------------------------------
def _everything(model_path: Path) -> Network:
    rng = np.random.default_rng(3)
    return Network(
        "everything",
        0.1 * ms,
        (
            Population(
                "exc",
                "lif_coba",
                (4, 5),
                method="rk2",
                parameters={"I": Uniform(0.1 * namp, 0.2 * namp), "v_th": -52 * mV},
                initial={"v": Normal(-60 * mV, 2 * mV)},
                trainable=("tau_e",),
                seed=4,
            ),
            Population("mine", str(model_path), 3, parameters={"I": np.array([1, 2, 3]) * namp}),
        ),
        (
            PoissonSource(
                "noise", 4, rates=np.array([1, 2, 3, 4]) * Hz, realisation="engine", seed=2
            ),
            SpikeSource("given", 3, indices=np.array([0, 2]), times=np.array([1.0, 2.0]) * ms),
            ValueSource("pixels", (1, 4, 4), values=rng.random(16), constant_unit=True),
            ConstantSource("one", 2, value=0.5),
        ),
        (
            Projection(
                "a",
                "noise",
                "exc",
                EXC_SYN,
                Sparse(np.array([0, 3]), np.array([1, 9])),
                weights=np.array([1.0, 2.0]) * nS,
                delay=np.array([1, 2]) * 0.1 * ms,
            ),
            Projection(
                "b",
                "pixels",
                "exc",
                Synapse("w : 1\nI_post = w * x_pre * namp : amp (summed)"),
                Chain((Pool2d((1, 4, 4), 2), Conv2d((1, 2, 2), 5, 1, padding=(0, 0)))),
                weights=rng.random((5, 1, 1, 1)),
                bias=rng.random(5),
                trainable=True,
            ),
            Projection(
                "c",
                "exc",
                "exc",
                EXC_SYN,
                FixedInDegree(2, seed=5),
                weights=Uniform(0 * nS, 1 * nS),
                delay=0.2 * ms,
                seed=6,
            ),
        ),
        (CurrentInput("mine", "I", np.linspace(0, 1, 10) * namp),),
        schedule="layered",
        duration=1 * ms,
        doc="all kinds of parts",
    )


def test_network_file_round_trip_is_lossless(
    tmp_path: Path, model_file: Callable[[str, str], Path]
) -> None:
    text = Path(sb.load_model("lif").source).read_text()
    model_path = model_file(text, "my_lif.py")
    network = _everything(model_path)
    path = save_network(tmp_path / "everything.npz", network)
    again = load_network(path)
    header, arrays = network_to_dict(network)
    header2, arrays2 = network_to_dict(again)
    assert header == header2
    assert arrays.keys() == arrays2.keys()
    for key, array in arrays.items():
        assert array.dtype == arrays2[key].dtype and np.array_equal(array, arrays2[key]), key
    plans = [plan_network(n) for n in (network, again)]
    for name in plans[0].populations:
        for key, value in plans[0].populations[name].parameters.items():
            np.testing.assert_array_equal(value, plans[1].populations[name].parameters[key])
    for name in plans[0].projections:
        a, b = plans[0].projections[name], plans[1].projections[name]
        np.testing.assert_array_equal(a.weight_values(), b.weight_values())
        np.testing.assert_array_equal(a.synapse_arrays(99)[0], b.synapse_arrays(99)[0])
    # the user's model file travels inside the network file
    model_path.unlink()
    moved = load_network(path)
    assert Path(moved.populations[1].model).read_text() == text


def test_a_network_file_of_another_format_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.npz"
    np.savez(path, __meta__=np.frombuffer(b'{"format": "x", "version": 9}', dtype=np.uint8))
    with pytest.raises(InputError, match="not a spikebridge-network file of version 2"):
        load_network(path)
    with pytest.raises(InputError, match="No network file"):
        load_network(tmp_path / "missing.npz")


# -- the catalogue ---------------------------------------------------------------------------------
def test_catalogue_networks_plan() -> None:
    names = list_networks()
    assert {"coba", "cuba", "brunel", "hh_coba", "mixed_ei", "recurrent_classifier", "stdp"} <= set(
        names
    )
    small = {"n": 100} if True else {}
    for name in names:
        options = {"recurrent_classifier": {}, "stdp": {"inputs": 20}}.get(name, small)
        plan = plan_network(network_from(name, options))
        assert plan.projections and plan.network.doc.strip()


def test_network_from_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"no option\(s\) \['size'\].*options are: n=4000"):
        network_from("coba", {"size": 10})
    with pytest.raises(UnknownModelError, match="Unknown network 'cobra'"):
        network_from("cobra")
    empty = tmp_path / "empty.py"
    empty.write_text('"""A file without build."""\n')
    with pytest.raises(InputError, match=r"defines no build\(\) function"):
        network_from(str(empty))
