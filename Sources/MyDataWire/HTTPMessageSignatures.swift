import Foundation
import RawStructuredFieldValues
import Sodium

/// The parts of an HTTP request that RFC 9421 signatures can cover.
public struct SignedRequest: Sendable {
    public var method: String
    public var scheme: String
    /// Host, with the port when it is not the scheme's default.
    public var authority: String
    public var path: String
    /// The query without its leading `?`, or nil when there is none.
    public var query: String?
    /// Header fields with lower-case names; repeated fields are joined with ", ".
    public var fields: [String: String]

    public init(method: String, scheme: String, authority: String, path: String, query: String?, fields: [String: String]) {
        self.method = method
        self.scheme = scheme
        self.authority = authority.lowercased()
        self.path = path.isEmpty ? "/" : path
        self.query = query
        self.fields = Dictionary(
            fields.map { ($0.key.lowercased(), $0.value.trimmingCharacters(in: .whitespaces)) }, uniquingKeysWith: { "\($0), \($1)" })
    }

    /// The value of a covered component (RFC 9421 §2.1 and §2.2).
    func value(of component: String) throws(HTTPSignatureError) -> String {
        switch component {
        case "@method": return method
        case "@target-uri": return "\(scheme)://\(authority)\(path)" + (query.map { "?\($0)" } ?? "")
        case "@authority": return authority
        case "@scheme": return scheme
        case "@path": return path
        case "@query": return "?" + (query ?? "")
        case "@request-target": return path + (query.map { "?\($0)" } ?? "")
        default:
            if component.hasPrefix("@") { throw HTTPSignatureError(.unsupportedComponent, "component \(component) is not supported") }
            guard let value = fields[component] else {
                throw HTTPSignatureError(.missingField, "the signature covers '\(component)', which the request does not carry")
            }
            return value
        }
    }
}

/// One signature of a request, as parsed from `Signature-Input` and `Signature`.
public struct RequestSignature: Sendable {
    public let label: String
    public let covered: [String]
    public let created: Int64?
    public let expires: Int64?
    public let nonce: String?
    public let keyID: String?
    public let algorithm: String?
    public let signature: [UInt8]
    /// The serialized inner list with its parameters: the `@signature-params` value.
    let serializedParams: String
}

/// RFC 9421 HTTP Message Signatures with Ed25519, over RFC 8941 structured fields.
public enum HTTPMessageSignatures {
    /// The signature base (RFC 9421 §2.5): one line per covered component, then
    /// `"@signature-params"`, joined with LF and without a trailing newline.
    public static func base(of request: SignedRequest, covered: [String], serializedParams: String) throws(HTTPSignatureError) -> String {
        var lines: [String] = []
        var seen = Set<String>()
        for component in covered {
            guard seen.insert(component).inserted else { throw HTTPSignatureError(.malformed, "component \(component) is covered twice") }
            lines.append("\"\(component)\": \(try request.value(of: component))")
        }
        lines.append("\"@signature-params\": \(serializedParams)")
        return lines.joined(separator: "\n")
    }

    /// Parses the signature labelled `label` (or the only one) from the two header fields.
    public static func parse(signatureInput: String, signature: String, label wanted: String? = nil) throws(HTTPSignatureError) -> RequestSignature {
        let inputs: OrderedMap<String, ItemOrInnerList>
        let signatures: OrderedMap<String, ItemOrInnerList>
        do {
            var p1 = StructuredFieldValueParser(Array(signatureInput.utf8))
            inputs = try p1.parseDictionaryFieldValue()
            var p2 = StructuredFieldValueParser(Array(signature.utf8))
            signatures = try p2.parseDictionaryFieldValue()
        } catch {
            throw HTTPSignatureError(.malformed, "Signature-Input or Signature is not a structured dictionary (RFC 8941)")
        }
        let label: String
        if let wanted {
            label = wanted
        } else {
            guard inputs.count == 1, let only = inputs.first?.0 else {
                throw HTTPSignatureError(.malformed, "send exactly one signature (one label in Signature-Input)")
            }
            label = only
        }
        guard case .innerList(let list)? = inputs[label] else {
            throw HTTPSignatureError(.malformed, "Signature-Input has no inner list labelled \(label)")
        }
        guard case .item(let sigItem)? = signatures[label], case .undecodedByteSequence(let b64) = sigItem.rfc9651BareItem,
            let bytes = Data(base64Encoded: b64)
        else {
            throw HTTPSignatureError(.malformed, "Signature has no byte sequence labelled \(label)")
        }
        var covered: [String] = []
        for item in list.bareInnerList {
            guard case .string(let name) = item.rfc9651BareItem, item.rfc9651Parameters.count == 0 else {
                throw HTTPSignatureError(.unsupportedComponent, "covered components must be plain strings without parameters")
            }
            covered.append(name)
        }
        func int(_ key: String) -> Int64? { if case .integer(let v)? = list.rfc9651Parameters[key] { return v }; return nil }
        func string(_ key: String) -> String? { if case .string(let v)? = list.rfc9651Parameters[key] { return v }; return nil }
        var serializer = StructuredFieldValueSerializer()
        var single = OrderedMap<String, ItemOrInnerList>()
        single[label] = .innerList(list)
        guard let serialized = try? serializer.writeDictionaryFieldValue(single) else {
            throw HTTPSignatureError(.malformed, "Signature-Input cannot be serialized")
        }
        let text = String(decoding: serialized, as: UTF8.self)
        return RequestSignature(
            label: label, covered: covered, created: int("created"), expires: int("expires"), nonce: string("nonce"),
            keyID: string("keyid"), algorithm: string("alg"), signature: [UInt8](bytes),
            serializedParams: String(text.dropFirst(label.count + 1)))
    }

    /// Checks `signature` over `request` with `key`.
    ///
    /// - Throws: `HTTPSignatureError.badSignature` when it does not verify.
    public static func verify(_ signature: RequestSignature, of request: SignedRequest, key: VerifyingKey) throws(HTTPSignatureError) {
        let base = try base(of: request, covered: signature.covered, serializedParams: signature.serializedParams)
        guard let sig = try? Signature(bytes: signature.signature), key.isValidSignature(sig, for: Array(base.utf8)) else {
            throw HTTPSignatureError(.badSignature, "the signature does not verify with \(signature.keyID ?? "the")'s key")
        }
    }

    /// Signs `request`, returning the `Signature-Input` and `Signature` field values.
    public static func sign(
        _ request: SignedRequest, covered: [String], keyID: String, key: SigningKey, created: Int64,
        nonce: String, label: String = "sig1"
    ) throws(HTTPSignatureError) -> (signatureInput: String, signature: String) {
        var list = BareInnerList()
        for c in covered { list.append(Item(bareItem: RFC9651BareItem.string(c), parameters: OrderedMap<String, RFC9651BareItem>())) }
        var params = OrderedMap<String, RFC9651BareItem>()
        params["created"] = .integer(created)
        params["nonce"] = .string(nonce)
        params["keyid"] = .string(keyID)
        params["alg"] = .string("ed25519")
        var single = OrderedMap<String, ItemOrInnerList>()
        single[label] = .innerList(InnerList(bareInnerList: list, parameters: params))
        var serializer = StructuredFieldValueSerializer()
        guard let input = try? serializer.writeDictionaryFieldValue(single) else {
            throw HTTPSignatureError(.malformed, "cannot serialize Signature-Input")
        }
        let inputText = String(decoding: input, as: UTF8.self)
        let base = try base(of: request, covered: covered, serializedParams: String(inputText.dropFirst(label.count + 1)))
        let sig = key.sign(Array(base.utf8))
        return (inputText, "\(label)=:\(Data(sig.bytes).base64EncodedString()):")
    }

    /// `Content-Digest` (RFC 9530) of a body with SHA-256.
    public static func contentDigest(_ body: [UInt8]) -> String {
        "sha-256=:\(Data(SHA2.sha256(body)).base64EncodedString()):"
    }

    /// Checks a `Content-Digest` field against the body; accepts sha-256 and sha-512.
    public static func checkContentDigest(_ field: String?, body: [UInt8]) throws(HTTPSignatureError) {
        guard let field else { throw HTTPSignatureError(.missingField, "a request with a body must carry Content-Digest (RFC 9530)") }
        var parser = StructuredFieldValueParser(Array(field.utf8))
        guard let digests = try? parser.parseDictionaryFieldValue() else {
            throw HTTPSignatureError(.malformed, "Content-Digest is not a structured dictionary")
        }
        var checked = false
        for (algorithm, value) in digests {
            guard case .item(let item) = value, case .undecodedByteSequence(let b64) = item.rfc9651BareItem, let claimed = Data(base64Encoded: b64)
            else { continue }
            let actual: [UInt8]
            switch algorithm {
            case "sha-256": actual = SHA2.sha256(body)
            case "sha-512": actual = SHA2.sha512(body)
            default: continue
            }
            guard Sodium.constantTimeEquals([UInt8](claimed), actual) else {
                throw HTTPSignatureError(.digestMismatch, "Content-Digest \(algorithm) does not match the body")
            }
            checked = true
        }
        guard checked else { throw HTTPSignatureError(.digestMismatch, "Content-Digest carries neither sha-256 nor sha-512") }
    }
}
