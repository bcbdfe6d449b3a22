"""``kgw order``: send create / modify / cancel / cancel-all from the shell and print the acks
and updates as they come, until the order's fate is known (or ``--wait`` seconds pass).

::

    kgw order create PF_XBTUSD buy 0.01 --price 60000            # LIMIT GTC
    kgw order create PF_XBTUSD sell 0.01 --type market
    kgw order modify 1732270000000001 --price 60100
    kgw order cancel 1732270000000001
    kgw order cancel-all --symbol PF_XBTUSD
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable

import click
import msgspec

from common import config
from common.client import OrderEntry, Settlement, Ticket
from common.messages import (
    CancelAllOrdersAck,
    ErrorReply,
    Message,
    OrderAck,
    OrderType,
    RequestStatus,
    Side,
    TimeInForce,
    TriggerSignal,
    encode,
)
from services.cli import config_option

ENVELOPE = {"source", "session", "seq", "send_time", "receive_time"}


def line(msg: Message, json_out: bool) -> str:
    if json_out:
        return encode(msg).decode()
    body = msgspec.to_builtins(msg)
    fields = " ".join(f"{k}={v}" for k, v in body.items() if k not in ENVELOPE and k != "type" and v not in (None, ""))
    return f"{type(msg).__name__}: {fields}"


def failed(msg: Message) -> bool:
    return isinstance(msg, ErrorReply) or (
        isinstance(msg, OrderAck | CancelAllOrdersAck)
        and msg.status is not RequestStatus.FORWARDED
        and msg.status is not RequestStatus.ACCEPTED
    )


async def run(ctx_obj: dict[str, object], send: Callable[[OrderEntry], Ticket], wait_fill: bool) -> int:
    """Send, print every answer as it comes; exit 0 when settled well, 2 when refused or not
    confirmed, 3 when nothing final arrived within ``--wait`` seconds."""
    cfg = ctx_obj["config"]
    assert isinstance(cfg, config.Config)
    oe = OrderEntry(str(ctx_obj["account"]), endpoint=cfg.bus.router_orders, name="kgw-order")
    await oe.start()
    json_out = bool(ctx_obj["json"])
    wait = float(str(ctx_obj["wait"]))
    code = 0
    shown = 0
    settlement = Settlement(wait_fill)
    try:
        ticket = send(oe)
        async with asyncio.timeout(wait):
            while True:
                new = await ticket.more(shown)
                shown += len(new)
                over = False
                for m in new:
                    print(line(m, json_out), flush=True)
                    if failed(m):
                        code = 2
                    over = settlement.see(m) or over
                if over:
                    return code
    except TimeoutError:
        for m in oe.unmatched:
            print(line(m, json_out), flush=True)
        if settlement.final is not None:
            print(f"# the order is {settlement.final.status.value}, but the exchange's answer did not arrive "
                  f"within {wait}s", file=sys.stderr)
            return 2
        if shown == 0 and not oe.unmatched:
            print(f"# the router at {cfg.bus.router_orders} did not answer within {wait}s: is it running? "
                  "(kgw status)", file=sys.stderr)
        else:
            print(f"# no final answer within {wait}s", file=sys.stderr)
        return 3
    finally:
        await oe.close()


@click.group("order")
@config_option
@click.option("--account", default="main", show_default=True, help="Account to trade.")
@click.option("--json", "json_out", is_flag=True, help="Print messages as JSON lines.")
@click.option("--wait", type=float, default=10.0, show_default=True, help="Seconds to wait for answers.")
@click.pass_context
def command(ctx: click.Context, config_file: str | None, account: str, json_out: bool, wait: float) -> None:
    """Send orders through the router and print the acks and updates."""
    try:
        cfg = config.load(config_file)
    except config.ConfigError as e:
        raise click.ClickException(str(e)) from None
    ctx.obj = {"config": cfg, "account": account, "json": json_out, "wait": wait}


def _exit(ctx: click.Context, send: Callable[[OrderEntry], Ticket], wait_fill: bool) -> None:
    sys.exit(asyncio.run(run(ctx.obj, send, wait_fill)))


@command.command("create")
@click.argument("symbol")
@click.argument("side", type=click.Choice(["buy", "sell"], case_sensitive=False))
@click.argument("quantity", type=float)
@click.option("--type", "order_type", type=click.Choice(["limit", "market", "stop", "take_profit"]), default="limit")
@click.option("--price", type=float, default=None, help="Limit price (LIMIT; optional for stop/take_profit).")
@click.option("--stop-price", type=float, default=None, help="Trigger price (stop/take_profit).")
@click.option("--ioc", is_flag=True, help="Immediate or cancel.")
@click.option("--post-only", is_flag=True)
@click.option("--reduce-only", is_flag=True)
@click.option("--trigger", type=click.Choice(["mark", "last", "index"]), default=None)
@click.option("--order-id", type=int, default=None, help="Your own order id (default: time-based, never reused).")
@click.option("--until-final", is_flag=True, help="Wait for the order to be filled/cancelled, not just accepted.")
@click.pass_context
def create(
    ctx: click.Context,
    symbol: str,
    side: str,
    quantity: float,
    order_type: str,
    price: float | None,
    stop_price: float | None,
    ioc: bool,
    post_only: bool,
    reduce_only: bool,
    trigger: str | None,
    order_id: int | None,
    until_final: bool,
) -> None:
    """Place an order: SYMBOL buy|sell QUANTITY."""

    def send(oe: OrderEntry) -> Ticket:
        ticket = oe.create(
            symbol.upper(),
            Side(side.upper()),
            OrderType(order_type.upper()),
            quantity,
            price=price,
            stop_price=stop_price,
            time_in_force=TimeInForce.IOC if ioc else TimeInForce.GTC,
            post_only=post_only,
            reduce_only=reduce_only,
            trigger_signal=TriggerSignal(trigger.upper()) if trigger else None,
            order_id=order_id,
        )
        print(f"# order_id {ticket.order_id}", file=sys.stderr)
        return ticket

    _exit(ctx, send, until_final)


@command.command("modify")
@click.argument("order_id", type=int)
@click.option("--quantity", type=float, default=None)
@click.option("--price", type=float, default=None)
@click.option("--stop-price", type=float, default=None)
@click.pass_context
def modify(
    ctx: click.Context, order_id: int, quantity: float | None, price: float | None, stop_price: float | None
) -> None:
    """Amend a working order."""
    _exit(ctx, lambda oe: oe.modify(order_id, quantity=quantity, price=price, stop_price=stop_price), False)


@command.command("cancel")
@click.argument("order_id", type=int)
@click.pass_context
def cancel(ctx: click.Context, order_id: int) -> None:
    """Cancel a working order."""
    _exit(ctx, lambda oe: oe.cancel(order_id), False)


@command.command("cancel-all")
@click.option("--symbol", default=None, help="Only this symbol.")
@click.pass_context
def cancel_all(ctx: click.Context, symbol: str | None) -> None:
    """Cancel every open order of the account (or of one symbol)."""
    _exit(ctx, lambda oe: oe.cancel_all(symbol.upper() if symbol else None), False)
