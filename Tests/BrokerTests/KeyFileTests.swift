import Broker
import Consent
import Foundation
import Sodium
import TestSupport
import Testing

struct KeyFileTests {
    @Test("a passphrase-protected key file opens with the passphrase only, and is private to its owner")
    func protectedRoundTrip() throws {
        let dir = TemporaryDirectory()
        let url = dir.file("identity.key")
        let identity = try Identity.generateSubject()
        var pass: [UInt8]? = Array("correct horse".utf8)
        try KeyFile.write(identity, to: url, passphrase: &pass)
        #expect(pass?.allSatisfy { $0 == 0 } == true, "the passphrase is zeroed after use")
        let attributes = try FileManager.default.attributesOfItem(atPath: url.path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect(try KeyFile.isProtected(url))
        let text = try String(contentsOf: url, encoding: .utf8)
        #expect(!text.contains(Base64.encode(identity.signingKey.exportSeed())), "the seed is not stored in the clear")
        let restored = try KeyFile.read(url) { Array("correct horse".utf8) }
        #expect(restored.id == identity.id)
        #expect(restored.publicKeys == identity.publicKeys)
        #expect(throws: KeyFileError.self) { try KeyFile.read(url) { Array("wrong horse".utf8) } }
        #expect(try KeyFile.publicKeys(url).id == identity.id, "the id is readable without the passphrase")
    }

    @Test("a key export opens with its passphrase into the same signing key, and refuses another passphrase or a changed header")
    func exportRoundTrip() throws {
        let identity = try Identity.generateSubject()
        var passphrase = Array("export passphrase 1".utf8)
        let export = try KeyExport.make(identity, passphrase: &passphrase, iterations: KeyExport.iterationsRange.lowerBound)
        #expect(passphrase.allSatisfy { $0 == 0 }, "the passphrase is zeroed after use")
        #expect(export.format == "mydata-key-export-v1" && export.kdf.name == "PBKDF2-HMAC-SHA256" && export.cipher.name == "AES-256-GCM")
        let data = try JSONEncoder().encode(export)
        #expect(!String(decoding: data, as: UTF8.self).contains(Base64.encode(identity.signingKey.exportSeed())))
        var again = Array("export passphrase 1".utf8)
        let opened = try KeyExport.open(data, passphrase: &again)
        #expect(opened.id == identity.id && opened.publicKeys.signingKey == identity.publicKeys.signingKey)
        #expect(opened.signingKey.sign([1, 2, 3]) == identity.signingKey.sign([1, 2, 3]))
        var wrong = Array("export passphrase 2".utf8)
        #expect(throws: KeyFileError.self) { try KeyExport.open(data, passphrase: &wrong) }
        // A header field changed (another person's id and key): the tag covers it.
        let other = try Identity.generateSubject()
        var swapped = export
        swapped.id = other.id
        swapped.publicKey = other.publicKeys.signingKey
        var pass = Array("export passphrase 1".utf8)
        #expect(throws: KeyFileError.self) { try KeyExport.open(try JSONEncoder().encode(swapped), passphrase: &pass) }
        // Rounds outside the bounds are refused before any work.
        var costly = export
        costly.kdf.iterations = KeyExport.iterationsRange.upperBound + 1
        var pass2 = Array("export passphrase 1".utf8)
        #expect(throws: KeyFileError.self) { try KeyExport.open(try JSONEncoder().encode(costly), passphrase: &pass2) }
    }

    @Test("a key file whose public keys were swapped is refused")
    func swappedPublicKey() throws {
        let dir = TemporaryDirectory()
        let url = dir.file("party.key")
        var none: [UInt8]? = nil
        try KeyFile.write(try Identity.generate(id: "safedrive"), to: url, passphrase: &none)
        let other = try Identity.generate(id: "safedrive").publicKeys.signingKey
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        json["signingKey"] = other
        try JSONSerialization.data(withJSONObject: json).write(to: url)
        #expect(throws: KeyFileError.self) { try KeyFile.read(url) { [] } }
    }
}

struct CheckpointerTests {
    @Test("the broker checkpoints after enough events, after enough time, and when it closes")
    func checkpointCadence() async throws {
        let f = try await BrokerFixture()
        let initial = try await f.store.checkpoints().count
        try await f.broker.close()
        let afterClose = try await f.store.checkpoints()
        #expect(afterClose.count == initial + 1)
        #expect(afterClose.last?.sequence == (try await f.store.head().sequence))
        try await f.broker.close()
        #expect(try await f.store.checkpoints().count == afterClose.count, "nothing new, no new checkpoint")
        f.clock.advance(seconds: 11)
        _ = try await f.person()
        #expect(try await f.store.checkpoints().last?.sequence == (try await f.store.head().sequence), "due by time")
    }
}

/// What a key file may ask of the machine is bounded: Argon2id's cost and the file's size.
struct KeyFileLimitTests {
    /// A protected key file whose KDF parameters were changed to `ops` passes and `memory` bytes.
    private func keyFile(ops: UInt64, memory: UInt64, in dir: TemporaryDirectory) throws -> URL {
        let url = dir.file("identity.key")
        var pass: [UInt8]? = Array("pass".utf8)
        try KeyFile.write(try Identity.generateSubject(), to: url, passphrase: &pass)
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        var kdf = json["kdf"] as! [String: Any]
        kdf["opsLimit"] = ops
        kdf["memLimit"] = memory
        json["kdf"] = kdf
        try JSONSerialization.data(withJSONObject: json).write(to: url)
        return url
    }

    @Test(
        "a key file asking for more Argon2id passes or memory than the limit is refused before the passphrase is asked",
        arguments: [
            (InputLimits.kdfOpsLimitMax + 1, UInt64(65_536 * 1024)), (UInt64(UInt32.max), UInt64(65_536 * 1024)),
            (UInt64(2), InputLimits.kdfMemoryBytesMax + 1), (UInt64(2), UInt64.max), (UInt64(0), UInt64(65_536 * 1024)),
        ])
    func costPastTheLimit(ops: UInt64, memory: UInt64) throws {
        let dir = TemporaryDirectory()
        let url = try keyFile(ops: ops, memory: memory, in: dir)
        var asked = false
        do {
            _ = try KeyFile.read(url) {
                asked = true; return Array("pass".utf8)
            }
            Issue.record("the key file was accepted")
        } catch let error as KeyFileError {
            #expect(error.message.contains("asks Argon2id for"), "\(error)")
        }
        #expect(!asked, "refused before the passphrase is asked")
    }

    @Test("a key file at the largest Argon2id passes the limit allows still opens (its cost is checked, not its result)")
    func costAtTheLimit() throws {
        let dir = TemporaryDirectory()
        let url = try keyFile(ops: InputLimits.kdfOpsLimitMax, memory: 65_536 * 1024, in: dir)
        // The parameters are bound into the ciphertext only through the derived key: a changed cost
        // derives another key, so the passphrase no longer opens it, but Argon2id ran at that cost.
        #expect(throws: KeyFileError.self) { try KeyFile.read(url) { Array("pass".utf8) } }
        let memoryURL = try keyFile(ops: 1, memory: InputLimits.kdfMemoryBytesMax, in: dir)
        do {
            _ = try KeyFile.read(memoryURL) { Array("pass".utf8) }
        } catch let error as KeyFileError {
            #expect(error.message.contains("wrong passphrase"), "ran Argon2id at the limit, then failed to open: \(error)")
        }
    }

    @Test("a key file is read up to its byte limit and refused one byte past it")
    func fileSize() throws {
        let dir = TemporaryDirectory()
        let url = dir.file("big.key")
        try Data(repeating: 0x20, count: InputLimits.keyFileBytesMax + 1).write(to: url)
        do {
            _ = try KeyFile.publicKeys(url)
            Issue.record("accepted")
        } catch let error as KeyFileError {
            #expect(error.message.contains("larger than"), "\(error)")
        }
        try Data(repeating: 0x20, count: InputLimits.keyFileBytesMax).write(to: url)
        do {
            _ = try KeyFile.publicKeys(url)
            Issue.record("accepted")
        } catch let error as KeyFileError {
            #expect(error.message.contains("is not a"), "read whole, then refused as not a key file: \(error)")
        }
    }
}
