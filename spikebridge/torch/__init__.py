"""The torch engine: step functions generated from Brian2's code, one loop, a thin module."""

from .codegen import GeneratedStep, generate_step, torch_step
from .loop import initial_state, run_steps
from .module import SpikingNeurons
from .simulate import simulate_torch
from .surrogate import SURROGATES, SpikeFunction, rectangular, surrogate

__all__ = [
    "SURROGATES",
    "GeneratedStep",
    "SpikeFunction",
    "SpikingNeurons",
    "generate_step",
    "initial_state",
    "rectangular",
    "run_steps",
    "simulate_torch",
    "surrogate",
    "torch_step",
]
