import Foundation
import Sodium

/// A C2SP signed note (c2sp.org/signed-note): a text ending in a newline, a blank line, and
/// signature lines `— <key name> base64(key ID || signature)`.
public struct SignedNote: Sendable, Equatable {
    /// The note text, with its final newline (what is signed).
    public var text: String
    public var signatures: [NoteSignature]

    public init(text: String, signatures: [NoteSignature]) {
        self.text = text
        self.signatures = signatures
    }

    /// The note as it is sent and stored.
    public var encoded: String {
        text + "\n" + signatures.map(\.line).joined()
    }

    /// Parses a note; nil when it is not one (not UTF-8, a control character other than a
    /// newline, no blank line before the signatures, a malformed signature line, too large).
    public static func parse(_ bytes: [UInt8]) -> SignedNote? {
        guard bytes.count <= Limits.noteBytesMax, let whole = String(validating: bytes, as: UTF8.self),
            !whole.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\n" }), whole.hasSuffix("\n")
        else { return nil }
        // The text ends at the last blank line: everything after it is signature lines.
        guard let split = whole.range(of: "\n\n", options: .backwards) else { return nil }
        let text = String(whole[..<split.lowerBound]) + "\n"
        let lines = whole[split.upperBound...].split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        guard !lines.isEmpty, lines.count <= Limits.noteSignaturesMax else { return nil }
        var signatures: [NoteSignature] = []
        for line in lines {
            guard line.hasPrefix("— ") else { return nil }
            let parts = line.dropFirst(2).split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2, NoteVerifier.isValidName(String(parts[0])), let raw = Data(base64Encoded: String(parts[1])), raw.count > 4
            else { return nil }
            let bytes = [UInt8](raw)
            signatures.append(NoteSignature(name: String(parts[0]), keyID: UInt32(bigEndianBytes: bytes[0..<4]), signature: Array(bytes[4...])))
        }
        return SignedNote(text: text, signatures: signatures)
    }

    /// Whether a signature by `verifier` is on the note and verifies. Signatures by other keys
    /// are ignored; a known key whose signature fails makes this false.
    public func isSigned(by verifier: NoteVerifier) -> Bool {
        let mine = signatures.filter { $0.name == verifier.name && $0.keyID == verifier.keyID }
        return !mine.isEmpty && mine.allSatisfy { verifier.verifies($0.signature, over: Array(text.utf8)) }
    }

    /// Signs `text` (which must end in a newline) with an Ed25519 key under `name`.
    public static func sign(text: String, name: String, key: SigningKey) -> SignedNote {
        precondition(text.hasSuffix("\n"), "a note text ends in a newline")
        let verifier = NoteVerifier(name: name, key: key.verifyingKey)
        return SignedNote(
            text: text, signatures: [NoteSignature(name: name, keyID: verifier.keyID, signature: key.sign(Array(text.utf8)).bytes)])
    }
}

extension SignedNote {
    /// The note with `added` signatures: one replaces a signature by the same key (name and key
    /// ID), the others are appended.
    public func adding(_ added: [NoteSignature]) -> SignedNote {
        var merged = self
        for signature in added {
            if let i = merged.signatures.firstIndex(where: { $0.name == signature.name && $0.keyID == signature.keyID }) {
                merged.signatures[i] = signature
            } else {
                merged.signatures.append(signature)
            }
        }
        return merged
    }

    /// A timestamped Ed25519 cosignature (c2sp.org/tlog-cosignature, type `0x04`) of this note's
    /// text by a cosigner (a witness) at `time` (POSIX seconds).
    public func cosignature(name: String, key: SigningKey, time: UInt64) -> NoteSignature {
        let verifier = NoteVerifier(name: name, key: key.verifyingKey, kind: .cosignature)
        let signed = key.sign(Array("cosignature/v1\ntime \(time)\n".utf8) + Array(text.utf8))
        return NoteSignature(name: name, keyID: verifier.keyID, signature: time.bigEndianBytes + signed.bytes)
    }
}

/// One signature line of a note.
public struct NoteSignature: Sendable, Equatable {
    public var name: String
    public var keyID: UInt32
    public var signature: [UInt8]

    public init(name: String, keyID: UInt32, signature: [UInt8]) {
        self.name = name
        self.keyID = keyID
        self.signature = signature
    }

    /// The signature line: `— <name> base64(key ID || signature)` and a newline.
    public var line: String { "— \(name) \(Data(keyID.bigEndianBytes + signature).base64EncodedString())\n" }
}

/// A note verifier key (vkey): `<name>+<hex key ID>+base64(type || public key)`, here for
/// Ed25519 (type `0x01`, signed-note) and timestamped Ed25519 cosignatures (type `0x04`,
/// tlog-cosignature).
public struct NoteVerifier: Sendable, Equatable {
    public enum Kind: UInt8, Sendable {
        case ed25519 = 0x01
        case cosignature = 0x04
    }

    public let name: String
    public let kind: Kind
    public let key: VerifyingKey

    public init(name: String, key: VerifyingKey, kind: Kind = .ed25519) {
        precondition(Self.isValidName(name), "a key name is non-empty, without spaces or '+'")
        self.name = name
        self.key = key
        self.kind = kind
    }

    /// `SHA-256(name || 0x0A || type || public key)[:4]`, big-endian.
    public var keyID: UInt32 { UInt32(bigEndianBytes: SHA2.sha256(Array(name.utf8) + [0x0A, kind.rawValue] + key.bytes)[0..<4]) }

    /// The vkey text.
    public var vkey: String {
        let hex = keyID.bigEndianBytes.map { String($0, radix: 16).leftPadded(to: 2) }.joined()
        return "\(name)+\(hex)+\(Data([kind.rawValue] + key.bytes).base64EncodedString())"
    }

    /// Parses a vkey; nil when it is not an Ed25519 or cosignature vkey whose ID matches its key.
    public init?(vkey: String) {
        let parts = vkey.split(separator: "+", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, Self.isValidName(String(parts[0])), parts[1].count == 8, let id = UInt32(parts[1], radix: 16),
            parts[1].allSatisfy({ $0.isHexDigit && !$0.isUppercase }), let raw = Data(base64Encoded: String(parts[2])), raw.count == 33,
            let kind = Kind(rawValue: raw[raw.startIndex]), let key = try? VerifyingKey(bytes: Array(raw.dropFirst()))
        else { return nil }
        self.init(name: String(parts[0]), key: key, kind: kind)
        guard keyID == id else { return nil }
    }

    /// Key names are non-empty and hold no Unicode space and no `+`.
    public static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && !name.unicodeScalars.contains { $0 == "+" || $0.properties.isWhitespace || $0.value < 0x20 }
    }

    /// Whether `signature` is this key's over `message` (for a cosignature key, `message` is the
    /// cosigned bytes and `signature` still holds its 8-byte timestamp first).
    func verifies(_ signature: [UInt8], over message: [UInt8]) -> Bool {
        switch kind {
        case .ed25519:
            guard let s = try? Signature(bytes: signature) else { return false }
            return key.isValidSignature(s, for: message)
        case .cosignature:
            guard signature.count == 72, let s = try? Signature(bytes: Array(signature[8...])) else { return false }
            let time = UInt64(bigEndianBytes: signature[0..<8])
            guard time <= UInt64(Int64.max) else { return false }
            return key.isValidSignature(s, for: Array("cosignature/v1\ntime \(time)\n".utf8) + message)
        }
    }
}

extension UInt32 {
    init(bigEndianBytes bytes: ArraySlice<UInt8>) { self = bytes.reduce(0) { $0 << 8 | UInt32($1) } }
    var bigEndianBytes: [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: self >> (24 - 8 * $0)) } }
}

extension UInt64 {
    init(bigEndianBytes bytes: ArraySlice<UInt8>) { self = bytes.reduce(0) { $0 << 8 | UInt64($1) } }
    var bigEndianBytes: [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: self >> (56 - 8 * $0)) } }
}

extension String {
    fileprivate func leftPadded(to length: Int) -> String { String(repeating: "0", count: max(0, length - count)) + self }
}
