import Foundation
import Ledger
import Testing

/// Times as text: RFC 3339 in UTC with exactly the milliseconds the ledger holds, since a
/// contract's canonical text and a receipt's fields are compared as text by other programs.
struct TimestampTests {
    @Test(
        "every millisecond is written as itself, before and after the epoch",
        arguments: [
            (1_764_600_000_000, "2025-12-01T14:40:00.000Z"), (1_764_600_000_001, "2025-12-01T14:40:00.001Z"),
            (1_764_600_000_123, "2025-12-01T14:40:00.123Z"), (1_764_600_000_577, "2025-12-01T14:40:00.577Z"),
            (1_764_600_000_999, "2025-12-01T14:40:00.999Z"), (0, "1970-01-01T00:00:00.000Z"), (-1, "1969-12-31T23:59:59.999Z"),
        ] as [(Int64, String)])
    func exactMilliseconds(_ milliseconds: Int64, _ text: String) {
        #expect(Timestamp(milliseconds: milliseconds).description == text)
        #expect(Timestamp(rfc3339: text)?.milliseconds == milliseconds)
    }

    @Test("a second's thousand milliseconds all read back as themselves")
    func roundTrip() {
        for ms in Int64(1_764_600_000_000)..<1_764_600_001_000 {
            let t = Timestamp(milliseconds: ms)
            #expect(Timestamp(rfc3339: t.description) == t, "\(t.description)")
        }
    }

    @Test("a time written one millisecond early by brokers before the exact format is still recognised, and no other")
    func legacyText() {
        let t = Timestamp(milliseconds: 1_764_600_000_123)
        #expect(t.isDescribed(by: "2025-12-01T14:40:00.123Z"))
        #expect(t.isDescribed(by: "2025-12-01T14:40:00.122Z"), "what Foundation's Double formatting wrote")
        #expect(!t.isDescribed(by: "2025-12-01T14:40:00.121Z"))
        #expect(!t.isDescribed(by: "2025-12-01T14:40:00.124Z"))
    }
}
