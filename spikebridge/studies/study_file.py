"""Equivalence study files: a reference, candidates with free parameters, input families,
their split, the metrics and the optimiser, written as TOML and checked on loading.

.. code-block:: toml

    [study]
    name = "lif-to-hh"
    duration = "100 ms"
    input_unit = "uA/cm**2"   # the unit of every input family's values
    sample = "start"           # "start": Brian2's convention; "end": the paper's MATLAB
    engine = "brian2"          # the reference and the evaluation: brian2 or torch
    device = "cpp_standalone"  # its device (fits always run batched on torch)

    [reference]                # a model, or recorded data: recorded = "cell.npz"
    model = "hh"               # a catalogue name or a model file (.py)
    input = "I"                # the parameter the study's current drives (default: the
    gain = "1"                 # model's first input), times gain (unit: input / input_unit)
    parameters = { }           # fixed values, e.g. { E_L = "-65 mV" }

    [[candidates]]
    name = "lif"               # default: the model's name
    model = "lif"
    method = "euler"           # default: the model's declared method
    dt = "0.1 ms"              # default: [study] dt, else the model's declared step
    gain = "1 cm**2"           # a current density drives the LIF's current
    parameters = { t_ref = "0 ms" }
    free.tau_m = { low = "1 ms", high = "100 ms", scale = "log" }
    free.v_th = { low = "-60 mV", high = "-40 mV" }
    free.v_reset = { low = 0.9, high = 1.1, relative_to = "v_th" }   # a multiple of v_th
    # optional, on the reference or a candidate: a second neuron driven by this one, which
    # is then the entry's output (spikebridge.studies.layer_chain)
    # layer2 = { drive = { I = "w * spike * nA" } }       with free.w = { low = 0, high = 5 }

    [[inputs]]                 # one entry per family; levels x seeds conditions each
    family = "ou"              # spikebridge.studies.input_families
    params = { mean = 10.0, sigma = 3.0, tau = 5.0 }
    seeds = [1, 2, 3]
    levels = [1.0]             # scalings of the whole current
    split = "train"            # or "test" (held out)

    [optimiser]
    method = "de"              # "de" (scipy differential evolution), "cma" (pycma) or
                               # "adam" (surrogate gradients on the van Rossum distance:
                               # popsize starts x generations steps; see .gradient_fit)
    popsize = 16
    generations = 30
    seed = 0
    compile = "step"           # the fits' torch simulations: "none" (eager), "step" or
                               # "loop" (torch.compile; see spikebridge.torch.compiled)

    [metrics]
    window_ms = 2.0            # coincidence precision
    van_rossum_tau_ms = 5.0
    timing_weight = 0.05       # loss: count error + timing_weight * gamma error
    loss = "count"             # that loss, or "gamma": the gamma error alone (rate-corrected,
                               # as brian2modelfitting's GammaFactor), or "trace": the mean
                               # squared membrane difference (mV^2) from the reference's

**Recorded references.** ``[reference] recorded = "cell.npz"`` takes the reference from
data instead of a model: ``currents`` (conditions x samples, in ``input_unit``), ``dt_ms``
(their sampling step), ``spike_condition`` and ``spike_time_ms`` (one entry per recorded
spike), ``test`` (the indices of the held-out conditions) and optionally ``voltage``
(conditions x samples, the membrane in mV); the study then has no ``[[inputs]]`` (the
recorded currents are its inputs) and its duration is the recording's. The same from CSV
files: ``recorded = { currents = "I.csv", spikes = "spikes.csv", voltage = "v.csv", dt =
"0.1 ms", test = [3, 4] }``, the currents and voltage one column per condition and one row
per sample, the spikes two columns (condition, time in ms); a first line of names is
skipped. With a recorded voltage (or a model reference) ``[metrics] loss = "trace"`` fits
the membrane instead of the spikes.

Every model runs at its entry's ``dt``, else at ``[study] dt``, else at its declared step; the
inputs are sampled on the finest step of the study and read by a coarser model as the
means over its step (which must be a whole multiple). Values with units are strings such as
``"10 ms"`` or ``"1.5 * uA/cm**2"``, read with Brian2's units only (no other code runs).
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomllib
from brian2 import Quantity, second, volt
from brian2.core.namespace import DEFAULT_UNITS
from brian2.units.fundamentalunits import DIMENSIONLESS, Dimension, get_dimensions

from ..checks import count, index, non_negative, positive
from ..errors import InputError, SpikebridgeError
from ..model import NeuronModel, load_model
from ..units import unit_name
from .input_families import SAMPLING, InputFamily
from .layer_chain import Chain, chain_parameter_names, load_chain

OPTIMISERS = ("de", "cma", "adam")
#: How the fits' torch simulations run: eager, or through torch.compile (step or loop).
COMPILE_MODES = ("none", "step", "loop")
#: Fitting losses: spike-count error plus a weighted gamma error, the gamma error alone
#: (the rate-corrected error model-fitting tools minimise), or the membrane's mean squared
#: difference from the reference's (mV^2).
LOSSES = ("count", "gamma", "trace")
ENGINES = ("brian2", "torch")
_SECTIONS = {"study", "reference", "candidates", "inputs", "optimiser", "metrics"}
_OPS = {ast.Mult: operator.mul, ast.Div: operator.truediv, ast.Pow: operator.pow}


def parse_quantity(value: Any, what: str) -> Any:
    """A number, or a string of a number and Brian2 units (``"10 ms"``, ``"2 * uA/cm**2"``)."""
    if isinstance(value, bool):
        raise InputError(f"{what}: expected a number or a quantity such as '10 ms', got {value}.")
    if isinstance(value, int | float):
        return float(value)
    if not isinstance(value, str):
        raise InputError(f"{what}: expected a number or a quantity string, got {value!r}.")
    text = value.strip()
    head, _, rest = text.partition(" ")
    try:
        number = float(head)
    except ValueError:
        number, rest = 1.0, text
    rest = rest.strip().removeprefix("*").strip()
    if not rest:
        return number
    divide = rest.startswith("/")  # "1 / nA": a value per unit
    try:
        tree = ast.parse(rest.removeprefix("/").strip(), mode="eval")
        unit = _unit(tree.body, what)
        return number / unit if divide else number * unit
    except (SyntaxError, KeyError, TypeError) as exc:
        raise InputError(
            f"{what}: cannot read {value!r} as a number and Brian2 units (e.g. '10 ms', "
            f"'1.5 uA/cm**2'): {exc}"
        ) from None


def _unit(node: ast.AST, what: str) -> Any:
    if isinstance(node, ast.Name):
        if node.id not in DEFAULT_UNITS:
            raise KeyError(f"'{node.id}' is not a Brian2 unit")
        return DEFAULT_UNITS[node.id]
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        return _OPS[type(node.op)](_unit(node.left, what), _unit(node.right, what))
    raise TypeError(f"only unit names, numbers, *, / and ** are allowed, not {ast.dump(node)}")


def _si(value: Any, dim: Dimension, what: str) -> float:
    quantity = parse_quantity(value, what)
    got = get_dimensions(quantity)
    if got is not dim:
        raise InputError(
            f"{what} = {value!r} has units of {unit_name(got)}, but it needs {unit_name(dim)}."
        )
    return float(quantity)


@dataclass(frozen=True)
class FreeParameter:
    """A fitted parameter's search range (SI, or a multiple of ``relative_to``)."""

    name: str
    low: float
    high: float
    log: bool = False
    relative_to: str | None = None


@dataclass(frozen=True)
class ModelEntry:
    """The reference or a candidate: a model, how the study's current drives it, and its
    fixed and free parameters (SI floats)."""

    name: str
    model: NeuronModel
    method: str
    input: str
    gain: float  # SI model input per SI study current
    parameters: Mapping[str, float]
    free: tuple[FreeParameter, ...] = ()
    chain: Chain | None = None  # a layer 2 driven by this neuron (:mod:`.layer_chain`)
    dt_s: float | None = None  # its own step (s), else the study's or the model's

    def dim(self, name: str) -> Dimension:
        """The dimension of a parameter of the model or of the entry's chain."""
        if self.chain is not None and name in self.chain.dims:
            return self.chain.dims[name]
        return self.model.dim(name)

    @property
    def chain_parameters(self) -> frozenset[str]:
        return frozenset(self.chain.dims) if self.chain is not None else frozenset()


@dataclass(frozen=True)
class RecordedReference:
    """A reference from data: per condition the current (study units) and the spike times."""

    name: str
    path: str
    currents: Any  # (conditions, samples) float array, study units
    dt_s: float
    spikes_ms: tuple[Any, ...]  # one sorted float array per condition
    test: tuple[int, ...]
    voltage_mV: Any = None  # (conditions, samples) membrane voltage (mV), if recorded


_RECORDED_KEYS = {"currents", "dt_ms", "spike_condition", "spike_time_ms", "test"}
_CSV_KEYS = {"currents", "spikes", "voltage", "dt", "test"}


def load_recorded(path: Path) -> RecordedReference:
    """Read and check a recorded reference from ``.npz`` (the module docstring lists its
    arrays)."""
    import numpy as np

    if not path.is_file():
        raise InputError(f"reference.recorded: {path} does not exist.")
    try:
        data = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise InputError(f"reference.recorded: {path} is not a .npz file: {exc}") from None
    missing = sorted(_RECORDED_KEYS - set(data.files))
    if missing:
        raise InputError(
            f"reference.recorded: {path} lacks {', '.join(missing)}; it needs "
            f"{', '.join(sorted(_RECORDED_KEYS))} (see spikebridge.studies.study_file)."
        )
    arrays = {k: data[k] for k in data.files}
    return recorded_from_arrays(arrays, path.stem, str(path))


def load_recorded_csv(spec: Mapping[str, Any], base: Path) -> RecordedReference:
    """A recorded reference from CSV files (``[reference] recorded = { currents = ..., spikes
    = ..., voltage = ..., dt = "0.1 ms", test = [...] }``; the module docstring)."""
    import numpy as np

    _only(spec, _CSV_KEYS, "reference.recorded")
    missing = sorted({"currents", "spikes", "dt", "test"} - set(spec))
    if missing:
        raise InputError(
            f"reference.recorded lacks {', '.join(missing)}: a CSV recording names its "
            "currents and spikes files, the sampling step dt and the held-out conditions test."
        )
    paths = {k: _path(spec[k], base) for k in ("currents", "spikes", "voltage") if k in spec}
    currents = _csv(paths["currents"], "currents").T
    spikes = _csv(paths["spikes"], "spikes")
    if spikes.ndim != 2 or spikes.shape[1] != 2:
        raise InputError(
            f"reference.recorded.spikes: {paths['spikes']} must have two columns, the "
            f"condition (0-based column of the currents) and the time in ms; it has shape "
            f"{spikes.shape}."
        )
    which = spikes[:, 0]
    if not np.all(which == np.round(which)):
        raise InputError(
            f"reference.recorded.spikes: the first column of {paths['spikes']} must hold "
            "whole condition numbers."
        )
    arrays: dict[str, Any] = {
        "currents": currents,
        "dt_ms": _si(spec["dt"], second.dim, "reference.recorded.dt") * 1e3,
        "spike_condition": which.astype(int),
        "spike_time_ms": spikes[:, 1],
        "test": np.asarray(spec["test"]),
    }
    if "voltage" in paths:
        arrays["voltage"] = _csv(paths["voltage"], "voltage").T
    return recorded_from_arrays(arrays, paths["currents"].stem, str(paths["currents"]))


def _path(value: Any, base: Path) -> Path:
    path = Path(str(value))
    return path if path.is_absolute() else base / path


def _csv(path: Path, what: str) -> Any:
    """A numeric CSV table (a header line of names is skipped) as a 2-d float array."""
    import numpy as np

    if not path.is_file():
        raise InputError(f"reference.recorded.{what}: {path} does not exist.")
    lines = path.read_text().splitlines()
    first = lines[0].split(",") if lines else []
    try:
        [float(x) for x in first]
        skip = 0
    except ValueError:
        skip = 1
    try:
        table = np.loadtxt(path, delimiter=",", skiprows=skip, ndmin=2)
    except ValueError as exc:
        raise InputError(
            f"reference.recorded.{what}: {path} is not a table of numbers separated by "
            f"commas: {exc}"
        ) from None
    return table


def recorded_from_arrays(arrays: Mapping[str, Any], name: str, source: str) -> RecordedReference:
    """Check a recording's arrays (``currents``, ``dt_ms``, ``spike_condition``,
    ``spike_time_ms``, ``test``, optionally ``voltage``) and make the reference."""
    import numpy as np

    currents = np.asarray(arrays["currents"])
    if currents.ndim != 2 or not np.issubdtype(currents.dtype, np.number):
        raise InputError(
            f"reference.recorded: currents has shape {currents.shape}; it must be "
            "(conditions, samples) numbers."
        )
    if not np.all(np.isfinite(currents)):
        raise InputError("reference.recorded: currents holds NaN or infinite values.")
    conditions = currents.shape[0]
    dt_ms = positive(float(np.asarray(arrays["dt_ms"])), "reference.recorded dt_ms")
    which = np.asarray(arrays["spike_condition"])
    times = np.asarray(arrays["spike_time_ms"], float)
    if which.shape != times.shape or which.ndim != 1:
        raise InputError(
            f"reference.recorded: spike_condition {which.shape} and spike_time_ms "
            f"{times.shape} must be 1-d arrays of the same length (one entry per spike)."
        )
    if len(which) and (
        not np.issubdtype(which.dtype, np.integer) or which.min() < 0 or which.max() >= conditions
    ):
        raise InputError(
            f"reference.recorded: spike_condition must hold condition indices 0..{conditions - 1}."
        )
    duration_ms = currents.shape[1] * dt_ms
    if len(times) and (times.min() < 0 or times.max() >= duration_ms):
        raise InputError(
            f"reference.recorded: spike times must lie in [0, {duration_ms:g}) ms, the "
            "recording's duration."
        )
    test = tuple(int(i) for i in np.asarray(arrays["test"]).ravel())
    if not test or any(i < 0 or i >= conditions for i in test) or len(test) >= conditions:
        raise InputError(
            f"reference.recorded: test must list some, not all, of the {conditions} "
            "conditions (indices of the held-out ones)."
        )
    voltage = arrays.get("voltage")
    if voltage is not None:
        voltage = np.asarray(voltage, dtype=float)
        if voltage.shape != currents.shape:
            raise InputError(
                f"reference.recorded: voltage has shape {voltage.shape}; it must match the "
                f"currents' {currents.shape} (one membrane sample in mV per current sample)."
            )
        if not np.all(np.isfinite(voltage)):
            raise InputError("reference.recorded: voltage holds NaN or infinite values.")
    spikes = tuple(np.sort(times[which == c]) for c in range(conditions))
    return RecordedReference(name, source, currents, dt_ms * 1e-3, spikes, test, voltage)


@dataclass(frozen=True)
class InputEntry:
    family: InputFamily
    seeds: tuple[int, ...]
    levels: tuple[float, ...]
    split: str


@dataclass(frozen=True)
class Optimiser:
    method: str = "de"
    popsize: int = 16
    generations: int = 30
    seed: int = 0
    compile: str = "step"  # the fits' torch.compile mode: "none", "step" or "loop"
    learning_rate: float = 0.05  # "adam" only: Adam's step on the unconstrained parameters


@dataclass(frozen=True)
class Metrics:
    window_ms: float = 2.0
    van_rossum_tau_ms: float = 5.0
    timing_weight: float = 0.05
    loss: str = "count"  # "count": count + timing_weight * gamma error; "gamma"; "trace"


@dataclass(frozen=True)
class StudyFile:
    """A checked study file; ``source`` is the TOML as read (echoed in the results)."""

    name: str
    duration_s: float
    input_unit: Any
    sample: str
    engine: str
    device: str
    dt_s: float | None
    reference: ModelEntry | RecordedReference
    candidates: tuple[ModelEntry, ...]
    inputs: tuple[InputEntry, ...]
    optimiser: Optimiser
    metrics: Metrics
    source: dict[str, Any] = field(default_factory=dict)


#: Study files shipped with the package: ``spikebridge study equivalence --preset NAME``.
PRESETS = Path(__file__).parent / "presets"


def preset_names() -> tuple[str, ...]:
    """The shipped study files' names (``--preset``); ``paper`` is the built-in study."""
    return tuple(sorted(p.stem for p in PRESETS.glob("*.toml")))


def preset_path(name: str) -> Path:
    """The shipped study file ``name``."""
    path = PRESETS / f"{name}.toml"
    if not path.is_file():
        raise InputError(
            f"No preset study '{name}'; the presets: paper (the built-in study), "
            f"{', '.join(preset_names())}."
        )
    return path


def load_study_file(path: str | Path) -> StudyFile:
    """Read and check a study file; an error names the entry and the fix."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"Study file {path} does not exist.")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"Study file {path} is not valid TOML: {exc}") from None
    return study_from_dict(data, base=path.parent)


def study_from_dict(data: Mapping[str, Any], base: Path = Path(".")) -> StudyFile:
    """A :class:`StudyFile` from the parsed TOML (``base``: where relative paths start)."""
    unknown = sorted(set(data) - _SECTIONS)
    if unknown:
        raise InputError(
            f"Unknown section(s) {', '.join(unknown)}; a study file has "
            f"{', '.join(sorted(_SECTIONS))}."
        )
    for needed in ("reference", "candidates"):
        if needed not in data:
            raise InputError(f"The study file has no [{needed}] section.")
    recorded = isinstance(data["reference"], Mapping) and "recorded" in data["reference"]
    if recorded and "inputs" in data:
        raise InputError(
            "A recorded reference brings its own currents: remove the [[inputs]] entries "
            "(or drop reference.recorded to simulate a reference model)."
        )
    if not recorded and "inputs" not in data:
        raise InputError("The study file has no [[inputs]] entries (or reference.recorded).")
    study = dict(data.get("study", {}))
    _only(
        study,
        {"name", "duration", "input_unit", "sample", "engine", "device", "dt"},
        "[study]",
    )
    duration = _si(study.get("duration", "100 ms"), second.dim, "study.duration")
    positive(duration, "study.duration")
    input_unit = parse_quantity(study.get("input_unit", "uA/cm**2"), "study.input_unit")
    sample = study.get("sample", "start")
    if sample not in SAMPLING:
        raise InputError(f"study.sample must be one of {', '.join(SAMPLING)}; got {sample!r}.")
    engine = study.get("engine", "brian2")
    if engine not in ENGINES:
        raise InputError(f"study.engine must be one of {', '.join(ENGINES)}; got {engine!r}.")
    device = study.get("device", "cpp_standalone" if engine == "brian2" else "cpu")
    dt = study.get("dt")
    dt_s = None if dt is None else positive(_si(dt, second.dim, "study.dt"), "study.dt")
    reference: ModelEntry | RecordedReference
    if recorded:
        _only(data["reference"], {"recorded"}, "[reference]")
        spec = data["reference"]["recorded"]
        if isinstance(spec, Mapping):
            reference = load_recorded_csv(spec, base)
        else:
            reference = load_recorded(_path(spec, base))
        duration = reference.currents.shape[1] * reference.dt_s
    else:
        reference = _model_entry(data["reference"], "reference", input_unit, base, free=False)
    candidates_data = data["candidates"]
    if not isinstance(candidates_data, list) or not candidates_data:
        raise InputError("[[candidates]] must list at least one candidate model.")
    candidates = tuple(
        _model_entry(c, f"candidates[{k}]", input_unit, base, free=True)
        for k, c in enumerate(candidates_data)
    )
    names = [c.name for c in candidates]
    if len(set(names)) != len(names):
        raise InputError(f"Candidate names repeat ({names}); give each a name of its own.")
    inputs = tuple(
        _input_entry(e, f"inputs[{k}]", base) for k, e in enumerate(data.get("inputs", []))
    )
    splits = {e.split for e in inputs}
    if not recorded and splits != {"train", "test"}:
        raise InputError(
            "The inputs need both a 'train' and a 'test' (held-out) entry; got "
            f'{sorted(splits)}. Mark each [[inputs]] with split = "train" or "test".'
        )
    optimiser = _optimiser(data.get("optimiser", {}))
    metrics = _metrics(data.get("metrics", {}))
    if metrics.loss == "trace":
        _check_traces(reference, candidates)
    chained = [c.name for c in candidates if c.chain is not None]
    if optimiser.method == "adam" and chained:
        raise InputError(
            f"{', '.join(chained)} drive a layer 2 through events, which carry no gradient: "
            'fit chains with method = "de" or "cma" in [optimiser].'
        )
    if optimiser.method == "cma":
        single = [c.name for c in candidates if len(c.free) < 2]
        if single:
            raise InputError(
                f"CMA-ES searches two or more free parameters; {', '.join(single)} "
                'has one. Use method = "de" in [optimiser], or free another parameter.'
            )
    return StudyFile(
        name=str(study.get("name", "study")),
        duration_s=duration,
        input_unit=input_unit,
        sample=sample,
        engine=engine,
        device=str(device),
        dt_s=dt_s,
        reference=reference,
        candidates=candidates,
        inputs=inputs,
        optimiser=optimiser,
        metrics=metrics,
        source=dict(data),
    )


def membrane_dim(entry: ModelEntry) -> Dimension:
    """The dimension of a model's first ``MEMBRANE`` variable (what a trace loss compares)."""
    return entry.model.dim(entry.model.membrane[0])


def _check_traces(
    reference: ModelEntry | RecordedReference, candidates: tuple[ModelEntry, ...]
) -> None:
    """A trace loss needs the reference's membrane and volt membranes on every candidate."""
    if isinstance(reference, RecordedReference) and reference.voltage_mV is None:
        raise InputError(
            'metrics.loss = "trace" compares membranes, but the recording has no voltage; '
            'add one (npz array or CSV file "voltage", in mV) or fit the spikes (loss = '
            '"count" or "gamma").'
        )
    entries = [*candidates, *([reference] if isinstance(reference, ModelEntry) else [])]
    for entry in entries:
        if membrane_dim(entry) is not volt.dim:
            raise InputError(
                f"metrics.loss = \"trace\": the membrane of '{entry.name}' "
                f"({entry.model.membrane[0]}) is in {unit_name(membrane_dim(entry))}, not "
                "volts, so it cannot be compared with a voltage trace."
            )


def _only(section: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(section) - allowed)
    if unknown:
        raise InputError(
            f"{where} has no entry {', '.join(map(repr, unknown))}; its entries: "
            f"{', '.join(sorted(allowed))}."
        )


def _model_entry(
    entry: Mapping[str, Any], where: str, input_unit: Any, base: Path, *, free: bool
) -> ModelEntry:
    if not isinstance(entry, Mapping):
        raise InputError(f"{where} must be a table of model settings, got {entry!r}.")
    allowed = {"name", "model", "method", "input", "gain", "parameters", "layer2", "dt"} | (
        {"free"} if free else set()
    )
    _only(entry, allowed, where)
    if "model" not in entry:
        raise InputError(f'{where} names no model; give model = "hh" or a model file.')
    target = str(entry["model"])
    if target.endswith(".py") and not Path(target).is_absolute():
        target = str(base / target)
    try:
        model = load_model(target)
    except SpikebridgeError as exc:
        raise InputError(f"{where}.model: {exc}") from None
    try:
        method = model.check_method(entry.get("method"))
    except SpikebridgeError as exc:
        raise InputError(f"{where}.method: {exc}") from None
    drive = entry.get("input", model.inputs[0] if model.inputs else None)
    if drive not in model.parameter_names:
        raise InputError(
            f"{where}.input = {drive!r} is not a parameter of '{model.name}'; its inputs: "
            f"{', '.join(model.inputs)}."
        )
    gain_quantity = parse_quantity(entry.get("gain", 1.0), f"{where}.gain")
    product = get_dimensions(gain_quantity * input_unit)
    if product is not model.dim(drive):
        raise InputError(
            f"{where}.gain: the study's current ({unit_name(get_dimensions(input_unit))}) times "
            f"the gain ({unit_name(get_dimensions(gain_quantity))}) must have the units of "
            f"'{drive}' ({unit_name(model.dim(drive))}). Give a gain in "
            f"{unit_name(model.dim(drive) / get_dimensions(input_unit))}."
        )
    parameters = {}
    for name, value in dict(entry.get("parameters", {})).items():
        if name not in model.parameter_names:
            raise InputError(
                f"{where}.parameters: '{name}' is not a parameter of '{model.name}'; its "
                f"parameters: {', '.join(model.parameter_names)}."
            )
        parameters[name] = _si(value, model.dim(name), f"{where}.parameters.{name}")
    layer2 = entry.get("layer2")
    chain_names = (
        set()
        if layer2 is None
        else chain_parameter_names(layer2, model, f"{where}.layer2") - set(model.parameter_names)
    )
    frees: list[FreeParameter] = []
    dims: dict[str, Dimension] = {}
    for name, spec in dict(entry.get("free", {})).items():
        what = f"{where}.free.{name}"
        dims[name] = _free_dim(name, spec, model, chain_names, dims, what)
        frees.append(_free(name, spec, dims[name], what, [f.name for f in frees]))
    chain = None
    if layer2 is not None:
        chain_free = {k: d for k, d in dims.items() if k in chain_names}
        chain = load_chain(layer2, model, f"{where}.layer2", parse_quantity, chain_free)
        overridden = sorted({d.target for d in chain.drives} & ({*parameters, *dims}))
        if overridden:
            raise InputError(
                f"{where}.layer2.drive drives {', '.join(overridden)}, which {where} also fixes "
                "or fits: layer 2 would not have that value. Drive another input of the model."
            )
    if free and not frees:
        raise InputError(f"{where} has no free parameter; give e.g. free.tau_m = {{...}}.")
    fixed_and_free = set(parameters) & {f.name for f in frees}
    if fixed_and_free:
        raise InputError(f"{where}: {sorted(fixed_and_free)} are both fixed and free; choose one.")
    return ModelEntry(
        name=str(entry.get("name", model.name)),
        model=model,
        method=method,
        input=str(drive),
        gain=float(gain_quantity),
        parameters=parameters,
        free=tuple(frees),
        chain=chain,
        dt_s=None if "dt" not in entry else _entry_dt(entry["dt"], model, method, where),
    )


def _entry_dt(value: Any, model: NeuronModel, method: str, where: str) -> float:
    """An entry's own step (s), checked for its model and method on loading."""
    dt = positive(_si(value, second.dim, f"{where}.dt"), f"{where}.dt")
    try:
        return model.check_dt(dt * second, method)
    except SpikebridgeError as exc:
        raise InputError(f"{where}.dt: {exc}") from None


def _free_dim(
    name: str,
    spec: Any,
    model: NeuronModel,
    chain_names: set[str],
    earlier: Mapping[str, Dimension],
    where: str,
) -> Dimension:
    """A free parameter's dimension: the model's, or for a chain parameter its bounds'."""
    if name in model.parameter_names:
        return model.dim(name)
    if name not in chain_names:
        chained = (
            f" or of its layer2 drive ({', '.join(sorted(chain_names))})" if chain_names else ""
        )
        raise InputError(
            f"{where}: '{name}' is not a parameter of '{model.name}'{chained}; its "
            f"parameters: {', '.join(model.parameter_names)}."
        )
    if not isinstance(spec, Mapping) or "low" not in spec:
        return DIMENSIONLESS  # _free names the problem
    relative = spec.get("relative_to")
    if relative is not None:
        return earlier.get(relative, DIMENSIONLESS)
    return get_dimensions(parse_quantity(spec["low"], f"{where}.low"))


def _free(name: str, spec: Any, dim: Dimension, where: str, earlier: list[str]) -> FreeParameter:
    if not isinstance(spec, Mapping):
        raise InputError(f"{where} must be a table {{ low = ..., high = ... }}, got {spec!r}.")
    _only(spec, {"low", "high", "scale", "relative_to"}, where)
    if "low" not in spec or "high" not in spec:
        raise InputError(f"{where} needs low and high.")
    scale = spec.get("scale", "linear")
    if scale not in ("linear", "log"):
        raise InputError(f"{where}.scale must be 'linear' or 'log', got {scale!r}.")
    relative = spec.get("relative_to")
    if relative is not None:
        if relative not in earlier:
            raise InputError(
                f"{where}.relative_to = {relative!r}: it must name a free parameter listed "
                f"before it (listed so far: {', '.join(earlier) or 'none'})."
            )
        low = parse_quantity(spec["low"], f"{where}.low")
        high = parse_quantity(spec["high"], f"{where}.high")
        if get_dimensions(low) is not DIMENSIONLESS or get_dimensions(high) is not DIMENSIONLESS:
            raise InputError(f"{where}: bounds relative to {relative} are plain multiples.")
        low, high = float(low), float(high)
    else:
        low = _si(spec["low"], dim, f"{where}.low")
        high = _si(spec["high"], dim, f"{where}.high")
    if not low < high:
        raise InputError(f"{where}: low ({spec['low']}) must be below high ({spec['high']}).")
    if scale == "log" and (low <= 0 or relative is not None):
        raise InputError(f"{where}: a log scale needs positive bounds of the parameter itself.")
    return FreeParameter(name, low, high, scale == "log", relative)


def _input_entry(entry: Any, where: str, base: Path) -> InputEntry:
    if not isinstance(entry, Mapping):
        raise InputError(f"{where} must be a table, got {entry!r}.")
    _only(entry, {"family", "params", "seeds", "levels", "split"}, where)
    if "family" not in entry:
        raise InputError(f'{where} names no family (e.g. family = "ou").')
    params = dict(entry.get("params", {}))
    if entry["family"] == "array" and "path" in params and not Path(params["path"]).is_absolute():
        params["path"] = str(base / params["path"])
    family = InputFamily(str(entry["family"]), params)
    seeds = tuple(index(s, f"{where}.seeds") for s in entry.get("seeds", [0]))
    levels = tuple(non_negative(v, f"{where}.levels") for v in entry.get("levels", [1.0]))
    if not seeds or not levels:
        raise InputError(f"{where}: seeds and levels need at least one value each.")
    split = entry.get("split", "train")
    if split not in ("train", "test"):
        raise InputError(f"{where}.split must be 'train' or 'test', got {split!r}.")
    return InputEntry(family, seeds, levels, split)


def _optimiser(entry: Mapping[str, Any]) -> Optimiser:
    _only(
        entry,
        {"method", "popsize", "generations", "seed", "compile", "learning_rate"},
        "[optimiser]",
    )
    method = entry.get("method", "de")
    if method not in OPTIMISERS:
        raise InputError(
            f"optimiser.method must be one of {', '.join(OPTIMISERS)}; got {method!r}."
        )
    if "learning_rate" in entry and method != "adam":
        raise InputError(
            f'optimiser.learning_rate is Adam\'s step; method = "{method}" has none. Remove it '
            'or use method = "adam".'
        )
    compile_mode = entry.get("compile", "step")
    if compile_mode not in COMPILE_MODES:
        raise InputError(
            f"optimiser.compile must be one of {', '.join(COMPILE_MODES)}; got {compile_mode!r}."
        )
    return Optimiser(
        method,
        count(entry.get("popsize", 16), "optimiser.popsize"),
        count(entry.get("generations", 30), "optimiser.generations"),
        index(entry.get("seed", 0), "optimiser.seed"),
        compile_mode,
        positive(entry.get("learning_rate", 0.05), "optimiser.learning_rate"),
    )


def _metrics(entry: Mapping[str, Any]) -> Metrics:
    _only(entry, {"window_ms", "van_rossum_tau_ms", "timing_weight", "loss"}, "[metrics]")
    loss = entry.get("loss", "count")
    if loss not in LOSSES:
        raise InputError(f"metrics.loss must be one of {', '.join(LOSSES)}; got {loss!r}.")
    if loss == "gamma" and "timing_weight" in entry:
        raise InputError(
            'metrics.timing_weight weighs the timing term of loss = "count"; the "gamma" loss '
            "has no weight. Remove one of them."
        )
    return Metrics(
        positive(entry.get("window_ms", 2.0), "metrics.window_ms"),
        positive(entry.get("van_rossum_tau_ms", 5.0), "metrics.van_rossum_tau_ms"),
        non_negative(entry.get("timing_weight", 0.05), "metrics.timing_weight"),
        loss,
    )


def quantity_text(value: float, dim: Dimension) -> str:
    """An SI value as text with its unit, for reports."""
    if dim is DIMENSIONLESS:
        return f"{value:.6g}"
    return str(Quantity(value, dim=dim))
