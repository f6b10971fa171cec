"""Turn ``template.yaml`` (SAM) into plain CloudFormation, offline, with aws-sam-translator.

This is what CloudFormation's ``AWS::Serverless-2016-10-31`` transform does server-side, done here
so the result can be checked (tests deploy it to moto's CloudFormation) or deployed where the SAM
transform is not available (``aws cloudformation deploy`` against LocalStack, say).

    python -m infra.translate [--region us-east-1] [--code-uri s3://bucket/key.zip] [-o out.json]

The function code must be in S3 for plain CloudFormation: every ``CodeUri`` becomes ``code_uri``
(a zip of ``functions/`` with its requirements, as ``sam build``/``sam package`` make it).
"""
from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path
from typing import Any

import boto3

from infra import template

DEFAULT_CODE_URI = "s3://inorder-code/functions.zip"
DEFAULT_REGION = "us-east-1"


def translate(path: Path = template.TEMPLATE_PATH, region: str = DEFAULT_REGION,
              code_uri: str = DEFAULT_CODE_URI, parameters: dict[str, str] | None = None) -> dict[str, Any]:
    """The template as plain CloudFormation (a JSON-able dict); raises if SAM rejects it."""
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    sam = copy.deepcopy(template.load(path))
    function_globals = sam.get("Globals", {}).get("Function", {})
    if "CodeUri" in function_globals:
        function_globals["CodeUri"] = code_uri
    for res in sam["Resources"].values():
        if res["Type"] == "AWS::Serverless::Function" and "CodeUri" in res.get("Properties", {}):
            res["Properties"]["CodeUri"] = code_uri
    # managed_policy_map={}: no IAM call to look AWS managed policies up (we are offline);
    # SAM then writes their ARNs, which is what it needs for the policies this template uses.
    translator = Translator(managed_policy_map={}, sam_parser=Parser(),
                            boto_session=boto3.Session(region_name=region))
    return translator.translate(sam_template=sam, parameter_values=dict(parameters or {}))


def split_code_uri(code_uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` -> (bucket, key)."""
    if not code_uri.startswith("s3://") or "/" not in code_uri[5:]:
        raise ValueError(f"code URI must be s3://bucket/key, got {code_uri!r}")
    bucket, key = code_uri[5:].split("/", 1)
    return bucket, key


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.translate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--template", type=Path, default=template.TEMPLATE_PATH)
    parser.add_argument("--region", default=DEFAULT_REGION)
    parser.add_argument("--code-uri", default=DEFAULT_CODE_URI)
    parser.add_argument("-o", "--output", type=Path, help="default: stdout")
    args = parser.parse_args(argv)
    text = json.dumps(translate(args.template, args.region, args.code_uri), indent=2) + "\n"
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
