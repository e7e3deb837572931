import Consent
import Foundation
import GRDB
import Ledger

/// The quality projections and the catalogue's counts on SQLite.
extension SQLiteStore: QualityReadModel {
    public func qualityCounts(manufacturer: String, item: String, period: QualityPeriod) async throws -> QualityCounts {
        try await read { db in
            var counts = QualityCounts()
            let rows = try Row.fetchCursor(
                db.cachedStatement(sql: "SELECT measure, value FROM quality_counts WHERE manufacturer = ? AND item = ? AND day >= ? AND day < ?"),
                arguments: [manufacturer, item, period.fromDay, period.toDay])
            while let row = try rows.next() { counts.add(measure: row[0], value: row[1]) }
            if let row = try Row.fetchOne(
                db.cachedStatement(
                    sql:
                        "SELECT COUNT(DISTINCT device_id), COUNT(*) FROM quality_devices WHERE manufacturer = ? AND item = ? AND day >= ? AND day < ?"
                ),
                arguments: [manufacturer, item, period.fromDay, period.toDay])
            {
                counts.devicesReporting = row[0]
                counts.deviceDays = row[1]
            }
            return counts
        }
    }

    public func qualitySeries() async throws -> [(manufacturer: String, item: String)] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT DISTINCT manufacturer, item FROM quality_counts ORDER BY manufacturer, item")
                .map { (manufacturer: $0[0], item: $0[1]) }
        }
    }

    public func confirmedDevices() async throws -> [String: Int64] {
        try await read { db in
            var out: [String: Int64] = [:]
            for row in try Row.fetchAll(
                db, sql: "SELECT manufacturer, COUNT(*) FROM device_bindings WHERE confirmed_ms IS NOT NULL GROUP BY manufacturer")
            {
                out[row[0]] = row[1]
            }
            return out
        }
    }

    public func holdings(at now: Timestamp) async throws -> [Holding] {
        let rows = try await read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT DISTINCT d.manufacturer, c.subject, c.terms FROM consents c
                    JOIN device_bindings d ON d.subject = c.subject AND d.confirmed_ms IS NOT NULL
                    WHERE c.revoked_ms IS NULL AND c.expires_ms > ?
                    """, arguments: [now.milliseconds]
            ).map { (manufacturer: $0[0] as String, subject: $0[1] as String, terms: [UInt8]($0[2] as Data)) }
        }
        return try Holding.count(rows)
    }

    public func qualityCertificates(manufacturer: String?, item: String?, limit: Int) async throws -> [QualityCertificateRecord] {
        let limit = Self.page(limit)
        return try await read { db in
            let rows: [Row]
            if let manufacturer, let item {
                rows = try Row.fetchAll(
                    db, sql: "SELECT * FROM quality_certificates WHERE manufacturer = ? AND item = ? ORDER BY seq DESC LIMIT ?",
                    arguments: [manufacturer, item, limit])
            } else if let manufacturer {
                rows = try Row.fetchAll(
                    db, sql: "SELECT * FROM quality_certificates WHERE manufacturer = ? ORDER BY seq DESC LIMIT ?", arguments: [manufacturer, limit])
            } else {
                rows = try Row.fetchAll(db, sql: "SELECT * FROM quality_certificates ORDER BY seq DESC LIMIT ?", arguments: [limit])
            }
            return try rows.map(Self.certificate(from:))
        }
    }

    public func qualityCertificate(_ id: String) async throws -> QualityCertificateRecord? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM quality_certificates WHERE certificate_id = ?", arguments: [id]).map(Self.certificate(from:))
        }
    }

    static func certificate(from row: Row) throws -> QualityCertificateRecord {
        QualityCertificateRecord(
            certificateID: row["certificate_id"], manufacturer: row["manufacturer"], item: row["item"],
            period: QualityPeriod(fromDay: row["from_day"], toDay: row["to_day"]), grade: QualityGrade(rawValue: row["grade"]) ?? .none,
            sequence: UInt64(row["seq"] as Int64), time: Timestamp(milliseconds: row["time_ms"]), payload: [UInt8](row["payload"] as Data))
    }
}
