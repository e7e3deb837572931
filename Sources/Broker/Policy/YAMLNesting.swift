/// How deeply a YAML text nests, measured on its lines before any parser sees it.
///
/// An upper bound, not a parse: indentation levels that are open, each `- ` that opens a list on
/// the same line, and flow brackets outside quotes and comments. A text it passes cannot make a
/// recursive parser recurse deeper than that (Yams composes recursively, and a megabyte of `[`
/// or of `- ` would otherwise overflow the stack).
enum YAMLNesting {
    /// The deepest nesting and the first line (1-based) that reaches it.
    static func deepest(in text: String) -> (depth: Int, line: Int) {
        var indents: [Int] = []
        var flow = 0
        var deepest = (depth: 0, line: 1)
        var lineNumber = 0
        for line in text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            let bytes = Array(line)
            var i = 0
            var block = indents.count
            if flow == 0 {
                while i < bytes.count, bytes[i] == UInt8(ascii: " ") { i += 1 }
                if i == bytes.count || bytes[i] == UInt8(ascii: "#") || bytes[i] == UInt8(ascii: "\r") { continue }
                while let last = indents.last, last > i { indents.removeLast() }
                if indents.last != i { indents.append(i) }
                block = indents.count
                // `- - - x` opens a list inside a list on one line.
                while i + 1 < bytes.count, bytes[i] == UInt8(ascii: "-"), bytes[i + 1] == UInt8(ascii: " ") {
                    block += 1
                    i += 2
                    while i < bytes.count, bytes[i] == UInt8(ascii: " ") { i += 1 }
                }
            }
            var quote: UInt8?
            // A quote opens a scalar only where a scalar can start: `don't` is plain text.
            var lastSignificant: UInt8 = UInt8(ascii: ":")
            var previous = UInt8(ascii: " ")
            scan: while i < bytes.count {
                let c = bytes[i]
                if let q = quote {
                    if c == UInt8(ascii: "\\"), q == UInt8(ascii: "\""), i + 1 < bytes.count { i += 1 } else if c == q { quote = nil }
                } else {
                    switch c {
                    case UInt8(ascii: "\""), UInt8(ascii: "'"):
                        if Self.scalarStarts(after: lastSignificant) { quote = c }
                    case UInt8(ascii: "#") where previous == UInt8(ascii: " "): break scan
                    case UInt8(ascii: "["), UInt8(ascii: "{"):
                        flow += 1
                        if block + flow > deepest.depth { deepest = (block + flow, lineNumber) }
                    case UInt8(ascii: "]"), UInt8(ascii: "}"): flow = max(0, flow - 1)
                    default: break
                    }
                    if c != UInt8(ascii: " ") { lastSignificant = c }
                }
                previous = c
                i += 1
            }
            if block > deepest.depth { deepest = (block, lineNumber) }
        }
        return deepest
    }

    private static func scalarStarts(after byte: UInt8) -> Bool {
        [UInt8(ascii: ":"), UInt8(ascii: "-"), UInt8(ascii: "["), UInt8(ascii: "{"), UInt8(ascii: ","), UInt8(ascii: "?")].contains(byte)
    }
}
