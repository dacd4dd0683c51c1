"""NIR both ways, checked against the real peers (snnTorch with nirtorch, Norse).

Graphs written by snnTorch's ``export_to_nir`` (Leaky, RLeaky, Synaptic, a conv net) and by
Norse's ``to_nir`` import into spikebridge and give, on the torch engine and in Brian2, the
spikes the peer gives; graphs spikebridge exports load in snnTorch's and Norse's importers
and give the same outputs there. The peers run one sample at a time (NIR shapes have no
batch dimension, and both importers apply ``Flatten`` dimensions literally).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from brian2 import ms, second

from spikebridge.bridge.nir_export import save_nir, to_nir
from spikebridge.errors import InputError
from spikebridge.nets import build_net
from spikebridge.network import Network, Population
from spikebridge.nir import export_nir, import_nir, read_graph

nir = pytest.importorskip("nir")

T = 30
#: Brian2's runtime device with numpy code: nothing to compile (the Cython runtime and the
#: standalone devices are covered by the network tests)
BRIAN2 = "numpy"
#: snnTorch's neurons as NIR reads them: reset to zero in the step of the spike
ZERO = {"reset_mechanism": "zero", "reset_delay": False, "init_hidden": True}


def _spikes(shape: tuple[int, ...], seed: int, batch: int = 2) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.random((T, batch, *shape)) < 0.4).astype(np.float64)


def _run_peer(make: Any, x: np.ndarray) -> np.ndarray:
    """A NIR module of a peer, fresh per sample, stepped through ``x [T, batch, ...]``."""
    outputs = []
    for b in range(x.shape[1]):
        module, state, steps = make(), None, []
        with torch.no_grad():
            for t in range(x.shape[0]):
                sample = torch.as_tensor(x[t, b], dtype=torch.float32)
                result = module(sample) if state is None else module(sample, state)
                y, state = result if isinstance(result, tuple) else (result, None)
                steps.append(y.numpy() if isinstance(y, torch.Tensor) else y)
        outputs.append(np.stack(steps))
    return np.stack(outputs, 1)


def _single_output(run: Any) -> np.ndarray:
    (values,) = run.outputs.values()
    return np.asarray(values)


# -- snnTorch ----------------------------------------------------------------------------------
snn = pytest.importorskip("snntorch")
pytest.importorskip("nirtorch")


def _leaky(shape: tuple[int, ...], beta: float) -> Any:
    return snn.Leaky(beta=torch.full(shape, beta), threshold=torch.ones(shape), **ZERO)


def _snntorch_nets() -> dict[str, tuple[Any, tuple[int, ...]]]:
    torch.manual_seed(1)
    ff = torch.nn.Sequential(
        torch.nn.Linear(6, 5), _leaky((5,), 0.8), torch.nn.Linear(5, 3), _leaky((3,), 0.9)
    )
    rleaky = torch.nn.Sequential(
        torch.nn.Linear(6, 5),
        snn.RLeaky(beta=torch.full((5,), 0.8), threshold=torch.ones(5), linear_features=5, **ZERO),
        torch.nn.Linear(5, 3),
        _leaky((3,), 0.9),
    )
    synaptic = torch.nn.Sequential(
        torch.nn.Linear(6, 5),
        snn.Synaptic(
            alpha=torch.full((5,), 0.7), beta=torch.full((5,), 0.8), threshold=torch.ones(5), **ZERO
        ),
        torch.nn.Linear(5, 3),
        _leaky((3,), 0.9),
    )
    conv = torch.nn.Sequential(
        torch.nn.Conv2d(1, 2, 3, padding=1),
        _leaky((2, 8, 8), 0.8),
        torch.nn.AvgPool2d((2, 2)),  # a tuple: snnTorch's importer cannot read an int kernel
        torch.nn.Conv2d(2, 2, 3, padding=1),
        _leaky((2, 4, 4), 0.8),
        torch.nn.Flatten(),
        torch.nn.Linear(32, 4),
        _leaky((4,), 0.9),
    )
    with torch.no_grad():
        for net, gains in ((ff, (0, 2)), (rleaky, (0, 2)), (synaptic, (0, 2)), (conv, (0, 3, 6))):
            for k in gains:
                net[k].weight.mul_(3.0)
        rleaky[1].recurrent.weight.mul_(2.0)
    return {
        "leaky": (ff, (6,)),
        "rleaky": (rleaky, (6,)),
        "synaptic": (synaptic, (6,)),
        "conv": (conv, (1, 8, 8)),
    }


NETS = _snntorch_nets()


def _snntorch_run(net: Any, x: np.ndarray) -> np.ndarray:
    """The snnTorch network itself, batched (its Flatten keeps the batch dimension)."""
    for module in net.modules():
        for state in ("mem", "spk", "syn"):
            if isinstance(module, snn.SpikingNeuron) and hasattr(module, state):
                setattr(module, state, torch.zeros(0))
    with torch.no_grad():
        steps = [net(torch.as_tensor(x[t], dtype=torch.float32)) for t in range(len(x))]
    return torch.stack(steps).numpy()


def _snntorch_graph(name: str) -> Any:
    from snntorch.export_nir import export_to_nir

    net, shape = NETS[name]
    return export_to_nir(net, torch.zeros(1, *shape), ignore_dims=[0])


@pytest.mark.parametrize(
    ("name", "engines"),
    [
        ("leaky", ("torch",)),
        ("rleaky", ("torch", "brian2")),
        ("synaptic", ("torch",)),
        ("conv", ("torch", "brian2")),
    ],
)
def test_snntorch_graphs_give_snntorch_spikes(name: str, engines: tuple[str, ...]) -> None:
    """snnTorch's dt is 0.1 ms and its update forward Euler; Synaptic updates the current
    first (cuba="split")."""
    net, shape = NETS[name]
    x = _spikes(shape, seed=3)
    expected = _snntorch_run(net, x)
    assert expected.sum() >= 5, "the peer's network must spike"
    imported = import_nir(_snntorch_graph(name), dt=0.1 * ms, method="euler", cuba="split")
    for engine in engines:
        device = BRIAN2 if engine == "brian2" else None
        got = _single_output(imported.run({"input": x}, engine=engine, device=device))
        assert np.array_equal(got, expected), (engine, got.sum(), expected.sum())


def test_a_joint_cubalif_integrates_the_current_from_the_start_of_the_step() -> None:
    """cuba="joint": Brian2's forward Euler of both equations, the membrane driven by the
    current at the start of the step (a step behind snnTorch's Synaptic)."""
    net, shape = NETS["synaptic"]
    x = _spikes(shape, seed=3)
    joint = import_nir(_snntorch_graph("synaptic"), dt=0.1 * ms, method="euler", cuba="joint")
    got = _single_output(joint.run({"input": x}))
    assert not np.array_equal(got, _snntorch_run(net, x))
    assert [Path(str(p.model)).stem for p in joint.network.populations].count("nir_cubalif") == 1


@pytest.mark.parametrize("name", ["leaky", "synaptic", "conv"])
def test_our_exports_load_in_snntorch_with_the_same_outputs(name: str) -> None:
    from snntorch.import_nir import import_from_nir

    _, shape = NETS[name]
    x = _spikes(shape, seed=5)
    imported = import_nir(_snntorch_graph(name), dt=0.1 * ms, method="euler", cuba="split")
    ours = _single_output(imported.run({"input": x}))
    graph = export_nir(imported.network, reader="snntorch")
    if name == "synaptic":  # the split populations are one CubaLIF node again
        assert "CubaLIF" in {type(n).__name__ for n in graph.nodes.values()}
    got = _run_peer(lambda: import_from_nir(graph), x)
    assert ours.sum() >= 5 and np.array_equal(got, ours)


def test_the_paper_lif_nets_load_in_snntorch_and_back(tmp_path: Path) -> None:
    """lif-fc as NIR: snnTorch's importer and ours give the torch net's logits (mean of the
    per-step outputs; the readout is linear)."""
    from snntorch.import_nir import import_from_nir

    torch.manual_seed(4)
    net = build_net("lif-fc", steps=6, dtype=torch.float64)
    images = 255 * torch.rand(2, 1, 36, 36, dtype=torch.float64)
    with torch.no_grad():
        expected = net(images).numpy()
    path = save_nir(tmp_path / "net.nir", net, reader="snntorch")
    graph = read_graph(path)
    x = np.broadcast_to(images.numpy()[None], (6, 2, 1, 36, 36))
    peer = _run_peer(lambda: import_from_nir(graph), x)  # [T, B, 20]: task 1, then task 2
    logits = peer.mean(0).reshape(2, 2, 10)
    np.testing.assert_allclose(logits, expected, atol=1e-4)  # snnTorch runs float32
    ours = import_nir(to_nir(net), dt=1 * ms, method="euler").run({"pixels": x})
    logits = ours.outputs["output"].mean(0).reshape(2, 2, 10)
    np.testing.assert_allclose(logits, expected, rtol=0, atol=1e-12)


def test_hh_and_s_lif2hh_are_refused_with_the_reason() -> None:
    for name in ("hh-fc", "s-lif2hh-fc"):
        with pytest.raises(InputError, match="no NIR equivalent"):
            to_nir(build_net(name))


# -- Norse -------------------------------------------------------------------------------------
def _norse() -> Any:
    return pytest.importorskip("norse.torch")


def test_norse_graphs_give_norse_spikes() -> None:
    """A graph written by Norse's to_nir (LIFBoxCell: forward Euler at Norse's dt, r = 1),
    run by Norse's from_nir and by spikebridge at the same dt."""
    nt = _norse()
    torch.manual_seed(2)
    # Norse writes tau = dt / tau_mem_inv: tau_mem_inv 0.2 gives a graph with tau = 5 ms
    p = nt.LIFBoxParameters(tau_mem_inv=torch.tensor(0.2), v_th=torch.tensor(1.0))
    model = nt.SequentialState(
        torch.nn.Linear(6, 5), nt.LIFBoxCell(p), torch.nn.Linear(5, 3), nt.LIFBoxCell(p)
    )
    with torch.no_grad():
        model[0].weight.abs_().mul_(8.0)
        model[2].weight.abs_().mul_(8.0)
    graph = nt.to_nir(model, torch.zeros(6), dt=1e-3)
    x = _spikes((6,), seed=7)
    expected = _run_peer(lambda: nt.from_nir(graph, dt=1e-3), x)
    assert expected.sum() >= 5
    got = _single_output(import_nir(graph, dt=1 * ms, method="euler").run({"input": x}))
    assert np.array_equal(got, expected)


@pytest.mark.parametrize("name", ["leaky", "synaptic", "conv"])
def test_our_exports_load_in_norse_with_the_same_outputs(name: str) -> None:
    """reader="norse": r folded into the weights (Norse's LIF reads no r), average pools as
    sum pools; Norse steps at the dt it is given."""
    nt = _norse()
    _, shape = NETS[name]
    x = _spikes(shape, seed=11)
    imported = import_nir(_snntorch_graph(name), dt=0.1 * ms, method="euler", cuba="split")
    ours = _single_output(imported.run({"input": x}))
    graph = export_nir(imported.network, reader="norse")
    got = _run_peer(lambda: nt.from_nir(graph, dt=1e-4), x)
    assert ours.sum() >= 5 and np.array_equal(got, ours)


# -- every node type ---------------------------------------------------------------------------
def _every_node_graph() -> Any:
    rng = np.random.default_rng(0)

    def w(*shape: int, gain: float = 1.0) -> np.ndarray:
        return gain * rng.normal(0.5, 0.5, shape)

    def full(shape: tuple[int, ...], value: float) -> np.ndarray:
        return np.full(shape, value)

    def lif_map(*shape: int) -> Any:
        return nir.LIF(
            tau=full(shape, 5e-3),
            r=full(shape, 4.0),
            v_leak=full(shape, 0.0),
            v_threshold=full(shape, 1.0),
            v_reset=full(shape, 0.0),
        )

    def conv(shape: tuple[int, int], weight: np.ndarray, bias: float) -> Any:
        return nir.Conv2d(
            input_shape=shape,
            weight=weight,
            stride=1,
            padding=1,
            dilation=1,
            groups=1,
            bias=full((weight.shape[0],), bias),
        )

    def lif(n: int) -> Any:
        return nir.LIF(
            tau=full((n,), 5e-3),
            r=full((n,), 4.0),
            v_leak=full((n,), 0.1),
            v_threshold=full((n,), 1.0),
            v_reset=full((n,), -0.2),
        )

    sub = nir.NIRGraph(
        nodes={
            "input": nir.Input(input_type={"input": np.array([2])}),
            "affine": nir.Affine(weight=w(3, 2, gain=4), bias=full((3,), 0.1)),
            "lif": lif(3),
            "output": nir.Output(output_type={"output": np.array([3])}),
        },
        edges=[("input", "affine"), ("affine", "lif"), ("lif", "output")],
        type_check=False,
    )
    nodes = {
        "in": nir.Input(input_type={"input": np.array([4])}),
        "img": nir.Input(input_type={"input": np.array([1, 6, 6])}),
        "seq": nir.Input(input_type={"input": np.array([2, 8])}),
        "a1": nir.Affine(weight=w(5, 4, gain=3), bias=full((5,), 0.2)),
        "lif": lif(5),
        "rec": nir.Affine(weight=w(5, 5), bias=full((5,), -0.1)),
        "lin": nir.Linear(weight=w(3, 5, gain=2)),
        "scale": nir.Scale(scale=np.array([1.0, 2.0, 0.5])),
        "cuba": nir.CubaLIF(
            tau_syn=full((3,), 2e-3),
            tau_mem=full((3,), 4e-3),
            r=full((3,), 2.0),
            v_leak=full((3,), 0.0),
            v_threshold=full((3,), 0.8),
            v_reset=full((3,), 0.0),
            w_in=full((3,), 3.0),
        ),
        "delay": nir.Delay(delay=full((5,), 3e-4)),
        "a3": nir.Affine(weight=w(2, 5, gain=2), bias=full((2,), 0.0)),
        "if": nir.IF(r=full((2,), 3000.0), v_threshold=full((2,), 1.0), v_reset=full((2,), 0.0)),
        "a4": nir.Affine(weight=w(3, 3), bias=full((3,), 0.0)),
        "li": nir.LI(tau=full((3,), 3e-3), r=full((3,), 1.5), v_leak=full((3,), 0.0)),
        "a5": nir.Affine(weight=w(2, 5), bias=full((2,), 0.05)),
        "integ": nir.I(r=full((2,), 500.0)),
        "cubali": nir.CubaLI(
            tau_syn=full((2,), 2e-3),
            tau_mem=full((2,), 4e-3),
            r=full((2,), 1.0),
            v_leak=full((2,), 0.0),
            w_in=full((2,), 1.0),
        ),
        "a7": nir.Affine(weight=w(2, 3), bias=full((2,), 0.0)),
        "a6": nir.Affine(weight=w(2, 4, gain=2), bias=full((2,), -0.2)),
        "thr": nir.Threshold(threshold=full((2,), 0.9)),
        "sub": sub,
        "conv1": conv((6, 6), w(2, 1, 3, 3), 0.1),
        "c1": lif_map(2, 6, 6),
        "pool": nir.SumPool2d(
            kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])
        ),
        "conv2": conv((3, 3), w(2, 2, 3, 3), 0.0),
        "c2": lif_map(2, 3, 3),
        "avg": nir.AvgPool2d(
            kernel_size=np.array([3, 3]), stride=np.array([3, 3]), padding=np.array([0, 0])
        ),
        "flat": nir.Flatten(input_type={"input": np.array([2, 1, 1])}, start_dim=0, end_dim=-1),
        "a8": nir.Affine(weight=w(2, 2, gain=4), bias=full((2,), 0.3)),
        "c3": lif(2),
        "conv1d": nir.Conv1d(
            input_shape=8,
            weight=w(3, 2, 3),
            stride=1,
            padding=1,
            dilation=1,
            groups=1,
            bias=full((3,), 0.0),
        ),
        "c4": lif_map(3, 8),
    }
    edges = [
        ("in", "a1"),
        ("a1", "lif"),
        ("lif", "rec"),
        ("rec", "lif"),
        ("lif", "lin"),
        ("lin", "scale"),
        ("scale", "cuba"),
        ("lif", "delay"),
        ("delay", "a3"),
        ("a3", "if"),
        ("cuba", "a4"),
        ("a4", "li"),
        ("lif", "a5"),
        ("a5", "integ"),
        ("li", "a7"),
        ("a7", "cubali"),
        ("in", "a6"),
        ("a6", "thr"),
        ("thr", "sub"),
        ("img", "conv1"),
        ("conv1", "c1"),
        ("c1", "pool"),
        ("pool", "conv2"),
        ("conv2", "c2"),
        ("c2", "avg"),
        ("avg", "flat"),
        ("flat", "a8"),
        ("a8", "c3"),
        ("seq", "conv1d"),
        ("conv1d", "c4"),
    ]
    outputs = {
        "out_li": "li",
        "out_integ": "integ",
        "out_sub": "sub",
        "out_c3": "c3",
        "out_if": "if",
        "out_cubali": "cubali",
        "out_c4": "c4",
    }
    shapes = {
        "li": [3],
        "integ": [2],
        "sub": [3],
        "c3": [2],
        "if": [2],
        "cubali": [2],
        "c4": [3, 8],
    }
    for name, source in outputs.items():
        nodes[name] = nir.Output(output_type={"output": np.array(shapes[source])})
        edges.append((source, name))
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)


def _inputs(imported: Any, seed: int) -> dict[str, np.ndarray]:
    return {
        name: _spikes(imported.graph.shapes[name], seed + k, batch=1)
        for k, name in enumerate(sorted(imported.inputs))
    }


def test_every_node_type_runs_identically_on_both_engines(tmp_path: Path) -> None:
    """One graph with every supported node (nested graph, recurrent edge, delay, conv1d,
    conv2d, both pools, scale, flatten, all neuron nodes): Brian2 and torch agree, and the
    graph written to a file reads back to the same network."""
    graph = _every_node_graph()
    nir.write(str(tmp_path / "every.nir"), graph)
    imported = import_nir(tmp_path / "every.nir", dt=0.1 * ms, method="exact")
    x = _inputs(imported, seed=1)
    runs = {
        e: imported.run(x, engine=e, device=BRIAN2 if e == "brian2" else None)
        for e in ("torch", "brian2")
    }
    for name in imported.outputs:
        a, b = runs["torch"].outputs[name], runs["brian2"].outputs[name]
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-9, err_msg=name)
    spiking = ("lif", "cuba", "if", "thr", "sub.lif", "c1", "c2", "c3", "c4")
    for node in spiking:
        assert runs["torch"].emitted[node].sum() > 0, f"{node} never spikes"


def test_export_round_trip_keeps_every_parameter_exactly() -> None:
    graph = _every_node_graph()
    imported = import_nir(graph, dt=0.1 * ms, method="exact")
    exported = export_nir(imported.network)
    neuron_types = ("LIF", "IF", "LI", "I", "CubaLIF", "CubaLI", "Threshold")
    flat = imported.graph
    checked = 0
    for node, population in imported.populations.items():
        original = flat.nodes[node]
        kind = type(original).__name__
        if kind not in neuron_types:
            continue
        written = exported.nodes[population]
        assert type(written).__name__ == kind
        for attribute, value in vars(original).items():
            if attribute in ("input_type", "output_type", "metadata"):
                continue
            expected = np.broadcast_to(np.asarray(value, dtype=np.float64), flat.shapes[node])
            assert np.array_equal(np.asarray(getattr(written, attribute)), expected), (
                node,
                attribute,
            )
        checked += 1
    assert checked == 12
    again = import_nir(exported, dt=0.1 * ms, method="exact")
    x = _inputs(imported, seed=4)
    first = imported.run(x).emitted
    second = again.run(
        {
            again_name: x[name]
            for name, again_name in zip(sorted(imported.inputs), sorted(again.inputs), strict=True)
        }
    ).emitted
    for node, population in imported.populations.items():
        if node in imported.inputs or type(flat.nodes[node]).__name__ not in neuron_types:
            continue
        match = next(n for n, p in again.populations.items() if n == population)
        np.testing.assert_allclose(second[match], first[node], rtol=0, atol=1e-12)


# -- the analytical solution -------------------------------------------------------------------
def test_a_nir_lif_with_exact_integration_fires_at_the_analytical_times() -> None:
    """tau dv/dt = (v_leak - v) + r I with I = w s(t): s is 1 during the steps an input
    spike occupies. Between changes of I the solution is v_inf + (v - v_inf) exp(-t/tau);
    its threshold crossing times (solved in closed form; the reset at the end of the step
    of the crossing, as a clocked threshold does) and Brian2's spikes (exact method, dt =
    0.1 ms, detected at the end of their step) lie within one step."""
    dt, tau, r, w, threshold = 1e-4, 4e-3, 2.0, 1.5, 1.0
    graph = nir.NIRGraph(
        nodes={
            "input": nir.Input(input_type={"input": np.array([1])}),
            "w": nir.Linear(weight=np.array([[w]])),
            "lif": nir.LIF(
                tau=np.array([tau]),
                r=np.array([r]),
                v_leak=np.array([0.0]),
                v_threshold=np.array([threshold]),
                v_reset=np.array([0.0]),
            ),
            "output": nir.Output(output_type={"output": np.array([1])}),
        },
        edges=[("input", "w"), ("w", "lif"), ("lif", "output")],
        type_check=False,
    )
    steps = 400
    x = np.zeros((steps, 1, 1))
    x[20:200, 0, 0] = 1.0  # a burst of input spikes, one per step, then silence
    x[260:300, 0, 0] = 1.0
    imported = import_nir(graph, dt=dt * second, method="exact")
    brian = np.nonzero(
        imported.run({"input": x}, engine="brian2", device=BRIAN2).outputs["output"][:, 0, 0]
    )[0]
    v, analytic = 0.0, []
    for k in range(steps):  # the closed form over each step (its input is constant)
        drive = r * w * x[k, 0, 0]
        end = drive + (v - drive) * np.exp(-dt / tau)
        if end > threshold:  # crossing time within the step, then reset at the step's end
            analytic.append(k * dt - tau * np.log((threshold - drive) / (v - drive)))
            end = 0.0
        v = end
    assert len(analytic) >= 5 and len(brian) == len(analytic)
    times = (brian + 1) * dt  # a spike of step k is detected at the end of the step
    assert np.max(np.abs(times - np.array(analytic))) <= dt


# -- bad input ---------------------------------------------------------------------------------
def test_bad_graphs_and_arguments_are_refused_with_the_fix() -> None:
    graph = _snntorch_graph("leaky")
    with pytest.raises(InputError, match="positive time"):
        import_nir(graph, dt=0.1, method="euler")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="method must be"):
        import_nir(graph, dt=0.1 * ms, method="rk4")
    delayed = nir.NIRGraph(
        nodes={
            "input": nir.Input(input_type={"input": np.array([2])}),
            "delay": nir.Delay(delay=np.array([1.5e-4, 1.5e-4])),
            "lif": nir.LIF(
                tau=np.full(2, 1e-3),
                r=np.ones(2),
                v_leak=np.zeros(2),
                v_threshold=np.ones(2),
                v_reset=np.zeros(2),
            ),
        },
        edges=[("input", "delay"), ("delay", "lif")],
        type_check=False,
    )
    with pytest.raises(InputError, match="not whole steps"):
        import_nir(delayed, dt=0.1 * ms)
    bad_tau = nir.NIRGraph(
        nodes={
            "input": nir.Input(input_type={"input": np.array([2])}),
            "lif": nir.LIF(
                tau=np.zeros(2),
                r=np.ones(2),
                v_leak=np.zeros(2),
                v_threshold=np.ones(2),
                v_reset=np.zeros(2),
            ),
        },
        edges=[("input", "lif")],
        type_check=False,
    )
    with pytest.raises(InputError, match="must be > 0"):
        import_nir(bad_tau, dt=0.1 * ms)
    with pytest.raises(InputError, match="does not exist"):
        import_nir("missing.nir", dt=0.1 * ms)
    imported = import_nir(graph, dt=0.1 * ms, method="euler")
    with pytest.raises(InputError, match="missing"):
        imported.run({})
    hh = Network("hh_net", 0.01 * ms, (Population("p", "hh_dl", 2),), schedule="layered")
    with pytest.raises(InputError, match="no NIR equivalent: NIR has no Hodgkin-Huxley"):
        export_nir(hh)


def test_the_nir_commands_import_run_and_export(tmp_path: Path) -> None:
    from spikebridge.cli import main

    graph_file = tmp_path / "leaky.nir"
    nir.write(str(graph_file), _snntorch_graph("leaky"))
    x = _spikes((6,), seed=2, batch=1)[:, 0]
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "run"
    code = main(
        [
            "nir",
            "import",
            str(graph_file),
            "--dt",
            "0.1",
            "--method",
            "euler",
            "--engine",
            "torch",
            "--input",
            str(tmp_path / "x.npy"),
            "--out",
            str(out),
        ]
    )
    assert code == 0
    outputs = np.load(out / "outputs.npz")
    expected = _snntorch_run(NETS["leaky"][0], x[:, None])
    assert np.array_equal(outputs["output"], expected)
    assert {p.name for p in out.iterdir()} >= {"spikes.npz", "raster.png", "network.npz"}
    assert main(["nir", "export", str(out / "network.npz"), str(tmp_path / "back.nir")]) == 0
    back = import_nir(tmp_path / "back.nir", dt=0.1 * ms, method="euler")
    again = back.run({next(iter(back.inputs)): x})
    assert np.array_equal(_single_output(again), expected)


def test_per_element_delays_are_per_synapse_delays() -> None:
    """A Delay node of different delays after a spiking node: two copies of one neuron, the
    second delayed by 3 steps, fire the same train 3 steps apart (both engines); a delay
    after a node that sends values is refused (Brian2 reads the value on arrival)."""

    def lif(n: int) -> Any:
        return nir.LIF(
            tau=np.full(n, 2e-3),
            r=np.full(n, 2.0),
            v_leak=np.zeros(n),
            v_threshold=np.ones(n),
            v_reset=np.zeros(n),
        )

    nodes = {
        "input": nir.Input(input_type={"input": np.array([3])}),
        "affine": nir.Affine(weight=np.array([[3.0, 2.0, 1.0]]), bias=np.zeros(1)),
        "first": lif(1),
        "fan": nir.Linear(weight=np.array([[30.0], [30.0]])),
        "delay": nir.Delay(delay=np.array([0.0, 3e-4])),
        "second": lif(2),
        "output": nir.Output(output_type={"output": np.array([2])}),
    }
    edges = [
        ("input", "affine"),
        ("affine", "first"),
        ("first", "fan"),
        ("fan", "delay"),
        ("delay", "second"),
        ("second", "output"),
    ]
    graph = nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)
    imported = import_nir(graph, dt=0.1 * ms, method="exact")
    x = _spikes((3,), seed=9, batch=1)
    for engine in ("torch", "brian2"):
        run = imported.run(
            {"input": x}, engine=engine, device=BRIAN2 if engine == "brian2" else None
        )
        spikes = run.outputs["output"][:, 0]
        assert spikes[:, 0].sum() >= 3
        assert np.array_equal(spikes[3:, 1], spikes[:-3, 0]) and not spikes[:3, 1].any()
    exported = export_nir(imported.network)
    delays = [n for n in exported.nodes.values() if type(n).__name__ == "Delay"]
    assert len(delays) == 1 and np.allclose(delays[0].delay, [0.0, 3e-4])
    valued = nir.NIRGraph(
        nodes={**nodes, "delay": nir.Delay(delay=np.full(3, 3e-4))},
        edges=[
            ("input", "delay"),
            ("delay", "affine"),
            ("affine", "first"),
            ("first", "fan"),
            ("fan", "second"),
            ("second", "output"),
        ],
        type_check=False,
    )
    with pytest.raises(InputError, match="reads it when the event arrives"):
        import_nir(valued, dt=0.1 * ms)


def test_nir_import_default_input_json_and_reader_options(tmp_path: Path, capsys: Any) -> None:
    """Without --input: seeded Bernoulli spikes at --rate (the same seed, the same run);
    --json; export for Norse at a rescaled reader step (time constants x reader_dt / dt)."""
    import json

    from spikebridge.cli import main

    graph_file = tmp_path / "leaky.nir"
    nir.write(str(graph_file), _snntorch_graph("leaky"))
    reports = []
    for out in ("a", "b"):
        args = [
            "nir",
            "import",
            str(graph_file),
            "--dt",
            "0.1",
            "--method",
            "euler",
            "--engine",
            "torch",
            "--steps",
            "40",
            "--rate",
            "2000",
            "--seed",
            "3",
            "--json",
            "--out",
            str(tmp_path / out),
        ]
        assert main(args) == 0
        reports.append(json.loads(capsys.readouterr().out))
    assert reports[0]["outputs"] == {"output": [40, 1, 3]}
    a, b = (np.load(tmp_path / o / "outputs.npz")["output"] for o in ("a", "b"))
    assert np.array_equal(a, b) and a.sum() > 0
    target = tmp_path / "norse.nir"
    args = [
        "nir",
        "export",
        str(tmp_path / "a" / "network.npz"),
        str(target),
        "--reader",
        "norse",
        "--reader-dt",
        "1",
    ]
    assert main(args) == 0
    written = read_graph(target)
    lifs = [n for n in written.nodes.values() if type(n).__name__ == "LIF"]
    original = [n for n in _snntorch_graph("leaky").nodes.values() if type(n).__name__ == "LIF"]
    for lif, source in zip(lifs, original, strict=True):
        np.testing.assert_allclose(
            lif.tau, np.asarray(source.tau, dtype=np.float64) * 10, rtol=1e-12
        )
        assert np.all(lif.r == 1)
    assert float(written.metadata["time_scale"]) == pytest.approx(10.0)
