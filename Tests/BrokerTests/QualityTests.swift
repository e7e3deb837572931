import Broker
import Consent
import Foundation
import Ledger
import Sodium
import TestSupport
import Testing
import Vault

/// Measured quality on a real store: a known push history gives exactly these figures, the
/// projections rebuild to what was measured live, and certificates verify offline.
struct QualityTests {
    /// A broker whose maker has four confirmed washing machines (and one attested only), and the
    /// push history the expected figures below come from. The clock starts at 2026-12-02T00:00Z
    /// (day D); the first batch is pushed at D+10h (T), the second an hour later.
    struct World {
        let f: BrokerFixture
        let transfer: TransferService
        let quality: QualityService
        let t: Timestamp
        let day: QualityPeriod
        /// The owners of wm-1 … wm-5, in order.
        let owners: [Identity]

        init(_ backend: Backend) async throws {
            f = try await BrokerFixture(backend)
            transfer = TransferService(broker: f.broker, vault: Vault(kek: try SymmetricKey(), store: f.store))
            quality = QualityService(broker: f.broker)
            var owners: [Identity] = []
            for (i, device) in ["wm-1", "wm-2", "wm-3", "wm-4", "wm-5"].enumerated() {
                let person = try await f.person()
                owners.append(person)
                try await f.broker.submit(
                    f.manufacturer.sign(
                        .deviceAttested(DeviceAttested(deviceID: device, manufacturer: f.manufacturer.id, subject: person.id)), at: f.clock.now()))
                if i < 4 {
                    try await f.broker.submit(
                        person.sign(
                            .deviceConfirmed(DeviceConfirmed(deviceID: device, manufacturer: f.manufacturer.id, subject: person.id)),
                            at: f.clock.now()))
                }
            }
            self.owners = owners
            day = QualityPeriod.dayHolding(f.clock.now())
            f.clock.advance(seconds: 10 * 3_600)
            t = f.clock.now()
        }

        func record(_ device: String, secondsBeforeT: Int64, cycles: Bool = false, item: String = "appliance.operation") -> TelemetryRecord {
            var values: [String: FieldValue] = ["mode": .string("eco"), "runtime": .integer(3_000)]
            if cycles { values["cycles"] = .integer(2) }
            return TelemetryRecord(device: device, item: item, time: t.adding(seconds: -secondsBeforeT), values: values)
        }

        /// The known history: two batches, with rejections of three kinds and two duplicates.
        func pushHistory() async throws {
            var bad = record("wm-1", secondsBeforeT: 50)
            bad.values["runtime"] = .string("long")
            let first = try await transfer.push(
                [
                    record("wm-1", secondsBeforeT: 30), record("wm-1", secondsBeforeT: 120, cycles: true), record("wm-1", secondsBeforeT: 7_200),
                    record("wm-2", secondsBeforeT: 10, cycles: true), record("wm-2", secondsBeforeT: 10),
                    bad, record("ghost", secondsBeforeT: 5), record("wm-1", secondsBeforeT: 5, item: "appliance.teleport"),
                ], manufacturer: f.manufacturer.id, idempotencyKey: nil, digest: "01")
            #expect(first.accepted == 5 && first.rejected == 3)
            f.clock.advance(seconds: 3_600)
            // wm-1's record at T-30 s again (a duplicate across batches), and one of wm-3.
            let second = try await transfer.push(
                [record("wm-1", secondsBeforeT: 30), record("wm-3", secondsBeforeT: 400, cycles: true)], manufacturer: f.manufacturer.id,
                idempotencyKey: nil, digest: "02")
            #expect(second.accepted == 2)
        }
    }

    @Test("a known push history gives exactly the expected figures", arguments: Backend.available)
    func knownHistory(_ backend: Backend) async throws {
        let w = try await World(backend)
        try await w.pushHistory()
        let report = try await w.quality.report(manufacturer: w.f.manufacturer.id, item: "appliance.operation", period: w.day)
        let f = report.figures
        #expect(f.offered == 9)
        #expect(f.accepted == 7)
        #expect(f.validityBP == 7_777)
        #expect(f.rejections == [RejectionCount(code: "deviceNotFound", count: 1), RejectionCount(code: "invalidRecord", count: 1)])
        #expect(f.completenessBP == 4_285, "3 of 7 optional `cycles` present")
        // Lags 10, 10, 30, 120, 3630, 4000 and 7200 s: the 4th is in the bucket up to 300 s, the 7th up to 4 h.
        #expect(f.lagP50Seconds == 300)
        #expect(f.lagP95Seconds == 14_400)
        #expect(f.newest == w.t.adding(seconds: -10))
        #expect(f.ageSeconds == 3_610, "measured at T+1h, the day not over")
        #expect(f.declaredCycleSeconds == 3_600)
        #expect(f.ageCyclesMilli == 1_002)
        #expect(f.duplicates == 2)
        #expect(f.duplicatesBP == 2_857)
        #expect(f.devicesReporting == 3)
        #expect(f.devicesConfirmed == 4)
        #expect(f.coverageBP == 7_500)
        #expect(f.observedCycleSeconds == 37_028, "86,400 s × 3 device-days / 7 records")
        #expect(report.grade == QualityGrade.none)
        #expect(report.reasons == ["fewer than 100 records accepted in the period (7)"])
        // The next day holds nothing; the two days together hold the same as the first.
        let next = QualityPeriod(fromDay: w.day.toDay, toDay: w.day.toDay + 1)
        #expect(try await w.quality.report(manufacturer: w.f.manufacturer.id, item: "appliance.operation", period: next).figures.offered == 0)
        let both = QualityPeriod(fromDay: w.day.fromDay, toDay: w.day.toDay + 1)
        let two = try await w.quality.report(manufacturer: w.f.manufacturer.id, item: "appliance.operation", period: both).figures
        #expect(two.accepted == 7 && two.observedCycleSeconds == 37_028, "the day without records does not stretch the cycle")
        // The record of an item the policy lacks counts for no item.
        #expect(try await w.quality.reports(period: w.day).map(\.item) == ["appliance.operation"])
    }

    @Test("the quality projections rebuild from the ledger to exactly what was measured live", arguments: Backend.available)
    func rebuildEqualsLive(_ backend: Backend) async throws {
        let w = try await World(backend)
        try await w.pushHistory()
        let live = try await w.f.store.dumpProjections()
        #expect(live.contains("quality_counts"))
        try await w.f.store.rebuildProjections()
        #expect(try await w.f.store.dumpProjections() == live)
    }

    @Test("with measurement off a push carries no figures and counts in none")
    func measurementOff() async throws {
        let w = try await World(.sqlite)
        let off = TransferService(broker: w.f.broker, vault: w.transfer.vault, measuresQuality: false)
        let result = try await off.push([w.record("wm-1", secondsBeforeT: 1)], manufacturer: w.f.manufacturer.id, idempotencyKey: nil, digest: "03")
        #expect(result.accepted == 1)
        #expect(try await w.quality.reports(period: w.day).isEmpty)
    }

    @Test("grades follow the rules: the best grade whose thresholds all hold, with why each better one was missed")
    func grading() throws {
        let rules = try #require(try PolicyLoader.load(directory: Repository.policies).policy.quality)
        var f = QualityFigures.of(
            {
                var c = QualityCounts()
                c.offered = 1_000; c.accepted = 1_000; c.optionalPresent = 950; c.optionalDeclared = 1_000
                c.lag[QualityLag.bucket(milliseconds: 600_000)] = 1_000
                c.newest = Timestamp(milliseconds: 86_400_000 - 3_600_000)
                c.devicesReporting = 9
                return c
            }(), period: QualityPeriod(fromDay: 0, toDay: 1), declaredCycleSeconds: 3_600, devicesConfirmed: 10,
            now: Timestamp(milliseconds: 10 * 86_400_000))
        #expect(rules.grade(f).0 == .a)
        #expect(rules.grade(f).1.isEmpty)
        f.validityBP = 9_900
        #expect(rules.grade(f).0 == .b)
        #expect(rules.grade(f).1 == ["not A: validity 99.00% < 99.50%"])
        f.coverageBP = 4_000
        f.lagP95Seconds = 172_800
        #expect(rules.grade(f).0 == .c)
        #expect(
            rules.grade(f).1 == [
                "not A: validity 99.00% < 99.50%; lag p95 172800 s > 3600 s; coverage 40.00% < 80.00%",
                "not B: lag p95 172800 s > 86400 s; coverage 40.00% < 50.00%",
            ])
        f.ageCyclesMilli = 31_000
        #expect(rules.grade(f).0 == QualityGrade.none)
        #expect(rules.grade(f).1.last == "not C: newest record 31.000 update cycles old > 30.000")
        #expect(QualityGrade.a.meets(.b) && QualityGrade.b.meets(.b) && !QualityGrade.c.meets(.b) && !QualityGrade.none.meets(.c))
    }

    /// The shipped rules with a minimum a test's few records reach, and (`lenientC`) a grade C
    /// that the known history meets.
    static func lowMinimumPolicy(lenientC: Bool = false) throws -> LoadedPolicy {
        var files = try PolicyLoader.files(in: Repository.policies)
        files = files.map { name, text in
            guard name == "quality.yaml" else { return (name, text) }
            var changed = text.replacingOccurrences(of: "minimumRecords: 100", with: "minimumRecords: 5")
            if lenientC {
                changed = changed.replacingOccurrences(of: "C: { validity: 90,", with: "C: { validity: 50,").replacingOccurrences(
                    of: "duplicates: 5,", with: "duplicates: 50,")
            }
            return (name, changed)
        }
        return try PolicyLoader.load(files: files)
    }

    @Test(
        "a request with minQuality receives only records whose manufacturer and item hold a certificate that meets it", arguments: Backend.available)
    func minQuality(_ backend: Backend) async throws {
        let w = try await World(backend)
        try await w.f.broker.activatePolicy(try Self.lowMinimumPolicy(lenientC: true))
        try await w.pushHistory()
        // An error report of wm-1: its item gets a certificate too, without enough records for a grade.
        let error = TelemetryRecord(device: "wm-1", item: "appliance.errors", time: w.t, values: ["code": .string("E4"), "severity": .integer(2)])
        _ = try await w.transfer.push([error], manufacturer: w.f.manufacturer.id, idempotencyKey: nil, digest: "04")
        w.f.clock.advance(days: 1)
        let issued = try await w.quality.certify(period: w.day)
        let operation = try #require(issued.first { $0.certificate.item == "appliance.operation" })
        #expect(operation.certificate.grade == .c)
        #expect(issued.first { $0.certificate.item == "appliance.errors" }?.certificate.grade == QualityGrade.none)

        func pull(minimum: QualityGrade) async throws -> (TransferService.Delivery, String) {
            let terms = ConsentTerms(
                category: "appliance", items: ["appliance.operation", "appliance.errors"], purpose: "predictive-maintenance",
                dataFrom: w.t.adding(days: -30), dataTo: w.t.adding(days: 30), durationDays: 90, onceOff: false, retentionDays: 30,
                incentiveKRW: 0, minQuality: minimum)
            let consent = try await w.f.grant(try await w.f.request(terms: terms), by: w.owners[0])
            return (try await w.transfer.pull(consentID: consent.id, recipient: w.f.recipient.id, limit: 100), consent.id)
        }
        // wm-1's operation records (3 of the first batch, 1 of the second) and none of its error reports.
        let (c, consentC) = try await pull(minimum: .c)
        #expect(c.records.count == 4)
        #expect(c.records.allSatisfy { $0.item == "appliance.operation" })
        #expect(c.certificates == [operation.certificate.certificateID])
        let seq = try #require(c.ledgerSequence)
        let logged = try #require(try await w.f.store.events(from: seq, limit: 1).first)
        guard case .dataDelivered(let delivered) = try DomainEvent.decode(logged.event) else { Issue.record("not a delivery"); return }
        #expect(delivered.certificates == [operation.certificate.certificateID], "the ledger names the certificate the delivery relied on")
        // A repeat from the same cursor is the same delivery, relying on the same certificate.
        let again = try await w.transfer.pull(consentID: consentC, recipient: w.f.recipient.id, limit: 100)
        #expect(again.replayed && again.deliveryID == c.deliveryID && again.digest == c.digest && again.certificates == c.certificates)
        // Nothing meets B: nothing is delivered, and the cursor passes over what was read.
        let (b, _) = try await pull(minimum: .b)
        #expect(b.records.isEmpty && b.deliveryID == nil)
        // A grade of `none`, or a policy without quality rules, is refused when the request is made.
        var terms = w.f.vehicleTerms()
        terms.minQuality = QualityGrade.none
        #expect(throws: ConsentError.self) {
            try ConsentRules.checkTerms(terms, policy: try PolicyLoader.load(directory: Repository.policies).policy)
        }
        terms.minQuality = .b
        var ungraded = try PolicyLoader.load(directory: Repository.policies).policy
        ungraded.quality = nil
        do {
            try ConsentRules.checkTerms(terms, policy: ungraded)
            Issue.record("a minQuality under a policy without quality rules was accepted")
        } catch {
            #expect(error.code == .qualityNotGraded)
        }
    }

    @Test("a certificate is issued once per period, verifies offline, and fails after any change", arguments: Backend.available)
    func certificates(_ backend: Backend) async throws {
        let w = try await World(backend)
        let policy = try Self.lowMinimumPolicy()
        try await w.f.broker.activatePolicy(policy)
        try await w.pushHistory()
        // The day has not ended: no certificate for it yet.
        await #expect(throws: ConsentError.self) { try await w.quality.certify(period: w.day) }
        w.f.clock.advance(days: 1)
        let issued = try await w.quality.certify(period: w.day)
        #expect(issued.count == 1)
        let signed = try #require(issued.first)
        #expect(signed.certificate.grade == QualityGrade.none, "validity 77.77% is under C's 90%")
        #expect(signed.certificate.policyHash == policy.hash)
        #expect(signed.certificate.figures.accepted == 7)
        // Once per period: certifying again returns the same certificate and appends nothing.
        let head = try await w.f.store.head().sequence
        #expect(try await w.quality.certify(period: w.day).map(\.certificate.certificateID) == [signed.certificate.certificateID])
        #expect(try await w.f.store.head().sequence == head)
        // Offline: the signature, the grade under the named policy, and the log proof.
        let data = try JSONEncoder().encode(signed)
        let key = w.f.brokerIdentity.publicKeys.signingKey
        _ = try SignedQualityCertificate.verify(data, brokerKey: key, policy: policy)
        #expect(signed.logProof != nil)
        // Any change fails: a figure, the grade, the period.
        var changed = signed
        changed.certificate.figures.accepted = 8
        #expect(throws: SignedAnalysis.Failure.self) { try SignedQualityCertificate.verify(try JSONEncoder().encode(changed), brokerKey: key) }
        changed = signed
        changed.certificate.grade = .a
        #expect(throws: SignedAnalysis.Failure.self) { try SignedQualityCertificate.verify(try JSONEncoder().encode(changed), brokerKey: key) }
        changed = signed
        changed.certificate.period.toDay += 1
        #expect(throws: SignedAnalysis.Failure.self) { try SignedQualityCertificate.verify(try JSONEncoder().encode(changed), brokerKey: key) }
        // Another key, and another policy's rules, fail too.
        #expect(throws: SignedAnalysis.Failure.self) {
            try SignedQualityCertificate.verify(data, brokerKey: try Identity.generate(id: "x").publicKeys.signingKey)
        }
        #expect(throws: SignedAnalysis.Failure.self) {
            try SignedQualityCertificate.verify(data, brokerKey: key, policy: try PolicyLoader.load(directory: Repository.policies))
        }
        // Served again by id, and listed; the catalogue shows its grade.
        #expect(try await w.quality.certificate(signed.certificate.certificateID).certificate == signed.certificate)
        #expect(try await w.quality.certificates(manufacturer: w.f.manufacturer.id, item: nil, limit: 10).count == 1)
        let catalogue = try await CatalogueService(broker: w.f.broker).catalogue()
        let item = try #require(catalogue.categories.flatMap(\.items).first { $0.id == "appliance.operation" })
        #expect(item.holders.map(\.manufacturer) == [w.f.manufacturer.id])
        #expect(item.holders.first?.certificate == signed.certificate.certificateID)
        #expect(item.holders.first?.grade == QualityGrade.none)
        await #expect(throws: ConsentError.self) { try await w.quality.certificate("qc_nothing") }
    }

    @Test("the catalogue counts devices and consenting people rounded, and leaves out counts under 10", arguments: Backend.available)
    func catalogueCounts(_ backend: Backend) async throws {
        let w = try await World(backend)
        try await w.pushHistory()
        var catalogue = try await CatalogueService(broker: w.f.broker).catalogue()
        var holder = try #require(catalogue.categories.flatMap(\.items).first { $0.id == "appliance.operation" }?.holders.first)
        #expect(holder.confirmedDevices == nil, "4 confirmed devices are fewer than 10")
        #expect(holder.consentingPersons == nil)
        // 11 more people with confirmed machines, 12 of 15 granting a request for operation data.
        let terms = ConsentTerms(
            category: "appliance", items: ["appliance.operation", "appliance.errors"], purpose: "predictive-maintenance",
            dataFrom: w.t.adding(days: -30), dataTo: w.t.adding(days: 30), durationDays: 90, onceOff: false, retentionDays: 30,
            incentiveKRW: 0)
        let request = try await w.f.request(terms: terms)
        for i in 0..<11 {
            let person = try await w.f.person()
            try await w.f.broker.submit(
                w.f.manufacturer.sign(
                    .deviceAttested(DeviceAttested(deviceID: "wm-x\(i)", manufacturer: w.f.manufacturer.id, subject: person.id)),
                    at: w.f.clock.now()))
            try await w.f.broker.submit(
                person.sign(
                    .deviceConfirmed(DeviceConfirmed(deviceID: "wm-x\(i)", manufacturer: w.f.manufacturer.id, subject: person.id)),
                    at: w.f.clock.now()))
            if i < 10 { try await w.f.grant(request, by: person) }
        }
        w.f.clock.advance(seconds: CatalogueService.freshSeconds)
        catalogue = try await CatalogueService(broker: w.f.broker).catalogue()
        holder = try #require(catalogue.categories.flatMap(\.items).first { $0.id == "appliance.operation" }?.holders.first)
        #expect(holder.confirmedDevices == 20, "15 rounded to the nearest 10, half up")
        #expect(holder.consentingPersons == 10)
        #expect(holder.name == "Hanbit Motors")
        let item = try #require(catalogue.categories.flatMap(\.items).first { $0.id == "appliance.operation" })
        #expect(item.description?.isEmpty == false && item.updateCycleSeconds == 3_600 && !item.examples.isEmpty)
        #expect(item.related == ["appliance.errors", "appliance.settings"])
        #expect(item.purposes.contains("predictive-maintenance"))
        // A filter narrows it.
        let energy = catalogue.filtered(category: "energy", purpose: nil)
        #expect(energy.categories.map(\.id) == ["energy"])
        #expect(catalogue.filtered(category: nil, purpose: "demand-response").categories.flatMap(\.items).allSatisfy { $0.category == "energy" })
        #expect(CatalogueRounding.shown(9) == nil && CatalogueRounding.shown(10) == 10 && CatalogueRounding.shown(14) == 10)
    }

    @Test("a catalogue past its 10 s is served at once while the next is made, which the next request gets", arguments: Backend.available)
    func catalogueServedWhileRemade(_ backend: Backend) async throws {
        let w = try await World(backend)
        try await w.pushHistory()
        let service = CatalogueService(broker: w.f.broker)
        let first = try await service.catalogue()
        w.f.clock.advance(seconds: CatalogueService.freshSeconds - 1)
        #expect(try await service.catalogue().generatedAt == first.generatedAt, "still fresh")
        await service.settle()
        #expect(try await service.catalogue().generatedAt == first.generatedAt, "nothing was being made")
        w.f.clock.advance(seconds: 1)
        #expect(try await service.catalogue().generatedAt == first.generatedAt, "the old one, without waiting for the next")
        await service.settle()
        #expect(try await service.catalogue().generatedAt == w.f.clock.now(), "the next one, made when the old one was asked for")
    }
}
