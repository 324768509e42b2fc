"""Moodle's XML answers read back into the value its JSON answer would carry, for the same checks.

A ``server.php`` call without ``moodlewsrestformat=json`` (Moodle's default) is answered in XML:
``<RESPONSE>`` with the result as ``VALUE`` / ``MULTIPLE`` / ``SINGLE`` + ``KEY name=`` elements
(webservice/rest/locallib.php ``xmlize_result``), or ``<EXCEPTION class=...>`` with ``ERRORCODE``,
``MESSAGE`` and, when debugging is on, ``DEBUGINFO``. `read` turns either into the JSON value
(``{"exception", "errorcode", "message"}`` for the envelope), so the proxy judges an XML exchange
by the very checks of a JSON one: the envelope rules and the function's return schema.

XML loses what JSON says, so the reading is lenient wherever a correct Moodle could have meant
either (never a false alarm; contracts/README.md lists these):

- every scalar is text: it is typed by the function's schema at that place (``"12"`` is 12 where
  an integer is expected, ``1``/``0`` (and ``true``/``false``, or the empty text of PHP's false)
  a boolean); text that cannot be the expected type stays text, and the schema says it is wrong;
- an absent optional value and a null are not told apart: Moodle writes every key of the
  function's description, a missing optional value as ``<VALUE null="null"/>``, a missing optional
  structure as a ``SINGLE`` of null keys or an empty ``MULTIPLE``. A key that is null in any of these
  ways becomes null where the schema allows null and is left out where the key is optional; only a
  required, non-nullable key reads as what was sent. A key the description has and the answer
  lacks is missing, as in JSON (Moodle writes them all; Moodle 2.0 wrote
  ``<ERROR>Missing required key</ERROR>`` instead of a required one, which reads as missing too);
- an empty ``MULTIPLE`` is an empty list, an empty ``RESPONSE`` is ``null`` (a function without
  result);
- characters XML 1.0 cannot carry, which Moodle writes raw (the answer is then not well-formed),
  are read as U+FFFD.

Parsing goes through defusedxml (no entity expansion, no external entities): the answer is the
upstream's, whatever site that is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import Element

from defusedxml import ElementTree as SafeTree

#: Characters XML 1.0 cannot carry (Moodle writes them raw).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_INT = re.compile(r"[+-]?[0-9]+")
_TRUE = ("1", "true")
_FALSE = ("0", "false", "")
#: Nothing to say about a key: left out of its parent.
_ABSENT = object()


class NotMoodleXml(ValueError):
    """The body is no well-formed Moodle answer (not XML, or neither RESPONSE nor EXCEPTION)."""


@dataclass
class Read:
    value: Any  # the JSON-equivalent value
    exception: bool  # an EXCEPTION envelope (else a RESPONSE)


def parse(body: bytes) -> Element:
    text = body.decode("utf-8", "replace")
    try:
        root = SafeTree.fromstring(_NOT_XML.sub("\ufffd", text))
    except SafeTree.ParseError as exc:
        raise NotMoodleXml(f"not well-formed XML: {exc}") from None
    except Exception as exc:  # defusedxml's refusals (entities, DTDs)
        raise NotMoodleXml(f"XML refused: {type(exc).__name__}") from None
    if root.tag not in ("RESPONSE", "EXCEPTION"):
        raise NotMoodleXml(f"root element <{root.tag}>, not Moodle's <RESPONSE> or <EXCEPTION>")
    return root


def read(body: bytes, schema: Any) -> Read:
    """The answer as JSON would carry it; `schema` (JSON Schema, refs inlined) types the scalars."""
    root = parse(body)
    if root.tag == "EXCEPTION":
        return Read(_exception(root), True)
    children = list(root)
    if not children:
        return Read(None, False)
    if len(children) > 1:
        raise NotMoodleXml(f"<RESPONSE> holds {len(children)} elements, Moodle writes one")
    return Read(_value(children[0], schema or {}), False)


def _exception(root: Element) -> dict[str, Any]:
    """The envelope's members, each only if its element is there (the checks say what is missing)."""
    out: dict[str, Any] = {}
    if "class" in root.attrib:
        out["exception"] = root.attrib["class"]
    for tag, key in (("ERRORCODE", "errorcode"), ("MESSAGE", "message"), ("DEBUGINFO", "debuginfo")):
        element = root.find(tag)
        if element is not None:
            out[key] = element.text or ""
    return out


# -- a result, typed by its schema -----------------------------------------------------------------


def _branches(schema: Any) -> list[Any]:
    if isinstance(schema, dict):
        for key in ("anyOf", "oneOf"):
            if isinstance(schema.get(key), list) and schema[key]:
                return [{**{k: v for k, v in schema.items() if k != key}, **b} for b in schema[key]]
    return [schema if isinstance(schema, dict) else {}]


def _types(schema: dict[str, Any]) -> set[str]:
    t = schema.get("type")
    if isinstance(t, str):
        return {t}
    if isinstance(t, list):
        return {x for x in t if isinstance(x, str)}
    if "properties" in schema:
        return {"object"}
    if "items" in schema:
        return {"array"}
    return set()


def _nullable(schema: Any) -> bool:
    for branch in _branches(schema):
        types = _types(branch)
        if "null" in types or (not types and "enum" not in branch):
            return True
        if None in (branch.get("enum") or []):
            return True
    return False


def _is_null(element: Element) -> bool:
    """Null in any of Moodle's XML forms: ``VALUE null``, a SINGLE of nulls, an empty MULTIPLE."""
    if element.tag == "VALUE":
        return element.get("null") == "null"
    if element.tag == "MULTIPLE":
        return len(element) == 0
    if element.tag == "SINGLE":
        return all(_is_null(key[0]) if len(key) else True for key in element if key.tag == "KEY")
    return False


def _value(element: Element, schema: Any) -> Any:
    branches = _branches(schema)
    if len(branches) == 1:
        return _one(element, branches[0])
    import jsonschema

    converted = [_one(element, branch) for branch in branches]
    for value, branch in zip(converted, branches, strict=True):
        if jsonschema.Draft4Validator(branch).is_valid(value):
            return value
    return converted[0]


def _one(element: Element, schema: dict[str, Any]) -> Any:
    if element.tag == "VALUE":
        if element.get("null") == "null":
            return None
        return _scalar(element.text or "", _types(schema))
    if element.tag == "MULTIPLE":
        items = schema.get("items") if isinstance(schema.get("items"), dict) else {}
        return [_value(child, items) for child in element]
    if element.tag == "SINGLE":
        return _single(element, schema)
    raise NotMoodleXml(f"<{element.tag}> where Moodle writes VALUE, MULTIPLE or SINGLE")


def _single(element: Element, schema: dict[str, Any]) -> dict[str, Any]:
    found = schema.get("properties")
    properties: dict[str, Any] = found if isinstance(found, dict) else {}
    required = set(schema.get("required") or ())
    out: dict[str, Any] = {}
    for key in element:
        if key.tag != "KEY":
            continue  # Moodle's own <ERROR>Missing required key</ERROR>: the key is missing
        name = key.get("name", "")
        if len(key) != 1:
            raise NotMoodleXml(f'<KEY name="{name}"> holds {len(key)} elements, Moodle writes one')
        sub = properties.get(name, {})
        value = _key_value(key[0], sub, name in required)
        if value is not _ABSENT:
            out[name] = value
    return out


def _key_value(child: Element, schema: Any, required: bool) -> Any:
    if _is_null(child) and not _wants_empty(child, schema):
        if _nullable(schema):
            return None
        if not required:
            return _ABSENT
    return _value(child, schema)


def _wants_empty(child: Element, schema: Any) -> bool:
    """An empty MULTIPLE where a list is expected is the empty list, not a null."""
    return child.tag == "MULTIPLE" and any("array" in _types(b) for b in _branches(schema))


def _scalar(text: str, types: set[str]) -> Any:
    if "integer" in types and _INT.fullmatch(text.strip()):
        return int(text.strip())
    if "number" in types:
        try:
            return float(text) if not _INT.fullmatch(text.strip()) else int(text.strip())
        except ValueError:
            pass
    if "boolean" in types:
        low = text.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
    return text
