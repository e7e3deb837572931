import Consent
import Foundation
import Yams

extension PolicyLoader {
    /// A parsed YAML file.
    struct Document {
        let root: Entry

        init(file: String, text: String) throws {
            // Yams composes recursively: nesting is bounded before it sees the text.
            let nesting = YAMLNesting.deepest(in: text)
            guard nesting.depth <= InputLimits.yamlDepthMax else {
                throw PolicyError(
                    file: file, line: nesting.line, message: "nested more than \(InputLimits.yamlDepthMax) levels deep; a policy file needs a few")
            }
            let node: Node?
            do {
                node = try Yams.compose(yaml: text)
            } catch let error as YamlError {
                let (line, message) = Self.oneLine(error, text: text)
                throw PolicyError(file: file, line: line, message: "not valid YAML: \(message)")
            }
            guard let node else { throw PolicyError(file: file, line: 1, message: "the file is empty") }
            try Self.checkSize(node, file: file)
            root = Entry(file: file, node: node)
        }

        /// Walks the tree as the loader will, counting every node an alias repeats, and stops at
        /// the limits: a few aliases of aliases can stand for billions of nodes.
        private static func checkSize(_ root: Node, file: String) throws {
            var stack: [(node: Node, depth: Int)] = [(root, 1)]
            var count = 0
            while let (node, depth) = stack.popLast() {
                count += 1
                guard count <= InputLimits.yamlNodesMax else {
                    throw PolicyError(
                        file: file, line: node.mark?.line,
                        message: "more than \(InputLimits.yamlNodesMax) values (counting what aliases repeat); a policy file needs far fewer")
                }
                // Depth counts mappings and lists inside each other, as `YAMLNesting` does.
                guard depth <= InputLimits.yamlDepthMax || node.scalar != nil else {
                    throw PolicyError(
                        file: file, line: node.mark?.line,
                        message: "nested more than \(InputLimits.yamlDepthMax) levels deep (counting what aliases repeat)")
                }
                switch node {
                case .mapping(let mapping):
                    for (key, value) in mapping { stack.append((key, depth + 1)); stack.append((value, depth + 1)) }
                case .sequence(let sequence):
                    for value in sequence { stack.append((value, depth + 1)) }
                default:
                    break
                }
            }
        }

        /// Yams' errors span several lines (a snippet and a caret); the CLI prints one.
        private static func oneLine(_ error: YamlError, text: String) -> (Int?, String) {
            func context(_ c: YamlError.Context?) -> String {
                c.map { $0.text.trimmingCharacters(in: .whitespacesAndNewlines) + ", " } ?? ""
            }
            switch error {
            case .scanner(let c, let problem, let mark, _), .parser(let c, let problem, let mark, _), .composer(let c, let problem, let mark, _):
                return (mark.line, "\(context(c))\(problem) (column \(mark.column))")
            case .duplicatedKeysInMapping(let duplicates, let c):
                let keys = duplicates.sorted().map { "'\($0)'" }.joined(separator: ", ")
                return (c.mark.line, "the mapping that starts here has the key \(keys) more than once")
            case .reader(let problem, let offset, _, _):
                let line = offset.map { o in text.utf8.prefix(o).reduce(1) { $1 == UInt8(ascii: "\n") ? $0 + 1 : $0 } }
                return (line, problem)
            default:
                return (nil, "\(error)".split(separator: "\n").first.map(String.init) ?? "unreadable")
            }
        }
    }

    /// A YAML node that knows its file, so every error names file and line.
    struct Entry {
        let file: String
        let node: Node

        var line: Int? { node.mark?.line }

        func error(_ message: String) -> PolicyError { PolicyError(file: file, line: line, message: message) }

        func error(at key: String?, _ message: String) -> PolicyError {
            guard let key else { return error(message) }
            return PolicyError(file: file, line: line(of: key), message: message)
        }

        /// The line of `key`'s value, or of this node when it has no such key.
        func line(of key: String) -> Int? { node.mapping?[key]?.mark?.line ?? line }

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
            let ok =
                s.count <= 64
                && s.unicodeScalars.allSatisfy {
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

        func optionalInt(_ key: String) throws -> Int? {
            guard node.mapping?[key] != nil else { return nil }
            return try int(key)
        }

        /// A decimal number with at most three digits after the point (an ε), in thousandths.
        func milli(_ key: String) throws -> Int64 { try fixed(key, decimals: 3) }

        /// A decimal number of 0 or more with at most `decimals` digits after the point, in units of
        /// 10^-decimals: `99.5` with 2 decimals is 9950.
        func fixed(_ key: String, decimals: Int) throws -> Int64 {
            let v = try value(key)
            let text = try v.scalarString()
            let parts = text.split(separator: ".", omittingEmptySubsequences: false)
            guard (1...2).contains(parts.count), parts[0].allSatisfy(\.isASCII), let whole = Int64(parts[0]), whole >= 0, whole < 1_000_000,
                parts.count == 1 || (1...decimals).contains(parts[1].count) && parts[1].allSatisfy(\.isASCII) && parts[1].allSatisfy(\.isNumber)
            else {
                let example = decimals == 3 ? "1 or 0.25" : "99 or 99.5"
                throw v.error(
                    "`\(key)` must be a number such as \(example) (at most \(decimals == 3 ? "three" : decimals == 2 ? "two" : String(decimals)) decimals), got '\(text)'"
                )
            }
            var scale: Int64 = 1
            for _ in 0..<decimals { scale *= 10 }
            let fraction = parts.count == 2 ? Int64(parts[1].padding(toLength: decimals, withPad: "0", startingAt: 0))! : 0
            return whole * scale + fraction
        }

        /// Whether the mapping has `key`.
        func has(_ key: String) -> Bool { node.mapping?[key] != nil }

        /// The mapping's keys, in the file's order.
        var keys: [String] { node.mapping?.keys.compactMap { $0.string } ?? [] }

        func bool(_ key: String) throws -> Bool {
            let v = try value(key)
            guard let b = v.node.bool else { throw v.error("`\(key)` must be true or false") }
            return b
        }

        func optionalBool(_ key: String) throws -> Bool? {
            guard node.mapping?[key] != nil else { return nil }
            return try bool(key)
        }

        /// The mapping under `key`, or nil when there is no such key.
        func optional(_ key: String) throws -> Entry? {
            guard node.mapping?[key] != nil else { return nil }
            return try mapping(key)
        }

        /// The mapping under `key`.
        func mapping(_ key: String) throws -> Entry {
            let v = try value(key)
            guard v.node.mapping != nil else { throw v.error("`\(key)` must be a mapping of names to values") }
            return v
        }

        func list(_ key: String) throws -> [Entry] {
            let v = try value(key)
            guard let seq = v.node.sequence else { throw v.error("`\(key)` must be a list") }
            return seq.map { Entry(file: file, node: $0) }
        }
    }
}
