"""`kgw tail` against a real publisher in another process."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

from common.bus import Publisher
from common.messages import MarketStatus, TradingStatus
from tests.support.processes import REPO, free_port


async def test_tail_prints_matching_messages_as_json_lines() -> None:
    ep = f"tcp://127.0.0.1:{free_port()}"
    pub = Publisher("feed", ep)
    await pub.start()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.cli",
        "tail",
        "md.kraken-futures.PF_XBTUSD.",
        "--endpoint",
        ep,
        "--json",
        "--count",
        "3",
        "--seconds",
        "20",
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:

        async def feed() -> None:
            while True:
                for sym in ("PF_XBTUSD", "PF_ETHUSD"):
                    msg = MarketStatus(exchange="kraken-futures", symbol=sym, trading_status=TradingStatus.OPEN)
                    pub.publish(f"md.kraken-futures.{sym}.status.", msg)
                await asyncio.sleep(0.05)

        task = asyncio.create_task(feed())
        out, _ = await asyncio.wait_for(proc.communicate(), 20)
        task.cancel()
    finally:
        if proc.returncode is None:
            proc.kill()
        await pub.close()
    lines = [json.loads(line) for line in out.decode().splitlines()]
    assert len(lines) == 3
    assert all(line["_topic"] == "md.kraken-futures.PF_XBTUSD.status." for line in lines)
    assert all(line["type"] == "MarketStatus" and line["symbol"] == "PF_XBTUSD" for line in lines)
