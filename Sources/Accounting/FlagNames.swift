/// Flag sets are encoded as arrays of names (`["linked", "pending"]`) rather than raw bits, so a
/// ledger event reads on its own and an appended flag never changes what old events mean.
enum FlagNames {
    static func encode<Flags: OptionSet>(_ flags: Flags, _ names: [(Flags, String)], to encoder: any Encoder) throws
    where Flags.Element == Flags {
        var container = encoder.singleValueContainer()
        try container.encode(names.filter { flags.contains($0.0) }.map(\.1))
    }

    static func decode<Flags: OptionSet>(_ names: [(Flags, String)], from decoder: any Decoder) throws -> Flags
    where Flags.Element == Flags {
        let container = try decoder.singleValueContainer()
        var flags = Flags()
        for name in try container.decode([String].self) {
            guard let flag = names.first(where: { $0.1 == name })?.0 else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "unknown flag \"\(name)\"")
            }
            flags.insert(flag)
        }
        return flags
    }
}
