import Broker
import Foundation
import TestSupport
import Testing

/// Policy problems are one line with file:line, also for duplicates across files and for YAML the
/// parser refuses, and no policy text can make the loader do unbounded work.
struct PolicyInputLimitTests {
    /// A copy of the shipped policies with `edit` applied; the load's error.
    private func loadError(_ edit: (URL) throws -> Void) throws -> PolicyError {
        let dir = TemporaryDirectory("policies")
        try FileManager.default.removeItem(at: dir.url)
        try FileManager.default.copyItem(at: Repository.policies, to: dir.url)
        try edit(dir.url)
        do {
            _ = try PolicyLoader.load(directory: dir.url)
        } catch let error as PolicyError {
            #expect(!error.description.contains("\n"), "one line: \(error)")
            return error
        }
        throw LoadedAnyway()
    }

    private struct LoadedAnyway: Error {}

    /// A copy of the shipped policies with `edit` applied, loaded.
    private func load(_ edit: (URL) throws -> Void) throws {
        let dir = TemporaryDirectory("policies")
        try FileManager.default.removeItem(at: dir.url)
        try FileManager.default.copyItem(at: Repository.policies, to: dir.url)
        try edit(dir.url)
        _ = try PolicyLoader.load(directory: dir.url)
    }

    private func write(_ text: String, _ name: String, in dir: URL) throws {
        try text.write(to: dir.appendingPathComponent(name), atomically: true, encoding: .utf8)
    }

    private func category(_ id: String, item: String, extra: String = "") -> String {
        """
        category: \(id)
        title: T
        sensitive: false
        maxConsentDays: 30
        items:
          - id: \(item)
            title: I
            updateFrequency: daily
            fields:
              - { name: a, type: number }
        \(extra)
        """
    }

    @Test("a category defined in two files names both files and lines")
    func categoryInTwoFiles() throws {
        let error = try loadError { dir in
            try write(category("energy", item: "energy.other"), "categories/zz-energy.yaml", in: dir)
        }
        #expect(error.file == "categories/zz-energy.yaml")
        #expect(error.line == 1)
        #expect(error.message.contains("categories/energy.yaml:2"), "\(error)")
    }

    @Test("an item defined twice names both places")
    func itemTwice() throws {
        let error = try loadError { dir in
            try write(category("zz", item: "zz.one"), "categories/zz.yaml", in: dir)
            try write(
                category("zz", item: "zz.one").replacingOccurrences(of: "category: zz", with: "category: zz2")
                    .replacingOccurrences(of: "id: zz.one", with: "id: zz2.one"), "categories/zz2.yaml", in: dir)
            let energy = dir.appendingPathComponent("categories/energy.yaml")
            let text = try String(contentsOf: energy, encoding: .utf8)
            try text.replacingOccurrences(of: "  - id: energy.device", with: "  - id: energy.household").write(
                to: energy, atomically: true, encoding: .utf8)
        }
        #expect(error.file == "categories/energy.yaml")
        #expect(error.line == 20)
        #expect(error.message.contains("energy.household") && error.message.contains("categories/energy.yaml:7"), "\(error)")
    }

    @Test("a key twice in one mapping is one line with file and line")
    func duplicateKey() throws {
        let error = try loadError { dir in
            try write(category("zz", item: "zz.one").replacingOccurrences(of: "title: T", with: "title: T\ntitle: U"), "categories/zz.yaml", in: dir)
        }
        #expect(error.file == "categories/zz.yaml")
        #expect(error.line != nil)
        #expect(error.message.contains("'title'"), "\(error)")
    }

    @Test("a YAML syntax error is one line with file and line")
    func syntaxError() throws {
        let error = try loadError { dir in
            try write(
                category("zz", item: "zz.one").replacingOccurrences(of: "sensitive: false", with: "sensitive: [false"), "categories/zz.yaml", in: dir)
        }
        #expect(error.file == "categories/zz.yaml")
        #expect(error.line != nil)
        #expect(error.message.hasPrefix("not valid YAML"), "\(error)")
    }

    /// `depth` levels of nesting in one value, in flow or block style.
    private func nested(_ depth: Int, flow: Bool) -> String {
        if flow { return "deep: " + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) }
        return "deep:\n" + (1...depth).map { String(repeating: "  ", count: $0) + "k\($0):" }.joined(separator: "\n") + " x"
    }

    @Test("nesting is accepted at the limit and refused one past it, before the parser recurses", arguments: [true, false])
    func depthLimit(flow: Bool) throws {
        // The root mapping is one level, `deep:` holds the rest.
        let atLimit = InputLimits.yamlDepthMax - 1
        try load { dir in
            try write(category("zz", item: "zz.one", extra: nested(atLimit, flow: flow)), "categories/zz.yaml", in: dir)
        }
        let refused = try loadError { dir in
            try write(category("zz", item: "zz.one", extra: nested(atLimit + 1, flow: flow)), "categories/zz.yaml", in: dir)
        }
        #expect(refused.file == "categories/zz.yaml")
        #expect(refused.message.contains("nested more than \(InputLimits.yamlDepthMax)"), "\(refused)")
        let megabyte = try loadError { dir in
            try write("deep: " + String(repeating: "[", count: 900_000), "categories/zz.yaml", in: dir)
        }
        #expect(megabyte.message.contains("nested more than"), "\(megabyte)")
        let dashes = try loadError { dir in
            try write("deep:\n  " + String(repeating: "- ", count: 400_000) + "x", "categories/zz.yaml", in: dir)
        }
        #expect(dashes.message.contains("nested more than"), "\(dashes)")
    }

    @Test("a quote inside a plain value does not hide the brackets after it", arguments: ["don't", "say\"hi"])
    func quoteInsidePlainValue(word: String) throws {
        let error = try loadError { dir in
            try write("deep: [\(word), " + String(repeating: "[", count: 40) + String(repeating: "]", count: 41), "categories/zz.yaml", in: dir)
        }
        #expect(error.message.contains("nested more than"), "\(error)")
    }

    @Test("aliases that repeat aliases are counted and refused past the node limit")
    func aliasBomb() throws {
        var lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
        for i in 1...9 { lines.append("a\(i): &a\(i) [" + Array(repeating: "*a\(i - 1)", count: 10).joined(separator: ", ") + "]") }
        let error = try loadError { dir in
            try write(category("zz", item: "zz.one", extra: lines.joined(separator: "\n")), "categories/zz.yaml", in: dir)
        }
        #expect(error.file == "categories/zz.yaml")
        #expect(error.message.contains("more than \(InputLimits.yamlNodesMax) values"), "\(error)")
    }

    @Test("a policy file is read up to its byte limit and refused one byte past it")
    func fileSize() throws {
        let refused = try loadError { dir in
            let text = "version: \"1\"\n#"
            try write(text + String(repeating: "x", count: InputLimits.policyFileBytesMax - text.utf8.count + 1), "policy.yaml", in: dir)
        }
        #expect(refused.file == "policy.yaml" && refused.message.contains("larger than"), "\(refused)")
        try load { dir in
            let text = "version: \"1\"\n#"
            try write(text + String(repeating: "x", count: InputLimits.policyFileBytesMax - text.utf8.count), "policy.yaml", in: dir)
        }
    }
}
