#!/usr/bin/env python3
"""An independent client of the broker's transparency log, written from the C2SP specifications
alone (signed-note, tlog-checkpoint, tlog-tiles) and RFC 9162 section 2.1, with PyNaCl for Ed25519
and hashlib for SHA-256: no code of the broker is used.

    log_client.py BASE_URL VKEY

Fetches /v1/log/checkpoint, checks its note signature against VKEY, fetches every level-0 tile
and entry bundle the checkpoint's tree needs, checks the entries against the tile hashes, the
level-1 tiles against the full level-0 tiles, and recomputes the root. Exits 0 and prints
"log client: ok <size>" when all of it holds, non-zero with a message otherwise.
"""
import base64, hashlib, struct, sys

import nacl.exceptions
import nacl.signing
import requests

base_url, vkey = sys.argv[1].rstrip("/"), sys.argv[2]


def fail(message):
    print("log client: " + message)
    sys.exit(1)


def sha256(data):
    return hashlib.sha256(data).digest()


# signed-note: "<name>+<hex key ID>+base64(0x01 || public key)"; key ID = SHA-256(name || 0x0A || 0x01 || key)[:4]
name, key_id_hex, key_b64 = vkey.split("+", 2)
key_material = base64.b64decode(key_b64)
if key_material[0] != 0x01 or len(key_material) != 33:
    fail("the vkey is not an Ed25519 key")
public_key = key_material[1:]
if sha256(name.encode() + b"\n" + b"\x01" + public_key)[:4].hex() != key_id_hex:
    fail("the vkey's ID does not match its key")

response = requests.get(base_url + "/v1/log/checkpoint")
if response.status_code != 200 or not response.headers["Content-Type"].startswith("text/plain"):
    fail("GET /v1/log/checkpoint answered %d %s" % (response.status_code, response.headers.get("Content-Type")))
note = response.content.decode("utf-8")
# The text ends at the last blank line; every line after it is a signature.
split = note.rindex("\n\n")
text, signature_lines = note[: split + 1], note[split + 2 :].split("\n")[:-1]
verified = False
for line in signature_lines:
    if not line.startswith("\u2014 "):
        fail("not a signature line: %r" % line)
    signer, signature = line[2:].split(" ")
    raw = base64.b64decode(signature)
    if signer == name and raw[:4].hex() == key_id_hex:
        try:
            nacl.signing.VerifyKey(public_key).verify(text.encode("utf-8"), raw[4:])
        except nacl.exceptions.BadSignatureError:
            fail("the broker's signature on the checkpoint does not verify")
        verified = True
if not verified:
    fail("the checkpoint carries no signature by " + name)

# tlog-checkpoint: origin, size, base64 root.
lines = text.split("\n")
origin, size, root = lines[0], int(lines[1]), base64.b64decode(lines[2])
if origin != name:
    fail("the checkpoint's origin %r is not the key's name %r" % (origin, name))
if size == 0:
    fail("the checkpoint is of an empty tree")


def tile_path(level, index, width):
    # tlog-tiles: N in zero-padded 3-digit groups, all but the last prefixed with "x"; ".p/<W>" for partial tiles.
    groups = []
    while True:
        groups.insert(0, "%03d" % (index % 1000))
        index //= 1000
        if index == 0:
            break
    number = "/".join(["x" + g for g in groups[:-1]] + [groups[-1]])
    return "%s/%s%s" % (level, number, "" if width == 256 else ".p/%d" % width)


def fetch(path, expected_length=None):
    response = requests.get(base_url + "/v1/log/tile/" + path)
    if response.status_code != 200 or response.headers["Content-Type"] != "application/octet-stream":
        fail("GET tile/%s answered %d" % (path, response.status_code))
    if expected_length is not None and len(response.content) != expected_length:
        fail("tile/%s has %d bytes, not %d" % (path, len(response.content), expected_length))
    return response.content


# Level 0: the leaf hashes, and the entry bundles that hash to them.
leaves = []
for index in range((size + 255) // 256):
    width = min(256, size - index * 256)
    tile = fetch(tile_path(0, index, width), 32 * width)
    hashes = [tile[i : i + 32] for i in range(0, len(tile), 32)]
    bundle = fetch(tile_path("entries", index, width))
    at = 0
    for i in range(width):
        (length,) = struct.unpack(">H", bundle[at : at + 2])
        entry = bundle[at + 2 : at + 2 + length]
        at += 2 + length
        if sha256(b"\x00" + entry) != hashes[i]:
            fail("entry %d does not hash to its leaf hash in tile 0/%d" % (index * 256 + i, index))
    if at != len(bundle):
        fail("entry bundle %d has bytes after its %d entries" % (index, width))
    leaves += hashes


def mth(d):
    # RFC 9162 2.1.1: MTH({}) = SHA-256(), MTH({d0}) = leaf hash, else split at the largest power of two below n.
    if len(d) == 1:
        return d[0]
    k = 1
    while k * 2 < len(d):
        k *= 2
    return sha256(b"\x01" + mth(d[:k]) + mth(d[k:]))


# Level 1: each hash is the root of a full level-0 tile.
full = size // 256
if full > 0:
    level1 = fetch(tile_path(1, 0, min(256, full)))
    for i in range(min(256, full)):
        if level1[32 * i : 32 * i + 32] != mth(leaves[256 * i : 256 * i + 256]):
            fail("tile 1/0 hash %d is not the root of tile 0/%d" % (i, i))

if mth(leaves) != root:
    fail("the root recomputed from the tiles is not the checkpoint's")

# The convenience proofs, verified as RFC 9162 2.1.3.2 and 2.1.4.2 say.
def shift_to_right_child(fn, sn):
    # RFC 9162: "if LSB(fn) is not set, right-shift both fn and sn equally until either LSB(fn) is set or fn is 0".
    while not fn & 1 and fn != 0:
        fn >>= 1
        sn >>= 1
    return fn, sn


def verify_inclusion(index, size, leaf, proof, root):
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = sha256(b"\x01" + p + r)
            fn, sn = shift_to_right_child(fn, sn)
        else:
            r = sha256(b"\x01" + r + p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(first, second, proof, first_hash, second_hash):
    if first == second:
        return not proof and first_hash == second_hash
    if first == 0:
        return not proof
    if not proof:
        return False
    if first & (first - 1) == 0:
        proof = [first_hash] + proof
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = sha256(b"\x01" + c + fr)
            sr = sha256(b"\x01" + c + sr)
            fn, sn = shift_to_right_child(fn, sn)
        else:
            sr = sha256(b"\x01" + sr + c)
        fn >>= 1
        sn >>= 1
    return fr == first_hash and sr == second_hash and sn == 0


for sequence in sorted({1, (size + 1) // 2, size}):
    answer = requests.get(base_url + "/v1/log/proof/inclusion", params={"sequence": sequence, "size": size}).json()
    hashes = [base64.b64decode(h) for h in answer["hashes"]]
    if not verify_inclusion(sequence - 1, size, leaves[sequence - 1], hashes, root):
        fail("the inclusion proof of event %d does not verify against the checkpoint" % sequence)
for first in sorted({0, 1, size // 2, size - 1, size}):
    answer = requests.get(base_url + "/v1/log/proof/consistency", params={"from": first, "to": size}).json()
    hashes = [base64.b64decode(h) for h in answer["hashes"]]
    first_root = mth(leaves[:first]) if first > 0 else sha256(b"")
    if not verify_consistency(first, size, hashes, first_root, root):
        fail("the consistency proof from %d to %d does not verify" % (first, size))

# A tile the tree does not have yet is not served.
if requests.get(base_url + "/v1/log/tile/" + tile_path(0, size // 256 + 1, 1)).status_code != 404:
    fail("a tile beyond the tree was served")
print("log client: ok %d" % size)
