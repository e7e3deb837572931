import Sodium
import Testing

struct SecretStreamTests {
    func sealed(_ messages: [String], key: SymmetricKey) throws -> (header: [UInt8], chunks: [[UInt8]]) {
        let writer = try SecretStream.Writer(key: key)
        let chunks = try messages.enumerated().map { i, m in try writer.seal(Array(m.utf8), final: i == messages.count - 1) }
        return (writer.header, chunks)
    }

    @Test("a stream opens message by message in order and marks its final message")
    func roundTrip() throws {
        let key = try SecretStream.generateKey()
        let (header, chunks) = try sealed(["one", "two", "three"], key: key)
        let reader = try SecretStream.Reader(key: key, header: header)
        #expect(try chunks.map { String(decoding: try reader.open($0).message, as: UTF8.self) } == ["one", "two", "three"])
        #expect(reader.finished)
    }

    @Test("a changed, reordered or extra message is refused, and a cut-off stream never reads as finished")
    func tampering() throws {
        let key = try SecretStream.generateKey()
        let (header, chunks) = try sealed(["one", "two", "three"], key: key)

        var changed = chunks[0]
        changed[changed.count - 1] ^= 1
        #expect(throws: SodiumError.self) { try SecretStream.Reader(key: key, header: header).open(changed) }

        let reordered = try SecretStream.Reader(key: key, header: header)
        #expect(throws: SodiumError.self) { try reordered.open(chunks[1]) }

        let cut = try SecretStream.Reader(key: key, header: header)
        _ = try cut.open(chunks[0])
        _ = try cut.open(chunks[1])
        #expect(!cut.finished)

        let extra = try SecretStream.Reader(key: key, header: header)
        for chunk in chunks { _ = try extra.open(chunk) }
        #expect(throws: SodiumError.self) { try extra.open(chunks[2]) }

        #expect(throws: SodiumError.self) { try SecretStream.Reader(key: try SecretStream.generateKey(), header: header).open(chunks[0]) }
    }
}
