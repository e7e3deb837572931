import Broker
import BrokerServer
import Consent
import Foundation
import MyDataClient
import MyDataWire
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Ledger
import Ports
import Sodium
import TestSupport
import Testing

/// Push → attest → confirm → grant → pull (open the sealed box) → revoke → pull denied, over HTTP.
struct TransferTests {
    static func body(_ value: some Encodable) throws -> Data { try JSONEncoder().encode(value) }

    struct Push: Encodable { var records: [TelemetryRecord] }

    struct PushReply: Decodable {
        struct Result: Decodable { var index: Int; var status: String; var code: String? }
        var batchID: String; var replayed: Bool; var accepted: Int; var rejected: Int; var results: [Result]
    }

    struct Delivery: Decodable { var records: [TelemetryRecord]; var nextCursor: String?; var ledgerSequence: UInt64? }

    static func record(_ device: String, _ item: String, _ time: Timestamp, km: Double) -> TelemetryRecord {
        switch item {
        case "vehicle.driving":
            return TelemetryRecord(
                device: device, item: item, time: time,
                values: ["distance": .number(km), "duration": .integer(600), "average_speed": .number(42.5)])
        default:
            return TelemetryRecord(device: device, item: item, time: time, values: ["part": .string("brake-pad-zq81"), "wear": .number(0.3)])
        }
    }

    @Test("only records a consent covers, from confirmed devices, reach the recipient, sealed; after revocation nothing does")
    func pushGrantPullRevoke() async throws {
        let broker = try RunningBroker()
        let maker = BrokerHTTPClient(baseURL: broker.baseURL, identity: try broker.party("hanbit-motors"))
        let recipientIdentity = try broker.party("safedrive-insurance")
        let recipient = BrokerHTTPClient(baseURL: broker.baseURL, identity: recipientIdentity)
        let person = try Identity.generateSubject()
        let me = BrokerHTTPClient(baseURL: broker.baseURL, identity: person)
        let now = Timestamp.now()

        // The person registers; the maker attests two cars; the person confirms only one.
        #expect(
            try await me.send(
                "POST", "/v1/subjects", body: try HTTPAPITests.submit([try person.sign(ConsentDrafts.registration(of: person), at: now)])
            ).status == 201)
        for car in ["car-confirmed", "car-unconfirmed"] {
            let attest = try maker.identity.sign(
                .deviceAttested(DeviceAttested(deviceID: car, manufacturer: "hanbit-motors", subject: person.id)), at: now)
            #expect(try await maker.send("POST", "/v1/devices", body: try HTTPAPITests.submit([attest])).status == 201)
        }
        let confirm = try person.sign(
            .deviceConfirmed(DeviceConfirmed(deviceID: "car-confirmed", manufacturer: "hanbit-motors", subject: person.id)), at: now)
        #expect(try await me.send("POST", "/v1/devices", body: try HTTPAPITests.submit([confirm])).status == 201)

        // The maker pushes: covered, wrong item, unconfirmed device, unknown device, a bad record.
        var bad = Self.record("car-confirmed", "vehicle.driving", now, km: 1)
        bad.values["distance"] = .string("far")
        let records = [
            Self.record("car-confirmed", "vehicle.driving", now.adding(seconds: -60), km: 12.5),
            Self.record("car-confirmed", "vehicle.parts", now.adding(seconds: -50), km: 0),
            Self.record("car-unconfirmed", "vehicle.driving", now.adding(seconds: -40), km: 99),
            Self.record("car-nobody", "vehicle.driving", now.adding(seconds: -30), km: 7),
            bad,
        ]
        let pushBody = try Self.body(Push(records: records))  // a retry resends the same bytes
        let pushed = try await maker.send("POST", "/v1/telemetry", body: pushBody, extraFields: ["Idempotency-Key": "push-1"])
        #expect(pushed.status == 201, "\(String(decoding: pushed.body, as: UTF8.self))")
        let reply = try pushed.decode(PushReply.self)
        #expect(reply.accepted == 3)
        #expect(reply.results.map(\.status) == ["accepted", "accepted", "accepted", "rejected", "rejected"])
        let again = try await maker.send("POST", "/v1/telemetry", body: pushBody, extraFields: ["Idempotency-Key": "push-1"])
        #expect(again.status == 200)
        #expect(try again.decode(PushReply.self).replayed, "the same Idempotency-Key never stores twice")

        // The person grants SafeDrive's offer (vehicle.driving and vehicle.context).
        let (grantBody, consentID) = try await HTTPAPITests.grantBody(broker, person: person)
        #expect(try await me.send("POST", "/v1/consents", body: grantBody).status == 409, "already registered: the batch's registration is refused")
        let grantOnly = try JSONDecoder().decode(SubmitBody.self, from: grantBody)
        #expect(try await me.send("POST", "/v1/consents", body: try JSONEncoder().encode(SubmitBody(events: [grantOnly.events[1]]))).status == 201)

        // The recipient pulls: one record, sealed to its key, signed by the broker.
        let pull = try await recipient.send("GET", "/v1/consents/\(consentID)/data")
        #expect(pull.status == 200)
        let sealed = [UInt8](pull.body)
        let opened = try SealedBox.open(sealed, with: recipientIdentity.boxKey)
        let delivery = try JSONDecoder().decode(Delivery.self, from: Data(opened))
        #expect(delivery.records == [records[0]], "only the covered record of the confirmed device")
        #expect(delivery.ledgerSequence != nil)
        #expect(throws: SodiumError.self) { try SealedBox.open(sealed, with: try broker.party("fixit-ai").boxKey) }
        let log = try await me.send("GET", "/v1/access-log").decode([String: [AccessLogEntry]].self)["entries"] ?? []
        #expect(log.first?.records == 1)
        #expect(log.first?.recipient == "safedrive-insurance")

        // Another recipient gets nothing under this consent.
        let other = try await BrokerHTTPClient(baseURL: broker.baseURL, identity: try broker.party("fixit-ai")).send(
            "GET", "/v1/consents/\(consentID)/data")
        #expect(other.status == 403)

        // Revoke; every later pull is refused with no record.
        let revoke = try person.sign(.consentRevoked(ConsentRevoked(consentID: consentID, subject: person.id)), at: .now())
        #expect(try await me.send("POST", "/v1/consents/\(consentID)/revoke", body: try HTTPAPITests.submit([revoke])).status == 200)
        let denied = try await recipient.send("GET", "/v1/consents/\(consentID)/data")
        #expect(denied.status == 403)
        #expect(try denied.decode(Problem.self).code == "consentRevoked")

        broker.stop()
        #expect(try broker.cli.run(["admin", "verify"]).status == 0)
        // No plaintext of a record is anywhere in the database files.
        for file in ["ledger.sqlite", "ledger.sqlite-wal"] {
            if let bytes = FileManager.default.contents(atPath: broker.dir.file("data/\(file)").path) {
                #expect(bytes.range(of: Data("brake-pad-zq81".utf8)) == nil, "\(file) holds no record plaintext")
            }
        }
    }

    @Test("a large page arrives as a sealed NDJSON stream the recipient reads chunk by chunk; each matches its access-log entry")
    func streamedPull() async throws {
        let broker = try RunningBroker()
        let maker = BrokerHTTPClient(baseURL: broker.baseURL, identity: try broker.party("hanbit-motors"))
        let recipientIdentity = try broker.party("safedrive-insurance")
        let recipient = BrokerHTTPClient(baseURL: broker.baseURL, identity: recipientIdentity)
        let person = try Identity.generateSubject()
        let me = BrokerHTTPClient(baseURL: broker.baseURL, identity: person)
        let now = Timestamp.now()
        let (grantBody, consentID) = try await HTTPAPITests.grantBody(broker, person: person)
        #expect(try await me.send("POST", "/v1/consents", body: grantBody).status == 201)
        let attest = try maker.identity.sign(
            .deviceAttested(DeviceAttested(deviceID: "car-s", manufacturer: "hanbit-motors", subject: person.id)), at: now)
        #expect(try await maker.send("POST", "/v1/devices", body: try HTTPAPITests.submit([attest])).status == 201)
        let confirm = try person.sign(
            .deviceConfirmed(DeviceConfirmed(deviceID: "car-s", manufacturer: "hanbit-motors", subject: person.id)), at: now)
        #expect(try await me.send("POST", "/v1/devices", body: try HTTPAPITests.submit([confirm])).status == 201)
        let records = (0..<1_000).map { Self.record("car-s", "vehicle.driving", now.adding(seconds: -2_000 + Int64($0)), km: Double($0) / 8) }
        #expect(try await maker.send("POST", "/v1/telemetry", body: try Self.body(Push(records: records))).status == 201)

        let ndjson = ["Accept": SealedStream.mediaType]
        let first = try await recipient.send("GET", "/v1/consents/\(consentID)/data?limit=600", extraFields: ndjson)
        #expect(first.status == 200)
        #expect(first.contentType == SealedStream.mediaType)
        let page1 = try SealedStream.Reader.open(first.body, recipient: recipientIdentity.boxKey, broker: try broker.brokerKey)
        #expect(page1.records.count == 600)
        let cursor = page1.trailer.nextCursor
        #expect(page1.trailer.hasMore && page1.trailer.positions.count == 600 && page1.trailer.positions.last == cursor)
        let second = try await recipient.send("GET", "/v1/consents/\(consentID)/data?limit=600&after=\(cursor)", extraFields: ndjson)
        let page2 = try SealedStream.Reader.open(second.body, recipient: recipientIdentity.boxKey, broker: try broker.brokerKey)
        #expect(page2.records.count == 400)
        #expect(!page2.trailer.hasMore && page2.trailer.nextCursor == page2.trailer.positions.last)
        #expect((page1.records + page2.records).sorted { $0.time < $1.time } == records, "every record once, none changed")

        let log = try await me.send("GET", "/v1/access-log").decode([String: [AccessLogEntry]].self)["entries"] ?? []
        #expect(Set(log.map(\.digest)) == Set([page1.trailer.digest, page2.trailer.digest].compactMap { $0 }))
        #expect(throws: (any Error).self) {
            try SealedStream.Reader.open(first.body, recipient: try broker.party("fixit-ai").boxKey, broker: try broker.brokerKey)
        }
    }
}

import GRDB

struct ErasureTests {
    @Test("mydata erase revokes every consent and destroys the data key: nothing of the person's telemetry can be read, the ledger verifies")
    func erasure() async throws {
        let broker = try RunningBroker()
        let maker = BrokerHTTPClient(baseURL: broker.baseURL, identity: try broker.party("hanbit-motors"))
        let person = try Identity.generateSubject()
        let me = BrokerHTTPClient(baseURL: broker.baseURL, identity: person)
        let now = Timestamp.now()
        #expect(
            try await me.send(
                "POST", "/v1/subjects", body: try HTTPAPITests.submit([try person.sign(ConsentDrafts.registration(of: person), at: now)])
            ).status == 201)
        let attest = try maker.identity.sign(
            .deviceAttested(DeviceAttested(deviceID: "car-e", manufacturer: "hanbit-motors", subject: person.id)), at: now)
        #expect(try await maker.send("POST", "/v1/devices", body: try HTTPAPITests.submit([attest])).status == 201)
        let push = TransferTests.Push(records: [TransferTests.record("car-e", "vehicle.parts", now, km: 0)])
        #expect(try await maker.send("POST", "/v1/telemetry", body: try TransferTests.body(push)).status == 201)
        let (grantBody, consentID) = try await HTTPAPITests.grantBody(broker, person: person)
        let grant = try JSONDecoder().decode(SubmitBody.self, from: grantBody).events[1]
        #expect(try await me.send("POST", "/v1/consents", body: try JSONEncoder().encode(SubmitBody(events: [grant]))).status == 201)

        let db = try DatabaseQueue(path: broker.dir.file("data/ledger.sqlite").path)
        let wrapped = try #require(
            try await db.read { try Data.fetchOne($0, sql: "SELECT wrapped FROM data_keys WHERE subject = ?", arguments: [person.id]) })

        // The person erases through the CLI, over HTTP.
        let home = TemporaryDirectory("mydata-erase")
        let cli = MydataCLI(dataDir: home.file("none").path, configDir: home.file("config").path)
        var none: [UInt8]? = Array(cli.passphrase.utf8)
        try KeyFile.write(person, to: home.file("config/identity.key"), passphrase: &none)
        let erase = try cli.run(["erase", "--yes"], environment: ["MYDATA_BROKER": broker.baseURL.absoluteString])
        #expect(erase.status == 0, "\(erase.stderr)")

        let consents = try await me.send("GET", "/v1/consents").decode(ConsentList.self)
        #expect(consents.consents.allSatisfy { $0.status == "revoked" })
        #expect(consents.consents.map(\.consent.id) == [consentID])
        let afterPush = try await maker.send("POST", "/v1/telemetry", body: try TransferTests.body(push))
        #expect(try afterPush.decode(TransferTests.PushReply.self).results.first?.code == "subjectErased")
        let pull = try await BrokerHTTPClient(baseURL: broker.baseURL, identity: try broker.party("safedrive-insurance"))
            .send("GET", "/v1/consents/\(consentID)/data")
        #expect(pull.status == 403)

        // Erased is final: no second erasure, no new grant.
        let again = try cli.run(["erase", "--yes"], environment: ["MYDATA_BROKER": broker.baseURL.absoluteString])
        #expect(again.status != 0)
        #expect(again.stderr.contains("already erased"), "\(again.stderr)")
        let regrant = try await me.send("POST", "/v1/consents", body: try JSONEncoder().encode(SubmitBody(events: [grant])))
        #expect(try regrant.decode(Problem.self).code == "subjectErased")

        broker.stop()
        #expect(
            try await db.read { try Data?.fetchOne($0, sql: "SELECT wrapped FROM data_keys WHERE subject = ?", arguments: [person.id]) } == .some(nil)
        )
        for file in ["ledger.sqlite", "ledger.sqlite-wal"] {
            if let bytes = FileManager.default.contents(atPath: broker.dir.file("data/\(file)").path) {
                #expect(bytes.range(of: wrapped) == nil, "the wrapped data key is gone from \(file)")
            }
        }
        #expect(try broker.cli.run(["admin", "verify"]).status == 0, "the ledger still verifies")
    }
}

/// Revocations are pushed to the recipient's callback URL, signed, retried until acknowledged.
struct CallbackTests {
    struct Logged: Decodable { var method: String; var path: String; var headers: [String: String]; var body: String }
    struct Callbacks: Decodable { var callbacks: [RevocationCallback] }

    @Test("a revocation reaches the recipient's callback URL, signed by the broker, retried after a failure, and shows as delivered")
    func revocationCallback() async throws {
        let broker = try RunningBroker()
        let log = broker.dir.file("callbacks.jsonl")
        let portFile = broker.dir.file("receiver.port")
        let receiver = Process()
        receiver.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        receiver.arguments = [
            "python3", Repository.root.appendingPathComponent("Tests/MydataCLITests/Clients/callback_receiver.py").path,
            log.path, portFile.path,
        ]
        receiver.standardOutput = FileHandle.nullDevice
        receiver.standardError = FileHandle.nullDevice
        try ChildProcesses.start(receiver)
        defer { ChildProcesses.stop(receiver) }
        var port: Int?
        for _ in 0..<100 where port == nil {
            try await Task.sleep(nanoseconds: 50_000_000)
            port = (try? String(contentsOf: portFile, encoding: .utf8)).flatMap { Int($0) }
        }
        let receiverPort = try #require(port, "the receiver started")
        #expect(
            try broker.cli.run(["admin", "party", "callback", "safedrive-insurance", "--url", "http://127.0.0.1:\(receiverPort)/mydata/revocations"])
                .status == 0)

        let person = try Identity.generateSubject()
        let me = BrokerHTTPClient(baseURL: broker.baseURL, identity: person)
        let (grantBody, consentID) = try await HTTPAPITests.grantBody(broker, person: person)
        #expect(try await me.send("POST", "/v1/consents", body: grantBody).status == 201)
        let revoke = try person.sign(.consentRevoked(ConsentRevoked(consentID: consentID, subject: person.id)), at: .now())
        #expect(try await me.send("POST", "/v1/consents/\(consentID)/revoke", body: try HTTPAPITests.submit([revoke])).status == 200)

        let recipient = BrokerHTTPClient(baseURL: broker.baseURL, identity: try broker.party("safedrive-insurance"))
        var status: RevocationCallback.Status?
        for _ in 0..<60 where status != .delivered {
            try await Task.sleep(nanoseconds: 250_000_000)
            status = try await recipient.send("GET", "/v1/callbacks").decode(Callbacks.self).callbacks.first?.status
        }
        #expect(status == .delivered, "the notice is delivered after the receiver's first refusal")
        let entries = try String(contentsOf: log, encoding: .utf8).split(separator: "\n").map {
            try JSONDecoder().decode(Logged.self, from: Data($0.utf8))
        }
        #expect(entries.count >= 2, "retried after the first 503")
        let last = try #require(entries.last)
        #expect(last.body.contains(consentID))
        #expect(last.path == "/mydata/revocations")
        let fields = Dictionary(last.headers.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { a, _ in a })
        let signature = try HTTPMessageSignatures.parse(
            signatureInput: try #require(fields["signature-input"]), signature: try #require(fields["signature"]))
        #expect(signature.keyID == "broker")
        try HTTPMessageSignatures.verify(
            signature,
            of: SignedRequest(
                method: "POST", scheme: "http", authority: "127.0.0.1:\(receiverPort)", path: last.path,
                query: nil, fields: fields), key: try broker.brokerKey)
        try HTTPMessageSignatures.checkContentDigest(fields["content-digest"], body: Array(last.body.utf8))
    }
}
