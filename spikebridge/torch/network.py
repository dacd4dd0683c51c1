"""A described network on the torch engine: one ``nn.Module``, its generated step, one loop.

:class:`SpikingNetwork` holds a network's values as tensors (``nn.Parameter`` for what is
trained: a projection's weights and bias when ``trainable``, the populations'
``trainable`` parameters; buffers for everything else), builds the generated step
(:mod:`spikebridge.torch.network_codegen`) for a delivery mode, and runs it through the
torch engine's one time loop (:func:`~spikebridge.torch.loop.run_steps`, with its
``torch.compile`` and checkpointing options). Trials are a batch: every trial starts
from the initial state. ``forward`` takes the inputs per source and population drive:

* a :class:`~spikebridge.network.description.ValueSource`: ``[*batch, n]`` (held over the
  trial);
* a spike source (frozen Poisson, given trains): ``[T, *batch, n]`` spikes;
* ``"pop.var"`` drives: ``[T, *batch, n]``, ``[T, n]`` or ``[T]`` (SI values);

and returns a :class:`NetworkOutput`: every population's events ``[T, *batch, n_events
* n]`` (differentiable through the surrogate spike function) and the recorded traces.
Delivery (``synapses``): ``"matrix"``, ``"scatter"`` or ``"event"`` (see
:mod:`spikebridge.torch.synapse_ops`); ``"auto"`` is ``"matrix"`` with gradients and
``"event"`` without (both follow the description; only ``matrix`` sums in another order,
and trains adder synapses, ``A + B * abs(P - w)`` summed, with AdderNet's gradients where
``event`` and ``scatter`` differentiate them exactly).
:func:`run_network_torch` runs a :class:`~spikebridge.network.run.NetworkRun` and returns
a :class:`~spikebridge.network.result.NetworkResult`, like the Brian2 engine.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ..brian.network_program import network_program
from ..checks import count
from ..errors import InputError
from ..network.description import ConstantSource, Network, PoissonSource, ValueSource
from ..network.plan import NetworkPlan, plan_network
from ..network.result import NetworkResult, spike_table
from ..network.run import NetworkRun
from .loop import LASTSPIKE_NEVER, check_steps, run_steps
from .network_codegen import MODES, NetworkStep, generate_network_step
from .surrogate import SpikeFunction, rectangular

DTYPES = {"float64": torch.float64, "float32": torch.float32}
SYNAPSE_MODES = ("auto", *MODES)


@dataclass(frozen=True)
class NetworkOutput:
    """Events per population ``[T, *batch, n_events * n]`` and traces ``[T, *batch, n]``."""

    spikes: dict[str, Tensor]
    traces: dict[str, Tensor]
    state: Any


def _buffer_name(owner: str, var: str) -> str:
    return f"{owner}__{var}"


class SpikingNetwork(nn.Module):
    """A network description as an ``nn.Module`` (see the module docstring).

    Args:
        network: a :class:`~spikebridge.network.Network` or its plan.
        synapses: delivery mode, ``"auto"``, ``"matrix"``, ``"scatter"`` or ``"event"``.
        dtype: float type of values and state (default: torch's default dtype).
        spike_fn: spike function with a surrogate gradient (default: the paper's
            rectangular window with the first population's ``SURROGATE_WIDTH``).
        compile: ``False``, ``"step"`` or ``"loop"``/``True`` (:mod:`.compiled`).
        compile_options: inductor options of the compiled step or loop.
        checkpoint_every: checkpoint the time loop every this many steps in training.
        detach_reset: reset with the detached spike: the same forward values, no gradient
            through the reset (snnTorch's default). The default, False, is the paper's: the
            gradient flows through the reset, which is stable for the deep-learning models
            (membranes of order 1) but can explode for a physical model in SI units, where
            a crossing multiplies the path by |v_reset - v| / (membrane unit).
    """

    def __init__(
        self,
        network: Network | NetworkPlan,
        *,
        synapses: str = "auto",
        dtype: torch.dtype | None = None,
        spike_fn: SpikeFunction | None = None,
        compile: bool | str = False,
        compile_options: Mapping[str, Any] | None = None,
        checkpoint_every: int | None = None,
        detach_reset: bool = False,
    ) -> None:
        super().__init__()
        from .compiled import check_mode

        self.plan = network if isinstance(network, NetworkPlan) else plan_network(network)
        if synapses not in SYNAPSE_MODES:
            raise InputError(
                f"synapses must be one of {', '.join(SYNAPSE_MODES)}, got {synapses!r}."
            )
        self.synapses = synapses
        self.detach_reset = bool(detach_reset)
        self.compile_mode = check_mode(compile)
        self.compile_options = dict(compile_options) if compile_options else None
        self.checkpoint_every = check_steps(checkpoint_every)
        first = next(iter(self.plan.populations.values()))
        self.spike_fn = spike_fn or rectangular(first.model.surrogate_width)
        dtype = dtype or torch.get_default_dtype()
        self._steps: dict[tuple[Any, ...], NetworkStep] = {}
        owner = {name: group[0] for group in self.plan.network.tied for name in group[1:]}
        for pop in self.plan.populations.values():
            for name, value in pop.parameters.items():
                tensor = torch.as_tensor(np.asarray(value), dtype=dtype)
                key = _buffer_name(pop.name, name)
                tied = owner.get(f"{pop.name}.{name}")
                if tied is not None:  # the same nn.Parameter object as its group's first
                    self.register_parameter(key, getattr(self, tied.replace(".", "__")))
                elif name in pop.trainable:
                    self.register_parameter(key, nn.Parameter(tensor))
                else:
                    self.register_buffer(key, tensor)
        for projection in self.plan.projections.values():
            trainable = projection.trainable
            structured: tuple[tuple[str, np.ndarray | None], ...] = (
                ("W", projection.weight_parameter),
                ("b", projection.bias_parameter),
            )
            for key, array in structured:
                if array is None:
                    continue
                tensor = torch.as_tensor(array, dtype=dtype)
                name = _buffer_name(projection.name, key)
                if trainable:
                    self.register_parameter(name, nn.Parameter(tensor))
                else:
                    self.register_buffer(name, tensor)
            for name, value in projection.values.items():
                tensor = torch.as_tensor(np.asarray(value), dtype=dtype)
                self.register_buffer(_buffer_name(projection.name, name), tensor)
        self._dtype = dtype

    def parameter_dimension(self, name: str) -> Any:
        """The Brian2 dimension of a parameter or buffer (``<proj>__W``, ``<pop>__<param>``)."""
        owner, _, var = name.partition("__")
        if owner in self.plan.projections:
            plan = self.plan.projections[owner]
            if var in ("W", "b"):
                return plan.weight_dim
            return plan.synapse.dim(var)
        if owner in self.plan.populations:
            return self.plan.populations[owner].model.dim(var)
        raise KeyError(f"'{name}' is not a value of network '{self.plan.name}'.")

    # -- the description, with trained values ----------------------------------------------------
    def to_network(self) -> Network:
        """The description with this module's current values: trained weights and biases of
        the projections and trained parameters of the populations (everything else as
        described). Save it with :func:`spikebridge.network.save_network` and run it in
        Brian2: the bridge of any trained network."""
        from dataclasses import replace

        from ..network.values import with_dim

        network = self.plan.network
        populations = []
        for population in network.populations:
            plan = self.plan.populations[population.name]
            trained = {
                name: with_dim(
                    getattr(self, _buffer_name(population.name, name))
                    .detach()
                    .cpu()
                    .double()
                    .numpy()
                    .copy(),
                    plan.model.dim(name),
                )
                for name in plan.trainable
            }
            populations.append(replace(population, parameters={**population.parameters, **trained}))
        projections = []
        for projection in network.projections:
            resolved = self.plan.projections[projection.name]
            if not resolved.trainable:
                projections.append(projection)
                continue
            changes: dict[str, Any] = {}
            for key, field in (("W", "weights"), ("b", "bias")):
                value = getattr(self, _buffer_name(projection.name, key), None)
                if value is not None:
                    array = value.detach().cpu().double().numpy().copy()
                    changes[field] = with_dim(array, resolved.weight_dim)
            projections.append(replace(projection, **changes))
        return replace(network, populations=tuple(populations), projections=tuple(projections))

    # -- steps ------------------------------------------------------------------------------
    def delivery(self) -> str:
        """The delivery mode of the next call (``auto`` resolved by the grad mode)."""
        if self.synapses != "auto":
            return self.synapses
        return "matrix" if torch.is_grad_enabled() else "event"

    @torch.compiler.disable  # code generation (a Brian2 build) is never traced
    def network_step(self, mode: str, driven: frozenset[tuple[str, str]]) -> NetworkStep:
        """The generated step for a delivery mode and set of driven parameters (cached)."""
        key = (mode, driven, self.detach_reset)
        if key not in self._steps:
            program = network_program(self.plan)
            self._steps[key] = generate_network_step(
                self.plan, program, mode, driven, self.detach_reset
            )
        return self._steps[key]

    @property
    def source(self) -> str:
        """The generated step's source (the current delivery mode, no drives)."""
        return self.network_step(self.delivery(), frozenset()).source

    # -- values -----------------------------------------------------------------------------
    def _reference(self) -> Tensor:
        for tensor in (*self.parameters(), *self.buffers()):
            if tensor.is_floating_point():
                return tensor
        return torch.zeros((), dtype=self._dtype)

    def synapse_weights(self, projection: str) -> Tensor:
        """Every synapse's weight (bias synapses last), from the structured parameters."""
        plan = self.plan.projections[projection]
        reference = self._reference()
        parts = []
        if plan.synapses.weight_index is not None:
            weight = getattr(self, _buffer_name(projection, "W"))
            index = torch.as_tensor(plan.synapses.weight_index, device=weight.device)
            values = weight.reshape(-1)[index]
        else:
            values = torch.ones(plan.synapses.size, dtype=reference.dtype, device=reference.device)
        if plan.synapses.weight_scale is not None:
            scale = torch.as_tensor(plan.synapses.weight_scale, device=values.device)
            values = values * scale.to(values.dtype)
        parts.append(values)
        if plan.bias_index is not None:
            bias = getattr(self, _buffer_name(projection, "b"))
            parts.append(bias[torch.as_tensor(plan.bias_index, device=bias.device)])
        return parts[0] if len(parts) == 1 else torch.cat(parts)

    def _params(self, step: NetworkStep, batch: tuple[int, ...]) -> dict[str, Any]:
        reference = self._reference()
        device, dtype = reference.device, reference.dtype
        params: dict[str, Any] = {}
        for name, (kind, owner, var) in step.params.items():
            if kind in ("drive", "source_spikes", "source_values", "hoisted"):
                continue
            if name in step.indices:
                params[name] = _to_device(step.indices[name], device)
            elif kind == "index" and var == "i":
                n = self.plan.populations[owner].n
                params[name] = torch.arange(n, device=device).to(dtype)
            elif kind == "synaptic" and var == self.plan.projections[owner].weight:
                params[name] = self.synapse_weights(owner)
            elif kind == "synaptic":
                buffer = getattr(self, name, None)
                params[name] = (
                    buffer if buffer is not None else torch.zeros((), dtype=dtype, device=device)
                )
            elif kind == "rates":
                continue
            else:
                params[name] = getattr(self, name)
        return params

    def initial_state(self, step: NetworkStep, batch: tuple[int, ...]) -> Any:
        """The initial state of every field for trials of shape ``batch``."""
        reference = self._reference()
        device, dtype = reference.device, reference.dtype
        fields = []
        for f in step.fields:
            shape = (*batch, f.size)
            if f.kind == "refractory":
                fields.append(torch.ones(shape, dtype=torch.bool, device=device))
            elif f.kind == "lastspike":
                fields.append(
                    torch.full(shape, LASTSPIKE_NEVER, dtype=torch.float64, device=device)
                )
            elif f.kind == "delay":
                fields.append(torch.zeros((f.depth, *shape), dtype=dtype, device=device))
            elif f.kind == "neuron":
                value = self.plan.populations[f.owner].initial[str(f.var)]
                fields.append(_filled(value, shape, dtype, device))
            elif f.kind == "written":
                value = getattr(self, _buffer_name(f.owner, str(f.var)))
                fields.append(value.to(dtype).expand(shape).clone())
            else:  # synaptic
                projection = self.plan.projections[f.owner]
                if f.var == "lastupdate":
                    fields.append(torch.zeros(shape, dtype=torch.float64, device=device))
                elif f.var == projection.weight:
                    fields.append(self.synapse_weights(f.owner).detach().expand(shape).clone())
                else:
                    initial = projection.values.get(str(f.var), np.zeros(()))
                    fields.append(_filled(initial, shape, dtype, device))
        return step.generated.state_class(*fields)

    # -- running ------------------------------------------------------------------------------
    def forward(
        self,
        inputs: Mapping[str, Any] | None = None,
        *,
        n_steps: int | None = None,
        record: tuple[str, ...] = (),
        state: Any = None,
        rates: Mapping[str, Any] | None = None,
        batch: tuple[int, ...] = (),
    ) -> NetworkOutput:
        """Run the network over ``n_steps`` (default: the length of the inputs); see the
        module docstring for ``inputs``. ``record``: ``"pop.var"`` state variables;
        ``rates``: rates of engine-drawn Poisson sources (default: the description's);
        ``batch``: the trials' batch shape when no input gives it (inputs broadcast)."""
        inputs = dict(inputs or {})
        mode = self.delivery()
        driven = frozenset(
            (key.partition(".")[0], key.partition(".")[2]) for key in inputs if "." in key
        )
        step = self.network_step(mode, driven)
        reference = self._reference()
        device, dtype = reference.device, reference.dtype
        params, drives, given, steps = self._inputs(step, inputs, n_steps, device, dtype)
        batch = tuple(torch.broadcast_shapes(tuple(batch), given))
        params.update(self._params(step, batch))
        for name, value in (rates or {}).items():
            params[f"{name}__rates"] = torch.as_tensor(value, dtype=dtype, device=device)
        if step.prepare is not None:  # loop-invariant values, once per run (differentiable)
            params.update(step.prepare(params, self.plan.dt, self.spike_fn))
        state = self.initial_state(step, batch) if state is None else state
        options: dict[str, Any] = {"checkpoint_every": self.checkpoint_every}
        if self.compile_mode is not None:
            from . import compiled

            extra = self.compile_options
            # event delivery gathers as many synapses as spikes arrived: sizes that change
            # every step, traced as symbolic sizes after the first change (automatic dynamic)
            dynamic = None if mode == "event" else False
            if self.compile_mode == "step":
                options["step_fn"] = compiled.compile_step(
                    step.generated, dtype=dtype, device=device, options=extra, dynamic=dynamic
                )
            else:
                options["chunk_fn"] = compiled.compile_chunk(
                    step.generated,
                    dtype=dtype,
                    device=device,
                    options=None if extra is None else {**compiled.LOOP_OPTIONS, **extra},
                    dynamic=dynamic,
                )
                options["chunk_steps"] = compiled.loop_chunk_steps(steps)
        names = []
        for name in record:
            pop, _, var = name.partition(".")
            names.append(f"{pop}__{var}")
        spikes, traces, final = run_steps(
            step.generated,
            state,
            params,
            drives,
            dt=self.plan.dt,
            spike_fn=self.spike_fn,
            n_steps=steps,
            record=tuple(names),
            **options,
        )
        joined = spikes[:, 0]
        out = {}
        for pop in self.plan.populations:
            parts = [joined[..., o : o + n] for p, _, o, n in step.outputs if p == pop]
            out[pop] = parts[0] if len(parts) == 1 else torch.cat(parts, -1)
        recorded = {original: traces[name] for original, name in zip(record, names, strict=True)}
        return NetworkOutput(out, recorded, final)

    def _inputs(
        self,
        step: NetworkStep,
        inputs: dict[str, Any],
        n_steps: int | None,
        device: torch.device,
        dtype: torch.dtype,
    ) -> tuple[dict[str, Any], dict[str, Tensor], tuple[int, ...], int]:
        """Params and per-step drives from ``inputs``; the batch shape and the step count."""
        params: dict[str, Any] = {}
        drives: dict[str, Tensor] = {}
        batches: list[tuple[int, ...]] = [()]
        lengths: list[int] = []
        for name, source in self.plan.sources.items():
            kind = type(source).__name__
            if isinstance(source, ConstantSource):
                params[f"{name}__x"] = torch.full(
                    (source.size,), float(source.value), dtype=dtype, device=device
                )
                continue
            if isinstance(source, PoissonSource) and source.realisation == "engine":
                params[f"{name}__rates"] = torch.as_tensor(
                    np.broadcast_to(_si(source.rates), (source.size,)), dtype=dtype, device=device
                )
                continue
            if name not in inputs:
                raise InputError(
                    f"Give inputs['{name}'] ({kind} of {source.size} units): "
                    + ("[*batch, n] values." if kind == "ValueSource" else "[T, *batch, n] spikes.")
                )
            value = torch.as_tensor(inputs.pop(name), dtype=dtype, device=device)
            if isinstance(source, ValueSource):
                if value.shape[-1] != source.size:
                    raise InputError(
                        f"inputs['{name}'] has shape {tuple(value.shape)}; the last axis must "
                        f"be its {source.size} units."
                    )
                if source.constant_unit:
                    ones = value.new_ones((*value.shape[:-1], 1))
                    value = torch.cat([value, ones], -1)
                params[f"{name}__x"] = value
                batches.append(tuple(value.shape[:-1]))
            else:
                if value.dim() < 2 or value.shape[-1] != source.size:
                    raise InputError(
                        f"inputs['{name}'] has shape {tuple(value.shape)}; give spikes "
                        f"[T, *batch, {source.size}]."
                    )
                drives[f"{name}__spike"] = value
                lengths.append(value.shape[0])
                batches.append(tuple(value.shape[1:-1]))
        for key in list(inputs):
            pop, _, var = key.partition(".")
            if pop not in self.plan.populations or not var:
                raise InputError(
                    f"inputs['{key}']: not a source or a 'population.variable' drive of "
                    f"network '{self.plan.name}'."
                )
            value = torch.as_tensor(inputs.pop(key), dtype=dtype, device=device)
            n = self.plan.populations[pop].n
            if value.dim() == 1:
                value = value[:, None]
            if value.shape[-1] not in (1, n):
                raise InputError(
                    f"inputs['{key}'] has shape {tuple(value.shape)}; give [T], [T, n] or "
                    f"[T, *batch, n] with n = {n}."
                )
            name = f"{pop}__{var}"
            target = f"_0drive_{name}" if f"_0drive_{name}" in step.params else name
            drives[target] = value
            lengths.append(value.shape[0])
            batches.append(tuple(value.shape[1:-1]))
        if n_steps is None:
            if not lengths:
                raise InputError("Give n_steps: no input has a time axis.")
            n_steps = lengths[0]
        for length in lengths:
            if length < n_steps:
                raise InputError(f"An input has {length} steps; the run needs {n_steps}.")
        batch: tuple[int, ...] = ()
        for shape in batches:
            batch = tuple(torch.broadcast_shapes(batch, shape))
        return params, drives, batch, int(n_steps)


def _si(value: Any) -> np.ndarray:
    return np.asarray(value, dtype=np.float64)


def _filled(value: Any, shape: tuple[int, ...], dtype: torch.dtype, device: Any) -> Tensor:
    return torch.as_tensor(np.asarray(value), dtype=dtype, device=device).expand(shape).clone()


def _to_device(value: Any, device: torch.device) -> Any:
    if isinstance(value, Tensor):
        return value.to(device)
    if isinstance(value, list | tuple):
        return type(value)(_to_device(v, device) for v in value)
    return value


def run_network_torch(
    run: NetworkRun,
    *,
    device: str = "cpu",
    dtype: str = "float64",
    synapses: str = "auto",
    compile: bool | str = False,
    compile_options: Mapping[str, Any] | None = None,
    repeats: int = 1,
) -> NetworkResult:
    """Simulate ``run`` on the torch engine (no autograd); trials as a batch.

    ``compile``: ``"step"`` or ``"loop"`` (:mod:`.compiled`; compilation happens in a first,
    untimed call), with inductor ``compile_options`` (e.g. ``{"cpp.threads": 1}``);
    ``repeats``: run the loop that many times (the results are identical; timings of each)."""
    repeats = count(repeats, "repeats")
    if dtype not in DTYPES:
        raise InputError(f"dtype must be 'float64' or 'float32', got {dtype!r}.")
    torch_device = torch.device(device)
    if torch_device.type == "cuda" and not torch.cuda.is_available():
        raise InputError("device 'cuda' requested, but torch sees no CUDA GPU here.")
    plan = run.plan
    started = time.perf_counter()
    with torch.inference_mode():
        net = SpikingNetwork(
            plan,
            synapses=synapses,
            dtype=DTYPES[dtype],
            compile=compile,
            compile_options=compile_options,
        ).to(torch_device)
        inputs: dict[str, Any] = {}
        for name, values in run.values.items():
            if isinstance(plan.sources[name], ValueSource):
                size = plan.sources[name].size
                inputs[name] = np.array(np.broadcast_to(values[:, :size], (run.trials, size)))
        for name, trains in run.spikes.items():
            full = np.broadcast_to(trains, (run.trials, run.n_steps, trains.shape[-1]))
            inputs[name] = np.ascontiguousarray(np.moveaxis(full, 1, 0)).astype(np.float64)
        for (pop, var), wave in run.drives.items():
            n = wave.shape[2]
            full = np.broadcast_to(wave, (wave.shape[0], run.n_steps, n))
            inputs[f"{pop}.{var}"] = np.ascontiguousarray(np.moveaxis(full, 1, 0))
        tensors = {
            k: torch.as_tensor(v, dtype=DTYPES[dtype], device=torch_device)
            for k, v in inputs.items()
        }
        loop_seconds = []
        output = None
        # outside the timed loop: code generation (one step) or compilation (the whole run)
        began = time.perf_counter()
        warm = run.n_steps if net.compile_mode is not None else 1
        net(dict(tensors), n_steps=warm, rates=dict(run.rates), batch=(run.trials,))
        compile_seconds = time.perf_counter() - began
        for _ in range(repeats):
            began = time.perf_counter()
            output = net(
                dict(tensors),
                n_steps=run.n_steps,
                record=tuple(run.record),
                rates=dict(run.rates),
                batch=(run.trials,),
            )
            if torch_device.type == "cuda":
                torch.cuda.synchronize(torch_device)
            loop_seconds.append(time.perf_counter() - began)
        assert output is not None
        spikes = {}
        for population in plan.populations.values():
            events = output.spikes[population.name]
            n = population.n
            for k, event in enumerate(population.model.event_names):
                part = events[..., k * n : (k + 1) * n]
                step, trial, neuron = torch.nonzero(part > 0, as_tuple=True)
                spikes[f"{population.name}.{event}"] = spike_table(
                    trial.cpu().numpy(), step.cpu().numpy(), neuron.cpu().numpy()
                )
        traces = {
            name: np.moveaxis(trace.double().cpu().numpy(), 0, 1).copy()
            for name, trace in output.traces.items()
        }
    metadata = {
        "synapses": net.delivery(),
        "compiled": net.compile_mode,
        "setup_seconds": compile_seconds,
        "wall_seconds": time.perf_counter() - started,
        "torch_threads": torch.get_num_threads(),
    }
    return NetworkResult.of_run(
        run, f"torch:{torch_device}", dtype, spikes, traces, tuple(loop_seconds), metadata
    )
