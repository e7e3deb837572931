import HTTPTypes

/// The header fields of the API besides the standard ones, as the server writes and a client
/// reads them.
public enum WireField {
    /// A person's signing key (base64), so a person unknown to the broker can be authenticated.
    public static let subjectKey = HTTPField.Name("MyData-Subject-Key")!
    public static let signatureInput = HTTPField.Name("Signature-Input")!
    public static let signature = HTTPField.Name("Signature")!
    public static let contentDigest = HTTPField.Name("Content-Digest")!
    public static let acceptSignature = HTTPField.Name("Accept-Signature")!
    public static let idempotencyKey = HTTPField.Name("Idempotency-Key")!
    /// The broker's Ed25519 signature (base64) over a sealed response body.
    public static let brokerSignature = HTTPField.Name("MyData-Broker-Signature")!
    /// Where a listing or a pull continues.
    public static let nextCursor = HTTPField.Name("MyData-Next-Cursor")!
    /// On a pull: `?1` when more records follow now, `?0` when the recipient has all there is.
    public static let more = HTTPField.Name("MyData-More")!
}
