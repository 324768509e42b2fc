"""Tokens never survive redaction, in any position a report may show them."""

from __future__ import annotations

from nexsis_openapi.redact import MASK, redact, redact_text

SECRET = "s3cr3t-T0KEN-value"


def test_known_secret_is_masked_anywhere() -> None:
    assert SECRET not in redact_text(f"curl -d 'x={SECRET}' https://h/{SECRET}", [SECRET])


def test_token_positions_are_masked_even_when_unknown() -> None:
    text = ("GET /ping?token=abc123&x=1 wstoken=zzz9 "
            'Authorization: Bearer qwerty {"wstoken": "jsonsecret"}')
    out = redact_text(text)
    for value in ("abc123", "zzz9", "qwerty", "jsonsecret"):
        assert value not in out
    assert "x=1" in out and out.count(MASK) == 4


def test_structures_mask_secret_named_keys() -> None:
    data = {"headers": {"Authorization": "Bearer abc", "Accept": "*/*"},
            "params": [("wstoken", "abc")], "body": {"wstoken": "abc", "name": "ok"}}
    out = redact(data)
    assert out["headers"]["Authorization"] == MASK
    assert out["headers"]["Accept"] == "*/*"
    assert out["body"] == {"wstoken": MASK, "name": "ok"}


def test_short_or_empty_values_are_left_alone() -> None:
    assert redact_text("token=&a=1") == "token=&a=1"
