"""The Brian2 engine: NeuronGroups built from model files, run on any Brian2 device."""

from .devices import DEVICES, brian2_session, check_device
from .group import make_neuron_group
from .program import CodeBlock, StepProgram, step_program
from .simulate import simulate_brian2

__all__ = [
    "DEVICES",
    "CodeBlock",
    "StepProgram",
    "brian2_session",
    "check_device",
    "make_neuron_group",
    "simulate_brian2",
    "step_program",
]
