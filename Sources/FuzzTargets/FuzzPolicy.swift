import Broker
import Consent
import Foundation

/// The real policy set in `Policies/`, read once, as `PolicyLoader.load(directory:)` orders it.
enum FuzzPolicy {
    /// The repository's `Policies/`, found from this source file: a fuzz binary runs where it was built.
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Policies")

    static let files: [(String, String)] = {
        do { return try PolicyLoader.files(in: directory) } catch {
            fatalError("cannot read \(directory.path): the fuzz targets need the repository's Policies/ (\(error))")
        }
    }()

    /// What the policy target loads around the file it fuzzes, one per file of `files` (nil:
    /// left out): a version, the real purposes, no money, analysis or quality rules, and each real category
    /// with one item.
    /// Every cross-reference of a real file still resolves, and a run parses a few short files
    /// besides the fuzzed one; with the real set around it, a run took five times as long.
    static let standIns: [String?] = files.map { name, text in
        switch name {
        case "policy.yaml": return "version: \"fuzz\"\n"
        // The real purposes (a short file): an analysis rule names them.
        case "purposes.yaml": return text
        case "accounting.yaml", "analysis.yaml", "quality.yaml": return nil
        // The real templates (short files): a category may name them.
        case let contract where contract.hasPrefix("contracts/"): return text
        default:
            let line = text.split(separator: "\n").first { $0.hasPrefix("category:") }
            guard let id = line?.dropFirst("category:".count).trimmingCharacters(in: .whitespaces) else { return text }
            return """
                category: \(id)
                title: Stand-in
                sensitive: false
                maxConsentDays: 365
                items:
                  - id: \(id).stand-in
                    title: Stand-in
                    updateFrequency: daily
                    fields: [{ name: value, type: number }]

                """
        }
    }

    /// The policy set the telemetry targets check records against.
    static let active: PolicySet = {
        do { return try PolicyLoader.load(files: files).policy } catch {
            fatalError("the repository's Policies/ does not load, so records cannot be checked: \(error)")
        }
    }()
}
