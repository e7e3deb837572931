import Broker
import Consent
import Foundation

extension FuzzTarget {
    /// The policy input format: one byte picks the file the rest replaces, among the real
    /// `Policies/` files in load order (one past the last adds a new category file).
    public static func policyInput(file: String, text: String) -> [UInt8] {
        let index = FuzzPolicy.files.firstIndex { $0.0 == file } ?? FuzzPolicy.files.count
        return [UInt8(index)] + Array(text.utf8)
    }

    /// One policy file's text through `PolicyLoader.load(files:)`, among small stand-ins for the
    /// others (`FuzzPolicy.standIns`); a set that loads must survive the canonical JSON that
    /// `policy.activated` stores.
    static func policy(_ input: [UInt8]) throws {
        guard let selector = input.first else { return }
        // As `PolicyLoader` reads a file: bytes that are not UTF-8 are refused before parsing.
        guard let text = String(data: Data(input.dropFirst()), encoding: .utf8) else { return }
        let index = Int(selector) % (FuzzPolicy.files.count + 1)
        var files: [(String, String)] = []
        for (i, (file, standIn)) in zip(FuzzPolicy.files, FuzzPolicy.standIns).enumerated() {
            if i == index { files.append((file.0, text)) } else if let standIn { files.append((file.0, standIn)) }
        }
        if index == FuzzPolicy.files.count { files.append(("categories/zz-fuzz.yaml", text)) }
        let loaded = try PolicyLoader.load(files: files)
        let stored = try CanonicalJSON.encode(loaded.policy)
        try FuzzCheck.require(
            CanonicalJSON.decode(PolicySet.self, from: stored) == loaded.policy,
            "a loaded policy set survives its canonical JSON")
    }
}
