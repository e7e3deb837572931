import Sodium

/// The broker's signed statement that the chain had `headHash` at `sequence` at `time`.
///
/// Anyone holding the broker's public key can check it; events cut from the tail behind it, or
/// any change before it, no longer match.
public struct Checkpoint: Sendable, Equatable {
    public let sequence: UInt64
    public let headHash: [UInt8]
    public let time: Timestamp
    public let signature: [UInt8]

    public init(sequence: UInt64, headHash: [UInt8], time: Timestamp, signature: [UInt8]) {
        self.sequence = sequence
        self.headHash = headHash
        self.time = time
        self.signature = signature
    }

    /// Signs the head with the broker's key.
    public static func sign(head: ChainHead, time: Timestamp, with key: SigningKey) -> Checkpoint {
        let input = CanonicalEncoding.checkpointSigningInput(sequence: head.sequence, headHash: head.hash, time: time)
        return Checkpoint(sequence: head.sequence, headHash: head.hash, time: time, signature: key.sign(input).bytes)
    }

    /// Whether the broker's key signed this checkpoint.
    public func isSigned(by key: VerifyingKey) -> Bool {
        guard let sig = try? Signature(bytes: signature) else { return false }
        let input = CanonicalEncoding.checkpointSigningInput(sequence: sequence, headHash: headHash, time: time)
        return key.isValidSignature(sig, for: input)
    }
}
