import Broker
import Foundation
import TestSupport
import Testing

/// Small files written whole: replaced (`write`) or made only where nothing is (`create`).
struct DurableFileTests {
    @Test("create writes a private file where none is, and refuses one that is there, leaving it as it was")
    func createIsExclusive() throws {
        let work = TemporaryDirectory("mydata-durable-file")
        let url = work.file("export.json")
        try DurableFile.create(Data("first".utf8), at: url)
        #expect(try Data(contentsOf: url) == Data("first".utf8))
        let attributes = try FileManager.default.attributesOfItem(atPath: url.path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect(throws: POSIXError(.EEXIST)) { try DurableFile.create(Data("second".utf8), at: url) }
        #expect(try Data(contentsOf: url) == Data("first".utf8), "the file that was there is untouched")
        #expect(try FileManager.default.contentsOfDirectory(atPath: work.url.path) == ["export.json"], "no temporary file is left")
        try DurableFile.write(Data("second".utf8), to: url)
        #expect(try Data(contentsOf: url) == Data("second".utf8), "write replaces")
    }

    @Test("a file beside it with the name a temporary file once had is left as it is (temporary files are new, of random names)")
    func temporaryNamesAreOwnOnly() throws {
        let work = TemporaryDirectory("mydata-durable-file")
        let url = work.file("export.json")
        try Data("keep".utf8).write(to: work.file("export.json.tmp"))
        try DurableFile.create(Data("sealed".utf8), at: url)
        try DurableFile.write(Data("sealed".utf8), to: url)
        #expect(try Data(contentsOf: work.file("export.json.tmp")) == Data("keep".utf8))
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: work.url.path)) == ["export.json", "export.json.tmp"])
        let attributes = try FileManager.default.attributesOfItem(atPath: url.path)
        #expect(attributes[.type] as? FileAttributeType == .typeRegular && (attributes[.posixPermissions] as? Int) == 0o600)
    }
}
