#!/usr/bin/env python3
"""Property-based run of the whole OpenAPI document (docs/openapi.yaml) against a running broker.

    api_properties.py BASE_URL PARTY_KEY_FILE [PARTY_KEY_FILE ...] [--max-examples N] [--seed S]
                      [--person] [--max-time SECONDS] [--schema PATH_OR_URL] [--verbose]

e.g., against `mydata serve` on a data directory made by `mydata admin init`:

    api_properties.py http://127.0.0.1:8080 data/keys/hanbit-motors.key \
        data/keys/safedrive-insurance.key --person

Schemathesis (PyPI `schemathesis`, 4.x) generates, for every operation of the document, requests
that fit it (positive) and requests that break it (negative: wrong types, missing fields, values
out of range). Every request, the unsigned public ones included, is signed as RFC 9421 asks
(docs/api.md, "Signing a request"), by the party whose key file is given, the way
independent_client.py signs: Python's `http-message-signatures` with Ed25519, covering
`@method`, `@target-uri` and, with a body, `content-digest`, with `created` and a fresh `nonce`.
A generated `Signature`, `Signature-Input` or `Content-Digest` header is replaced by the real
one. Several key files make one pass each (the routes answer by role: give a manufacturer and a
recipient); --person adds a pass as a fresh person, whose new key goes in `MyData-Subject-Key`.
Operations with an `{id}` in the path run again with ids that exist (the signer's accounts,
requests and consents), so that they get past `404`.

Every response must:
  * not be a 5xx;
  * have a status code, content type, headers and body that the document describes for the
    operation (schemathesis's `status_code_conformance`, `content_type_conformance`,
    `response_headers_conformance`, `response_schema_conformance`);
  * when it is an error (4xx/5xx), be `application/problem+json` with the RFC 9457 fields
    docs/api.md ("Errors") promises: `type` = `https://mydata.example/problems/<code>`, `title`
    (the reason phrase), `status` (= the HTTP status), `detail` and `code`, all non-empty.

The document is read from BASE_URL/v1/openapi.yaml, or from --schema (a path or URL; the
repository's docs/openapi.yaml when the server does not serve it). Prints one summary line per
pass and a total line; exits 0 when nothing failed, 1 with a listing of each distinct failure
(operation, check, the request as sent, the response) otherwise, 2 on a usage or setup error.
The run is bounded by --max-examples per operation and mode, and by --max-time in all.
"""
from __future__ import annotations

import argparse
import atexit
import base64
import datetime
import hashlib
import http
import json
import os
import pathlib
import shutil
import sys
import tempfile
import time
import warnings

try:
    import hypothesis
    import hypothesis.configuration
    import hypothesis.errors
    import requests
    import schemathesis
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from http_message_signatures import HTTPMessageSigner, HTTPSignatureKeyResolver, algorithms
    from schemathesis import GenerationMode
    from schemathesis.checks import not_a_server_error
    from schemathesis.core.failures import Failure, FailureGroup
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
        status_code_conformance,
    )
except ImportError as error:  # pragma: no cover - a setup problem, not a failure of the server
    sys.exit(f"api_properties: needs `pip install schemathesis http-message-signatures pynacl requests` ({error})")

REPO_DOCUMENT = pathlib.Path(__file__).resolve().parents[3] / "docs" / "openapi.yaml"
PROBLEM_TYPE_PREFIX = "https://mydata.example/problems/"
# Reason phrases the server may use (Hummingbird's) besides Python's own names for the same codes.
REASON_PHRASES = {413: {"Content Too Large", "Payload Too Large", "Request Entity Too Large"},
                  422: {"Unprocessable Content", "Unprocessable Entity"},
                  402: {"Payment Required"}}
BODY_SHOWN = 1500


class OutOfTime(BaseException):
    """Raised inside a Hypothesis test to stop the whole run at --max-time (not an Exception, so
    Hypothesis does not take it for a failure to shrink)."""


# --- signing ---------------------------------------------------------------------------------

class PartySigner(requests.auth.AuthBase):
    """Signs a prepared request exactly as independent_client.py does (RFC 9421, Ed25519)."""

    def __init__(self, key_file: str | None):
        if key_file is None:            # --person: a fresh person, unknown to the broker
            seed = os.urandom(32)
            private = Ed25519PrivateKey.from_private_bytes(seed)
            public = private.public_key().public_bytes_raw()
            self.party = "sub_" + hashlib.blake2b(public, digest_size=16).hexdigest()
            self.subject_key = base64.b64encode(public).decode()
        else:
            key = json.load(open(key_file))
            self.party = key["id"]
            seed = base64.b64decode(key["secret"])[:32]      # unprotected key file: seed ‖ box secret
            private = Ed25519PrivateKey.from_private_bytes(seed)
            self.subject_key = None

        class Keys(HTTPSignatureKeyResolver):
            def resolve_private_key(self, key_id):
                return private

        self.signer = HTTPMessageSigner(signature_algorithm=algorithms.ED25519, key_resolver=Keys())

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        for name in ("Signature", "Signature-Input", "Content-Digest"):
            request.headers.pop(name, None)     # generated values (the document declares them)
        if self.subject_key is not None:        # a person the broker does not know yet
            request.headers["MyData-Subject-Key"] = self.subject_key
        body = request.body
        if isinstance(body, str):
            body = body.encode()
        if body is not None and not isinstance(body, bytes):   # a generator or file: read it once
            body = b"".join(part if isinstance(part, bytes) else part.encode() for part in body)
            request.body = body
        covered = ["@method", "@target-uri"]
        if body:
            covered.append("content-digest")    # the library computes Content-Digest (RFC 9530)
        self.signer.sign(request, key_id=self.party, covered_component_ids=covered, label="sig1",
                         body=body or None, created=datetime.datetime.now(datetime.timezone.utc),
                         nonce=base64.urlsafe_b64encode(os.urandom(12)).decode())
        return request


# --- NDJSON bodies (POST /v1/telemetry): schemathesis has no serializer of its own for them ----

@schemathesis.serializer("application/x-ndjson")
def ndjson(ctx, value):
    """The document gives the NDJSON body as a string (one record per line): sent as it is; any
    other generated value (negative mode) as one JSON line per element."""
    if value is None:
        return None
    if isinstance(value, (bytes, str)):
        return value.encode() if isinstance(value, str) else value
    items = value if isinstance(value, list) else [value]
    return "\n".join(json.dumps(item) for item in items).encode()


# --- the problem+json check -------------------------------------------------------------------

class ProblemDetailsFailure(Failure):
    code = "ST990"
    kind_title = "Error response is not the promised problem+json"


def documented_media_types(case, status: int) -> list[str]:
    definition = case.operation.definition.raw.get("responses", {})
    entry = definition.get(str(status)) or definition.get(f"{str(status)[0]}XX") or definition.get("default")
    if not isinstance(entry, dict):
        return []
    if "$ref" in entry:
        name = entry["$ref"].rsplit("/", 1)[-1]
        entry = case.operation.schema.raw_schema.get("components", {}).get("responses", {}).get(name, {})
    return list((entry.get("content") or {}).keys())


def problem_json(ctx, response, case):
    """Every error is application/problem+json with type, title, status, detail and code
    (docs/api.md, "Errors"), unless the document gives that status another media type (e.g.
    /readyz's 503)."""
    status = response.status_code
    if status < 400:
        return None
    documented = documented_media_types(case, status)
    if documented and "application/problem+json" not in documented:
        return None
    problems = []
    content_type = (response.headers.get("content-type") or [""])[0].split(";")[0].strip().lower()
    if content_type != "application/problem+json":
        problems.append(f"Content-Type is {content_type or 'absent'!r}, not 'application/problem+json'")
    try:
        body = json.loads(response.content)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        problems.append("the body is not a JSON object")
    else:
        for field, kind in (("type", str), ("title", str), ("status", int), ("detail", str), ("code", str)):
            value = body.get(field)
            if not isinstance(value, kind) or isinstance(value, bool) or value == "":
                problems.append(f"field {field!r} is missing, empty or not a {kind.__name__}: {value!r}")
        if body.get("status") != status and isinstance(body.get("status"), int):
            problems.append(f"'status' is {body.get('status')}, the response's status is {status}")
        code = body.get("code")
        if isinstance(code, str) and body.get("type") != PROBLEM_TYPE_PREFIX + code:
            problems.append(f"'type' is {body.get('type')!r}, expected {PROBLEM_TYPE_PREFIX + code!r}")
        title = body.get("title")
        if isinstance(title, str):
            phrases = set(REASON_PHRASES.get(status, set()))
            try:
                phrases.add(http.HTTPStatus(status).phrase)
            except ValueError:
                pass
            if phrases and title not in phrases:
                problems.append(f"'title' is {title!r}, not the reason phrase of {status} ({' / '.join(sorted(phrases))})")
    if problems:
        raise ProblemDetailsFailure(operation=case.operation.label, title="Error response is not the promised problem+json",
                                    message="\n".join(problems))
    return None


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance, problem_json]


# --- reporting --------------------------------------------------------------------------------

def clip(data, limit=BODY_SHOWN) -> str:
    if data is None:
        return ""
    if isinstance(data, bytes):
        try:
            data = data.decode()
        except UnicodeDecodeError:
            return f"<{len(data)} bytes of binary>"
    return data if len(data) <= limit else data[:limit] + f"… ({len(data)} characters)"


def describe_request(request) -> str:
    lines = [f"{request.method} {request.url}"]
    for name, value in request.headers.items():
        if name.lower() in ("signature", "user-agent", "accept-encoding", "connection"):
            continue
        lines.append(f"{name}: {clip(value, 300)}")
    if request.body:
        lines.append("")
        lines += clip(request.body).splitlines()
    return "\n".join("    " + line for line in lines)


def describe_response(response) -> str:
    lines = [f"HTTP {response.status_code}"]
    for name, values in response.headers.items():
        if name.lower() in ("content-type", "mydata-next-cursor", "mydata-broker-signature"):
            lines.append(f"{name}: {', '.join(values)}")
    content_type = (response.headers.get("content-type") or [""])[0]
    lines.append("")
    if "octet-stream" in content_type:
        lines.append(f"<{len(response.content)} bytes, sealed>")
    else:
        lines += clip(response.content).splitlines()
    return "\n".join("    " + line for line in lines)


def problem_code(response) -> str:
    try:
        body = json.loads(response.content)
        return body.get("code", "") if isinstance(body, dict) else ""
    except ValueError:
        return ""


class Run:
    def __init__(self, base_url, schema, max_examples, seed, deadline):
        self.base_url, self.schema = base_url, schema
        self.max_examples, self.seed, self.deadline = max_examples, seed, deadline
        self.failures = {}          # key -> dict (first occurrence) ; counts
        self.calls = 0
        self.statuses = {}
        self.transport_errors = 0
        self.out_of_time = False
        self.no_negative = set()
        self.per_operation = {}     # (party, operation) -> {status: count}

    def record(self, party, mode, case, response, failure, count_key):
        key = (party, case.operation.label, type(failure).__name__, failure.title,
               response.status_code if response is not None else None,
               problem_code(response) if response is not None else "", count_key)
        entry = self.failures.get(key)
        if entry:
            entry["count"] += 1
            return
        self.failures[key] = {
            "count": 1, "party": party, "mode": mode, "operation": case.operation.label,
            "title": failure.title, "message": failure.message,
            "request": describe_request(response.request) if response is not None else "    (no response)",
            "response": describe_response(response) if response is not None else "",
        }

    def run_operation(self, operation, mode, signer, session, path_parameters=None, max_examples=None):
        strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)

        @hypothesis.settings(max_examples=max_examples or self.max_examples, deadline=None, database=None,
                             derandomize=False, print_blob=False,
                             phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
                             suppress_health_check=list(hypothesis.HealthCheck))
        @hypothesis.seed(self.seed)
        @hypothesis.given(case=strategy)
        def test(case):
            if time.monotonic() > self.deadline:
                self.out_of_time = True
                raise OutOfTime()
            try:
                response = case.call(base_url=self.base_url, session=session, auth=signer, timeout=15)
            except requests.RequestException as error:
                self.transport_errors += 1
                failure = Failure(operation=case.operation.label, title="No response (transport error)",
                                  message=f"{type(error).__name__}: {error}")
                self.failures.setdefault((signer.party, case.operation.label, "transport", str(type(error))), {
                    "count": 0, "party": signer.party, "mode": mode.value, "operation": case.operation.label,
                    "title": failure.title, "message": failure.message,
                    "request": "    " + case.as_curl_command(base_url=self.base_url).replace("\n", "\n    "),
                    "response": ""})["count"] += 1
                return
            self.calls += 1
            self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1
            per_operation = self.per_operation.setdefault((signer.party, case.operation.label), {})
            per_operation[response.status_code] = per_operation.get(response.status_code, 0) + 1
            try:
                case.validate_response(response, checks=CHECKS)
            except FailureGroup as group:
                for failure in group.exceptions:
                    # Schema failures differ by message; keep one per distinct message title line.
                    self.record(signer.party, mode.value, case, response, failure,
                                failure.message.splitlines()[0] if failure.message else "")
            except Failure as failure:
                self.record(signer.party, mode.value, case, response, failure, "")

        test()


def known_ids(base_url, signer, session) -> list[str]:
    """Ids that exist and that the signer may use: its accounts, the requests and consents it
    sees. Operations with an `{id}` in their path run again with each (random ids only ever
    reach the `404`)."""
    ids = []
    for path, field, pick in (("/v1/accounts", "accounts", lambda item: item["id"]),
                              ("/v1/consent-requests", "requests", lambda item: item["request"]["id"]),
                              ("/v1/consents", "consents", lambda item: item["consent"]["id"])):
        try:
            response = session.get(base_url + path + "?limit=2", auth=signer, timeout=15)
            if response.status_code == 200:
                ids += [pick(item) for item in response.json().get(field, [])[:2]]
        except (requests.RequestException, ValueError, KeyError, TypeError):
            pass
    return ids


def load_schema(base_url, source):
    """The document as the server serves it (read as text, so that its own GET /v1/openapi.yaml
    stays among the operations: schemathesis's from_url leaves out the URL it loaded from), else
    the repository's docs/openapi.yaml."""
    tried = []
    sources = [source] if source else [base_url + "/v1/openapi.yaml", str(REPO_DOCUMENT)]
    for candidate in sources:
        try:
            if candidate.startswith(("http://", "https://")):
                response = requests.get(candidate, timeout=10)
                response.raise_for_status()
                return schemathesis.openapi.from_file(response.text), candidate
            return schemathesis.openapi.from_path(candidate), candidate
        except Exception as error:      # noqa: BLE001 - try the next source, report them all
            tried.append(f"{candidate}: {type(error).__name__}: {error}")
    sys.stderr.write("api_properties: cannot load the OpenAPI document\n  " + "\n  ".join(tried) + "\n")
    sys.exit(2)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base_url")
    parser.add_argument("key_files", nargs="+", metavar="PARTY_KEY_FILE",
                        help="a party's unprotected key file ({id, secret}); several make one pass each")
    parser.add_argument("--max-examples", type=int, default=25,
                        help="examples per operation and mode (positive, negative); default 25")
    parser.add_argument("--seed", type=int, default=None, help="Hypothesis seed (default: random, printed)")
    parser.add_argument("--max-time", type=float, default=170.0,
                        help="stop generating after this many seconds in all (default 170)")
    parser.add_argument("--schema", default=None, help="the OpenAPI document, a path or URL "
                        "(default: BASE_URL/v1/openapi.yaml, else the repository's docs/openapi.yaml)")
    parser.add_argument("--person", action="store_true",
                        help="one more pass as a fresh person (a new Ed25519 key, sent in MyData-Subject-Key)")
    parser.add_argument("--verbose", action="store_true", help="print the statuses of every operation")
    parser.add_argument("--mode", choices=["positive", "negative", "all"], default="all")
    args = parser.parse_args()

    warnings.filterwarnings("ignore")
    # Hypothesis keeps caches in ./.hypothesis; keep the working tree clean instead.
    home = tempfile.mkdtemp(prefix="api-properties-hypothesis-")
    atexit.register(shutil.rmtree, home, True)
    hypothesis.configuration.set_hypothesis_home_dir(home)
    base_url = args.base_url.rstrip("/")
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "big")
    schema, source = load_schema(base_url, args.schema)
    operations = []
    for result in schema.get_all_operations():
        operations.append(result.ok())      # raises on an operation the document cannot describe
    modes = {"positive": [GenerationMode.POSITIVE], "negative": [GenerationMode.NEGATIVE],
             "all": [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]}[args.mode]

    started = time.monotonic()
    run = Run(base_url, schema, args.max_examples, seed, started + args.max_time)
    print(f"api_properties: {len(operations)} operations from {source}; seed {seed}; "
          f"up to {args.max_examples} examples per operation and mode ({', '.join(m.value for m in modes)}); "
          f"{len(args.key_files) + args.person} pass(es)", flush=True)
    signers = [PartySigner(path) for path in args.key_files] + ([PartySigner(None)] if args.person else [])
    for signer in signers:
        pass_started, calls_before = time.monotonic(), run.calls
        failures_before = len(run.failures)
        session = requests.Session()
        for operation in operations:
            for mode in modes:
                try:
                    run.run_operation(operation, mode, signer, session)
                except OutOfTime:
                    break
                except hypothesis.errors.Unsatisfiable as error:
                    if mode is GenerationMode.NEGATIVE:
                        run.no_negative.add(operation.label)   # nothing to break: no parameters, no body
                        continue
                    run.failures[(signer.party, operation.label, "error", mode.value)] = {
                        "count": 1, "party": signer.party, "mode": mode.value, "operation": operation.label,
                        "title": "Could not generate a request", "message": str(error),
                        "request": "", "response": ""}
                except Exception as error:      # noqa: BLE001 - a generation problem: report, go on
                    run.failures[(signer.party, operation.label, "error", mode.value)] = {
                        "count": 1, "party": signer.party, "mode": mode.value, "operation": operation.label,
                        "title": "Could not test the operation", "message": f"{type(error).__name__}: {error}",
                        "request": "", "response": ""}
            if run.out_of_time:
                break
        ids = known_ids(base_url, signer, session) if not run.out_of_time else []
        for operation in operations:
            if run.out_of_time or not any(p.name == "id" and p.location == "path"
                                          for p in operation.path_parameters):
                continue
            for known in ids:
                for mode in modes:
                    try:
                        run.run_operation(operation, mode, signer, session, path_parameters={"id": known},
                                          max_examples=max(3, args.max_examples // 4))
                    except OutOfTime:
                        break
                    except Exception:   # noqa: BLE001 - e.g. nothing left to break with the id fixed
                        pass
        print(f"  pass as {signer.party}: {run.calls - calls_before} requests, "
              f"{len(run.failures) - failures_before} distinct failures, {time.monotonic() - pass_started:.1f} s",
              flush=True)
        if run.out_of_time:
            break

    elapsed = time.monotonic() - started
    failures = list(run.failures.values())
    for number, failure in enumerate(failures, 1):
        print(f"\n[{number}] {failure['operation']} as {failure['party']} ({failure['mode']}): {failure['title']}"
              f"  ({failure['count']}×)")
        if failure["message"]:
            print("  " + failure["message"].replace("\n", "\n  "))
        if failure["request"]:
            print("  request:\n" + failure["request"])
        if failure["response"]:
            print("  response:\n" + failure["response"])
    if args.verbose:
        print("\nrequests per operation and status:")
        for (party, label), counts in sorted(run.per_operation.items()):
            print(f"  {party:40} {label:45} " + ", ".join(f"{code}: {n}" for code, n in sorted(counts.items())))
    statuses = ", ".join(f"{code}: {count}" for code, count in sorted(run.statuses.items()))
    note = (f"; STOPPED at --max-time {args.max_time:g} s, so some operations or passes were not tested"
            if run.out_of_time else "")
    print(f"\napi_properties: {len(operations)} operations, {run.calls} requests ({statuses}), "
          f"{len(failures)} distinct failures, {elapsed:.1f} s, seed {seed}{note}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
