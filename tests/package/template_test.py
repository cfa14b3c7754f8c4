#!/usr/bin/env python3
"""Checks deploy/template.yaml against job-fetcher's settings.

Every environment variable the template sets must be a setting job-fetcher reads. The names
come from `job-fetcher settings --names` or from --names-file. Secret-looking variables must come
from NoEcho parameters. Both functions must run on provided.al2023 with a known handler and
without asynchronous retries. The Fetcher must be allowed to invoke the Authenticator, and the
schedule input must be valid JSON.

Exit codes: 0 passed, 1 failed, 77 skipped (PyYAML missing or no settings list available).
"""

import argparse
import json
import re
import subprocess
import sys

try:
    import yaml
except ImportError:
    print("SKIPPED: PyYAML is not installed (Debian: python3-yaml)")
    sys.exit(77)

# Reserved environment variables of the Lambda runtime environment; a function cannot set them.
RESERVED_NAMES = re.compile(
    r"^(_HANDLER|_X_AMZN_TRACE_ID|AWS_DEFAULT_REGION|AWS_REGION|AWS_EXECUTION_ENV"
    r"|AWS_LAMBDA_FUNCTION_NAME|AWS_LAMBDA_FUNCTION_MEMORY_SIZE|AWS_LAMBDA_FUNCTION_VERSION"
    r"|AWS_LAMBDA_INITIALIZATION_TYPE|AWS_LAMBDA_LOG_GROUP_NAME|AWS_LAMBDA_LOG_STREAM_NAME"
    r"|AWS_ACCESS_KEY|AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|AWS_SESSION_TOKEN"
    r"|AWS_LAMBDA_RUNTIME_API|LAMBDA_TASK_ROOT|LAMBDA_RUNTIME_DIR)$")
SECRET_NAMES = re.compile(r"SECRET|TOKEN|PASSWORD|KEY|STORE")
HANDLERS = {"fetch", "authenticate"}


class CloudFormationLoader(yaml.SafeLoader):
    """Reads CloudFormation short-form tags (!Ref, !If, !Sub ...) as {"Fn": value} mappings."""


def _construct_tag(loader, tag_suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    name = "Ref" if tag_suffix == "Ref" else "Fn::" + tag_suffix
    return {name: value}


CloudFormationLoader.add_multi_constructor("!", _construct_tag)


def referenced_parameters(value):
    """Returns the parameter names a value refers to through Ref, If or Sub."""
    found = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                found.add(inner)
            elif key == "Fn::Sub" and isinstance(inner, str):
                found.update(re.findall(r"\$\{([A-Za-z0-9]+)\}", inner))
            else:
                found |= referenced_parameters(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= referenced_parameters(inner)
    return found


def load_setting_names(args):
    if args.names_file:
        with open(args.names_file, encoding="utf-8") as names:
            return {line.strip() for line in names if line.strip()}
    try:
        output = subprocess.run([args.job_fetcher, "settings", "--names"], check=True,
                                capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError) as failure:
        print(f"SKIPPED: `{args.job_fetcher} settings --names` failed: {failure}")
        sys.exit(77)
    return {line.strip() for line in output.splitlines() if line.strip()}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--template", required=True)
    parser.add_argument("--job-fetcher", help="job-fetcher binary that prints the setting names")
    parser.add_argument("--names-file", help="file with one environment name per line")
    args = parser.parse_args()
    if not args.job_fetcher and not args.names_file:
        parser.error("give --job-fetcher or --names-file")

    with open(args.template, encoding="utf-8") as source:
        template = yaml.load(source, Loader=CloudFormationLoader)
    known = load_setting_names(args)
    if not known:
        print("FAILED: the settings list is empty")
        return 1

    failures = []
    parameters = template.get("Parameters", {})
    globals_function = template.get("Globals", {}).get("Function", {})
    functions = {name: resource["Properties"] for name, resource in template["Resources"].items()
                 if resource["Type"] == "AWS::Serverless::Function"}
    if set(functions) != {"FetcherFunction", "AuthenticatorFunction"}:
        failures.append(f"expected FetcherFunction and AuthenticatorFunction, got {sorted(functions)}")

    for name, properties in functions.items():
        runtime = properties.get("Runtime", globals_function.get("Runtime"))
        if runtime != "provided.al2023":
            failures.append(f"{name}: Runtime is {runtime}, expected provided.al2023")
        if properties.get("Handler") not in HANDLERS:
            failures.append(f"{name}: Handler {properties.get('Handler')} is not one of {sorted(HANDLERS)}")
        invoke_config = properties.get("EventInvokeConfig", globals_function.get("EventInvokeConfig", {}))
        if invoke_config.get("MaximumRetryAttempts") != 0:
            failures.append(f"{name}: EventInvokeConfig.MaximumRetryAttempts must be 0")

        variables = dict(globals_function.get("Environment", {}).get("Variables", {}))
        variables.update(properties.get("Environment", {}).get("Variables", {}))
        for variable, value in sorted(variables.items()):
            if RESERVED_NAMES.match(variable):
                failures.append(f"{name}: {variable} is reserved by Lambda")
            elif variable not in known:
                failures.append(f"{name}: {variable} is not a job-fetcher setting")
            if SECRET_NAMES.search(variable):
                for parameter in referenced_parameters(value):
                    if parameter in parameters and not parameters[parameter].get("NoEcho"):
                        failures.append(f"{name}: {variable} comes from parameter {parameter}, "
                                        "which must be NoEcho")

    fetcher = functions.get("FetcherFunction", {})
    statements = [statement for policy in fetcher.get("Policies", []) if isinstance(policy, dict)
                  for statement in policy.get("Statement", [])]
    if not any(statement.get("Action") == "lambda:InvokeFunction" and
               "AuthenticatorFunction" in json.dumps(statement.get("Resource"))
               for statement in statements):
        failures.append("FetcherFunction: no lambda:InvokeFunction statement on AuthenticatorFunction")

    schedules = [event["Properties"] for event in fetcher.get("Events", {}).values()
                 if event.get("Type") == "ScheduleV2"]
    if not schedules:
        failures.append("FetcherFunction: no EventBridge Scheduler (ScheduleV2) event")
    for schedule in schedules:
        text = schedule.get("Input", {}).get("Fn::Sub", "")
        for parameter, spec in parameters.items():
            text = text.replace("${" + parameter + "}", str(spec.get("Default", "1")))
        try:
            document = json.loads(text)
        except json.JSONDecodeError as failure:
            failures.append(f"schedule Input is not valid JSON ({failure}): {text}")
            continue
        if not isinstance(document.get("feed"), str) or not isinstance(document.get("max_pages"), int):
            failures.append(f"schedule Input lacks a string feed and an integer max_pages: {text}")

    for failure in failures:
        print("FAILED:", failure)
    if failures:
        return 1
    print(f"PASSED: {len(functions)} functions, every environment name is one of {len(known)} settings")
    return 0


if __name__ == "__main__":
    sys.exit(main())
