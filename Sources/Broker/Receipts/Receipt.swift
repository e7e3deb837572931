import Consent
import Foundation
import Ledger
import Sodium

/// A consent receipt with the fields of an ISO/IEC TS 27560 consent record, signed by the
/// broker, carrying the person's own signed grant as evidence. `ReceiptVerifier` checks it
/// offline with the broker's public key alone.
public struct ConsentReceipt: Codable, Sendable, Equatable {
    public static let schema = "mydata-receipt-v1"

    public struct PartyRef: Codable, Sendable, Equatable {
        public var id: String
        public var name: String?
    }
    public struct PurposeRef: Codable, Sendable, Equatable {
        public var id: String
        public var title: String?
    }
    public struct Evidence: Codable, Sendable, Equatable {
        /// Where the grant sits in the ledger and its chain hash (hex).
        public var ledgerSequence: UInt64
        public var eventHash: String
        public var streamID: String
        public var eventType: String
        public var schemaVersion: UInt16
        public var eventTime: Int64
        /// The grant's canonical payload, base64: the exact bytes the person signed.
        public var payload: String
        /// The person's Ed25519 public key and signature, base64.
        public var subjectKey: String
        public var subjectSignature: String
        /// The broker checkpoint covering the grant, if one was signed yet.
        public var checkpoint: CheckpointRef?
        /// The hash of the event before the grant (hex): with the fields above it gives the
        /// grant's `eventHash`, the log entry the proof is for. Absent in older receipts.
        public var previousHash: String?
        /// A c2sp.org/tlog-proof@v1 proof that the grant is in the broker's transparency log
        /// (leaf `ledgerSequence − 1`). Absent in older receipts.
        public var logProof: String?
    }
    /// The revocation event, as the ledger holds it, with its log proof.
    public struct RevocationEvidence: Codable, Sendable, Equatable {
        public var ledgerSequence: UInt64
        /// Hex: the hash of the event before it, and its own.
        public var previousHash: String
        public var eventHash: String
        public var streamID: String
        public var eventType: String
        public var schemaVersion: UInt16
        public var eventTime: Int64
        /// The person's id, or `broker` for a revocation the broker made (an erasure).
        public var authorID: String
        /// Base64: the canonical payload and the author's signature (empty for the broker).
        public var payload: String
        public var signature: String
        /// A c2sp.org/tlog-proof@v1 proof that the revocation is in the broker's log.
        public var logProof: String
    }
    public struct CheckpointRef: Codable, Sendable, Equatable {
        public var sequence: UInt64
        public var headHash: String
        public var time: Int64
        public var signature: String
    }

    public var schemaVersion: String
    /// ISO/IEC TS 27560 record fields.
    public var recordID: String
    public var piiPrincipalID: String
    public var piiController: PartyRef
    public var piiProcessor: PartyRef
    public var purposes: [PurposeRef]
    public var dataCategory: String
    public var dataItems: [String]
    public var sensitive: Bool
    public var legalBasis: String
    public var consentType: String
    public var collectionMethod: String
    public var grantedAt: String
    public var expiresAt: String
    public var revokedAt: String?
    public var dataFrom: String
    public var dataTo: String
    public var retentionDays: Int
    public var onceOff: Bool
    public var incentiveKRW: Int64
    public var policyVersion: String
    public var policyHash: String
    public var requestID: String
    public var requestHash: String
    /// `active`, `revoked` or `expired` at `statusAt`.
    public var status: String
    public var statusAt: String
    public var evidence: Evidence
    /// The revocation, once there is one (absent in older receipts).
    public var revocation: RevocationEvidence?
    /// The standard contract the consent was made under, as the grant names it (absent for a
    /// consent made without one): `mydata contract show <hash>` prints its text.
    public var contract: ContractReference?
}

/// A receipt and the broker's signature over its canonical JSON.
public struct SignedReceipt: Codable, Sendable, Equatable {
    public struct BrokerSignature: Codable, Sendable, Equatable {
        public var algorithm: String
        public var keyID: String
        /// The broker's Ed25519 public key, base64 (a verifier compares it with the one it trusts).
        public var publicKey: String
        public var value: String

        public init(algorithm: String, keyID: String, publicKey: String, value: String) {
            self.algorithm = algorithm; self.keyID = keyID; self.publicKey = publicKey; self.value = value
        }
    }
    public var receipt: ConsentReceipt
    public var signature: BrokerSignature

    public init(receipt: ConsentReceipt, signature: BrokerSignature) {
        self.receipt = receipt
        self.signature = signature
    }

    /// The bytes the broker signs: the receipt as canonical JSON (sorted keys, no spaces).
    public static func signedBytes(_ receipt: ConsentReceipt) throws -> [UInt8] {
        Array("mydata/receipt/v1\u{0}".utf8) + (try CanonicalJSON.encode(receipt))
    }

    /// Pretty JSON for a file.
    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }
}

/// A receipt that does not verify, and why.
public struct ReceiptError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A broker checkpoint as a file, to keep or publish outside the broker's database; `mydata admin
/// verify --trusted-checkpoint` then proves the ledger still reaches and matches it.
public struct CheckpointFile: Codable, Sendable, Equatable {
    public var format = "mydata-checkpoint-v1"
    public var sequence: UInt64
    /// Hex.
    public var headHash: String
    /// Milliseconds since the epoch.
    public var time: Int64
    /// Base64.
    public var signature: String

    public init(_ checkpoint: Checkpoint) {
        sequence = checkpoint.sequence
        headHash = Hex.encode(checkpoint.headHash)
        time = checkpoint.time.milliseconds
        signature = Base64.encode(checkpoint.signature)
    }

    /// The checkpoint it holds.
    ///
    /// - Throws: `ReceiptError` when a field is malformed.
    public func checkpoint() throws -> Checkpoint {
        guard format == "mydata-checkpoint-v1", let head = Hex.decode(headHash), head.count == 32, let sig = Base64.decode(signature) else {
            throw ReceiptError("not a mydata-checkpoint-v1 file")
        }
        return Checkpoint(sequence: sequence, headHash: head, time: Timestamp(milliseconds: time), signature: sig)
    }
}
