import Broker
import BrokerServer
import Consent
import Foundation
import MyDataWire
import Ledger
import Sodium

/// The seed corpus under `Tests/Fuzz/corpus/`: real examples of each input, made by the product's
/// own writers with the fixed keys (`mydata-fuzz seeds Tests/Fuzz/corpus` writes them again; sealed
/// seeds differ on each run, their nonces being random).
public enum FuzzSeeds {
    /// The repository, found from this source file.
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Writes every target's seeds to `directory/<target>/<name>`.
    public static func write(to directory: URL) throws {
        for (target, seeds) in try all() {
            let folder = directory.appendingPathComponent(target.rawValue)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            for (name, bytes) in seeds { try Data(bytes).write(to: folder.appendingPathComponent(name)) }
        }
    }

    /// Each target's seeds, by file name.
    static func all() throws -> [(FuzzTarget, [(String, [UInt8])])] {
        [
            (.envelope, try envelope()), (.payload, try payload()), (.policy, policy()), (.signature, try signature()),
            (.digest, digest()), (.telemetry, try telemetry(ndjson: false)), (.ndjson, try telemetry(ndjson: true)),
            (.receipt, try receipt()), (.checkpoint, try checkpoint()), (.keyfile, try keyFile()),
            (.sealedpage, try sealedPage()), (.sealedstream, try sealedStream()), (.logproof, try logProof()),
            (.analysisquery, analysisQuery()),
        ]
    }

    static let terms = ConsentTerms(
        category: "vehicle", items: ["vehicle.driving"], purpose: "usage-based-insurance",
        dataFrom: FuzzKeys.now.adding(days: -30), dataTo: FuzzKeys.now.adding(days: 180), durationDays: 180,
        onceOff: false, retentionDays: 30, incentiveKRW: 1_000)

    static func grant() -> ConsentGranted {
        let person = FuzzKeys.person
        return ConsentGranted(
            consentID: Identifiers.consentID(requestID: "req_fuzz", subject: person.id), requestID: "req_fuzz",
            requestHash: String(repeating: "cd", count: 32), subject: person.id, recipient: FuzzKeys.recipient.id,
            terms: terms, grantedAt: FuzzKeys.now, expiresAt: ConsentRules.expiry(of: terms, grantedAt: FuzzKeys.now),
            policyVersion: "2026.11.1", policyHash: String(repeating: "ab", count: 32), sensitiveConfirmed: false)
    }

    static func json(_ value: some Encodable, pretty: Bool = false) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(value))
    }

    static func envelope() throws -> [(String, [UInt8])] {
        let person = FuzzKeys.person, now = FuzzKeys.now
        let registration = try person.sign(
            .subjectRegistered(SubjectRegistered(subjectID: person.id, signingKey: person.publicKeys.signingKey)), at: now)
        let granted = try person.sign(.consentGranted(grant()), at: now)
        let revoked = try person.sign(.consentRevoked(ConsentRevoked(consentID: grant().consentID, subject: person.id)), at: now)
        let requested = try FuzzKeys.recipient.sign(
            .consentRequested(
                ConsentRequested(
                    requestID: "req_fuzz", recipient: FuzzKeys.recipient.id, subject: nil, terms: terms, offerExpiresAt: now.adding(days: 30),
                    policyVersion: "2026.11.1")), at: now)
        let attested = try FuzzKeys.recipient.sign(
            .deviceAttested(
                DeviceAttested(
                    deviceID: "car-1", manufacturer: FuzzKeys.recipient.id,
                    subject: person.id)), at: now)
        return [
            ("register-and-grant.json", try json(SubmitBody(events: [WireEvent(registration), WireEvent(granted)]))),
            ("revoke.json", try json(SubmitBody(events: [WireEvent(revoked)]))),
            ("request.json", try json(SubmitBody(events: [WireEvent(requested)]))),
            ("attest.json", try json(SubmitBody(events: [WireEvent(attested)]))),
        ]
    }

    /// The golden fixtures of every shipped event version (Tests/ConsentTests/Fixtures).
    static func payload() throws -> [(String, [UInt8])] {
        let fixtures = repository.appendingPathComponent("Tests/ConsentTests/Fixtures")
        return try FileManager.default.contentsOfDirectory(atPath: fixtures.path).filter { $0.hasSuffix(".json") }.sorted().map { name in
            // `consent.granted.v1.json`: the type, then the version.
            let parts = name.dropLast(".json".count).split(separator: ".")
            let type = parts.dropLast().joined(separator: "."), version = UInt16(parts.last?.dropFirst() ?? "") ?? 1
            let bytes = [UInt8](try Data(contentsOf: fixtures.appendingPathComponent(name)))
            return (name, FuzzTarget.payloadInput(type: type, version: version, payload: bytes))
        }
    }

    static func policy() -> [(String, [UInt8])] {
        FuzzPolicy.files.map { name, text in (name.replacingOccurrences(of: "/", with: "-"), FuzzTarget.policyInput(file: name, text: text)) }
    }

    static func analysisQuery() -> [(String, [UInt8])] {
        [
            (
                "bins-mean.json",
                Array(
                    #"{"epsilon":1,"from":0,"groupBy":[{"bins":[0,1,2,4],"field":"consumption"}],"items":["energy.household"],"measures":[{"kind":"persons"},{"field":"consumption","kind":"mean","lower":0,"upper":4}],"requestID":"req","to":1767225600000}"#
                        .utf8)
            ),
            (
                "filters-categories.json",
                Array(
                    #"{"epsilon":0.5,"filters":[{"field":"consumption","max":50,"min":0}],"from":0,"groupBy":[{"categories":["tv","fridge"],"field":"device_type"},{"categories":["energy.device"],"field":"item"}],"items":["energy.device"],"measures":[{"kind":"records"},{"field":"consumption","kind":"sum","lower":0,"upper":5}],"requestID":"req","to":1767225600000}"#
                        .utf8)
            ),
        ]
    }

    static func signature() throws -> [(String, [UInt8])] {
        let request = FuzzTarget.signedRequest
        let (input, sig) = try HTTPMessageSignatures.sign(
            request, covered: ["@method", "@target-uri", "content-digest"], keyID: FuzzKeys.person.id,
            key: FuzzTarget.rfcKey, created: FuzzKeys.now.milliseconds / 1000, nonce: "n-1")
        let (split, splitSig) = try HTTPMessageSignatures.sign(
            request, covered: ["@method", "@authority", "@path", "@query", "@scheme", "@request-target"],
            keyID: "safedrive", key: FuzzTarget.rfcKey, created: FuzzKeys.now.milliseconds / 1000,
            nonce: "n-2", label: "b")
        return [
            // RFC 9421 Appendix B.2.6.
            (
                "rfc9421-b26.txt",
                FuzzTarget.signatureInput(
                    signatureInput:
                        #"sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519""#,
                    signature: "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:")
            ),
            ("target-uri.txt", FuzzTarget.signatureInput(signatureInput: input, signature: sig)),
            ("split-components.txt", FuzzTarget.signatureInput(signatureInput: split, signature: splitSig)),
        ]
    }

    static func digest() -> [(String, [UInt8])] {
        let body = Array(#"{"hello": "world"}"#.utf8)
        return [
            // RFC 9530's example.
            (
                "rfc9530-sha512.txt",
                FuzzTarget.digestInput(
                    field: "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:", body: body)
            ),
            ("sha256.txt", FuzzTarget.digestInput(field: HTTPMessageSignatures.contentDigest(body), body: body)),
            (
                "both.txt",
                FuzzTarget.digestInput(
                    field: HTTPMessageSignatures.contentDigest(body) + ", sha-512=:" + Base64.encode(SHA2.sha512(body)) + ":, md5=:AAAA:", body: body)
            ),
        ]
    }

    static let records = [
        TelemetryRecord(
            device: "car-1", item: "vehicle.driving", time: FuzzKeys.now.adding(seconds: -600),
            values: ["distance": .number(12.5), "duration": .integer(600), "average_speed": .number(42.5), "harsh_braking_events": .integer(1)]),
        TelemetryRecord(
            device: "car-1", item: "vehicle.parts", time: FuzzKeys.now.adding(seconds: -60),
            values: ["part": .string("brake-pad-zq81"), "wear": .number(0.3), "replaced_at": .integer(1_790_000_000_000)]),
        TelemetryRecord(
            device: "car-2", item: "vehicle.context", time: FuzzKeys.now, values: ["weather": .string("rain"), "congestion_level": .integer(3)]),
    ]

    static func telemetry(ndjson: Bool) throws -> [(String, [UInt8])] {
        let lines = try records.map { try json($0) }
        let bad = Array(#"{"device":"car-3","item":"vehicle.driving","time":"yesterday","values":{}}"#.utf8)
        if ndjson {
            return [
                ("records.ndjson", Array((lines + [bad]).joined(separator: [10]))),
                ("crlf.ndjson", Array(lines.joined(separator: Array("\r\n".utf8))) + Array("\r\n \n".utf8)),
            ]
        }
        let body = Array(#"{"records":["#.utf8) + Array((lines + [bad]).joined(separator: [UInt8(ascii: ",")])) + Array("]}".utf8)
        return [("records.json", body), ("pretty.json", try json(["records": records], pretty: true))]
    }

    /// A receipt as `BrokerService.receipt` writes it, for a grant the fixed person signed, with
    /// a checkpoint at the grant, signed by the fixed broker key.
    static func receipt() throws -> [(String, [UInt8])] {
        let person = FuzzKeys.person, broker = FuzzKeys.broker, now = FuzzKeys.now
        let g = grant()
        let event = try person.sign(.consentGranted(g), at: now)
        let recorded = RecordedEvent.chained(event, after: .genesis)
        let cp = Checkpoint.sign(head: recorded.head, time: now, with: broker.signingKey)
        func receipt(checkpoint: Bool) -> [String: Any] {
            var evidence: [String: Any] = [
                "ledgerSequence": recorded.sequence, "eventHash": Hex.encode(recorded.hash), "streamID": event.streamID, "eventType": event.type,
                "schemaVersion": Int(event.schemaVersion), "eventTime": event.time.milliseconds, "payload": Base64.encode(event.payload),
                "subjectKey": person.publicKeys.signingKey, "subjectSignature": Base64.encode(event.signature),
            ]
            if checkpoint {
                evidence["checkpoint"] =
                    [
                        "sequence": cp.sequence, "headHash": Hex.encode(cp.headHash), "time": cp.time.milliseconds,
                        "signature": Base64.encode(cp.signature),
                    ] as [String: Any]
            }
            return [
                "schemaVersion": ConsentReceipt.schema, "recordID": g.consentID, "piiPrincipalID": person.id,
                "piiController": ["id": g.recipient, "name": "SafeDrive Insurance"], "piiProcessor": ["id": broker.id, "name": "MyData broker"],
                "purposes": [["id": g.terms.purpose, "title": "Usage-based insurance"]], "dataCategory": g.terms.category,
                "dataItems": g.terms.items, "sensitive": g.sensitiveConfirmed, "legalBasis": "consent", "consentType": "explicit",
                "collectionMethod": "signed by the person's own Ed25519 key", "grantedAt": g.grantedAt.description,
                "expiresAt": g.expiresAt.description, "dataFrom": g.terms.dataFrom.description, "dataTo": g.terms.dataTo.description,
                "retentionDays": g.terms.retentionDays, "onceOff": g.terms.onceOff, "incentiveKRW": g.terms.incentiveKRW,
                "policyVersion": g.policyVersion, "policyHash": g.policyHash, "requestID": g.requestID, "requestHash": g.requestHash,
                "status": "active", "statusAt": now.description, "evidence": evidence,
            ]
        }
        return try [("with-checkpoint.json", true), ("without-checkpoint.json", false)].map { name, withCheckpoint in
            let data = try JSONSerialization.data(withJSONObject: receipt(checkpoint: withCheckpoint))
            let r = try JSONDecoder().decode(ConsentReceipt.self, from: data)
            let value = broker.signingKey.sign(try SignedReceipt.signedBytes(r))
            let signed = SignedReceipt(
                receipt: r,
                signature: .init(
                    algorithm: "Ed25519", keyID: broker.id,
                    publicKey: broker.publicKeys.signingKey, value: Base64.encode(value.bytes)))
            _ = try ReceiptVerifier.verify(try signed.json(), brokerKey: broker.signingKey.verifyingKey)
            return (name, Array(try signed.json()))
        }
    }

    /// A delivery's proof as `mydata access-log --proofs` writes one (a log of 300 entries, the
    /// extra line a delivery event), and one with witnesses' cosignatures and no extra line.
    static func logProof() throws -> [(String, [UInt8])] {
        let leaves = (0..<300).map { MerkleTree.leafHash(SHA2.sha256(Array("fuzz \($0)".utf8))) }
        let origin = LogOrigin.derived(from: FuzzKeys.broker.signingKey.verifyingKey)
        var out: [(String, [UInt8])] = []
        for (name, index, cosigned) in [("delivery.tlog-proof", UInt64(257), false), ("cosigned.tlog-proof", UInt64(3), true)] {
            let proof = try FuzzTarget.proofOver(leaves, index: index, origin: origin, cosigned: cosigned)
            out.append((name, Array(proof.encoded.utf8)))
        }
        return out
    }

    /// As `mydata admin checkpoint` writes one.
    static func checkpoint() throws -> [(String, [UInt8])] {
        let head = ChainHead(sequence: 4_096, hash: BLAKE2b.hash256(Array("fuzz".utf8)))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return [
            (
                "checkpoint.json",
                Array(
                    try encoder.encode(
                        CheckpointFile(
                            Checkpoint.sign(
                                head: head, time: FuzzKeys.now,
                                with: FuzzKeys.broker.signingKey))))
            )
        ]
    }

    /// Key files as `mydata key init` writes them, plain and sealed (at libsodium's least cost).
    /// Named `.json`: `*.key` is git-ignored.
    static func keyFile() throws -> [(String, [UInt8])] {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("mydata-fuzz-seeds-\(getpid())")
        defer { try? FileManager.default.removeItem(at: folder) }
        var out: [(String, [UInt8])] = []
        for (name, sealed) in [("plain.json", false), ("sealed.json", true)] {
            let url = folder.appendingPathComponent(name)
            var passphrase: [UInt8]? = sealed ? FuzzTarget.keyFilePassphrase : nil
            try KeyFile.write(
                FuzzKeys.person, to: url, passphrase: &passphrase,
                cost: Argon2id.Cost(opsLimit: 1, memLimit: Argon2id.memoryBytesMin))
            out.append((name, [UInt8](try Data(contentsOf: url))))
        }
        return out
    }

    static func delivery() throws -> TransferService.CanonicalDelivery {
        let canonical = try records.map { try CanonicalJSON.encode($0) }
        return TransferService.CanonicalDelivery(
            deliveryID: "dlv_0123456789abcdef", consentID: grant().consentID, after: RecordCursor(batchSequence: 7, recordID: 38),
            records: canonical, positions: (0..<canonical.count).map { RecordCursor(batchSequence: 7, recordID: Int64(39 + $0)) },
            nextCursor: RecordCursor(batchSequence: 7, recordID: 42), hasMore: true, replayed: false,
            digest: TransferService.digest(ofCanonical: canonical), ledgerSequence: 9)
    }

    static func sealedPage() throws -> [(String, [UInt8])] {
        let page = TransferService.deliveryJSON(try delivery())
        var last = try delivery()
        last.records = []; last.positions = []; last.after = last.nextCursor; last.hasMore = false
        last.deliveryID = nil; last.digest = nil; last.ledgerSequence = nil
        return [
            ("sealed.bin", try SealedBox.seal(page, to: FuzzKeys.recipient.boxKey.publicKey)),
            ("opened.json", page), ("opened-empty.json", TransferService.deliveryJSON(last)),
        ]
    }

    /// A stream as a pull writes it; and chunk plaintexts for the target's second reading.
    static func sealedStream() throws -> [(String, [UInt8])] {
        let d = try delivery()
        let writer = try SealedStream.Writer(
            consentID: d.consentID, recipient: FuzzKeys.recipient.boxKey.publicKey,
            broker: FuzzKeys.broker.signingKey)
        let trailer = SealedStream.Trailer(d)
        var body = writer.opening
        body += try writer.chunk(canonical: d.records[0..<2])
        body += try writer.chunk(canonical: d.records[2...])
        body += try writer.finish(trailer)
        _ = try SealedStream.Reader.open(body, recipient: FuzzKeys.recipient.boxKey, broker: FuzzKeys.broker.signingKey.verifyingKey)
        var plainTrailer = trailer
        plainTrailer.consentID = FuzzStream.consentID
        let chunks = [Array(d.records[0..<2].joined(separator: [10])) + [10], d.records[2] + [10], try json(plainTrailer)]
        let plain = Array(chunks.joined(separator: [FuzzStream.chunkSeparator]))
        _ = try SealedStream.Reader.open(
            try FuzzStream.body(messages: chunks), recipient: FuzzKeys.recipient.boxKey,
            broker: FuzzKeys.broker.signingKey.verifyingKey)
        return [("stream.ndjson", Array(body)), ("chunks.bin", plain)]
    }
}
