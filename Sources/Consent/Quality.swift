import Ledger

// Measured data quality (docs/catalogue-and-quality.md): what each push shows per data item,
// added up per manufacturer × item × UTC day, turned into figures over a period and graded by
// the rules of `Policies/quality.yaml`.

/// How many records were rejected with one error code.
public struct RejectionCount: Codable, Sendable, Equatable {
    public var code: String
    public var count: Int
    public init(code: String, count: Int) { self.code = code; self.count = count }
}

/// What one push showed of one data item: the quality projection adds these up per day.
public struct ItemPushQuality: Codable, Sendable, Equatable {
    public var item: String
    /// Records of this item in the batch, accepted or not.
    public var offered: Int
    public var accepted: Int
    /// The rejected ones by error code, sorted by code.
    public var rejections: [RejectionCount]
    /// Optional fields present in the accepted records, out of the optional fields the schema
    /// declares times the accepted records.
    public var optionalPresent: Int
    public var optionalDeclared: Int
    /// Accepted records by the lag from their time to the push, per bucket of
    /// `QualityLag.edgesSeconds`; trailing empty buckets left out.
    public var lag: [Int]
    /// Accepted records whose device already had a record of this item at the same time (stored
    /// before, or earlier in the batch).
    public var duplicates: Int
    /// The devices of the accepted records, sorted, each once.
    public var devices: [String]
    /// The newest time among the accepted records.
    public var newest: Timestamp?

    public init(
        item: String, offered: Int, accepted: Int, rejections: [RejectionCount], optionalPresent: Int, optionalDeclared: Int,
        lag: [Int], duplicates: Int, devices: [String], newest: Timestamp?
    ) {
        self.item = item; self.offered = offered; self.accepted = accepted; self.rejections = rejections
        self.optionalPresent = optionalPresent; self.optionalDeclared = optionalDeclared; self.lag = lag
        self.duplicates = duplicates; self.devices = devices; self.newest = newest
    }
}

/// What one push showed of the quality of its records.
public struct PushQuality: Codable, Sendable, Equatable {
    /// Per data item of the policy that the batch held, sorted by item.
    public var items: [ItemPushQuality]
    /// Rejected records that name no item of the policy (or could not be read), by code.
    public var unattributed: [RejectionCount]
    public init(items: [ItemPushQuality], unattributed: [RejectionCount]) { self.items = items; self.unattributed = unattributed }
}

/// The buckets of a record's lag: the time from the record's own time to its push.
public enum QualityLag {
    /// Bucket i holds lags over `edgesSeconds[i-1]` and at most `edgesSeconds[i]` (bucket 0: at
    /// most 0 s, a record from the future too); lags over a year count in the last bucket.
    public static let edgesSeconds: [Int64] = [0, 1, 5, 15, 60, 300, 900, 3_600, 14_400, 86_400, 604_800, 2_592_000, 31_536_000]

    /// The bucket of a lag of `milliseconds`.
    public static func bucket(milliseconds: Int64) -> Int {
        // A lag in (e-1 s, e s] belongs to edge e: compare whole milliseconds against edges.
        for (i, edge) in edgesSeconds.enumerated() where milliseconds <= edge * 1000 { return i }
        return edgesSeconds.count - 1
    }
}

/// What the quality projection holds for one manufacturer × item over some days.
public struct QualityCounts: Codable, Sendable, Equatable {
    public var offered: Int64 = 0
    public var accepted: Int64 = 0
    public var rejections: [String: Int64] = [:]
    public var optionalPresent: Int64 = 0
    public var optionalDeclared: Int64 = 0
    public var lag: [Int64] = Array(repeating: 0, count: QualityLag.edgesSeconds.count)
    public var duplicates: Int64 = 0
    public var newest: Timestamp?
    /// Distinct devices that reported the item in the days.
    public var devicesReporting: Int64 = 0
    /// Devices that reported, counted once per day they reported on.
    public var deviceDays: Int64 = 0

    public init() {}

    /// The projection's rows of one push of one item, as (measure, value) pairs: added up, but
    /// `newest` (the largest wins).
    public static func measures(of q: ItemPushQuality) -> [(String, Int64)] {
        var rows: [(String, Int64)] = [
            (Measure.offered, Int64(q.offered)), (Measure.accepted, Int64(q.accepted)),
            (Measure.optionalPresent, Int64(q.optionalPresent)), (Measure.optionalDeclared, Int64(q.optionalDeclared)),
            (Measure.duplicates, Int64(q.duplicates)),
        ]
        for r in q.rejections { rows.append((Measure.rejectedPrefix + r.code, Int64(r.count))) }
        for (i, n) in q.lag.enumerated() where n > 0 { rows.append((Measure.lagPrefix + String(i), Int64(n))) }
        if let newest = q.newest { rows.append((Measure.newest, newest.milliseconds)) }
        return rows.filter { $0.1 != 0 || $0.0 == Measure.offered }
    }

    /// Adds one stored (measure, value) row.
    public mutating func add(measure: String, value: Int64) {
        switch measure {
        case Measure.offered: offered += value
        case Measure.accepted: accepted += value
        case Measure.optionalPresent: optionalPresent += value
        case Measure.optionalDeclared: optionalDeclared += value
        case Measure.duplicates: duplicates += value
        case Measure.newest: newest = max(newest ?? Timestamp(milliseconds: value), Timestamp(milliseconds: value))
        default:
            if measure.hasPrefix(Measure.rejectedPrefix) {
                rejections[String(measure.dropFirst(Measure.rejectedPrefix.count)), default: 0] += value
            } else if measure.hasPrefix(Measure.lagPrefix), let i = Int(measure.dropFirst(Measure.lagPrefix.count)), lag.indices.contains(i) {
                lag[i] += value
            }
        }
    }

    /// The names of the projection's measures.
    public enum Measure {
        public static let offered = "offered"
        public static let accepted = "accepted"
        public static let optionalPresent = "optional-present"
        public static let optionalDeclared = "optional-declared"
        public static let duplicates = "duplicates"
        public static let newest = "newest"
        public static let rejectedPrefix = "rejected:"
        public static let lagPrefix = "lag:"
    }
}

/// A period the figures cover: whole UTC days, `[from, to)`.
public struct QualityPeriod: Codable, Sendable, Equatable, Hashable, CustomStringConvertible {
    /// Days since the Unix epoch.
    public var fromDay: Int64
    public var toDay: Int64

    public init(fromDay: Int64, toDay: Int64) { self.fromDay = fromDay; self.toDay = toDay }

    /// The UTC day that holds `time`.
    public static func day(of time: Timestamp) -> Int64 {
        let ms = time.milliseconds
        return ms >= 0 ? ms / 86_400_000 : (ms - 86_399_999) / 86_400_000
    }

    /// The day that holds `time`.
    public static func dayHolding(_ time: Timestamp) -> QualityPeriod {
        let d = day(of: time)
        return QualityPeriod(fromDay: d, toDay: d + 1)
    }

    /// The `days` whole days before the day that holds `time` (the rolling period a certificate covers).
    public static func daysBefore(_ time: Timestamp, days: Int) -> QualityPeriod {
        let d = day(of: time)
        return QualityPeriod(fromDay: d - Int64(days), toDay: d)
    }

    public var start: Timestamp { Timestamp(milliseconds: fromDay * 86_400_000) }
    public var end: Timestamp { Timestamp(milliseconds: toDay * 86_400_000) }
    public var days: Int64 { toDay - fromDay }

    /// `2026-11-30` for one day, `2026-11-01..2026-11-30` (both included) for more.
    public var description: String {
        let first = String(start.description.prefix(10))
        guard days > 1 else { return first }
        return first + ".." + String(Timestamp(milliseconds: end.milliseconds - 1).description.prefix(10))
    }

    /// The `days` days up to and including the day that holds `time` (a rolling period).
    public static func rolling(days: Int, endingAt time: Timestamp) -> QualityPeriod {
        let d = day(of: time)
        return QualityPeriod(fromDay: d + 1 - Int64(days), toDay: d + 1)
    }

    /// A period as people write it: `today`, `Nd` (the N days up to and including today, such as
    /// `30d`), `YYYY-MM-DD` or `YYYY-MM-DD..YYYY-MM-DD`.
    public static func parse(_ text: String, now: Timestamp) -> QualityPeriod? {
        if text == "today" { return dayHolding(now) }
        if text.hasSuffix("d"), let n = Int(text.dropLast()), n >= 1, Int64(n) <= periodDaysMax { return rolling(days: n, endingAt: now) }
        return QualityPeriod(text)
    }

    /// The longest period, in days.
    public static let periodDaysMax: Int64 = 366

    /// Parses `YYYY-MM-DD` (one day) or `YYYY-MM-DD..YYYY-MM-DD` (both included).
    public init?(_ text: String) {
        let parts = text.components(separatedBy: "..")
        guard (1...2).contains(parts.count), parts.allSatisfy({ $0.count == 10 }) else { return nil }
        guard let first = Timestamp(rfc3339: parts[0] + "T00:00:00Z"), let last = Timestamp(rfc3339: parts[parts.count - 1] + "T00:00:00Z")
        else { return nil }
        let from = Self.day(of: first), to = Self.day(of: last) + 1
        guard to > from, to - from <= Self.periodDaysMax else { return nil }
        self.init(fromDay: from, toDay: to)
    }
}

/// The quality of one manufacturer's records of one item over a period, as the broker measured
/// them. Ratios are in basis points (hundredths of a percent), rounded down; nil where there is
/// nothing to divide by.
public struct QualityFigures: Codable, Sendable, Equatable {
    public var offered: Int64
    public var accepted: Int64
    /// accepted / offered.
    public var validityBP: Int?
    public var rejections: [RejectionCount]
    /// Optional fields present / optional fields declared, over the accepted records (nil when the
    /// schema declares none).
    public var completenessBP: Int?
    /// Lag from a record's time to its push: the upper edge of the lag bucket that holds the
    /// median (p50) and the 95th percentile (p95) accepted record.
    public var lagP50Seconds: Int64?
    public var lagP95Seconds: Int64?
    /// The newest record's time, and its age at the period's end (or at the time measured, when
    /// the period has not ended).
    public var newest: Timestamp?
    public var ageSeconds: Int64?
    /// The item's declared update cycle, and the age in cycles, in thousandths.
    public var declaredCycleSeconds: Int64?
    public var ageCyclesMilli: Int64?
    /// The seconds between two records of one device on a day it reported, on average: a day ×
    /// the device-days that reported / records accepted.
    public var observedCycleSeconds: Int64?
    /// Duplicates (same device, item and time) / accepted.
    public var duplicates: Int64
    public var duplicatesBP: Int?
    /// Devices that reported the item / devices confirmed to the manufacturer (at most 100%).
    public var devicesReporting: Int64
    public var devicesConfirmed: Int64
    public var coverageBP: Int?

    /// The figures of `counts` over `period`, measured at `now`.
    public static func of(
        _ counts: QualityCounts, period: QualityPeriod, declaredCycleSeconds: Int64?, devicesConfirmed: Int64, now: Timestamp
    ) -> QualityFigures {
        func bp(_ part: Int64, _ whole: Int64) -> Int? { whole > 0 ? Int(min(part, whole) * 10_000 / whole) : nil }
        func percentile(_ p: Int64) -> Int64? {
            guard counts.accepted > 0 else { return nil }
            // The smallest bucket whose running count reaches p% of the accepted records.
            let total = counts.lag.reduce(0, +)
            guard total > 0 else { return nil }
            var running: Int64 = 0
            for (i, n) in counts.lag.enumerated() {
                running += n
                if running * 100 >= p * total { return QualityLag.edgesSeconds[i] }
            }
            return QualityLag.edgesSeconds.last
        }
        let at = min(now, period.end)
        let age = counts.newest.map { max(0, (at.milliseconds - $0.milliseconds) / 1000) }
        return QualityFigures(
            offered: counts.offered, accepted: counts.accepted, validityBP: bp(counts.accepted, counts.offered),
            rejections: counts.rejections.sorted { $0.key < $1.key }.map { RejectionCount(code: $0.key, count: Int($0.value)) },
            completenessBP: bp(counts.optionalPresent, counts.optionalDeclared),
            lagP50Seconds: percentile(50), lagP95Seconds: percentile(95), newest: counts.newest, ageSeconds: age,
            declaredCycleSeconds: declaredCycleSeconds,
            ageCyclesMilli: declaredCycleSeconds.flatMap { cycle in age.map { $0 * 1000 / max(cycle, 1) } },
            observedCycleSeconds: counts.accepted > 0 ? 86_400 * counts.deviceDays / counts.accepted : nil,
            duplicates: counts.duplicates, duplicatesBP: bp(counts.duplicates, counts.accepted),
            devicesReporting: counts.devicesReporting, devicesConfirmed: devicesConfirmed,
            coverageBP: bp(counts.devicesReporting, devicesConfirmed))
    }
}

/// A quality grade, best first.
public enum QualityGrade: String, Codable, Sendable, CaseIterable, Comparable {
    case a = "A", b = "B", c = "C", none

    /// Whether this grade is at least `other` (`none` meets only `none`).
    public func meets(_ other: QualityGrade) -> Bool { self <= other }

    public static func < (x: QualityGrade, y: QualityGrade) -> Bool {
        allCases.firstIndex(of: x)! < allCases.firstIndex(of: y)!
    }
}

/// The rules that turn figures into a grade, from `Policies/quality.yaml`.
public struct QualityPolicy: Codable, Sendable, Equatable {
    /// Fewer accepted records than this in the period: no grade.
    public var minimumRecords: Int
    /// The thresholds of A, B and C, in that order; a grade is the best whose thresholds all hold.
    public var grades: [QualityThresholds]
    /// The days a certificate covers: the whole days before the day it is issued.
    public var certificatePeriodDays: Int

    public init(minimumRecords: Int, grades: [QualityThresholds], certificatePeriodDays: Int) {
        self.minimumRecords = minimumRecords; self.grades = grades; self.certificatePeriodDays = certificatePeriodDays
    }

    /// The grade of `figures` and, for each better grade, why it was missed.
    public func grade(_ figures: QualityFigures) -> (QualityGrade, [String]) {
        guard figures.accepted >= Int64(minimumRecords) else {
            return (.none, ["fewer than \(minimumRecords) records accepted in the period (\(figures.accepted))"])
        }
        var reasons: [String] = []
        for t in grades {
            let missed = t.missed(by: figures)
            if missed.isEmpty { return (t.grade, reasons) }
            reasons.append("not \(t.grade.rawValue): " + missed.joined(separator: "; "))
        }
        return (.none, reasons)
    }
}

/// What one grade requires; nil thresholds are not checked, and a figure that cannot be
/// measured (nothing to divide by, or no declared cycle) passes.
public struct QualityThresholds: Codable, Sendable, Equatable {
    public var grade: QualityGrade
    public var validityMinBP: Int?
    public var completenessMinBP: Int?
    public var lagP95MaxSeconds: Int64?
    public var ageMaxCyclesMilli: Int64?
    public var duplicatesMaxBP: Int?
    public var coverageMinBP: Int?

    public init(
        grade: QualityGrade, validityMinBP: Int?, completenessMinBP: Int?, lagP95MaxSeconds: Int64?, ageMaxCyclesMilli: Int64?,
        duplicatesMaxBP: Int?, coverageMinBP: Int?
    ) {
        self.grade = grade; self.validityMinBP = validityMinBP; self.completenessMinBP = completenessMinBP
        self.lagP95MaxSeconds = lagP95MaxSeconds; self.ageMaxCyclesMilli = ageMaxCyclesMilli
        self.duplicatesMaxBP = duplicatesMaxBP; self.coverageMinBP = coverageMinBP
    }

    /// The thresholds `f` misses, in words.
    public func missed(by f: QualityFigures) -> [String] {
        var out: [String] = []
        func percent(_ bp: Int) -> String { QualityThresholds.percent(bp) }
        if let min = validityMinBP, let v = f.validityBP, v < min { out.append("validity \(percent(v)) < \(percent(min))") }
        if let min = completenessMinBP, let v = f.completenessBP, v < min { out.append("completeness \(percent(v)) < \(percent(min))") }
        if let max = lagP95MaxSeconds, let v = f.lagP95Seconds, v > max { out.append("lag p95 \(v) s > \(max) s") }
        if let max = ageMaxCyclesMilli, let v = f.ageCyclesMilli, v > max {
            out.append("newest record \(Self.thousandths(v)) update cycles old > \(Self.thousandths(max))")
        }
        if let max = duplicatesMaxBP, let v = f.duplicatesBP, v > max { out.append("duplicates \(percent(v)) > \(percent(max))") }
        if let min = coverageMinBP, let v = f.coverageBP, v < min { out.append("coverage \(percent(v)) < \(percent(min))") }
        return out
    }

    /// Basis points as a percentage with two decimals: 9950 is `99.50%`.
    public static func percent(_ bp: Int) -> String {
        let cents = String(bp % 100)
        return "\(bp / 100).\(cents.count < 2 ? "0" + cents : cents)%"
    }

    /// Thousandths as a decimal: 2500 is `2.500`.
    public static func thousandths(_ v: Int64) -> String {
        let part = String(v % 1000)
        return "\(v / 1000)." + String(repeating: "0", count: 3 - part.count) + part
    }
}

/// One record's place: its device, item and time. Two records with the same key are duplicates.
public struct RecordKey: Hashable, Sendable {
    public var device: String
    public var item: String
    public var time: Timestamp
    public init(device: String, item: String, time: Timestamp) { self.device = device; self.item = item; self.time = time }
}

/// Adds up what one push shows of its records' quality, record by record, as the push decides them.
public struct PushQualityTally: Sendable {
    private struct ItemTally {
        var offered = 0, accepted = 0, optionalPresent = 0, optionalDeclared = 0
        var rejections: [String: Int] = [:]
        var lag = Array(repeating: 0, count: QualityLag.edgesSeconds.count)
        var devices = Set<String>()
        var newest: Timestamp?
    }
    private var items: [String: ItemTally] = [:]
    private var unattributed: [String: Int] = [:]
    /// Accepted records in order, for counting duplicates.
    private var keys: [RecordKey] = []
    /// The pushing time the lag is measured to.
    public let pushedAt: Timestamp

    public init(pushedAt: Timestamp) { self.pushedAt = pushedAt }

    /// A record rejected with `code`: counted under its item when the policy has it.
    public mutating func rejected(item: String?, code: String, policy: PolicySet) {
        if let item, policy.item(item) != nil {
            items[item, default: ItemTally()].offered += 1
            items[item, default: ItemTally()].rejections[code, default: 0] += 1
        } else {
            unattributed[code, default: 0] += 1
        }
    }

    /// A record accepted: its schema is `schema` (the record follows it).
    public mutating func accepted(_ record: TelemetryRecord, schema: DataItem) {
        var t = items[record.item] ?? ItemTally()
        t.offered += 1
        t.accepted += 1
        for field in schema.fields where !field.required {
            t.optionalDeclared += 1
            if record.values[field.name] != nil { t.optionalPresent += 1 }
        }
        t.lag[QualityLag.bucket(milliseconds: pushedAt.milliseconds - record.time.milliseconds)] += 1
        t.devices.insert(record.device)
        t.newest = max(t.newest ?? record.time, record.time)
        items[record.item] = t
        keys.append(RecordKey(device: record.device, item: record.item, time: record.time))
    }

    /// The devices of the accepted records with the span of their times: where stored
    /// duplicates could be.
    public var spans: [(device: String, from: Timestamp, through: Timestamp)] {
        var out: [String: (Timestamp, Timestamp)] = [:]
        for k in keys {
            let span = out[k.device] ?? (k.time, k.time)
            out[k.device] = (min(span.0, k.time), max(span.1, k.time))
        }
        return out.sorted { $0.key < $1.key }.map { ($0.key, $0.value.0, $0.value.1) }
    }

    /// The push's quality, given the keys already stored for its devices and times.
    public func quality(stored: Set<RecordKey>) -> PushQuality {
        var seen = stored
        var duplicates: [String: Int] = [:]
        for k in keys where !seen.insert(k).inserted { duplicates[k.item, default: 0] += 1 }
        return PushQuality(
            items: items.sorted { $0.key < $1.key }.map { item, t in
                var lag = t.lag
                while let last = lag.last, last == 0 { lag.removeLast() }
                return ItemPushQuality(
                    item: item, offered: t.offered, accepted: t.accepted,
                    rejections: t.rejections.sorted { $0.key < $1.key }.map { RejectionCount(code: $0.key, count: $0.value) },
                    optionalPresent: t.optionalPresent, optionalDeclared: t.optionalDeclared, lag: lag,
                    duplicates: duplicates[item] ?? 0, devices: t.devices.sorted(), newest: t.newest)
            },
            unattributed: unattributed.sorted { $0.key < $1.key }.map { RejectionCount(code: $0.key, count: $0.value) })
    }
}

/// The broker certified the quality of one manufacturer's records of one item over a period:
/// the figures it measured, the grade the rules gave them and the rules' policy. Appended by the
/// broker, at most once per manufacturer, item and period.
public struct QualityCertified: Codable, Sendable, Equatable {
    public var certificateID: String
    public var manufacturer: String
    public var item: String
    public var period: QualityPeriod
    public var figures: QualityFigures
    public var grade: QualityGrade
    /// Why each better grade was missed.
    public var reasons: [String]
    /// The policy whose `quality.yaml` graded the figures: its version and hash.
    public var policyVersion: String
    public var policyHash: String

    public init(
        certificateID: String, manufacturer: String, item: String, period: QualityPeriod, figures: QualityFigures, grade: QualityGrade,
        reasons: [String], policyVersion: String, policyHash: String
    ) {
        self.certificateID = certificateID; self.manufacturer = manufacturer; self.item = item; self.period = period
        self.figures = figures; self.grade = grade; self.reasons = reasons; self.policyVersion = policyVersion
        self.policyHash = policyHash
    }
}

/// A certificate as the projection holds it: the event's payload and place.
public struct QualityCertificateRecord: Codable, Sendable, Equatable {
    public var certificateID: String
    public var manufacturer: String
    public var item: String
    public var period: QualityPeriod
    public var grade: QualityGrade
    public var sequence: UInt64
    public var time: Timestamp
    /// The `quality.certified` payload as signed into the ledger.
    public var payload: [UInt8]

    public init(
        certificateID: String, manufacturer: String, item: String, period: QualityPeriod, grade: QualityGrade, sequence: UInt64,
        time: Timestamp, payload: [UInt8]
    ) {
        self.certificateID = certificateID; self.manufacturer = manufacturer; self.item = item; self.period = period
        self.grade = grade; self.sequence = sequence; self.time = time; self.payload = payload
    }
}

/// A manufacturer's holdings of one item as the catalogue counts them, before rounding.
public struct Holding: Sendable, Equatable {
    public var manufacturer: String
    public var item: String
    /// People with a confirmed device of the manufacturer and an active consent covering the item.
    public var consentingPersons: Int64
    public init(manufacturer: String, item: String, consentingPersons: Int64) {
        self.manufacturer = manufacturer; self.item = item; self.consentingPersons = consentingPersons
    }
}

/// Reads of the quality projections and the catalogue's counts.
public protocol QualityReadModel: Sendable {
    /// What pushes showed of `manufacturer`'s records of `item` in the period's days, with the
    /// distinct devices that reported it.
    func qualityCounts(manufacturer: String, item: String, period: QualityPeriod) async throws -> QualityCounts
    /// Every manufacturer × item with measured pushes, sorted.
    func qualitySeries() async throws -> [(manufacturer: String, item: String)]
    /// Confirmed devices per manufacturer.
    func confirmedDevices() async throws -> [String: Int64]
    /// Per manufacturer × item: the people with one of its confirmed devices and a consent active
    /// at `now` whose items include the item.
    func holdings(at now: Timestamp) async throws -> [Holding]
    /// The certificates of `manufacturer` × `item`, newest first (all when both are nil), at most `limit`.
    func qualityCertificates(manufacturer: String?, item: String?, limit: Int) async throws -> [QualityCertificateRecord]
    func qualityCertificate(_ id: String) async throws -> QualityCertificateRecord?
}

extension Holding {
    /// Counts distinct persons per manufacturer × item from rows of (manufacturer, person, the
    /// consent's terms as stored): what both stores read for the catalogue.
    public static func count(_ rows: [(manufacturer: String, subject: String, terms: [UInt8])]) throws -> [Holding] {
        var persons: [String: [String: Set<String>]] = [:]
        for row in rows {
            let terms = try CanonicalJSON.decode(ConsentTerms.self, from: row.terms)
            for item in terms.items { persons[row.manufacturer, default: [:]][item, default: []].insert(row.subject) }
        }
        return persons.sorted { $0.key < $1.key }.flatMap { manufacturer, items in
            items.sorted { $0.key < $1.key }.map { Holding(manufacturer: manufacturer, item: $0.key, consentingPersons: Int64($0.value.count)) }
        }
    }
}
