import Consent
import Foundation
import Ledger
import Sodium

/// Checks a consent receipt offline: the broker's signature, the person's signature over the
/// grant it carries, that the person's id derives from their key, and that every readable
/// field matches the signed grant.
public enum ReceiptVerifier {
    /// - Parameter brokerKey: the broker's public key from a trusted source (`Keys/broker.pub`).
    /// - Throws: `ReceiptError` naming the first check that fails.
    public static func verify(_ data: Data, brokerKey: VerifyingKey) throws -> SignedReceipt {
        let signed: SignedReceipt
        do { signed = try JSONDecoder().decode(SignedReceipt.self, from: data) } catch {
            throw ReceiptError("not a consent receipt: \(error)")
        }
        let r = signed.receipt
        guard r.schemaVersion == ConsentReceipt.schema, signed.signature.algorithm == "Ed25519" else {
            throw ReceiptError("unknown receipt format \(r.schemaVersion) / \(signed.signature.algorithm)")
        }
        guard signed.signature.publicKey == Base64.encode(brokerKey.bytes) else {
            throw ReceiptError("the receipt was signed by another key than the broker key you trust")
        }
        guard let sigBytes = Base64.decode(signed.signature.value), let sig = try? Signature(bytes: sigBytes),
            brokerKey.isValidSignature(sig, for: try SignedReceipt.signedBytes(r))
        else {
            throw ReceiptError("the broker's signature does not verify: the receipt was changed")
        }
        let e = r.evidence
        guard let keyBytes = Base64.decode(e.subjectKey), let subjectKey = try? VerifyingKey(bytes: keyBytes),
            Identifiers.subjectID(signingKey: subjectKey) == r.piiPrincipalID
        else {
            throw ReceiptError("the person's key does not match the person's id \(r.piiPrincipalID)")
        }
        guard let payload = Base64.decode(e.payload) else { throw ReceiptError("the evidence's payload is not base64") }
        guard let personSig = Base64.decode(e.subjectSignature), let personSignature = try? Signature(bytes: personSig) else {
            throw ReceiptError("the evidence's person signature is missing or not a 64-byte base64 signature")
        }
        let input = CanonicalEncoding.signingInput(
            streamID: e.streamID, type: e.eventType, schemaVersion: e.schemaVersion,
            authorID: r.piiPrincipalID, time: Timestamp(milliseconds: e.eventTime), payload: payload)
        guard subjectKey.isValidSignature(personSignature, for: input) else {
            throw ReceiptError("the person's signature over the grant does not verify")
        }
        guard e.eventType == DomainEvent.TypeName.consentGranted,
            case .consentGranted(let g)? = try? DomainEvent.decode(
                NewEvent(
                    streamID: e.streamID, type: e.eventType,
                    schemaVersion: e.schemaVersion, time: Timestamp(milliseconds: e.eventTime), authorID: r.piiPrincipalID, payload: payload))
        else {
            throw ReceiptError("the evidence is not a consent grant")
        }
        let matches =
            g.consentID == r.recordID && g.subject == r.piiPrincipalID && g.recipient == r.piiController.id
            && g.terms.items == r.dataItems && g.terms.category == r.dataCategory && r.purposes.map(\.id) == [g.terms.purpose]
            && g.grantedAt.description == r.grantedAt && g.expiresAt.description == r.expiresAt
            && g.policyVersion == r.policyVersion && g.policyHash == r.policyHash && g.requestID == r.requestID
            && g.requestHash == r.requestHash && g.terms.retentionDays == r.retentionDays && g.terms.onceOff == r.onceOff
            && g.terms.dataFrom.description == r.dataFrom && g.terms.dataTo.description == r.dataTo
            && g.terms.incentiveKRW == r.incentiveKRW && g.sensitiveConfirmed == r.sensitive
        guard matches else { throw ReceiptError("the receipt's fields differ from the grant the person signed") }
        if let cp = e.checkpoint {
            guard let head = Hex.decode(cp.headHash), let cpSig = Base64.decode(cp.signature),
                Checkpoint(sequence: cp.sequence, headHash: head, time: Timestamp(milliseconds: cp.time), signature: cpSig).isSigned(by: brokerKey),
                cp.sequence >= e.ledgerSequence
            else {
                throw ReceiptError("the checkpoint in the receipt is not signed by the broker or does not cover the grant")
            }
            // When the checkpoint sits right at the grant, the grant's chain hash is the signed head.
            if cp.sequence == e.ledgerSequence, cp.headHash != e.eventHash {
                throw ReceiptError("the grant's ledger hash differs from the checkpoint the broker signed at it")
            }
        }
        return signed
    }
}
