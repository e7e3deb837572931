import ArgumentParser
import Broker
import Consent
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Ledger
import MyDataWire

/// Reads a public document of the broker: over HTTP without a signature when `--broker` is
/// given, else from the local data directory.
enum PublicRead {
    /// The bytes of `path` from the broker at `url`.
    static func get(_ path: String, from url: String, bytesMax: Int = 16 << 20) async throws -> Data {
        guard let base = URL(string: url), base.scheme == "http" || base.scheme == "https", let target = URL(string: path, relativeTo: base)
        else {
            throw CLIError(message: "--broker must be an http(s):// URL, got \(url)", exitCode: ExitCodes.failure)
        }
        let status: Int, body: Data
        do { (status, body) = try await BoundedFetch.send(URLRequest(url: target), bytesMax: bytesMax) } catch {
            throw CLIError(message: "cannot reach the broker at \(url): \(error)", exitCode: ExitCodes.storeProblem)
        }
        guard status < 300 else {
            struct Problem: Decodable { var code: String; var detail: String }
            let problem = try? JSONDecoder().decode(Problem.self, from: body)
            throw CLIError(
                message: "refused (\(problem?.code ?? String(status))): \(problem?.detail ?? "the broker answered \(status)")",
                exitCode: status >= 500 ? ExitCodes.storeProblem : ExitCodes.refused)
        }
        return body
    }

    /// A query string of the parameters that have values.
    static func query(_ parameters: [(String, String?)]) -> String {
        let set = parameters.compactMap { name, value in
            value.map { "\(name)=\($0.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed.subtracting(["&", "=", "+"])) ?? $0)" }
        }
        return set.isEmpty ? "" : "?" + set.joined(separator: "&")
    }
}

struct CatalogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "catalog",
        abstract:
            "What data the broker holds: items, schemas, update cycles, purposes, and per manufacturer its devices, consenting people and quality grade.",
        discussion: """
            No key is needed. Counts below 10 are not shown, and others are rounded to tens, so the catalogue
            never points at one person. A grade is the newest quality certificate's (docs/catalogue-and-quality.md).
            """)
    @OptionGroup var global: GlobalOptions
    @Option(help: ArgumentHelp("Only this category (vehicle, appliance, energy, health…).", valueName: "id")) var category: String?
    @Option(help: ArgumentHelp("Only the items this purpose may use.", valueName: "id")) var purpose: String?

    func run() async throws {
        try await reportingErrors {
            let catalogue: Catalogue
            if let url = global.resolvedBroker {
                let data = try await PublicRead.get("/v1/catalog" + PublicRead.query([("category", category), ("purpose", purpose)]), from: url)
                catalogue = try JSONDecoder().decode(Catalogue.self, from: data)
            } else {
                let local = try await LocalBroker.open(global)
                let full = try await local.session { try await CatalogueService(broker: $0.service).catalogue() }
                if let category, !full.categories.contains(where: { $0.id == category }) {
                    throw ConsentError(
                        .unknownCategory, "no category '\(category)'; the catalogue has \(full.categories.map(\.id).joined(separator: ", "))")
                }
                if let purpose, !full.purposes.contains(where: { $0.id == purpose }) {
                    throw ConsentError(
                        .unknownPurpose, "no purpose '\(purpose)'; the catalogue has \(full.purposes.map(\.id).joined(separator: ", "))")
                }
                catalogue = full.filtered(category: category, purpose: purpose)
            }
            if global.json { try Terminal.printJSON(catalogue); return }
            print(Self.describe(catalogue))
        }
    }

    static func describe(_ catalogue: Catalogue) -> String {
        var out =
            "Catalogue of policy \(catalogue.policyVersion) (counts under \(catalogue.suppressedBelow) not shown, others rounded to \(catalogue.rounding)s)\n"
        func count(_ n: Int64?) -> String { n.map(String.init) ?? "<\(catalogue.suppressedBelow)" }
        for category in catalogue.categories {
            out += "\n\(category.title) (\(category.id))\(category.sensitive ? ", sensitive" : ""), consents up to \(category.maxConsentDays) days\n"
            for item in category.items {
                out += "\n  \(item.id): \(item.title)\n"
                if let d = item.description { out += "    \(d)\n" }
                let cycle = item.updateCycleSeconds.map { " (cycle \(Self.duration($0)))" } ?? ""
                out += "    updated: \(item.updateFrequency)\(cycle); access: \(item.access.map(\.rawValue).joined(separator: ", "))\n"
                out +=
                    "    fields: "
                    + item.fields.map { f in "\(f.name) \(f.type.rawValue)\(f.unit.map { " [\($0)]" } ?? "")\(f.required ? "" : " (optional)")" }
                    .joined(separator: ", ") + "\n"
                out += "    purposes: \(item.purposes.joined(separator: ", "))\n"
                if !item.related.isEmpty { out += "    related: \(item.related.joined(separator: ", "))\n" }
                for use in item.examples { out += "    - \(use)\n" }
                if item.holders.isEmpty {
                    out += "    no manufacturer has pushed it yet\n"
                } else {
                    let rows = item.holders.map { h in
                        [
                            h.manufacturer, count(h.confirmedDevices), count(h.consentingPersons), h.observedCycleSeconds.map(Self.duration) ?? "-",
                            h.measuredGrade?.rawValue ?? "-", h.grade.map { "\($0.rawValue) (\(h.certifiedDays ?? ""))" } ?? "-",
                        ]
                    }
                    out +=
                        Terminal.table(
                            ["    MANUFACTURER", "DEVICES", "CONSENTING", "OBSERVED CYCLE", "GRADE (30 DAYS)", "CERTIFIED"],
                            rows.map { ["    " + $0[0]] + $0.dropFirst() })
                        + "\n"
                }
            }
        }
        return out
    }

    /// `900` as `15m`, `86400` as `1d`.
    static func duration(_ seconds: Int64) -> String {
        for (unit, size) in [("d", Int64(86_400)), ("h", 3_600), ("m", 60)] where seconds >= size && seconds % size == 0 {
            return "\(seconds / size)\(unit)"
        }
        if seconds >= 3_600 { return String(format: "%.1fh", Double(seconds) / 3_600) }
        return "\(seconds)s"
    }
}
