import HTTPTypes

/// RFC 9457 problem details: every error the API returns.
public struct ProblemDetails: Codable, Sendable, Equatable {
    /// A stable URI naming the problem: `https://mydata.example/problems/<code>`.
    public var type: String
    public var title: String
    public var status: Int
    public var detail: String
    /// The broker's error code, e.g. `consentAlreadyRevoked`.
    public var code: String

    public static let typeBase = "https://mydata.example/problems/"

    public init(code: String, status: HTTPResponse.Status, detail: String) {
        type = Self.typeBase + code
        title = status.reasonPhrase
        self.status = status.code
        self.detail = detail
        self.code = code
    }
}
