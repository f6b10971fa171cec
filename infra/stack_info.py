"""Where a deployed stack is, as a ``python -m local serve`` info file (``make stack-info``).

    python -m infra.stack_info --stack-name inorder --region us-east-1 [--info-file .inorder/aws.json]

Reads the stack's outputs (CloudFormation) and the API key's value (API Gateway), prints them and
writes the info-file keys ``api_url``, ``api_key``, ``region``, ``queue_url``, ``dlq_url``,
``table_name`` so that ``python -m local generate --info-file …`` and ``verify --info-file …``
work against the deployment. Uses your normal AWS credentials (or ``AWS_ENDPOINT_URL``).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import boto3


def stack_info(session: boto3.Session, stack_name: str) -> dict[str, Any]:
    stack = session.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    key = session.client("apigateway").get_api_key(apiKey=outputs["ApiKeyId"], includeValue=True)["value"]
    return {"api_url": outputs["ApiUrl"], "api_key": key, "region": session.region_name,
            "queue_url": outputs["EventsQueueUrl"], "dlq_url": outputs["DeadLetterQueueUrl"],
            "table_name": outputs["ResultsTableName"], "stack_name": stack_name}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.stack_info", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack-name", default="inorder")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--info-file", type=Path, default=Path(".inorder") / "aws.json")
    args = parser.parse_args(argv)
    info = stack_info(boto3.Session(region_name=args.region), args.stack_name)
    args.info_file.parent.mkdir(parents=True, exist_ok=True)
    args.info_file.write_text(json.dumps(info, indent=2) + "\n")
    print(json.dumps(info, indent=2))
    print(f"written to {args.info_file} (it holds the API key: keep it out of git; .inorder/ is ignored)",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
