import Consent
import Foundation
import HTTPTypes
import Hummingbird
import Ledger
import Sodium

/// The person's dashboard (docs/dashboard.md): the HTML, CSS and JavaScript of `Resources/app`,
/// built into the binary and served from memory at `/` and `/app/…` under a strict
/// Content-Security-Policy. The page talks to the broker only through the signed API.
public struct DashboardFiles: Sendable {
    public struct File: Sendable {
        let bytes: [UInt8]
        let contentType: String
    }

    /// The files by URL path (`/app/js/app.js`), and `/` for the page itself.
    let files: [String: File]
    /// BLAKE2b-256 (hex) over every file's path and bytes, in path order: the build a person
    /// can compare with the one the operator publishes beside the broker's key.
    public let buildHash: String

    /// Bytes the dashboard's files may take in all (they are the broker's own).
    static let bytesMax = 2_000_000

    /// What the page may load and do: its own scripts, styles and API, nothing from elsewhere,
    /// no inline script or style, never inside another site's frame.
    static let contentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        + "form-action 'none'; base-uri 'none'; frame-ancestors 'none'"

    static let types = [
        "html": "text/html; charset=utf-8", "js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8",
        "json": "application/json", "svg": "image/svg+xml",
    ]

    /// The page built into the binary (`.ci/dashboard-files` makes the table from `Resources/app`).
    public static func shipped() throws -> DashboardFiles {
        try DashboardFiles(
            embedded.map { path, encoded in
                guard let bytes = Base64.decode(encoded) else { throw LedgerError(.corruptRecord, "the dashboard's \(path) is not base64") }
                return (path, bytes)
            })
    }

    init(_ entries: [(path: String, bytes: [UInt8])]) throws {
        var files: [String: File] = [:]
        var total = 0
        for (path, bytes) in entries {
            guard let dot = path.lastIndex(of: "."), let type = Self.types[String(path[path.index(after: dot)...])] else {
                throw LedgerError(.corruptRecord, "the dashboard has a file of no known type: \(path)")
            }
            total += bytes.count
            guard total <= Self.bytesMax else { throw LedgerError(.corruptRecord, "the dashboard's files exceed \(Self.bytesMax) bytes") }
            files[path] = File(bytes: bytes, contentType: type)
        }
        guard let index = files["/app/index.html"] else {
            throw LedgerError(.corruptRecord, "the dashboard has no index.html")
        }
        files["/"] = index
        var hashed: [UInt8] = []
        for path in files.keys.sorted() where path != "/" {
            hashed += Array(path.utf8) + [0] + Array(String(files[path]!.bytes.count).utf8) + [0] + files[path]!.bytes
        }
        self.files = files
        buildHash = Hex.encode(BLAKE2b.hash256(hashed))
    }

    func response(_ path: String, head: Bool) -> Response? {
        let path = path == "/app" || path == "/app/" || path == "/index.html" ? "/" : path
        guard let file = files[path] else { return nil }
        let headers: HTTPFields = [
            .contentType: file.contentType,
            HTTPField.Name("Content-Security-Policy")!: Self.contentSecurityPolicy,
            HTTPField.Name("X-Content-Type-Options")!: "nosniff",
            HTTPField.Name("Referrer-Policy")!: "no-referrer",
            HTTPField.Name("Cross-Origin-Opener-Policy")!: "same-origin",
            HTTPField.Name("Cross-Origin-Resource-Policy")!: "same-origin",
            .cacheControl: "no-cache",
            HTTPField.Name("MyData-App-Hash")!: buildHash,
        ]
        var response = Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: head ? [] : file.bytes)))
        if head { response.headers[.contentLength] = String(file.bytes.count) }
        return response
    }
}

/// Answers `GET`/`HEAD` of `/` and `/app/…` from the dashboard's files; everything else goes on
/// to the API's routes.
struct DashboardMiddleware<Context: RequestContext>: RouterMiddleware {
    let files: DashboardFiles

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        guard request.method == .get || request.method == .head, path == "/" || path == "/index.html" || path.hasPrefix("/app"),
            let response = files.response(path, head: request.method == .head)
        else { return try await next(request, context) }
        return response
    }
}
