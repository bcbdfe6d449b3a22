"""Signing test vectors from the protocol reference (sections 2.2 and 4.3)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from common.kraken import auth

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "kraken"


def test_rest_authent_vector() -> None:
    v = json.loads((FIXTURES / "sdk_test__rest_authent_test_vector.json").read_text())
    got = auth.rest_authent(v["api_secret_b64"], v["postData"], v["nonce"], v["endpoint_as_called"])
    assert got == v["Authent"]
    # the stripped path signs identically
    stripped = v["endpointPath_signed"]
    assert auth.rest_authent(v["api_secret_b64"], v["postData"], v["nonce"], stripped) == got


def test_ws_challenge_vector() -> None:
    v = json.loads((FIXTURES / "docs__ws_challenge_signing_test_vector.json").read_text())
    assert auth.ws_challenge_signature(v["api_secret"], v["challenge"]) == v["signed_challenge"]


def test_endpoint_path_strips_only_derivatives() -> None:
    assert auth.endpoint_path("/derivatives/api/v3/orderbook") == "/api/v3/orderbook"
    assert auth.endpoint_path("/api/history/v2/orders") == "/api/history/v2/orders"


def test_bad_secret_is_value_error() -> None:
    with pytest.raises(ValueError):
        auth.rest_authent("not base64!!", "", "", "/api/v3/accounts")


def test_signatures_match() -> None:
    assert auth.signatures_match("abc", "abc")
    assert not auth.signatures_match("abc", "abd")
