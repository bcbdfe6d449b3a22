"""REST v3 under ``/derivatives/api/v3``: parameter parsing, authentication, rate budget,
response shapes and the handlers (thin aiohttp layer over the engine)."""
