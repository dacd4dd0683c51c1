"""Generate the torch step of a whole network from Brian2's code for it.

:func:`generate_network_step` renders a :class:`~spikebridge.brian.network_program.
NetworkProgram` (every code object of one Brian2 step of the network, in schedule order)
into one pure function with the signature of a neuron step::

    step(state, params, t, dt, spike_fn) -> ((spikes,), new_state)

``state`` holds every population's state variables (named ``<pop>__<var>``), the
population parameters that synapses write (``I`` of a current-based target), synaptic
state (``<proj>__<var>``: clock- and event-driven variables, plastic weights, ``lastupdate``)
and delay lines; ``params`` the fixed and trained values, the synapse index arrays and the
per-step drives; ``spikes`` is every population's events concatenated on the last axis
(populations in order, each model's events in order). Blocks, each headed by its Brian2
abstract code:

* population blocks (state update, threshold, reset) are rendered by
  :func:`~spikebridge.torch.codegen.render_block`, the renderer of single neurons;
* a pathway selects its arriving synapses (:mod:`~spikebridge.torch.synapse_ops`), reads
  the variables it uses per synapse, evaluates Brian2's statements and writes back:
  synaptic variables where a spike arrived, ``x_post += e`` as a scatter-add in Brian2's
  delivery order (writes to a variable declared ``(unless refractory)`` only where the
  neuron is not refractory, as Brian2 does);
* a summed variable sums its per-synapse expression onto the target, from 0, in synapse
  order; a synaptic state update runs over all synapses.

Delivery (``mode``): ``"event"`` and ``"scatter"`` (see :mod:`~spikebridge.torch.
synapse_ops`) follow Brian2's order exactly; ``"matrix"`` renders a statement whose
right-hand side is the projection's weight times factors of presynaptic, postsynaptic
and constant terms (``g_post += w``, ``I_post = w * x_pre (summed)``) as the
connectivity's matrix form (a matrix product, a convolution; differentiable, with a
different order of summation) and every other statement as ``"scatter"``; the pathways of
one projection with the same such statement (one per event of a multi-event model) become
one matrix form of their summed spikes. A dense or convolutional summed variable ``A + B *
abs(P - w)`` (an adder synapse) becomes :func:`spikebridge.torch.adder.adder` over each
target's synapses (a convolution's padding left out), trained with AdderNet's gradients
(full-precision weights, clipped inputs; the per-synapse deliveries differentiate |P - w|
exactly) but without its adaptive scaling, which belongs to one backward pass per layer,
not to each of a run's steps.

Three more rules:

* a summed variable whose expression reads only constants over a trial (weights no code
  writes, value and constant sources, no ``t``) is computed once per run by a generated
  ``prepare`` function (the same expression; loop-invariant code motion, as Brian2 itself
  hoists constant subexpressions within a step);
* a pathway that runs before its firing group's threshold within a step (the ``layered``
  schedule's recurrent and backward projections) delivers the previous step's spikes, as
  Brian2's spike space still holds them: a delay line of the waits (delay plus this lag);
* code generation reads the owners of Brian2's variables during extraction only (Brian2
  refers to them weakly); the step holds no reference to Brian2 objects.

Brian2's vectorisation rule applies: a pathway may change a pre- or postsynaptic
variable only by ``+=``/``-=`` and must not read it (Brian2 would then apply the
statements synapse by synapse, which has no vectorised equivalent); such code is
refused with a clear error.
"""

from __future__ import annotations

import linecache
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy
import torch
from brian2.codegen.statements import Statement
from brian2.core.functions import Function
from brian2.core.variables import Constant
from brian2.parsing.sympytools import str_to_sympy, sympy_to_str

from ..brian.network_program import NetworkBlock, NetworkProgram
from ..errors import InputError
from ..network.connectivity import Conv2d, Dense
from ..network.plan import SOURCE_VARIABLE, NetworkPlan, ProjectionPlan
from . import functions as F
from . import synapse_ops
from .codegen import GeneratedStep, TorchRenderer, _state_class, render_block

MODES = ("event", "scatter", "matrix")
_DTYPE = "_0dtype"


@dataclass(frozen=True)
class StateField:
    """One field of the network state."""

    name: str
    kind: str  # neuron | refractory | lastspike | written | synaptic | delay
    owner: str
    var: str | None
    size: int
    depth: int = 0  # delay lines: steps held


@dataclass(frozen=True)
class NetworkStep:
    """A generated network step with everything needed to feed it."""

    generated: GeneratedStep
    mode: str
    fields: tuple[StateField, ...]
    #: params the step reads: name -> (kind, owner, var)
    params: Mapping[str, tuple[str, str, str | None]]
    #: populations' events in the output: (population, event, offset, size)
    outputs: tuple[tuple[str, str, int, int], ...]
    #: per-step drives: param name -> (group, var)
    drives: Mapping[str, tuple[str, str]]
    #: projections whose matrix form the step uses (their structured weights are params)
    linear: tuple[str, ...] = ()
    #: index tensors the step reads: name -> array
    indices: Mapping[str, Any] = field(default_factory=dict)
    #: ``prepare(params, dt, spike_fn) -> {name: value}``: the loop-invariant values (summed
    #: variables of constant inputs), computed once per run and passed in ``params``
    prepare: Callable[..., dict[str, Any]] | None = None
    prepare_source: str = ""

    @property
    def source(self) -> str:
        return self.generated.source


def _name(owner: str, var: str) -> str:
    return f"{owner}__{var}"


def event_name(group: str, event: str) -> str:
    return f"_0ev_{group}__{event}"


def delay_name(group: str, event: str) -> str:
    return f"delay__{group}__{event}"


class _Writer:
    """Accumulates the lines of the generated function."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, line: str = "") -> None:
        self.lines.append(f"    {line}" if line else "")

    def comment_block(self, title: str, abstract: str) -> None:
        self.add(f"# -- {title}: Brian2 abstract code --")
        for line in abstract.strip().splitlines():
            self.add(f"#    {line.strip()}")


def generate_network_step(
    plan: NetworkPlan,
    program: NetworkProgram,
    mode: str = "event",
    driven: frozenset[tuple[str, str]] = frozenset(),
    detach_reset: bool = False,
) -> NetworkStep:
    """Render and compile the step of ``plan``'s network in delivery ``mode``; ``driven``:
    the ``(population, parameter)`` pairs a run drives with per-step values;
    ``detach_reset``: no gradient through the resets (see :func:`.codegen.render_block`)."""
    if mode not in MODES:
        raise InputError(f"synapses must be one of {', '.join(MODES)}, got {mode!r}.")
    return _Generator(plan, program, mode, driven, detach_reset).run()


class _Generator:
    def __init__(
        self,
        plan: NetworkPlan,
        program: NetworkProgram,
        mode: str,
        driven: frozenset[tuple[str, str]],
        detach_reset: bool = False,
    ) -> None:
        self.plan, self.program, self.mode, self.driven = plan, program, mode, driven
        self.detach_reset = detach_reset
        self.hoisted = _Writer()
        self.hoisted_names: list[str] = []
        self.out = _Writer()
        self.params: dict[str, tuple[str, str, str | None]] = {}
        self.drives: dict[str, tuple[str, str]] = {}
        self.indices: dict[str, Any] = {}
        self.linear: list[str] = []
        self.namespace: dict[str, Any] = {"_0F": F, "_0torch": torch, "_0O": synapse_ops}
        self.fields = self._fields()
        self.state_names = {f.name for f in self.fields}

    # -- layout ---------------------------------------------------------------------------
    def _written_parameters(self) -> dict[str, set[str]]:
        """Population parameters written by synaptic code (they become state)."""
        written: dict[str, set[str]] = {name: set() for name in self.plan.populations}
        for block in self.program.blocks:
            if block.kind not in ("pathway", "summed") or block.code is None:
                continue
            targets = [s.var for s in block.code.vector_statements if s.op != ":="]
            if block.summed_target:
                targets.append(block.summed_target)
            for var in targets:
                owner, name = self._owner_var(block, var)
                if owner in written and name in self.plan.populations[owner].model.parameter_names:
                    written[owner].add(name)
        return written

    def _fields(self) -> tuple[StateField, ...]:
        fields: list[StateField] = []
        written = self._written_parameters()
        for pop in self.plan.populations.values():
            model = pop.model
            for var in model.state_variables:
                fields.append(StateField(_name(pop.name, var), "neuron", pop.name, var, pop.n))
            if model.refractory is not None:
                fields.append(
                    StateField(
                        _name(pop.name, "not_refractory"),
                        "refractory",
                        pop.name,
                        "not_refractory",
                        pop.n,
                    )
                )
                fields.append(
                    StateField(
                        _name(pop.name, "lastspike"), "lastspike", pop.name, "lastspike", pop.n
                    )
                )
            for var in sorted(written[pop.name]):
                fields.append(StateField(_name(pop.name, var), "written", pop.name, var, pop.n))
        for projection in self.plan.projections.values():
            state = set(projection.synapse.state_variables)
            state |= set(self.program.synaptic_writes.get(projection.name, ()))
            for var in sorted(state):
                fields.append(
                    StateField(
                        _name(projection.name, var),
                        "synaptic",
                        projection.name,
                        var,
                        projection.size,
                    )
                )
        for (group, event), depth in sorted(self._delay_depths().items()):
            fields.append(
                StateField(
                    delay_name(group, event), "delay", group, event, self.plan.size_of(group), depth
                )
            )
        return tuple(fields)

    def _delay_depths(self) -> dict[tuple[str, str], int]:
        """Steps of history each (group, event) needs: the largest wait of its pathways."""
        depths: dict[tuple[str, str], int] = {}
        for block in self.program.blocks:
            if block.kind != "pathway":
                continue
            projection = self.plan.projections[block.owner]
            group = projection.source if block.prepost == "pre" else projection.target
            longest = int(np.max(self._waits(block)))
            if longest > 0:
                key = (group, str(block.event))
                depths[key] = max(depths.get(key, 0), longest)
        return depths

    def _lag(self, block: NetworkBlock) -> int:
        """1 if ``block`` runs before its firing group's threshold within the step (it then
        delivers the previous step's spikes, as Brian2's spike space still holds them)."""
        projection = self.plan.projections[block.owner]
        group = projection.source if block.prepost == "pre" else projection.target
        position = self.program.blocks.index(block)
        for k, other in enumerate(self.program.blocks):
            if (
                other.owner == group
                and other.event == block.event
                and other.kind in ("threshold", "spikes", "poisson")
            ):
                return int(k > position)
        raise InputError(f"No threshold of event '{block.event}' of '{group}' in the network.")

    def _waits(self, block: NetworkBlock) -> np.ndarray | int:
        """Steps between a spike's threshold and its delivery by ``block`` (per synapse
        or one value): the delay plus the lag."""
        projection = self.plan.projections[block.owner]
        delay = projection.delay_steps if block.prepost == "pre" else 0
        return delay + self._lag(block)

    # -- names ---------------------------------------------------------------------------
    def _owner_var(self, block: NetworkBlock, identifier: str) -> tuple[str, str]:
        assert block.code is not None
        owner_name, var_name = block.owners.get(identifier, ("", identifier))
        if block.kind in ("pathway", "summed", "synaptic_update"):
            projection = self.plan.projections[block.owner]
            if owner_name == projection.name:
                return projection.name, var_name
            index = block.indices.get(identifier)
            group = projection.target if index == "_postsynaptic_idx" else projection.source
            return group, var_name
        return block.owner, var_name

    def _full(self, owner: str, var: str, kind: str = "parameter") -> str:
        """The generated name of a variable; params it needs are recorded."""
        name = _name(owner, var)
        if name not in self.state_names:
            self.params.setdefault(name, (kind, owner, var))
        return name

    # -- the function ----------------------------------------------------------------------
    def run(self) -> NetworkStep:
        out = self.out
        names = [f.name for f in self.fields]
        header = [
            "def step(state, params, t, dt, spike_fn):",
            '    """Generated by spikebridge from Brian2\'s code for network '
            f"'{self.plan.name}' ({self.mode} delivery). Do not edit: regenerate from the "
            'description."""',
            f"    {', '.join(names)}, = state",
            f"    {_DTYPE} = {names[0]}.dtype",
        ]
        body_start = len(out.lines)
        self._drive_overrides()
        blocks = list(self.program.blocks)
        while blocks:
            block = blocks.pop(0)
            if block.kind == "pathway" and self.mode == "matrix":
                merged = [block]
                while blocks and self._mergeable(merged[0], blocks[0]):
                    merged.append(blocks.pop(0))
                if len(merged) > 1:
                    self._merged_pathways(merged)
                    continue
            self._block(block)
        for (group, event), _ in sorted(self._delay_depths().items()):
            buffer = delay_name(group, event)
            out.add(f"{buffer} = _0O.push({buffer}, {event_name(group, event)})")
        outputs = []
        offset = 0
        parts = []
        for pop in self.plan.populations.values():
            for event in pop.model.event_names:
                outputs.append((pop.name, event, offset, pop.n))
                offset += pop.n
                parts.append(event_name(pop.name, event))
        joined = parts[0] if len(parts) == 1 else f"_0torch.cat([{', '.join(parts)}], -1)"
        out.add(f"return ({joined},), _0State({', '.join(names)})")
        reads = [
            f"    {name} = params[{name!r}]"
            for name, (kind, _, _) in self.params.items()
            if kind not in ("drive", "hoisted")
        ]
        source = "\n".join(header + reads + out.lines[:body_start] + out.lines[body_start:]) + "\n"
        prepare, prepare_source = self._prepare(reads)
        state_class = _state_class(f"{self.plan.name}_network", tuple(names))
        self.namespace["_0State"] = state_class
        filename = f"<spikebridge:network_{self.plan.name}_{self.mode}>"
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        scope = dict(self.namespace)
        exec(compile(source, filename, "exec"), scope)
        generated = GeneratedStep(
            model=f"network:{self.plan.name}",
            method=self.mode,
            source=source,
            step=scope["step"],
            state_class=state_class,
            state_variables=tuple(names),
            parameters=tuple(self.params),
            events=("spikes",),
            observers={},
        )
        return NetworkStep(
            generated,
            self.mode,
            self.fields,
            dict(self.params),
            tuple(outputs),
            dict(self.drives),
            tuple(self.linear),
            dict(self.indices),
            prepare,
            prepare_source,
        )

    def _prepare(self, reads: list[str]) -> tuple[Callable[..., dict[str, Any]] | None, str]:
        """The function computing the hoisted (loop-invariant) values, or None."""
        if not self.hoisted_names:
            return None, ""
        lines = [
            "def prepare(params, dt, spike_fn):",
            '    """The loop-invariant values of network '
            f"'{self.plan.name}' ({self.mode} delivery): summed variables of inputs that are "
            'constant over a trial, computed once per run."""',
            *[  # what prepare may read: neither the hoisted values nor the per-step inputs
                line
                for line in reads
                if "params['_0inv_" not in line
                and line.split(" = ", 1)[0].strip() not in self.drives
            ],
            *self.hoisted.lines,
            "    return {" + ", ".join(f"{n!r}: {n}" for n in self.hoisted_names) + "}",
        ]
        source = "\n".join(lines) + "\n"
        filename = f"<spikebridge:network_{self.plan.name}_{self.mode}_prepare>"
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        scope = dict(self.namespace)
        exec(compile(source, filename, "exec"), scope)
        return scope["prepare"], source

    def _drive_overrides(self) -> None:
        """Driven parameters that synapses also write: the drive sets them at the start of a
        step (Brian2's ``start`` slot), the synapses change them afterwards. Other drives
        replace their parameter in ``params`` at every step (the time loop does that)."""
        for target, var in sorted(self.driven):
            name = _name(target, var)
            if name in self.state_names:
                key = f"_0drive_{name}"
                self.params[key] = ("drive", target, var)
                self.out.add(f"{name} = params['{key}']")
            else:
                key = name
                self.params.setdefault(key, ("parameter", target, var))
            self.drives[key] = (target, var)

    def _block(self, block: NetworkBlock) -> None:
        kind = block.kind
        if kind in ("stateupdate", "threshold", "reset"):
            self._population_block(block)
        elif kind == "spikes":
            name = self._full(block.owner, "spike", "source_spikes")
            self.drives[name] = (block.owner, "spike")
            self.out.add(f"# -- spikes of source '{block.owner}' (given trains) --")
            self.out.add(f"{event_name(block.owner, 'spike')} = {name}")
        elif kind == "poisson":
            rates = self._full(block.owner, "rates", "rates")
            reference = self.fields[0].name
            self.out.add(f"# -- spikes of source '{block.owner}': rand() < rates * dt --")
            self.out.add(
                f"{event_name(block.owner, 'spike')} = (_0torch.rand((*{reference}.shape[:-1], "
                f"{rates}.shape[-1]), dtype={_DTYPE}, device={reference}.device) < {rates} * dt)"
                f".to({_DTYPE})"
            )
        elif kind == "pathway":
            self._pathway(block)
        elif kind == "summed":
            self._summed(block)
        elif kind == "synaptic_update":
            self._synaptic_update(block)
        else:  # pragma: no cover - network_program lists only these kinds
            raise AssertionError(kind)

    def _population_block(self, block: NetworkBlock) -> None:
        assert block.code is not None
        pop = self.plan.populations[block.owner]
        names: dict[str, str] = {}
        for identifier, var in block.code.variables.items():
            owner = block.owners.get(identifier, ("", ""))[0]
            if owner != pop.name or identifier.startswith("_") or isinstance(var, Constant):
                continue
            if identifier in ("t", "dt"):
                continue
            if var.__class__.__name__ == "Subexpression":
                names[identifier] = f"_0sub_{pop.name}__{identifier}"
                continue
            if identifier == "i":
                names[identifier] = self._full(pop.name, "i", "index")
                continue
            names[identifier] = self._full(pop.name, identifier)
        spikes = {event: event_name(pop.name, event) for event in pop.model.event_names}
        title = f"{block.kind} of '{pop.name}'" + (f" '{block.event}'" if block.event else "")
        lines = render_block(
            block.code,
            pop.model,
            spikes,
            names,
            title=title,
            detach_reset=self.detach_reset,
            shaped_like=self._shaped_like(pop.name),
        )
        self.out.lines.extend(lines)

    def _shaped_like(self, population: str) -> str:
        """A tensor (expression) of a population's shape ``[*batch, n]``: its first state
        variable, or zeros shaped from the network's first state field (a model without
        state, such as a relay)."""
        for f in self.fields:
            if f.kind == "neuron" and f.owner == population:
                return f.name
        reference = self.fields[0].name
        n = self.plan.populations[population].n
        return (
            f"_0torch.zeros((*{reference}.shape[:-1], {n}), dtype={_DTYPE}, "
            f"device={reference}.device)"
        )

    # -- synapses ---------------------------------------------------------------------------
    def _classify(self, block: NetworkBlock) -> dict[str, tuple[str, str, str]]:
        """identifier -> (role, owner, variable): role is syn, pre, post or index."""
        assert block.code is not None
        projection = self.plan.projections[block.owner]
        roles: dict[str, tuple[str, str, str]] = {}
        for identifier, var in block.code.variables.items():
            if isinstance(var, Constant | Function) or identifier in ("t", "dt"):
                continue
            if identifier.startswith("_"):
                continue
            index = block.indices.get(identifier, "_idx")
            owner, name = self._owner_var(block, identifier)
            if owner == projection.name:  # a synaptic variable (per synapse, or shared)
                if name in ("i", "j"):
                    roles[identifier] = ("index", projection.name, "pre" if name == "i" else "post")
                elif name in ("N", "N_pre", "N_post", "N_incoming", "N_outgoing", "delay"):
                    roles[identifier] = ("unsupported", owner, name)
                else:
                    roles[identifier] = ("syn", owner, name)
            elif index == "_postsynaptic_idx":
                roles[identifier] = ("post", owner, name)
            elif index == "_presynaptic_idx":
                roles[identifier] = ("pre", owner, name)
            else:
                roles[identifier] = ("unsupported", owner, name)
        return roles

    def _read_name(self, projection: ProjectionPlan, role: tuple[str, str, str]) -> str:
        """The generated full name of a role's variable (its param registered if needed)."""
        kind, owner, var = role
        if kind == "unsupported":
            raise InputError(
                f"Projection '{projection.name}': the torch engine does not support '{var}' "
                "in synaptic code; use a synaptic parameter instead."
            )
        if kind == "index":
            return self._index_tensor(projection, var)
        if kind == "syn":
            return self._full(owner, var, "synaptic")
        if owner in self.plan.sources:
            if var != SOURCE_VARIABLE:
                raise InputError(f"Source '{owner}' has only the variable '{SOURCE_VARIABLE}'.")
            return self._full(owner, var, "source_values")
        return self._full(owner, var)

    def _index_tensor(self, projection: ProjectionPlan, side: str) -> str:
        name = f"{projection.name}__{side}"
        pre, post = projection.synapse_arrays(self.plan.size_of(projection.source))
        self.indices[name] = torch.as_tensor(pre if side == "pre" else post)
        self.params.setdefault(name, ("index", projection.name, side))
        return name

    def _read(
        self,
        projection: ProjectionPlan,
        roles: Mapping[str, tuple[str, str, str]],
        used: set[str],
        selection: str | None,
    ) -> list[str]:
        """Lines reading each used variable per synapse (``selection``: a pathway's)."""
        locals_ = []
        for identifier in sorted(used):
            role = roles[identifier]
            full = self._read_name(projection, role)
            if role[0] == "syn":
                value = full if selection is None else f"_0S.syn({full}, {selection})"
            elif role[0] == "index":
                value = f"{full}.to({_DTYPE})"
                if selection is not None:
                    value = f"_0S.syn({value}, {selection})"
            else:
                side = self._index_tensor(projection, role[0])
                value = (
                    f"_0O.gather({full}, {side})"
                    if selection is None
                    else f"_0S.take({full}, {side}, {selection})"
                )
            self.out.add(f"{identifier} = {value}")
            locals_.append(identifier)
        return locals_

    def _pathway(self, block: NetworkBlock) -> None:
        assert block.code is not None and block.event is not None
        projection = self.plan.projections[block.owner]
        out = self.out
        firing_group = projection.source if block.prepost == "pre" else projection.target
        out.comment_block(
            f"pathway '{block.name}' ({block.when}, {block.order:g}): on '{block.event}' of "
            f"'{firing_group}'",
            block.code.abstract_code,
        )
        roles = self._classify(block)
        statements = block.code.scalar_statements + block.code.vector_statements
        self._check_vectorisable(block, roles, statements)
        self.namespace["_0S"] = synapse_ops.MODES["event" if self.mode == "event" else "scatter"]
        matrix: dict[int, tuple[str | None, str | None, str]] = {}
        homogeneous = not isinstance(projection.delay_steps, np.ndarray) or block.prepost == "post"
        if self.mode == "matrix" and homogeneous:
            for stmt in statements:
                form = self._linear_form(block, projection, roles, stmt)
                if form is not None:
                    matrix[id(stmt)] = form
        spikes, tables = self._delayed_spikes(projection, block, firing_group)
        per_synapse = [stmt for stmt in statements if id(stmt) not in matrix]
        selection = "_0sel"
        locals_: list[str] = []
        order = None
        if per_synapse:  # the synapses the spikes arrive at (not needed by matrix forms)
            firing = self._index_tensor(projection, "pre" if block.prepost == "pre" else "post")
            out.add(f"{selection} = _0S.select(({', '.join(spikes)},), {tables}, {firing})")
            used = self._used(statements, roles, skip=set(matrix))
            locals_ = self._read(projection, roles, used, selection)
            order = self._delivery_order(projection, block)
            locals_.append(selection)
        renderer = TorchRenderer(block.code.variables)
        written_syn = []
        for stmt in statements:
            if id(stmt) in matrix:
                self._render_linear(block, projection, roles, stmt, matrix[id(stmt)], spikes[0])
                continue
            expr = renderer.render_expr(stmt.expr)
            if stmt.op == ":=":
                out.add(f"{stmt.var} = {expr}")
                locals_.append(stmt.var)
                continue
            role = roles[stmt.var]
            if role[0] == "syn":
                new = expr if stmt.op == "=" else f"{stmt.var} {stmt.op[0]} ({expr})"
                out.add(f"{stmt.var} = _0S.update({selection}, {new}, {stmt.var})")
                locals_.append(stmt.var)
                written_syn.append(stmt.var)
                continue
            full = self._read_name(projection, role)
            value = expr if stmt.op == "+=" else f"-({expr})"
            side = self._index_tensor(projection, role[0])
            order_arg = f", {order}" if order else ""
            added = f"_0S.add({full}, {side}, {selection}, {value}{order_arg})"
            out.add(f"{full} = {self._conditional(block, stmt.var, added, full)}")
        for identifier in dict.fromkeys(written_syn):
            full = self._read_name(projection, roles[identifier])
            out.add(f"{full} = _0S.store({full}, {identifier}, {selection})")
        if locals_:
            out.add(f"del {', '.join(dict.fromkeys(locals_))}")

    def _mergeable(self, first: NetworkBlock, other: NetworkBlock) -> bool:
        """Whether ``other`` is another pathway of ``first``'s projection with the same single
        linear statement and wait (the paper's "each conv on each map": the matrix form of the
        sum of the events' spikes is the sum of the matrix forms)."""
        if other.kind != "pathway" or other.owner != first.owner or other.prepost != first.prepost:
            return False
        assert first.code is not None and other.code is not None
        if first.code.abstract_code != other.code.abstract_code:
            return False
        statements = first.code.scalar_statements + first.code.vector_statements
        if len(statements) != 1 or np.ndim(self._waits(first)) or np.ndim(self._waits(other)):
            return False
        if int(self._waits(first)) != int(self._waits(other)):
            return False
        projection = self.plan.projections[first.owner]
        form = self._linear_form(first, projection, self._classify(first), statements[0])
        return form is not None

    def _merged_pathways(self, blocks: list[NetworkBlock]) -> None:
        """Pathways of one projection with the same linear statement, as one matrix form of
        the summed spikes of their events (matrix delivery)."""
        first = blocks[0]
        assert first.code is not None
        projection = self.plan.projections[first.owner]
        events = ", ".join(f"'{b.event}'" for b in blocks)
        self.out.comment_block(
            f"pathways {', '.join(b.name for b in blocks)} ({first.when}, {first.order:g}): on "
            f"{events} of '{projection.source}', one matrix form of their summed spikes",
            first.code.abstract_code,
        )
        gates = []
        for block in blocks:
            spikes, _ = self._delayed_spikes(projection, block, projection.source)
            gates.append(spikes[0])
        roles = self._classify(first)
        statement = (first.code.scalar_statements + first.code.vector_statements)[0]
        form = self._linear_form(first, projection, roles, statement)
        assert form is not None
        self._render_linear(first, projection, roles, statement, form, f"({' + '.join(gates)})")

    def _conditional(self, block: NetworkBlock, identifier: str, value: str, full: str) -> str:
        """``value`` under the written variable's conditional write (``unless refractory``)."""
        assert block.code is not None
        condition = block.code.conditional_writes.get(identifier)
        if condition is None:
            return value
        projection = self.plan.projections[block.owner]
        index = block.indices.get(identifier)
        group = projection.target if index == "_postsynaptic_idx" else projection.source
        flag = self._full(group, str(condition))
        return f"_0F.where({flag}, {value}, {full})"

    def _check_vectorisable(
        self,
        block: NetworkBlock,
        roles: Mapping[str, tuple[str, str, str]],
        statements: tuple[Statement, ...],
    ) -> None:
        """Brian2's vectorisation rule for pre- and postsynaptic writes (module docstring)."""
        projection = self.plan.projections[block.owner]
        read: set[str] = set()
        for stmt in statements:
            read |= _identifiers(stmt.expr)
        for stmt in statements:
            role = roles.get(stmt.var, ("temp", "", ""))[0]
            if role not in ("pre", "post"):
                continue
            if stmt.op not in ("+=", "-="):
                raise InputError(
                    f"Projection '{projection.name}': '{stmt.var} {stmt.op} {stmt.expr}' changes "
                    f"a {role}synaptic variable other than by += or -=. Brian2 would apply it "
                    "synapse by synapse, which neither its vectorised targets nor the torch "
                    f"engine can follow; write '{stmt.var} += ...'."
                )
            if stmt.var in read:
                raise InputError(
                    f"Projection '{projection.name}': on_{block.prepost} reads '{stmt.var}', "
                    "which it also changes; Brian2 then applies the statements synapse by "
                    "synapse, so the result depends on the order of the synapses and the torch "
                    "engine cannot vectorise it. Write the change into a separate variable "
                    "(e.g. a conductance, 'g_post += w') and let the neuron model use it."
                )

    def _used(
        self, statements: tuple[Statement, ...], roles: Mapping[str, Any], skip: set[int]
    ) -> set[str]:
        """Identifiers the (non-skipped) statements read, plus synaptic in-place targets."""
        used: set[str] = set()
        for stmt in statements:
            if id(stmt) in skip:
                continue
            used |= _identifiers(stmt.expr) & set(roles)
            if stmt.op not in (":=", "=") and roles.get(stmt.var, ("",))[0] == "syn":
                used.add(stmt.var)
        return used

    def _delayed_spikes(
        self, projection: ProjectionPlan, block: NetworkBlock, firing_group: str
    ) -> tuple[list[str], str]:
        """The spike tensors of the pathway's delay groups (longest first) and the name of
        the tables assigning synapses to them (per-delay CSR in event mode, masks when
        delays differ in scatter mode)."""
        event = str(block.event)
        delay = self._waits(block)
        pre_all, post_all = projection.synapse_arrays(self.plan.size_of(projection.source))
        firing = pre_all if block.prepost == "pre" else post_all
        groups = sorted(set(np.atleast_1d(delay).tolist()), reverse=True)
        current, buffer = event_name(firing_group, event), delay_name(firing_group, event)
        spikes = [current if d == 0 else f"{buffer}[{d - 1}]" for d in groups]
        delays = np.broadcast_to(np.asarray(delay), (len(firing),))
        n_firing = self.plan.size_of(firing_group)
        tables: list[Any] = []
        if self.mode == "matrix" and len(groups) == 1:
            groups_tables: list[Any] = [None]
            name = f"_0tables_{block.name}"
            self.indices[name] = groups_tables
            self.params.setdefault(name, ("tables", projection.name, block.name))
            return spikes, name
        for d in groups:
            members = np.flatnonzero(delays == d)
            if self.mode == "event":
                ordered = members[np.argsort(firing[members], kind="stable")]
                counts = np.bincount(firing[ordered], minlength=n_firing)
                crow = np.concatenate([[0], np.cumsum(counts)])
                tables.append((torch.as_tensor(crow), torch.as_tensor(ordered)))
            elif len(groups) > 1:
                mask = np.zeros(len(firing))
                mask[members] = 1.0
                tables.append(torch.as_tensor(mask))
            else:
                tables.append(None)
        name = f"_0tables_{block.name}"
        self.indices[name] = tables
        self.params.setdefault(name, ("tables", projection.name, block.name))
        return spikes, name

    def _delivery_order(self, projection: ProjectionPlan, block: NetworkBlock) -> str | None:
        """Scatter mode adds in Brian2's queue order: delay groups from the longest, then
        the firing neuron, then the synapse; a permutation when that is not synapse order."""
        if self.mode == "event":
            return None
        pre_all, post_all = projection.synapse_arrays(self.plan.size_of(projection.source))
        firing = pre_all if block.prepost == "pre" else post_all
        delays = np.broadcast_to(np.asarray(self._waits(block)), (len(firing),))
        order = np.lexsort((np.arange(len(firing)), firing, -delays))
        if np.array_equal(order, np.arange(len(firing))):
            return None
        name = f"_0order_{block.name}"
        self.indices[name] = torch.as_tensor(order)
        self.params.setdefault(name, ("order", projection.name, block.name))
        return name

    # -- matrix forms ---------------------------------------------------------------------------
    def _linear_form(
        self,
        block: NetworkBlock,
        projection: ProjectionPlan,
        roles: Mapping[str, tuple[str, str, str]],
        stmt: Statement,
    ) -> tuple[str | None, str | None, str] | None:
        """``(pre factor, post factor, constant)`` of ``stmt`` if its right-hand side is the
        projection's weight times such factors and the connectivity has a matrix form."""
        if not projection.description.connectivity.structured or projection.weight is None:
            return None
        if projection.weight in self.program.synaptic_writes.get(projection.name, ()):
            return None  # plastic weights
        if block.kind == "summed":
            if stmt.var != "_synaptic_var":
                return None
        elif roles.get(stmt.var, ("",))[0] != "post" or stmt.op not in ("+=", "-="):
            return None
        assert block.code is not None
        try:
            expr = str_to_sympy(stmt.expr, block.code.variables)
        except Exception:
            return None
        pre, post, const, weights = [], [], [], 0
        for factor in sympy.Mul.make_args(expr):
            names = {str(s) for s in factor.free_symbols}
            kinds = {roles[n][0] if n in roles else "const" for n in names}
            if factor.is_Symbol and str(factor) == projection.weight:
                weights += 1
            elif kinds - {"const", "pre", "post"} or len(kinds - {"const"}) > 1:
                return None
            elif "pre" in kinds:
                pre.append(factor)
            elif "post" in kinds:
                post.append(factor)
            else:
                const.append(factor)
        if weights != 1:
            return None

        def text(parts: list[Any]) -> str | None:
            return None if not parts else str(sympy_to_str(sympy.Mul(*parts)))

        return text(pre), text(post), text(const) or "1"

    def _linear_function(self, projection: ProjectionPlan) -> str:
        """A function ``f(x, W, b)``: the connectivity's matrix form of ``x`` (a bias through
        the constant unit, the last entry of ``x``)."""
        name = f"_0L_{projection.name}"
        if name in self.namespace:
            return name
        connectivity = projection.description.connectivity
        n_pre, n_post = projection.synapses.n_pre, projection.synapses.n_post
        bias_index = (
            None if projection.bias_index is None else torch.as_tensor(projection.bias_index)
        )

        def linear(x: Any, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
            width = n_pre + (0 if bias is None else 1)
            x = torch.as_tensor(x, dtype=weight.dtype, device=weight.device)
            if x.dim() == 0:
                x = x.expand(width)
            y = connectivity.apply(x[..., :n_pre], weight, n_post)
            if bias is not None:
                assert bias_index is not None
                y = y + x[..., n_pre : n_pre + 1] * bias[bias_index.to(bias.device)]
            return y

        self.namespace[name] = linear
        self.linear.append(projection.name)
        return name

    def _render_linear(
        self,
        block: NetworkBlock,
        projection: ProjectionPlan,
        roles: Mapping[str, tuple[str, str, str]],
        stmt: Statement,
        form: tuple[str | None, str | None, str],
        gate: str | None,
    ) -> None:
        assert block.code is not None
        pre, post, const = form
        full_names = {
            k: self._read_name(projection, v)
            for k, v in roles.items()
            if v[0] in ("pre", "post")
            and ((pre and k in _identifiers(pre)) or (post and k in _identifiers(post)))
        }
        renderer = TorchRenderer(block.code.variables, full_names)
        if gate is not None:
            x = gate if pre is None else f"{gate} * ({renderer.render_expr(pre)})"
        else:
            x = "1.0" if pre is None else renderer.render_expr(pre)
        linear = self._linear_function(projection)
        weight = self._full(projection.name, "W", "weight")
        bias = "None"
        if projection.bias_index is not None:
            bias = self._full(projection.name, "b", "bias")
        value = f"{linear}({x}, {weight}, {bias})"
        if const != "1":
            value = f"({renderer.render_expr(const)}) * {value}"
        if post is not None:
            value = f"({renderer.render_expr(post)}) * {value}"
        if block.kind == "summed":
            self.out.add(f"_0linear = {value}")
            return
        full = self._read_name(projection, roles[stmt.var])
        sign = "+" if stmt.op == "+=" else "-"
        changed = self._conditional(block, stmt.var, f"{full} {sign} {value}", full)
        self.out.add(f"{full} = {changed}")

    # -- adder forms -----------------------------------------------------------------------------
    def _adder_form(
        self,
        block: NetworkBlock,
        projection: ProjectionPlan,
        roles: Mapping[str, tuple[str, str, str]],
        stmt: Statement,
    ) -> tuple[str, str, str] | None:
        """``(A, B, P)`` if a dense or convolutional projection's summed expression is ``A + B
        * abs(Q + k w)`` with constants A, B, k != 0 and Q of presynaptic values and constants
        (so ``B |k| abs(P - w)`` with ``P = -Q / k``, returned as ``B |k|``): an adder synapse,
        whose sum over a target's n synapses is ``n A - B |k| adder(P, W)``."""
        connectivity = projection.description.connectivity
        if not isinstance(connectivity, Dense | Conv2d) or projection.weight is None:
            return None
        if projection.weight in self.program.synaptic_writes.get(projection.name, ()):
            return None  # plastic weights
        if projection.bias_index is not None:
            return None  # the bias synapses would take the same expression
        assert block.code is not None
        try:
            expr = sympy.expand(str_to_sympy(stmt.expr, block.code.variables))
        except Exception:
            return None
        weight = sympy.Symbol(projection.weight, real=True)
        weight = next((s for s in expr.free_symbols if str(s) == projection.weight), weight)

        def kinds(part: Any) -> set[str]:
            return {roles[str(n)][0] if str(n) in roles else "const" for n in part.free_symbols}

        terms = sympy.Add.make_args(expr)
        absolute = [t for t in terms if t.has(sympy.Abs)]
        if len(absolute) != 1:
            return None
        rest = sympy.Add(*(t for t in terms if t is not absolute[0]))
        factors = sympy.Mul.make_args(absolute[0])
        inner = [f for f in factors if isinstance(f, sympy.Abs)]
        coefficient = sympy.Mul(*(f for f in factors if not isinstance(f, sympy.Abs)))
        if len(inner) != 1 or kinds(coefficient) - {"const"} or kinds(rest) - {"const"}:
            return None
        argument = sympy.expand(inner[0].args[0])
        slope = argument.coeff(weight)
        offset = sympy.expand(argument - slope * weight)
        if not slope.is_number or slope == 0 or offset.has(weight):
            return None
        if kinds(offset) - {"const", "pre"}:
            return None
        presynaptic = sympy.expand(-offset / slope)  # |Q + k w| = |k| |P - w|

        def text(part: Any) -> str:
            return str(sympy_to_str(part))

        return text(rest), text(coefficient * sympy.Abs(slope)), text(presynaptic)

    def _adder_function(self, projection: ProjectionPlan) -> str:
        """A function ``f(x, W, A, B)``: the sum over each target's synapses of ``A + B *
        abs(x - w)``, by :func:`spikebridge.torch.adder.adder` (its gradients, unscaled); a
        convolution's synapses leave out its padding, as Brian2's do."""
        import torch.nn.functional as nnf

        from .adder import adder

        name = f"_0A_{projection.name}"
        if name in self.namespace:
            return name
        connectivity = projection.description.connectivity
        n_pre, n_post = projection.synapses.n_pre, projection.synapses.n_post

        def dense(x: Any, weight: torch.Tensor, a: Any, b: Any) -> torch.Tensor:
            x = torch.as_tensor(x, dtype=weight.dtype, device=weight.device)
            x = x.expand(n_pre) if x.dim() == 0 else x[..., :n_pre]
            lead = x.shape[:-1]
            y = adder(x.reshape(-1, n_pre), weight.transpose(0, 1), eta=None)
            return (n_pre * a - b * y).reshape(*lead, n_post)

        def conv(x: Any, weight: torch.Tensor, a: Any, b: Any) -> torch.Tensor:
            assert isinstance(connectivity, Conv2d)
            c_in, height, width = connectivity.in_shape
            geometry = {"padding": connectivity.padding, "stride": connectivity.stride}
            kernel = connectivity.kernel_size
            x = torch.as_tensor(x, dtype=weight.dtype, device=weight.device)
            x = x.expand(n_pre) if x.dim() == 0 else x[..., :n_pre]
            lead = x.shape[:-1]
            image = x.reshape(-1, c_in, height, width)
            batch = image.shape[0]
            ones = torch.ones((1, c_in, height, width), dtype=x.dtype, device=x.device)
            mask = nnf.unfold(ones, kernel, **geometry)[0].transpose(0, 1)  # [L, K]
            rows = nnf.unfold(image, kernel, **geometry).transpose(1, 2)  # [B, L, K]
            places, fan_in = mask.shape
            y = adder(
                rows.reshape(-1, fan_in),
                weight.reshape(weight.shape[0], -1),
                eta=None,
                mask=mask.repeat(batch, 1),
            )  # [B L, C_out]
            total = mask.sum(1)[:, None] * a - b * y.reshape(batch, places, -1)
            return total.transpose(1, 2).reshape(*lead, n_post)

        self.namespace[name] = conv if isinstance(connectivity, Conv2d) else dense
        self.linear.append(projection.name)
        return name

    def _render_adder(
        self,
        block: NetworkBlock,
        projection: ProjectionPlan,
        roles: Mapping[str, tuple[str, str, str]],
        form: tuple[str, str, str],
    ) -> None:
        assert block.code is not None
        rest, coefficient, presynaptic = form
        names = _identifiers(presynaptic)
        full_names = {
            k: self._read_name(projection, v)
            for k, v in roles.items()
            if v[0] == "pre" and k in names
        }
        renderer = TorchRenderer(block.code.variables, full_names)
        distances = self._adder_function(projection)
        weight = self._full(projection.name, "W", "weight")
        x, a, b = (renderer.render_expr(e) for e in (presynaptic, rest, coefficient))
        arguments = ", ".join((x, weight, a, b))
        self.out.add(f"_0sum = {distances}({arguments})")

    def _invariant(self, block: NetworkBlock, roles: Mapping[str, tuple[str, str, str]]) -> bool:
        """Whether a summed block reads only constant values over a trial: synaptic
        parameters no code writes, value and constant sources, constants (not ``t``)."""
        assert block.code is not None
        statements = block.code.scalar_statements + block.code.vector_statements
        used = set()
        for stmt in statements:
            used |= _identifiers(stmt.expr)
        if "t" in used:
            return False
        projection = self.plan.projections[block.owner]
        written = set(self.program.synaptic_writes.get(projection.name, ()))
        written |= set(projection.synapse.state_variables)
        for identifier in used & set(roles):
            role, owner, var = roles[identifier]
            if role == "syn" and var in written:
                return False
            if role in ("pre", "post") and not (
                owner in self.plan.sources
                and type(self.plan.sources[owner]).__name__ in ("ValueSource", "ConstantSource")
            ):
                return False
        return True

    def _summed(self, block: NetworkBlock) -> None:
        assert block.code is not None and block.summed_target is not None
        projection = self.plan.projections[block.owner]
        roles = self._classify(block)
        owner, var = self._owner_var(block, block.summed_target)
        target = self._full(owner, var)
        title = (
            f"summed variable '{block.summed_target}' of '{projection.name}' "
            f"({block.when}, {block.order:g})"
        )
        if self._invariant(block, roles):
            name = f"_0inv_{block.name}"
            self.out.add(f"# -- {title}: constant over a trial, computed by prepare() --")
            self.out.add(f"{target} = _0O.fit(params[{name!r}], {target})")
            self.params[name] = ("hoisted", projection.name, block.name)
            main, self.out = self.out, self.hoisted
            try:
                self._summed_value(block, projection, roles, title)
                self.out.add(f"{name} = _0sum")
            finally:
                self.out = main
            self.hoisted_names.append(name)
            return
        self._summed_value(block, projection, roles, title)
        self.out.add(f"{target} = _0O.fit(_0sum, {target})")
        self.out.add("del _0sum")

    def _summed_value(
        self,
        block: NetworkBlock,
        projection: ProjectionPlan,
        roles: Mapping[str, tuple[str, str, str]],
        title: str,
    ) -> None:
        """Lines computing a summed variable's value into ``_0sum``."""
        assert block.code is not None and block.summed_target is not None
        out = self.out
        out.comment_block(title, block.code.abstract_code)
        statements = block.code.scalar_statements + block.code.vector_statements
        side = "post" if block.indices.get(block.summed_target) == "_postsynaptic_idx" else "pre"
        n = self.plan.size_of(projection.target if side == "post" else projection.source)
        *temps, last = statements
        form = None
        if self.mode == "matrix" and last.var == "_synaptic_var" and not temps and side == "post":
            form = self._linear_form(block, projection, roles, last)
        if form is not None:
            self._render_linear(block, projection, roles, last, form, None)
            out.add("_0sum = _0linear")
            out.add("del _0linear")
            return
        adder = None
        if self.mode == "matrix" and last.var == "_synaptic_var" and not temps and side == "post":
            adder = self._adder_form(block, projection, roles, last)
        if adder is not None:
            self._render_adder(block, projection, roles, adder)
            return
        locals_ = self._read(projection, roles, self._used(statements, roles, set()), None)
        renderer = TorchRenderer(block.code.variables)
        for stmt in statements:
            out.add(f"{stmt.var} = {renderer.render_expr(stmt.expr)}")
            locals_.append(stmt.var)
        target_index = self._index_tensor(projection, side)
        like = self._like()
        out.add(f"_0sum = _0O.total({n}, {target_index}, _synaptic_var, {projection.size}, {like})")
        out.add(f"del {', '.join(dict.fromkeys(locals_))}")

    def _like(self) -> str:
        """A float tensor of the network's dtype and device among the params."""
        for name, (kind, _, _) in self.params.items():
            if kind in ("parameter", "synaptic", "weight", "source_values") and (
                name not in self.drives  # per-step inputs: not there for prepare()
            ):
                return name
        first = next(iter(self.plan.populations.values()))
        name = first.model.parameter_names[0]
        return self._full(first.name, name)

    def _synaptic_update(self, block: NetworkBlock) -> None:
        assert block.code is not None
        projection = self.plan.projections[block.owner]
        out = self.out
        out.comment_block(
            f"state update of synapses '{projection.name}' ({block.when}, {block.order:g})",
            block.code.abstract_code,
        )
        roles = self._classify(block)
        statements = block.code.scalar_statements + block.code.vector_statements
        used = self._used(statements, roles, set())
        used |= {s.var for s in statements if s.var in roles}
        locals_ = self._read(projection, roles, used, None)
        renderer = TorchRenderer(block.code.variables)
        for stmt in statements:
            expr = renderer.render_expr(stmt.expr)
            value = expr if stmt.op in (":=", "=") else f"{stmt.var} {stmt.op[0]} ({expr})"
            out.add(f"{stmt.var} = {value}")
            locals_.append(stmt.var)
        for stmt in statements:
            if stmt.op != ":=" and roles.get(stmt.var, ("",))[0] == "syn":
                out.add(f"{self._read_name(projection, roles[stmt.var])} = {stmt.var}")
        out.add(f"del {', '.join(dict.fromkeys(locals_))}")


def _identifiers(expr: str) -> set[str]:
    import ast

    return {n.id for n in ast.walk(ast.parse(expr, mode="eval")) if isinstance(n, ast.Name)}
