import Consent
import Foundation
import Ledger
import Metrics
import Ports

/// Measured quality: figures per manufacturer × item over a period from the quality projections,
/// their grade under `Policies/quality.yaml`, and the certificates the broker signs
/// (docs/catalogue-and-quality.md).
public struct QualityService: Sendable {
    public let broker: BrokerService
    var store: any BrokerStore { broker.store }

    public init(broker: BrokerService) { self.broker = broker }

    /// One manufacturer's records of one item over a period: the figures and, when the policy
    /// has quality rules, their grade with why each better grade was missed.
    public struct Report: Codable, Sendable, Equatable {
        public var manufacturer: String
        public var item: String
        public var period: QualityPeriod
        /// The period as days, `2026-11-01..2026-11-30`.
        public var days: String
        public var figures: QualityFigures
        public var grade: QualityGrade?
        public var reasons: [String]
    }

    /// The figures of `manufacturer` × `item` over `period`, graded.
    ///
    /// - Throws: `unknownItem` for an item the policy lacks.
    public func report(manufacturer: String, item: String, period: QualityPeriod) async throws -> Report {
        guard let policy = try await broker.activePolicy() else { throw ConsentError(.noActivePolicy, "no policy is active") }
        guard let schema = policy.policy.item(item) else {
            throw ConsentError(.unknownItem, "data item '\(item)' is not in policy \(policy.version); see GET /v1/catalog")
        }
        return try await report(manufacturer: manufacturer, schema: schema, period: period, policy: policy, confirmed: nil)
    }

    private func report(
        manufacturer: String, schema: DataItem, period: QualityPeriod, policy: ActivePolicy, confirmed: [String: Int64]?
    ) async throws -> Report {
        let counts = try await store.qualityCounts(manufacturer: manufacturer, item: schema.id, period: period)
        let devices: [String: Int64]
        if let confirmed { devices = confirmed } else { devices = try await store.confirmedDevices() }
        let figures = QualityFigures.of(
            counts, period: period, declaredCycleSeconds: schema.updateCycleSeconds, devicesConfirmed: devices[manufacturer] ?? 0,
            now: broker.clock.now())
        let graded = policy.policy.quality?.grade(figures)
        return Report(
            manufacturer: manufacturer, item: schema.id, period: period, days: period.description, figures: figures, grade: graded?.0,
            reasons: graded?.1 ?? [])
    }

    /// Every measured manufacturer × item over `period`, graded; `manufacturer` and `item`
    /// narrow the list.
    public func reports(period: QualityPeriod, manufacturer: String? = nil, item: String? = nil) async throws -> [Report] {
        guard let policy = try await broker.activePolicy() else { throw ConsentError(.noActivePolicy, "no policy is active") }
        let confirmed = try await store.confirmedDevices()
        var out: [Report] = []
        for series in try await store.qualitySeries()
        where (manufacturer == nil || series.manufacturer == manufacturer) && (item == nil || series.item == item) {
            // A series of an item a later policy dropped is no longer graded.
            guard let schema = policy.policy.item(series.item) else { continue }
            out.append(try await report(manufacturer: series.manufacturer, schema: schema, period: period, policy: policy, confirmed: confirmed))
        }
        return out
    }

    /// The period a certificate issued at `now` covers under `rules`: the whole days before today.
    public static func certificatePeriod(at now: Timestamp, rules: QualityPolicy) -> QualityPeriod {
        QualityPeriod.daysBefore(now, days: rules.certificatePeriodDays)
    }

    /// Issues a certificate for every measured manufacturer × item over `period` (the policy's
    /// certificate period before today when nil) that has none for it yet, and returns every
    /// certificate of the period, those issued before included. Each is one `quality.certified`
    /// event, conditioned on its series' stream, so two brokers certifying at once issue it once.
    ///
    /// - Throws: `qualityNotGraded` without quality rules; `invalidPeriod` for a period that has
    ///   not ended.
    public func certify(period asked: QualityPeriod? = nil) async throws -> [SignedQualityCertificate] {
        guard let policy = try await broker.activePolicy() else { throw ConsentError(.noActivePolicy, "no policy is active") }
        guard let rules = policy.policy.quality else {
            throw ConsentError(.qualityNotGraded, "policy \(policy.version) has no quality rules; add Policies/quality.yaml and activate it")
        }
        let now = broker.clock.now()
        let period = asked ?? Self.certificatePeriod(at: now, rules: rules)
        guard period.toDay <= QualityPeriod.day(of: now) else {
            throw ConsentError(.invalidPeriod, "period \(period) has not ended; a certificate covers whole days before today")
        }
        var out: [SignedQualityCertificate] = []
        for report in try await reports(period: period) {
            let stream = StreamName.quality(manufacturer: report.manufacturer, item: report.item)
            let signed = try await retryingOnConflict { _ -> SignedQualityCertificate in
                let version = try await store.streamVersion(stream)
                if let issued = try await issued(manufacturer: report.manufacturer, item: report.item, period: period) { return issued }
                let certified = QualityCertified(
                    certificateID: Identifiers.random(prefix: "qc"), manufacturer: report.manufacturer, item: report.item, period: period,
                    figures: report.figures, grade: report.grade ?? .none, reasons: report.reasons, policyVersion: policy.version,
                    policyHash: policy.hash)
                let recorded = try await broker.appendBrokerEvent(
                    .qualityCertified(certified), conditions: [StreamCondition(streamID: stream, expectedVersion: version)])
                Counter(label: "mydata_quality_certificates_total", dimensions: [("grade", certified.grade.rawValue)]).increment()
                let proof = try? await broker.loggedEventProof(recorded)
                return try SignedQualityCertificate.make(
                    certified, sequence: recorded.sequence, time: recorded.event.time, identity: broker.identity, logProof: proof)
            }
            out.append(signed)
        }
        return out
    }

    /// The certificate of `manufacturer` × `item` for exactly `period`, if one was issued.
    private func issued(manufacturer: String, item: String, period: QualityPeriod) async throws -> SignedQualityCertificate? {
        // A series gets one certificate a period: its newest ones are the ones to look at.
        let records = try await store.qualityCertificates(manufacturer: manufacturer, item: item, limit: 16)
        guard let record = records.first(where: { $0.period == period }) else { return nil }
        return try await signed(record)
    }

    /// The certificate `id`, signed again with its log proof.
    ///
    /// - Throws: `certificateNotFound`.
    public func certificate(_ id: String) async throws -> SignedQualityCertificate {
        guard let record = try await store.qualityCertificate(id) else {
            throw ConsentError(.certificateNotFound, "no quality certificate \(id); list them with GET /v1/quality/certificates")
        }
        return try await signed(record)
    }

    private func signed(_ record: QualityCertificateRecord) async throws -> SignedQualityCertificate {
        let certified = try CanonicalJSON.decode(QualityCertified.self, from: record.payload)
        var proof: TlogProof?
        if let recorded = try await store.events(from: record.sequence, limit: 1).first, recorded.sequence == record.sequence {
            proof = try? await broker.loggedEventProof(recorded)
        }
        return try SignedQualityCertificate.make(certified, sequence: record.sequence, time: record.time, identity: broker.identity, logProof: proof)
    }

    /// One certificate in a listing.
    public struct Summary: Codable, Sendable, Equatable {
        public var certificateID: String
        public var manufacturer: String
        public var item: String
        public var period: QualityPeriod
        public var days: String
        public var grade: QualityGrade
        public var ledgerSequence: UInt64
        public var time: Timestamp
    }

    /// Certificates, newest first, narrowed to a manufacturer (and an item).
    public func certificates(manufacturer: String?, item: String?, limit: Int) async throws -> [Summary] {
        try await store.qualityCertificates(manufacturer: manufacturer, item: item, limit: limit).map { r in
            Summary(
                certificateID: r.certificateID, manufacturer: r.manufacturer, item: r.item, period: r.period, days: r.period.description,
                grade: r.grade, ledgerSequence: r.sequence, time: r.time)
        }
    }
}
