"""Kraken Futures private WebSocket feeds, sans-I/O (protocol reference sections 4.3, 4.4, 8).

One module per message family, each turning Kraken's wire JSON into the normalized facts of
:mod:`common.oms.inputs`:

- :mod:`.challenge`: the per-connection challenge login and the private subscribe messages;
- :mod:`.open_orders`: ``open_orders[_verbose][_snapshot]`` and REST ``openorders``;
- :mod:`.fills`: ``fills[_snapshot]`` and REST ``fills``;
- :mod:`.open_positions`: ``open_positions``;
- :mod:`.balances`: ``balances[_snapshot]``;
- :mod:`.frames`: which family a frame belongs to.
"""
