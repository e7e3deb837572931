import Broker
import Consent
import Foundation
import Sodium

/// Builds sealed streams whose chunk plaintexts are given, with the fixed broker and recipient
/// keys, so that the sealed stream target can reach what a reader does after decrypting: a
/// chunk changed by one bit never decrypts.
enum FuzzStream {
    /// The consent every built stream names.
    static let consentID = "con_fuzz"
    /// Separates chunk plaintexts in a sealed stream input's second reading; the last is final.
    static let chunkSeparator: UInt8 = 0x1e

    struct Fixed {
        let key: [UInt8]
        let sealedKey: String
    }

    /// One stream key, sealed once to the recipient: sealing per input would double the cost.
    static let fixed: Fixed = {
        let key = [UInt8](repeating: 7, count: SecretStream.keyBytes)
        do { return Fixed(key: key, sealedKey: Base64.encode(try SealedBox.seal(key, to: FuzzKeys.recipient.boxKey.publicKey))) } catch {
            fatalError("cannot seal the fixed stream key: \(error)")
        }
    }()

    /// The body of a stream: the opening (as `SealedStream.Writer` writes it, signed by the
    /// broker), one chunk line per message, the last one final.
    static func body(messages: [[UInt8]]) throws -> Data {
        var raw = fixed.key
        let writer = try SecretStream.Writer(key: try SymmetricKey(consuming: &raw))
        guard let sealedKey = Base64.decode(fixed.sealedKey) else { fatalError("the fixed sealed key is base64") }
        let signed = Array("mydata/sealed-stream/v1\0".utf8) + Array(consentID.utf8) + [0] + sealedKey + writer.header
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // `SealedStream.Opening`'s fields (it has no public initialiser), in the same sorted order.
        var body =
            try encoder.encode([
                "format": SealedStream.format, "consentID": consentID, "sealedKey": fixed.sealedKey, "header": Base64.encode(writer.header),
                "signature": Base64.encode(FuzzKeys.broker.signingKey.sign(signed).bytes),
            ]) + Data([10])
        for (i, message) in messages.enumerated() {
            let sealed = try writer.seal(message, final: i == messages.count - 1)
            body += try encoder.encode(["chunk": Base64.encode(sealed)]) + Data([10])
        }
        return body
    }
}

extension FuzzTarget {
    /// A pull's sealed NDJSON stream as its recipient reads it (`SealedStream.Reader.open`, with
    /// the fixed keys); then the input read as the chunk plaintexts of a stream the broker
    /// sealed (split at 0x1E, the last final): records, trailer, count and digest checks.
    static func sealedStream(_ input: [UInt8]) throws {
        let broker = FuzzKeys.broker.signingKey.verifyingKey, recipient = FuzzKeys.recipient.boxKey
        if (try? SealedStream.Reader.open(Data(input), recipient: recipient, broker: broker)) != nil { return }
        let messages = input.split(separator: FuzzStream.chunkSeparator, omittingEmptySubsequences: false).map(Array.init)
        let body = try FuzzStream.body(messages: messages)
        _ = try SealedStream.Reader.open(body, recipient: recipient, broker: broker)
    }
}
