import Consent
import Foundation
import Sodium
import Yams

/// A validated policy set and the hash of the files it came from.
public struct LoadedPolicy: Sendable, Equatable {
    public let policy: PolicySet
    /// BLAKE2b-256 (hex) over the files, see `PolicyLoader.hash(files:)`.
    public let hash: String
}

/// Reads `Policies/`: `policy.yaml` (version), `purposes.yaml`, and `categories/*.yaml`; checks
/// every rule and reports the first problem with its file and line.
public enum PolicyLoader {
    /// Bytes of one policy file.
    public static let fileBytesMax = InputLimits.policyFileBytesMax

    /// Where each category and item was first defined, so that a second definition names both
    /// places.
    private struct Origins {
        var categories: [String: String] = [:]
        var items: [String: String] = [:]

        mutating func add(_ category: DataCategory, from root: Entry, file: String) throws {
            let line = root.line(of: "category")
            if let first = categories[category.id] {
                throw PolicyError(file: file, line: line, message: "category '\(category.id)' is already defined at \(first); keep one of them")
            }
            categories[category.id] = "\(file):\(line ?? 1)"
            for (item, entry) in zip(category.items, try root.list("items")) {
                let line = entry.line(of: "id")
                if let first = items[item.id] {
                    throw PolicyError(file: file, line: line, message: "item '\(item.id)' is already defined at \(first); keep one of them")
                }
                items[item.id] = "\(file):\(line ?? 1)"
            }
        }
    }

    /// Loads and validates the policy set in `directory`.
    ///
    /// - Throws: `PolicyError` naming the file and line of the first problem.
    public static func load(directory: URL) throws -> LoadedPolicy {
        try load(files: try files(in: directory))
    }

    /// Validates a policy set given as its files' texts, as `load(directory:)` reads them:
    /// `policy.yaml`, `purposes.yaml`, `accounting.yaml`, `analysis.yaml` and `quality.yaml` when present, then `categories/…` in
    /// name order. It reads no file, so a fuzzer or a test can hand it any text.
    ///
    /// - Throws: `PolicyError` naming the file and line of the first problem.
    public static func load(files: [(String, String)]) throws -> LoadedPolicy {
        var version: String?
        var purposes: [Purpose] = []
        var categories: [DataCategory] = []
        var accounting: AccountingPolicy?
        var traffic: TrafficThresholds?
        var analysis: AnalysisPolicy?
        var quality: QualityPolicy?
        var contracts: [ContractTemplate] = []
        var origins = Origins()
        for (name, text) in files {
            let doc = try Document(file: name, text: text)
            switch name {
            case "policy.yaml":
                version = try doc.root.string("version")
                traffic = try doc.root.optional("traffic").map(trafficThresholds)
            case "purposes.yaml":
                purposes = try doc.root.list("purposes").map(purpose)
            case "accounting.yaml":
                accounting = try accountingPolicy(doc.root)
            case "analysis.yaml":
                analysis = try analysisPolicy(doc.root)
            case "quality.yaml":
                quality = try qualityPolicy(doc.root)
            case let contract where contract.hasPrefix("contracts/"):
                let template = try contractTemplate(doc.root)
                guard !contracts.contains(where: { $0.id == template.id }) else {
                    throw doc.root.error(at: "contract", "contract '\(template.id)' is defined twice; keep one of them")
                }
                contracts.append(template)
            default:
                let category = try category(doc.root)
                try origins.add(category, from: doc.root, file: name)
                categories.append(category)
            }
        }
        guard let version else { throw PolicyError(file: "policy.yaml", line: nil, message: "missing: create it with a `version:` line") }
        let set = PolicySet(
            version: version, categories: categories, purposes: purposes, accounting: accounting, traffic: traffic, analysis: analysis,
            quality: quality, contracts: contracts.isEmpty ? nil : contracts)
        try crossCheck(set, files: files)
        return LoadedPolicy(policy: set, hash: hash(files: files))
    }

    /// BLAKE2b-256 (hex) over the files in name order, each as u32 name length, name, u32
    /// content length, content (all lengths big-endian).
    public static func hash(files: [(String, String)]) -> String {
        var bytes: [UInt8] = []
        for (name, text) in files.sorted(by: { $0.0 < $1.0 }) {
            for part in [Array(name.utf8), Array(text.utf8)] {
                let n = UInt32(part.count)
                bytes += [UInt8(n >> 24), UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff)]
                bytes += part
            }
        }
        return Hex.encode(BLAKE2b.hash256(bytes))
    }

    // MARK: Files

    /// The files of the policy set in `directory`, named and ordered as `load(files:)` takes them.
    ///
    /// - Throws: `PolicyError` for a missing, unreadable or oversized file.
    public static func files(in directory: URL) throws -> [(String, String)] {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: directory.path, isDirectory: &isDir), isDir.boolValue else {
            throw PolicyError(file: directory.path, line: nil, message: "not a directory; pass the Policies/ folder with --policies")
        }
        var names = ["policy.yaml", "purposes.yaml"]
        // The money rules are optional: without them nothing is charged or rewarded.
        if fm.fileExists(atPath: directory.appendingPathComponent("accounting.yaml").path) { names.append("accounting.yaml") }
        // Without analysis rules every request is for delivery, as before analyses existed.
        if fm.fileExists(atPath: directory.appendingPathComponent("analysis.yaml").path) { names.append("analysis.yaml") }
        // Without quality rules figures are measured but not graded or certified.
        if fm.fileExists(atPath: directory.appendingPathComponent("quality.yaml").path) { names.append("quality.yaml") }
        let categoriesDir = directory.appendingPathComponent("categories")
        let categoryFiles = ((try? fm.contentsOfDirectory(atPath: categoriesDir.path)) ?? [])
            .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
        guard !categoryFiles.isEmpty else {
            throw PolicyError(file: "categories/", line: nil, message: "no category files; add one YAML file per data category")
        }
        guard categoryFiles.count <= InputLimits.policyCategoryFilesMax else {
            throw PolicyError(
                file: "categories/", line: nil,
                message: "\(categoryFiles.count) category files; at most \(InputLimits.policyCategoryFilesMax) are read")
        }
        names += categoryFiles.map { "categories/\($0)" }
        // Standard contracts are optional: without them requests name none.
        let contractFiles = ((try? fm.contentsOfDirectory(atPath: directory.appendingPathComponent("contracts").path)) ?? [])
            .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted()
        guard contractFiles.count <= InputLimits.policyCategoryFilesMax else {
            throw PolicyError(
                file: "contracts/", line: nil,
                message: "\(contractFiles.count) contract files; at most \(InputLimits.policyCategoryFilesMax) are read")
        }
        names += contractFiles.map { "contracts/\($0)" }
        return try names.map { name in
            let url = directory.appendingPathComponent(name)
            let read: Data?
            do { read = try InputFile.read(url.path, bytesMax: fileBytesMax) } catch {
                throw PolicyError(file: name, line: nil, message: "larger than \(fileBytesMax) bytes")
            }
            guard let data = read else {
                throw PolicyError(file: name, line: nil, message: "missing or unreadable")
            }
            guard let text = String(data: data, encoding: .utf8) else {
                throw PolicyError(file: name, line: nil, message: "not UTF-8 text")
            }
            return (name, text)
        }
    }

    // MARK: Entries

    private static func purpose(_ n: Entry) throws -> Purpose {
        Purpose(
            id: try n.identifier("id"), title: try n.string("title"),
            categories: try n.list("categories").map { try $0.scalarString() })
    }

    private static func category(_ n: Entry) throws -> DataCategory {
        let id = try n.identifier("category")
        let maxDays = try n.int("maxConsentDays")
        guard (1...ConsentLimits.consentDurationDaysMax).contains(maxDays) else {
            throw n.error(at: "maxConsentDays", "`maxConsentDays` must be 1 to \(ConsentLimits.consentDurationDaysMax) days, got \(maxDays)")
        }
        let sensitive = try n.bool("sensitive")
        let items = try n.list("items").map { try item($0, category: id) }
        guard !items.isEmpty else { throw n.error(at: "items", "a category needs at least one data item") }
        let contracts = n.has("contracts") ? try n.list("contracts").map { try $0.scalarString() } : nil
        return DataCategory(
            id: id, title: try n.string("title"), sensitive: sensitive, maxConsentDays: maxDays, items: items, contracts: contracts)
    }

    private static func item(_ n: Entry, category: String) throws -> DataItem {
        let id = try n.identifier("id")
        guard id.hasPrefix(category + ".") else {
            throw n.error(at: "id", "item '\(id)' must start with its category: '\(category).…'")
        }
        let fields = try n.list("fields").map(field)
        guard !fields.isEmpty else { throw n.error(at: "fields", "an item needs at least one field") }
        var seen = Set<String>()
        for (f, node) in zip(fields, try n.list("fields")) where !seen.insert(f.name).inserted {
            throw node.error(at: "name", "field '\(f.name)' appears twice in item '\(id)'")
        }
        let cycle = try n.optionalString("updateCycle").map { text -> Int64 in
            guard let seconds = Self.seconds(text) else {
                throw n.error(
                    at: "updateCycle",
                    "`updateCycle` is a whole number of s, m, h or d (such as 15m or 1d), got '\(text)'; leave it out for items made on an event")
            }
            return seconds
        }
        func texts(_ key: String, max: Int) throws -> [String]? {
            guard n.has(key) else { return nil }
            let list = try n.list(key).map { try $0.scalarString() }
            guard list.count <= max else { throw n.error(at: key, "`\(key)` lists at most \(max) entries, got \(list.count)") }
            return list
        }
        return DataItem(
            id: id, title: try n.string("title"), updateFrequency: try n.string("updateFrequency"), fields: fields,
            description: try n.optionalString("description"), updateCycleSeconds: cycle,
            related: try texts("related", max: ConsentLimits.requestItemsMax), examples: try texts("examples", max: 16))
    }

    /// `15m`, `1h`, `1d` as seconds: 1 second to 366 days.
    static func seconds(_ text: String) -> Int64? {
        guard let unit = text.last, let value = Int64(text.dropLast()), value > 0 else { return nil }
        let scale: Int64
        switch unit {
        case "s": scale = 1
        case "m": scale = 60
        case "h": scale = 3_600
        case "d": scale = 86_400
        default: return nil
        }
        guard value <= 366 * 86_400 / scale else { return nil }
        return value * scale
    }

    private static func field(_ n: Entry) throws -> FieldSpec {
        let typeName = try n.string("type")
        guard let type = FieldSpec.FieldType(rawValue: typeName) else {
            let allowed = FieldSpec.FieldType.allCases.map(\.rawValue).joined(separator: ", ")
            throw n.error(at: "type", "unknown field type '\(typeName)'; use one of \(allowed)")
        }
        return FieldSpec(
            name: try n.identifier("name"), type: type, unit: try n.optionalString("unit"),
            required: try n.optionalBool("required") ?? false)
    }

    private static func accountingPolicy(_ n: Entry) throws -> AccountingPolicy {
        let postedOn = try n.string("rewardPostedOn")
        guard let posting = AccountingPolicy.RewardPosting(rawValue: postedOn) else {
            throw n.error(at: "rewardPostedOn", "`rewardPostedOn` is `grant` or `first-delivery`, got '\(postedOn)'")
        }
        let clawback = try n.int("clawbackWithinDays")
        guard (0...ConsentLimits.consentDurationDaysMax).contains(clawback) else {
            throw n.error(at: "clawbackWithinDays", "`clawbackWithinDays` must be 0 to \(ConsentLimits.consentDurationDaysMax)")
        }
        let rewards = try n.list("rewards").map { r in
            RewardRule(category: try r.identifier("category"), onceOffKRW: try won(r, "onceOffKRW"), perMonthKRW: try won(r, "perMonthKRW"))
        }
        let prices = try n.list("prices").map { p in
            let rule = PriceRule(
                category: try p.identifier("category"), perRecordKRW: try won(p, "perRecordKRW"), perPullKRW: try won(p, "perPullKRW"),
                manufacturerPercent: Int64(try p.int("manufacturerPercent")), personPercent: Int64(try p.int("personPercent")),
                brokerPercent: Int64(try p.int("brokerPercent")),
                perAnalysisKRW: try p.optionalInt("perAnalysisKRW").map { _ in try won(p, "perAnalysisKRW") },
                perPersonKRW: try p.optionalInt("perPersonKRW").map { _ in try won(p, "perPersonKRW") })
            let shares = [rule.manufacturerPercent, rule.personPercent, rule.brokerPercent]
            if let perPerson = rule.perPersonKRW, perPerson > 0, perPerson * rule.personPercent < 100 {
                throw p.error(
                    at: "perPersonKRW",
                    "each person's part of `perPersonKRW` would be under 1 won (\(perPerson) × \(rule.personPercent)% ); raise `perPersonKRW` or `personPercent`"
                )
            }
            guard shares.allSatisfy({ $0 >= 0 }), shares.reduce(0, +) == 100 else {
                throw p.error(
                    "the split of '\(rule.category)' must be three percentages (0 or more) that add up to 100, got \(shares.map(String.init).joined(separator: " + "))"
                )
            }
            return rule
        }
        return AccountingPolicy(
            fund: try n.identifier("fund"), rewardPostedOn: posting, clawbackWithinDays: clawback, rewards: rewards,
            prices: prices, redemptionMinimumKRW: try won(n, "redemptionMinimumKRW"))
    }

    private static func analysisPolicy(_ n: Entry) throws -> AnalysisPolicy {
        let delta = try n.int("deltaExponent")
        guard AnalysisLimits.deltaExponents.contains(delta) else {
            throw n.error(
                at: "deltaExponent",
                "`deltaExponent` must be \(AnalysisLimits.deltaExponents.lowerBound) to \(AnalysisLimits.deltaExponents.upperBound) (δ = 10^-e), got \(delta)"
            )
        }
        let rules = try n.list("rules").map { r -> AnalysisRule in
            let access = try r.list("access").map { a -> ConsentAccess in
                let name = try a.scalarString()
                guard let access = ConsentAccess(rawValue: name) else { throw a.error("an access is `delivery` or `analysis`, got '\(name)'") }
                return access
            }
            guard !access.isEmpty, Set(access).count == access.count else {
                throw r.error(at: "access", "list `delivery`, `analysis` or both, once each")
            }
            let k = try r.optionalInt("k") ?? AnalysisLimits.kDefault
            guard k >= AnalysisLimits.kMin, k <= 1_000_000 else { throw r.error(at: "k", "`k` must be at least \(AnalysisLimits.kMin), got \(k)") }
            func epsilon(_ key: String) throws -> Int64 {
                let value = try r.milli(key)
                guard (1...AnalysisLimits.epsilonMilliMax).contains(value) else {
                    throw r.error(at: key, "`\(key)` must be 0.001 to \(AnalysisLimits.epsilonMilliMax / 1000)")
                }
                return value
            }
            func count(_ key: String, _ max: Int) throws -> Int {
                let value = try r.int(key)
                guard (1...max).contains(value) else { throw r.error(at: key, "`\(key)` must be 1 to \(max), got \(value)") }
                return value
            }
            let budget = try r.mapping("budget")
            let periodDays = try budget.int("periodDays")
            guard (1...ConsentLimits.consentDurationDaysMax).contains(periodDays) else {
                throw budget.error(at: "periodDays", "`periodDays` must be 1 to \(ConsentLimits.consentDurationDaysMax), got \(periodDays)")
            }
            let rule = AnalysisRule(
                category: try r.identifier("category"), purposes: try r.list("purposes").map { try $0.scalarString() }, access: access,
                analysisUnderDelivery: try r.optionalBool("analysisUnderDelivery") ?? false, k: k,
                epsilonMaxPerAnalysisMilli: try epsilon("epsilonMaxPerAnalysis"),
                budgetEpsilonMilli: try {
                    let value = try budget.milli("epsilon")
                    guard (1...AnalysisLimits.epsilonMilliMax).contains(value) else {
                        throw budget.error(at: "epsilon", "`epsilon` must be 0.001 to \(AnalysisLimits.epsilonMilliMax / 1000)")
                    }
                    return value
                }(), budgetPeriodDays: periodDays,
                recordsPerPersonPerCell: try count("recordsPerPersonPerCell", AnalysisLimits.recordsPerPersonPerCellMax),
                cellsPerPerson: try count("cellsPerPerson", AnalysisLimits.cellsPerPersonMax))
            guard rule.epsilonMaxPerAnalysisMilli <= rule.budgetEpsilonMilli else {
                throw r.error(at: "epsilonMaxPerAnalysis", "`epsilonMaxPerAnalysis` cannot be more than the budget's `epsilon`")
            }
            guard !rule.purposes.isEmpty else { throw r.error(at: "purposes", "name at least one purpose") }
            return rule
        }
        return AnalysisPolicy(deltaExponent: delta, rules: rules)
    }

    private static func qualityPolicy(_ n: Entry) throws -> QualityPolicy {
        let minimum = try n.int("minimumRecords")
        guard (1...1_000_000_000).contains(minimum) else {
            throw n.error(at: "minimumRecords", "`minimumRecords` must be 1 to 1,000,000,000, got \(minimum)")
        }
        let periodDays = try n.int("certificatePeriodDays")
        guard (1...Int(QualityPeriod.periodDaysMax)).contains(periodDays) else {
            throw n.error(at: "certificatePeriodDays", "`certificatePeriodDays` must be 1 to \(QualityPeriod.periodDaysMax), got \(periodDays)")
        }
        let grades = try n.mapping("grades")
        let order: [QualityGrade] = [.a, .b, .c]
        var thresholds: [QualityThresholds] = []
        for grade in order {
            let g = try grades.mapping(grade.rawValue)
            func percent(_ key: String) throws -> Int? {
                guard g.has(key) else { return nil }
                let bp = Int(try g.fixed(key, decimals: 2))
                guard bp <= 10_000 else { throw g.error(at: key, "`\(key)` is a percentage, 0 to 100") }
                return bp
            }
            let known: Set<String> = ["validity", "completeness", "lagP95", "age", "duplicates", "coverage"]
            for key in g.keys where !known.contains(key) {
                throw g.error(at: key, "unknown threshold `\(key)`; use \(known.sorted().joined(separator: ", "))")
            }
            let lag = try g.optionalString("lagP95").map { text -> Int64 in
                guard let s = Self.seconds(text) else { throw g.error(at: "lagP95", "`lagP95` is a duration such as 15m, 1h or 2d, got '\(text)'") }
                return s
            }
            let age = g.has("age") ? try g.fixed("age", decimals: 3) : nil
            thresholds.append(
                QualityThresholds(
                    grade: grade, validityMinBP: try percent("validity"), completenessMinBP: try percent("completeness"),
                    lagP95MaxSeconds: lag, ageMaxCyclesMilli: age, duplicatesMaxBP: try percent("duplicates"),
                    coverageMinBP: try percent("coverage")))
        }
        // A better grade must ask at least as much as a worse one, or the order would lie.
        for (better, worse) in zip(thresholds, thresholds.dropFirst()) {
            let pairs: [(String, Int64?, Int64?, Bool)] = [
                ("validity", better.validityMinBP.map(Int64.init), worse.validityMinBP.map(Int64.init), true),
                ("completeness", better.completenessMinBP.map(Int64.init), worse.completenessMinBP.map(Int64.init), true),
                ("lagP95", better.lagP95MaxSeconds, worse.lagP95MaxSeconds, false),
                ("age", better.ageMaxCyclesMilli, worse.ageMaxCyclesMilli, false),
                ("duplicates", better.duplicatesMaxBP.map(Int64.init), worse.duplicatesMaxBP.map(Int64.init), false),
                ("coverage", better.coverageMinBP.map(Int64.init), worse.coverageMinBP.map(Int64.init), true),
            ]
            for (key, b, w, atLeast) in pairs {
                guard let w else { continue }
                guard let b, atLeast ? b >= w : b <= w else {
                    let g = try grades.mapping(better.grade.rawValue)
                    throw g.error(
                        at: g.has(key) ? key : nil,
                        "grade \(better.grade.rawValue) must ask at least what \(worse.grade.rawValue) asks of `\(key)`")
                }
            }
        }
        return QualityPolicy(minimumRecords: minimum, grades: thresholds, certificatePeriodDays: periodDays)
    }

    private static func trafficThresholds(_ n: Entry) throws -> TrafficThresholds {
        func share(_ role: String) throws -> TrafficThresholds.Share {
            let s = try n.mapping(role)
            let rate = try s.int("requestsPerSecond"), burst = try s.int("burst"), records = try s.int("recordsPerDay")
            guard (1...TrafficThresholds.requestsPerSecondMax).contains(rate) else {
                throw s.error(at: "requestsPerSecond", "`requestsPerSecond` must be 1 to \(TrafficThresholds.requestsPerSecondMax), got \(rate)")
            }
            guard (rate...(rate * 100)).contains(burst) else {
                throw s.error(at: "burst", "`burst` must be at least `requestsPerSecond` (\(rate)) and at most 100 times it, got \(burst)")
            }
            guard (1...TrafficThresholds.recordsPerDayMax).contains(records) else {
                throw s.error(at: "recordsPerDay", "`recordsPerDay` must be 1 to \(TrafficThresholds.recordsPerDayMax), got \(records)")
            }
            return TrafficThresholds.Share(requestsPerSecond: rate, burst: burst, recordsPerDay: records)
        }
        return TrafficThresholds(manufacturer: try share("manufacturer"), recipient: try share("recipient"))
    }

    /// A whole amount of won: 0 to 100,000,000.
    private static func won(_ n: Entry, _ key: String) throws -> Int64 {
        let value = try n.int(key)
        guard (0...Int(ConsentLimits.incentiveKRWMax)).contains(value) else {
            throw n.error(at: key, "`\(key)` is whole won, 0 to \(ConsentLimits.incentiveKRWMax), got \(value)")
        }
        return Int64(value)
    }

    private static func crossCheck(_ set: PolicySet, files: [(String, String)]) throws {
        let categoryIDs = Set(set.categories.map(\.id))
        for category in set.categories {
            let (file, text) = categoryFile(category.id, in: files)
            for item in category.items {
                for related in item.related ?? [] where set.item(related) == nil || related == item.id {
                    throw PolicyError(
                        file: file, line: lineOf(related, in: text) ?? lineOf("id: \(item.id)", in: text),
                        message: related == item.id
                            ? "item '\(item.id)' lists itself as related; list other items"
                            : "item '\(item.id)' lists related item '\(related)', which no category defines")
                }
            }
        }
        if let accounting = set.accounting {
            let text = files.first { $0.0 == "accounting.yaml" }?.1 ?? ""
            for (kind, categories) in [("reward", accounting.rewards.map(\.category)), ("price", accounting.prices.map(\.category))] {
                var seen = Set<String>()
                for category in categories {
                    let line = lineOf("category: \(category)", in: text)
                    guard categoryIDs.contains(category) else {
                        throw PolicyError(
                            file: "accounting.yaml", line: line,
                            message: "a \(kind) rule names category '\(category)', which no file in categories/ defines")
                    }
                    guard seen.insert(category).inserted else {
                        throw PolicyError(file: "accounting.yaml", line: line, message: "category '\(category)' has two \(kind) rules")
                    }
                }
            }
        }
        for category in set.categories {
            for id in category.contracts ?? [] where set.contract(id) == nil {
                let (file, text) = categoryFile(category.id, in: files)
                throw PolicyError(
                    file: file, line: lineOf("contracts:", in: text),
                    message: "category '\(category.id)' allows contract '\(id)', which no file in contracts/ defines")
            }
        }
        let purposesText = files.first { $0.0 == "purposes.yaml" }?.1 ?? ""
        var purposeIDs = Set<String>()
        for p in set.purposes {
            let line = lineOf("id: \(p.id)", in: purposesText)
            guard purposeIDs.insert(p.id).inserted else {
                throw PolicyError(file: "purposes.yaml", line: line, message: "purpose '\(p.id)' is defined twice")
            }
            guard !p.categories.isEmpty else {
                throw PolicyError(file: "purposes.yaml", line: line, message: "purpose '\(p.id)' names no category")
            }
            for c in p.categories where !categoryIDs.contains(c) {
                throw PolicyError(
                    file: "purposes.yaml", line: line,
                    message: "purpose '\(p.id)' names category '\(c)', which no file in categories/ defines")
            }
        }
        if let analysis = set.analysis {
            let text = files.first { $0.0 == "analysis.yaml" }?.1 ?? ""
            var seen = Set<String>()
            for rule in analysis.rules {
                let line = lineOf("category: \(rule.category)", in: text)
                guard let category = set.category(rule.category) else {
                    throw PolicyError(
                        file: "analysis.yaml", line: line, message: "a rule names category '\(rule.category)', which no file in categories/ defines")
                }
                for purpose in rule.purposes {
                    guard let p = set.purpose(purpose), p.categories.contains(category.id) else {
                        throw PolicyError(
                            file: "analysis.yaml", line: line,
                            message: "purpose '\(purpose)' is not in purposes.yaml for category '\(category.id)'; name a purpose that may use it")
                    }
                    guard seen.insert("\(category.id)/\(purpose)").inserted else {
                        throw PolicyError(file: "analysis.yaml", line: line, message: "\(category.id) for \(purpose) has two rules")
                    }
                }
                if category.sensitive, rule.k < AnalysisLimits.sensitiveKMin {
                    throw PolicyError(
                        file: "analysis.yaml", line: lineOf("k: \(rule.k)", in: text) ?? line,
                        message: "\(category.id) data is sensitive: its `k` must be at least \(AnalysisLimits.sensitiveKMin), got \(rule.k)")
                }
            }
        }
    }

    // MARK: Contracts

    private static func contractTemplate(_ n: Entry) throws -> ContractTemplate {
        let id = try n.identifier("contract")
        let accessName = try n.string("access")
        guard let access = ConsentAccess(rawValue: accessName) else {
            throw n.error(at: "access", "`access` is `delivery` or `analysis`, got '\(accessName)'")
        }
        let maxRetention = try n.int("maxRetentionDays")
        guard (0...ConsentLimits.retentionDaysMax).contains(maxRetention) else {
            throw n.error(at: "maxRetentionDays", "`maxRetentionDays` must be 0 to \(ConsentLimits.retentionDaysMax), got \(maxRetention)")
        }
        let parameterNodes = n.has("parameters") ? try n.list("parameters") : []
        guard parameterNodes.count <= ContractLimits.parametersMax else {
            throw n.error(at: "parameters", "a contract has at most \(ContractLimits.parametersMax) parameters, got \(parameterNodes.count)")
        }
        var parameters: [ContractTemplate.Parameter] = []
        for node in parameterNodes {
            let p = try contractParameter(node)
            guard !ContractTemplate.builtins.contains(p.name) else {
                throw node.error(at: "name", "parameter '\(p.name)' is filled from the terms; name the parameter otherwise")
            }
            guard !parameters.contains(where: { $0.name == p.name }) else {
                throw node.error(at: "name", "parameter '\(p.name)' is defined twice")
            }
            parameters.append(p)
        }
        let clauseNodes = try n.list("clauses")
        guard (1...ContractLimits.clausesMax).contains(clauseNodes.count) else {
            throw n.error(at: "clauses", "a contract has 1 to \(ContractLimits.clausesMax) clauses, got \(clauseNodes.count)")
        }
        let known = ContractTemplate.builtins.union(parameters.map(\.name))
        let clauses = try clauseNodes.map { node in
            let text = try node.string("text")
            guard text.utf8.count <= ContractLimits.clauseBytesMax else {
                throw node.error(at: "text", "a clause's text is at most \(ContractLimits.clauseBytesMax) bytes, got \(text.utf8.count)")
            }
            guard let names = ContractTemplate.placeholders(in: text) else {
                throw node.error(at: "text", "a `{` without its `}` (or the other way round); write placeholders as {name}")
            }
            for name in names where !known.contains(name) {
                throw node.error(
                    at: "text",
                    "{\(name)} is neither a parameter of this contract nor a value of the terms (\(ContractTemplate.builtins.sorted().joined(separator: ", ")))"
                )
            }
            return ContractTemplate.Clause(title: try node.string("title"), text: text, key: try node.optionalBool("key") ?? false)
        }
        return ContractTemplate(
            id: id, title: try n.string("title"), access: access, maxRetentionDays: maxRetention, parameters: parameters, clauses: clauses)
    }

    private static func contractParameter(_ n: Entry) throws -> ContractTemplate.Parameter {
        let name = try n.string("name")
        guard name.count <= 32, name.first?.isLetter == true,
            name.unicodeScalars.allSatisfy({ CharacterSet.alphanumerics.contains($0) && $0.isASCII })
        else {
            throw n.error(at: "name", "a parameter's name is 1 to 32 ASCII letters and digits, starting with a letter, got '\(name)'")
        }
        let typeName = try n.string("type")
        guard let kind = ContractTemplate.Parameter.Kind(rawValue: typeName) else {
            let allowed = ContractTemplate.Parameter.Kind.allCases.map(\.rawValue).joined(separator: " or ")
            throw n.error(at: "type", "parameter type is \(allowed), got '\(typeName)'")
        }
        var p = ContractTemplate.Parameter(name: name, title: try n.string("title"), kind: kind)
        if kind == .integer {
            let minimum = try n.int("min"), maximum = try n.int("max")
            guard minimum <= maximum else { throw n.error(at: "max", "`max` (\(maximum)) is below `min` (\(minimum))") }
            p.minimum = Int64(minimum); p.maximum = Int64(maximum)
        }
        if let value = try n.optionalString("default") {
            if let problem = p.problem(value) { throw n.error(at: "default", "the default breaks the parameter's own rule: \(problem)") }
            p.defaultValue = value
        }
        return p
    }

    /// The file that defines category `id`, and its text.
    private static func categoryFile(_ id: String, in files: [(String, String)]) -> (String, String) {
        files.first { $0.0.hasPrefix("categories/") && lineOf("category: \(id)", in: $0.1) != nil } ?? ("categories/", "")
    }

    private static func lineOf(_ needle: String, in text: String) -> Int? {
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() where line.contains(needle) {
            return i + 1
        }
        return nil
    }
}
