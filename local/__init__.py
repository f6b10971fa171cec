"""The local cloud: inorder's whole AWS pipeline on one machine, no Docker, no network.

``functions/`` goes on the import path here, as it is the root of the Lambda code (its
``CodeUri``): the local cloud imports handlers and the domain package from it as Lambda does.
"""
import sys
from pathlib import Path

_FUNCTIONS = str(Path(__file__).resolve().parent.parent / "functions")
if _FUNCTIONS not in sys.path:
    sys.path.insert(0, _FUNCTIONS)
