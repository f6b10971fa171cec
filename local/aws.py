"""boto3 clients for the local cloud's own code, and the dummy credentials local endpoints take."""
from __future__ import annotations

import os
from typing import Any

import boto3
from botocore.config import Config

DEFAULT_REGION = "us-east-1"


def use_dummy_credentials() -> None:
    """Local endpoints accept any key; never let a local run pick up (or need) real ones."""
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_SESSION_TOKEN", "testing")):
        os.environ.setdefault(name, value)
    os.environ.setdefault("AWS_DEFAULT_REGION", DEFAULT_REGION)


def client(service: str, endpoint_url: str | None, region: str, pool: int) -> Any:
    """A client whose connection pool is as wide as the threads that share it."""
    return boto3.client(service, endpoint_url=endpoint_url, region_name=region,
                        config=Config(max_pool_connections=pool, retries={"mode": "standard"}))
