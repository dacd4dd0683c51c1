"""Bad input gets an error that names the problem and the fix."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from brian2 import cm, ms, mV, nA, uamp

import spikebridge as sb
from spikebridge.brian.devices import check_device

GOOD = '''"""A test LIF.

::

    tau dv/dt = -v + R I
"""
from brian2 import mV, ms, Mohm, namp

EQUATIONS = """
dv/dt = (-v + R*I)/tau : volt
I : amp
R : ohm
tau : second
"""
THRESHOLD = "v > 10*mV"
RESET = "v = 0*mV"
METHOD = "euler"
METHODS = ("euler", "exact")
DT = 0.1 * ms
INPUTS = ("I",)
MEMBRANE = ("v",)
MEMBRANE_UNIT = mV
EXAMPLE_INPUT = {"I": 0.2 * namp}
PARAMETERS = {"I": 0 * namp, "R": 100 * Mohm, "tau": 10 * ms}
'''


def test_a_user_model_file_loads_and_runs(model_file: Callable[[str], Path]) -> None:
    model = sb.load_model(model_file(GOOD))
    result = sb.simulate(model, engine="torch", duration=20 * ms, inputs={"I": 0.2 * nA})
    assert len(result.spike_steps()) > 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("dv/dt = (-v + R*I)/tau : volt", "dv/dt = (-v + R*I)/tau volt"), "do not parse"),
        (('METHOD = "euler"\n', ""), "missing METHOD"),
        (('METHOD = "euler"', 'METHOD = "rk5"'), "unknown integration method 'rk5'"),
        (('METHODS = ("euler", "exact")', 'METHODS = ("exact",)'), "is not in METHODS"),
        (('"tau": 10 * ms}', "}"), "'tau'] are declared in EQUATIONS but have no default"),
        (
            ('"tau": 10 * ms', '"tau": 10 * mV'),
            "PARAMETERS['tau'] = 10. * mvolt has units of V, but 'tau' is declared in s",
        ),
        (('"tau": 10 * ms}', '"tau": 10 * ms, "C": 1 * ms}'), "which EQUATIONS do not declare"),
        (('INPUTS = ("I",)', 'INPUTS = ("J",)'), "INPUTS names 'J'"),
        (('"""A test LIF.\n\n::\n\n    tau dv/dt = -v + R I\n"""\n', ""), "no docstring"),
        (("MEMBRANE_UNIT = mV", "MEMBRANE_UNIT = ms"), "MEMBRANE_UNIT"),
        (('THRESHOLD = "v > 10*mV"\n', ""), "RESET is given without THRESHOLD"),
    ],
)
def test_malformed_model_file(
    model_file: Callable[[str], Path], change: tuple[str, str], message: str
) -> None:
    old, new = change
    assert old in GOOD
    path = model_file(GOOD.replace(old, new))
    with pytest.raises(sb.ModelFileError, match=re.escape(message)):
        sb.load_model(path)


def test_brian2_errors_in_threshold_are_reported_with_the_model(
    model_file: Callable[[str], Path],
) -> None:
    model = sb.load_model(model_file(GOOD.replace('"v > 10*mV"', '"v > 10*second"')))
    with pytest.raises(sb.ModelFileError, match="Brian2 cannot build model 'custom'"):
        sb.simulate(model, engine="torch", duration=1 * ms)


def test_unknown_model_lists_the_available_ones() -> None:
    with pytest.raises(sb.UnknownModelError, match="Available models: hh, hh_coba, hh_dl"):
        sb.load_model("hodgkin")


def test_unknown_method() -> None:
    with pytest.raises(sb.MethodError, match=r"does not support method 'milstein'.*euler"):
        sb.simulate("hh", engine="torch", duration=1 * ms, method="milstein")


@pytest.mark.parametrize(
    ("model", "method", "dt", "message"),
    [
        ("lif_dl", None, 0.5 * ms, "discrete-time map defined at dt = 1. ms"),
        ("hh_rest0", "euler", 0.1 * ms, "too large for 'euler'.*exponential_euler"),
        ("hh", None, -0.01 * ms, "positive time"),
        ("hh", None, 0.01, "needs units of s"),
    ],
)
def test_dt_the_method_cannot_use(model: str, method: str | None, dt: object, message: str) -> None:
    with pytest.raises((sb.MethodError, sb.ParameterError), match=message):
        sb.simulate(model, engine="torch", n_steps=3, dt=dt, method=method)


def test_missing_unit_on_a_parameter() -> None:
    with pytest.raises(sb.ParameterError, match=r"'tau_m'.*needs units of s.*plain number"):
        sb.simulate("lif", engine="torch", n_steps=3, parameters={"tau_m": 10})


def test_dimensionally_wrong_parameter() -> None:
    with pytest.raises(sb.ParameterError, match=r"'tau_m'.*needs units of s, got .*units of V"):
        sb.simulate("lif", engine="torch", n_steps=3, parameters={"tau_m": 10 * mV})


def test_unknown_parameter() -> None:
    with pytest.raises(sb.ParameterError, match=r"no parameter.*'tau'.*Its parameters are"):
        sb.simulate("lif", engine="torch", n_steps=3, parameters={"tau": 10 * ms})


def test_nan_input_is_rejected_with_its_position() -> None:
    wave = np.full(10, 0.1) * nA
    wave[4] = np.nan * nA
    with pytest.raises(sb.InputError, match=r"NaN or infinite values \(first at index \[4\]\)"):
        sb.simulate("lif", engine="torch", n_steps=10, inputs={"I": wave})


def test_wrongly_shaped_input() -> None:
    with pytest.raises(sb.InputError, match=r"shape \(7,\).*needs \(n_steps,\)"):
        sb.simulate("lif", engine="torch", n_steps=10, inputs={"I": np.ones(7) * nA})
    with pytest.raises(sb.InputError, match="second axis must be the 3 neuron"):
        sb.simulate("lif", engine="torch", n_steps=10, n=3, inputs={"I": np.ones((10, 2)) * nA})


def test_input_with_wrong_units() -> None:
    with pytest.raises(sb.InputError, match="needs units of A"):
        sb.simulate("lif", engine="torch", n_steps=10, inputs={"I": 1 * uamp / cm**2})


def test_driving_something_that_is_not_a_parameter() -> None:
    with pytest.raises(sb.InputError, match="'v' is not a parameter"):
        sb.simulate("lif", engine="torch", n_steps=10, inputs={"v": 1 * mV})


def test_duration_that_is_not_a_multiple_of_dt() -> None:
    with pytest.raises(sb.InputError, match="not a whole number of steps"):
        sb.simulate("lif", engine="torch", duration=1.05 * ms)


def test_unknown_device() -> None:
    with pytest.raises(sb.SpikebridgeError, match="Unknown Brian2 device 'gpu'"):
        check_device("gpu")


@pytest.mark.parametrize(
    ("device", "package", "hint"),
    [
        ("cuda_standalone", "brian2cuda", "spikebridge\\[cuda\\]"),
        ("genn", "brian2genn", "GeNN 4.x"),
    ],
)
def test_missing_gpu_device_names_what_to_install(
    device: str, package: str, hint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(  # as on a machine without the package
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == package else find_spec(name, *a),
    )
    with pytest.raises(sb.DeviceUnavailableError, match=hint):
        sb.simulate("lif", engine="brian2", device=device, n_steps=3)
