"""Connectivity of a projection: which synapses exist, and the linear map their weights make.

Every kind is defined once and has two forms that are tested against each other:

* :meth:`Connectivity.synapses` lists the synapses ``pre[s] -> post[s]`` in the order Brian2
  creates them (``Synapses.connect(i=pre, j=post)``), each with the position of its weight in
  the projection's weight parameter (``weight_index``) and a fixed factor (``weight_scale``,
  e.g. ``1/4`` for a 2x2 average pool). The Brian2 engine and the torch engine's per-synapse
  delivery use this form: synapse ``s`` has the weight ``W.flatten()[weight_index[s]] *
  weight_scale[s]``.
* :meth:`Connectivity.apply` is the same linear map on whole tensors, ``y[..., j] = sum_s
  W_s x[..., pre_s]`` over the synapses onto ``j`` (a matrix product, a convolution, a
  pooling): the torch engine's fast form for training.

Kinds: :class:`Dense` (all to all; weights ``[n_pre, n_post]``), :class:`Sparse` (explicit
``(i, j)`` lists; one weight per synapse), :class:`Probability` and :class:`FixedInDegree`
(random rules, drawn once from a seed; one weight per synapse), :class:`OneToOne`,
:class:`Conv2d` (weights ``[C_out, C_in, k_h, k_w]``), :class:`Pool2d` (average or sum,
fixed weights), :class:`Chain` (maps applied in turn, e.g. a pool then a convolution;
at most one of them has weights) and :class:`ChannelBias` (one unit onto every neuron of a
map, a weight per channel). Images are flattened in C order ``(c, y, x)``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ..errors import InputError


@dataclass(frozen=True, eq=False)
class SynapseArrays:
    """Synapses ``pre[s] -> post[s]`` (Brian2's synapse order) with their weight positions.

    ``weight_index[s]``: index of synapse ``s``'s weight in the flattened weight parameter,
    or None when the connectivity has no weight parameter; ``weight_scale[s]``: a fixed
    factor of its weight, or None (1).
    """

    n_pre: int
    n_post: int
    pre: np.ndarray
    post: np.ndarray
    weight_index: np.ndarray | None
    weight_scale: np.ndarray | None

    @property
    def size(self) -> int:
        return len(self.pre)

    def in_degrees(self) -> np.ndarray:
        """Synapses received by each target neuron."""
        return np.bincount(self.post, minlength=self.n_post)

    def weights(self, parameter: np.ndarray | None) -> np.ndarray:
        """The weight of every synapse from the flattened parameter (SI values)."""
        if self.weight_index is None:
            values = np.ones(self.size)
        else:
            assert parameter is not None
            values = np.asarray(parameter, dtype=np.float64).reshape(-1)[self.weight_index]
        return values if self.weight_scale is None else values * self.weight_scale


class Connectivity:
    """Base of the connectivity kinds (frozen dataclasses; see the module docstring)."""

    kind: ClassVar[str]
    #: Kinds whose :meth:`apply` is a structured operation (matmul, conv, pool) rather than a
    #: gather/scatter over a synapse list.
    structured: ClassVar[bool] = True

    def check(self, n_pre: int, n_post: int) -> None:
        """Raise :class:`InputError` naming the fix if the kind cannot connect these sizes."""

    def weight_shape(self, n_pre: int, n_post: int) -> tuple[int, ...] | None:
        """Shape of the weight parameter; None when the weights are fixed by the kind."""
        raise NotImplementedError

    def synapses(self, n_pre: int, n_post: int) -> SynapseArrays:
        raise NotImplementedError

    def apply(self, x: Tensor, weight: Tensor | None, n_post: int) -> Tensor:
        """``y[..., j] = sum over synapses s onto j of w_s x[..., pre_s]``, ``x: [..., n_pre]``."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (arrays as lists of ints only where small; see network files)."""
        raise NotImplementedError

    def arrays(self) -> dict[str, np.ndarray]:
        """Large arrays of the kind, stored beside the JSON header of a network file."""
        return {}


def _count(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise InputError(f"{what} must be a non-negative integer, got {value!r}.")
    return int(value)


def _scatter(x: Tensor, pre: Tensor, post: Tensor, w: Tensor | None, n_post: int) -> Tensor:
    """``y[..., post_s] += w_s x[..., pre_s]`` in synapse order (out of place)."""
    values = x[..., pre] if w is None else x[..., pre] * w
    out = x.new_zeros((*x.shape[:-1], n_post))
    return out.index_add(-1, post, values)


# -- all to all, one to one, explicit lists ----------------------------------------------------
@dataclass(frozen=True)
class Dense(Connectivity):
    """Every source neuron to every target neuron; weights ``W[i, j]`` of shape ``[n_pre,
    n_post]``. Synapse order: ``i`` major (``s = i * n_post + j``)."""

    kind: ClassVar[str] = "dense"

    def weight_shape(self, n_pre: int, n_post: int) -> tuple[int, ...]:
        return (n_pre, n_post)

    def synapses(self, n_pre: int, n_post: int) -> SynapseArrays:
        pre = np.repeat(np.arange(n_pre, dtype=np.int64), n_post)
        post = np.tile(np.arange(n_post, dtype=np.int64), n_pre)
        return SynapseArrays(n_pre, n_post, pre, post, np.arange(n_pre * n_post), None)

    def apply(self, x: Tensor, weight: Tensor | None, n_post: int) -> Tensor:
        assert weight is not None
        return x @ weight

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind}


@dataclass(frozen=True)
class OneToOne(Connectivity):
    """Source neuron ``i`` to target neuron ``i``; one weight per pair (both sizes equal)."""

    kind: ClassVar[str] = "one_to_one"

    def check(self, n_pre: int, n_post: int) -> None:
        if n_pre != n_post:
            raise InputError(
                f"OneToOne connects populations of equal size, got {n_pre} -> {n_post}. "
                "Use Dense, Sparse or a rule for populations of different sizes."
            )

    def weight_shape(self, n_pre: int, n_post: int) -> tuple[int, ...]:
        return (n_pre,)

    def synapses(self, n_pre: int, n_post: int) -> SynapseArrays:
        index = np.arange(n_pre, dtype=np.int64)
        return SynapseArrays(n_pre, n_post, index, index.copy(), index.copy(), None)

    def apply(self, x: Tensor, weight: Tensor | None, n_post: int) -> Tensor:
        assert weight is not None
        return x * weight

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind}


@dataclass(frozen=True, eq=False)
class Sparse(Connectivity):
    """Explicit synapses ``i[s] -> j[s]`` in the given order (one weight per synapse;
    repeated pairs are several synapses, as in Brian2)."""

    kind: ClassVar[str] = "sparse"
    structured: ClassVar[bool] = False
    i: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    j: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __post_init__(self) -> None:
        i = np.asarray(self.i)
        j = np.asarray(self.j)
        if i.ndim != 1 or j.shape != i.shape:
            raise InputError(
                f"Sparse needs two 1-d index arrays of equal length, got shapes {i.shape} "
                f"and {j.shape}."
            )
        if len(i) and not (
            np.issubdtype(i.dtype, np.integer) and np.issubdtype(j.dtype, np.integer)
        ):
            raise InputError("Sparse indices must be integers.")
        object.__setattr__(self, "i", i.astype(np.int64))
        object.__setattr__(self, "j", j.astype(np.int64))

    def check(self, n_pre: int, n_post: int) -> None:
        for name, index, n in (("i", self.i, n_pre), ("j", self.j, n_post)):
            if len(index) and (index.min() < 0 or index.max() >= n):
                raise InputError(
                    f"Sparse index {name} must lie in [0, {n}) (the population's size), got "
                    f"values from {index.min()} to {index.max()}."
                )

    def weight_shape(self, n_pre: int, n_post: int) -> tuple[int, ...]:
        return (len(self.i),)

    def synapses(self, n_pre: int, n_post: int) -> SynapseArrays:
        return SynapseArrays(
            n_pre, n_post, self.i.copy(), self.j.copy(), np.arange(len(self.i)), None
        )

    def apply(self, x: Tensor, weight: Tensor | None, n_post: int) -> Tensor:
        pre, post = self._indices(x.device)
        return _scatter(x, pre, post, weight, n_post)

    def _indices(self, device: torch.device) -> tuple[Tensor, Tensor]:
        return torch.as_tensor(self.i, device=device), torch.as_tensor(self.j, device=device)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind}

    def arrays(self) -> dict[str, np.ndarray]:
        return {"i": self.i, "j": self.j}


# -- random rules ------------------------------------------------------------------------------
class _RandomRule(Connectivity):
    """A rule drawn once per process (cached) into a synapse list sorted by pre, then post."""

    structured: ClassVar[bool] = False

    def synapses(self, n_pre: int, n_post: int) -> SynapseArrays:
        return _drawn(self, n_pre, n_post)  # type: ignore[arg-type]

    def apply(self, x: Tensor, weight: Tensor | None, n_post: int) -> Tensor:
        arrays = self.synapses(x.shape[-1], n_post)
        pre = torch.as_tensor(arrays.pre, device=x.device)
        post = torch.as_tensor(arrays.post, device=x.device)
        return _scatter(x, pre, post, weight, n_post)


@dataclass(frozen=True)
class Probability(_RandomRule):
    """Each ordered pair ``(i, j)`` connected independently with probability ``p``
    (Brian2's ``connect(p=...)``), drawn once with numpy's generator from ``seed``.
    ``autapses``: allow ``i -> i`` when source and target are the same population."""

    kind: ClassVar[str] = "probability"
    p: float = 0.1
    seed: int = 0
    autapses: bool = False
    #: set by the description for a projection from a population onto itself
    recurrent: bool = False

    def __post_init__(self) -> None:
        if (
            isinstance(self.p, bool)
            or not isinstance(self.p, int | float | np.number)
            or not 0 <= self.p <= 1
        ):
            raise InputError(f"p (the connection probability) must be in [0, 1], got {self.p!r}.")

    def weight_shape(self, n_pre: int, n_post: int) -> tuple[int, ...]:
        return (self.synapses(n_pre, n_post).size,)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "p": float(self.p),
            "seed": self.seed,
            "autapses": self.autapses,
            "recurrent": self.recurrent,
        }


@dataclass(frozen=True)
class FixedInDegree(_RandomRule):
    """Each target neuron receives from ``k`` distinct source neurons, uniformly drawn once
    from ``seed``. ``autapses``: allow ``i -> i`` for a projection onto its own source."""

    kind: ClassVar[str] = "fixed_in_degree"
    k: int = 1
    seed: int = 0
    autapses: bool = False
    recurrent: bool = False

    def __post_init__(self) -> None:
        _count(self.k, "k (the in-degree)")

    def check(self, n_pre: int, n_post: int) -> None:
        choices = n_pre - (1 if self.recurrent and not self.autapses else 0)
        if self.k > choices:
            raise InputError(
                f"FixedInDegree k = {self.k} exceeds the {choices} possible senders "
                f"(source size {n_pre}{', no autapses' if choices < n_pre else ''}). "
                "Lower k or enlarge the source population."
            )

    def weight_shape(self, n_pre: int, n_post: int) -> tuple[int, ...]:
        return (n_post * self.k,)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "k": self.k,
            "seed": self.seed,
            "autapses": self.autapses,
            "recurrent": self.recurrent,
        }


_DRAWN: dict[tuple[Any, ...], SynapseArrays] = {}


def _drawn(rule: Probability | FixedInDegree, n_pre: int, n_post: int) -> SynapseArrays:
    """The synapses of a random rule, sorted by pre, then post (drawn once per process)."""
    key = (repr(rule), n_pre, n_post)
    if key not in _DRAWN:
        rule.check(n_pre, n_post)
        skip_self = rule.recurrent and not rule.autapses
        if isinstance(rule, FixedInDegree):
            pre, post = random_in_degree(n_pre, n_post, rule.k, rule.seed, skip_self)
        else:
            pre, post = random_pairs(n_pre, n_post, float(rule.p), rule.seed, skip_self)
        _DRAWN[key] = SynapseArrays(n_pre, n_post, pre, post, np.arange(len(pre)), None)
    return _DRAWN[key]


def random_pairs(
    n_pre: int, n_post: int, p: float, seed: int, skip_self: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Each ordered pair connected with probability ``p``; ``(pre, post)`` sorted by pre, post.
    ``skip_self``: no ``i -> i`` (a population onto itself)."""
    rng = np.random.default_rng(seed)
    choices = n_post - 1 if skip_self else n_post
    counts = rng.binomial(choices, p, size=n_pre)
    rows, values = _distinct_per_row(rng, counts, choices)
    if skip_self:  # values in [0, n-1) skip the row's own neuron
        values += values >= rows
    order = np.lexsort((values, rows))
    return rows[order], values[order]


def random_in_degree(
    n_pre: int, n_post: int, k: int, seed: int, skip_self: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Each target receives ``k`` distinct senders; ``(pre, post)`` sorted by pre, then post."""
    rng = np.random.default_rng(seed)
    choices = n_pre - 1 if skip_self else n_pre
    rows, values = _distinct_per_row(rng, np.full(n_post, k, dtype=np.int64), choices)
    if skip_self:
        values += values >= rows
    post, pre = rows, values
    order = np.lexsort((post, pre))
    return pre[order], post[order]


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
    values[index] = rng.integers(0, max(choices, 1), size=len(index))
    while len(index):
        order = np.lexsort((values, rows))
        same = (rows[order][1:] == rows[order][:-1]) & (values[order][1:] == values[order][:-1])
        index = order[1:][same]
        values[index] = rng.integers(0, choices, size=len(index))
    return rows, values


# -- images: convolution and pooling ---------------------------------------------------------
def _shape(value: Any, what: str) -> tuple[int, int, int]:
    shape = tuple(int(v) for v in value)
    if len(shape) != 3 or min(shape) < 1:
        raise InputError(
            f"{what} must be (channels, height, width) of positive sizes, got {value!r}."
        )
    return shape[0], shape[1], shape[2]


def _pair(value: int | Sequence[int], what: str) -> tuple[int, int]:
    pair = (int(value), int(value)) if isinstance(value, int | np.integer) else tuple(value)
    if len(pair) != 2 or min(pair) < 0:
        raise InputError(f"{what} must be an integer or a pair of integers >= 0, got {value!r}.")
    return int(pair[0]), int(pair[1])


@dataclass(frozen=True)
class Conv2d(Connectivity):
    """A 2-d convolution (cross-correlation, as ``torch.nn.functional.conv2d``) of a source
    image ``in_shape = (C_in, H, W)`` onto ``C_out`` maps; weights ``[C_out, C_in, k_h, k_w]``.
    Synapse order: by output neuron ``(c, y, x)``, then input channel, kernel row, column."""

    kind: ClassVar[str] = "conv2d"
    in_shape: tuple[int, int, int] = (1, 1, 1)
    out_channels: int = 1
    kernel_size: tuple[int, int] = (3, 3)
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)

    def __post_init__(self) -> None:
        object.__setattr__(self, "in_shape", _shape(self.in_shape, "Conv2d in_shape"))
        object.__setattr__(self, "kernel_size", _pair(self.kernel_size, "kernel_size"))
        object.__setattr__(self, "stride", _pair(self.stride, "stride"))
        object.__setattr__(self, "padding", _pair(self.padding, "padding"))
        if min(self.kernel_size) < 1 or min(self.stride) < 1:
            raise InputError("Conv2d kernel_size and stride must be at least 1.")
        _count(self.out_channels, "out_channels")

    @property
    def out_shape(self) -> tuple[int, int, int]:
        _, h, w = self.in_shape
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        return (self.out_channels, (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1)

    def check(self, n_pre: int, n_post: int) -> None:
        _check_sizes(self, self.in_shape, self.out_shape, n_pre, n_post)

    def weight_shape(self, n_pre: int, n_post: int) -> tuple[int, ...]:
        return (self.out_channels, self.in_shape[0], *self.kernel_size)

    @cached_property
    def _synapses(self) -> SynapseArrays:
        c_in, h, w = self.in_shape
        c_out, oh, ow = self.out_shape
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        co, oy, ox, ci, dy, dx = (
            a.ravel()
            for a in np.meshgrid(
                np.arange(c_out),
                np.arange(oh),
                np.arange(ow),
                np.arange(c_in),
                np.arange(kh),
                np.arange(kw),
                indexing="ij",
            )
        )
        iy, ix = oy * sh - ph + dy, ox * sw - pw + dx
        ok = (iy >= 0) & (iy < h) & (ix >= 0) & (ix < w)
        pre = (ci[ok] * h + iy[ok]) * w + ix[ok]
        post = (co[ok] * oh + oy[ok]) * ow + ox[ok]
        index = ((co[ok] * c_in + ci[ok]) * kh + dy[ok]) * kw + dx[ok]
        n_pre, n_post = c_in * h * w, c_out * oh * ow
        return SynapseArrays(n_pre, n_post, pre, post, index, None)

    def synapses(self, n_pre: int, n_post: int) -> SynapseArrays:
        return self._synapses

    def apply(self, x: Tensor, weight: Tensor | None, n_post: int) -> Tensor:
        assert weight is not None
        batch = x.shape[:-1]
        image = x.reshape(-1, *self.in_shape)
        out = F.conv2d(image, weight, stride=self.stride, padding=self.padding)
        return out.reshape(*batch, n_post)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "in_shape": list(self.in_shape),
            "out_channels": self.out_channels,
            "kernel_size": list(self.kernel_size),
            "stride": list(self.stride),
            "padding": list(self.padding),
        }


@dataclass(frozen=True)
class Pool2d(Connectivity):
    """Average (``mode="avg"``, weight ``1/(k_h k_w)``) or sum (``"sum"``, weight 1) pooling of
    an image ``in_shape = (C, H, W)`` over ``kernel_size`` windows with ``stride`` (default:
    the kernel size). Fixed weights: no parameter. Synapse order: by output neuron, then
    window row, column."""

    kind: ClassVar[str] = "pool2d"
    in_shape: tuple[int, int, int] = (1, 1, 1)
    kernel_size: tuple[int, int] = (2, 2)
    stride: tuple[int, int] | None = None
    mode: str = "avg"

    def __post_init__(self) -> None:
        object.__setattr__(self, "in_shape", _shape(self.in_shape, "Pool2d in_shape"))
        object.__setattr__(self, "kernel_size", _pair(self.kernel_size, "kernel_size"))
        stride = self.kernel_size if self.stride is None else _pair(self.stride, "stride")
        object.__setattr__(self, "stride", stride)
        if self.mode not in ("avg", "sum"):
            raise InputError(f"Pool2d mode must be 'avg' or 'sum', got {self.mode!r}.")
        if min(self.kernel_size) < 1 or min(stride) < 1:
            raise InputError("Pool2d kernel_size and stride must be at least 1.")

    @property
    def out_shape(self) -> tuple[int, int, int]:
        c, h, w = self.in_shape
        (kh, kw), (sh, sw) = self.kernel_size, self.stride or self.kernel_size
        return (c, (h - kh) // sh + 1, (w - kw) // sw + 1)

    def check(self, n_pre: int, n_post: int) -> None:
        _check_sizes(self, self.in_shape, self.out_shape, n_pre, n_post)

    def weight_shape(self, n_pre: int, n_post: int) -> None:
        return None

    @cached_property
    def _synapses(self) -> SynapseArrays:
        c, h, w = self.in_shape
        _, oh, ow = self.out_shape
        (kh, kw), (sh, sw) = self.kernel_size, self.stride or self.kernel_size
        cc, oy, ox, dy, dx = (
            a.ravel()
            for a in np.meshgrid(
                np.arange(c),
                np.arange(oh),
                np.arange(ow),
                np.arange(kh),
                np.arange(kw),
                indexing="ij",
            )
        )
        pre = (cc * h + oy * sh + dy) * w + ox * sw + dx
        post = (cc * oh + oy) * ow + ox
        scale = np.full(len(pre), 1.0 / (kh * kw) if self.mode == "avg" else 1.0)
        return SynapseArrays(c * h * w, c * oh * ow, pre, post, None, scale)

    def synapses(self, n_pre: int, n_post: int) -> SynapseArrays:
        return self._synapses

    def apply(self, x: Tensor, weight: Tensor | None, n_post: int) -> Tensor:
        batch = x.shape[:-1]
        image = x.reshape(-1, *self.in_shape)
        stride = self.stride or self.kernel_size
        out = F.avg_pool2d(image, self.kernel_size, stride)
        if self.mode == "sum":
            out = out * (self.kernel_size[0] * self.kernel_size[1])
        return out.reshape(*batch, n_post)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "in_shape": list(self.in_shape),
            "kernel_size": list(self.kernel_size),
            "stride": list(self.stride or self.kernel_size),
            "mode": self.mode,
        }


def _check_sizes(
    kind: Connectivity,
    in_shape: tuple[int, ...],
    out_shape: tuple[int, ...],
    n_pre: int,
    n_post: int,
) -> None:
    if math.prod(in_shape) != n_pre:
        raise InputError(
            f"{type(kind).__name__} reads an image of shape {in_shape} ({math.prod(in_shape)} "
            f"neurons), but the source has {n_pre}. Give the source the shape {in_shape}."
        )
    if math.prod(out_shape) != n_post:
        raise InputError(
            f"{type(kind).__name__} makes maps of shape {out_shape} ({math.prod(out_shape)} "
            f"neurons), but the target has {n_post}. Give the target the shape {out_shape}."
        )


@dataclass(frozen=True)
class Chain(Connectivity):
    """Linear maps applied in turn (e.g. ``Chain((Pool2d(...), Conv2d(...)))``: the paper's
    pool-then-convolve projection). At most one map has weights; a synapse of the chain is
    one path through the intermediate neurons (its weight the product along the path)."""

    kind: ClassVar[str] = "chain"
    maps: tuple[Connectivity, ...] = ()

    def __post_init__(self) -> None:
        if len(self.maps) < 2:
            raise InputError("Chain needs at least two maps.")
        for part in self.maps:
            if isinstance(part, Chain) or not part.structured:
                raise InputError(
                    "A Chain is made of Dense, OneToOne, Conv2d and Pool2d maps; got "
                    f"{type(part).__name__}."
                )
        weighted = [m for m in self.maps if not isinstance(m, Pool2d)]
        if len(weighted) > 1:
            raise InputError(
                "A Chain may hold one map with weights (the others fixed pooling); got "
                f"{len(weighted)}. Use separate projections through a population instead."
            )

    def _sizes(self, n_pre: int, n_post: int) -> list[int]:
        sizes = [n_pre]
        for part in self.maps[:-1]:
            shape = getattr(part, "out_shape", None)
            if shape is None:
                raise InputError(
                    f"In a Chain, {type(part).__name__} must be followed by a map whose input "
                    "size it fixes; put Dense/OneToOne last."
                )
            sizes.append(math.prod(shape))
        sizes.append(n_post)
        return sizes

    def check(self, n_pre: int, n_post: int) -> None:
        sizes = self._sizes(n_pre, n_post)
        for part, (a, b) in zip(self.maps, itertools.pairwise(sizes), strict=True):
            part.check(a, b)

    def weight_shape(self, n_pre: int, n_post: int) -> tuple[int, ...] | None:
        sizes = self._sizes(n_pre, n_post)
        for k, part in enumerate(self.maps):
            shape = part.weight_shape(sizes[k], sizes[k + 1])
            if shape is not None:
                return shape
        return None

    def synapses(self, n_pre: int, n_post: int) -> SynapseArrays:
        sizes = self._sizes(n_pre, n_post)
        result = self.maps[0].synapses(sizes[0], sizes[1])
        for k, part in enumerate(self.maps[1:], start=1):
            result = _compose(result, part.synapses(sizes[k], sizes[k + 1]))
        return result

    def apply(self, x: Tensor, weight: Tensor | None, n_post: int) -> Tensor:
        sizes = self._sizes(x.shape[-1], n_post)
        for k, part in enumerate(self.maps):
            w = weight if part.weight_shape(sizes[k], sizes[k + 1]) is not None else None
            x = part.apply(x, w, sizes[k + 1])
        return x

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "maps": [m.to_dict() for m in self.maps]}


def _compose(first: SynapseArrays, second: SynapseArrays) -> SynapseArrays:
    """Paths ``a -> b -> c`` of two synapse lists, ordered by the second's synapse order, then
    the first's (a synapse per path; weights multiply; at most one side has an index)."""
    by_mid = np.argsort(first.post, kind="stable")
    counts = np.bincount(first.post, minlength=first.n_post)
    starts = np.concatenate([[0], np.cumsum(counts)])
    n_paths = counts[second.pre]
    second_of_path = np.repeat(np.arange(second.size), n_paths)
    offsets = np.arange(len(second_of_path)) - np.repeat(np.cumsum(n_paths) - n_paths, n_paths)
    first_of_path = by_mid[starts[second.pre][second_of_path] + offsets]
    if first.weight_index is not None and second.weight_index is not None:
        raise InputError("A Chain may hold one map with weights.")
    index = (
        first.weight_index[first_of_path]
        if first.weight_index is not None
        else (second.weight_index[second_of_path] if second.weight_index is not None else None)
    )
    scale: np.ndarray | None = None
    for arrays, path in ((first, first_of_path), (second, second_of_path)):
        if arrays.weight_scale is not None:
            part = arrays.weight_scale[path]
            scale = part if scale is None else scale * part
    return SynapseArrays(
        first.n_pre,
        second.n_post,
        first.pre[first_of_path],
        second.post[second_of_path],
        index,
        scale,
    )


@dataclass(frozen=True)
class ChannelBias(Connectivity):
    """One source unit onto every neuron of a ``shape = (C, H, W)`` target, each with its
    channel's weight (weights ``[C]``): a convolution's bias as a drive from a constant
    source. Synapse order: by target neuron."""

    kind: ClassVar[str] = "channel_bias"
    shape: tuple[int, int, int] = (1, 1, 1)

    def __post_init__(self) -> None:
        object.__setattr__(self, "shape", _shape(self.shape, "ChannelBias shape"))

    def check(self, n_pre: int, n_post: int) -> None:
        if n_pre != 1:
            raise InputError(f"ChannelBias reads one source unit (a ConstantSource), got {n_pre}.")
        if math.prod(self.shape) != n_post:
            raise InputError(
                f"ChannelBias drives maps of shape {self.shape} ({math.prod(self.shape)} "
                f"neurons), but the target has {n_post}."
            )

    def weight_shape(self, n_pre: int, n_post: int) -> tuple[int, ...]:
        return (self.shape[0],)

    @cached_property
    def _synapses(self) -> SynapseArrays:
        n = math.prod(self.shape)
        post = np.arange(n, dtype=np.int64)
        channel = post // (self.shape[1] * self.shape[2])
        return SynapseArrays(1, n, np.zeros(n, dtype=np.int64), post, channel, None)

    def synapses(self, n_pre: int, n_post: int) -> SynapseArrays:
        return self._synapses

    def apply(self, x: Tensor, weight: Tensor | None, n_post: int) -> Tensor:
        assert weight is not None
        per_neuron = weight.repeat_interleave(self.shape[1] * self.shape[2])
        return x[..., :1] * per_neuron

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "shape": list(self.shape)}


# -- file form -----------------------------------------------------------------------------
KINDS: dict[str, type[Connectivity]] = {
    cls.kind: cls
    for cls in (
        Dense,
        OneToOne,
        Sparse,
        Probability,
        FixedInDegree,
        Conv2d,
        Pool2d,
        Chain,
        ChannelBias,
    )
}


def connectivity_from_dict(
    data: Mapping[str, Any], arrays: Mapping[str, np.ndarray]
) -> Connectivity:
    """Rebuild a connectivity from :meth:`Connectivity.to_dict` and its :meth:`arrays`."""
    kind = data.get("kind")
    if kind not in KINDS:
        raise InputError(f"Unknown connectivity kind {kind!r}; known: {', '.join(KINDS)}.")
    fields = {k: v for k, v in data.items() if k != "kind"}
    if kind == "chain":
        return Chain(tuple(connectivity_from_dict(m, {}) for m in fields["maps"]))
    if kind == "sparse":
        return Sparse(np.asarray(arrays["i"]), np.asarray(arrays["j"]))
    for key in ("in_shape", "kernel_size", "stride", "padding", "shape"):
        if key in fields and fields[key] is not None:
            fields[key] = tuple(fields[key])
    return KINDS[kind](**fields)
