"""Kraken Futures request signing, sans-I/O: pure functions shared by the simulator, the router
and the drop-copy listener.

REST (``Authent`` header), protocol reference section 2.2::

    Authent = base64(HMAC-SHA512(key=base64decode(secret),
                                 msg=SHA256(postData + Nonce + endpointPath)))

where ``endpointPath`` is the URL path with a leading ``/derivatives`` removed
(``/derivatives/api/v3/sendorder`` is signed as ``/api/v3/sendorder``; history paths such as
``/api/history/v2/orders`` are signed whole) and ``Nonce`` is ``""`` when no Nonce header is sent.

WebSocket challenge, section 4.3::

    signed_challenge = base64(HMAC-SHA512(key=base64decode(secret), msg=SHA256(challenge)))
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

DERIVATIVES_PREFIX = "/derivatives"


def endpoint_path(path: str) -> str:
    """The part of a URL path that is signed: ``path`` without a leading ``/derivatives``.

    Kraken quirk: only exactly that prefix is stripped, so history endpoints
    (``/api/history/...``) are signed with their full path.
    """
    if path.startswith(DERIVATIVES_PREFIX):
        return path[len(DERIVATIVES_PREFIX) :]
    return path


def decode_secret(secret_b64: str) -> bytes:
    """The raw HMAC key of a base64 API secret; :class:`ValueError` if it is not base64."""
    try:
        return base64.b64decode(secret_b64, validate=True)
    except (binascii.Error, ValueError) as e:
        raise ValueError("API secret is not valid base64") from e


def _sign_digest(key: bytes, digest: bytes) -> str:
    return base64.b64encode(hmac.new(key, digest, hashlib.sha512).digest()).decode("ascii")


def rest_authent(secret_b64: str, post_data: str, nonce: str, path: str) -> str:
    """The ``Authent`` header for a REST call.

    post_data: the ``&``-joined parameters exactly as signed (query string and/or body).
    nonce: the ``Nonce`` header value, or ``""`` when the header is not sent.
    path: the request path as called (``/derivatives/api/v3/...``) or already stripped.
    """
    return rest_authent_key(decode_secret(secret_b64), post_data, nonce, path)


def rest_authent_key(key: bytes, post_data: str, nonce: str, path: str) -> str:
    """:func:`rest_authent` with the secret already decoded (:func:`decode_secret`), for
    callers that sign many requests with one key: the order path skips a base64 decode."""
    message = (post_data + nonce + endpoint_path(path)).encode("utf-8")
    return _sign_digest(key, hashlib.sha256(message).digest())


def ws_challenge_signature(secret_b64: str, challenge: str) -> str:
    """The ``signed_challenge`` a private WebSocket subscribe carries for ``challenge``."""
    return _sign_digest(decode_secret(secret_b64), hashlib.sha256(challenge.encode("utf-8")).digest())


def signatures_match(expected: str, received: str) -> bool:
    """Constant-time comparison of two base64 signatures."""
    return hmac.compare_digest(
        expected.encode("ascii", "replace"), received.encode("ascii", "replace")
    )
