import Consent
import Foundation
import Ledger
import NIOCore
import PostgresNIO

/// The quality projections and the catalogue's counts on PostgreSQL.
extension PostgresStore: QualityReadModel {
    public func qualityCounts(manufacturer: String, item: String, period: QualityPeriod) async throws -> QualityCounts {
        var counts = QualityCounts()
        let rows = try await client.query(
            """
            SELECT measure, value FROM quality_counts
            WHERE manufacturer = \(manufacturer) AND item = \(item) AND day >= \(period.fromDay) AND day < \(period.toDay)
            """, logger: logger)
        for try await (measure, value) in rows.decode((String, Int64).self) { counts.add(measure: measure, value: value) }
        let devices = try await client.query(
            """
            SELECT COUNT(DISTINCT device_id), COUNT(*) FROM quality_devices
            WHERE manufacturer = \(manufacturer) AND item = \(item) AND day >= \(period.fromDay) AND day < \(period.toDay)
            """, logger: logger)
        for try await (distinct, all) in devices.decode((Int64, Int64).self) {
            counts.devicesReporting = distinct
            counts.deviceDays = all
        }
        return counts
    }

    public func qualitySeries() async throws -> [(manufacturer: String, item: String)] {
        var out: [(manufacturer: String, item: String)] = []
        let rows = try await client.query("SELECT DISTINCT manufacturer, item FROM quality_counts ORDER BY manufacturer, item", logger: logger)
        for try await (manufacturer, item) in rows.decode((String, String).self) { out.append((manufacturer, item)) }
        return out
    }

    public func confirmedDevices() async throws -> [String: Int64] {
        var out: [String: Int64] = [:]
        let rows = try await client.query(
            "SELECT manufacturer, COUNT(*) FROM device_bindings WHERE confirmed_ms IS NOT NULL GROUP BY manufacturer", logger: logger)
        for try await (manufacturer, n) in rows.decode((String, Int64).self) { out[manufacturer] = n }
        return out
    }

    public func holdings(at now: Timestamp) async throws -> [Holding] {
        var out: [(manufacturer: String, subject: String, terms: [UInt8])] = []
        let rows = try await client.query(
            """
            SELECT DISTINCT d.manufacturer, c.subject, c.terms FROM consents c
            JOIN device_bindings d ON d.subject = c.subject AND d.confirmed_ms IS NOT NULL
            WHERE c.revoked_ms IS NULL AND c.expires_ms > \(now.milliseconds)
            """, logger: logger)
        for try await (manufacturer, subject, terms) in rows.decode((String, String, ByteBuffer).self) {
            out.append((manufacturer, subject, Array(terms.readableBytesView)))
        }
        return try Holding.count(out)
    }

    public func qualityCertificates(manufacturer: String?, item: String?, limit: Int) async throws -> [QualityCertificateRecord] {
        // An absent filter matches every row: `$1 IS NULL OR manufacturer = $1`.
        try await certificates(
            """
            SELECT certificate_id, manufacturer, item, from_day, to_day, grade, seq, time_ms, payload FROM quality_certificates
            WHERE (\(manufacturer)::text IS NULL OR manufacturer = \(manufacturer)) AND (\(item)::text IS NULL OR item = \(item))
            ORDER BY seq DESC LIMIT \(Self.page(limit))
            """)
    }

    public func qualityCertificate(_ id: String) async throws -> QualityCertificateRecord? {
        try await certificates(
            """
            SELECT certificate_id, manufacturer, item, from_day, to_day, grade, seq, time_ms, payload FROM quality_certificates
            WHERE certificate_id = \(id)
            """
        ).first
    }

    private func certificates(_ query: PostgresQuery) async throws -> [QualityCertificateRecord] {
        var out: [QualityCertificateRecord] = []
        let rows = try await client.query(query, logger: logger)
        for try await r in rows.decode((String, String, String, Int64, Int64, String, Int64, Int64, ByteBuffer).self) {
            out.append(
                QualityCertificateRecord(
                    certificateID: r.0, manufacturer: r.1, item: r.2, period: QualityPeriod(fromDay: r.3, toDay: r.4),
                    grade: QualityGrade(rawValue: r.5) ?? .none, sequence: UInt64(r.6), time: Timestamp(milliseconds: r.7),
                    payload: Array(r.8.readableBytesView)))
        }
        return out
    }
}
