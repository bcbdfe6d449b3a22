"""The Python message types and proto/ describe exactly the same JSON."""

from __future__ import annotations

import json

import jsonschema
import pytest

from common.messages import BY_NAME, MESSAGE_TYPES, DecodeError, ErrorCode, Message, decode, encode
from common.messages.schema import SCHEMA_PATH, render

from .examples import EXAMPLES

SCHEMA = json.loads(SCHEMA_PATH.read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def test_proto_is_generated_from_the_types() -> None:
    assert SCHEMA_PATH.read_bytes() == render(), "run: python -m common.messages.schema"


def test_every_type_is_in_proto_and_proto_has_no_other_type() -> None:
    proto_types = {ref["$ref"].rsplit("/", 1)[1] for ref in SCHEMA["oneOf"]}
    assert proto_types == set(BY_NAME)


def test_there_is_one_example_of_every_type() -> None:
    assert sorted(type(e).__name__ for e in EXAMPLES) == sorted(t.__name__ for t in MESSAGE_TYPES)


@pytest.mark.parametrize("msg", EXAMPLES, ids=lambda m: type(m).__name__)
def test_example_validates_against_proto_and_round_trips(msg: Message) -> None:
    payload = encode(msg)
    VALIDATOR.validate(json.loads(payload))
    assert decode(payload) == msg
    assert decode(payload, type(msg)) == msg


@pytest.mark.parametrize(
    ("payload", "code", "fragment"),
    [
        (b"", ErrorCode.PARSE_ERROR, "truncated"),
        (b"{", ErrorCode.PARSE_ERROR, "truncated"),
        (b"\xff\xfe", ErrorCode.PARSE_ERROR, ""),
        (b"42", ErrorCode.INVALID_MESSAGE, "Expected `object`"),
        (b"{}", ErrorCode.INVALID_MESSAGE, "missing required field `type`"),
        (b'{"type":"Nope"}', ErrorCode.INVALID_MESSAGE, "Invalid value 'Nope'"),
        (b'{"type":"CancelOrder","account":"a","order_id":0}', ErrorCode.INVALID_MESSAGE, "$.order_id"),
        (b'{"type":"CancelOrder","account":"a"}', ErrorCode.INVALID_MESSAGE, "order_id"),
        (b'{"type":"CancelOrder","account":"a","order_id":true}', ErrorCode.INVALID_MESSAGE, "$.order_id"),
        (
            b'{"type":"CreateOrder","account":"a","order_id":1,"symbol":"X","side":"UP","order_type":"LIMIT","quantity":1}',
            ErrorCode.INVALID_MESSAGE,
            "$.side",
        ),
        (
            b'{"type":"CreateOrder","account":"a","order_id":1,"symbol":"X","side":"BUY","order_type":"LIMIT","quantity":-1}',
            ErrorCode.INVALID_MESSAGE,
            "$.quantity",
        ),
        (
            b'{"type":"MarketByPrice","exchange":"x","symbol":"X","update_type":"SNAPSHOT","bids":[[1]]}',
            ErrorCode.INVALID_MESSAGE,
            "$.bids[0]",
        ),
    ],
)
def test_invalid_payload_raises_decode_error_with_reason(payload: bytes, code: ErrorCode, fragment: str) -> None:
    with pytest.raises(DecodeError) as info:
        decode(payload)
    assert info.value.code is code
    assert fragment in info.value.reason
    assert isinstance(info.value, ValueError) and not isinstance(info.value, KeyError)


def test_decode_as_wrong_type_is_a_decode_error() -> None:
    from common.messages import CancelOrder, Heartbeat

    with pytest.raises(DecodeError) as info:
        decode(encode(Heartbeat(service="x")), CancelOrder)
    assert info.value.code is ErrorCode.INVALID_MESSAGE
