"""Kraken Futures public WebSocket v1 messages, one module per message family.

``book`` (snapshot and per-level deltas), ``ticker`` (and ``ticker_lite``), ``trade`` (and its
snapshot), ``control`` (info, acks, errors, alerts, pong, the heartbeat feed). ``frames``
decodes one raw frame into one of them. Pure data and parsing: no I/O.
"""
