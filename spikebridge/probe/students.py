"""The probe's students: causal TCNs that predict a teacher neuron from its input spikes.

After Beniaguev, Segev & London (Neuron 2021), "Single cortical neurons as deep artificial
neural networks". All arrays are in 1-ms bins (:class:`ProbeData`): binary input spike
trains ``x[s, i, t]`` (simulation ``s``, synapse ``i``), the teacher's output spikes
``y[s, t]`` and its somatic voltage ``v[s, t]`` in mV.

A student (:class:`StudentSpec`, :class:`TCN`) of depth ``D``, width ``W`` and kernels
``K_1 .. K_D`` (ms) computes, with ``h_0 = x`` and ``h_{l-1}[., t] = 0`` for ``t < 0``::

    h_l[c, t] = φ(BN_l(b_l[c] + Σ_c' Σ_{j=0}^{K_l-1} w_l[c, c', j] h_{l-1}[c', t - j]))
    logit[t]  = a · h_D[:, t] + a_0          (a_0 starts at -2.5: spikes are rare)
    soma[t]   = m · h_D[:, t] + m_0          (the standardised soma, (v - μ) / σ)

with ``φ`` = ReLU (the identity for a ``linear`` student) and ``BN_l`` a BatchNorm1d, so the
output at ``t`` depends on inputs at ``t' <= t`` only, over the receptive field
``R = 1 + Σ_l (K_l - 1)`` bins. The convolutions are computed by FFT
(:func:`causal_conv`, equal to ``nn.Conv1d`` on the left-padded input to float32 rounding
and, for 100 input channels and an 80-ms kernel, measured 5-7x faster than torch's CPU
``conv1d`` forward and backward). BatchNorm matters: without it, with rare positives, Adam
tends to converge to an inverted spike head (validation AUC near 0).

Training (:func:`fit_student`) draws batches of random ``window_ms`` windows of random
training simulations from a ``torch.Generator`` seeded ``config.seed`` and minimises, over
every bin of a window but its first ``R - 1`` (where the causal padding shows zeros instead
of the real history)::

    L = BCEWithLogits_{pos_weight}(logit, y) + soma_weight · MSE(soma, (v - μ) / σ)

with ``μ``, ``σ`` the training soma's mean and standard deviation and ``pos_weight`` the
training set's ``#negative / #positive`` bins clipped to [1, 30] unless given (30 is the
weight the I&F probe was calibrated with; teachers fire in well under 3 % of bins). Every
``eval_every`` steps (and at the last) the student runs over each whole validation
simulation; the first ``burn_in_ms`` bins are dropped and the spike AUC is pooled over the
rest. Training stops after ``patience`` evaluations without an AUC gain above
``min_delta`` and keeps the best evaluated state. The metrics (scikit-learn) are::

    spike_auc        roc_auc_score(y, logit)        pooled over bins and simulations
    soma_ev_percent  100 · explained_variance_score(v, σ · soma + μ)
    soma_rmse_mv     sqrt(mean((σ · soma + μ - v)²))

A student's *functional depth* (:func:`functional_depth`) is the smallest depth whose AUC
is within ``tolerance`` of the best over the depths tried: ``D* = min{d : AUC_d >= max AUC
- tolerance}``.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import (  # type: ignore[import-untyped, unused-ignore]
    explained_variance_score,
    roc_auc_score,
)
from torch import Tensor, nn
from tqdm.auto import tqdm

from ..errors import InputError
from ..io import write_atomic

CHECKPOINT_FORMAT = "spikebridge-probe-student"
CHECKPOINT_VERSION = 1
#: The initial bias of the spike head: sigmoid(-2.5) ≈ 0.08, a rare event.
SPIKE_BIAS = -2.5
#: Bins per forward pass in evaluation (simulations are processed in chunks of this size).
_EVAL_CHUNK = 4_000_000


# ---------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------


def _is_binary(array: np.ndarray) -> bool:
    if array.dtype == np.bool_:
        return True
    if not np.issubdtype(array.dtype, np.integer):
        return False
    return bool(array.size == 0 or (array.min() >= 0 and array.max() <= 1))


@dataclass(frozen=True, eq=False)
class ProbeData:
    """A teacher's data set in 1-ms bins.

    ``inputs`` [sims, n_syn, T] and ``spikes`` [sims, T] are binary (bool or integers 0/1:
    1 = a spike in that bin); ``soma`` [sims, T] is the somatic voltage in mV (float,
    finite; already clipped by the teacher side).
    """

    inputs: np.ndarray
    spikes: np.ndarray
    soma: np.ndarray

    def __post_init__(self) -> None:
        inputs, spikes, soma = (np.asarray(a) for a in (self.inputs, self.spikes, self.soma))
        if inputs.ndim != 3:
            raise InputError(
                f"ProbeData.inputs has shape {inputs.shape}; it must be [sims, n_syn, T] "
                "(3-D). Add the missing axis, e.g. inputs[None] for a single simulation."
            )
        sims, n_syn, duration = inputs.shape
        if sims == 0 or n_syn == 0 or duration == 0:
            raise InputError(
                f"ProbeData.inputs has shape {inputs.shape}; every axis needs at least one "
                "entry (simulations, synapses, 1-ms bins)."
            )
        for name, array in (("spikes", spikes), ("soma", soma)):
            if array.shape != (sims, duration):
                raise InputError(
                    f"ProbeData.{name} has shape {array.shape}; with inputs of shape "
                    f"{inputs.shape} it must be [sims, T] = {(sims, duration)}. Pass one row "
                    "per simulation, in the same 1-ms bins as the inputs."
                )
        for name, array in (("inputs", inputs), ("spikes", spikes)):
            if not _is_binary(array):
                raise InputError(
                    f"ProbeData.{name} must be binary spike trains (bool or integers 0/1 per "
                    f"1-ms bin); got dtype {array.dtype}. Bin the spike times into 1-ms bins "
                    "and cast with .astype(np.uint8) (clip counts above 1 to 1)."
                )
        if not np.issubdtype(soma.dtype, np.floating):
            raise InputError(
                f"ProbeData.soma must be a float array of voltages in mV; got dtype "
                f"{soma.dtype}. Cast it with .astype(np.float32)."
            )
        if not np.all(np.isfinite(soma)):
            raise InputError(
                "ProbeData.soma holds NaN or infinite values; clip or drop the simulations "
                "where the teacher's voltage diverged."
            )
        object.__setattr__(self, "inputs", inputs)
        object.__setattr__(self, "spikes", spikes)
        object.__setattr__(self, "soma", soma)

    @property
    def n_sims(self) -> int:
        return int(self.inputs.shape[0])

    @property
    def n_syn(self) -> int:
        return int(self.inputs.shape[1])

    @property
    def duration_ms(self) -> int:
        return int(self.inputs.shape[2])


# ---------------------------------------------------------------------------------------
# Model
# ---------------------------------------------------------------------------------------


def _positive_int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InputError(f"{what} must be a positive integer; got {value!r}.")
    return int(value)


@dataclass(frozen=True)
class StudentSpec:
    """The architecture of a TCN student: ``depth`` causal conv layers of ``width`` units,
    ``kernels[l]`` ms long, ReLU after each unless ``linear``."""

    depth: int
    width: int
    kernels: tuple[int, ...]
    linear: bool = False

    def __post_init__(self) -> None:
        _positive_int(self.depth, "StudentSpec.depth")
        _positive_int(self.width, "StudentSpec.width")
        kernels = tuple(
            _positive_int(k, f"StudentSpec.kernels[{i}]") for i, k in enumerate(self.kernels)
        )
        if len(kernels) != self.depth:
            raise InputError(
                f"StudentSpec has depth {self.depth} but {len(kernels)} kernels {kernels}; give "
                "one temporal kernel length (ms) per layer, or use StudentSpec.sweep(depth)."
            )
        object.__setattr__(self, "kernels", kernels)
        object.__setattr__(self, "linear", bool(self.linear))

    @classmethod
    def paper_if(cls) -> StudentSpec:
        """The paper's integrate-and-fire student: one linear unit with an 80-ms kernel."""
        return cls(depth=1, width=1, kernels=(80,), linear=True)

    @classmethod
    def sweep(
        cls, depth: int, width: int = 16, extent: int = 80, *, linear: bool = False
    ) -> StudentSpec:
        """A student of the depth sweep: the kernels share a temporal ``extent`` (ms).

        Depth 1 gets ``(extent,)``; depth ``d > 1`` gets a first kernel of ``extent // 2``
        and ``d - 1`` kernels of ``max(2, (extent - extent // 2) // (d - 1))`` each, so
        with ``extent=80``: depth 2 -> (40, 40), depth 3 -> (40, 20, 20), depth 5 -> (40,
        10, 10, 10, 10).
        """
        depth = _positive_int(depth, "depth")
        extent = _positive_int(extent, "extent")
        if depth == 1:
            return cls(depth=1, width=width, kernels=(extent,), linear=linear)
        if extent < 2:
            raise InputError(f"extent must be at least 2 ms for depth {depth}; got {extent}.")
        first = extent // 2
        rest = max(2, (extent - first) // (depth - 1))
        return cls(
            depth=depth, width=width, kernels=(first,) + (rest,) * (depth - 1), linear=linear
        )

    @property
    def receptive_field(self) -> int:
        """Bins of input history (the current one included) an output depends on."""
        return 1 + sum(k - 1 for k in self.kernels)

    @property
    def name(self) -> str:
        """E.g. ``d2-w16-k40.40``, with ``-linear`` appended for a linear student."""
        kernels = ".".join(str(k) for k in self.kernels)
        return f"d{self.depth}-w{self.width}-k{kernels}" + ("-linear" if self.linear else "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "depth": self.depth,
            "width": self.width,
            "kernels": list(self.kernels),
            "linear": self.linear,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StudentSpec:
        unknown = set(data) - {"depth", "width", "kernels", "linear"}
        if unknown:
            raise InputError(
                f"Unknown StudentSpec field(s) {sorted(unknown)}; the fields are depth, width, "
                "kernels and linear."
            )
        try:
            return cls(
                depth=data["depth"],
                width=data["width"],
                kernels=tuple(data["kernels"]),
                linear=data.get("linear", False),
            )
        except KeyError as exc:
            raise InputError(
                f"StudentSpec data lacks the field {exc.args[0]!r}; give depth, width and kernels."
            ) from exc


def parameter_count(spec: StudentSpec, n_syn: int) -> int:
    """Trainable parameters of ``TCN(spec, n_syn)``: per layer ``c_in · W · K + W`` (conv)
    ``+ 2 W`` (BatchNorm), plus ``2 (W + 1)`` for the two heads."""
    n_syn = _positive_int(n_syn, "n_syn")
    total, channels = 0, n_syn
    for k in spec.kernels:
        total += channels * spec.width * k + spec.width + 2 * spec.width
        channels = spec.width
    return total + 2 * (spec.width + 1)


def causal_conv(h: Tensor, conv: nn.Conv1d) -> Tensor:
    """``conv`` applied causally: ``conv(F.pad(h, (K - 1, 0)))`` for ``h`` [batch, C, T],
    computed as a product of real FFTs of length ``T + K - 1`` (no wrap-around)."""
    kernel = conv.weight.shape[-1]
    duration = h.shape[-1]
    n = duration + kernel - 1
    spectrum = torch.einsum(
        "bcf,ocf->bof",
        torch.fft.rfft(h, n=n),
        torch.fft.rfft(torch.flip(conv.weight, (-1,)), n=n),
    )
    out = torch.fft.irfft(spectrum, n=n)[..., :duration]
    return out if conv.bias is None else out + conv.bias[:, None]


class TCN(nn.Module):
    """A causal temporal convolutional network: inputs [batch, n_syn, T] (float) ->
    (spike logits [batch, T], standardised soma [batch, T])."""

    def __init__(self, spec: StudentSpec, n_syn: int) -> None:
        super().__init__()
        self.spec = spec
        self.n_syn = _positive_int(n_syn, "n_syn")
        self.convs = nn.ModuleList()
        self.norms = nn.ModuleList()
        channels = self.n_syn
        for k in spec.kernels:
            self.convs.append(nn.Conv1d(channels, spec.width, k))
            self.norms.append(nn.BatchNorm1d(spec.width))
            channels = spec.width
        self.spike_head = nn.Conv1d(spec.width, 1, 1)
        self.soma_head = nn.Conv1d(spec.width, 1, 1)
        assert self.spike_head.bias is not None
        nn.init.constant_(self.spike_head.bias, SPIKE_BIAS)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        if x.ndim != 3 or x.shape[1] != self.n_syn:
            raise InputError(
                f"The student takes inputs of shape [batch, {self.n_syn}, T]; got "
                f"{tuple(x.shape)}. Pass one row per synapse, in the order it was trained on."
            )
        h = x
        for conv, norm in zip(self.convs, self.norms, strict=True):
            assert isinstance(conv, nn.Conv1d)
            h = norm(causal_conv(h, conv))  # causal: zeros before t = 0
            if not self.spec.linear:
                h = F.relu(h)
        return self.spike_head(h)[:, 0], self.soma_head(h)[:, 0]


def _build(spec: StudentSpec, n_syn: int, seed: int) -> TCN:
    """``TCN(spec, n_syn)`` initialised from ``seed``, leaving the global RNG alone."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return TCN(spec, n_syn)


# ---------------------------------------------------------------------------------------
# Metrics
# ---------------------------------------------------------------------------------------


def _require_both_classes(spikes: np.ndarray, what: str) -> None:
    positives = int(np.count_nonzero(spikes))
    if positives == 0 or positives == spikes.size:
        kind = "no spike" if positives == 0 else "a spike in every bin"
        raise InputError(
            f"The {what} data has {kind} in its {spikes.size} evaluated bins; the spike AUC "
            "needs both spike and silent bins. Use more or longer simulations, or stronger "
            "input, so that the teacher fires (but not in every bin)."
        )


def _check_burn_in(data: ProbeData, burn_in_ms: int, what: str) -> None:
    if isinstance(burn_in_ms, bool) or not isinstance(burn_in_ms, (int, np.integer)):
        raise InputError(f"burn_in_ms must be an integer number of bins; got {burn_in_ms!r}.")
    if not 0 <= burn_in_ms < data.duration_ms:
        raise InputError(
            f"burn_in_ms={burn_in_ms} leaves nothing of the {what} simulations of "
            f"{data.duration_ms} ms to evaluate; lower burn_in_ms or simulate longer."
        )


def _run(model: TCN, inputs: np.ndarray, device: str | torch.device) -> tuple[Any, Any]:
    """The model (eval mode, no gradients) over whole simulations: float64 logits and the
    float64 standardised soma, each [sims, T]."""
    sims, n_syn, duration = inputs.shape
    chunk = max(1, _EVAL_CHUNK // max(1, n_syn * duration))
    logits, soma = [], []
    model.eval()
    with torch.no_grad():
        for a in range(0, sims, chunk):
            x = torch.from_numpy(np.ascontiguousarray(inputs[a : a + chunk], dtype=np.float32))
            out_logits, out_soma = model(x.to(device))
            logits.append(out_logits.double().cpu().numpy())
            soma.append(out_soma.double().cpu().numpy())
    return np.concatenate(logits), np.concatenate(soma)


def _auc(spikes: np.ndarray, logits: np.ndarray) -> float:
    # On the logits: the sigmoid rounds large ones to 1.0 in float64, which would make ties.
    return float(roc_auc_score(spikes.ravel().astype(np.int64), logits.ravel()))


def _metrics(
    data: ProbeData, logits: np.ndarray, soma_mv: np.ndarray, burn_in: int
) -> dict[str, float]:
    spikes = data.spikes[:, burn_in:]
    _require_both_classes(spikes, "evaluation")
    truth = data.soma[:, burn_in:].astype(np.float64).ravel()
    predicted = soma_mv[:, burn_in:].ravel()
    return {
        "spike_auc": _auc(spikes, logits[:, burn_in:]),
        "soma_ev_percent": 100.0 * float(explained_variance_score(truth, predicted)),
        "soma_rmse_mv": float(np.sqrt(np.mean((predicted - truth) ** 2))),
    }


# ---------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StudentConfig:
    """How a student is trained (see the module docstring)."""

    window_ms: int = 500
    batch: int = 32
    lr: float = 3e-3
    max_steps: int = 1500
    eval_every: int = 100
    patience: int = 4
    soma_weight: float = 0.02
    #: None: the training set's #negative / #positive bins, clipped to [1, 30].
    pos_weight: float | None = None
    burn_in_ms: int = 500
    seed: int = 0
    #: The validation-AUC gain an evaluation must exceed to count as an improvement.
    min_delta: float = 1e-4

    def __post_init__(self) -> None:
        for name in ("window_ms", "batch", "max_steps", "eval_every", "patience"):
            _positive_int(getattr(self, name), f"StudentConfig.{name}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise InputError(f"StudentConfig.seed must be an integer >= 0; got {self.seed!r}.")
        if isinstance(self.burn_in_ms, bool) or not isinstance(self.burn_in_ms, int):
            raise InputError(
                f"StudentConfig.burn_in_ms must be an integer; got {self.burn_in_ms!r}."
            )
        if self.burn_in_ms < 0:
            raise InputError(f"StudentConfig.burn_in_ms must be >= 0; got {self.burn_in_ms}.")
        checks = {
            "lr": (self.lr, self.lr > 0),
            "soma_weight": (self.soma_weight, self.soma_weight >= 0),
            "min_delta": (self.min_delta, self.min_delta >= 0),
        }
        if self.pos_weight is not None:
            checks["pos_weight"] = (self.pos_weight, self.pos_weight > 0)
        for name, (value, ok) in checks.items():
            if not (math.isfinite(value) and ok):
                raise InputError(
                    f"StudentConfig.{name} must be a finite number "
                    f"{'> 0' if name in ('lr', 'pos_weight') else '>= 0'}; got {value!r}."
                )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class FittedStudent:
    """A trained student: its best evaluated weights and how it got there."""

    spec: StudentSpec
    n_syn: int
    state_dict: dict[str, Tensor]
    soma_mean: float
    soma_std: float
    pos_weight: float
    steps: int
    best_step: int
    history: list[dict[str, float]]
    valid: dict[str, float]
    fit_seconds: float
    parameters: int
    config: StudentConfig = field(default_factory=StudentConfig)

    def model(self, device: str | torch.device = "cpu") -> TCN:
        """The trained TCN, in eval mode."""
        model = _build(self.spec, self.n_syn, 0)  # weights replaced; the global RNG untouched
        model.load_state_dict(self.state_dict)
        return model.to(device).eval()

    def _outputs(self, inputs: np.ndarray, device: str | torch.device) -> tuple[Any, Any]:
        inputs = np.asarray(inputs)
        if inputs.ndim != 3 or inputs.shape[1] != self.n_syn:
            raise InputError(
                f"The student takes inputs of shape [sims, {self.n_syn}, T]; got "
                f"{inputs.shape}. Pass one row per synapse, in the order it was trained on."
            )
        logits, soma = _run(self.model(device), inputs, device)
        return logits, soma * self.soma_std + self.soma_mean

    def predict(
        self, inputs: np.ndarray, *, device: str | torch.device = "cpu"
    ) -> tuple[np.ndarray, np.ndarray]:
        """The spike probability per bin and the somatic voltage in mV, each [sims, T]
        (float64), for input spike trains [sims, n_syn, T]."""
        logits, soma_mv = self._outputs(inputs, device)
        return 1.0 / (1.0 + np.exp(-logits)), soma_mv

    def evaluate(
        self, data: ProbeData, burn_in_ms: int = 500, *, device: str | torch.device = "cpu"
    ) -> dict[str, float]:
        """``spike_auc``, ``soma_ev_percent`` and ``soma_rmse_mv`` on ``data``, ignoring the
        first ``burn_in_ms`` bins of each simulation."""
        _check_burn_in(data, burn_in_ms, "evaluation")
        logits, soma_mv = self._outputs(data.inputs, device)
        return _metrics(data, logits, soma_mv, burn_in_ms)


def _save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` to a temporary file next to ``path``, then rename it into place."""

    def write(tmp: Path) -> None:
        torch.save(payload, tmp)

    write_atomic(path, write)


def _load_checkpoint(path: Path) -> dict[str, Any]:
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise InputError(
            f"{path} is not a readable student checkpoint ({type(exc).__name__}: {exc}). It "
            "may be truncated: delete it to train from scratch."
        ) from exc
    if not isinstance(data, dict) or data.get("format") != CHECKPOINT_FORMAT:
        raise InputError(f"{path} is not a {CHECKPOINT_FORMAT} file; pass another checkpoint path.")
    if data.get("version") != CHECKPOINT_VERSION:
        raise InputError(
            f"{path} has student checkpoint version {data.get('version')}; this spikebridge "
            f"reads version {CHECKPOINT_VERSION}. Delete it to train from scratch."
        )
    return data


def _check_resumable(saved: Mapping[str, Any], expected: Mapping[str, Any], path: Path) -> None:
    if saved["spec"] != expected["spec"]:
        raise InputError(
            f"{path} is a checkpoint of student {StudentSpec.from_dict(saved['spec']).name}, "
            f"not {StudentSpec.from_dict(expected['spec']).name}; pass that student's spec, "
            "or another checkpoint path."
        )
    old = {k: v for k, v in saved["config"].items() if k != "max_steps"}
    new = {k: v for k, v in expected["config"].items() if k != "max_steps"}
    if old != new:
        differ = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
        raise InputError(
            f"{path} was trained with other settings ({', '.join(differ)}); only max_steps "
            "may change on resuming. Use the original StudentConfig, or another checkpoint path."
        )
    for key in ("n_syn", "soma_mean", "soma_std", "pos_weight"):
        a, b = saved[key], expected[key]
        if not math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12):
            raise InputError(
                f"{path} was trained on other data ({key} {a} there, {b} now); resume with "
                "the same training set, or use another checkpoint path."
            )


def _check_fit_inputs(
    spec: StudentSpec, train: ProbeData, valid: ProbeData, config: StudentConfig
) -> None:
    if valid.n_syn != train.n_syn:
        raise InputError(
            f"The validation data has {valid.n_syn} synapses and the training data "
            f"{train.n_syn}; both must come from the same teacher and input layout."
        )
    if config.window_ms > train.duration_ms:
        raise InputError(
            f"StudentConfig.window_ms={config.window_ms} is longer than the training "
            f"simulations ({train.duration_ms} ms); lower window_ms or simulate longer."
        )
    if config.window_ms < spec.receptive_field:
        raise InputError(
            f"StudentConfig.window_ms={config.window_ms} leaves no bin with a full history for "
            f"student {spec.name} (receptive field {spec.receptive_field} ms); use a window of "
            f"at least {spec.receptive_field} ms (a few times that is better)."
        )
    _check_burn_in(valid, config.burn_in_ms, "validation")
    _require_both_classes(valid.spikes[:, config.burn_in_ms :], "validation")


def fit_student(
    spec: StudentSpec,
    train: ProbeData,
    valid: ProbeData,
    config: StudentConfig | None = None,
    *,
    checkpoint: str | Path | None = None,
    progress: bool = False,
    device: str | torch.device = "cpu",
) -> FittedStudent:
    """Train a ``spec`` student on ``train``, early-stopped on ``valid``'s spike AUC.

    With ``checkpoint``, the run's state (weights, optimiser, batch generator, step, best
    state, history) is written there atomically at every evaluation, and a run finds it
    there and resumes: a run interrupted at an evaluation step and resumed (also with a
    larger ``max_steps``, the only setting that may change) ends where an uninterrupted one
    ends. A checkpoint of another spec, other settings or other training data is refused.
    A run that stopped early stays stopped.
    """
    config = StudentConfig() if config is None else config
    _check_fit_inputs(spec, train, valid, config)
    began = time.perf_counter()

    positives = int(np.count_nonzero(train.spikes))
    if config.pos_weight is None:
        if positives == 0:
            raise InputError(
                "The training data has no output spike, so pos_weight (#negative / "
                "#positive bins) is undefined; use more or longer simulations, or stronger "
                "input, or give StudentConfig.pos_weight."
            )
        pos_weight = float(np.clip((train.spikes.size - positives) / positives, 1.0, 30.0))
    else:
        pos_weight = float(config.pos_weight)
    soma_mean = float(train.soma.mean(dtype=np.float64))
    soma_std = float(train.soma.std(dtype=np.float64))
    soma_std = soma_std if soma_std > 1e-9 else 1.0  # a constant soma: nothing to scale

    model = _build(spec, train.n_syn, config.seed).to(device)
    optimiser = torch.optim.Adam(model.parameters(), lr=config.lr)
    generator = torch.Generator().manual_seed(config.seed)
    identity = {
        "spec": spec.to_dict(),
        "config": config.to_dict(),
        "n_syn": train.n_syn,
        "soma_mean": soma_mean,
        "soma_std": soma_std,
        "pos_weight": pos_weight,
    }
    step, best_step, stale, done, seconds = 0, 0, 0, False, 0.0
    best_auc = -math.inf
    best_state: dict[str, Tensor] | None = None
    history: list[dict[str, float]] = []
    path = None if checkpoint is None else Path(checkpoint)
    if path is not None and path.exists():
        saved = _load_checkpoint(path)
        _check_resumable(saved, identity, path)
        model.load_state_dict(saved["model"])
        optimiser.load_state_dict(saved["optimizer"])
        generator.set_state(saved["generator"])
        step, best_step, stale = int(saved["step"]), int(saved["best_step"]), int(saved["stale"])
        best_auc, done, seconds = float(saved["best_auc"]), bool(saved["done"]), saved["seconds"]
        best_state = saved["best_state"]
        history = [dict(row) for row in saved["history"]]

    inputs = train.inputs
    targets = torch.from_numpy(train.spikes.astype(np.float32))
    soma_z = torch.from_numpy(((train.soma - soma_mean) / soma_std).astype(np.float32))
    skip = spec.receptive_field - 1
    window = config.window_ms
    bce = nn.BCEWithLogitsLoss(pos_weight=torch.tensor([pos_weight], device=device))
    running, counted = 0.0, 0
    bar = tqdm(
        total=config.max_steps,
        initial=min(step, config.max_steps),
        desc=spec.name,
        disable=not progress,
        leave=False,
    )
    while not done and step < config.max_steps:
        model.train()
        sims = torch.randint(train.n_sims, (config.batch,), generator=generator).tolist()
        starts = torch.randint(
            train.duration_ms - window + 1, (config.batch,), generator=generator
        ).tolist()
        x = torch.from_numpy(
            np.stack([inputs[s, :, a : a + window] for s, a in zip(sims, starts, strict=True)])
        ).to(device, torch.float32)
        y = torch.stack([targets[s, a : a + window] for s, a in zip(sims, starts, strict=True)])
        z = torch.stack([soma_z[s, a : a + window] for s, a in zip(sims, starts, strict=True)])
        logits, soma = model(x)
        loss = bce(logits[:, skip:], y[:, skip:].to(device)) + config.soma_weight * F.mse_loss(
            soma[:, skip:], z[:, skip:].to(device)
        )
        if not torch.isfinite(loss):
            raise FloatingPointError(
                f"The student's loss became {float(loss)} at step {step + 1}; lower "
                "StudentConfig.lr."
            )
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        step += 1
        running, counted = running + float(loss.detach()), counted + 1
        bar.update(1)
        if step % config.eval_every and step != config.max_steps:
            continue
        valid_logits = _run(model, valid.inputs, device)[0]
        auc = _auc(valid.spikes[:, config.burn_in_ms :], valid_logits[:, config.burn_in_ms :])
        history.append({"step": step, "valid_auc": auc, "train_loss": running / counted})
        running, counted = 0.0, 0
        bar.set_postfix(valid_auc=f"{auc:.4f}")
        if auc > best_auc + config.min_delta:
            best_auc, best_step, stale = auc, step, 0
            best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        else:
            stale += 1
            done = stale >= config.patience
        if path is not None:
            now = seconds + time.perf_counter() - began
            payload = {
                "format": CHECKPOINT_FORMAT,
                "version": CHECKPOINT_VERSION,
                **identity,
                "model": model.state_dict(),
                "optimizer": optimiser.state_dict(),
                "generator": generator.get_state(),
                "step": step,
                "best_step": best_step,
                "best_auc": best_auc,
                "best_state": best_state,
                "stale": stale,
                "done": done,
                "seconds": now,
                "history": history,
            }
            _save_checkpoint(path, payload)
    bar.close()
    if best_state is None:  # cannot happen: max_steps >= 1 and the last step is evaluated
        raise RuntimeError("fit_student ended without an evaluated state")

    fitted = FittedStudent(
        spec=spec,
        n_syn=train.n_syn,
        state_dict=copy.deepcopy(best_state),
        soma_mean=soma_mean,
        soma_std=soma_std,
        pos_weight=pos_weight,
        steps=step,
        best_step=best_step,
        history=history,
        valid={},
        fit_seconds=0.0,
        parameters=parameter_count(spec, train.n_syn),
        config=config,
    )
    fitted.valid = fitted.evaluate(valid, config.burn_in_ms, device=device)
    fitted.fit_seconds = seconds + time.perf_counter() - began
    return fitted


# ---------------------------------------------------------------------------------------
# Functional depth
# ---------------------------------------------------------------------------------------


def functional_depth(auc_by_depth: Mapping[int, float], tolerance: float = 0.002) -> int:
    """The smallest depth whose AUC is within ``tolerance`` of the best AUC over the depths
    (the functional depth ``D*`` of Beniaguev et al.): ``min{d : AUC_d >= max AUC - tol}``."""
    if not auc_by_depth:
        raise InputError(
            "functional_depth needs the AUC of at least one depth, e.g. {1: 0.91, 2: 0.97}."
        )
    if isinstance(tolerance, bool) or not (math.isfinite(tolerance) and tolerance >= 0):
        raise InputError(f"tolerance must be a finite number >= 0; got {tolerance!r}.")
    for depth, auc in auc_by_depth.items():
        if isinstance(depth, bool) or not isinstance(depth, (int, np.integer)) or depth < 1:
            raise InputError(
                f"functional_depth got depth {depth!r}; depths are integers >= 1 (the number "
                "of TCN layers)."
            )
        if isinstance(auc, bool) or not (math.isfinite(auc) and 0.0 <= auc <= 1.0):
            raise InputError(
                f"functional_depth got AUC {auc!r} for depth {depth}; an AUC is a finite "
                "number in [0, 1]."
            )
    best = max(auc_by_depth.values())
    # 1e-12: "within" is inclusive, also where best - tolerance rounds below an AUC.
    return int(min(d for d, auc in auc_by_depth.items() if auc >= best - tolerance - 1e-12))
