"""Settings from the environment that ``template.yaml`` defines, read and validated in one place.

A missing or malformed variable fails the cold start with a message naming it, rather than a
``KeyError`` deep in a request.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass


class ConfigError(RuntimeError):
    """The function's environment is not what template.yaml promises."""


@dataclass(frozen=True)
class Settings:
    queue_url: str
    table_name: str
    processing_seconds: float = 1.0
    retry_base_seconds: float = 1.0


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    missing = [name for name in ("EVENTS_QUEUE_URL", "RESULTS_TABLE") if not env.get(name)]
    if missing:
        raise ConfigError(f"missing environment variable(s): {', '.join(missing)}")
    return Settings(env["EVENTS_QUEUE_URL"], env["RESULTS_TABLE"],
                    _seconds(env, "PROCESSING_SECONDS", "1.0"), _seconds(env, "RETRY_BASE_SECONDS", "1.0"))


def _seconds(env: Mapping[str, str], name: str, default: str) -> float:
    raw = env.get(name, default)
    try:
        seconds = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, got {raw!r}") from None
    if not 0 <= seconds <= 60:
        raise ConfigError(f"{name} must be between 0 and 60, got {seconds}")
    return seconds
