"""Build the Brian2 ``NeuronGroup`` of a model: where a model file becomes Brian2 objects."""

from __future__ import annotations

from brian2 import NeuronGroup, second

from ..errors import ModelFileError
from ..model import NeuronModel


def make_neuron_group(
    model: NeuronModel, n: int, method: str, dt: float, name: str = "neurons"
) -> NeuronGroup:
    """A ``NeuronGroup`` of ``n`` neurons of ``model`` integrated with ``method`` at ``dt`` seconds.

    The namespace is empty on purpose: a model may only use its own parameters, Brian2's
    units and Brian2's functions, never variables of the caller.
    """
    spike = next((e for e in model.events if e.name == "spike"), None)
    others = {e.name: e.condition for e in model.events if e.name != "spike"}
    try:
        group = NeuronGroup(
            n,
            model.equations,
            method=method,
            threshold=spike.condition if spike else None,
            reset=(spike.reset or "") if spike else None,
            refractory=model.refractory if model.refractory is not None else False,
            events=others or None,
            namespace={},
            dt=dt * second,
            name=name,
        )
        for event in model.events:
            if event.name != "spike" and event.reset:
                group.run_on_event(event.name, event.reset, when="resets")
    except Exception as exc:
        raise model_error(model, method, exc) from exc
    return group


def model_error(model: NeuronModel, method: str, exc: Exception) -> ModelFileError:
    """Brian2's complaint about a model, with the model file named."""
    cause = exc.__cause__ if exc.__cause__ is not None else exc
    return ModelFileError(
        f"Brian2 cannot build model '{model.name}' ({model.source}) with method '{method}': "
        f"{type(cause).__name__}: {cause}"
    )
