import Broker

/// Every bound on what an HTTP request can make the broker do, in one place; units last.
public enum APILimits {
    /// Bytes of a request body.
    public static let requestBodyBytesMax = 1_048_576
    /// How far a signature's `created` may be from the broker's clock.
    public static let signatureSkewSecondsMax: Int64 = 300
    /// Bytes of a `Signature-Input`, `Signature` or `Content-Digest` field.
    public static let signatureFieldBytesMax = 4_096
    /// Bytes of a nonce.
    public static let nonceBytesMax = 128
    /// Events submitted in one request.
    public static let submittedEventsMax = 100
    /// Seconds `/readyz` waits for the store before answering 503.
    public static let readinessSecondsMax: Double = 2
    /// Entries in one listing.
    public static let pageItemsMax = 500
    /// Seconds a request's handler may take on PostgreSQL before it is answered `503
    /// storeUnavailable` (the store did not answer); a streamed body is not counted.
    public static let requestSecondsMax: Double = 5
    /// Requests the broker works on at once, per core, by default (`serve --requests-in-flight-max`).
    public static let requestsInFlightPerCore = 16
    /// Records in one pull page sent as a sealed NDJSON stream (`Accept: application/x-ndjson`).
    public static let streamedRecordsMax = BrokerLimits.deliveryRecordsMax
}
