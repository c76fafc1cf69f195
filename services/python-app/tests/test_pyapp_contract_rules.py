"""The framework-free rules in launchlab_app.contract, and the shim's event building."""

from __future__ import annotations

import base64

import pytest
from launchlab_app import contract
from launchlab_app.function_url_shim import build_event


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("application/json", True),
        ("Application/JSON; charset=utf-8", True),
        ('application/json; charset="UTF-8"', True),
        ("application/json; charset=iso-8859-1", False),
        ("application/jsonp", False),
        ("text/json", False),
        ("", False),
        (None, False),
    ],
)
def test_json_content_type(value, ok) -> None:
    assert contract.is_json_content_type(value) is ok


def test_validate_compute_normalises_integral_floats_and_rejects_bools() -> None:
    assert contract.validate_compute({"payload": "", "rounds": 3.0}) == ("", 3)
    with pytest.raises(contract.ApiError) as err:
        contract.validate_compute({"payload": "", "rounds": False})
    assert (err.value.status, err.value.message) == (422, "rounds: must be an integer")


def test_lengths_are_code_points() -> None:
    assert contract.validate_echo({"message": "😀" * 1024})["message"] == "😀" * 1024
    with pytest.raises(contract.ApiError, match="message: must be 1 to 1024"):
        contract.validate_echo({"message": "😀" * 1025})


def test_parse_json_rejects_non_json_constants_and_deep_nesting() -> None:
    for raw in (b"Infinity", b'{"a": -Infinity}', b"[" * 100000):
        with pytest.raises(contract.ApiError) as err:
            contract.parse_json(raw)
        assert err.value.code == "invalid_json"


def test_iterated_sha256_is_rounds_plus_one_hashes() -> None:
    # h0 = sha256("abc"); h1 = sha256(h0)
    assert (
        contract.iterated_sha256("abc", 1)
        == "4f8b42c22dd3729b519ba6f68d2da7cc5b2d606d05daed5ad5128cc03e6c6358"
    )


def test_shim_event_is_payload_format_2() -> None:
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/echo",
        "raw_path": b"/echo",
        "query_string": b"a=1&a=2&b=",
        "headers": [
            (b"Content-Type", b"application/octet-stream"),
            (b"X-Multi", b"1"),
            (b"x-multi", b"2"),
            (b"cookie", b"s=1; t=2"),
        ],
        "client": ("127.0.0.1", 5555),
        "http_version": "1.1",
    }
    event = build_event(scope, b"\x00\xff", "req-1")
    assert event["version"] == "2.0"
    assert event["rawPath"] == "/echo" and event["rawQueryString"] == "a=1&a=2&b="
    assert event["queryStringParameters"] == {"a": "1,2", "b": ""}
    assert event["headers"] == {"content-type": "application/octet-stream", "x-multi": "1,2"}
    assert event["cookies"] == ["s=1", "t=2"]
    assert event["requestContext"]["http"]["method"] == "POST"
    assert event["requestContext"]["http"]["path"] == "/echo"
    assert event["requestContext"]["requestId"] == "req-1"
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == b"\x00\xff"
    text = build_event(
        {**scope, "headers": [(b"content-type", b"application/json")]}, b'{"m":"\xc3\xa9"}', "r"
    )
    assert text["isBase64Encoded"] is False and text["body"] == '{"m":"é"}'
