"""Replay mode: the recorded 2021 Kraken session served by ``kgw sim --replay``."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import orjson

from common.kraken import recording
from tests.sim.harness import recv_json, recv_until
from tests.support.processes import KgwProcess, free_port, write_config

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "kraken"
SESSION = FIXTURES / "ws_session_2021-07-22.txt"
INSTRUMENTS = FIXTURES / "rest_instruments_2021-07-22.txt"


async def test_replay_as_fast_as_possible(tmp_path: Path) -> None:
    port, mport = free_port(), free_port()
    cfg = write_config(tmp_path, f"[sim]\nport = {port}\nmetrics_port = {mport}\n")
    recorded = [orjson.loads(r.payload) for r in recording.read(SESSION) if r.kind == "recv"]
    expected = [m for m in recorded if m.get("product_id") == "FI_BCHUSD_210730"
                and m.get("feed") in ("book", "book_snapshot")]
    with KgwProcess("sim", "--config", str(cfg), "--replay", str(SESSION),
                    "--replay-instruments", str(INSTRUMENTS), "--replay-speed", "0",
                    health_url=f"http://127.0.0.1:{mport}/health"):
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/derivatives/api/v3/instruments") as r:
                inst = await r.json()
            assert inst["instruments"][0]["symbol"] == "pi_xbtusd"  # verbatim 2021 answer
            async with http.ws_connect(f"ws://127.0.0.1:{port}/ws/v1") as ws:
                assert await recv_json(ws) == {"event": "info", "version": 1}
                await ws.send_str('{"event":"subscribe","feed":"book",'
                                  '"product_ids":["fi_bchusd_210730"]}')
                ack = await recv_json(ws)
                assert ack == {"event": "subscribed", "feed": "book",
                               "product_ids": ["FI_BCHUSD_210730"]}
                got = []
                for _ in range(len(expected)):
                    got.append(await recv_json(ws))
                assert got == expected
                seqs = [m["seq"] for m in got]
                assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
                await ws.send_str('{"event":"subscribe","feed":"book","product_ids":["NOPE"]}')
                err, _ = await recv_until(ws, lambda m: m.get("event") == "error")
                assert err["message"] == "Invalid product id"


async def test_replay_acks_the_heartbeat_feed_and_sends_heartbeats_as_live(tmp_path: Path) -> None:
    port, mport = free_port(), free_port()
    cfg = write_config(tmp_path, f"[sim]\nport = {port}\nmetrics_port = {mport}\nheartbeat_interval = 0.2\n")
    with KgwProcess("sim", "--config", str(cfg), "--replay", str(SESSION), "--replay-speed", "0",
                    health_url=f"http://127.0.0.1:{mport}/health"):
        async with aiohttp.ClientSession() as http, http.ws_connect(f"ws://127.0.0.1:{port}/ws/v1") as ws:
            assert await recv_json(ws) == {"event": "info", "version": 1}
            await ws.send_str('{"event":"subscribe","feed":"heartbeat"}')
            assert await recv_json(ws) == {"event": "subscribed", "feed": "heartbeat"}
            beats = [await recv_json(ws) for _ in range(3)]
            assert all(b["feed"] == "heartbeat" and isinstance(b["time"], int) for b in beats)
            assert beats[0]["time"] <= beats[1]["time"] <= beats[2]["time"]
