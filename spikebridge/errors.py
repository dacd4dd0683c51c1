"""Errors raised by spikebridge. Each message names the problem and how to fix it."""


class SpikebridgeError(Exception):
    """Base class of every error spikebridge raises on bad input."""


class ModelFileError(SpikebridgeError):
    """A model file in ``equations/`` (or a user's model file) is malformed."""


class UnknownModelError(SpikebridgeError, KeyError):
    """No model of that name exists."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class MethodError(SpikebridgeError, ValueError):
    """An integration method the model does not support, or a time step it cannot use."""


class ParameterError(SpikebridgeError, ValueError):
    """A missing, unknown or dimensionally wrong parameter or initial value."""


class InputError(SpikebridgeError, ValueError):
    """An input array with NaN/inf values, a wrong shape or wrong units."""


class DeviceUnavailableError(SpikebridgeError, RuntimeError):
    """A Brian2 device whose package, toolchain or hardware is missing."""
