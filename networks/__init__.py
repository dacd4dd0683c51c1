"""The spikebridge network catalogue: one network module per classic network.

Every module here holds a docstring stating the network and its source, and
``build(**options) -> Network`` (:class:`spikebridge.network.Network`) whose keyword
options have defaults: the published sizes and settings. ``spikebridge network list``
names them, ``spikebridge network run NAME`` simulates one, ``spikebridge network parity
NAME`` compares both engines; a user's network is a file of the same form.
"""
