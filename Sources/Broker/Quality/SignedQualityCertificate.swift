import Consent
import Foundation
import Ledger
import Sodium

/// A quality certificate as a file: the `quality.certified` event, its place in the ledger, the
/// broker's signature over both, and a proof that the event is in the broker's transparency log.
/// Anyone with the broker's public key checks it offline (`mydata quality verify`).
public struct SignedQualityCertificate: Codable, Sendable, Equatable {
    public static let schema = "mydata-quality-certificate-v1"

    public var schema: String
    public var certificate: QualityCertified
    /// The `quality.certified` event's place in the ledger and its time (milliseconds).
    public var ledgerSequence: UInt64
    public var time: Int64
    public var signature: SignedAnalysis.SignatureRef
    /// A c2sp.org/tlog-proof@v1 proof of the event, the event in its `extra` line (outside the
    /// signature: it proves itself against the log's key). Absent only when it could not be made.
    public var logProof: String?

    /// What the broker signs: the schema, the sequence and time, and the event's canonical payload.
    public static func signedBytes(certificate: QualityCertified, ledgerSequence: UInt64, time: Int64) throws -> [UInt8] {
        Array("\(schema)\u{0}\(ledgerSequence)\u{0}\(time)\u{0}".utf8) + (try CanonicalJSON.encode(certificate))
    }

    /// Signs `certificate` as recorded at `sequence` and `time`.
    public static func make(
        _ certificate: QualityCertified, sequence: UInt64, time: Timestamp, identity: Identity, logProof: TlogProof? = nil
    ) throws -> SignedQualityCertificate {
        let signature = identity.signingKey.sign(try signedBytes(certificate: certificate, ledgerSequence: sequence, time: time.milliseconds))
        return SignedQualityCertificate(
            schema: schema, certificate: certificate, ledgerSequence: sequence, time: time.milliseconds,
            signature: SignedAnalysis.SignatureRef(
                algorithm: "ed25519", publicKey: identity.publicKeys.signingKey, value: Base64.encode(signature.bytes)),
            logProof: logProof?.encoded)
    }

    /// Checks a certificate file offline: the broker's signature with `brokerKey` (base64), that
    /// the grade follows from the figures under the rules of `policy` when given (the rules the
    /// certificate names by hash), and with `trust` that its log proof puts this very event in a
    /// checkpoint of the broker's log.
    ///
    /// - Throws: `SignedAnalysis.Failure` saying what does not hold.
    public static func verify(
        _ data: Data, brokerKey: String, policy: LoadedPolicy? = nil, trust: ReceiptVerifier.LogTrust? = nil
    ) throws -> SignedQualityCertificate {
        typealias Failure = SignedAnalysis.Failure
        let signed: SignedQualityCertificate
        do { signed = try JSONDecoder().decode(SignedQualityCertificate.self, from: data) } catch {
            throw Failure("not a quality certificate: \(error)")
        }
        guard signed.schema == schema else { throw Failure("schema is \(signed.schema), not \(schema)") }
        guard signed.signature.publicKey == brokerKey else {
            throw Failure("signed by key \(signed.signature.publicKey.prefix(12))…, not the broker key given")
        }
        guard let keyBytes = Base64.decode(brokerKey), let key = try? VerifyingKey(bytes: keyBytes),
            let sigBytes = Base64.decode(signed.signature.value), let sig = try? Signature(bytes: sigBytes),
            key.isValidSignature(
                sig, for: try signedBytes(certificate: signed.certificate, ledgerSequence: signed.ledgerSequence, time: signed.time))
        else {
            throw Failure("the broker's signature does not verify: the certificate was changed or not signed by this broker")
        }
        if let policy {
            guard policy.hash == signed.certificate.policyHash else {
                throw Failure("the certificate was graded under policy \(signed.certificate.policyHash.prefix(12))…, not the one given")
            }
            guard let rules = policy.policy.quality else { throw Failure("the policy given has no quality rules") }
            let (grade, reasons) = rules.grade(signed.certificate.figures)
            guard grade == signed.certificate.grade, reasons == signed.certificate.reasons else {
                throw Failure("the rules give grade \(grade.rawValue) for these figures, not \(signed.certificate.grade.rawValue)")
            }
        }
        if let trust {
            try LoggedEventCheck.check(
                signed.logProof, sequence: signed.ledgerSequence, time: signed.time, type: DomainEvent.TypeName.qualityCertified,
                payload: try CanonicalJSON.encode(signed.certificate), what: "certificate", key: key, trust: trust)
        }
        return signed
    }
}
