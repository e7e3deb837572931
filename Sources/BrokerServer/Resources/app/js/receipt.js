// Checks a consent receipt in the browser, as `mydata receipt verify` does up to the log proof
// (docs/ledger-format.md, "Receipts"): the broker's signature over the receipt, the person's key
// and id, the person's signature over the grant, the receipt's fields against the grant, and
// the broker's checkpoint. The transparency log proof is left to the CLI.
import { rfc3339 } from "./contract.js";
import { bytes, canonicalJSON, concat, eventSigningInput, subjectID, u64, i64, unbase64 } from "./wire.js";

function verifyKey(raw) { return crypto.subtle.importKey("raw", raw, { name: "Ed25519" }, false, ["verify"]); }

async function verifies(publicKey, signature, data) {
  try { return await crypto.subtle.verify({ name: "Ed25519" }, await verifyKey(publicKey), signature, data); } catch { return false; }
}

function equal(a, b) { return canonicalJSON(a) === canonicalJSON(b); }

function fromHex(text) { return Uint8Array.from(text.match(/../g) || [], (h) => parseInt(h, 16)); }

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
  const subjectKey = unbase64(e.subjectKey);
  if (subjectKey.length !== 32 || subjectID(subjectKey) !== r.piiPrincipalID) throw new Error("the person's key does not match the person's id");
  const payload = unbase64(e.payload);
  const input = eventSigningInput(e.streamID, e.eventType, e.schemaVersion, r.piiPrincipalID, e.eventTime, payload);
  if (!(await verifies(subjectKey, unbase64(e.subjectSignature), input))) throw new Error("the person's signature over the grant does not verify");
  if (e.eventType !== "consent.granted") throw new Error("the evidence is not a consent grant");
  const g = JSON.parse(new TextDecoder().decode(payload));
  const same =
    g.consentID === r.recordID && g.subject === r.piiPrincipalID && g.recipient === r.piiController.id &&
    equal(g.terms.items, r.dataItems) && g.terms.category === r.dataCategory &&
    equal(r.purposes.map((p) => p.id), [g.terms.purpose]) &&
    rfc3339(g.grantedAt) === r.grantedAt && rfc3339(g.expiresAt) === r.expiresAt &&
    g.policyVersion === r.policyVersion && g.policyHash === r.policyHash && g.requestID === r.requestID &&
    g.requestHash === r.requestHash && g.terms.retentionDays === r.retentionDays && g.terms.onceOff === r.onceOff &&
    rfc3339(g.terms.dataFrom) === r.dataFrom && rfc3339(g.terms.dataTo) === r.dataTo &&
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
