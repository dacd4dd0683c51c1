"""The bridge: trained torch networks rebuilt in Brian2 by the general engine, validated."""

from .validate import validate
from .validate_network import validate_network

__all__ = ["validate", "validate_network"]
