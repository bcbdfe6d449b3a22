"""Client of the drop-copy listener's download service (``bus.dropcopy_download``).

One request at a time: :meth:`DownloadClient.fetch` sends ``SnapshotRequest{topics}`` and
collects the ``SnapshotEntry`` replies of that request up to its ``SnapshotEnd``. Replies to an
earlier request that timed out (the listener died, or answered late) carry another request id
and are skipped.
"""

from __future__ import annotations

import itertools

import zmq

from common.bus import DealerClient
from common.messages import ErrorReply, Message, SnapshotEnd, SnapshotEntry, SnapshotRequest


class DownloadClient:
    """A DEALER to the download service at ``endpoint``.

    timeout: seconds to wait for a whole answer (up to its SnapshotEnd) before giving up.
    """

    def __init__(self, endpoint: str, *, timeout: float = 5.0) -> None:
        self.endpoint = endpoint
        self.timeout = timeout
        self.dealer = DealerClient(endpoint)
        self._ids = itertools.count(1)

    async def start(self) -> None:
        await self.dealer.start()

    async def close(self) -> None:
        await self.dealer.close()

    async def fetch(self, prefixes: list[str]) -> list[SnapshotEntry] | str:
        """The entries of every topic under ``prefixes``, or why there are none (timeout,
        refusal)."""
        rid = f"router-{next(self._ids)}"
        try:
            self.dealer.send(SnapshotRequest(request_id=rid, topics=prefixes))
        except zmq.Again:
            return "download service unreachable (send queue full)"

        def last(m: Message) -> bool:
            return isinstance(m, (SnapshotEnd, ErrorReply)) and m.request_id == rid

        try:
            replies = await self.dealer.collect(last, self.timeout)
        except TimeoutError:
            return f"no complete answer within {self.timeout}s"
        end = replies[-1]
        if isinstance(end, ErrorReply):
            return f"refused: {end.error.value} {end.text}"
        return [m for m in replies if isinstance(m, SnapshotEntry) and m.request_id == rid]
