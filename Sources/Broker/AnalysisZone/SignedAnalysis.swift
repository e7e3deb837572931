import Consent
import Foundation
import Ledger
import Sodium

/// An analysis result as the recipient receives it: the `analysis.ran` event as the ledger holds
/// it, where, and the broker's signature over both. `verify` checks it offline with the broker's
/// public key alone.
public struct SignedAnalysis: Codable, Sendable, Equatable {
    public static let schema = "mydata-analysis-v1"

    public struct SignatureRef: Codable, Sendable, Equatable {
        public var algorithm: String
        /// The broker's Ed25519 public key and the signature, base64.
        public var publicKey: String
        public var value: String
    }

    public var schema: String
    public var analysis: AnalysisRan
    /// The `analysis.ran` event's place in the ledger and its time (milliseconds).
    public var ledgerSequence: UInt64
    public var time: Int64
    public var signature: SignatureRef
    /// A c2sp.org/tlog-proof@v1 proof that the `analysis.ran` event is in the broker's
    /// transparency log, the event in its `extra` line (outside the signature: it proves itself
    /// against the log's key). Absent only when it could not be made.
    public var logProof: String?

    /// What the broker signs: the schema, the sequence and time, and the event's canonical payload.
    public static func signedBytes(analysis: AnalysisRan, ledgerSequence: UInt64, time: Int64) throws -> [UInt8] {
        Array("\(schema)\u{0}\(ledgerSequence)\u{0}\(time)\u{0}".utf8) + (try CanonicalJSON.encode(analysis))
    }

    /// Signs `analysis` as recorded at `sequence` and `time`.
    public static func make(
        _ analysis: AnalysisRan, sequence: UInt64, time: Timestamp, identity: Identity, logProof: TlogProof? = nil
    ) throws -> SignedAnalysis {
        let signature = identity.signingKey.sign(try signedBytes(analysis: analysis, ledgerSequence: sequence, time: time.milliseconds))
        return SignedAnalysis(
            schema: schema, analysis: analysis, ledgerSequence: sequence, time: time.milliseconds,
            signature: SignatureRef(algorithm: "ed25519", publicKey: identity.publicKeys.signingKey, value: Base64.encode(signature.bytes)),
            logProof: logProof?.encoded)
    }

    /// BLAKE2b-256 (hex) of a result's cells as canonical JSON: the event's `resultDigest`.
    public static func digest(of cells: [AnalysisCell]) throws -> String {
        Hex.encode(BLAKE2b.hash256(try CanonicalJSON.encode(cells)))
    }

    /// BLAKE2b-256 (hex) of a query as canonical JSON: the event's `queryHash`.
    public static func hash(of query: AnalysisQuery) throws -> String {
        Hex.encode(BLAKE2b.hash256(try CanonicalJSON.encode(query)))
    }

    /// Why a result does not verify.
    public struct Failure: Error, CustomStringConvertible, Equatable {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    /// Checks a result file offline: the broker's signature with `brokerKey` (base64), that the
    /// digests match the query and the cells, that the counts add up, and that every released
    /// cell passed its threshold. With `trust`, also that its log proof puts this very event in
    /// a checkpoint of the broker's log (and of its witnesses).
    ///
    /// - Throws: `Failure` saying what does not hold.
    public static func verify(_ data: Data, brokerKey: String, trust: ReceiptVerifier.LogTrust? = nil) throws -> SignedAnalysis {
        let signed: SignedAnalysis
        do { signed = try JSONDecoder().decode(SignedAnalysis.self, from: data) } catch {
            throw Failure("not an analysis result: \(error)")
        }
        guard signed.schema == schema else { throw Failure("schema is \(signed.schema), not \(schema)") }
        guard signed.signature.publicKey == brokerKey else {
            throw Failure("signed by key \(signed.signature.publicKey.prefix(12))…, not the broker key given")
        }
        guard let keyBytes = Base64.decode(brokerKey), let key = try? VerifyingKey(bytes: keyBytes),
            let sigBytes = Base64.decode(signed.signature.value), let sig = try? Signature(bytes: sigBytes),
            key.isValidSignature(sig, for: try signedBytes(analysis: signed.analysis, ledgerSequence: signed.ledgerSequence, time: signed.time))
        else {
            throw Failure("the broker's signature does not verify: the result was changed or not signed by this broker")
        }
        let a = signed.analysis
        guard try digest(of: a.cells) == a.resultDigest else { throw Failure("the cells do not match the result digest") }
        guard try hash(of: a.query) == a.queryHash else { throw Failure("the query does not match the query hash") }
        guard a.cells.count == a.released + a.suppressed, a.cells.filter(\.suppressed).count == a.suppressed else {
            throw Failure("the released and suppressed counts do not match the cells")
        }
        let threshold = Int64(a.protection.k) + a.protection.margin
        for cell in a.cells where !cell.suppressed {
            if let persons = cell.persons, persons < threshold {
                throw Failure("cell \(cell.key) is released with \(persons) persons, below its threshold \(threshold)")
            }
        }
        if let trust { try checkLogProof(signed, key: key, trust: trust) }
        return signed
    }

    /// The proof's event must be this result's `analysis.ran` (same sequence, time and payload,
    /// written by the broker), and its recomputed hash in a checkpoint of the broker's log.
    private static func checkLogProof(_ signed: SignedAnalysis, key: VerifyingKey, trust: ReceiptVerifier.LogTrust) throws {
        try LoggedEventCheck.check(
            signed.logProof, sequence: signed.ledgerSequence, time: signed.time, type: DomainEvent.TypeName.analysisRan,
            payload: try CanonicalJSON.encode(signed.analysis), what: "analysis", key: key, trust: trust)
    }
}

/// The check a signed file (an analysis result, a quality certificate) makes of its log proof.
enum LoggedEventCheck {
    /// The proof's event must be the file's own (same sequence, time, type and payload, written by
    /// the broker), and its recomputed hash in a checkpoint of the broker's log (and of its witnesses).
    ///
    /// - Throws: `SignedAnalysis.Failure` saying what does not hold.
    static func check(
        _ logProof: String?, sequence: UInt64, time: Int64, type: String, payload: [UInt8], what: String, key: VerifyingKey,
        trust: ReceiptVerifier.LogTrust
    ) throws {
        guard let text = logProof, let proof = TlogProof.parse(text) else {
            throw SignedAnalysis.Failure("the \(what) carries no transparency log proof")
        }
        do {
            guard let extra = proof.extra, let logged = try? CanonicalJSON.decode(LoggedEvent.self, from: extra) else {
                throw SignedAnalysis.Failure("the log proof carries no \(what) event in its extra line")
            }
            let recorded = try logged.recorded()
            guard recorded.sequence == sequence, recorded.event.time.milliseconds == time, recorded.event.type == type,
                recorded.event.authorID == AuthorID.broker, recorded.event.payload == payload
            else {
                throw SignedAnalysis.Failure("the log proof is for another event than this \(what)")
            }
            _ = try ReceiptVerifier.checkInclusion(
                of: recorded.hash, sequence: recorded.sequence, in: proof, what: what, brokerKey: key, trust: trust)
        } catch let error as ReceiptError {
            throw SignedAnalysis.Failure(error.message)
        }
    }
}
