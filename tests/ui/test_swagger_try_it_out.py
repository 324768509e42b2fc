"""Swagger UI "Try it out" calls every web-service function as a Moodle client would (issue 12).

In a real headless chromium: the page of /ui/, Authorize with a web-service token, then for each
function "Try it out" filled with the function's first recorded request example (moodle-ws.yaml,
seeded from a real Moodle), Execute. The mock's journal then shows what arrived: one POST to
``server.php`` (the ``#function`` fragment gone), the token in the query, the parameters decoded
from PHP bracket notation equal to the example, no empty optional field; and the page shows the
answer the mock gave. A screenshot of each answered operation is left in .ui-screenshots/.
"""

from __future__ import annotations

import json
import time
import typing as t

import httpx
import pytest

from nexsis_openapi import load_spec
from nexsis_openapi.moodle import SERVER_FIELDS, functions

from .conftest import SHOTS

TOKEN = "ws-admin-token-0001"  # the default fixtures' site administrator token


def _operation(function: str) -> dict[str, t.Any]:
    return load_spec("moodle-ws")["paths"]["/webservice/rest/server.php#" + function]["post"]


def _example(function: str) -> dict[str, t.Any]:
    """The first recorded example that is not an error case (else the first)."""
    form = _operation(function)["requestBody"]["content"]["application/x-www-form-urlencoded"]
    examples = list(form.get("examples", {}).values())
    assert examples, f"{function} has no request example to try"
    chosen = next((e for e in examples if "(error)" not in e.get("summary", "")), examples[0])
    return dict(chosen["value"])


def _wire(value: t.Any) -> t.Any:
    """A value as Moodle decodes it from the form: strings at the leaves, booleans as 1/0."""
    if isinstance(value, dict):
        return {k: _wire(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_wire(v) for v in value]
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _wait(predicate: t.Callable[[], t.Any], what: str, timeout: float = 20) -> t.Any:
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        assert time.monotonic() < deadline, f"the page never showed {what}"
        time.sleep(0.1)


def _authorize(driver: t.Any) -> None:
    from selenium.webdriver.common.by import By

    _wait(lambda: driver.find_elements(By.CSS_SELECTOR, ".btn.authorize"), "the Authorize button")[0].click()
    # The page keeps an authorization across reloads (persistAuthorization): log out, type it again.
    for button in driver.find_elements(By.CSS_SELECTOR, ".modal-ux .auth-btn-wrapper button"):
        if button.text == "Logout":
            button.click()
    field = _wait(lambda: driver.find_elements(By.CSS_SELECTOR, ".modal-ux input"), "the token field")[0]
    field.send_keys(TOKEN)
    driver.find_element(By.CSS_SELECTOR, ".modal-ux .auth-btn-wrapper .authorize").click()
    driver.find_element(By.CSS_SELECTOR, ".modal-ux .btn-done").click()


def _fill(driver: t.Any, block: t.Any, name: str, value: t.Any) -> None:
    """Type one example field into its form row the way a user does (select, input, items, JSON)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    row = block.find_element(By.CSS_SELECTOR, f"tr[data-property-name='{name}']")

    def typed(element: t.Any, text: str) -> None:
        element.send_keys(Keys.CONTROL, "a")
        element.send_keys(Keys.DELETE)
        element.send_keys(text)

    if isinstance(value, list):
        add = next(b for b in row.find_elements(By.CSS_SELECTOR, "button") if b.text.startswith("Add"))
        for _ in value:
            add.click()
        fields = row.find_elements(By.CSS_SELECTOR, "textarea, input[type=text], select")
        assert len(fields) == len(value), (name, len(fields))
        for field, item in zip(fields, value, strict=True):
            if field.tag_name == "select":
                Select(field).select_by_value(str(item))
            else:
                typed(field, json.dumps(item) if isinstance(item, dict | list) else str(item))
        return
    selects = row.find_elements(By.CSS_SELECTOR, "select")
    if selects:
        Select(selects[0]).select_by_value(str(_wire(value)))
        return
    field = row.find_elements(By.CSS_SELECTOR, "textarea, input[type=text]")[0]
    typed(field, json.dumps(value) if isinstance(value, dict | list) else str(value))


@pytest.mark.parametrize("function", functions())
def test_try_it_out_sends_a_moodle_call_and_shows_the_answer(browser: t.Any, ui_server: t.Any,
                                                             function: str) -> None:
    from selenium.webdriver.common.by import By

    base = ui_server.base_url
    httpx.post(base + "/__admin/reset", json={})
    example = _example(function)
    browser.get(base + "/ui/")
    _authorize(browser)
    tag = _operation(function)["tags"][0]
    block = browser.find_element(By.CSS_SELECTOR, f"[id='operations-{tag}-{function}']")
    block.find_element(By.CSS_SELECTOR, ".opblock-summary").click()
    _wait(lambda: block.find_elements(By.CSS_SELECTOR, ".try-out__btn"), "Try it out")[0].click()
    parameters = {k: v for k, v in example.items() if k not in SERVER_FIELDS}
    for name, value in parameters.items():
        _fill(browser, block, name, value)
    block.find_element(By.CSS_SELECTOR, ".execute").click()
    shown = _wait(lambda: block.find_elements(By.CSS_SELECTOR, ".live-responses-table .microlight"),
                  "the answer")[0]
    SHOTS.mkdir(exist_ok=True)
    browser.execute_script("arguments[0].scrollIntoView()",
                           block.find_element(By.CSS_SELECTOR, ".responses-inner"))
    browser.save_screenshot(str(SHOTS / f"{function}.png"))

    journal = httpx.get(base + "/__admin/requests").json()["requests"]
    calls = [e for e in journal if e["path"] == "/webservice/rest/server.php"]
    assert len(calls) == 1, journal  # one call, fragment stripped (server.php%23fn would be a 404)
    call = calls[0]
    assert call["method"] == "POST" and call["wsfunction"] == function
    assert call["query"] == {"wstoken": "[REDACTED]"}  # the token from Authorize
    sent = {k: v for k, v in call["body"].items() if k not in SERVER_FIELDS}
    # bracket notation decoded back to the example; no empty field sent
    assert sent == _wire({k: v for k, v in parameters.items() if v != ""})
    assert not any(v == "" for v in call["body"].values())
    answer = call["response"]
    refused = isinstance(answer, dict) and answer.get("errorcode") in ("invalidtoken", "invalidparameter")
    assert not refused, answer
    assert json.loads(shown.text) == answer  # the page shows what the mock answered
