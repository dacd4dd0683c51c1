"""Brian2's own code for one time step of a whole network, in schedule order.

:func:`network_program` builds the network of a plan in runtime (numpy) mode, lets Brian2
prepare a run, and lists every code object the network executes in one step, in
``Network.sorted_objects`` order (schedule slot, order, name), with the statements Brian2
generates for it (``make_statements``, as for a single model):

=================  ====================================================  ===============
kind               Brian2 object                                          slot (default)
=================  ====================================================  ===============
summed             ``SummedVariableUpdater`` (``x_post = ... (summed)``)   groups, -1
synaptic_update    a ``Synapses`` state updater (clock-driven equations)   groups, 0
stateupdate        a population's state updater                            groups, 0
threshold          a population's thresholder (one per event)              thresholds
spikes             a ``SpikeGeneratorGroup`` (frozen Poisson, spike trains)  thresholds
poisson            a ``PoissonGroup``'s thresholder (engine-drawn Poisson)  thresholds
pathway            a ``SynapticPathway`` (``on_pre`` -1, ``on_post`` +1)     synapses
reset              a population's resetter (one per event)                 resets
=================  ====================================================  ===============

(the ``layered`` schedule moves them, see :mod:`spikebridge.brian.network`). Code objects
spikebridge adds for inputs and trials (``<pop>_drive_<var>``, ``<src>_load``,
``<group>_restart``) are the torch loop's business and listed as such; any other code
object (a user's ``run_regularly``, a ``constant over dt`` subexpression) is refused with
an error, since the torch engine could not follow it.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from brian2 import SpikeGeneratorGroup
from brian2.groups.neurongroup import Resetter, Thresholder
from brian2.groups.neurongroup import StateUpdater as NeuronStateUpdater
from brian2.input.poissongroup import PoissonGroup
from brian2.synapses.synapses import StateUpdater as SynapticStateUpdater
from brian2.synapses.synapses import SummedVariableUpdater, SynapticPathway

from ..errors import InputError
from ..network.plan import NetworkPlan
from .devices import brian2_session
from .network import build_network, prepare
from .program import CodeBlock, code_block


@dataclass(frozen=True)
class NetworkBlock:
    """One code object of a network step."""

    kind: str
    owner: str  # the population, source or projection it belongs to
    name: str  # Brian2's name of the code object
    when: str
    order: float
    code: CodeBlock | None  # None for spike generators
    indices: Mapping[str, str] = field(default_factory=dict)
    event: str | None = None  # threshold/reset/pathway: the event
    prepost: str | None = None  # pathway: "pre" or "post"
    pathway: str | None = None  # pathway: its name within the projection
    summed_target: str | None = None  # summed: the written variable, e.g. "I_post"
    #: identifier -> (owner's name, variable's name in its owner), read during extraction
    #: (Brian2's variables refer to their owners weakly)
    owners: Mapping[str, tuple[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class NetworkProgram:
    """Everything one step of a network does, as Brian2 statements in schedule order."""

    network: str
    blocks: tuple[NetworkBlock, ...]
    #: synaptic variables each projection's code writes (state of the trials)
    synaptic_writes: Mapping[str, tuple[str, ...]]


_PROGRAMS: weakref.WeakKeyDictionary[NetworkPlan, NetworkProgram] = weakref.WeakKeyDictionary()


def network_program(plan: NetworkPlan) -> NetworkProgram:
    """The step program of ``plan``'s network (cached per plan object)."""
    cached = _PROGRAMS.get(plan)
    if cached is None:
        cached = _extract(plan)
        _PROGRAMS[plan] = cached
    return cached


def _extract(plan: NetworkPlan) -> NetworkProgram:
    with brian2_session("numpy"):
        built = build_network(plan)
        prepare(built, plan)
        owners = {obj.name: name for name, obj in built.synapses.items()}
        blocks: list[NetworkBlock] = []
        writes: dict[str, set[str]] = {name: set() for name in plan.projections}
        for obj in built.network.sorted_objects:
            block = _classify(obj, plan, built.roles, owners)
            if block is None:
                continue
            if block.code is not None:
                block = replace(block, owners=_owners(block.code.variables))
            blocks.append(block)
            if block.kind in ("pathway", "synaptic_update") and block.code is not None:
                for stmt in block.code.vector_statements:
                    if block.indices.get(stmt.var) == "_idx" and stmt.op != ":=":
                        writes[block.owner].add(stmt.var)
        _check_overwritten(plan, blocks)
        return NetworkProgram(
            plan.name, tuple(blocks), {k: tuple(sorted(v)) for k, v in writes.items()}
        )


def _check_overwritten(plan: NetworkPlan, blocks: list[NetworkBlock]) -> None:
    """Refuse a pathway whose change of a variable a summed variable overwrites before the
    target population's update reads it (it would have no effect, in Brian2 as in torch)."""
    summed: dict[tuple[str, str], tuple[int, str]] = {}
    updates: dict[str, int] = {}
    for k, block in enumerate(blocks):
        if block.kind == "summed" and block.summed_target:
            summed[block.owners[block.summed_target]] = (k, block.owner)
        elif block.kind == "stateupdate":
            updates[block.owner] = k
    for k, block in enumerate(blocks):
        if block.kind != "pathway" or block.code is None:
            continue
        for stmt in block.code.vector_statements:
            if block.indices.get(stmt.var) not in ("_postsynaptic_idx", "_presynaptic_idx"):
                continue
            key = block.owners.get(stmt.var)
            if key not in summed or key[0] not in updates:
                continue
            position, overwriting = summed[key]
            if not position < k < updates[key[0]]:
                group, var = key
                raise InputError(
                    f"Projection '{block.owner}' changes '{var}' of population '{group}', which "
                    f"the summed variable of projection '{overwriting}' sets anew every step "
                    f"before '{group}' updates: the change would never act (in Brian2 as in "
                    f"torch). Target another variable of '{group}', or use "
                    "schedule='layered', where spikes arriving onto a population are added "
                    "after its summed variables."
                )


def _owners(variables: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    owners = {}
    for identifier, var in variables.items():
        owner = getattr(var, "owner", None)
        try:
            name = getattr(owner, "name", None)
        except ReferenceError:  # pragma: no cover - the build is alive here
            name = None
        if name is not None:
            owners[identifier] = (str(name), str(getattr(var, "name", identifier)))
    return owners


def _indices(obj: Any) -> dict[str, str]:
    return dict(obj.codeobj.variable_indices)


def _classify(
    obj: Any, plan: NetworkPlan, roles: Mapping[str, tuple[str, str]], owners: Mapping[str, str]
) -> NetworkBlock | None:
    when, order = str(obj.when), float(obj.order)
    if obj.name in roles:
        return None  # inputs and trial restarts: handled by the torch loop
    if isinstance(obj, NeuronStateUpdater):
        owner = obj.group.name
        if isinstance(obj.group, PoissonGroup) or not obj.abstract_code.strip():
            return None
        return NetworkBlock(
            "stateupdate",
            owner,
            obj.name,
            when,
            order,
            code_block(obj, "stateupdate", None),
            _indices(obj),
        )
    if isinstance(obj, Thresholder):
        owner = obj.group.name
        if isinstance(obj.group, PoissonGroup):
            return NetworkBlock("poisson", owner, obj.name, when, order, None, event="spike")
        return NetworkBlock(
            "threshold",
            owner,
            obj.name,
            when,
            order,
            code_block(obj, "threshold", obj.event),
            _indices(obj),
            event=obj.event,
        )
    if isinstance(obj, Resetter):
        return NetworkBlock(
            "reset",
            obj.group.name,
            obj.name,
            when,
            order,
            code_block(obj, "reset", obj.event),
            _indices(obj),
            event=obj.event,
        )
    if isinstance(obj, SpikeGeneratorGroup):
        return NetworkBlock("spikes", obj.name, obj.name, when, order, None, event="spike")
    if isinstance(obj, SummedVariableUpdater):
        owner = owners[obj.group.name]
        return NetworkBlock(
            "summed",
            owner,
            obj.name,
            when,
            order,
            code_block(obj, "summed", None),
            _indices(obj),
            summed_target=obj.target_varname,
        )
    if isinstance(obj, SynapticStateUpdater):
        owner = owners[obj.group.name]
        if not obj.abstract_code.strip():
            return None
        return NetworkBlock(
            "synaptic_update",
            owner,
            obj.name,
            when,
            order,
            code_block(obj, "synaptic_update", None),
            _indices(obj),
        )
    if isinstance(obj, SynapticPathway):
        owner = owners[obj.synapses.name]
        return NetworkBlock(
            "pathway",
            owner,
            obj.name,
            when,
            order,
            code_block(obj, "pathway", None),
            _indices(obj),
            event=obj.event,
            prepost=obj.prepost,
            pathway=obj.objname,
        )
    codeobj = getattr(obj, "codeobj", None)
    if codeobj is None and not getattr(obj, "code_objects", None):
        return None  # groups, monitors' containers
    if type(obj).__name__.endswith("Monitor"):
        return None
    raise InputError(
        f"Network '{plan.name}' runs Brian2 code object '{obj.name}' "
        f"({type(obj).__name__}), which the torch engine cannot follow. Express it in the "
        "description (inputs, sources, synapse models) instead."
    )
