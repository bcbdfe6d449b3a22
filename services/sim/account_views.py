"""Account state as Kraken shows it: REST ``accounts``/``openpositions`` and the WebSocket
``balances`` and ``open_positions`` feeds, computed from the engine (no I/O)."""

from __future__ import annotations

import uuid
from typing import Any

from services.sim.engine.accounts import Account, notional, unrealized_pnl
from services.sim.engine.engine import Engine
from services.sim.rest.shapes import iso


def account_uid(name: str) -> str:
    """Stable uuid standing for Kraken's account uid in ``account`` fields."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"kgw-sim:{name}"))


def _margin_buckets(engine: Engine, acct: Account) -> list[str]:
    names = set(acct.margin)
    names.update(i.margin_account for i in engine.instruments.values() if i.inverse)
    return sorted(names)


def flex_summary(engine: Engine, acct: Account) -> dict[str, float]:
    equity = engine.equity(acct, "flex")
    balance_value = sum(q * engine.index_of(c) for c, q in acct.flex.items())
    im = engine.initial_margin(acct, "flex", with_orders=False)
    im_orders = engine.initial_margin(acct, "flex")
    upnl = equity - balance_value
    return {
        "balance_value": balance_value, "portfolio_value": equity,
        "collateral_value": balance_value, "initial_margin": im,
        "initial_margin_with_orders": im_orders,
        "maintenance_margin": engine.maintenance_margin(acct, "flex"), "pnl": upnl,
        "unrealized_funding": 0.0, "total_unrealized": upnl, "total_unrealized_as_margin": upnl,
        "margin_equity": equity, "available_margin": equity - im_orders,
    }


def accounts_json(engine: Engine, acct: Account) -> dict[str, Any]:
    """``accounts``: the cash account, one ``marginAccount`` per inverse pair, ``flex``."""
    out: dict[str, Any] = {"cash": {"type": "cashAccount", "balances": dict(acct.cash)}}
    for bucket in _margin_buckets(engine, acct):
        ccy = bucket[3:-3]
        bal = acct.margin.get(bucket, 0.0)
        eq = engine.equity(acct, bucket)
        im = engine.initial_margin(acct, bucket)
        mm = engine.maintenance_margin(acct, bucket)
        out[bucket] = {
            "type": "marginAccount", "currency": ccy,
            "balances": {ccy: bal},
            "auxiliary": {"usd": 0, "pv": eq, "pnl": eq - bal, "af": eq - im, "funding": 0.0},
            "marginRequirements": {"im": im, "mm": mm, "lt": mm * 0.5, "tt": mm * 0.25},
            "triggerEstimates": {"im": 0, "mm": 0, "lt": 0, "tt": 0},
        }
    f = flex_summary(engine, acct)
    currencies = {
        c: {"quantity": q, "value": q * engine.index_of(c),
            "collateralValue": q * engine.index_of(c),
            "available": q if c != "USD" else q + f["available_margin"] - f["balance_value"]}
        for c, q in acct.flex.items()
    }
    out["flex"] = {
        "type": "multiCollateralMarginAccount", "currencies": currencies,
        "initialMargin": f["initial_margin"],
        "initialMarginWithOrders": f["initial_margin_with_orders"],
        "maintenanceMargin": f["maintenance_margin"], "balanceValue": f["balance_value"],
        "portfolioValue": f["portfolio_value"], "collateralValue": f["collateral_value"],
        "pnl": f["pnl"], "unrealizedFunding": 0.0, "totalUnrealized": f["total_unrealized"],
        "totalUnrealizedAsMargin": f["total_unrealized_as_margin"],
        "availableMargin": f["available_margin"], "marginEquity": f["margin_equity"],
    }
    return out


def open_positions_rest(engine: Engine, acct: Account) -> list[dict[str, Any]]:
    """``openpositions``: unsigned ``size``, direction in ``side``."""
    out = []
    for sym, pos in acct.positions.items():
        if pos.size == 0:
            continue
        inst = engine.instruments[sym]
        d: dict[str, Any] = {
            "side": "long" if pos.size > 0 else "short", "symbol": sym,
            "price": pos.entry_price, "fillTime": iso(pos.fill_time_ms), "size": abs(pos.size),
        }
        if inst.last_trading_time is None:
            d["unrealizedFunding"] = 0.0
        if not inst.inverse:
            d["pnlCurrency"] = "USD"
            d["maxFixedLeverage"] = round(1 / inst.initial_margin)
        out.append(d)
    return out


def open_positions_ws(engine: Engine, acct: Account, now: int, seq: int) -> dict[str, Any]:
    """``open_positions`` (snapshot and updates share the name; ``balance`` signed)::

        {"feed":"open_positions","account":"3b111acc-...","positions":[{"instrument":
         "PF_LTCUSD","balance":0.5,"pnl":-0.86,"entry_price":70.53,"mark_price":68.80,
         "index_price":68.80,"liquidation_threshold":0,"effective_leverage":0.007,
         "return_on_equity":-1.22,"unrealized_funding":0.000069,"initial_margin":0.7053,
         "initial_margin_with_orders":0.7053,"maintenance_margin":0.35265,
         "pnl_currency":"USD"}],"seq":0,"timestamp":1698608414910}
    """
    positions = []
    for sym, pos in acct.positions.items():
        if pos.size == 0:
            continue
        inst = engine.instruments[sym]
        ps = engine.prices[sym]
        pnl = unrealized_pnl(inst, pos, ps.mark)
        im = notional(inst, pos.size, ps.mark) * inst.initial_margin
        bucket = inst.margin_account if inst.inverse else "flex"
        eq = engine.equity(acct, bucket) or 1.0
        positions.append({
            "instrument": sym, "balance": pos.size, "pnl": pnl, "entry_price": pos.entry_price,
            "mark_price": ps.mark, "index_price": ps.index, "liquidation_threshold": 0,
            "effective_leverage": notional(inst, pos.size, ps.mark) / eq,
            "return_on_equity": pnl / im if im else 0.0, "unrealized_funding": 0.0,
            "initial_margin": im, "initial_margin_with_orders": im,
            "maintenance_margin": notional(inst, pos.size, ps.mark) * inst.maintenance_margin,
            "pnl_currency": inst.settlement_currency,
        })
    return {"feed": "open_positions", "account": account_uid(acct.name), "positions": positions,
            "seq": seq, "timestamp": now}


def balances_ws(engine: Engine, acct: Account, now: int, seq: int,
                snapshot: bool) -> dict[str, Any]:
    """``balances_snapshot`` / ``balances`` (docs sample, abridged)::

        {"feed":"balances_snapshot","account":"4a012c31-...","holding":{"USDT":4997.5},
         "futures":{"F-ETH:EUR":{"name":"F-ETH:EUR","pair":"ETH/EUR","unit":"EUR",
         "portfolio_value":0.0,"balance":0.0,"maintenance_margin":0.0,"initial_margin":0.0,
         "available":0.0,"unrealized_funding":0.0,"pnl":0.0}},"flex_futures":{"currencies":
         {...},"balance_value":0.0,...,"isolated":{},"cross":{...}},"timestamp":1640995200000,
         "seq":0}
    """
    futures = {}
    for bucket in _margin_buckets(engine, acct):
        ccy = bucket[3:-3].upper()
        name = f"F-{ccy}:USD"
        eq = engine.equity(acct, bucket)
        im = engine.initial_margin(acct, bucket)
        futures[name] = {
            "name": name, "pair": f"{ccy}/USD", "unit": ccy, "portfolio_value": eq,
            "balance": acct.margin.get(bucket, 0.0),
            "maintenance_margin": engine.maintenance_margin(acct, bucket),
            "initial_margin": im, "available": eq - im, "unrealized_funding": 0.0,
            "pnl": eq - acct.margin.get(bucket, 0.0),
        }
    f = flex_summary(engine, acct)
    currencies = {
        c: {"quantity": q, "value": q * engine.index_of(c),
            "collateral_value": q * engine.index_of(c), "available": q, "haircut": 0.0,
            "conversion_spread": 0.0}
        for c, q in acct.flex.items()
    }
    flex = {
        "currencies": currencies,
        **{k: v for k, v in f.items() if k != "initial_margin_with_orders"},
        "initial_margin_without_orders": f["initial_margin"],
        "isolated": {},
        "cross": {**{k: v for k, v in f.items() if k != "initial_margin_with_orders"},
                  "initial_margin_without_orders": f["initial_margin"],
                  "effective_leverage": 0.0},
    }
    return {"feed": "balances_snapshot" if snapshot else "balances",
            "account": account_uid(acct.name),
            "holding": {c.upper(): q for c, q in acct.cash.items()}, "futures": futures,
            "flex_futures": flex, "timestamp": now, "seq": seq}
