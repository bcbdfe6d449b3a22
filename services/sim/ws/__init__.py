"""WebSocket v1 at ``/ws/v1``: subscriptions, the encode-once fan-out and the feeds."""
