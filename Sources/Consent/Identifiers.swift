import Sodium

/// How ids are formed. Subject and consent ids are derived, so anyone can recompute them.
public enum Identifiers {
    /// A person's pseudonymous id: `sub_` and the hex of BLAKE2b-128 of their public key.
    public static func subjectID(signingKey: VerifyingKey) -> String {
        subjectPrefix + Hex.encode(BLAKE2b.hash(signingKey.bytes, outputBytes: 16))
    }

    /// What every person's id starts with, and no party's may.
    public static let subjectPrefix = "sub_"

    /// Whether `id` names a person (an id of the person's form; whether it is registered is the
    /// read model's to say). Every other author is a party or the broker.
    public static func isSubjectID(_ id: String) -> Bool {
        id.hasPrefix(subjectPrefix)
    }

    /// The id of the consent `subject` gives to `requestID`: one consent per person per request.
    public static func consentID(requestID: String, subject: String) -> String {
        "con_" + Hex.encode(BLAKE2b.hash(Array("consent\u{0}\(requestID)\u{0}\(subject)".utf8), outputBytes: 16))
    }

    /// A fresh random id with a prefix, e.g. `req_…`.
    public static func random(prefix: String) -> String {
        prefix + "_" + Hex.encode(Sodium.randomBytes(16))
    }

    /// Whether `id` is acceptable as an operator-chosen party id: lower-case letters, digits
    /// and hyphens, 3 to 64 characters, not reserved.
    public static func isValidPartyID(_ id: String) -> Bool {
        guard (3...64).contains(id.count), id != "broker", !isSubjectID(id) else { return false }
        return id.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
    }

    /// Whether `id` is acceptable as a manufacturer's device id or a request id.
    public static func isValidReference(_ id: String) -> Bool {
        guard (1...128).contains(id.utf8.count) else { return false }
        return id.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || "-_.:".unicodeScalars.contains($0)
        }
    }
}

/// Lower-case hexadecimal.
public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    public static func encode(_ bytes: [UInt8]) -> String {
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 0x0f)]) }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes hex (either case); nil for odd lengths or other characters.
    public static func decode(_ text: String) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(chars.count / 2)
        var i = 0
        while i < chars.count {
            guard let hi = value(chars[i]), let lo = value(chars[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    private static func value(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: c - 48
        case 97...102: c - 87
        case 65...70: c - 55
        default: nil
        }
    }
}
