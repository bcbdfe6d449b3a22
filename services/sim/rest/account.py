"""Private read endpoints: openorders, openpositions, accounts, fills, orders/status."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from services.sim.account_views import accounts_json, open_positions_rest
from services.sim.rest import params as P
from services.sim.rest.envelope import PrivateRequest, error, gate, success
from services.sim.rest.shapes import open_order_json, order_status_json, rest_fill_json
from services.sim.state import Sim


def routes(sim: Sim) -> list[web.RouteDef]:
    """Account handlers bound to ``sim``."""

    async def openorders(request: web.Request) -> web.Response:
        """``{"openOrders":[{"order_id":...,"orderType":"lmt","unfilledSize":304,...}]}``"""
        req = await gate(sim, request, "openorders")
        if not isinstance(req, PrivateRequest):
            return req
        orders = sorted(sim.engine.open_orders(req.account), key=lambda o: o.time_ms)
        return success(openOrders=[open_order_json(o) for o in orders])

    async def openpositions(request: web.Request) -> web.Response:
        req = await gate(sim, request, "openpositions")
        if not isinstance(req, PrivateRequest):
            return req
        acct = sim.engine.accounts[req.account]
        return success(openPositions=open_positions_rest(sim.engine, acct))

    async def accounts(request: web.Request) -> web.Response:
        req = await gate(sim, request, "accounts")
        if not isinstance(req, PrivateRequest):
            return req
        return success(accounts=accounts_json(sim.engine, sim.engine.accounts[req.account]))

    async def fills(request: web.Request) -> web.Response:
        """Last 100 fills (or the 100 before ``lastFillTime``), newest first."""
        req = await gate(sim, request, "fills")
        if not isinstance(req, PrivateRequest):
            return req
        items = list(sim.engine.accounts[req.account].fills)
        last = P.first(req.params, "lastFillTime")
        if last:
            try:
                cutoff = datetime.fromisoformat(last.replace("Z", "+00:00")).timestamp() * 1000
            except ValueError:
                return error("invalidArgument: lastFillTime")
            items = [f for f in items if int(f["time"]) < cutoff]  # type: ignore[call-overload]
        return success(fills=[rest_fill_json(f) for f in items[:100]])

    async def orders_status(request: web.Request) -> web.Response:
        """Open orders, and those closed within the last 5 seconds."""
        req = await gate(sim, request, "orders/status")
        if not isinstance(req, PrivateRequest):
            return req
        found = []
        for key, by_cli in (("orderIds", False), ("cliOrdIds", True)):
            for v in req.params.get(key, []):
                for one in v.split(","):
                    o = sim.engine.recent(req.account, None if by_cli else one,
                                          one if by_cli else None)
                    if o is not None:
                        found.append(order_status_json(o))
        return success(orders=found)

    base = "/derivatives/api/v3"
    return [
        web.get(f"{base}/openorders", openorders),
        web.get(f"{base}/openpositions", openpositions),
        web.get(f"{base}/accounts", accounts),
        web.get(f"{base}/fills", fills),
        web.get(f"{base}/orders/status", orders_status),
        web.post(f"{base}/orders/status", orders_status),
    ]
