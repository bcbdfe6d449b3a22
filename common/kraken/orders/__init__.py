"""Kraken Futures order entry, sans-I/O: one module per REST message family, each with a
request builder (parameters as strings, exactly what goes on the wire) and a response parser
(an answer's JSON object -> a typed result). Nothing here does I/O; the router and the
drop-copy listener wrap these with :mod:`common.kraken.rest`.

Modules: :mod:`.instruments` (tick/size rules), :mod:`.decimals` (price/size grids and their
wire format), :mod:`.codes` (Kraken status strings -> our ErrorCode), :mod:`.events`
(``orderEvents`` entries, with Kraken's number-or-string quirk), :mod:`.sendorder`,
:mod:`.editorder`, :mod:`.cancelorder`, :mod:`.cancelallorders`, :mod:`.cancelallordersafter`,
:mod:`.batchorder`, :mod:`.openorders`, :mod:`.orderstatus` (``orders/status``).
"""
