import Broker
import Consent
import Foundation
import Ledger
import Sodium
import TestSupport
import Testing

/// The person's dashboard in a real browser (Debian's Chromium driven by Selenium,
/// `Clients/dashboard_browser.py`) against `mydata serve`, with the party tools playing the maker
/// and the recipient, and the CLI revoking what a key imported into the page granted.
struct DashboardBrowserTests {
    static let chromium = ProcessInfo.processInfo.environment["CHROMIUM"] ?? "/usr/bin/chromium"
    static let chromedriver = ProcessInfo.processInfo.environment["CHROMEDRIVER"] ?? "/usr/bin/chromedriver"

    /// Bytes the broker's own code makes, which the page must make the same: BLAKE2b of a few
    /// lengths (libsodium), one grant's canonical payload, signing input and signature, and a
    /// public key that is not the broker's.
    static func vectors() throws -> Data {
        var seed = [UInt8](repeating: 7, count: 32)
        let key = try SigningKey(seed: &seed)
        let subject = Identifiers.subjectID(signingKey: key.verifyingKey)
        let requestID = "req_browser-vector"
        let consentID = Identifiers.consentID(requestID: requestID, subject: subject)
        let terms = ConsentTerms(
            category: "vehicle", items: ["vehicle.driving", "vehicle.context"], purpose: "usage-based-insurance",
            dataFrom: Timestamp(milliseconds: 1_764_600_000_123), dataTo: Timestamp(milliseconds: 1_769_784_000_577), durationDays: 90,
            onceOff: false, retentionDays: 30, incentiveKRW: 1_000, minQuality: .b,
            contract: ContractReference(
                // Characters JSON encoders differ on: controls, DEL, a line separator, a character outside the BMP.
                template: "processing",
                parameters: ["processor": "Cloud / 분석 Ltd \"é\"\n\u{01}\u{1F}\u{7F}\u{2028}\\ 🚗", "deletionDays": "3"],
                hash: String(repeating: "ab", count: 32)))
        let grant = ConsentGranted(
            consentID: consentID, requestID: requestID, requestHash: String(repeating: "cd", count: 32), subject: subject,
            recipient: "safedrive-insurance", terms: terms, grantedAt: Timestamp(milliseconds: 1_796_000_000_001),
            expiresAt: Timestamp(milliseconds: 1_803_776_000_001), policyVersion: "2026.11.1", policyHash: String(repeating: "ef", count: 32),
            sensitiveConfirmed: false)
        let payload = try CanonicalJSON.encode(grant)
        let time = Timestamp(milliseconds: 1_796_000_000_001)
        let input = CanonicalEncoding.signingInput(
            streamID: StreamName.consent(consentID), type: "consent.granted", schemaVersion: 1, authorID: subject, time: time, payload: payload)
        let inputs = ["", "abc", String(repeating: "a", count: 128), String(repeating: "b", count: 129), "한국어 / ü"]
        var otherSeed = [UInt8](repeating: 9, count: 32)
        let other = try SigningKey(seed: &otherSeed)
        let object: [String: Any] = [
            "otherKey": Base64.encode(other.verifyingKey.bytes),
            "blake2b": inputs.flatMap { text in
                [16, 32, 64].map { n in ["input": text, "bytes": n, "hex": Hex.encode(BLAKE2b.hash(Array(text.utf8), outputBytes: n))] }
            },
            "grant": [
                "seed": String(repeating: "07", count: 32), "author": subject, "requestID": requestID, "time": time.milliseconds,
                "payloadJSON": String(decoding: payload, as: UTF8.self), "canonical": String(decoding: payload, as: UTF8.self),
                "signingInput": Hex.encode(input), "signature": Base64.encode(key.sign(input).bytes),
                "streamID": StreamName.consent(consentID), "consentID": consentID,
            ],
        ]
        return try JSONSerialization.data(withJSONObject: object)
    }

    @Test(
        "in Chromium a person makes a key, grants, sees the delivery, checks the receipt and revokes; a CLI key imported into the page grants and the CLI revokes"
    )
    func dashboardInChromium() throws {
        let missing = [Self.chromium, Self.chromedriver].filter { !FileManager.default.isExecutableFile(atPath: $0) }
        try #require(
            missing.isEmpty,
            "the browser test needs Chromium and its driver (apt-get install chromium chromium-driver; make test-deps does): missing \(missing)")
        try #require(PythonModules.available(["selenium"]), "the browser test needs Selenium (pip install selenium; make test-deps does)")
        let broker = try RunningBroker()
        let work = TemporaryDirectory("mydata-dashboard")
        let vectors = work.file("vectors.json")
        try Self.vectors().write(to: vectors)
        let (status, text) = try PythonClient.run(
            "dashboard_browser.py", [broker.baseURL.absoluteString, MydataCLI.executable.path, broker.cli.dataDir, work.url.path, vectors.path])
        #expect(status == 0, "\(text)")
        #expect(text.contains("dashboard: ok"), "\(text)")
        broker.stop()
        #expect(try broker.cli.run(["admin", "verify"]).status == 0, "every event the page signed verifies in the ledger")
    }
}
