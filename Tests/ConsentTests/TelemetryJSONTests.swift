import Consent
import Foundation
import Ledger
import TestSupport
import Testing

/// The push path's fast JSON reader and canonical writer against Foundation's coders, which
/// stay the reference: what the reader accepts, `JSONDecoder` reads as the same record; what the
/// writer writes, `JSONEncoder` writes byte for byte.
struct TelemetryJSONTests {
    static func fast(_ text: String) -> TelemetryRecord? { Array(text.utf8).withUnsafeBytes(TelemetryJSON.record) }
    static func reference(_ text: String) -> TelemetryRecord? { try? JSONDecoder().decode(TelemetryRecord.self, from: Data(text.utf8)) }
    static func canonical(_ record: TelemetryRecord) throws -> [UInt8] { try CanonicalJSON.encode(record) }

    @Test(arguments: [
        #"{"device":"car-1","item":"vehicle.driving","time":1796169600000,"values":{"distance":12.5,"duration":600,"ok":true}}"#,
        #" { "values" : { } , "time" : 0 , "item" : "x" , "device" : "d" } "#,
        "{\"device\":\"car-1\",\r\n\t\"item\":\"vehicle.driving\",\"time\":-5,\"values\":{\"note\":\"über / 😀\",\"off\":false}}",
        #"{"device":"d","item":"i","time":1,"values":{"a":-0,"b":-0.25,"c":0.1,"d":123456789012345,"e":""}}"#,
    ])
    func readsTheUsualRecordsAsJSONDecoderDoes(text: String) throws {
        let record = try #require(Self.fast(text))
        let expected = try #require(Self.reference(text))
        #expect(try Self.canonical(record) == Self.canonical(expected))
    }

    @Test(arguments: [
        #"{"device":"car\u002d1","item":"i","time":1,"values":{}}"#,  // an escape
        #"{"device":"d","item":"i","time":1,"values":{"a":1e3}}"#,  // an exponent
        #"{"device":"d","item":"i","time":1,"values":{"a":2.0}}"#,  // integral with a fraction: FieldValue's integer
        #"{"device":"d","item":"i","time":1,"values":{"a":1234567890123456}}"#,  // 16 digits
        #"{"device":"d","item":"i","time":1,"values":{"a":null}}"#,
        #"{"device":"d","item":"i","time":1,"values":{"a":[1]}}"#,
        #"{"device":"d","item":"i","time":1,"values":{},"extra":1}"#,
        #"{"device":"d","device":"e","item":"i","time":1,"values":{}}"#,
        #"{"device":"d","item":"i","time":1,"values":{"a":1,"a":2}}"#,
        #"{"device":"d","item":"i","time":1,"values":{}} x"#,
        #"{"device":"d","item":"i","time":01,"values":{}}"#,
        #"{"device":"d","item":"i","time":1.,"values":{}}"#,
        #"{"device":"d","item":"i","time":1.5,"values":{}}"#,
        #"{"device":"d","item":"i","values":{}}"#,
        "{\"device\":\"d\u{1}\",\"item\":\"i\",\"time\":1,\"values\":{}}",
        "\u{feff}{\"device\":\"d\",\"item\":\"i\",\"time\":1,\"values\":{}}",
        #"{"device":"d","item":"i","time":1,"values":{"a":tru}}"#,
        #"{"device":"d","item":"i","time":1,"values":{"a":-}}"#,
        #"{"device":"d","item":"i","time":1,"values":{"a":1,}}"#,
    ])
    func leavesEveryUnusualShapeToJSONDecoder(text: String) {
        #expect(Self.fast(text) == nil)
    }

    @Test func leavesInvalidUTF8ToJSONDecoder() {
        let bytes = Array(#"{"device":"d"#.utf8) + [0xC3, 0x28] + Array(#"","item":"i","time":1,"values":{}}"#.utf8)
        #expect(bytes.withUnsafeBytes(TelemetryJSON.record) == nil)
    }

    @Test func readsABodyOfRecordsOrLeavesAllOfIt() throws {
        let one = #"{"device":"d","item":"i","time":1,"values":{"a":1}}"#
        let body = #" {"records": [ \#(one) , \#(one) ] } "#
        #expect(Array(body.utf8).withUnsafeBytes(TelemetryJSON.records)?.count == 2)
        #expect(Array(#"{"records":[]}"#.utf8).withUnsafeBytes(TelemetryJSON.records)?.count == 0)
        for declined in [
            #"{"records":[\#(one),{"device":1}]}"#, #"{"records":[\#(one)],"more":1}"#, #"{"records":[\#(one),]}"#, #"{"records":[\#(one)]"#,
        ] {
            #expect(Array(declined.utf8).withUnsafeBytes(TelemetryJSON.records) == nil, "\(declined)")
        }
    }

    /// Records assembled from fragments, good and bad: whenever the reader accepts one,
    /// `JSONDecoder` reads the same record, and the reader accepts the usual ones.
    @Test func randomRecordsReadAsJSONDecoderReadsThem() throws {
        var random = SplitMix64(state: 0x7E1E_3E7A)
        let names = ["distance", "a", "é", "x9", "x10", "A_b", "\"", "d\\u0041"]
        let values = [
            "1", "-0", "0", "12.5", "-0.001", "3.0", "1e2", "123456789012345", "1234567890123456", "true", "false", "null",
            "\"text\"", "\"ü😀\"", "\"a\\nb\"", "\"/\"", "01", "1.", ".5", "[]", "{}", "0.30000000000000004", "99.99999999999999",
        ]
        var accepted = 0
        let cases = 4_000
        for _ in 0..<cases {
            var fields = (0..<Int.random(in: 0...4, using: &random)).map { _ in
                "\"\(names.randomElement(using: &random)!)\":\(values.randomElement(using: &random)!)"
            }
            fields.shuffle(using: &random)
            var members = [
                #""device":"car-\#(Int.random(in: 0...9, using: &random))""#, #""item":"vehicle.driving""#,
                #""time":\#(["1796169600000", "-1", "1.5", "0"].randomElement(using: &random)!)"#,
                #""values":{\#(fields.joined(separator: ","))}"#,
            ]
            if Int.random(in: 0..<10, using: &random) == 0 { members.removeLast() }
            members.shuffle(using: &random)
            let text = "{" + members.joined(separator: [",", " , ", ",\n"].randomElement(using: &random)!) + "}"
            guard let record = Self.fast(text) else { continue }
            accepted += 1
            let expected = try #require(Self.reference(text), "the reader took what JSONDecoder refuses: \(text)")
            #expect(try Self.canonical(record) == Self.canonical(expected), "\(text)")
        }
        #expect(accepted > cases / 10, "the reader accepted \(accepted) of \(cases)")
    }

    /// Random values of every kind: keys and strings with quotes, backslashes, slashes and
    /// control characters, any finite double, any integer.
    @Test func theCanonicalWriterIsJSONEncodersByteForByte() throws {
        var random = SplitMix64(state: 0xC0_FFEE)
        let scalars: [Unicode.Scalar] = [
            "a", "Z", "_", "\"", "\\", "/", "\u{0}", "\u{8}", "\u{9}", "\u{A}", "\u{C}", "\u{D}", "\u{1F}", "\u{7F}", "é", "\u{2028}", "😀", "！",
        ]
        func text() -> String {
            String(String.UnicodeScalarView((0..<Int.random(in: 0...6, using: &random)).map { _ in scalars.randomElement(using: &random)! }))
        }
        func value() -> FieldValue {
            switch Int.random(in: 0..<5, using: &random) {
            case 0: return .integer(Int64.random(in: .min ... .max, using: &random))
            case 1: return .integer(Int64.random(in: -1_000...1_000, using: &random))
            case 2:
                var d: Double
                repeat { d = Double(bitPattern: random.next()) } while !d.isFinite
                return .number(d)
            case 3: return .string(text())
            default: return .boolean(Bool.random(using: &random))
            }
        }
        for _ in 0..<3_000 {
            var values: [String: FieldValue] = [:]
            for _ in 0..<Int.random(in: 0...6, using: &random) { values[text()] = value() }
            values["n"] = .number(Double(Int.random(in: -100...100, using: &random)) / 4)
            #expect(TelemetryJSON.canonical(values) == (try CanonicalJSON.encode(values)), "\(values)")
        }
    }
}
