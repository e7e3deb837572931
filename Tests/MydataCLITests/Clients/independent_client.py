#!/usr/bin/env python3
"""An independent client of the broker's API: Python's http-message-signatures signs the HTTP
requests (RFC 9421, Ed25519), PyNaCl signs the ledger event, and the canonical payload and
signing input are built from docs/ledger-format.md alone — no code of the broker is used.

    independent_client.py BASE_URL PARTY_KEY_FILE

Exits 0 when every step answers as the API promises, non-zero with a message otherwise.
"""
import base64, datetime, hashlib, json, os, struct, sys, time

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

def rfc3339(ms):
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def fill(text, values):
    """Placeholders in braces, filled in one pass (docs/contracts.md); an unknown one stays."""
    out, name = "", None
    for c in text:
        if name is None:
            if c == "{": name = ""
            else: out += c
        elif c == "}":
            out += values.get(name, "{" + name + "}"); name = None
        else:
            name += c
    return out + ("{" + name if name is not None else "")


def contract(terms, recipient, policy):
    """The default standard contract for delivery terms and its hash, rendered as docs/contracts.md says."""
    category = next(c for c in policy["categories"] if c["id"] == terms["category"])
    allowed = [t for t in policy["contracts"] if t["access"] == "delivery" and t["id"] in category.get("contracts", [t["id"]])]
    template = next(t for t in allowed if all("defaultValue" in p for p in t["parameters"]))
    parameters = {p["name"]: p["defaultValue"] for p in template["parameters"]}
    titles = {i["id"]: i["title"] for i in category["items"]}
    items = ", ".join(f"{titles[i]} ({i})" for i in terms["items"])
    purpose = next(f"{p['title']} ({p['id']})" for p in policy["purposes"] if p["id"] == terms["purpose"])
    price = next((p for p in policy["accounting"]["prices"] if p["category"] == terms["category"]), {})
    values = {"recipient": recipient, "items": items, "purpose": purpose, "category": terms["category"],
              "retentionDays": str(terms["retentionDays"]), "durationDays": str(terms["durationDays"]),
              "incentiveKRW": str(terms["incentiveKRW"])}
    for name in ["perPullKRW", "perRecordKRW", "perAnalysisKRW", "perPersonKRW", "manufacturerPercent", "personPercent", "brokerPercent"]:
        values[name] = str(price.get(name, 0))
    values.update(parameters)
    lines = [f"MyData standard contract: {template['title']} ({template['id']})", f"Recipient: {recipient}", f"Data: {items}",
             f"Purpose: {purpose}",
             f"Records from {rfc3339(terms['dataFrom'])} to {rfc3339(terms['dataTo'])}; consent for {terms['durationDays']} days from the grant"
             + (", once-off" if terms["onceOff"] else ""),
             "Parameters: " + "; ".join(f"{p['name']} = {parameters[p['name']]}" for p in template["parameters"]), ""]
    lines += [f"{n}. {c['title']}. {fill(c['text'], values)}" for n, c in enumerate(template["clauses"], 1)]
    text = "\n".join(lines) + "\n"
    return {"template": template["id"], "parameters": parameters,
            "hash": hashlib.blake2b(text.encode(), digest_size=32).hexdigest()}


# 2. A signed write carrying a ledger event signed with PyNaCl, under the standard contract
#    rendered here from the policy the broker publishes (the broker renders it again and
#    compares the hash).
policy = requests.get(base_url + "/v1/policy").json()
now_ms = int(time.time() * 1000)
day = 86_400_000
request_id = "req_py_" + os.urandom(6).hex()
terms = {"category": "energy", "dataFrom": now_ms - 30 * day, "dataTo": now_ms + 30 * day, "durationDays": 30,
         "incentiveKRW": 700, "items": ["energy.household"], "onceOff": False, "purpose": "energy-saving",
         "retentionDays": 30}
terms["contract"] = contract(terms, party, policy["policy"])
payload = {
    "offerExpiresAt": now_ms + 30 * day, "policyVersion": policy["version"], "recipient": party, "requestID": request_id,
    "terms": terms,
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
