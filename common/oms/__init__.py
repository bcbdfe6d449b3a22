"""Exchange-neutral account state: what the drop-copy listener knows about one account's
orders, fills, positions and funds, converging to one answer whatever order the exchange's
events arrive in. Sans-I/O: plain function calls in, bus messages out.

- :mod:`common.oms.inputs`: the normalized facts the Kraken parsers produce.
- :mod:`common.oms.order_state`: one order, its fills, and the status derived from them.
- :mod:`common.oms.account_state`: the whole account, downloads and reconciliation.
"""
