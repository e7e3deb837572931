import Broker
import BrokerServer
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Sodium
import TestSupport
import Testing
import Vault

/// The dashboard's files as the broker serves them: at / and /app/…, read-only, under a strict
/// Content-Security-Policy, with the build hash; nothing else is served from the folder.
struct DashboardTests {
    static func router(_ f: BrokerFixture) throws -> Router<BrokerRequestContext> {
        let transfer = TransferService(broker: f.broker, vault: Vault(kek: try SymmetricKey(), store: f.store))
        return BrokerApplication.router(service: f.broker, transfer: transfer, nonces: f.store, dashboard: try DashboardFiles.shipped())
    }

    @Test("the page and its files are served under a strict CSP with their build hash, and scripts only as files")
    func served() async throws {
        let f = try await BrokerFixture()
        let files = try DashboardFiles.shipped()
        let app = Application(router: try Self.router(f))
        try await app.test(.router) { client in
            for (path, type) in [
                ("/", "text/html"), ("/app/", "text/html"), ("/app/index.html", "text/html"), ("/app/js/app.js", "text/javascript"),
                ("/app/js/wire.js", "text/javascript"), ("/app/app.css", "text/css"),
            ] {
                try await client.execute(uri: path, method: .get) { response in
                    #expect(response.status == .ok, "\(path)")
                    #expect(response.headers[.contentType]?.hasPrefix(type) == true, "\(path)")
                    let csp = response.headers[HTTPField.Name("Content-Security-Policy")!] ?? ""
                    for directive in ["default-src 'none'", "script-src 'self'", "frame-ancestors 'none'", "connect-src 'self'"] {
                        #expect(csp.contains(directive), "\(path): \(csp)")
                    }
                    #expect(!csp.contains("unsafe"), "no unsafe-inline or unsafe-eval")
                    #expect(response.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
                    #expect(response.headers[HTTPField.Name("MyData-App-Hash")!] == files.buildHash)
                }
            }
            try await client.execute(uri: "/", method: .get) { response in
                let html = String(buffer: response.body)
                #expect(html.contains(#"<script type="module" src="/app/js/app.js"></script>"#))
                #expect(!html.contains("<script>") && !html.contains("style="), "no inline script or style")
                #expect(!html.contains("http://") && !html.contains("https://"), "nothing from another origin")
            }
            try await client.execute(uri: "/app/js/app.js", method: .head) { response in
                #expect(response.status == .ok)
                #expect(response.body.readableBytes == 0)
            }
            for path in ["/app/nothing.js", "/app/../Package.swift", "/app/js/../../openapi.yaml", "/index.htm"] {
                try await client.execute(uri: path, method: .get) { response in
                    #expect(response.status == .notFound, "\(path): \(response.status)")
                }
            }
            try await client.execute(uri: "/", method: .post, body: ByteBuffer(string: "{}")) { response in
                #expect(response.status != .ok, "the page's files are read-only")
            }
        }
    }
}
