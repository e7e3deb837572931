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
        isValid(id, max: idCharactersMax, extra: "-_.:")
    }

    static func isValidReference(_ reference: String) -> Bool {
        isValid(reference, max: referenceCharactersMax, extra: "-_.:/")
    }

    private static func isValid(_ text: String, max: Int, extra: String) -> Bool {
        guard (1...max).contains(text.utf8.count) else { return false }
        return text.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0)
                || extra.unicodeScalars.contains($0)
        }
    }
}
