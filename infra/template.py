"""Read ``template.yaml``, the single source of truth, so local code never restates its numbers.

Only what the local cloud needs is interpreted: parameters' defaults, resource properties, and
the handful of intrinsic functions the template uses (``!Ref``, ``!GetAtt``, ``!Sub``), resolved
against the physical names of the resources created locally.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = ROOT / "template.yaml"
FUNCTIONS_DIR = ROOT / "functions"


class _CfnLoader(yaml.SafeLoader):
    """YAML loader that keeps CloudFormation short-form tags as their long form."""


def _construct(tag: str):
    def build(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        if isinstance(node, yaml.ScalarNode):
            value: Any = loader.construct_scalar(node)
            if tag == "GetAtt":
                value = value.split(".", 1)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {"Ref" if tag == "Ref" else f"Fn::{tag}": value}
    return build


for _tag in ("Ref", "GetAtt", "Sub", "Join", "Select", "Split", "If", "Equals", "Not", "FindInMap", "ImportValue"):
    _CfnLoader.add_constructor(f"!{_tag}", _construct(_tag))


@cache
def load(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        return yaml.load(handle, Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass


@dataclass
class Resolver:
    """Resolves intrinsics: ``refs`` maps a logical id to its Ref value, ``attrs`` (id, attr) to GetAtt."""

    refs: dict[str, Any] = field(default_factory=dict)
    attrs: dict[tuple[str, str], Any] = field(default_factory=dict)

    def __call__(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self(v) for v in value]
        if not isinstance(value, dict):
            return value
        if set(value) == {"Ref"}:
            return self._ref(value["Ref"])
        if set(value) == {"Fn::GetAtt"}:
            logical, attr = value["Fn::GetAtt"]
            return self._lookup(self.attrs, (logical, attr), f"{logical}.{attr}")
        if set(value) == {"Fn::Sub"}:
            return re.sub(r"\$\{([^}]+)\}", lambda m: str(self._sub(m.group(1))), value["Fn::Sub"])
        return {k: self(v) for k, v in value.items()}

    def _ref(self, name: str) -> Any:
        return self._lookup(self.refs, name, name)

    def _sub(self, name: str) -> Any:
        if "." in name:
            logical, attr = name.split(".", 1)
            return self._lookup(self.attrs, (logical, attr), name)
        return self._ref(name)

    @staticmethod
    def _lookup(table: dict[Any, Any], key: Any, name: str) -> Any:
        if key not in table:
            raise KeyError(f"template.yaml refers to {name}, which the local cloud does not provide")
        return table[key]


def parameters(overrides: dict[str, str] | None = None) -> dict[str, str]:
    values = {name: str(spec.get("Default", "")) for name, spec in load().get("Parameters", {}).items()}
    values.update(overrides or {})
    return values


def resource(logical_id: str) -> dict[str, Any]:
    return load()["Resources"][logical_id]


def resources_of_type(kind: str) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in load()["Resources"].items() if res["Type"] == kind}


@dataclass(frozen=True)
class FunctionSpec:
    """What the local runtime needs to run one ``AWS::Serverless::Function`` like Lambda would."""

    logical_id: str
    handler: str
    timeout_s: int
    memory_mb: int
    environment: dict[str, Any]
    events: dict[str, dict[str, Any]]


def function(logical_id: str) -> FunctionSpec:
    globals_ = load().get("Globals", {}).get("Function", {})
    props = resource(logical_id)["Properties"]
    env = dict(globals_.get("Environment", {}).get("Variables", {}))
    env.update(props.get("Environment", {}).get("Variables", {}))
    return FunctionSpec(
        logical_id=logical_id,
        handler=props["Handler"],
        timeout_s=int(props.get("Timeout", globals_.get("Timeout", 3))),
        memory_mb=int(props.get("MemorySize", globals_.get("MemorySize", 128))),
        environment=env,
        events=props.get("Events", {}),
    )


def event_of_type(kind: str) -> tuple[FunctionSpec, dict[str, Any]]:
    """The one function event of ``kind`` (e.g. "SQS") and the function it triggers."""
    found = [(function(name), ev["Properties"])
             for name in resources_of_type("AWS::Serverless::Function")
             for ev in function(name).events.values() if ev["Type"] == kind]
    if len(found) != 1:
        raise ValueError(f"expected one {kind} event in template.yaml, found {len(found)}")
    return found[0]


def api_routes() -> list[tuple[str, str, FunctionSpec]]:
    """(METHOD, path template, function) for every Api event."""
    return [(ev["Properties"]["Method"].upper(), ev["Properties"]["Path"], function(name))
            for name in resources_of_type("AWS::Serverless::Function")
            for ev in function(name).events.values() if ev["Type"] == "Api"]
