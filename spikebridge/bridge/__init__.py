"""The bridge: trained torch networks rebuilt in Brian2, exported as files, validated."""

from .network_file import NetworkFile, describe, load_network, save_network
from .validate import validate
from .validate_network import validate_network

__all__ = [
    "NetworkFile",
    "describe",
    "load_network",
    "save_network",
    "validate",
    "validate_network",
]
