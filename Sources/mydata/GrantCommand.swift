import ArgumentParser
import Broker
import Consent
import Foundation
import Ledger

struct GrantCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grant",
        abstract: "Agree to a consent request, signed with your key.",
        discussion: "Shows in plain words who gets what, for what and until when, and asks before signing unless --yes.")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The request id, from `mydata requests`.")
    var requestID: String
    @Flag(name: .long, help: "Grant without asking.")
    var yes = false
    @Flag(name: .long, help: "Confirm that you agree to share sensitive (health) data.")
    var confirmSensitive = false

    func run() async throws {
        try await reportingErrors {
            let (subject, broker) = try await Personal.open(global)
            try await broker.session {
                guard let request = try await broker.request(requestID) else {
                    throw ConsentError(.requestNotFound, "request \(requestID) does not exist; list open requests with `mydata requests`")
                }
                let policy = try await broker.activePolicy()
                // The person signs the contract's hash: it must be the hash of the text shown, rendered here.
                try StandardContract.check(request.terms.contract, terms: request.terms, recipient: request.recipient, policy: policy.policy)
                let recipientName = try await broker.partyName(request.recipient)
                let sensitive = policy.policy.category(request.terms.category)?.sensitive ?? false
                let now = broker.now()
                if !global.json || !yes {
                    FileHandle.standardError.write(Data(Self.describe(request, recipientName: recipientName, policy: policy, now: now).utf8))
                }
                var sensitiveConfirmed = confirmSensitive
                if !yes {
                    guard Terminal.stdinIsTTY else {
                        throw CLIError(message: "not at a terminal: re-run with --yes to grant without a prompt", exitCode: ExitCodes.aborted)
                    }
                    guard Terminal.ask("Grant this consent? [yes/no] ")?.lowercased() == "yes" else {
                        throw CLIError(message: "not granted; nothing was signed", exitCode: ExitCodes.aborted)
                    }
                    if sensitive && !sensitiveConfirmed {
                        sensitiveConfirmed =
                            Terminal.ask("This is sensitive \(request.terms.category) data. Type 'sensitive' to confirm: ") == "sensitive"
                    }
                }
                let identity = try broker.signer ?? Person.identity(global)
                guard identity.id == subject else { throw CLIError(message: "the key file changed while running", exitCode: ExitCodes.keyProblem) }
                let grant = ConsentDrafts.grant(of: request, by: subject, policy: policy, now: broker.now(), sensitiveConfirmed: sensitiveConfirmed)
                let events = try await broker.withRegistration(identity, [try identity.sign(grant, at: broker.now())])
                let sequences = try await broker.submit(events, as: .grant)
                guard case .consentGranted(let g) = grant else { return }
                if global.json {
                    struct Granted: Encodable { var consent: String; var expiresAt: Timestamp; var ledgerSequence: UInt64 }
                    try Terminal.printJSON(Granted(consent: g.consentID, expiresAt: g.expiresAt, ledgerSequence: sequences.last ?? 0))
                } else {
                    print("Granted. Consent \(g.consentID), valid until \(g.expiresAt).")
                    print("Keep a receipt: mydata receipt \(g.consentID) > receipt.json   Revoke any time: mydata revoke \(g.consentID)")
                }
            }
        }
    }

    /// The programme's reward for these terms, by the policy's money rules, as one line (or none).
    static func rewardLine(_ terms: ConsentTerms, policy: PolicySet) -> String {
        guard let money = policy.accounting else { return "" }
        let amount = money.reward(category: terms.category, durationDays: terms.durationDays, onceOff: terms.onceOff)
        guard amount > 0 else { return "" }
        let when = money.rewardPostedOn == .grant ? "paid when you grant" : "reserved when you grant, paid at the first use of your data"
        return "Reward:     \(amount) won from the programme (\(when); `mydata rewards`)\n"
    }

    static func describe(_ r: ConsentRequest, recipientName: String?, policy: ActivePolicy, now: Timestamp) -> String {
        let who = recipientName.map { "\($0) (\(r.recipient))" } ?? r.recipient
        let items = r.terms.items.map { id in "  - \(policy.policy.item(id)?.title ?? id) (\(id))" }.joined(separator: "\n")
        let purpose = policy.policy.purpose(r.terms.purpose)?.title ?? r.terms.purpose
        let until = ConsentRules.expiry(of: r.terms, grantedAt: now)
        let duration = r.terms.onceOff ? "once, within 24 hours" : "for \(r.terms.durationDays) days"
        let analysis = r.terms.accessMode == .analysis
        var text = """
            \(who) asks \(analysis ? "to analyse" : "for") your \(r.terms.category) data:
            \(items)
            Purpose:    \(purpose)
            Data from:  \(r.terms.dataFrom) to \(r.terms.dataTo)
            Access:     \(duration), until \(until)
            \(analysis ? "" : "Retention:  they may keep the data \(r.terms.retentionDays) days\n")Incentive:  \(r.terms.incentiveKRW) KRW offered by \(r.recipient)
            \(rewardLine(r.terms, policy: policy.policy))Policy:     \(policy.version)

            """
        if let reference = r.terms.contract, let template = policy.policy.contract(reference.template) {
            text += "Contract:   \(template.title) (\(template.id)); its key clauses:\n"
            let clauses = StandardContract.clauses(
                template, parameters: reference.parameters, terms: r.terms, recipient: r.recipient, policy: policy.policy)
            for clause in clauses where clause.key { text += "  - \(clause.title): \(clause.text)\n" }
            text += "            The whole contract: `mydata contract show \(reference.hash)`\n"
        }
        if let grade = r.terms.minQuality {
            text += "Quality:    only records whose maker holds a quality certificate of grade \(grade.rawValue) or better for the item\n"
        }
        if analysis {
            let rule = policy.policy.analysis?.rule(category: r.terms.category, purpose: r.terms.purpose)
            text += """
                ANALYSIS ONLY: \(r.recipient) never receives your records. They stay in the broker, where
                your data is only counted into statistics over at least \(rule?.k ?? AnalysisLimits.kDefault) people at a time,
                with random noise added so that no result reveals you. You will see each analysis that
                counted you in `mydata access-log`, and revoking stops it at once.

                """
        }
        if policy.policy.category(r.terms.category)?.sensitive == true {
            text += "This is SENSITIVE data: sharing it needs your explicit confirmation.\n"
        }
        return text
    }
}
