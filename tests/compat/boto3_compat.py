#!/usr/bin/env python3
"""Checks that an unmodified boto3 can drive `memtune lab` like real AWS.

Every Lambda operation the lab serves, then CloudWatch GetMetricData and CloudWatch Logs
(FilterLogEvents, Logs Insights), STS AssumeRole across accounts and regions, and the S3
operations a staged deployment package needs. The clients get nothing but an endpoint, a region and
dummy credentials (plus botocore Config for retries, and parameter validation switched off
for the one check that must send an out-of-range value past boto3).

Usage: boto3_compat.py [ENDPOINT] [--sections lambda,cloudwatch,logs]
ENDPOINT defaults to $AWS_ENDPOINT_URL. tests/compat/run.sh starts a lab and runs this with
the flags the checks rely on (--synthetic 60 --faults stuck-update=1).

Prints one line per check ("ok  ..." or "FAIL ...: why") and ends with "N passed, N failed";
the exit code is 1 when anything failed.
"""

import argparse
import base64
import datetime as dt
import hashlib
import json
import os
import re
import sys
import time
import urllib.error
import urllib.request

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

REGION = "us-east-1"
SECTIONS = ("lambda", "cloudwatch", "logs", "sts", "s3")

# tests/compat/run.sh starts the lab with a second account and region and this role.
OWN_ACCOUNT = "123456789012"
OTHER_ACCOUNT = "111111111111"
OTHER_REGION = "eu-west-1"
ROLE = f"arn:aws:iam::{OTHER_ACCOUNT}:role/memtune-tuner"
EXTERNAL_ID = "compat-external-id"

# Demo-fleet functions the checks use (config/lab/demo-fleet.toml).
API_FN = "orders-api"  # Text logs, heavy production traffic, no reservation
JSON_LOG_FN = "auth-token"  # JSON log format
RESERVED_FN = "email-dispatch"  # reserved concurrency 50
OOM_FN = "report-export"  # ~1.4 GB working set: out of memory at 512 MB
TIMEOUT_FN = "fraud-score"  # ~8.5 s at 1024 MB against a 10 s timeout: times out at 512 MB
TUNED_FN = "image-resize"  # updated, versioned and aliased by the checks
CODE_FN = "inventory-sync"  # gets new code (UpdateFunctionCode)
THROTTLED_FN = "webhook-ingest"  # reserved concurrency 0 for the throttling check
VALIDATED_FN = "pdf-render"  # sent malformed and out-of-range input; never changed by it
PAYLOAD_FN = "search-suggest"  # invoked with payloads at and over the limits
MISSING_FN = "no-such-function"
COPY_FN = "boto3-copy-of-orders-api"  # created from orders-api's code, then deleted
IMAGE_FN = "boto3-image-function"  # created from a container image, then deleted

# A request that breaks a constraint of the API model (a range, a length, an enum, a pattern,
# a required member): Lambda answers 400 ValidationException, "1 validation error detected:
# Value '64' at 'memorySize' failed to satisfy constraint: ...".
MODEL_VIOLATION = "ValidationException"
# A body that is not a JSON object, or a member of the wrong JSON type: 400
# SerializationException, as restJson1 services answer.
UNREADABLE = "SerializationException"
# Invoke payloads: 6 MB synchronous, 1 MB asynchronous (Event). Above, Lambda answers 413
# RequestEntityTooLargeException (the model's RequestTooLargeException is not what it sends).
MAX_SYNC_PAYLOAD = 6 * 1024 * 1024
MAX_ASYNC_PAYLOAD = 1024 * 1024
TOO_LARGE = "RequestEntityTooLargeException"


class Results:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name, condition, detail=""):
        """Records one check; `detail` says what was expected and what came back."""
        if condition:
            self.passed += 1
            print(f"ok  {name}", flush=True)
        else:
            self.failed += 1
            print(f"FAIL {name}: {detail}", flush=True)
        return bool(condition)

    def expect_error(self, name, code, status, call, *args, **kwargs):
        """Runs `call`, which must fail with error `code` (or one of a tuple of codes) and HTTP
        `status`; returns the error."""
        codes = code if isinstance(code, tuple) else (code,)
        try:
            response = call(*args, **kwargs)
        except ClientError as e:
            got_code = e.response.get("Error", {}).get("Code")
            got_status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            self.check(
                name,
                got_code in codes and got_status == status,
                f"expected {' or '.join(codes)} ({status}), got {got_code} ({got_status}): {e}",
            )
            return e
        meta = response.get("ResponseMetadata", {}) if isinstance(response, dict) else {}
        self.check(
            name,
            False,
            f"expected {code} ({status}), but the call succeeded "
            f"with HTTP {meta.get('HTTPStatusCode')}",
        )
        return None


def error_of(call, *args, **kwargs):
    """The ClientError `call` raises, or None."""
    try:
        call(*args, **kwargs)
    except ClientError as e:
        return e
    return None


def status_of(response):
    return response["ResponseMetadata"]["HTTPStatusCode"]


def now():
    return dt.datetime.now(dt.timezone.utc)


# ---- REPORT lines ------------------------------------------------------------------------

REPORT_FIELDS = {
    "RequestId": str,
    "Duration": float,
    "Billed Duration": int,
    "Memory Size": int,
    "Max Memory Used": int,
    "Init Duration": float,
}


def parse_report(line):
    """Parses a Text-format REPORT line into {field: value}; None if it is not one."""
    if not line.startswith("REPORT "):
        return None
    fields = {}
    for part in line[len("REPORT ") :].rstrip("\n").split("\t"):
        if not part.strip():
            continue  # Lambda leaves a trailing tab
        key, _, value = part.partition(": ")
        value = re.sub(r" (ms|MB)$", "", value.strip())
        kind = REPORT_FIELDS.get(key, str)
        fields[key] = kind(value)
    return fields


def report_in_tail(log_result):
    """Decodes Invoke's base64 LogResult and returns (text, parsed REPORT line or None)."""
    text = base64.b64decode(log_result).decode("utf-8")
    for line in text.splitlines():
        report = parse_report(line)
        if report is not None:
            return text, report
    return text, None


# ---- Lambda --------------------------------------------------------------------------------


class LambdaChecks:
    def __init__(self, r, endpoint):
        self.r = r
        common = dict(endpoint_url=endpoint, region_name=REGION)
        self.lam = boto3.client("lambda", **common)
        # botocore checks types, required members and minimums client-side (ParamValidationError)
        # but not maximums or patterns. To test the lab's own checks of what botocore would stop
        # (MemorySize 64, MemorySize "abc", Description 5), this client has that off.
        self.unvalidated = boto3.client(
            "lambda", config=Config(parameter_validation=False), **common
        )
        self.endpoint = endpoint
        # A throttle must surface instead of being retried away.
        self.no_retry = boto3.client(
            "lambda",
            config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
            **common,
        )
        self.account = None
        self.function_count = None

    def run(self):
        for step in (
            self.list_functions,
            self.get_function,
            self.not_found,
            self.update_function_configuration,
            self.malformed_bodies,
            self.model_constraints,
            self.payload_limits,
            self.update_function_code,
            self.publish_and_list_versions,
            self.aliases,
            self.list_functions_all_versions,
            self.delete_version,
            self.tags_and_account,
            self.concurrency,
            self.provisioned_concurrency,
            self.invoke,
            self.invoke_names,
            self.invoke_function_error,
            self.throttling,
            self.create_and_delete_function,
            self.create_image_function,
        ):
            run_step(self.r, f"Lambda {step.__name__}", step)

    def arn(self, name):
        return f"arn:aws:lambda:{REGION}:{self.account}:function:{name}"

    # -- ListFunctions --

    def list_functions(self):
        r, lam = self.r, self.lam
        first = lam.list_functions()
        r.check(
            "ListFunctions first page has 50 functions and a NextMarker",
            len(first["Functions"]) == 50 and first.get("NextMarker"),
            f"{len(first['Functions'])} functions, NextMarker {first.get('NextMarker')!r}",
        )
        pages = list(lam.get_paginator("list_functions").paginate())
        names = [f["FunctionName"] for p in pages for f in p["Functions"]]
        self.function_count = len(names)
        r.check(
            "ListFunctions paginator walks every page (>50 functions, no duplicates)",
            len(pages) >= 2 and len(names) > 50 and len(set(names)) == len(names),
            f"{len(pages)} pages, {len(names)} names, {len(set(names))} distinct",
        )
        r.check(
            "ListFunctions pages hold at most 50, only the last lacks NextMarker",
            all(len(p["Functions"]) <= 50 for p in pages)
            and all("NextMarker" in p for p in pages[:-1])
            and "NextMarker" not in pages[-1],
            [(len(p["Functions"]), p.get("NextMarker")) for p in pages],
        )
        r.check(
            "ListFunctions includes the demo fleet and synthetic functions",
            API_FN in names and any(n.startswith("synthetic-") for n in names),
            f"names: {names[:5]}...",
        )
        arn = first["Functions"][0]["FunctionArn"]
        self.account = arn.split(":")[4]
        r.check(
            "ListFunctions FunctionArn is a Lambda ARN in us-east-1",
            re.fullmatch(r"arn:aws:lambda:us-east-1:\d{12}:function:[\w-]+", arn),
            arn,
        )

        page = lam.list_functions(MaxItems=7)
        r.check(
            "ListFunctions MaxItems=7 returns 7 and a NextMarker",
            len(page["Functions"]) == 7 and page.get("NextMarker"),
            f"{len(page['Functions'])} functions, NextMarker {page.get('NextMarker')!r}",
        )
        rest = lam.list_functions(Marker=page["NextMarker"], MaxItems=7)
        overlap = {f["FunctionName"] for f in page["Functions"]} & {
            f["FunctionName"] for f in rest["Functions"]
        }
        r.check(
            "ListFunctions Marker continues where the previous page stopped",
            not overlap and [f["FunctionName"] for f in rest["Functions"]] == names[7:14],
            f"overlap {overlap}",
        )
        full = (
            lam.get_paginator("list_functions")
            .paginate(PaginationConfig={"MaxItems": 55, "PageSize": 20})
            .build_full_result()
        )
        r.check(
            "ListFunctions paginator MaxItems=55 PageSize=20 stops at 55 with a NextToken",
            len(full["Functions"]) == 55 and full.get("NextToken"),
            f"{len(full['Functions'])} functions, NextToken {full.get('NextToken')!r}",
        )
        all_versions = [
            f
            for p in lam.get_paginator("list_functions").paginate(FunctionVersion="ALL")
            for f in p["Functions"]
        ]
        r.check(
            "ListFunctions FunctionVersion=ALL lists $LATEST of every function",
            {f["FunctionName"] for f in all_versions if f["Version"] == "$LATEST"} == set(names),
            f"{len(all_versions)} entries",
        )
        r.expect_error(
            "ListFunctions MaxItems=0 -> 400 validation error",
            MODEL_VIOLATION,
            400,
            self.unvalidated.list_functions,
            MaxItems=0,
        )

    # -- GetFunction / GetFunctionConfiguration --

    def get_function(self):
        r, lam = self.r, self.lam
        got = lam.get_function(FunctionName=API_FN)
        c = got["Configuration"]
        r.check(
            "GetFunction Configuration has name, ARN, $LATEST, Active, Successful",
            c["FunctionName"] == API_FN
            and c["FunctionArn"] == self.arn(API_FN)
            and c["Version"] == "$LATEST"
            and c["State"] == "Active"
            and c["LastUpdateStatus"] == "Successful",
            json.dumps(c, default=str)[:400],
        )
        r.check(
            "GetFunction MemorySize/Timeout are integers, RevisionId set",
            isinstance(c["MemorySize"], int)
            and 128 <= c["MemorySize"] <= 10240
            and isinstance(c["Timeout"], int)
            and c.get("RevisionId"),
            f"MemorySize {c.get('MemorySize')!r} Timeout {c.get('Timeout')!r}",
        )
        r.check(
            "GetFunction LoggingConfig names the /aws/lambda log group",
            c.get("LoggingConfig", {}).get("LogGroup") == f"/aws/lambda/{API_FN}"
            and c["LoggingConfig"].get("LogFormat") == "Text",
            c.get("LoggingConfig"),
        )
        r.check(
            # Lambda's is a presigned S3 URL; the lab serves the package on its own address.
            "GetFunction Code.Location (on the lab's address) and Tags",
            got.get("Code", {}).get("Location", "").startswith(self.endpoint + "/")
            and got.get("Tags", {}).get("env") == "prod",
            f"Code {got.get('Code')} Tags {got.get('Tags')}",
        )
        missing = error_of(lam.get_function, FunctionName=MISSING_FN)
        listed = lam.list_functions(MaxItems=1)
        r.check(
            "Lambda responses and errors carry x-amzn-RequestId (ResponseMetadata.RequestId)",
            got["ResponseMetadata"].get("RequestId")
            and listed["ResponseMetadata"].get("RequestId")
            and missing is not None
            and missing.response["ResponseMetadata"].get("RequestId"),
            f"GetFunction headers {got['ResponseMetadata']['HTTPHeaders']}",
        )
        reserved = lam.get_function(FunctionName=RESERVED_FN)
        r.check(
            "GetFunction Concurrency.ReservedConcurrentExecutions for a reserved function",
            reserved.get("Concurrency", {}).get("ReservedConcurrentExecutions") == 50,
            reserved.get("Concurrency"),
        )
        r.check(
            "GetFunction without a reservation has no Concurrency",
            "Concurrency" not in got,
            got.get("Concurrency"),
        )
        by_arn = lam.get_function_configuration(FunctionName=self.arn(API_FN))
        partial = lam.get_function_configuration(
            FunctionName=f"{self.account}:function:{API_FN}"
        )
        r.check(
            "GetFunctionConfiguration by ARN and partial ARN",
            by_arn["FunctionName"] == API_FN and partial["FunctionName"] == API_FN,
            f"{by_arn['FunctionName']} / {partial['FunctionName']}",
        )
        latest = lam.get_function_configuration(FunctionName=API_FN, Qualifier="$LATEST")
        r.check(
            "GetFunctionConfiguration Qualifier=$LATEST",
            latest["Version"] == "$LATEST" and latest["RevisionId"] == c["RevisionId"],
            f"Version {latest['Version']}",
        )
        json_cfg = lam.get_function_configuration(FunctionName=JSON_LOG_FN)["LoggingConfig"]
        r.check(
            "GetFunctionConfiguration LoggingConfig of a JSON-format function has log levels",
            json_cfg.get("LogFormat") == "JSON" and json_cfg.get("SystemLogLevel"),
            json_cfg,
        )

    def not_found(self):
        r, lam = self.r, self.lam
        calls = {
            "GetFunction": lambda: lam.get_function(FunctionName=MISSING_FN),
            "GetFunctionConfiguration": lambda: lam.get_function_configuration(
                FunctionName=MISSING_FN
            ),
            "UpdateFunctionConfiguration": lambda: lam.update_function_configuration(
                FunctionName=MISSING_FN, MemorySize=256
            ),
            "ListVersionsByFunction": lambda: lam.list_versions_by_function(
                FunctionName=MISSING_FN
            ),
            "ListAliases": lambda: lam.list_aliases(FunctionName=MISSING_FN),
            "GetFunctionConcurrency": lambda: lam.get_function_concurrency(
                FunctionName=MISSING_FN
            ),
            "ListTags": lambda: lam.list_tags(Resource=self.arn(MISSING_FN)),
            "Invoke": lambda: lam.invoke(FunctionName=MISSING_FN),
        }
        for op, call in calls.items():
            e = r.expect_error(
                f"{op} of a missing function -> ResourceNotFoundException 404",
                "ResourceNotFoundException",
                404,
                call,
            )
            if op == "GetFunction" and e is not None:
                r.check(
                    "ResourceNotFoundException is the modeled exception class with a message",
                    isinstance(e, lam.exceptions.ResourceNotFoundException)
                    and MISSING_FN in e.response["Error"].get("Message", "")
                    and e.response.get("Type") == "User",
                    f"{type(e).__name__}: {e.response}",
                )
        r.expect_error(
            "GetFunctionConfiguration Qualifier=99 (no such version) -> ResourceNotFoundException",
            "ResourceNotFoundException",
            404,
            lam.get_function_configuration,
            FunctionName=API_FN,
            Qualifier="99",
        )
        r.expect_error(
            "GetFunction Qualifier=nope (no such alias) -> ResourceNotFoundException",
            "ResourceNotFoundException",
            404,
            lam.get_function,
            FunctionName=API_FN,
            Qualifier="nope",
        )

    # -- UpdateFunctionConfiguration, waiters --

    def update(self, sizes, waiter="function_updated_v2"):
        """Sets MemorySize of each {function: MB} (all at once), then waits for each with a
        boto3 waiter."""
        for name, memory_mb in sizes.items():
            revision = self.lam.get_function_configuration(FunctionName=name)["RevisionId"]
            self.lam.update_function_configuration(
                FunctionName=name, MemorySize=memory_mb, RevisionId=revision
            )
        for name in sizes:
            self.lam.get_waiter(waiter).wait(
                FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
            )

    def update_function_configuration(self):
        r, lam = self.r, self.lam
        before = lam.get_function_configuration(FunctionName=TUNED_FN)
        r.expect_error(
            "UpdateFunctionConfiguration stale RevisionId -> PreconditionFailedException 412",
            "PreconditionFailedException",
            412,
            lam.update_function_configuration,
            FunctionName=TUNED_FN,
            MemorySize=1024,
            RevisionId="00000000-0000-0000-0000-000000000000",
        )
        r.expect_error(
            "UpdateFunctionConfiguration MemorySize 64 -> 400 validation error",
            MODEL_VIOLATION,
            400,
            self.unvalidated.update_function_configuration,
            FunctionName=TUNED_FN,
            MemorySize=64,
        )
        r.expect_error(
            "UpdateFunctionConfiguration MemorySize 20000 -> 400 validation error",
            MODEL_VIOLATION,
            400,
            lam.update_function_configuration,
            FunctionName=TUNED_FN,
            MemorySize=20000,
        )
        r.expect_error(
            "UpdateFunctionConfiguration with a qualified name -> InvalidParameterValueException",
            "InvalidParameterValueException",
            400,
            lam.update_function_configuration,
            FunctionName=f"{TUNED_FN}:1",
            MemorySize=1024,
        )
        updated = lam.update_function_configuration(
            FunctionName=TUNED_FN, MemorySize=1024, RevisionId=before["RevisionId"]
        )
        r.check(
            "UpdateFunctionConfiguration returns the new MemorySize, InProgress, new RevisionId",
            updated["MemorySize"] == 1024
            and updated["LastUpdateStatus"] == "InProgress"
            and updated["RevisionId"] != before["RevisionId"],
            f"MemorySize {updated['MemorySize']}, LastUpdateStatus "
            f"{updated['LastUpdateStatus']} (run the lab with --faults stuck-update=1 so "
            f"updates stay InProgress at time scale 0)",
        )
        e = r.expect_error(
            "UpdateFunctionConfiguration while InProgress -> ResourceConflictException 409",
            "ResourceConflictException",
            409,
            lam.update_function_configuration,
            FunctionName=TUNED_FN,
            MemorySize=2048,
        )
        if e is not None:
            r.check(
                "ResourceConflictException says an update is in progress",
                "An update is in progress for resource" in e.response["Error"]["Message"],
                e.response["Error"]["Message"],
            )
        polled = lam.get_function(FunctionName=TUNED_FN)["Configuration"]
        r.check(
            "GetFunction during the update shows LastUpdateStatus InProgress",
            polled["LastUpdateStatus"] == "InProgress",
            polled["LastUpdateStatus"],
        )
        r.expect_error(
            "PublishVersion while InProgress -> ResourceConflictException 409",
            "ResourceConflictException",
            409,
            lam.publish_version,
            FunctionName=TUNED_FN,
        )
        during = lam.invoke(FunctionName=TUNED_FN, LogType="Tail")
        _, report = report_in_tail(during.get("LogResult", ""))
        r.check(
            "Invoke while InProgress still runs the previous configuration",
            report is not None and report["Memory Size"] == before["MemorySize"],
            f"REPORT {report}, MemorySize before the update {before['MemorySize']}",
        )
        started = time.monotonic()
        lam.get_waiter("function_updated_v2").wait(
            FunctionName=TUNED_FN, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
        )
        after = lam.get_function_configuration(FunctionName=TUNED_FN)
        r.check(
            "function_updated_v2 waiter ends with LastUpdateStatus Successful, MemorySize 1024",
            after["LastUpdateStatus"] == "Successful" and after["MemorySize"] == 1024,
            f"after {time.monotonic() - started:.1f} s: {after['LastUpdateStatus']}, "
            f"{after['MemorySize']} MB",
        )
        r.check(
            "a completed update has no LastUpdateStatusReason",
            "LastUpdateStatusReason" not in after,
            after.get("LastUpdateStatusReason"),
        )

    # -- Input checks: what Lambda refuses, the lab refuses alike --

    def raw(self, method, path, body=None, headers=None):
        """Sends bytes as they are (no boto3 serialization, which cannot send a body that is
        not a JSON object); returns (status, lower-cased headers, parsed JSON body or None)."""
        request = urllib.request.Request(
            self.endpoint + path, data=body, method=method, headers=headers or {}
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                status, headers, text = response.status, response.headers, response.read()
        except urllib.error.HTTPError as e:
            status, headers, text = e.code, e.headers, e.read()
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = None
        return status, {k.lower(): v for k, v in headers.items()}, parsed

    def unchanged(self, before, what):
        after = self.lam.get_function_configuration(FunctionName=VALIDATED_FN)
        self.r.check(
            f"{what} changed nothing (same RevisionId)",
            after["RevisionId"] == before["RevisionId"],
            f"RevisionId {before['RevisionId']} -> {after['RevisionId']}",
        )

    def malformed_bodies(self):
        r, lam = self.r, self.lam
        before = lam.get_function_configuration(FunctionName=VALIDATED_FN)
        path = f"/2015-03-31/functions/{VALIDATED_FN}/configuration"
        for body in (b"[1,2]", b'"x"', b"", b"null", b'{"Timeout": 10}abc'):
            status, headers, parsed = self.raw(
                "PUT", path, body, {"Content-Type": "application/json"}
            )
            r.check(
                f"UpdateFunctionConfiguration body {body!r} (raw) -> {UNREADABLE} 400",
                status == 400
                and headers.get("x-amzn-errortype") == UNREADABLE
                and isinstance(parsed, dict)
                and parsed.get("message"),
                f"HTTP {status}, x-amzn-ErrorType {headers.get('x-amzn-errortype')}, {parsed}",
            )
        # Wrongly typed members: botocore would refuse them unsent, so the unvalidated client.
        for value, quoted in (("abc", '"abc"'), (128.5, "128.5"), (True, "true")):
            e = r.expect_error(
                f"UpdateFunctionConfiguration MemorySize {value!r} -> {UNREADABLE} 400",
                UNREADABLE,
                400,
                self.unvalidated.update_function_configuration,
                FunctionName=VALIDATED_FN,
                MemorySize=value,
            )
            if e is not None:
                message = e.response["Error"]["Message"]
                r.check(
                    f"the {UNREADABLE} for MemorySize {value!r} names the member and the value",
                    "MemorySize" in message and quoted in message and "-1" not in message,
                    message,
                )
        # botocore cannot serialise a number as a structure, even unvalidated: raw.
        status, headers, parsed = self.raw(
            "PUT", path, b'{"EphemeralStorage": 5}', {"Content-Type": "application/json"}
        )
        r.check(
            f"UpdateFunctionConfiguration EphemeralStorage 5 (raw) -> {UNREADABLE} 400",
            status == 400 and headers.get("x-amzn-errortype") == UNREADABLE,
            f"HTTP {status}, x-amzn-ErrorType {headers.get('x-amzn-errortype')}, {parsed}",
        )
        e = r.expect_error(
            f"PublishVersion Description 5 -> {UNREADABLE} 400",
            UNREADABLE,
            400,
            self.unvalidated.publish_version,
            FunctionName=VALIDATED_FN,
            Description=5,
        )
        if e is not None:
            r.check(
                f"the {UNREADABLE} for Description 5 says a string was expected",
                "Description" in e.response["Error"]["Message"]
                and "string" in e.response["Error"]["Message"],
                e.response["Error"]["Message"],
            )
        self.unchanged(before, "the malformed requests")
        # An explicit null reads as absent (restJson1): an update that changes nothing.
        updated = self.unvalidated.update_function_configuration(
            FunctionName=VALIDATED_FN, MemorySize=None
        )
        r.check(
            "UpdateFunctionConfiguration MemorySize null -> accepted as absent, memory kept",
            updated["MemorySize"] == before["MemorySize"],
            f"MemorySize {before['MemorySize']} -> {updated['MemorySize']}",
        )
        lam.get_waiter("function_updated_v2").wait(
            FunctionName=VALIDATED_FN, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
        )

    def model_constraints(self):
        r, lam = self.r, self.lam
        before = lam.get_function_configuration(FunctionName=VALIDATED_FN)

        def violation(name, expected, call, **kwargs):
            e = r.expect_error(name, MODEL_VIOLATION, 400, call, **kwargs)
            if e is not None:
                r.check(
                    f"{name}: message",
                    e.response["Error"]["Message"] == expected,
                    f"expected {expected!r}, got {e.response['Error']['Message']!r}",
                )

        update = lam.update_function_configuration
        unvalidated = self.unvalidated.update_function_configuration
        # botocore checks no maximum: the plain client sends these.
        violation(
            "UpdateFunctionConfiguration Description of 300 characters -> ValidationException",
            f"1 validation error detected: Value '{'d' * 300}' at 'description' failed to "
            "satisfy constraint: Member must have length less than or equal to 256",
            update,
            FunctionName=VALIDATED_FN,
            Description="d" * 300,
        )
        violation(
            "UpdateFunctionConfiguration Timeout 901 -> ValidationException",
            "1 validation error detected: Value '901' at 'timeout' failed to satisfy "
            "constraint: Member must have value less than or equal to 900",
            update,
            FunctionName=VALIDATED_FN,
            Timeout=901,
        )
        violation(
            "UpdateFunctionConfiguration EphemeralStorage 20000 -> ValidationException",
            "1 validation error detected: Value '20000' at 'ephemeralStorage.size' failed to "
            "satisfy constraint: Member must have value less than or equal to 10240",
            update,
            FunctionName=VALIDATED_FN,
            EphemeralStorage={"Size": 20000},
        )
        # Below botocore's minimums: the unvalidated client.
        violation(
            "UpdateFunctionConfiguration MemorySize 64 and Timeout 0 -> both listed",
            "2 validation errors detected: Value '0' at 'timeout' failed to satisfy "
            "constraint: Member must have value greater than or equal to 1; Value '64' at "
            "'memorySize' failed to satisfy constraint: Member must have value greater than "
            "or equal to 128",
            unvalidated,
            FunctionName=VALIDATED_FN,
            MemorySize=64,
            Timeout=0,
        )
        violation(
            "UpdateFunctionConfiguration EphemeralStorage 100 -> ValidationException",
            "1 validation error detected: Value '100' at 'ephemeralStorage.size' failed to "
            "satisfy constraint: Member must have value greater than or equal to 512",
            unvalidated,
            FunctionName=VALIDATED_FN,
            EphemeralStorage={"Size": 100},
        )
        violation(
            "UpdateFunctionConfiguration SnapStart ApplyOn 'Always' -> ValidationException",
            "1 validation error detected: Value 'Always' at 'snapStart.applyOn' failed to "
            "satisfy constraint: Member must satisfy enum value set: [PublishedVersions, None]",
            unvalidated,
            FunctionName=VALIDATED_FN,
            SnapStart={"ApplyOn": "Always"},
        )
        violation(
            "PublishVersion Description of 257 characters -> ValidationException",
            f"1 validation error detected: Value '{'v' * 257}' at 'description' failed to "
            "satisfy constraint: Member must have length less than or equal to 256",
            lam.publish_version,
            FunctionName=VALIDATED_FN,
            Description="v" * 257,
        )
        alias_pattern = "(?!^[0-9]+$)([a-zA-Z0-9-_]+)"
        violation(
            "CreateAlias Name '123' (a version number) -> ValidationException",
            f"1 validation error detected: Value '123' at 'name' failed to satisfy "
            f"constraint: Member must satisfy regular expression pattern: {alias_pattern}",
            lam.create_alias,
            FunctionName=VALIDATED_FN,
            Name="123",
            FunctionVersion="$LATEST",
        )
        violation(
            "CreateAlias without Name -> ValidationException 'Member must not be null'",
            "1 validation error detected: Value null at 'name' failed to satisfy constraint: "
            "Member must not be null",
            self.unvalidated.create_alias,
            FunctionName=VALIDATED_FN,
            FunctionVersion="$LATEST",
        )
        violation(
            "GetAlias of 'bad name!' -> ValidationException",
            f"1 validation error detected: Value 'bad name!' at 'name' failed to satisfy "
            f"constraint: Member must satisfy regular expression pattern: {alias_pattern}",
            lam.get_alias,
            FunctionName=VALIDATED_FN,
            Name="bad name!",
        )
        violation(
            "GetFunction Qualifier 'a b' -> ValidationException",
            "1 validation error detected: Value 'a b' at 'qualifier' failed to satisfy "
            r"constraint: Member must satisfy regular expression pattern: "
            r"\$(LATEST(\.PUBLISHED)?)|[a-zA-Z0-9-_$]+",
            lam.get_function,
            FunctionName=VALIDATED_FN,
            Qualifier="a b",
        )
        violation(
            "ListVersionsByFunction MaxItems 10001 -> ValidationException",
            "1 validation error detected: Value '10001' at 'maxItems' failed to satisfy "
            "constraint: Member must have value less than or equal to 10000",
            lam.list_versions_by_function,
            FunctionName=VALIDATED_FN,
            MaxItems=10001,
        )
        violation(
            "PutFunctionConcurrency -1 -> ValidationException",
            "1 validation error detected: Value '-1' at 'reservedConcurrentExecutions' failed "
            "to satisfy constraint: Member must have value greater than or equal to 0",
            self.unvalidated.put_function_concurrency,
            FunctionName=VALIDATED_FN,
            ReservedConcurrentExecutions=-1,
        )
        r.expect_error(
            f"ListFunctions MaxItems 'abc' -> {UNREADABLE} 400",
            UNREADABLE,
            400,
            self.unvalidated.list_functions,
            MaxItems="abc",
        )
        self.unchanged(before, "the out-of-range requests")

    def payload_limits(self):
        r, lam = self.r, self.lam

        def payload(size):
            return b'"' + b"a" * (size - 2) + b'"'  # a JSON string of exactly `size` bytes

        got = lam.invoke(FunctionName=PAYLOAD_FN, Payload=payload(MAX_SYNC_PAYLOAD))
        r.check(
            f"Invoke with a payload of exactly {MAX_SYNC_PAYLOAD} bytes -> 200",
            got["StatusCode"] == 200 and "FunctionError" not in got,
            got["StatusCode"],
        )
        e = r.expect_error(
            f"Invoke with a payload of {MAX_SYNC_PAYLOAD + 1} bytes -> {TOO_LARGE} 413",
            TOO_LARGE,
            413,
            self.no_retry.invoke,
            FunctionName=PAYLOAD_FN,
            Payload=payload(MAX_SYNC_PAYLOAD + 1),
        )
        if e is not None:
            r.check(
                f"the {TOO_LARGE} has a JSON body with Lambda's message",
                e.response["Error"]["Message"]
                == f"Request must be smaller than {MAX_SYNC_PAYLOAD} bytes for the "
                "InvokeFunction operation"
                and e.response["ResponseMetadata"]["HTTPHeaders"].get("x-amzn-errortype")
                == TOO_LARGE,
                e.response,
            )
        event = lam.invoke(
            FunctionName=PAYLOAD_FN, InvocationType="Event", Payload=payload(MAX_ASYNC_PAYLOAD)
        )
        r.check(
            f"Invoke Event with a payload of exactly {MAX_ASYNC_PAYLOAD} bytes -> 202",
            event["StatusCode"] == 202,
            event["StatusCode"],
        )
        e = r.expect_error(
            f"Invoke Event with a payload of {MAX_ASYNC_PAYLOAD + 1} bytes -> {TOO_LARGE} 413",
            TOO_LARGE,
            413,
            self.no_retry.invoke,
            FunctionName=PAYLOAD_FN,
            InvocationType="Event",
            Payload=payload(MAX_ASYNC_PAYLOAD + 1),
        )
        if e is not None:
            r.check(
                f"the Event {TOO_LARGE} gives the size and the Event limit",
                e.response["Error"]["Message"]
                == f"{MAX_ASYNC_PAYLOAD + 1} byte payload is too large for the Event "
                f"invocation type (limit {MAX_ASYNC_PAYLOAD} bytes)",
                e.response["Error"]["Message"],
            )

    # -- UpdateFunctionCode --

    def update_function_code(self):
        r, lam = self.r, self.lam
        before = lam.get_function_configuration(FunctionName=CODE_FN)
        package = b"PK\x05\x06" + b"\x00" * 18  # an empty zip archive
        expected = base64.b64encode(hashlib.sha256(package).digest()).decode()
        r.expect_error(
            "UpdateFunctionCode stale RevisionId -> PreconditionFailedException 412",
            "PreconditionFailedException",
            412,
            lam.update_function_code,
            FunctionName=CODE_FN,
            ZipFile=package,
            RevisionId="00000000-0000-0000-0000-000000000000",
        )
        updated = lam.update_function_code(
            FunctionName=CODE_FN, ZipFile=package, RevisionId=before["RevisionId"]
        )
        r.check(
            "UpdateFunctionCode returns base64(sha256(zip)) as CodeSha256, InProgress, new RevisionId",
            updated["CodeSha256"] == expected
            and updated["CodeSha256"] != before["CodeSha256"]
            and updated["LastUpdateStatus"] == "InProgress"
            and updated["RevisionId"] != before["RevisionId"]
            and updated["MemorySize"] == before["MemorySize"],
            f"{updated['CodeSha256']} (expected {expected}), {updated['LastUpdateStatus']}",
        )
        lam.get_waiter("function_updated_v2").wait(
            FunctionName=CODE_FN, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
        )
        after = lam.get_function_configuration(FunctionName=CODE_FN)
        r.check(
            "after the waiter GetFunctionConfiguration shows the new code, Successful",
            after["CodeSha256"] == expected and after["LastUpdateStatus"] == "Successful",
            f"{after['CodeSha256']}, {after['LastUpdateStatus']}",
        )
        location = lam.get_function(FunctionName=CODE_FN)["Code"]["Location"]
        with urllib.request.urlopen(location) as response:
            served = response.read()
        r.check(
            "GetFunction's Code.Location serves the new package",
            served == package,
            served[:40],
        )
        r.expect_error(
            "UpdateFunctionCode without ZipFile or S3 location -> InvalidParameterValueException",
            "InvalidParameterValueException",
            400,
            self.unvalidated.update_function_code,
            FunctionName=CODE_FN,
        )

    # -- PublishVersion, ListVersionsByFunction --

    def publish_and_list_versions(self):
        r, lam = self.r, self.lam
        v1 = lam.publish_version(FunctionName=TUNED_FN, Description="1 GB")
        r.check(
            "PublishVersion answers 201 with Version 1 and a qualified ARN",
            status_of(v1) == 201
            and v1["Version"] == "1"
            and v1["FunctionArn"] == self.arn(TUNED_FN) + ":1"
            and v1["MemorySize"] == 1024,
            f"HTTP {status_of(v1)}, Version {v1['Version']}, ARN {v1['FunctionArn']}",
        )
        again = lam.publish_version(FunctionName=TUNED_FN)
        r.check(
            "PublishVersion without changes returns the same version",
            again["Version"] == "1",
            f"Version {again['Version']}",
        )
        r.expect_error(
            "PublishVersion stale RevisionId -> PreconditionFailedException 412",
            "PreconditionFailedException",
            412,
            lam.publish_version,
            FunctionName=TUNED_FN,
            RevisionId="00000000-0000-0000-0000-000000000000",
        )
        # Second version, this time waiting with the GetFunctionConfiguration waiter.
        self.update({TUNED_FN: 1536}, waiter="function_updated")
        v2 = lam.publish_version(FunctionName=TUNED_FN)
        r.check(
            "PublishVersion after another update publishes Version 2",
            v2["Version"] == "2" and v2["MemorySize"] == 1536,
            f"Version {v2['Version']}, MemorySize {v2['MemorySize']}",
        )
        one = lam.get_function_configuration(FunctionName=TUNED_FN, Qualifier="1")
        r.check(
            "GetFunctionConfiguration Qualifier=1 keeps the published configuration",
            one["Version"] == "1" and one["MemorySize"] == 1024 and one["Description"] == "1 GB",
            f"Version {one['Version']}, MemorySize {one['MemorySize']}, "
            f"Description {one['Description']!r}",
        )
        pages = list(
            lam.get_paginator("list_versions_by_function").paginate(
                FunctionName=TUNED_FN, PaginationConfig={"PageSize": 1}
            )
        )
        versions = [v["Version"] for p in pages for v in p["Versions"]]
        r.check(
            "ListVersionsByFunction paginator (PageSize 1) lists $LATEST, 1, 2",
            versions == ["$LATEST", "1", "2"] and len(pages) == 3,
            f"{len(pages)} pages: {versions}",
        )

    # -- Aliases --

    def aliases(self):
        r, lam = self.r, self.lam
        live = lam.create_alias(
            FunctionName=TUNED_FN, Name="live", FunctionVersion="1", Description="prod"
        )
        r.check(
            "CreateAlias answers 201 with AliasArn, FunctionVersion and RevisionId",
            status_of(live) == 201
            and live["AliasArn"] == self.arn(TUNED_FN) + ":live"
            and live["FunctionVersion"] == "1"
            and live.get("RevisionId"),
            f"HTTP {status_of(live)}: {live}",
        )
        r.expect_error(
            "CreateAlias that exists -> ResourceConflictException 409",
            "ResourceConflictException",
            409,
            lam.create_alias,
            FunctionName=TUNED_FN,
            Name="live",
            FunctionVersion="1",
        )
        r.expect_error(
            "CreateAlias for a missing version -> ResourceNotFoundException 404",
            "ResourceNotFoundException",
            404,
            lam.create_alias,
            FunctionName=TUNED_FN,
            Name="ghost",
            FunctionVersion="42",
        )
        got = lam.get_alias(FunctionName=TUNED_FN, Name="live")
        r.check(
            "GetAlias returns the alias",
            got["Name"] == "live"
            and got["FunctionVersion"] == "1"
            and got["RevisionId"] == live["RevisionId"],
            got,
        )
        r.expect_error(
            "UpdateAlias stale RevisionId -> PreconditionFailedException 412",
            "PreconditionFailedException",
            412,
            lam.update_alias,
            FunctionName=TUNED_FN,
            Name="live",
            FunctionVersion="2",
            RevisionId="00000000-0000-0000-0000-000000000000",
        )
        moved = lam.update_alias(
            FunctionName=TUNED_FN,
            Name="live",
            FunctionVersion="2",
            RoutingConfig={"AdditionalVersionWeights": {"1": 0.25}},
            RevisionId=got["RevisionId"],
        )
        r.check(
            "UpdateAlias moves the alias and sets a routing weight",
            moved["FunctionVersion"] == "2"
            and moved.get("RoutingConfig", {}).get("AdditionalVersionWeights") == {"1": 0.25}
            and moved["RevisionId"] != got["RevisionId"],
            moved,
        )
        self.weighted_alias()
        for name in ("blue", "green", "canary"):
            lam.create_alias(FunctionName=TUNED_FN, Name=name, FunctionVersion="2")
        pages = list(
            lam.get_paginator("list_aliases").paginate(
                FunctionName=TUNED_FN, PaginationConfig={"PageSize": 2}
            )
        )
        names = sorted(a["Name"] for p in pages for a in p["Aliases"])
        r.check(
            "ListAliases paginator (PageSize 2) lists all four aliases",
            names == ["blue", "canary", "green", "live"] and len(pages) == 2,
            f"{len(pages)} pages: {names}",
        )
        only_v1 = lam.list_aliases(FunctionName=TUNED_FN, FunctionVersion="1")["Aliases"]
        r.check(
            "ListAliases FunctionVersion=1 lists none (all point at 2)",
            only_v1 == [],
            [a["Name"] for a in only_v1],
        )
        deleted = lam.delete_alias(FunctionName=TUNED_FN, Name="canary")
        r.check("DeleteAlias answers 204", status_of(deleted) == 204, status_of(deleted))
        r.expect_error(
            "GetAlias after DeleteAlias -> ResourceNotFoundException 404",
            "ResourceNotFoundException",
            404,
            lam.get_alias,
            FunctionName=TUNED_FN,
            Name="canary",
        )
        by_alias = lam.get_function_configuration(FunctionName=TUNED_FN, Qualifier="blue")
        r.check(
            "GetFunctionConfiguration Qualifier=<alias> resolves to the version",
            by_alias["Version"] == "2" and by_alias["MemorySize"] == 1536,
            f"Version {by_alias['Version']}",
        )

    def weighted_alias(self):
        """A canary: an alias on version 2 sending a share of its invocations to version 1."""
        r, lam = self.r, self.lam
        created = lam.create_alias(
            FunctionName=TUNED_FN,
            Name="weighted",
            FunctionVersion="2",
            RoutingConfig={"AdditionalVersionWeights": {"1": 0.3}},
        )
        r.check(
            "CreateAlias with RoutingConfig echoes AdditionalVersionWeights",
            created.get("RoutingConfig", {}).get("AdditionalVersionWeights") == {"1": 0.3},
            created,
        )
        got = lam.get_alias(FunctionName=TUNED_FN, Name="weighted")
        r.check(
            "GetAlias returns the RoutingConfig",
            got.get("RoutingConfig", {}).get("AdditionalVersionWeights") == {"1": 0.3}
            and got["RevisionId"] == created["RevisionId"],
            got,
        )
        memory = {
            v: lam.get_function_configuration(FunctionName=TUNED_FN, Qualifier=v)["MemorySize"]
            for v in ("1", "2")
        }
        executed = {"1": 0, "2": 0}
        consistent = True
        for i in range(200):
            target = self.arn(TUNED_FN) + ":weighted" if i % 2 else TUNED_FN
            kwargs = {} if i % 2 else {"Qualifier": "weighted"}
            out = lam.invoke(FunctionName=target, Payload=b"{}", **kwargs)
            version = out.get("ExecutedVersion")
            executed[version] = executed.get(version, 0) + 1
            body = json.loads(out["Payload"].read())
            consistent &= body.get("memoryMB") == memory.get(version)
        r.check(
            "Invoke through a weighted alias (name+Qualifier and alias ARN) answers "
            "ExecutedVersion, about 30% version 1, each with its version's memory",
            set(executed) == {"1", "2"} and 35 <= executed["1"] <= 85 and consistent,
            f"{executed}, memory {memory}, consistent {consistent}",
        )
        cleared = lam.update_alias(
            FunctionName=TUNED_FN,
            Name="weighted",
            RoutingConfig={"AdditionalVersionWeights": {}},
            RevisionId=got["RevisionId"],
        )
        only_main = {
            lam.invoke(FunctionName=TUNED_FN, Qualifier="weighted", Payload=b"{}").get(
                "ExecutedVersion"
            )
            for _ in range(20)
        }
        r.check(
            "UpdateAlias with empty AdditionalVersionWeights removes the routing",
            "RoutingConfig" not in cleared or not cleared["RoutingConfig"].get(
                "AdditionalVersionWeights"
            ),
            cleared,
        )
        r.check(
            "Invoke through the alias then runs only its version",
            only_main == {"2"},
            only_main,
        )
        lam.delete_alias(FunctionName=TUNED_FN, Name="weighted")

    def list_functions_all_versions(self):
        r, lam = self.r, self.lam
        entries = [
            (f["FunctionName"], f["Version"])
            for p in lam.get_paginator("list_functions").paginate(FunctionVersion="ALL")
            for f in p["Functions"]
        ]
        mine = sorted(v for n, v in entries if n == TUNED_FN)
        r.check(
            "ListFunctions FunctionVersion=ALL includes published versions",
            mine == ["$LATEST", "1", "2"] and len(entries) == self.function_count + 2,
            f"{TUNED_FN}: {mine}, {len(entries)} entries",
        )
        plain = [
            f["Version"]
            for p in lam.get_paginator("list_functions").paginate()
            for f in p["Functions"]
        ]
        r.check(
            "ListFunctions without FunctionVersion lists $LATEST only",
            set(plain) == {"$LATEST"},
            set(plain),
        )

    def delete_version(self):
        r, lam = self.r, self.lam
        r.expect_error(
            "DeleteFunction Qualifier=1 while alias routes to it -> ResourceConflictException 409",
            "ResourceConflictException",
            409,
            lam.delete_function,
            FunctionName=TUNED_FN,
            Qualifier="1",
        )
        alias = lam.get_alias(FunctionName=TUNED_FN, Name="live")
        lam.update_alias(
            FunctionName=TUNED_FN,
            Name="live",
            RoutingConfig={"AdditionalVersionWeights": {}},
            RevisionId=alias["RevisionId"],
        )
        deleted = lam.delete_function(FunctionName=TUNED_FN, Qualifier="1")
        r.check(
            "DeleteFunction Qualifier=1 answers 204 once no alias uses it",
            status_of(deleted) == 204,
            status_of(deleted),
        )
        r.expect_error(
            "GetFunctionConfiguration of the deleted version -> ResourceNotFoundException",
            "ResourceNotFoundException",
            404,
            lam.get_function_configuration,
            FunctionName=TUNED_FN,
            Qualifier="1",
        )
        r.expect_error(
            "DeleteFunction Qualifier=2 while aliases point at it -> ResourceConflictException",
            "ResourceConflictException",
            409,
            lam.delete_function,
            FunctionName=TUNED_FN,
            Qualifier="2",
        )
        r.expect_error(
            "DeleteFunction Qualifier=$LATEST -> InvalidParameterValueException 400",
            "InvalidParameterValueException",
            400,
            lam.delete_function,
            FunctionName=TUNED_FN,
            Qualifier="$LATEST",
        )

    # -- Tags, account, concurrency --

    def tags_and_account(self):
        r, lam = self.r, self.lam
        tags = lam.list_tags(Resource=self.arn(API_FN))["Tags"]
        expected = lam.get_function(FunctionName=API_FN)["Tags"]
        r.check(
            "ListTags returns the function's tags",
            tags == expected and tags.get("team"),
            f"{tags} vs GetFunction {expected}",
        )
        settings = lam.get_account_settings()
        limit, usage = settings["AccountLimit"], settings["AccountUsage"]
        r.check(
            "GetAccountSettings AccountLimit.ConcurrentExecutions and Unreserved",
            isinstance(limit["ConcurrentExecutions"], int)
            and 0 < limit["UnreservedConcurrentExecutions"] <= limit["ConcurrentExecutions"],
            limit,
        )
        r.check(
            "GetAccountSettings AccountUsage.FunctionCount matches ListFunctions",
            usage["FunctionCount"] == self.function_count,
            f"{usage['FunctionCount']} vs {self.function_count}",
        )

    def concurrency(self):
        r, lam = self.r, self.lam
        got = lam.get_function_concurrency(FunctionName=RESERVED_FN)
        r.check(
            "GetFunctionConcurrency of a reserved function",
            got.get("ReservedConcurrentExecutions") == 50,
            got,
        )
        none = lam.get_function_concurrency(FunctionName=API_FN)
        r.check(
            "GetFunctionConcurrency without a reservation has no value",
            "ReservedConcurrentExecutions" not in none,
            none,
        )
        before = lam.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"]
        put = lam.put_function_concurrency(FunctionName=API_FN, ReservedConcurrentExecutions=10)
        after = lam.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"]
        r.check(
            "PutFunctionConcurrency sets it and lowers UnreservedConcurrentExecutions",
            put.get("ReservedConcurrentExecutions") == 10
            and lam.get_function_concurrency(FunctionName=API_FN).get(
                "ReservedConcurrentExecutions"
            )
            == 10
            and after == before - 10,
            f"{put}, unreserved {before} -> {after}",
        )
        r.expect_error(
            "PutFunctionConcurrency beyond the account limit -> InvalidParameterValueException",
            "InvalidParameterValueException",
            400,
            lam.put_function_concurrency,
            FunctionName=API_FN,
            ReservedConcurrentExecutions=1_000_000,
        )
        deleted = lam.delete_function_concurrency(FunctionName=API_FN)
        r.check(
            "DeleteFunctionConcurrency answers 204 and removes the reservation",
            status_of(deleted) == 204
            and "ReservedConcurrentExecutions"
            not in lam.get_function_concurrency(FunctionName=API_FN),
            status_of(deleted),
        )

    def provisioned_concurrency(self):
        r, lam = self.r, self.lam
        fn = RESERVED_FN  # reserved concurrency 50: provisioned concurrency must fit in it
        r.expect_error(
            "PutProvisionedConcurrencyConfig on $LATEST -> InvalidParameterValueException",
            "InvalidParameterValueException",
            400,
            lam.put_provisioned_concurrency_config,
            FunctionName=fn,
            Qualifier="$LATEST",
            ProvisionedConcurrentExecutions=1,
        )
        version = lam.publish_version(FunctionName=fn)["Version"]
        lam.create_alias(FunctionName=fn, Name="pc-live", FunctionVersion=version)
        e = r.expect_error(
            "GetProvisionedConcurrencyConfig without one -> "
            "ProvisionedConcurrencyConfigNotFoundException 404",
            "ProvisionedConcurrencyConfigNotFoundException",
            404,
            lam.get_provisioned_concurrency_config,
            FunctionName=fn,
            Qualifier="pc-live",
        )
        r.check(
            "ProvisionedConcurrencyConfigNotFoundException is boto3's modeled exception",
            e is not None
            and isinstance(e, lam.exceptions.ProvisionedConcurrencyConfigNotFoundException),
            type(e),
        )
        r.expect_error(
            "PutProvisionedConcurrencyConfig beyond the reservation -> "
            "InvalidParameterValueException",
            "InvalidParameterValueException",
            400,
            lam.put_provisioned_concurrency_config,
            FunctionName=fn,
            Qualifier="pc-live",
            ProvisionedConcurrentExecutions=51,
        )
        put = lam.put_provisioned_concurrency_config(
            FunctionName=fn, Qualifier="pc-live", ProvisionedConcurrentExecutions=5
        )
        r.check(
            "PutProvisionedConcurrencyConfig answers 202 IN_PROGRESS with the requested level",
            status_of(put) == 202
            and put.get("Status") == "IN_PROGRESS"
            and put.get("RequestedProvisionedConcurrentExecutions") == 5
            and put.get("AllocatedProvisionedConcurrentExecutions") == 0
            and "LastModified" in put,
            put,
        )
        r.expect_error(
            "PutProvisionedConcurrencyConfig on the version of a provisioned alias -> "
            "ResourceConflictException 409",
            "ResourceConflictException",
            409,
            lam.put_provisioned_concurrency_config,
            FunctionName=fn,
            Qualifier=version,
            ProvisionedConcurrentExecutions=1,
        )
        r.expect_error(
            "PutProvisionedConcurrencyConfig without ProvisionedConcurrentExecutions >= 1 -> "
            "ValidationException",
            "ValidationException",
            400,
            self.unvalidated.put_provisioned_concurrency_config,
            FunctionName=fn,
            Qualifier="pc-live",
            ProvisionedConcurrentExecutions=0,
        )
        got = {}
        for _ in range(200):
            got = lam.get_provisioned_concurrency_config(FunctionName=fn, Qualifier="pc-live")
            if got.get("Status") == "READY":
                break
            time.sleep(0.01)
        r.check(
            "GetProvisionedConcurrencyConfig turns READY with everything allocated",
            got.get("Status") == "READY"
            and got.get("AllocatedProvisionedConcurrentExecutions") == 5
            and got.get("AvailableProvisionedConcurrentExecutions") == 5,
            got,
        )
        listed = lam.list_provisioned_concurrency_configs(FunctionName=fn)
        configs = listed.get("ProvisionedConcurrencyConfigs", [])
        r.check(
            "ListProvisionedConcurrencyConfigs lists it by qualified FunctionArn",
            [c.get("FunctionArn") for c in configs] == [self.arn(fn) + ":pc-live"]
            and configs[0].get("RequestedProvisionedConcurrentExecutions") == 5,
            listed,
        )
        r.expect_error(
            "PutFunctionConcurrency below the provisioned level -> "
            "InvalidParameterValueException",
            "InvalidParameterValueException",
            400,
            lam.put_function_concurrency,
            FunctionName=fn,
            ReservedConcurrentExecutions=4,
        )
        deleted = lam.delete_provisioned_concurrency_config(FunctionName=fn, Qualifier="pc-live")
        again = lam.delete_provisioned_concurrency_config(FunctionName=fn, Qualifier="pc-live")
        r.check(
            "DeleteProvisionedConcurrencyConfig answers 204, again too",
            status_of(deleted) == 204
            and status_of(again) == 204
            and not lam.list_provisioned_concurrency_configs(FunctionName=fn)[
                "ProvisionedConcurrencyConfigs"
            ],
            (status_of(deleted), status_of(again)),
        )
        lam.delete_alias(FunctionName=fn, Name="pc-live")
        lam.delete_function(FunctionName=fn, Qualifier=version)

    # -- Invoke --

    def invoke(self):
        r, lam = self.r, self.lam
        cfg = lam.get_function_configuration(FunctionName=API_FN)
        cold = lam.invoke(FunctionName=API_FN, LogType="Tail", Payload=b'{"id": 1}')
        payload = json.loads(cold["Payload"].read())
        r.check(
            "Invoke RequestResponse answers 200, ExecutedVersion $LATEST, JSON payload",
            cold["StatusCode"] == 200
            and cold.get("ExecutedVersion") == "$LATEST"
            and "FunctionError" not in cold
            and isinstance(payload, dict),
            f"StatusCode {cold['StatusCode']}, ExecutedVersion {cold.get('ExecutedVersion')}, "
            f"FunctionError {cold.get('FunctionError')}, payload {payload}",
        )
        text, report = report_in_tail(cold.get("LogResult", ""))
        r.check(
            "Invoke Tail REPORT parsed",
            report is not None
            and report["RequestId"] == cold["ResponseMetadata"]["RequestId"]
            and report["Duration"] > 0
            and report["Billed Duration"] >= int(report["Duration"])
            and report["Memory Size"] == cfg["MemorySize"]
            and 0 < report["Max Memory Used"] <= report["Memory Size"],
            f"log tail {text!r}",
        )
        r.check(
            "Invoke Tail START/END lines and Init Duration on the first (cold) invocation",
            text.startswith("START RequestId: ")
            and "END RequestId: " in text
            and report is not None
            and report.get("Init Duration", 0) > 0,
            f"log tail {text!r}",
        )
        warm = lam.invoke(FunctionName=API_FN, LogType="Tail")
        _, warm_report = report_in_tail(warm.get("LogResult", ""))
        r.check(
            "Invoke Tail on a warm environment has no Init Duration",
            warm_report is not None and "Init Duration" not in warm_report,
            warm_report,
        )
        quiet = lam.invoke(FunctionName=API_FN)
        r.check(
            "Invoke without LogType has no LogResult",
            "LogResult" not in quiet,
            quiet.get("LogResult"),
        )

        tail = lam.invoke(FunctionName=JSON_LOG_FN, LogType="Tail")
        text = base64.b64decode(tail["LogResult"]).decode()
        records = [json.loads(line) for line in text.splitlines() if line.strip()]
        reports = [x for x in records if x.get("type") == "platform.report"]
        metrics = reports[0]["record"]["metrics"] if reports else {}
        r.check(
            "Invoke Tail of a JSON-log function has a platform.report with metrics",
            metrics.get("durationMs", 0) > 0
            and metrics.get("memorySizeMB") == 256
            and metrics.get("maxMemoryUsedMB", 0) > 0
            and reports[0]["record"].get("status") == "success",
            text,
        )

        event = lam.invoke(FunctionName=API_FN, InvocationType="Event", Payload=b"{}")
        r.check(
            "Invoke Event answers 202 with an empty payload",
            event["StatusCode"] == 202 and event["Payload"].read() == b"",
            event["StatusCode"],
        )
        dry = lam.invoke(FunctionName=API_FN, InvocationType="DryRun")
        r.check("Invoke DryRun answers 204", dry["StatusCode"] == 204, dry["StatusCode"])
        r.expect_error(
            "Invoke DryRun of a missing function -> ResourceNotFoundException",
            "ResourceNotFoundException",
            404,
            lam.invoke,
            FunctionName=MISSING_FN,
            InvocationType="DryRun",
        )
        r.expect_error(
            "Invoke with a body that is not JSON -> InvalidRequestContentException 400",
            "InvalidRequestContentException",
            400,
            lam.invoke,
            FunctionName=API_FN,
            Payload=b"not json",
        )

    def invoke_names(self):
        r, lam = self.r, self.lam
        # Watch what boto3 puts on the wire (a separate client, so the others stay untouched).
        urls = []
        watched = boto3.client("lambda", endpoint_url=lam.meta.endpoint_url, region_name=REGION)
        watched.meta.events.register(
            "before-send.lambda.Invoke", lambda request, **_: urls.append(request.url)
        )
        got = watched.invoke(FunctionName=f"{API_FN}:$LATEST")
        r.check(
            "Invoke name:$LATEST is sent percent-encoded and answered",
            urls
            and f"/functions/{API_FN}%3A%24LATEST/invocations" in urls[0]
            and got.get("ExecutedVersion") == "$LATEST",
            f"URL {urls}, ExecutedVersion {got.get('ExecutedVersion')}",
        )
        forms = {
            "ARN": (self.arn(API_FN), None, "$LATEST"),
            "partial ARN": (f"{self.account}:function:{API_FN}", None, "$LATEST"),
            "name:$LATEST": (f"{API_FN}:$LATEST", None, "$LATEST"),
            "Qualifier=$LATEST": (API_FN, "$LATEST", "$LATEST"),
            "ARN:2": (self.arn(TUNED_FN) + ":2", None, "2"),
            "name:alias": (f"{TUNED_FN}:blue", None, "2"),
            "Qualifier=alias": (TUNED_FN, "blue", "2"),
        }
        for form, (name, qualifier, version) in forms.items():
            kwargs = {"FunctionName": name}
            if qualifier:
                kwargs["Qualifier"] = qualifier
            got = lam.invoke(**kwargs)
            r.check(
                f"Invoke by {form} -> ExecutedVersion {version}",
                got["StatusCode"] == 200 and got.get("ExecutedVersion") == version,
                f"StatusCode {got['StatusCode']}, ExecutedVersion {got.get('ExecutedVersion')}",
            )
        r.expect_error(
            "Invoke name:1 with Qualifier=2 -> InvalidParameterValueException 400",
            "InvalidParameterValueException",
            400,
            lam.invoke,
            FunctionName=f"{TUNED_FN}:1",
            Qualifier="2",
        )

    def invoke_function_error(self):
        r, lam = self.r, self.lam
        self.update({OOM_FN: 512, TIMEOUT_FN: 512})
        got = lam.invoke(FunctionName=OOM_FN, LogType="Tail")
        payload = json.loads(got["Payload"].read())
        r.check(
            "Invoke of a function that runs out of memory -> FunctionError Unhandled, HTTP 200",
            got["StatusCode"] == 200 and got.get("FunctionError") == "Unhandled",
            f"StatusCode {got['StatusCode']}, FunctionError {got.get('FunctionError')}",
        )
        r.check(
            "Invoke function error payload has errorType Runtime.OutOfMemory and errorMessage",
            payload.get("errorType") == "Runtime.OutOfMemory"
            and "signal: killed" in payload.get("errorMessage", ""),
            payload,
        )
        _, report = report_in_tail(got.get("LogResult", ""))
        r.check(
            "Invoke Tail REPORT of the OOM has Status error and Error Type",
            report is not None
            and report.get("Status") == "error"
            and report.get("Error Type") == "Runtime.OutOfMemory"
            and report.get("Memory Size") == 512,
            report,
        )
        got = lam.invoke(FunctionName=TIMEOUT_FN, LogType="Tail")
        payload = json.loads(got["Payload"].read())
        text, report = report_in_tail(got.get("LogResult", ""))
        r.check(
            "Invoke of a function that times out -> FunctionError Unhandled, timeout payload",
            got.get("FunctionError") == "Unhandled"
            and "Task timed out after 10.00 seconds" in payload.get("errorMessage", ""),
            f"FunctionError {got.get('FunctionError')}, payload {payload}",
        )
        r.check(
            "Invoke Tail of the timeout has 'Task timed out' and REPORT Status timeout",
            "Task timed out after 10.00 seconds" in text
            and report is not None
            and report.get("Status") == "timeout"
            and report["Duration"] >= 10_000,
            text,
        )

    def throttling(self):
        r, lam = self.r, self.lam
        lam.put_function_concurrency(FunctionName=THROTTLED_FN, ReservedConcurrentExecutions=0)
        e = r.expect_error(
            "Invoke with reserved concurrency 0 -> TooManyRequestsException 429",
            "TooManyRequestsException",
            429,
            self.no_retry.invoke,
            FunctionName=THROTTLED_FN,
        )
        if e is not None:
            r.check(
                "TooManyRequestsException carries Reason and Retry-After",
                e.response.get("Reason") == "ReservedFunctionConcurrentInvocationLimitExceeded"
                and e.response["ResponseMetadata"]["HTTPHeaders"].get("retry-after")
                and isinstance(e, lam.exceptions.TooManyRequestsException)
                and e.response["ResponseMetadata"].get("RetryAttempts") == 0,
                e.response,
            )
        lam.delete_function_concurrency(FunctionName=THROTTLED_FN)
        got = lam.invoke(FunctionName=THROTTLED_FN)
        r.check(
            "Invoke after DeleteFunctionConcurrency succeeds again",
            got["StatusCode"] == 200,
            got["StatusCode"],
        )

    # -- CreateFunction, GetFunction's code, DeleteFunction --

    def create_and_delete_function(self):
        r, lam = self.r, self.lam
        got = lam.get_function(FunctionName=API_FN)
        location = got["Code"]["Location"]
        with urllib.request.urlopen(location) as response:
            package = response.read()
        sha = base64.b64encode(hashlib.sha256(package).digest()).decode()
        r.check(
            "GetFunction Code.Location serves the package whose SHA-256 is CodeSha256",
            got["Code"]["RepositoryType"] == "S3" and sha == got["Configuration"]["CodeSha256"],
            (got["Code"], sha),
        )
        c = got["Configuration"]
        created = lam.create_function(
            FunctionName=COPY_FN,
            Runtime=c["Runtime"],
            Role=c["Role"],
            Handler=c["Handler"],
            Code={"ZipFile": package},
            Architectures=["arm64"],
            MemorySize=256,
            Timeout=10,
            Environment={"Variables": {"MODE": "copy"}},
            Tags={"memtune:clone-of": API_FN},
            LoggingConfig={"LogFormat": "JSON", "SystemLogLevel": "INFO"},
        )
        r.check(
            "CreateFunction answers 201, State Pending (Creating), the package's CodeSha256",
            status_of(created) == 201
            and created["State"] == "Pending"
            and created["StateReasonCode"] == "Creating"
            and created["CodeSha256"] == sha
            and created["Architectures"] == ["arm64"]
            and created["Environment"]["Variables"] == {"MODE": "copy"}
            and created["LoggingConfig"]["LogFormat"] == "JSON",
            created,
        )
        lam.get_waiter("function_active_v2").wait(
            FunctionName=COPY_FN, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
        )
        active = lam.get_function_configuration(FunctionName=COPY_FN)
        r.check(
            "the new function turns Active, LastUpdateStatus Successful",
            active["State"] == "Active" and active["LastUpdateStatus"] == "Successful",
            active,
        )
        tags = lam.list_tags(Resource=active["FunctionArn"])["Tags"]
        r.check("CreateFunction's Tags are the function's", tags == {"memtune:clone-of": API_FN}, tags)
        tagged = lam.tag_resource(Resource=active["FunctionArn"], Tags={"team": "lab"})
        r.check(
            "TagResource answers 204",
            tagged["ResponseMetadata"]["HTTPStatusCode"] == 204,
            tagged["ResponseMetadata"],
        )
        tags = lam.list_tags(Resource=active["FunctionArn"])["Tags"]
        r.check(
            "TagResource adds to the function's tags",
            tags == {"memtune:clone-of": API_FN, "team": "lab"},
            tags,
        )
        r.expect_error(
            "TagResource of a function that does not exist -> ResourceNotFoundException 404",
            "ResourceNotFoundException",
            404,
            lam.tag_resource,
            Resource=self.arn(MISSING_FN),
            Tags={"k": "v"},
        )
        invoked = lam.invoke(FunctionName=COPY_FN, LogType="Tail")
        r.check(
            "the copy runs (200, no function error)",
            invoked["StatusCode"] == 200 and "FunctionError" not in invoked,
            invoked.get("FunctionError"),
        )
        r.expect_error(
            "CreateFunction of an existing name -> ResourceConflictException 409",
            "ResourceConflictException",
            409,
            lam.create_function,
            FunctionName=COPY_FN,
            Runtime=c["Runtime"],
            Role=c["Role"],
            Handler=c["Handler"],
            Code={"ZipFile": package},
        )
        r.expect_error(
            "CreateFunction without code -> InvalidParameterValueException 400",
            "InvalidParameterValueException",
            400,
            lam.create_function,
            FunctionName="boto3-no-code",
            Runtime=c["Runtime"],
            Role=c["Role"],
            Handler=c["Handler"],
            Code={},
        )
        r.expect_error(
            "CreateFunction from a bucket that cannot exist -> InvalidParameterValueException",
            "InvalidParameterValueException",
            400,
            lam.create_function,
            FunctionName="boto3-no-bucket",
            Runtime=c["Runtime"],
            Role=c["Role"],
            Handler=c["Handler"],
            Code={"S3Bucket": "sthree-no-such-bucket", "S3Key": "x.zip"},
        )
        lam.update_function_configuration(
            FunctionName=COPY_FN, SnapStart={"ApplyOn": "PublishedVersions"}
        )
        lam.get_waiter("function_updated_v2").wait(
            FunctionName=COPY_FN, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
        )
        published = lam.publish_version(FunctionName=COPY_FN)
        r.check(
            "PublishVersion with SnapStart: the version is Pending (OptimizationStatus On)",
            published["State"] == "Pending"
            and published["SnapStart"]["OptimizationStatus"] == "On",
            published,
        )
        version = published["Version"]
        lam.get_waiter("published_version_active").wait(
            FunctionName=COPY_FN, Qualifier=version, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
        )
        ready = lam.get_function_configuration(FunctionName=COPY_FN, Qualifier=version)
        r.check(
            "... until its snapshot is ready: then Active",
            ready["State"] == "Active" and ready["SnapStart"]["OptimizationStatus"] == "On",
            ready,
        )
        lam.create_alias(FunctionName=COPY_FN, Name="live", FunctionVersion=version)
        deleted = lam.delete_function(FunctionName=COPY_FN)
        r.check("DeleteFunction of a whole function answers 204", status_of(deleted) == 204, deleted)
        r.expect_error(
            "a deleted function (and its versions) is gone -> ResourceNotFoundException 404",
            "ResourceNotFoundException",
            404,
            lam.get_function_configuration,
            FunctionName=COPY_FN,
            Qualifier=version,
        )

    def create_image_function(self):
        r, lam = self.r, self.lam
        uri = f"{self.account}.dkr.ecr.{REGION}.amazonaws.com/boto3-image:latest"
        created = lam.create_function(
            FunctionName=IMAGE_FN,
            Role=f"arn:aws:iam::{self.account}:role/boto3-image",
            PackageType="Image",
            Code={"ImageUri": uri},
        )
        r.check(
            "CreateFunction of an image: PackageType Image, no Runtime",
            created["PackageType"] == "Image" and "Runtime" not in created,
            created,
        )
        lam.get_waiter("function_active_v2").wait(
            FunctionName=IMAGE_FN, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
        )
        code = lam.get_function(FunctionName=IMAGE_FN)["Code"]
        r.check(
            "GetFunction of an image function names the image (RepositoryType ECR)",
            code["RepositoryType"] == "ECR" and code["ImageUri"] == uri,
            code,
        )
        lam.delete_function(FunctionName=IMAGE_FN)


# ---- CloudWatch ------------------------------------------------------------------------------


class CloudWatchChecks:
    def __init__(self, r, endpoint, after_lambda):
        self.r = r
        # The Lambda section throttled THROTTLED_FN once; only then is a Throttle expected.
        self.after_lambda = after_lambda
        self.cw = boto3.client("cloudwatch", endpoint_url=endpoint, region_name=REGION)

    def run(self):
        for step in (self.get_metric_data, self.metric_errors):
            run_step(self.r, f"CloudWatch {step.__name__}", step)

    def query(self, qid, function, metric, stat, period=300):
        return {
            "Id": qid,
            "MetricStat": {
                "Metric": {
                    "Namespace": "AWS/Lambda",
                    "MetricName": metric,
                    "Dimensions": [{"Name": "FunctionName", "Value": function}],
                },
                "Period": period,
                "Stat": stat,
            },
        }

    def get_metric_data(self):
        r, cw = self.r, self.cw
        end = now()
        queries = [
            self.query("inv", API_FN, "Invocations", "Sum"),
            self.query("p99", API_FN, "Duration", "p99"),
            self.query("thr", THROTTLED_FN, "Throttles", "Sum", period=60),
        ]
        got = cw.get_metric_data(
            MetricDataQueries=queries,
            StartTime=end - dt.timedelta(hours=3),
            EndTime=end + dt.timedelta(minutes=1),
        )
        results = {m["Id"]: m for m in got["MetricDataResults"]}
        r.check(
            "GetMetricData returns one result per query with StatusCode Complete",
            set(results) == {q["Id"] for q in queries}
            and all(m["StatusCode"] == "Complete" for m in results.values()),
            {k: m.get("StatusCode") for k, m in results.items()},
        )
        inv = results.get("inv", {})
        r.check(
            "GetMetricData Invocations Sum > 0 for a function with production traffic",
            inv.get("Values") and sum(inv["Values"]) > 0,
            inv,
        )
        r.check(
            "GetMetricData Timestamps are datetimes, as many as Values, newest first",
            len(inv.get("Timestamps", [])) == len(inv.get("Values", []))
            and all(isinstance(t, dt.datetime) for t in inv.get("Timestamps", []))
            and inv.get("Timestamps", []) == sorted(inv.get("Timestamps", []), reverse=True),
            inv.get("Timestamps", [])[:3],
        )
        r.check(
            "GetMetricData Values are floats",
            all(isinstance(v, float) for v in inv.get("Values", [])),
            [type(v).__name__ for v in inv.get("Values", [])[:3]],
        )
        p99 = results.get("p99", {})
        r.check(
            "GetMetricData Duration p99 > 0",
            p99.get("Values") and max(p99["Values"]) > 0,
            p99,
        )
        if self.after_lambda:
            thr = results.get("thr", {})
            r.check(
                "GetMetricData Throttles Sum counts the throttled Invoke",
                thr.get("Values") and sum(thr["Values"]) >= 1,
                thr,
            )
        pages = list(
            cw.get_paginator("get_metric_data").paginate(
                MetricDataQueries=[self.query("inv", API_FN, "Invocations", "Sum", period=60)],
                StartTime=end - dt.timedelta(hours=1),
                EndTime=end,
            )
        )
        r.check(
            "GetMetricData paginator returns Invocations per minute",
            sum(len(m["Values"]) for p in pages for m in p["MetricDataResults"]) > 0,
            f"{len(pages)} pages",
        )

    def metric_errors(self):
        r, cw = self.r, self.cw
        end = now()
        bad = self.query("bad", API_FN, "Duration", "p99")
        bad["MetricStat"]["Period"] = 7
        e = error_of(
            cw.get_metric_data,
            MetricDataQueries=[bad],
            StartTime=end - dt.timedelta(hours=1),
            EndTime=end,
        )
        # CloudWatch's exact code for this is not pinned down here; a 400 that names the
        # parameter is what a client can act on.
        r.check(
            "GetMetricData Period 7 -> a 400 client error naming Period",
            e is not None
            and e.response["ResponseMetadata"]["HTTPStatusCode"] == 400
            and e.response["Error"].get("Code")
            and "Period" in e.response["Error"].get("Message", ""),
            e.response if e is not None else "the call succeeded",
        )


# ---- CloudWatch Logs -------------------------------------------------------------------------


class LogsChecks:
    def __init__(self, r, endpoint):
        self.r = r
        self.logs = boto3.client("logs", endpoint_url=endpoint, region_name=REGION)
        self.lam = boto3.client("lambda", endpoint_url=endpoint, region_name=REGION)

    def run(self):
        for step in (self.filter_log_events, self.insights, self.delete_log_group):
            run_step(self.r, f"Logs {step.__name__}", step)

    def delete_log_group(self):
        r, logs = self.r, self.logs
        group = f"/aws/lambda/{TUNED_FN}"
        self.lam.invoke(FunctionName=TUNED_FN)
        deleted = logs.delete_log_group(logGroupName=group)
        r.check("DeleteLogGroup answers 200", status_of(deleted) == 200, deleted)
        r.expect_error(
            "a deleted log group is gone -> ResourceNotFoundException",
            "ResourceNotFoundException",
            400,
            logs.filter_log_events,
            logGroupName=group,
        )
        r.expect_error(
            "DeleteLogGroup of a group that does not exist -> ResourceNotFoundException",
            "ResourceNotFoundException",
            400,
            logs.delete_log_group,
            logGroupName="/aws/lambda/no-such-function",
        )

    def filter_log_events(self):
        r, logs = self.r, self.logs
        start_ms = int((now() - dt.timedelta(minutes=30)).timestamp() * 1000)
        events = list(
            logs.get_paginator("filter_log_events")
            .paginate(
                logGroupName=f"/aws/lambda/{API_FN}",
                filterPattern="REPORT",
                startTime=start_ms,
                PaginationConfig={"MaxItems": 200},
            )
            .search("events[]")
        )
        reports = [parse_report(e["message"]) for e in events]
        r.check(
            "FilterLogEvents filterPattern REPORT finds REPORT lines",
            events and all(rep is not None and rep["Duration"] > 0 for rep in reports),
            f"{len(events)} events, first {events[:1]}",
        )
        r.check(
            "FilterLogEvents events have timestamps, stream names and event ids",
            all(
                e["timestamp"] >= start_ms and e.get("logStreamName") and e.get("eventId")
                for e in events
            ),
            events[:1],
        )

        # An invocation of our own shows up under its request id.
        got = self.lam.invoke(FunctionName=API_FN)
        request_id = got["ResponseMetadata"]["RequestId"]
        mine = logs.filter_log_events(
            logGroupName=f"/aws/lambda/{API_FN}",
            filterPattern=f'"REPORT RequestId: {request_id}"',
            startTime=int((now() - dt.timedelta(minutes=2)).timestamp() * 1000),
        )
        found = list(mine["events"])
        while not found and mine.get("nextToken"):
            mine = logs.filter_log_events(
                logGroupName=f"/aws/lambda/{API_FN}",
                filterPattern=f'"REPORT RequestId: {request_id}"',
                startTime=int((now() - dt.timedelta(minutes=2)).timestamp() * 1000),
                nextToken=mine["nextToken"],
            )
            found += mine["events"]
        r.check(
            "FilterLogEvents finds the REPORT line of our own Invoke by request id",
            len(found) == 1 and request_id in found[0]["message"],
            f"request id {request_id}: {found}",
        )
        r.expect_error(
            "FilterLogEvents of a missing log group -> ResourceNotFoundException",
            "ResourceNotFoundException",
            400,
            logs.filter_log_events,
            logGroupName=f"/aws/lambda/{MISSING_FN}",
        )

    def insights(self):
        r, logs = self.r, self.logs
        end = now()
        started = logs.start_query(
            logGroupName=f"/aws/lambda/{API_FN}",
            startTime=int((end - dt.timedelta(hours=1)).timestamp()),
            endTime=int(end.timestamp()),
            queryString=(
                'filter @type = "REPORT" '
                "| stats count(*) as invocations, avg(@duration) as avgDuration, "
                "pct(@duration, 99) as p99, max(@maxMemoryUsed) as maxMemory"
            ),
        )
        query_id = started["queryId"]
        statuses = []
        deadline = time.monotonic() + 20
        while True:
            result = logs.get_query_results(queryId=query_id)
            statuses.append(result["status"])
            if result["status"] not in ("Scheduled", "Running") or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        r.check(
            "StartQuery/GetQueryResults polled to Complete",
            result["status"] == "Complete",
            f"statuses {statuses}",
        )
        rows = [{c["field"]: c["value"] for c in row} for row in result.get("results", [])]
        row = rows[0] if rows else {}

        def number(key):
            try:
                return float(row.get(key, ""))
            except ValueError:
                return 0.0

        r.check(
            "Logs Insights stats over REPORT lines: count, avg, p99, max memory > 0",
            len(rows) == 1
            and number("invocations") > 0
            and 0 < number("avgDuration") <= number("p99")
            and number("maxMemory") > 0,
            rows,
        )
        stats = result.get("statistics", {})
        r.check(
            "GetQueryResults statistics recordsMatched > 0",
            stats.get("recordsMatched", 0) > 0,
            stats,
        )
        r.expect_error(
            "StartQuery with a malformed query -> MalformedQueryException",
            "MalformedQueryException",
            400,
            logs.start_query,
            logGroupName=f"/aws/lambda/{API_FN}",
            startTime=int((end - dt.timedelta(hours=1)).timestamp()),
            endTime=int(end.timestamp()),
            queryString="stats count(* by",
        )
        r.expect_error(
            "GetQueryResults of an unknown query -> ResourceNotFoundException",
            "ResourceNotFoundException",
            400,
            logs.get_query_results,
            queryId="00000000-0000-0000-0000-000000000000",
        )


# ---- STS ---------------------------------------------------------------------------------------


class StsChecks:
    """AssumeRole and GetCallerIdentity (awsQuery), and the assumed credentials acting in the
    role's account and the region they are signed for."""

    def __init__(self, r, endpoint):
        self.r = r
        self.endpoint = endpoint
        common = dict(endpoint_url=endpoint, region_name=REGION)
        self.sts = boto3.client("sts", **common)
        self.unvalidated = boto3.client(
            "sts", config=Config(parameter_validation=False), **common
        )

    def run(self):
        for step in (self.assume_role, self.refusals):
            run_step(self.r, f"sts {step.__name__}", step)

    def client(self, service, creds, region):
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=region,
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )

    def assume_role(self):
        r = self.r
        me = self.sts.get_caller_identity()
        r.check(
            "GetCallerIdentity with long-term keys -> the lab's own account",
            me["Account"] == OWN_ACCOUNT and me["Arn"].startswith("arn:aws:iam::"),
            me,
        )
        got = self.sts.assume_role(
            RoleArn=ROLE, RoleSessionName="compat", ExternalId=EXTERNAL_ID, DurationSeconds=900
        )
        creds = got["Credentials"]
        left = (creds["Expiration"] - now()).total_seconds()
        r.check(
            "AssumeRole -> ASIA key, secret, session token, Expiration 15 min ahead",
            creds["AccessKeyId"].startswith("ASIA")
            and len(creds["SecretAccessKey"]) == 40
            and creds["SessionToken"]
            and 800 < left <= 900,
            f"{creds['AccessKeyId']} expires in {left:.0f} s",
        )
        user = got["AssumedRoleUser"]
        r.check(
            "AssumeRole -> AssumedRoleUser Arn and AssumedRoleId",
            user["Arn"] == f"arn:aws:sts::{OTHER_ACCOUNT}:assumed-role/memtune-tuner/compat"
            and user["AssumedRoleId"].startswith("AROA")
            and user["AssumedRoleId"].endswith(":compat"),
            user,
        )
        who = self.client("sts", creds, REGION).get_caller_identity()
        r.check(
            "GetCallerIdentity with assumed credentials -> the role's account",
            who["Account"] == OTHER_ACCOUNT and who["Arn"] == user["Arn"],
            who,
        )
        lam = self.client("lambda", creds, OTHER_REGION)
        arns = [f["FunctionArn"] for f in lam.list_functions()["Functions"]]
        prefix = f"arn:aws:lambda:{OTHER_REGION}:{OTHER_ACCOUNT}:function:"
        r.check(
            "assumed credentials signed for eu-west-1 -> that account's functions in eu-west-1",
            arns and all(a.startswith(prefix) for a in arns),
            arns[:2],
        )
        forged = dict(creds, SessionToken="forged")
        r.expect_error(
            "Lambda call with a forged session token -> UnrecognizedClientException",
            "UnrecognizedClientException",
            403,
            self.client("lambda", forged, OTHER_REGION).list_functions,
        )

    def refusals(self):
        r = self.r
        for name, kwargs in (
            ("a wrong ExternalId", dict(ExternalId="not-it")),
            ("no ExternalId", {}),
        ):
            r.expect_error(
                f"AssumeRole with {name} -> AccessDenied",
                "AccessDenied",
                403,
                self.sts.assume_role,
                RoleArn=ROLE,
                RoleSessionName="compat",
                **kwargs,
            )
        r.expect_error(
            "AssumeRole of a role that does not exist -> AccessDenied",
            "AccessDenied",
            403,
            self.sts.assume_role,
            RoleArn=f"arn:aws:iam::{OTHER_ACCOUNT}:role/nobody",
            RoleSessionName="compat",
        )
        r.expect_error(
            "AssumeRole beyond the role's MaxSessionDuration -> ValidationError",
            "ValidationError",
            400,
            self.sts.assume_role,
            RoleArn=ROLE,
            RoleSessionName="compat",
            ExternalId=EXTERNAL_ID,
            DurationSeconds=7200,
        )
        r.expect_error(
            "AssumeRole with DurationSeconds 100 -> ValidationError",
            "ValidationError",
            400,
            self.unvalidated.assume_role,
            RoleArn=ROLE,
            RoleSessionName="compat",
            ExternalId=EXTERNAL_ID,
            DurationSeconds=100,
        )
        r.expect_error(
            "AssumeRole with a session name of spaces -> ValidationError",
            "ValidationError",
            400,
            self.unvalidated.assume_role,
            RoleArn=ROLE,
            RoleSessionName="not valid",
            ExternalId=EXTERNAL_ID,
        )


# ---- s3 --------------------------------------------------------------------------------------


class S3Checks:
    """The S3 a package too large for CreateFunction inline is staged in: CreateBucket,
    HeadBucket, PutObject, HeadObject, GetObject, DeleteObject, and CreateFunction from the
    staged object, with S3's errors (an XML body; none for HEAD)."""

    BUCKET = "boto3-staging"
    KEY = "memtune-staging/run-1/copy.zip"
    COPY = "boto3-copy-from-s3"

    def __init__(self, r, endpoint):
        self.r = r
        common = dict(endpoint_url=endpoint, region_name=REGION)
        self.s3 = boto3.client("s3", **common)
        self.lam = boto3.client("lambda", **common)

    def run(self):
        for step in (self.bucket, self.objects, self.create_from_s3, self.errors):
            run_step(self.r, f"s3 {step.__name__}", step)

    def bucket(self):
        r = self.r
        created = self.s3.create_bucket(Bucket=self.BUCKET)
        r.check("CreateBucket -> 200", status_of(created) == 200, created)
        head = self.s3.head_bucket(Bucket=self.BUCKET)
        r.check(
            "HeadBucket -> 200 with x-amz-bucket-region",
            head["ResponseMetadata"]["HTTPHeaders"].get("x-amz-bucket-region") == REGION,
            head,
        )
        r.expect_error(
            "CreateBucket of a bucket you own -> BucketAlreadyOwnedByYou",
            "BucketAlreadyOwnedByYou",
            409,
            self.s3.create_bucket,
            Bucket=self.BUCKET,
        )

    def objects(self):
        r = self.r
        body = b"PK\x05\x06" + b"\x00" * 18
        put = self.s3.put_object(Bucket=self.BUCKET, Key=self.KEY, Body=body)
        md5 = hashlib.md5(body).hexdigest()
        r.check("PutObject -> 200, ETag the quoted MD5", put["ETag"] == f'"{md5}"', put)
        head = self.s3.head_object(Bucket=self.BUCKET, Key=self.KEY)
        r.check("HeadObject: ContentLength", head["ContentLength"] == len(body), head)
        got = self.s3.get_object(Bucket=self.BUCKET, Key=self.KEY)["Body"].read()
        r.check("GetObject returns the bytes put", got == body, got[:40])
        gone = self.s3.delete_object(Bucket=self.BUCKET, Key=self.KEY)
        r.check("DeleteObject -> 204", status_of(gone) == 204, gone)
        again = self.s3.delete_object(Bucket=self.BUCKET, Key=self.KEY)
        r.check("DeleteObject of a key that is not there -> 204", status_of(again) == 204, again)

    def create_from_s3(self):
        r = self.r
        original = self.lam.get_function(FunctionName=API_FN)
        with urllib.request.urlopen(original["Code"]["Location"]) as response:
            package = response.read()
        self.s3.put_object(Bucket=self.BUCKET, Key=self.KEY, Body=package)
        c = original["Configuration"]
        created = self.lam.create_function(
            FunctionName=self.COPY,
            Runtime=c["Runtime"],
            Role=c["Role"],
            Handler=c["Handler"],
            Code={"S3Bucket": self.BUCKET, "S3Key": self.KEY},
        )
        r.check(
            "CreateFunction from S3Bucket/S3Key: the staged package's CodeSha256",
            created["CodeSha256"] == c["CodeSha256"] and created["CodeSize"] == len(package),
            created,
        )
        self.lam.delete_function(FunctionName=self.COPY)
        self.s3.delete_object(Bucket=self.BUCKET, Key=self.KEY)
        r.expect_error(
            "CreateFunction from a key that is not there -> InvalidParameterValueException",
            "InvalidParameterValueException",
            400,
            self.lam.create_function,
            FunctionName=self.COPY,
            Runtime=c["Runtime"],
            Role=c["Role"],
            Handler=c["Handler"],
            Code={"S3Bucket": self.BUCKET, "S3Key": self.KEY},
        )

    def errors(self):
        r = self.r
        e = r.expect_error(
            "GetObject of a key that is not there -> NoSuchKey",
            "NoSuchKey",
            404,
            self.s3.get_object,
            Bucket=self.BUCKET,
            Key="no/such/key.zip",
        )
        if e is not None:
            r.check(
                "... with S3's message",
                e.response["Error"].get("Message") == "The specified key does not exist.",
                e.response,
            )
        r.expect_error(
            "HeadObject of a key that is not there -> 404 without a body",
            "404",
            404,
            self.s3.head_object,
            Bucket=self.BUCKET,
            Key="no/such/key.zip",
        )
        r.expect_error(
            "PutObject into a bucket that does not exist -> NoSuchBucket",
            "NoSuchBucket",
            404,
            self.s3.put_object,
            Bucket="boto3-no-such-bucket",
            Key="k",
            Body=b"x",
        )
        r.expect_error(
            "HeadBucket of a bucket that does not exist -> 404",
            "404",
            404,
            self.s3.head_bucket,
            Bucket="boto3-no-such-bucket",
        )


# ---- driver ----------------------------------------------------------------------------------


def run_step(r, name, step):
    """Runs one group of checks; an unexpected exception fails it loudly, the rest still run."""
    try:
        step()
    except ClientError as e:
        op = e.operation_name
        r.check(name, False, f"unexpected error from {op}: {e}")
    except Exception as e:  # noqa: BLE001 - any surprise is a failed check, not a crash
        r.check(name, False, f"unexpected {type(e).__name__}: {e}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("endpoint", nargs="?", default=os.environ.get("AWS_ENDPOINT_URL"))
    parser.add_argument(
        "--sections",
        default=",".join(SECTIONS),
        help="comma-separated subset of: " + ", ".join(SECTIONS),
    )
    args = parser.parse_args()
    if not args.endpoint:
        parser.error("give the lab's endpoint or set AWS_ENDPOINT_URL")
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}")
    # Dummy credentials unless the caller set some; the lab does not check signatures.
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "AKIDLABCOMPAT")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "lab-compat-secret")

    r = Results()
    started = time.monotonic()
    # Lambda first: CloudWatch and Logs check the throttle and invocations it caused.
    if "lambda" in sections:
        print("== lambda", flush=True)
        LambdaChecks(r, args.endpoint).run()
    if "cloudwatch" in sections:
        print("== cloudwatch", flush=True)
        CloudWatchChecks(r, args.endpoint, after_lambda="lambda" in sections).run()
    if "logs" in sections:
        print("== logs", flush=True)
        LogsChecks(r, args.endpoint).run()
    if "sts" in sections:
        print("== sts", flush=True)
        StsChecks(r, args.endpoint).run()
    if "s3" in sections:
        print("== s3", flush=True)
        S3Checks(r, args.endpoint).run()
    print(f"{r.passed} passed, {r.failed} failed ({time.monotonic() - started:.1f} s)")
    return 1 if r.failed or not r.passed else 0


if __name__ == "__main__":
    sys.exit(main())
