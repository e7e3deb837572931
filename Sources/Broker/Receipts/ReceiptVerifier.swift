import Consent
import Foundation
import Ledger
import Sodium

/// Checks a consent receipt offline: the broker's signature, the person's signature over the
/// grant it carries, that the person's id derives from their key, and that every readable
/// field matches the signed grant.
public enum ReceiptVerifier {
    /// Whom a receipt's log proofs must be signed by.
    public struct LogTrust: Sendable {
        /// The log's note verifier key (`keys/broker.vkey`); nil: the broker key under the origin
        /// derived from it (`logVerifier(brokerKey:)`).
        public var log: NoteVerifier?
        /// Witnesses' cosignature vkeys, and how many of them must have cosigned.
        public var witnesses: [NoteVerifier]
        public var quorum: Int

        public init(log: NoteVerifier? = nil, witnesses: [NoteVerifier] = [], quorum: Int = 0) {
            self.log = log
            self.witnesses = witnesses
            self.quorum = quorum
        }

        /// The log key proofs must be signed by: the one trusted, which must be the broker's key;
        /// without one, the broker key under the origin derived from it (a log with an origin set
        /// at `admin init` needs its vkey given: the broker could sign a side log under any origin).
        public func logVerifier(brokerKey: VerifyingKey) throws -> NoteVerifier {
            guard let log else { return NoteVerifier(name: LogOrigin.derived(from: brokerKey), key: brokerKey) }
            guard log.key == brokerKey, log.kind == .ed25519 else {
                throw ReceiptError("the log key you trust (\(log.vkey)) is not the broker key you trust")
            }
            return log
        }
    }

    /// What a verified receipt's log proofs showed.
    public struct Verified: Sendable {
        public var signed: SignedReceipt
        /// The checkpoint that includes the grant, and the witnesses that cosigned it; nil for a
        /// receipt from before the log.
        public var grantCheckpoint: LogCheckpoint?
        public var cosigners: [String]
        /// The checkpoint that includes the revocation, if the receipt has one.
        public var revocationCheckpoint: LogCheckpoint?
    }

    /// - Parameter brokerKey: the broker's public key from a trusted source (`Keys/broker.pub`).
    /// - Throws: `ReceiptError` naming the first check that fails.
    public static func verify(_ data: Data, brokerKey: VerifyingKey) throws -> SignedReceipt {
        try verify(data, brokerKey: brokerKey, trust: LogTrust()).signed
    }

    /// Verifies the receipt and its log proofs (c2sp.org/tlog-proof): the grant's (and the
    /// revocation's) event hash is recomputed from the fields the receipt carries and must be the
    /// leaf the proof includes in a checkpoint the broker's log key signed, cosigned by at least
    /// `trust.quorum` of `trust.witnesses`.
    ///
    /// - Throws: `ReceiptError` naming the first check that fails; a receipt without a log
    ///   proof fails only when a witness quorum is asked for.
    public static func verify(_ data: Data, brokerKey: VerifyingKey, trust: LogTrust) throws -> Verified {
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
            && g.grantedAt.isDescribed(by: r.grantedAt) && g.expiresAt.isDescribed(by: r.expiresAt)
            && g.policyVersion == r.policyVersion && g.policyHash == r.policyHash && g.requestID == r.requestID
            && g.requestHash == r.requestHash && g.terms.retentionDays == r.retentionDays && g.terms.onceOff == r.onceOff
            && g.terms.dataFrom.isDescribed(by: r.dataFrom) && g.terms.dataTo.isDescribed(by: r.dataTo)
            && g.terms.incentiveKRW == r.incentiveKRW && g.sensitiveConfirmed == r.sensitive && g.terms.contract == r.contract
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
        var verified = Verified(signed: signed, grantCheckpoint: nil, cosigners: [], revocationCheckpoint: nil)
        if let proof = e.logProof {
            let grant = NewEvent(
                streamID: e.streamID, type: e.eventType, schemaVersion: e.schemaVersion, time: Timestamp(milliseconds: e.eventTime),
                authorID: r.piiPrincipalID, payload: payload, signature: personSig)
            let (checkpoint, cosigners) = try verifyLogged(
                grant, sequence: e.ledgerSequence, previousHash: e.previousHash, eventHash: e.eventHash, proof: proof, what: "grant",
                brokerKey: brokerKey, trust: trust)
            verified.grantCheckpoint = checkpoint
            verified.cosigners = cosigners
        } else if trust.quorum > 0 || trust.log != nil {
            throw ReceiptError(
                "the receipt has no log proof (it was made before the broker had a transparency log), but you asked for the log's or witnesses' word")
        }
        if let revocation = r.revocation {
            verified.revocationCheckpoint = try verifyRevocation(revocation, of: r, subjectKey: subjectKey, brokerKey: brokerKey, trust: trust)
        } else if r.revokedAt != nil, e.logProof != nil {
            throw ReceiptError("the receipt says the consent was revoked but carries no revocation evidence")
        }
        return verified
    }

    /// The revocation must be this consent's, by its person (or by the broker, for an erasure),
    /// at the time the receipt says, and in the log.
    private static func verifyRevocation(
        _ v: ConsentReceipt.RevocationEvidence, of r: ConsentReceipt, subjectKey: VerifyingKey, brokerKey: VerifyingKey, trust: LogTrust
    ) throws -> LogCheckpoint {
        guard let payload = Base64.decode(v.payload), let signature = Base64.decode(v.signature) else {
            throw ReceiptError("the revocation's payload or signature is not base64")
        }
        let event = NewEvent(
            streamID: v.streamID, type: v.eventType, schemaVersion: v.schemaVersion, time: Timestamp(milliseconds: v.eventTime),
            authorID: v.authorID, payload: payload, signature: signature)
        guard v.eventType == DomainEvent.TypeName.consentRevoked, case .consentRevoked(let revoked)? = try? DomainEvent.decode(event),
            revoked.consentID == r.recordID, revoked.subject == r.piiPrincipalID, v.streamID == StreamName.consent(r.recordID),
            r.revokedAt.map(event.time.isDescribed(by:)) == true
        else {
            throw ReceiptError(
                "the revocation evidence is not the revocation of consent \(r.recordID) at \(r.revokedAt ?? "the time the receipt says")")
        }
        switch v.authorID {
        case r.piiPrincipalID:
            guard let s = try? Signature(bytes: signature), subjectKey.isValidSignature(s, for: event.signingInput) else {
                throw ReceiptError("the person's signature over the revocation does not verify")
            }
        case AuthorID.broker:
            guard signature.isEmpty else { throw ReceiptError("a revocation by the broker carries no signature of its own") }
        default:
            throw ReceiptError("the revocation was written by \(v.authorID), neither the person nor the broker")
        }
        return try verifyLogged(
            event, sequence: v.ledgerSequence, previousHash: v.previousHash, eventHash: v.eventHash, proof: v.logProof, what: "revocation",
            brokerKey: brokerKey, trust: trust
        ).checkpoint
    }

    /// Recomputes the event's hash from its fields and its predecessor's hash, and checks the
    /// tlog-proof for it at leaf `sequence − 1`.
    private static func verifyLogged(
        _ event: NewEvent, sequence: UInt64, previousHash: String?, eventHash: String, proof text: String, what: String,
        brokerKey: VerifyingKey, trust: LogTrust
    ) throws -> (checkpoint: LogCheckpoint, cosigners: [String]) {
        guard let previousHex = previousHash, let previous = Hex.decode(previousHex), previous.count == 32, sequence > 0 else {
            throw ReceiptError("the \(what)'s log proof comes without the hash of the event before it")
        }
        let hash = CanonicalEncoding.eventHash(previousHash: previous, sequence: sequence, event: event)
        guard Hex.encode(hash) == eventHash else {
            throw ReceiptError("the \(what)'s ledger hash is not the hash of the event the receipt carries")
        }
        guard let proof = TlogProof.parse(text) else { throw ReceiptError("the \(what)'s log proof is not a c2sp.org/tlog-proof@v1 proof") }
        return try checkInclusion(of: hash, sequence: sequence, in: proof, what: what, brokerKey: brokerKey, trust: trust)
    }

    /// Checks that `proof` includes the event with `hash` at ledger `sequence` (leaf
    /// `sequence − 1`) in a checkpoint signed by the trusted log key and cosigned by the quorum.
    static func checkInclusion(
        of hash: [UInt8], sequence: UInt64, in proof: TlogProof, what: String, brokerKey: VerifyingKey, trust: LogTrust
    ) throws -> (checkpoint: LogCheckpoint, cosigners: [String]) {
        guard proof.index == sequence - 1 else {
            throw ReceiptError("the \(what)'s log proof is for entry \(proof.index), not for ledger event \(sequence) (entry \(sequence - 1))")
        }
        let log = try trust.logVerifier(brokerKey: brokerKey)
        do {
            return try proof.verify(leafHash: MerkleTree.leafHash(hash), log: log, witnesses: trust.witnesses, quorum: trust.quorum)
        } catch let failure as TlogProof.Failure {
            throw ReceiptError("the \(what)'s log proof does not verify: \(failure)")
        }
    }
}
