import Consent
import Foundation
import Ledger
import Sodium

/// A ledger event carried in a tlog-proof's `extra` line: everything needed to recompute its
/// hash, the log entry the proof includes (c2sp.org/tlog-proof: "additional data necessary to
/// reconstruct the record hash"). The proof for a delivery of a person's data is one of these.
public struct LoggedEvent: Codable, Sendable, Equatable {
    public static let currentFormat = "mydata-logged-event-v1"
    public var format = currentFormat
    public var sequence: UInt64
    /// Hex.
    public var previousHash: String
    public var streamID: String
    public var type: String
    public var schemaVersion: UInt16
    /// Milliseconds since the epoch.
    public var time: Int64
    public var authorID: String
    /// Base64.
    public var payload: String
    public var signature: String

    public init(_ recorded: RecordedEvent) {
        sequence = recorded.sequence
        previousHash = Hex.encode(recorded.previousHash)
        streamID = recorded.event.streamID
        type = recorded.event.type
        schemaVersion = recorded.event.schemaVersion
        time = recorded.event.time.milliseconds
        authorID = recorded.event.authorID
        payload = Base64.encode(recorded.event.payload)
        signature = Base64.encode(recorded.event.signature)
    }

    /// The event and its hash, recomputed.
    ///
    /// - Throws: `ReceiptError` when a field is malformed.
    public func recorded() throws -> RecordedEvent {
        guard format == Self.currentFormat, sequence > 0, let previous = Hex.decode(previousHash), previous.count == 32,
            let payload = Base64.decode(payload), let signature = Base64.decode(signature)
        else { throw ReceiptError("the proof's extra data is not a \(Self.currentFormat) event") }
        let event = NewEvent(
            streamID: streamID, type: type, schemaVersion: schemaVersion, time: Timestamp(milliseconds: time), authorID: authorID,
            payload: payload, signature: signature)
        return RecordedEvent(
            sequence: sequence, event: event, previousHash: previous,
            hash: CanonicalEncoding.eventHash(previousHash: previous, sequence: sequence, event: event))
    }
}

extension BrokerService {
    /// A tlog-proof that the delivery at ledger `sequence` of `subject`'s data is in the log, the
    /// delivery event in its `extra` line (`mydata access-log --proofs`).
    ///
    /// - Throws: `ConsentError.deliveryNotFound`-like `consentNotFound` when the event there is
    ///   not a delivery of this person's data.
    public func deliveryProof(sequence: UInt64, subject: String) async throws -> TlogProof {
        guard sequence > 0, let recorded = try await store.events(from: sequence, limit: 1).first, recorded.sequence == sequence,
            case .dataDelivered(let delivery)? = try? DomainEvent.decode(recorded.event), delivery.subject == subject
        else {
            throw ConsentError(.consentNotFound, "ledger event \(sequence) is not a delivery of your data; list yours with `mydata access-log`")
        }
        return try await loggedEventProof(recorded)
    }

    /// A tlog-proof that `recorded` is in the log, the event itself in the `extra` line (a
    /// delivery's for the person, an analysis's for its recipient).
    public func loggedEventProof(_ recorded: RecordedEvent) async throws -> TlogProof {
        var proof = try await logProof(sequence: recorded.sequence)
        proof.extra = try CanonicalJSON.encode(LoggedEvent(recorded))
        return proof
    }
}

/// Checks a delivery proof offline (`mydata access-log verify`).
public enum DeliveryProofVerifier {
    public struct Verified: Sendable {
        public var delivery: DataDelivered
        public var time: Timestamp
        public var sequence: UInt64
        public var checkpoint: LogCheckpoint
        public var cosigners: [String]
    }

    /// The event in the proof's `extra` line must be a delivery, and its recomputed hash the
    /// entry the proof includes in a checkpoint signed by the broker's log key (and cosigned by
    /// `trust.quorum` of `trust.witnesses`).
    ///
    /// - Throws: `ReceiptError` naming the first check that fails.
    public static func verify(_ text: String, brokerKey: VerifyingKey, trust: ReceiptVerifier.LogTrust) throws -> Verified {
        guard let proof = TlogProof.parse(text) else { throw ReceiptError("not a c2sp.org/tlog-proof@v1 proof") }
        guard let extra = proof.extra, let logged = try? CanonicalJSON.decode(LoggedEvent.self, from: extra) else {
            throw ReceiptError("the proof carries no delivery event in its extra line")
        }
        let recorded = try logged.recorded()
        guard recorded.event.authorID == AuthorID.broker, case .dataDelivered(let delivery)? = try? DomainEvent.decode(recorded.event) else {
            throw ReceiptError("the event in the proof is not a delivery the broker recorded")
        }
        let (checkpoint, cosigners) = try ReceiptVerifier.checkInclusion(
            of: recorded.hash, sequence: recorded.sequence, in: proof, what: "delivery", brokerKey: brokerKey, trust: trust)
        return Verified(delivery: delivery, time: recorded.event.time, sequence: recorded.sequence, checkpoint: checkpoint, cosigners: cosigners)
    }
}
