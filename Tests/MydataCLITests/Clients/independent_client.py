#!/usr/bin/env python3
"""An independent client of the broker's API: Python's http-message-signatures signs the HTTP
requests (RFC 9421, Ed25519), PyNaCl signs the ledger event, and the canonical payload and
signing input are built from docs/ledger-format.md alone — no code of the broker is used.

    independent_client.py BASE_URL PARTY_KEY_FILE

Exits 0 when every step answers as the API promises, non-zero with a message otherwise.
"""
import base64, datetime, json, os, struct, sys, time

import nacl.signing
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from http_message_signatures import HTTPMessageSigner, HTTPSignatureKeyResolver, algorithms

base_url, key_file = sys.argv[1].rstrip("/"), sys.argv[2]
key = json.load(open(key_file))
seed = base64.b64decode(key["secret"])[:32]          # unprotected demo key file: seed ‖ box secret
party = key["id"]


class Keys(HTTPSignatureKeyResolver):
    def resolve_private_key(self, key_id):
        return Ed25519PrivateKey.from_private_bytes(seed)


signer = HTTPMessageSigner(signature_algorithm=algorithms.ED25519, key_resolver=Keys())
session = requests.Session()


def send(method, path, body=None):
    request = requests.Request(method, base_url + path, data=body,
                               headers={"Content-Type": "application/json"} if body else {}).prepare()
    covered = ["@method", "@target-uri"]
    if body:
        covered.append("content-digest")   # the library computes Content-Digest (RFC 9530) from the body
    signer.sign(request, key_id=party, covered_component_ids=covered, label="sig1", body=body,
                created=datetime.datetime.now(datetime.timezone.utc), nonce=base64.urlsafe_b64encode(os.urandom(12)).decode())
    return session.send(request)


def check(response, status, what):
    if response.status_code != status:
        sys.exit(f"{what}: expected {status}, got {response.status_code}: {response.text}")


# 1. A signed read.
check(send("GET", "/v1/consents"), 200, "list consents")

# 2. A signed write carrying a ledger event signed with PyNaCl.
policy = requests.get(base_url + "/v1/policy").json()
now_ms = int(time.time() * 1000)
day = 86_400_000
request_id = "req_py_" + os.urandom(6).hex()
payload = {
    "offerExpiresAt": now_ms + 30 * day, "policyVersion": policy["version"], "recipient": party, "requestID": request_id,
    "terms": {"category": "energy", "dataFrom": now_ms - 30 * day, "dataTo": now_ms + 30 * day, "durationDays": 30,
              "incentiveKRW": 700, "items": ["energy.household"], "onceOff": False, "purpose": "energy-saving",
              "retentionDays": 30},
}
payload_bytes = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def lp(b):
    return struct.pack(">I", len(b)) + b


stream, event_type = "request:" + request_id, "consent.requested"
signing_input = (b"mydata/event-signature/v1\x00" + lp(stream.encode()) + lp(event_type.encode()) + struct.pack(">H", 1)
                 + lp(party.encode()) + struct.pack(">q", now_ms) + lp(payload_bytes))
signature = nacl.signing.SigningKey(seed).sign(signing_input).signature
event = {"streamID": stream, "type": event_type, "schemaVersion": 1, "time": now_ms, "authorID": party,
         "payload": base64.b64encode(payload_bytes).decode(), "signature": base64.b64encode(signature).decode()}
body = json.dumps({"events": [event]}).encode()
check(send("POST", "/v1/consent-requests", body), 201, "create a consent request")

# 3. The request is there, and a replay of a signed request is refused.
listed = send("GET", "/v1/consent-requests")
check(listed, 200, "list requests")
if request_id not in [item["request"]["id"] for item in listed.json()["requests"]]:
    sys.exit("the new request is not listed")
print("independent client: ok")
