/// The limits of the accounting module, in one place; what exceeds them is rejected with a code.
public enum AccountingLimits {
    /// Account, owner and transfer ids: 1 to this many characters of `a-z A-Z 0-9 - _ . :`.
    public static let idCharactersMax = 128
    /// A transfer's `reference`: 1 to this many characters of `a-z A-Z 0-9 - _ . : /`.
    public static let referenceCharactersMax = 200
    /// A `ChargePlan`'s charge id, short enough that the ids it derives (`<charge>:manufacturer`)
    /// are still valid transfer ids.
    public static let chargeIDCharactersMax = 112

    static func isValidID(_ id: String) -> Bool {
        isValid(id, max: idCharactersMax, slash: false)
    }

    static func isValidReference(_ reference: String) -> Bool {
        isValid(reference, max: referenceCharactersMax, slash: true)
    }

    private static func isValid(_ text: String, max: Int, slash: Bool) -> Bool {
        guard (1...max).contains(text.utf8.count) else { return false }
        return text.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: ":"):
                true
            case UInt8(ascii: "/"): slash
            default: false
            }
        }
    }
}
