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
