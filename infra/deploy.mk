# Deployment: AWS (sam build + sam deploy), LocalStack, and SAM CLI's own venv.
# Included by the top-level Makefile (which defines PYTHON, BIN, STAMP, SAM_VENV, SAM, SAM_CLI_VERSION).
#
#   make deploy   STACK_NAME=inorder REGION=us-east-1   # build, then sam deploy (samconfig.toml)
#   make stack-info STACK_NAME=... REGION=...           # outputs + API key value -> .inorder/aws.json
#   make destroy  STACK_NAME=inorder REGION=us-east-1   # sam delete: everything, data included
#   make localstack-up / deploy-localstack / localstack-down   # needs Docker (stack inorder-ls)
#   make sam-validate                                   # sam validate --lint (offline)
STACK_NAME ?= inorder
REGION ?= us-east-1
# Extra sam build flags: --use-container builds in Docker when python3.12 is not on PATH.
SAM_BUILD_FLAGS ?=
# Template parameters, e.g. DEPLOY_PARAMS="ProcessingSeconds=1.0 LogLevel=DEBUG"
DEPLOY_PARAMS ?=
LOCALSTACK_ENDPOINT ?= http://localhost:4566
# Not 'inorder': 'python -m local demo' on LocalStack makes inorder-* queues, and the deployed
# stack's own (LocalStack) poller must not compete for them.
LOCALSTACK_STACK_NAME ?= inorder-ls
LOCALSTACK_COMPOSE := infra/localstack/docker-compose.yml
SAM_ENV := SAM_CLI_TELEMETRY=0

.PHONY: build deploy destroy stack-info deploy-localstack localstack-up localstack-down sam-validate

# SAM CLI pins boto3 exactly: it lives in its own venv, never in the project's.
$(SAM):
	test -x $(SAM_VENV)/bin/python || $(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet --disable-pip-version-check "aws-sam-cli==$(SAM_CLI_VERSION)"

sam-validate: $(SAM)  ## sam validate --lint, offline (no credentials needed)
	$(SAM_ENV) $(SAM) validate --lint --region $(REGION)

build: $(SAM)  ## sam build: needs python3.12 on PATH, or SAM_BUILD_FLAGS=--use-container (Docker)
	$(SAM_ENV) $(SAM) build $(SAM_BUILD_FLAGS)

deploy: build  ## sam deploy to AWS with samconfig.toml; needs AWS credentials
	$(SAM_ENV) $(SAM) deploy --stack-name $(STACK_NAME) --region $(REGION) \
	  $(if $(strip $(DEPLOY_PARAMS)),--parameter-overrides $(DEPLOY_PARAMS))
	$(MAKE) --no-print-directory stack-info

stack-info: $(STAMP)  ## the stack's addresses and API key value, as a 'serve' info file
	$(BIN)/python -m infra.stack_info --stack-name $(STACK_NAME) --region $(REGION) --info-file .inorder/aws.json

destroy: $(SAM)  ## delete the stack and everything in it (queues, table and their data)
	$(SAM_ENV) $(SAM) delete --stack-name $(STACK_NAME) --region $(REGION) --no-prompts

localstack-up:  ## LocalStack in Docker (infra/localstack/docker-compose.yml)
	docker compose -f $(LOCALSTACK_COMPOSE) up -d --wait

localstack-down:
	docker compose -f $(LOCALSTACK_COMPOSE) down

deploy-localstack: build $(STAMP)  ## the translated template as plain CloudFormation on LocalStack
	AWS_ENDPOINT_URL=$(LOCALSTACK_ENDPOINT) $(BIN)/python -m infra.deploy_localstack \
	  --stack-name $(LOCALSTACK_STACK_NAME) --region $(REGION) \
	  $(if $(strip $(DEPLOY_PARAMS)),--parameter-overrides $(DEPLOY_PARAMS))
