"""Tokens never survive redaction, in any position a report may show them."""

from __future__ import annotations

import pytest

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


@pytest.mark.parametrize("text", [
    "a=1&ws%74oken=SECRET9&x=%ff", "%77%73%74%6F%6B%65%6E=SECRET9", "to%6Ben=SECRET9&y=2",
    "WSTOKEN=SECRET9", "wstoken[]=SECRET9", "wstoken%5B0%5D=SECRET9", "a=1&%20wstoken=SECRET9",
    "+token=SECRET9%ff", '{"to\\u006ben": "SECRET9"', '{"ws\\u0074oken" : "SECRET9"}',
])
def test_token_names_are_recognised_however_encoded(text: str) -> None:
    # The server reads the decoded name (PHP: ws%74oken is wstoken), so redaction does too.
    out = redact_text(text)
    assert "SECRET9" not in out and MASK in out


def test_structures_mask_names_as_php_reads_them() -> None:
    out = redact({" wstoken": "s1", "WSTOKEN": "s2", "token[]": ["s3"], "mytoken": "keep"})
    assert out == {" wstoken": MASK, "WSTOKEN": MASK, "token[]": MASK, "mytoken": "keep"}


def test_codec_errors_never_quote_a_token() -> None:
    from nexsis_openapi import codec
    with pytest.raises(codec.InvalidEncoding) as caught:
        codec.decode(b"a=1&wstoken=SECRET9%ff")
    assert "SECRET9" not in str(caught.value) and MASK in str(caught.value)
