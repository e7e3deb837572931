import ArgumentParser
import Consent
import Foundation

struct ContractCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "contract", abstract: "The standard contracts your consents and requests are made under.",
        subcommands: [ContractShow.self])
}

struct ContractShow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Print the whole standard contract with this hash, as you agreed to it (from your consents, or the requests you may grant).")

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The contract's hash (64 hex digits), as `mydata grant` and the receipt give it.") var hash: String

    func validate() throws {
        guard hash.count == 64, hash.allSatisfy(\.isHexDigit) else { throw ValidationError("the hash is 64 hex digits") }
    }

    func run() async throws {
        try await reportingErrors {
            let (subject, broker) = try await Personal.open(global)
            let (terms, recipient, policy) = try await broker.session { () -> (ConsentTerms?, String?, ActivePolicy) in
                let wanted = hash.lowercased()
                let consents = try await broker.consents(subject: subject, limit: 500)
                // A consent's text renders from the policy it was granted under, whatever is active now.
                if let c = consents.first(where: { $0.terms.contract?.hash == wanted }) {
                    return (c.terms, c.recipient, try await broker.policy(hash: c.policyHash))
                }
                let requests = try await broker.requests(for: subject, limit: 500)
                let r = requests.first { $0.terms.contract?.hash == wanted }
                return (r?.terms, r?.recipient, try await broker.activePolicy())
            }
            guard let terms, let recipient, let reference = terms.contract, let template = policy.policy.contract(reference.template) else {
                throw CLIError(
                    message: "no consent of yours and no open request names a contract with hash \(hash); `mydata consents` lists yours",
                    exitCode: ExitCodes.refused)
            }
            let text = StandardContract.render(template, parameters: reference.parameters, terms: terms, recipient: recipient, policy: policy.policy)
            guard StandardContract.hash(text) == reference.hash else {
                throw CLIError(
                    message:
                        "the request was made under a template that policy \(policy.version) has changed since, so it can no longer be granted; ask the recipient for a new request",
                    exitCode: ExitCodes.refused)
            }
            if global.json {
                struct Shown: Encodable { var hash: String; var template: String; var parameters: [String: String]; var text: String }
                try Terminal.printJSON(Shown(hash: reference.hash, template: reference.template, parameters: reference.parameters, text: text))
            } else {
                print(text, terminator: "")
                print("\nBLAKE2b-256 of the text above: \(reference.hash)")
            }
        }
    }
}
