import Consent
import Yams

extension PolicyLoader {
    /// A parsed YAML file.
    struct Document {
        let root: Entry

        init(file: String, text: String) throws {
            let node: Node?
            do {
                node = try Yams.compose(yaml: text)
            } catch let error as YamlError {
                throw PolicyError(file: file, line: Self.line(of: error), message: "not valid YAML: \(error)")
            }
            guard let node else { throw PolicyError(file: file, line: 1, message: "the file is empty") }
            root = Entry(file: file, node: node)
        }

        private static func line(of error: YamlError) -> Int? {
            switch error {
            case .scanner(_, _, let mark, _), .parser(_, _, let mark, _): mark.line
            default: nil
            }
        }
    }

    /// A YAML node that knows its file, so every error names file and line.
    struct Entry {
        let file: String
        let node: Node

        var line: Int? { node.mark?.line }

        func error(_ message: String) -> PolicyError { PolicyError(file: file, line: line, message: message) }

        func error(at key: String, _ message: String) -> PolicyError {
            PolicyError(file: file, line: node.mapping?[key]?.mark?.line ?? line, message: message)
        }

        private func value(_ key: String) throws -> Entry {
            guard let mapping = node.mapping else { throw error("expected a mapping with `\(key):`") }
            guard let v = mapping[key] else { throw error("missing `\(key):`") }
            return Entry(file: file, node: v)
        }

        func scalarString() throws -> String {
            guard let s = node.scalar?.string, !s.isEmpty else { throw error("expected a non-empty value") }
            return s
        }

        func string(_ key: String) throws -> String { try value(key).scalarString() }

        func optionalString(_ key: String) throws -> String? {
            guard node.mapping?[key] != nil else { return nil }
            return try string(key)
        }

        func identifier(_ key: String) throws -> String {
            let v = try value(key)
            let s = try v.scalarString()
            let ok = s.count <= 64 && s.unicodeScalars.allSatisfy {
                ("a"..."z").contains($0) || ("0"..."9").contains($0) || "-_.".unicodeScalars.contains($0)
            }
            guard ok else { throw v.error("`\(key)` '\(s)' may hold only a-z, 0-9, '-', '_' and '.' (at most 64)") }
            return s
        }

        func int(_ key: String) throws -> Int {
            let v = try value(key)
            guard let i = v.node.int else { throw v.error("`\(key)` must be a whole number") }
            return i
        }

        func bool(_ key: String) throws -> Bool {
            let v = try value(key)
            guard let b = v.node.bool else { throw v.error("`\(key)` must be true or false") }
            return b
        }

        func optionalBool(_ key: String) throws -> Bool? {
            guard node.mapping?[key] != nil else { return nil }
            return try bool(key)
        }

        func list(_ key: String) throws -> [Entry] {
            let v = try value(key)
            guard let seq = v.node.sequence else { throw v.error("`\(key)` must be a list") }
            return seq.map { Entry(file: file, node: $0) }
        }
    }
}
