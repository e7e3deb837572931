import Broker
import Consent
import Foundation
import Ledger
import Sodium

extension FuzzTarget {
    /// A receipt through `ReceiptVerifier.verify` with the fixed broker key; then, so that the
    /// checks behind the signatures see fuzzed values too, the same receipt signed again: by the
    /// fixed person over its evidence, by the broker over its checkpoint and over the whole.
    /// (A broker that signs anything can hand a verifier any receipt; the verifier must still
    /// answer, not trap.)
    static func receipt(_ input: [UInt8]) throws {
        let brokerKey = FuzzKeys.broker.signingKey
        _ = try? ReceiptVerifier.verify(Data(input), brokerKey: brokerKey.verifyingKey)
        var signed = try JSONDecoder().decode(SignedReceipt.self, from: Data(input))
        let person = FuzzKeys.person
        signed.receipt.piiPrincipalID = person.id
        var e = signed.receipt.evidence
        e.subjectKey = person.publicKeys.signingKey
        if let payload = Base64.decode(e.payload) {
            let input = CanonicalEncoding.signingInput(
                streamID: e.streamID, type: e.eventType, schemaVersion: e.schemaVersion,
                authorID: person.id, time: Timestamp(milliseconds: e.eventTime), payload: payload)
            e.subjectSignature = Base64.encode(person.signingKey.sign(input).bytes)
        }
        if var cp = e.checkpoint, let head = Hex.decode(cp.headHash) {
            let input = CanonicalEncoding.checkpointSigningInput(sequence: cp.sequence, headHash: head, time: Timestamp(milliseconds: cp.time))
            cp.signature = Base64.encode(brokerKey.sign(input).bytes)
            e.checkpoint = cp
        }
        signed.receipt.evidence = e
        let value = brokerKey.sign(try SignedReceipt.signedBytes(signed.receipt))
        signed.signature = .init(
            algorithm: "Ed25519", keyID: "broker", publicKey: Base64.encode(brokerKey.verifyingKey.bytes),
            value: Base64.encode(value.bytes))
        let verified = try ReceiptVerifier.verify(try signed.json(), brokerKey: brokerKey.verifyingKey)
        FuzzCheck.require(verified == signed, "a receipt that verifies is the receipt that was read")
    }

    /// A checkpoint file through `CheckpointFile.checkpoint()` and the broker key check; a
    /// checkpoint it yields, signed again by the broker, must verify and survive its file form.
    static func checkpoint(_ input: [UInt8]) throws {
        let brokerKey = FuzzKeys.broker.signingKey
        let checkpoint = try JSONDecoder().decode(CheckpointFile.self, from: Data(input)).checkpoint()
        _ = checkpoint.isSigned(by: brokerKey.verifyingKey)
        let resigned = Checkpoint.sign(
            head: ChainHead(sequence: checkpoint.sequence, hash: checkpoint.headHash),
            time: checkpoint.time, with: brokerKey)
        FuzzCheck.require(resigned.isSigned(by: brokerKey.verifyingKey), "a checkpoint the broker signs verifies")
        let file = try JSONEncoder().encode(CheckpointFile(resigned))
        try FuzzCheck.require(
            JSONDecoder().decode(CheckpointFile.self, from: file).checkpoint() == resigned,
            "a checkpoint survives its file form")
    }
}
