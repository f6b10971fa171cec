"""Deploy ``template.yaml`` to LocalStack as plain CloudFormation (``make deploy-localstack``).

    AWS_ENDPOINT_URL=http://localhost:4566 python -m infra.deploy_localstack [--stack-name inorder]

Steps: zip the function code that ``sam build`` made (``.aws-sam/build/<Function>``: the code plus
its requirements, built for python3.12), put it in a bucket on the endpoint, translate the template
offline (``infra.translate``: no SAM transform needed on the endpoint), create or update the stack,
wait, and print the outputs plus the LocalStack URL of the API and the API key's value.

It refuses to run without ``AWS_ENDPOINT_URL``: real AWS is ``make deploy`` (``sam deploy``).
"""
from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import sys
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import boto3
from botocore.exceptions import ClientError

from infra import template
from infra.translate import translate

BUILD_DIR = template.ROOT / ".aws-sam" / "build"


def zip_dir(directory: Path) -> bytes:
    """A deterministic zip of ``directory`` (same content, same bytes: unchanged code, no update)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in directory.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            info = zipfile.ZipInfo(str(path.relative_to(directory)), date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            archive.writestr(info, path.read_bytes(), zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def built_code(build_dir: Path = BUILD_DIR) -> bytes:
    """The built code of the template's functions; they share one CodeUri, so one zip serves all."""
    names = sorted(template.resources_of_type("AWS::Serverless::Function"))
    missing = [n for n in names if not (build_dir / n).is_dir()]
    if missing:
        raise SystemExit(f"no build of {', '.join(missing)} in {build_dir}: run 'make build' (sam build) first")
    zips = {name: zip_dir(build_dir / name) for name in names}
    if len(set(zips.values())) != 1:
        raise SystemExit("the functions' builds differ; this deploy assumes one shared CodeUri")
    return zips[names[0]]


def upload(s3: Any, bucket: str, code: bytes) -> str:
    try:
        s3.create_bucket(Bucket=bucket)
    except ClientError as error:
        if error.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise
    key = f"functions-{hashlib.sha256(code).hexdigest()[:16]}.zip"
    s3.put_object(Bucket=bucket, Key=key, Body=code)
    return f"s3://{bucket}/{key}"


def deploy_stack(cfn: Any, stack_name: str, body: dict[str, Any], parameters: dict[str, str]) -> str:
    """Create or update; returns the final status (raises on failure)."""
    kwargs = {"StackName": stack_name, "TemplateBody": json.dumps(body), "Capabilities": ["CAPABILITY_IAM"],
              "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()]}
    try:
        cfn.describe_stacks(StackName=stack_name)
        exists = True
    except ClientError:
        exists = False
    waiter_config = {"Delay": 2, "MaxAttempts": 300}
    if exists:
        try:
            cfn.update_stack(**kwargs)
        except ClientError as error:
            if "No updates are to be performed" not in str(error):
                raise
        else:
            cfn.get_waiter("stack_update_complete").wait(StackName=stack_name, WaiterConfig=waiter_config)
    else:
        cfn.create_stack(**kwargs)
        cfn.get_waiter("stack_create_complete").wait(StackName=stack_name, WaiterConfig=waiter_config)
    return cfn.describe_stacks(StackName=stack_name)["Stacks"][0]["StackStatus"]


def localstack_api_url(endpoint_url: str, api_id: str, stage: str) -> str:
    """LocalStack's address of a REST API stage: <api-id>.execute-api.localhost.localstack.cloud."""
    port = urlparse(endpoint_url).port or 4566
    return f"http://{api_id}.execute-api.localhost.localstack.cloud:{port}/{stage}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.deploy_localstack", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack-name", default="inorder")
    parser.add_argument("--region", default=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    parser.add_argument("--parameter-overrides", nargs="*", default=[], metavar="KEY=VALUE")
    parser.add_argument("--info-file", type=Path, default=Path(".inorder") / "localstack.json",
                        help="where to write the addresses (the 'serve' info-file keys)")
    args = parser.parse_args(argv)
    endpoint_url = os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint_url:
        parser.error("AWS_ENDPOINT_URL is not set (e.g. http://localhost:4566); for AWS use 'make deploy'")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(name, "test")  # LocalStack takes any key
    parameters = dict(item.split("=", 1) for item in args.parameter_overrides)

    session = boto3.Session(region_name=args.region)
    code_uri = upload(session.client("s3"), f"{args.stack_name}-code", built_code())
    body = translate(region=args.region, code_uri=code_uri)
    cfn = session.client("cloudformation")
    status = deploy_stack(cfn, args.stack_name, body, parameters)
    stack = cfn.describe_stacks(StackName=args.stack_name)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    api_id = cfn.describe_stack_resource(StackName=args.stack_name,
                                         LogicalResourceId="EventsApi")["StackResourceDetail"]["PhysicalResourceId"]
    stage = parameters.get("StageName", template.parameters()["StageName"])
    api_key = session.client("apigateway").get_api_key(apiKey=outputs["ApiKeyId"], includeValue=True)["value"]
    info = {"api_url": localstack_api_url(endpoint_url, api_id, stage), "api_key": api_key,
            "endpoint_url": endpoint_url, "region": args.region, "queue_url": outputs["EventsQueueUrl"],
            "dlq_url": outputs["DeadLetterQueueUrl"], "table_name": outputs["ResultsTableName"],
            "stack_name": args.stack_name}
    args.info_file.parent.mkdir(parents=True, exist_ok=True)
    args.info_file.write_text(json.dumps(info, indent=2) + "\n")
    print(json.dumps({"status": status, **info}, indent=2))
    print(f"addresses in {args.info_file}: python -m local generate --info-file {args.info_file} ...",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
