"""One simulator process shared by the tests of a module (faults are cleared after each)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.sim.harness import KrakenRest, SimHandle, run_sim


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimHandle]:
    tmp: Path = tmp_path_factory.mktemp("sim")
    with run_sim(tmp) as handle:
        yield handle


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
async def alice(http: aiohttp.ClientSession, sim: SimHandle) -> AsyncIterator[KrakenRest]:
    client = KrakenRest(http, sim)
    yield client
    await client.admin("fault/clear")


@pytest.fixture
async def bob(http: aiohttp.ClientSession, sim: SimHandle) -> KrakenRest:
    return KrakenRest(http, sim, second=True)
