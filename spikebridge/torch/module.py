"""A thin ``nn.Module`` around a model's generated step: parameters in, spikes and membrane out.

:class:`SpikingNeurons` holds the model's parameters (``nn.Parameter`` for the trainable
ones, buffers for the rest), builds the initial state, and calls the one time loop.
It fits snnTorch code: ``forward`` takes an input sequence ``[T, *batch, n]`` (e.g.
from ``snntorch.spikegen.rate``) and returns ``(spk, mem)`` of shape
``[T, *batch, n_events * n]`` and ``[T, *batch, n_membranes * n]``, ready for
``snntorch.functional`` losses; ``step`` is the per-step form
``spk, state = neurons.step(x, state)``. Any snnTorch surrogate can be the spike function.

Membranes are in SI units (divide by ``membrane_scale`` for the model's display unit).

Speed and memory (:mod:`spikebridge.torch.compiled`): ``compile="step" | "loop" | True``
runs the generated step, or the unrolled loop, through ``torch.compile`` (the eager step is
the default and the fallback); ``checkpoint_every=k`` checkpoints the time loop every ``k``
steps, so that training memory holds ``T/k + k`` steps of activations instead of ``T``.
Both can be changed after construction (attributes ``compile_mode``, ``checkpoint_every``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import torch
from torch import Tensor, nn

from ..errors import InputError
from ..model import NeuronModel, load_model
from .codegen import GeneratedStep, torch_step
from .loop import check_steps, initial_state, observe, run_steps
from .surrogate import SpikeFunction, rectangular


class SpikingNeurons(nn.Module):
    """``n`` neurons of a model, integrated with its generated step function.

    Args:
        model: a model name from ``equations/``, a model file path, or a loaded model.
        n: number of neurons (the last axis of inputs and outputs).
        method: integration method (default: the model's declared method).
        dt: time step (a Brian2 time; default: the model's ``DT``).
        parameters: overrides of default parameters (Brian2 quantities, scalars or one per neuron).
        trainable: names of parameters to register as ``nn.Parameter`` (``True``: all but inputs).
        spike_fn: spike function with a surrogate gradient (default: the paper's rectangular
            window with the model's ``SURROGATE_WIDTH``); snnTorch surrogates work too.
        seed: seed of the model's random parameters.
        dtype: float type of parameters and state (default: torch's default dtype).
        compile: ``False`` (eager, the default), ``"step"`` (the step function compiled),
            ``"loop"`` (the unrolled loop compiled, up to ``compiled.LOOP_STEPS`` steps per
            graph) or ``True`` (``"loop"``); see :mod:`spikebridge.torch.compiled`.
        checkpoint_every: checkpoint the time loop every this many steps when training
            (``torch.utils.checkpoint``; ``None``: keep every step's activations).
    """

    def __init__(
        self,
        model: NeuronModel | str,
        n: int,
        *,
        method: str | None = None,
        dt: Any = None,
        parameters: Mapping[str, Any] | None = None,
        trainable: Iterable[str] | bool = (),
        spike_fn: SpikeFunction | None = None,
        seed: int = 0,
        dtype: torch.dtype | None = None,
        compile: bool | str = False,
        checkpoint_every: int | None = None,
    ) -> None:
        super().__init__()
        self.compile_mode = compile
        self.checkpoint_every = checkpoint_every
        self.model = load_model(model) if isinstance(model, str) else model
        self.n = int(n)
        self.method = self.model.check_method(method)
        self.dt = self.model.check_dt(self.model.dt if dt is None else dt, self.method)
        self.generated: GeneratedStep = torch_step(self.model, self.method)
        self.spike_fn = spike_fn or rectangular(self.model.surrogate_width)
        dtype = dtype or torch.get_default_dtype()
        names = [p for p in self.model.parameter_names if p not in self.model.inputs]
        wanted = set(names) if trainable is True else set(trainable or ())
        unknown = wanted - set(names)
        if unknown:
            raise InputError(
                f"Cannot train {sorted(unknown)}: model '{self.model.name}' has no such "
                f"non-input parameter. Trainable candidates: {', '.join(names)}."
            )
        values = self.model.parameter_values(self.n, parameters, seed)
        self._parameter_names = tuple(names)
        for name in names:
            tensor = torch.as_tensor(values[name], dtype=dtype)
            if name in wanted:
                self.register_parameter(name, nn.Parameter(tensor))
            else:
                self.register_buffer(name, tensor)

    # -- speed and memory options ---------------------------------------------------------------
    @property
    def compile_mode(self) -> str | None:
        """``None`` (eager) or the ``torch.compile`` granularity, ``"step"`` or ``"loop"``."""
        return self._compile_mode

    @compile_mode.setter
    def compile_mode(self, value: bool | str | None) -> None:
        from .compiled import check_mode

        self._compile_mode = check_mode(value)

    @property
    def checkpoint_every(self) -> int | None:
        """Steps per checkpointed chunk of the time loop in training (``None``: off)."""
        return self._checkpoint_every

    @checkpoint_every.setter
    def checkpoint_every(self, value: int | None) -> None:
        self._checkpoint_every = check_steps(value)

    def _loop_options(self, state: Any, n_steps: int) -> dict[str, Any]:
        """The options of :func:`run_steps` for the compile mode and checkpointing."""
        options: dict[str, Any] = {"checkpoint_every": self.checkpoint_every}
        if self.compile_mode is None:
            return options
        from . import compiled

        reference: Tensor = state[0]
        dtype, device = reference.dtype, reference.device
        if self.compile_mode == "step":
            options["step_fn"] = compiled.compile_step(self.generated, dtype=dtype, device=device)
        else:
            options["chunk_fn"] = compiled.compile_chunk(self.generated, dtype=dtype, device=device)
            options["chunk_steps"] = compiled.loop_chunk_steps(n_steps)
        return options

    # -- parameters and state ------------------------------------------------------------------
    @property
    def membrane_scale(self) -> float:
        """SI value of the model's membrane unit (divide ``mem`` by it for mV etc.)."""
        return self.model.membrane_scale

    def parameter_dict(self) -> dict[str, Tensor]:
        """The model's parameters (trainable and fixed) as one mapping, for the step function."""
        return {name: getattr(self, name) for name in self._parameter_names}

    def initial_state(
        self, batch_shape: tuple[int, ...] = (), initial: Mapping[str, Any] | None = None
    ) -> Any:
        """The model's initial state for a batch of shape ``batch_shape``."""
        reference = next(iter(self.parameter_dict().values()), torch.zeros(()))
        return initial_state(
            self.generated,
            self.model.initial_values(self.n, initial),
            (*batch_shape, self.n),
            reference.dtype,
            reference.device,
        )

    def _drives(self, x: Tensor | Mapping[str, Tensor], time_axis: bool) -> dict[str, Tensor]:
        inputs = self.model.inputs
        if isinstance(x, Mapping):
            missing = set(inputs) - set(x)
            if missing:
                raise InputError(f"Missing input(s) {sorted(missing)} of '{self.model.name}'.")
            drives = {name: x[name] for name in inputs}
        elif len(inputs) == 1:
            drives = {inputs[0]: x}
        else:
            if x.dim() < 2 or x.shape[-2] != len(inputs):
                raise InputError(
                    f"Model '{self.model.name}' has {len(inputs)} inputs {inputs}: pass a mapping "
                    f"of them, or a tensor with shape [..., {len(inputs)}, {self.n}]."
                )
            drives = {name: x[..., i, :] for i, name in enumerate(inputs)}
        for name, value in drives.items():
            minimum = 2 if time_axis else 1
            if value.dim() < minimum or value.shape[-1] != self.n:
                expected = "[T, *batch, n]" if time_axis else "[*batch, n]"
                raise InputError(
                    f"Input '{name}' has shape {tuple(value.shape)}; expected {expected} with "
                    f"n = {self.n}."
                )
            if not _all_finite(value):
                raise InputError(f"Input '{name}' contains NaN or infinite values.")
        return drives

    # -- computation --------------------------------------------------------------------------
    def step(
        self, x: Tensor | Mapping[str, Tensor], state: Any = None, step_index: int = 0
    ) -> tuple[Tensor, Any]:
        """One time step: input ``[*batch, n]`` -> (spikes ``[*batch, n_events*n]``, new state)."""
        drives = self._drives(x, time_axis=False)
        sequence = {name: value.unsqueeze(0) for name, value in drives.items()}
        spk, _, state = self._run(sequence, state, step_index)
        return spk[0], state

    def forward(
        self, x: Tensor | Mapping[str, Tensor], state: Any = None, start_step: int = 0
    ) -> tuple[Tensor, Tensor]:
        """Run the input sequence ``[T, *batch, n]``; return ``(spk, mem)``, both time-first.

        ``spk`` is ``[T, *batch, n_events * n]`` (events in the model's order), ``mem`` is
        ``[T, *batch, n_membranes * n]`` after each step. :meth:`run` also returns the
        final state, to continue a sequence.
        """
        spk, mem, _ = self.run(x, state, start_step)
        return spk, mem

    def run(
        self, x: Tensor | Mapping[str, Tensor], state: Any = None, start_step: int = 0
    ) -> tuple[Tensor, Tensor, Any]:
        """:meth:`forward` that also returns the final state."""
        return self._run(self._drives(x, time_axis=True), state, start_step)

    def _run(
        self, drives: Mapping[str, Tensor], state: Any, start_step: int
    ) -> tuple[Tensor, Tensor, Any]:
        first = next(iter(drives.values()))
        steps, batch = first.shape[0], tuple(first.shape[1:-1])
        state = self.initial_state(batch) if state is None else state
        spikes, traces, final = run_steps(
            self.generated,
            state,
            self.parameter_dict(),
            drives,
            dt=self.dt,
            spike_fn=self.spike_fn,
            n_steps=steps,
            start_step=start_step,
            record=self.model.membrane,
            **self._loop_options(state, steps),
        )
        spk = _merge_events(spikes.movedim(1, -2))
        shape = spikes[:, 0].shape
        membranes = [traces[name] for name in self.model.membrane]
        if len(membranes) == 1 and membranes[0].shape == shape:
            mem = membranes[0]  # the values torch.cat would copy
        else:
            mem = torch.cat([trace.expand(shape) for trace in membranes], -1)
        return spk, mem, final

    def membrane(self, state: Any, t: float = 0.0) -> Tensor:
        """The membrane variable(s) of ``state``, concatenated on the last axis."""
        params = self.parameter_dict()
        time = torch.tensor(t, dtype=torch.float64)
        return torch.cat(
            [observe(self.generated, state, params, time, self.dt, m) for m in self.model.membrane],
            -1,
        )

    def extra_repr(self) -> str:
        text = f"model={self.model.name}, n={self.n}, method={self.method}, dt={self.dt:g} s"
        if self.compile_mode is not None:
            text += f", compile={self.compile_mode}"
        if self.checkpoint_every is not None:
            text += f", checkpoint_every={self.checkpoint_every}"
        return text


def _all_finite(value: Tensor) -> bool:
    """``torch.isfinite(value).all()``, reading broadcast (stride-0) axes once."""
    if value.layout == torch.strided:
        value = value[
            tuple(
                0 if stride == 0 and size > 0 else slice(None)
                for size, stride in zip(value.shape, value.stride(), strict=True)
            )
        ]
    # one reduction: a sum is finite only if every term is (and the sum does not overflow;
    # if it is not finite, the exact check decides)
    with torch.no_grad():
        if value.is_floating_point() and torch.isfinite(value.sum()):
            return True
        return bool(torch.isfinite(value).all())


def _merge_events(spikes: Tensor) -> Tensor:
    """``[..., n_events, n]`` -> ``[..., n_events * n]``, event-major (the paper's 4 x width)."""
    return spikes.flatten(-2)
