// Checks a consent receipt in the browser, as `mydata receipt verify` does up to the log proof
// (docs/ledger-format.md, "Receipts"): the broker's signature over the receipt, the person's key
// and id, the person's signature over the grant, the receipt's fields against the grant, and
// the broker's checkpoint. The transparency log proof is left to the CLI.
import { rfc3339 } from "./contract.js";
import { base64, bytes, canonicalJSON, concat, eventSigningInput, subjectID, u64, i64, unbase64 } from "./wire.js";

function verifyKey(raw) { return crypto.subtle.importKey("raw", raw, { name: "Ed25519" }, false, ["verify"]); }

async function verifies(publicKey, signature, data) {
  try { return await crypto.subtle.verify({ name: "Ed25519" }, await verifyKey(publicKey), signature, data); } catch { return false; }
}

function equal(a, b) { return canonicalJSON(a) === canonicalJSON(b); }

function fromHex(text) {
  if (typeof text !== "string" || !/^[0-9a-f]{64}$/.test(text)) throw new Error("the checkpoint's head hash is not 32 bytes of hex");
  return Uint8Array.from(text.match(/../g), (h) => parseInt(h, 16));
}

/**
 * Whether `text` is the time `ms`: written exact to the millisecond, or one millisecond early as
 * brokers before 2026-12 sometimes wrote it (their receipts' signatures cover that form).
 */
function sameTime(ms, text) {
  try { return rfc3339(ms) === text || rfc3339(ms - 1) === text; } catch { return false; }
}

/**
 * The broker's signing key from its log's verifier key (`GET /v1/log/vkey`, a signed-note key:
 * `name+hex8+base64(0x01 ‖ 32-byte Ed25519 key)`; the base64 may itself hold '+'), as base64.
 */
export function brokerKeyOfVerifierKey(vkey) {
  const encoded = String(vkey).trim().split("+").slice(2).join("+");
  let raw;
  try { raw = unbase64(encoded); } catch { raw = new Uint8Array(); }
  if (raw.length !== 33 || raw[0] !== 0x01) throw new Error("the broker's log key is not an Ed25519 signed-note key");
  return base64(raw.subarray(1));
}

/** Throws an Error naming the first check that fails; returns the receipt when all hold. */
export async function verifyReceipt(text, brokerKey) {
  let signed;
  try { signed = JSON.parse(text); } catch { throw new Error("not a consent receipt (not JSON)"); }
  const r = signed?.receipt, s = signed?.signature;
  if (!r || !s || r.schemaVersion !== "mydata-receipt-v1" || s.algorithm !== "Ed25519") throw new Error("not a mydata-receipt-v1 receipt");
  if (s.publicKey !== brokerKey) throw new Error("it was signed by another key than this broker's");
  const signedBytes = concat(bytes("mydata/receipt/v1\u0000"), bytes(canonicalJSON(r)));
  if (!(await verifies(unbase64(brokerKey), unbase64(s.value), signedBytes))) throw new Error("the broker's signature does not verify: the receipt was changed");
  const e = r.evidence;
  if (!e || typeof e !== "object") throw new Error("the receipt holds no evidence of the grant");
  const subjectKey = unbase64(e.subjectKey);
  if (subjectKey.length !== 32 || subjectID(subjectKey) !== r.piiPrincipalID) throw new Error("the person's key does not match the person's id");
  const payload = unbase64(e.payload);
  const input = eventSigningInput(e.streamID, e.eventType, e.schemaVersion, r.piiPrincipalID, e.eventTime, payload);
  if (!(await verifies(subjectKey, unbase64(e.subjectSignature), input))) throw new Error("the person's signature over the grant does not verify");
  if (e.eventType !== "consent.granted") throw new Error("the evidence is not a consent grant");
  const g = JSON.parse(new TextDecoder().decode(payload));
  if (!g || typeof g.terms !== "object" || !Array.isArray(r.purposes)) throw new Error("the receipt's fields differ from the grant the person signed");
  const same =
    g.consentID === r.recordID && g.subject === r.piiPrincipalID && g.recipient === r.piiController.id &&
    equal(g.terms.items, r.dataItems) && g.terms.category === r.dataCategory &&
    equal(r.purposes.map((p) => p.id), [g.terms.purpose]) &&
    sameTime(g.grantedAt, r.grantedAt) && sameTime(g.expiresAt, r.expiresAt) &&
    g.policyVersion === r.policyVersion && g.policyHash === r.policyHash && g.requestID === r.requestID &&
    g.requestHash === r.requestHash && g.terms.retentionDays === r.retentionDays && g.terms.onceOff === r.onceOff &&
    sameTime(g.terms.dataFrom, r.dataFrom) && sameTime(g.terms.dataTo, r.dataTo) &&
    g.terms.incentiveKRW === r.incentiveKRW && g.sensitiveConfirmed === r.sensitive &&
    equal(g.terms.contract ?? "none", r.contract ?? "none");
  if (!same) throw new Error("the receipt's fields differ from the grant the person signed");
  const cp = e.checkpoint;
  if (cp) {
    const cpBytes = concat(bytes("mydata/checkpoint/v1\u0000"), u64(cp.sequence), fromHex(cp.headHash), i64(cp.time));
    if (!(await verifies(unbase64(brokerKey), unbase64(cp.signature), cpBytes)) || cp.sequence < e.ledgerSequence) {
      throw new Error("the checkpoint in the receipt is not signed by the broker or does not cover the grant");
    }
    if (cp.sequence === e.ledgerSequence && cp.headHash !== e.eventHash) throw new Error("the grant's ledger hash differs from the checkpoint");
  }
  return r;
}
