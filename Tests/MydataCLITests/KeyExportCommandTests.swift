import Foundation
import TestSupport
import Testing

/// `mydata key export` and `mydata key import`: the CLI's key carried to another place (the
/// browser reads the same file; DashboardBrowserTests).
struct KeyExportCommandTests {
    @Test("key export then key import elsewhere gives the same id; a wrong passphrase, a short one (in characters) and an existing file are refused")
    func exportThenImport() throws {
        let work = TemporaryDirectory("mydata-key-export")
        let secrets = ["MYDATA_PASSPHRASE": "correct horse battery staple", "MYDATA_EXPORT_PASSPHRASE": "export passphrase 1"]
        let home = MydataCLI(dataDir: work.file("none").path, configDir: work.file("home").path)
        #expect(try home.run(["key", "init"], environment: secrets).status == 0)
        let id = try #require(try home.run(["key", "show", "--json"]).json() as? [String: Any])["subject"] as? String
        let file = work.file("export.json")
        let short = try home.run(["key", "export", "--out", file.path], environment: secrets.merging(["MYDATA_EXPORT_PASSPHRASE": "short"]) { $1 })
        #expect(short.status != 0 && short.stderr.contains("at least 12 characters"), "\(short.stderr)")
        #expect(!FileManager.default.fileExists(atPath: file.path), "nothing written")
        // Eleven Korean syllables are 33 bytes but one character short.
        let elevenCharacters = try home.run(
            ["key", "export", "--out", file.path], environment: secrets.merging(["MYDATA_EXPORT_PASSPHRASE": "가나다라마바사아자차카"]) { $1 })
        #expect(elevenCharacters.status != 0 && elevenCharacters.stderr.contains("at least 12 characters"), "\(elevenCharacters.stderr)")
        #expect(!FileManager.default.fileExists(atPath: file.path), "nothing written")
        let exported = try home.run(["key", "export", "--out", file.path], environment: secrets)
        #expect(exported.status == 0, "\(exported.stderr)")
        let attributes = try FileManager.default.attributesOfItem(atPath: file.path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600, "the export is private to its owner")
        let again = try home.run(["key", "export", "--out", file.path], environment: secrets)
        #expect(again.status != 0 && again.stderr.contains("exists"), "an export is never overwritten")

        let away = MydataCLI(dataDir: work.file("none").path, configDir: work.file("away").path)
        let wrong = try away.run(
            ["key", "import", file.path], environment: secrets.merging(["MYDATA_EXPORT_PASSPHRASE": "export passphrase 2"]) { $1 })
        #expect(wrong.status != 0 && wrong.stderr.contains("passphrase does not open"), "\(wrong.stderr)")
        let imported = try away.run(["key", "import", file.path], environment: secrets)
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(try #require(try away.run(["key", "show", "--json"]).json() as? [String: Any])["subject"] as? String == id)
        let twice = try away.run(["key", "import", file.path], environment: secrets)
        #expect(twice.status != 0 && twice.stderr.contains("--force"), "an existing key file is not replaced unasked")
    }
}
