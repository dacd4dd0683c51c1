"""Networks of N neurons of one model, optionally coupled: the plan both engines run.

Synapses ``j -> i`` with weights ``w_ij`` change a state variable ``x`` of the target (by
default the membrane potential): the spikes of step k are added at the end of step k and
act from step k+1 on, as Brian2's ``Synapses(G, G, "w : <unit of x>", on_pre="x_post +=
w")`` without delay. Connectivity (:func:`random_connectivity`): a fixed in-degree K (each
neuron receives from K distinct others) or a connection probability p (each ordered pair
independently), without self-connections unless asked. :func:`plan_network` validates a
request once; :mod:`spikebridge.torch.network` and :mod:`spikebridge.brian.network` run it.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import InputError
from .model import NeuronModel, load_model
from .run import RunSpec, plan_run
from .units import to_si


@dataclass(frozen=True)
class Connectivity:
    """Synapses ``pre[s] -> post[s]`` among ``n`` neurons, sorted by ``pre``, then ``post``."""

    n: int
    pre: np.ndarray
    post: np.ndarray

    @property
    def size(self) -> int:
        """The number of synapses."""
        return len(self.pre)

    def in_degrees(self) -> np.ndarray:
        """Synapses received by each neuron."""
        return np.bincount(self.post, minlength=self.n)


@dataclass(frozen=True)
class NetworkResult:
    """Spike counts (and optionally spikes) of a network run, with its loop times.

    ``spikes``: ``(step, neuron)`` rows sorted by step, then neuron (as
    :class:`~spikebridge.results.SimulationResult`), or None when not recorded.
    ``loop_seconds``: one time per repeat of the simulation loop (set-up, code
    generation and compilation excluded).
    """

    model: str
    method: str
    engine: str
    dtype: str
    n: int
    n_steps: int
    dt: float
    spike_counts: np.ndarray
    spikes: np.ndarray | None
    connectivity: Connectivity | None
    loop_seconds: tuple[float, ...]
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def median_loop_seconds(self) -> float:
        return float(statistics.median(self.loop_seconds))

    @property
    def neuron_steps_per_second(self) -> float:
        """``n * n_steps`` over the median loop time."""
        return self.n * self.n_steps / self.median_loop_seconds


def random_connectivity(
    n: int,
    *,
    p: float | None = None,
    in_degree: int | None = None,
    seed: int = 0,
    autapses: bool = False,
) -> Connectivity:
    """Random synapses among ``n`` neurons: give exactly one of ``in_degree`` (each neuron
    receives from that many distinct, uniformly drawn neurons) and ``p`` (each ordered pair
    is connected with probability ``p``). ``autapses``: allow ``i -> i``. Reproducible from
    ``seed`` (numpy's default generator)."""
    n = check_size(n)
    if (p is None) == (in_degree is None):
        raise InputError("Give exactly one of p (a probability) and in_degree (a count).")
    rng = np.random.default_rng(seed)
    choices = n if autapses else n - 1
    if in_degree is not None:
        k = _check_in_degree(in_degree, choices)
        rows, values = _distinct_per_row(rng, np.full(n, k, dtype=np.int64), choices)
        post, pre = rows, values  # rows are the receiving neurons
    else:
        rows, values = _distinct_per_row(rng, rng.binomial(choices, check_p(p), size=n), choices)
        pre, post = rows, values  # rows are the sending neurons
    if not autapses:  # values in [0, n-1) skip the row's own neuron
        values += values >= rows
    order = np.lexsort((post, pre))
    return Connectivity(n, pre[order].astype(np.int64), post[order].astype(np.int64))


def _distinct_per_row(
    rng: np.random.Generator, counts: np.ndarray, choices: int
) -> tuple[np.ndarray, np.ndarray]:
    """``counts[r]`` distinct integers in ``[0, choices)`` for every row ``r``, flattened as
    ``(rows, values)``: uniform draws, duplicates redrawn until none is left."""
    rows = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    values = np.empty(len(rows), dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)])
    dense = np.flatnonzero(counts * 2 > choices)  # many per row: a permutation each
    for r in dense:
        values[starts[r] : starts[r + 1]] = rng.permutation(choices)[: counts[r]]
    todo = np.ones(len(rows), dtype=bool)
    todo[np.repeat(np.isin(np.arange(len(counts)), dense), counts)] = False
    index = np.flatnonzero(todo)
    values[index] = rng.integers(0, choices, size=len(index))
    while len(index):
        order = np.lexsort((values, rows))
        same = (rows[order][1:] == rows[order][:-1]) & (values[order][1:] == values[order][:-1])
        index = order[1:][same]
        values[index] = rng.integers(0, choices, size=len(index))
    return rows, values


def check_size(n: Any) -> int:
    """``n`` as a number of neurons: a positive integer."""
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise InputError(f"n (the number of neurons) must be a positive integer, got {n!r}.")
    return int(n)


def check_p(p: Any) -> float:
    """``p`` as a connection probability in [0, 1]."""
    if isinstance(p, bool) or not isinstance(p, int | float | np.number) or not 0 <= p <= 1:
        raise InputError(f"p (the connection probability) must be in [0, 1], got {p!r}.")
    return float(p)


def _check_in_degree(k: Any, choices: int) -> int:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 0 <= k <= choices:
        raise InputError(
            f"in_degree must be an integer from 0 to {choices} (the possible senders), got {k!r}."
        )
    return int(k)


@dataclass(frozen=True)
class NetworkPlan:
    """A validated network run: the run itself, the synapses and what they change."""

    spec: RunSpec
    connectivity: Connectivity | None
    weights: np.ndarray | None  # SI, one per synapse
    target: str | None
    #: events whose reset sets the target: the jumps of neurons that fired them are dropped
    reset_events: tuple[str, ...] = ()


def plan_network(
    model: NeuronModel | str,
    n: int,
    *,
    p: float | None = None,
    in_degree: int | None = None,
    connectivity: Connectivity | None = None,
    weight: Any = None,
    target: str | None = None,
    seed: int = 0,
    autapses: bool = False,
    **run: Any,
) -> NetworkPlan:
    """Validate a network request. ``p``, ``in_degree`` (see :func:`random_connectivity`,
    drawn with ``seed``) or ``connectivity`` couple the neurons; none: uncoupled.
    ``weight``: a quantity in the unit of ``target`` (default: the membrane variable), one
    value or one per synapse. ``run``: options of :func:`spikebridge.run.plan_run`."""
    n = check_size(n)
    model = load_model(model) if isinstance(model, str) else model
    spec = plan_run(model, n=n, seed=seed, record=(), **run)
    given = [name for name, v in (("p", p), ("in_degree", in_degree)) if v is not None]
    if connectivity is not None:
        given.append("connectivity")
    if len(given) > 1:
        raise InputError(f"Give at most one of p, in_degree and connectivity, got {given}.")
    if connectivity is None and given:
        connectivity = random_connectivity(
            n, p=p, in_degree=in_degree, seed=seed, autapses=autapses
        )
    if connectivity is None:
        if weight is not None or target is not None:
            raise InputError("weight and target need synapses: give p, in_degree or connectivity.")
        return NetworkPlan(spec, None, None, None)
    _check_connectivity(connectivity, n)
    target = target if target is not None else model.membrane[0]
    if target not in model.state_variables:
        raise InputError(
            f"target '{target}' is not a state variable of model '{model.name}'; synapses can "
            f"change one of {', '.join(model.state_variables)}."
        )
    if weight is None:
        raise InputError(f"Coupled networks need a weight (a quantity in the unit of '{target}').")
    weights = to_si(weight, model.dim(target), f"weight (added to '{target}')")
    if weights.ndim > 1 or (weights.ndim == 1 and len(weights) != connectivity.size):
        raise InputError(
            f"weight must be one value or one per synapse ({connectivity.size}), "
            f"got shape {weights.shape}."
        )
    if not np.all(np.isfinite(weights)):
        raise InputError("weight contains NaN or infinite values.")
    weights = np.broadcast_to(weights, (connectivity.size,)).astype(np.float64)
    return NetworkPlan(spec, connectivity, weights, target, _resets_setting(model, target))


_WRITE = re.compile(r"^\s*([A-Za-z_]\w*)\s*(=|\+=|-=|\*=|/=)\s*(.+?)\s*$")


def _resets_setting(model: NeuronModel, target: str) -> tuple[str, ...]:
    """Events whose reset sets ``target`` (``x = expr`` without ``x``); refuses resets that
    change ``target`` other than by adding to it (they would not commute with the jump)."""
    setting = []
    for event in model.events:
        for line in (event.reset or "").splitlines():
            match = _WRITE.match(line.split("#", 1)[0])
            if match is None or match.group(1) != target:
                continue
            op, expr = match.group(2), match.group(3)
            if op == "=" and not re.search(rf"\b{re.escape(target)}\b", expr):
                setting.append(event.name)
            elif op not in ("+=", "-="):
                raise InputError(
                    f"The reset of event '{event.name}' of model '{model.name}' changes the "
                    f"synapses' target '{target}' by '{line.strip()}'; synaptic jumps can only "
                    "target a variable that resets set (x = ...), add to (x += ...) or leave "
                    "alone."
                )
    return tuple(dict.fromkeys(setting))


def _check_connectivity(connectivity: Connectivity, n: int) -> None:
    if connectivity.n != n:
        raise InputError(f"connectivity is for {connectivity.n} neurons, the network has {n}.")
    pre, post = np.asarray(connectivity.pre), np.asarray(connectivity.post)
    if pre.shape != post.shape or pre.ndim != 1:
        raise InputError("connectivity.pre and connectivity.post must be 1-d of equal length.")
    if len(pre) and (min(pre.min(), post.min()) < 0 or max(pre.max(), post.max()) >= n):
        raise InputError(f"connectivity indices must be in [0, {n}).")
    if len(pre) > 1 and np.any(np.diff(pre * n + post) < 0):
        raise InputError("connectivity must be sorted by pre, then post (random_connectivity is).")


def check_repeats(repeats: Any) -> int:
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise InputError(f"repeats must be a positive integer, got {repeats!r}.")
    return repeats
