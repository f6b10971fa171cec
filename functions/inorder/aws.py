"""AWS clients for the functions, created once per container and passed into the services.

The connection pool is as wide as the parallelism that shares a client: on Lambda that is one
invocation's groups (at most ten), while the local cloud runs many invocations in one process
and widens it through ``INORDER_MAX_POOL_CONNECTIONS`` - otherwise botocore would open and
throw away a connection on every call beyond the tenth.
"""
from __future__ import annotations

import os
from typing import Any

import boto3
from botocore.config import Config


def client(service: str) -> Any:
    pool = int(os.environ.get("INORDER_MAX_POOL_CONNECTIONS", "10"))
    return boto3.client(service, config=Config(max_pool_connections=pool, retries={"mode": "standard"}))
