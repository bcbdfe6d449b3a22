"""The ZeroMQ bus: publisher, subscriber, ROUTER/DEALER helpers (see proto/README.md)."""

from .publisher import Publisher, new_session
from .reqrep import DealerClient, RouterServer
from .subscriber import BusEvent, EventKind, Header, Received, Subscriber

__all__ = [
    "BusEvent",
    "DealerClient",
    "EventKind",
    "Header",
    "Publisher",
    "Received",
    "RouterServer",
    "Subscriber",
    "new_session",
]
