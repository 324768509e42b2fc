"""The admin API's HTTP layer: how its query parameters are read.

The admin API is a developer's tool driven from shells and test code, where ``?keep_journal=1``
is as natural as ``?keep_journal=true`` (curl users write both, and so does mock/README.md).
Connexion's parser takes only ``true``/``false`` for a boolean, so this one also reads ``1``/``0``;
anything else stays a string and the schema refuses it with a 400.
"""

from __future__ import annotations

import typing as t

from connexion.uri_parsing import OpenAPIURIParser

__all__ = ["AdminURIParser"]

_BOOLEAN_WORDS = {"1": "true", "0": "false"}


class AdminURIParser(OpenAPIURIParser):
    """Connexion's OpenAPI 3 parser, with ``1``/``0`` read as the booleans ``true``/``false``."""

    def resolve_params(self, params: dict[str, t.Any], _in: str) -> dict[str, t.Any]:
        read = dict(params)
        for name, values in params.items():
            schema = self.param_schemas.get(name) or {}
            if schema.get("type") == "boolean" and isinstance(values, list):
                read[name] = [_BOOLEAN_WORDS.get(v, v) if isinstance(v, str) else v for v in values]
        return super().resolve_params(read, _in)
