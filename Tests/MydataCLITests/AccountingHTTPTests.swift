import Accounting
import Broker
import BrokerServer
import Consent
import Foundation
import MyDataClient
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Ledger
import Sodium
import TestSupport
import Testing

/// Money end to end over HTTP against `mydata serve`: a voucher issued by the operator, a
/// consent granted, pulls charged to the voucher first, the person's reward paid, a revocation
/// voiding what is still reserved, and the books verified.
struct AccountingHTTPTests {
    struct Accounts: Decodable { var accounts: [AccountView] }
    struct Statement: Decodable { var transfers: [StatementLine] }

    static func account(_ client: BrokerHTTPClient, kind: AccountKind, id: String? = nil) async throws -> AccountView {
        let list = try await client.send("GET", "/v1/accounts").decode(Accounts.self).accounts
        return try #require(list.first { $0.kind == kind && (id == nil || $0.id == id) }, "\(list.map(\.id))")
    }

    @Test("voucher issued → consent granted → pulls charged vouchers first → reward paid → a revocation voids what is pending")
    func moneyOverHTTP() async throws {
        let broker = try RunningBroker()
        let recipientIdentity = try broker.party("safedrive-insurance")
        let recipient = BrokerHTTPClient(baseURL: broker.baseURL, identity: recipientIdentity)
        let maker = BrokerHTTPClient(baseURL: broker.baseURL, identity: try broker.party("hanbit-motors"))
        let person = try Identity.generateSubject()
        let me = BrokerHTTPClient(baseURL: broker.baseURL, identity: person)

        // The operator issues a voucher that expires before the demo one: it is spent first.
        let issued = try broker.cli.run([
            "admin", "voucher", "issue", "--recipient", "safedrive-insurance", "--amount", "25", "--days", "30", "--id", "e2e",
        ])
        #expect(issued.status == 0, "\(issued.stderr)")
        let demoVoucher = try await Self.account(recipient, kind: .voucher, id: AccountNames.voucher("safedrive-insurance", "demo"))

        // The person grants; the reward is reserved.
        let (grantBody, consentID) = try await HTTPAPITests.grantBody(broker, person: person)
        #expect(try await me.send("POST", "/v1/consents", body: grantBody).status == 201)
        let reserved = try await Self.account(me, kind: .rewards)
        #expect(reserved.pendingIn == 6_000, "180 days of vehicle data: 6 × 1,000 won reserved")
        #expect(reserved.available == 0)

        // A confirmed car, ten records, one pull: 10 + 10 × 2 = 30 won, 25 from the e2e voucher, 5 from the demo one.
        let now = Timestamp.now()
        let attest = try maker.identity.sign(
            .deviceAttested(DeviceAttested(deviceID: "car-m", manufacturer: "hanbit-motors", subject: person.id)), at: now)
        #expect(try await maker.send("POST", "/v1/devices", body: try HTTPAPITests.submit([attest])).status == 201)
        let confirm = try person.sign(
            .deviceConfirmed(DeviceConfirmed(deviceID: "car-m", manufacturer: "hanbit-motors", subject: person.id)), at: now)
        #expect(try await me.send("POST", "/v1/devices", body: try HTTPAPITests.submit([confirm])).status == 201)
        let records = (0..<10).map { TransferTests.record("car-m", "vehicle.driving", now.adding(seconds: Int64(-100 + $0)), km: Double($0)) }
        #expect(try await maker.send("POST", "/v1/telemetry", body: try TransferTests.body(TransferTests.Push(records: records))).status == 201)
        let pull = try await recipient.send("GET", "/v1/consents/\(consentID)/data")
        #expect(pull.status == 200, "\(String(decoding: pull.body, as: UTF8.self))")
        #expect(try await Self.account(recipient, kind: .voucher, id: AccountNames.voucher("safedrive-insurance", "e2e")).available == 0)
        #expect(try await Self.account(recipient, kind: .voucher, id: demoVoucher.id).available == demoVoucher.available - 5)
        let paid = try await Self.account(me, kind: .rewards)
        #expect(paid.pendingIn == 0)
        #expect(paid.available == 6_000 + 9, "the reward is paid at the first delivery, with the person's 30% share")
        let maker30 = try await Self.account(maker, kind: .revenue)
        #expect(maker30.balance == 15)

        // A second consent, revoked before any delivery: its reservation is voided.
        let offers = try await me.send("GET", "/v1/consent-requests").decode(RequestList.self).requests.map(\.request)
        let fixit = try #require(offers.first { $0.recipient == "fixit-ai" })
        let policy = try await broker.policy()
        let grant = ConsentDrafts.grant(of: fixit, by: person.id, policy: policy, now: .now(), sensitiveConfirmed: false)
        #expect(try await me.send("POST", "/v1/consents", body: try HTTPAPITests.submit([try person.sign(grant, at: .now())])).status == 201)
        #expect(try await Self.account(me, kind: .rewards).pendingIn == 9_100, "365 days of appliance data: 13 started months × 700 won")
        let fixitConsent = Identifiers.consentID(requestID: fixit.id, subject: person.id)
        let revoke = try person.sign(.consentRevoked(ConsentRevoked(consentID: fixitConsent, subject: person.id)), at: .now())
        #expect(try await me.send("POST", "/v1/consents/\(fixitConsent)/revoke", body: try HTTPAPITests.submit([revoke])).status == 200)
        #expect(try await Self.account(me, kind: .rewards).pendingIn == 0)

        // The person's statement shows every step; another party cannot read it.
        let rewardsID = AccountNames.rewards(person.id)
        let lines = try await me.send("GET", "/v1/accounts/\(rewardsID)/transfers").decode(Statement.self).transfers
        #expect(lines.map(\.phase) == [.pending, .post, .posted, .pending, .void], "\(lines.map { "\($0.transfer) \($0.phase)" })")
        #expect(try await recipient.send("GET", "/v1/accounts/\(rewardsID)/transfers").status == 404)

        // Redeeming more than the person holds is refused; a retry of a redemption changes nothing.
        struct Redeem: Encodable { var id: String; var amountKRW: Int64; var manufacturer: String; var kind: String }
        let tooMuch = try await me.send(
            "POST", "/v1/rewards/redemptions",
            body: try JSONEncoder().encode(Redeem(id: "r0", amountKRW: 1_000_000, manufacturer: "hanbit-motors", kind: "consumables")))
        #expect(tooMuch.status == 422)
        let body = try JSONEncoder().encode(Redeem(id: "r1", amountKRW: 2_000, manufacturer: "hanbit-motors", kind: "purchase-subsidy"))
        #expect(try await me.send("POST", "/v1/rewards/redemptions", body: body).status == 201)
        #expect(try await me.send("POST", "/v1/rewards/redemptions", body: body).status == 200)
        #expect(try await Self.account(me, kind: .rewards).available == 6_009 - 2_000)

        broker.stop()
        let verify = try broker.cli.run(["admin", "verify"])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        #expect(verify.stdout.contains("Accounts add up"))
        let csv = try broker.cli.run(["admin", "statement", rewardsID, "--csv"])
        #expect(csv.stdout.hasPrefix(StatementLine.csvHeader))
        #expect(csv.stdout.split(separator: "\n").count == 1 + 6)
    }
}
