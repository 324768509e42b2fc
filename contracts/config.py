"""Run settings: command-line options, environment tokens and the optional contracts.yaml, merged once.

Everything that decides what the suite may touch (mode, sandbox ids, the run's id prefix) is settled
here before the first request, so the guard never has to guess.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

SPECS = ("nexsis", "moodle-ws")
MODES = ("read-only", "safe", "full")
#: The environment variable each token is read from (and that curl reproductions refer to).
TOKEN_ENV = {
    "nexsis": "NEXSIS_TOKEN",
    "moodle-ws": "MOODLE_WS_TOKEN",
    "moodle-ws-nocap": "MOODLE_WS_NOCAP_TOKEN",
}

#: The keys of contracts.yaml and of its `limits:` (each documented in docs/contracts-yaml.md).
CONFIG_KEYS = ("base_url", "targets", "sandbox", "limits", "mode", "operations", "only", "report_dir")
LIMIT_KEYS = ("max_examples", "seed", "workers", "rate_limit", "time_budget", "require_success")

#: Entity kinds that a sandbox may name, per API. NexSIS ids are the SIS's strings, WS ids integers.
SANDBOX_KINDS: dict[str, tuple[str, ...]] = {
    "nexsis": ("course", "user", "group", "category", "program", "certification", "department", "position"),
    "moodle-ws": ("course", "user", "group", "program", "cohort"),
}


class ConfigError(ValueError):
    """A usage or configuration mistake: `nexsis check` exits 2 with this message."""


@dataclass
class Settings:
    base_url: str
    tokens: dict[str, str | None] = field(default_factory=dict)  # nexsis, moodle-ws, moodle-ws-nocap
    specs: tuple[str, ...] = SPECS
    operations: tuple[str, ...] = ()  # operationId / tag / spec patterns (fnmatch), empty = all
    max_examples: int = 8
    seed: int = 0
    workers: int = 1
    rate_limit: float | None = None  # requests per second
    time_budget: float | None = None  # seconds for the whole run
    report_dir: Path | None = None
    mode: str = "safe"
    force: bool = False
    dry_run: bool = False
    sandbox: dict[str, dict[str, list[Any]]] = field(default_factory=dict)
    targets: dict[str, str] = field(default_factory=dict)  # spec name -> base URL override
    run_id: str = ""
    request_timeout: float = 30.0
    stateful: bool = True
    require_success: bool = False  # exit 1 when an operation never answered with success
    progress: bool | None = None  # None: decide from the terminal

    @property
    def id_prefix(self) -> str:
        """Prefix of every id this run creates; no pre-existing record can carry it."""
        return f"NXCK{self.run_id}"

    def target(self, spec: str) -> str:
        return self.targets.get(spec, self.base_url).rstrip("/")

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(t for t in self.tokens.values() if t)

    @property
    def token_variables(self) -> dict[str, str]:
        """Environment variable -> token value, for reproductions that run as pasted."""
        return {TOKEN_ENV[k]: v for k, v in self.tokens.items() if v and k in TOKEN_ENV}

    def sandbox_ids(self, api: str, kind: str) -> list[Any]:
        return list(self.sandbox.get(api, {}).get(kind, []))


def is_loopback(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    if host in ("localhost", "localhost.localdomain") or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_RATE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:/\s*([smh]))?\s*$")


def parse_rate(text: str | float | int | None) -> float | None:
    """`10`, `10/s`, `600/m`, `3600/h` -> requests per second."""
    if text is None or text == "":
        return None
    if isinstance(text, int | float):
        rate = float(text)
    else:
        match = _RATE_RE.match(str(text))
        if not match:
            raise ConfigError(f"--rate-limit {text!r}: expected N, N/s, N/m or N/h")
        rate = float(match.group(1)) / {"s": 1, "m": 60, "h": 3600}[match.group(2) or "s"]
    if rate <= 0:
        raise ConfigError("--rate-limit must be positive")
    return rate


_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*$")


def parse_duration(text: str | float | int | None) -> float | None:
    """`90`, `90s`, `5m`, `1h` -> seconds."""
    if text is None or text == "":
        return None
    if isinstance(text, int | float):
        value = float(text)
    else:
        match = _DURATION_RE.match(str(text))
        if not match:
            raise ConfigError(f"--time-budget {text!r}: expected seconds or N[smh]")
        value = float(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[match.group(2)]
    if value <= 0:
        raise ConfigError("--time-budget must be positive")
    return value


def load_config_file(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise ConfigError(f"--config {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"--config {path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"--config {path}: expected a mapping at the top level")
    unknown = sorted(set(data) - set(CONFIG_KEYS))
    if unknown:
        raise ConfigError(f"--config {path}: unknown keys {unknown}; known: {sorted(CONFIG_KEYS)}")
    limits = data.get("limits")
    if isinstance(limits, dict) and set(limits) - set(LIMIT_KEYS):
        raise ConfigError(
            f"--config {path}: unknown keys under limits: {sorted(set(limits) - set(LIMIT_KEYS))}; "
            f"known: {sorted(LIMIT_KEYS)}"
        )
    return data


def read_sandbox(path: Path) -> dict[str, dict[str, list[Any]]]:
    """The sandbox of a contracts.yaml alone (`nexsis diff`: the recorded site of a HAR has no run)."""
    return _validate_sandbox(load_config_file(path).get("sandbox"))


def _validate_sandbox(raw: Any) -> dict[str, dict[str, list[Any]]]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError("sandbox: expected a mapping of API name to kinds")
    out: dict[str, dict[str, list[Any]]] = {}
    for api, kinds in raw.items():
        if api not in SANDBOX_KINDS:
            raise ConfigError(f"sandbox: unknown API {api!r}; known: {list(SANDBOX_KINDS)}")
        if not isinstance(kinds, dict):
            raise ConfigError(f"sandbox.{api}: expected a mapping of kind to id list")
        out[api] = {}
        for kind, ids in kinds.items():
            # Accept plural keys (`courses:`) as the natural way to write a list.
            name = kind
            for plural, singular in (("ies", "y"), ("s", "")):
                if kind.endswith(plural) and kind[: -len(plural)] + singular in SANDBOX_KINDS[api]:
                    name = kind[: -len(plural)] + singular
                    break
            if name not in SANDBOX_KINDS[api]:
                raise ConfigError(f"sandbox.{api}.{kind}: unknown kind; known: {list(SANDBOX_KINDS[api])}")
            if not isinstance(ids, list):
                raise ConfigError(f"sandbox.{api}.{kind}: expected a list of ids")
            if api == "moodle-ws" and not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
                raise ConfigError(f"sandbox.{api}.{kind}: Moodle ids are integers")
            out[api][name] = [i if api == "moodle-ws" else str(i) for i in ids]
    return out


def build_settings(
    *,
    base_url: str | None,
    config_path: Path | None = None,
    nexsis_token: str | None = None,
    ws_token: str | None = None,
    ws_nocap_token: str | None = None,
    only: list[str] | None = None,
    operations: list[str] | None = None,
    max_examples: int | None = None,
    seed: int | None = None,
    workers: int | None = None,
    rate_limit: str | None = None,
    time_budget: str | None = None,
    report_dir: Path | None = None,
    mode: str | None = None,
    force: bool = False,
    dry_run: bool = False,
    stateful: bool = True,
    require_success: bool = False,
    environ: dict[str, str] | None = None,
) -> Settings:
    """Merge options over the config file over defaults, and refuse unsafe or incoherent runs."""
    env = os.environ if environ is None else environ
    data = load_config_file(config_path) if config_path else {}
    limits = data.get("limits") or {}
    if not isinstance(limits, dict):
        raise ConfigError("limits: expected a mapping")
    base_url = base_url or data.get("base_url")
    if not base_url:
        raise ConfigError("--base-url is required (or base_url in --config)")
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"--base-url {base_url!r}: expected http(s)://host[:port][/path]")
    targets = data.get("targets") or {}
    if not isinstance(targets, dict) or any(k not in SPECS for k in targets):
        raise ConfigError(f"targets: expected a mapping with keys among {list(SPECS)}")
    targets = {k: (v["base_url"] if isinstance(v, dict) else v) for k, v in targets.items()}

    specs_sel = only or data.get("only") or list(SPECS)
    if isinstance(specs_sel, str):
        specs_sel = [specs_sel]
    for name in specs_sel:
        if name not in SPECS:
            raise ConfigError(f"--only {name!r}: expected one of {list(SPECS)}")

    ops = list(operations or data.get("operations") or [])
    ops = [p.strip() for item in ops for p in str(item).split(",") if p.strip()]

    def _int(value: Any, name: str, minimum: int) -> int:
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{name}: expected an integer, got {value!r}") from None
        if number < minimum:
            raise ConfigError(f"{name}: must be >= {minimum}")
        return number

    all_targets = [targets.get(s, base_url) for s in specs_sel]
    loopback = all(is_loopback(u) for u in all_targets)
    chosen_mode = mode or data.get("mode") or ("full" if loopback else "safe")
    if chosen_mode not in MODES:
        raise ConfigError(f"--mode {chosen_mode!r}: expected one of {list(MODES)}")
    if chosen_mode == "full" and not loopback and not force:
        raise ConfigError(
            "--mode full writes to anything and is refused for a non-loopback target; "
            "use --mode safe, or add --force if this really is a disposable site"
        )

    tokens = {
        "nexsis": nexsis_token or env.get(TOKEN_ENV["nexsis"]) or None,
        "moodle-ws": ws_token or env.get(TOKEN_ENV["moodle-ws"]) or None,
        "moodle-ws-nocap": ws_nocap_token or env.get(TOKEN_ENV["moodle-ws-nocap"]) or None,
    }
    missing = [s for s in specs_sel if not tokens[s] and not dry_run]
    if missing:
        env_names = {"nexsis": "NEXSIS_TOKEN / --nexsis-token", "moodle-ws": "MOODLE_WS_TOKEN / --ws-token"}
        raise ConfigError("missing token for " + ", ".join(f"{s} ({env_names[s]})" for s in missing))

    return Settings(
        base_url=base_url.rstrip("/"),
        tokens=tokens,
        specs=tuple(s for s in SPECS if s in specs_sel),
        operations=tuple(ops),
        max_examples=_int(
            max_examples if max_examples is not None else limits.get("max_examples", 8), "--max-examples", 1
        ),
        seed=_int(seed if seed is not None else limits.get("seed", secrets.randbelow(2**31)), "--seed", 0),
        workers=_int(workers if workers is not None else limits.get("workers", 1), "--workers", 1),
        rate_limit=parse_rate(rate_limit if rate_limit is not None else limits.get("rate_limit")),
        time_budget=parse_duration(time_budget if time_budget is not None else limits.get("time_budget")),
        report_dir=report_dir or (Path(data["report_dir"]) if data.get("report_dir") else None),
        mode=chosen_mode,
        force=force,
        dry_run=dry_run,
        sandbox=_validate_sandbox(data.get("sandbox")),
        targets=targets,
        run_id=secrets.token_hex(3).upper(),
        stateful=stateful,
        require_success=require_success or bool(limits.get("require_success", False)),
    )
