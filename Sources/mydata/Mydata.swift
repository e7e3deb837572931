import ArgumentParser

@main
struct Mydata: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mydata",
        abstract: "Share your connected products' data with services you choose, under consent you sign and can revoke.",
        discussion: """
            Start with `mydata key init`, then `mydata requests` to see who asks for what, `mydata grant <id>`
            to agree, `mydata consents` and `mydata revoke <id>` to change your mind.
            Exit codes are listed in docs/cli.md.
            """,
        subcommands: [
            KeyCommand.self, RequestsCommand.self, GrantCommand.self, ConsentsCommand.self, RevokeCommand.self,
            ReceiptCommand.self, AccessLogCommand.self, RewardsCommand.self, DevicesCommand.self, EraseCommand.self, ServeCommand.self,
            AdminCommand.self, PartyCommand.self, WitnessCommand.self, LogCommand.self, AnalysisCommand.self,
            CatalogCommand.self, QualityCommand.self, ContractCommand.self,
        ]
    )

    /// As `AsyncParsableCommand.main()`, after moving global options written before the
    /// subcommand to after it (`GlobalOptions.hoisted`).
    static func main() async {
        do {
            var command = try parseAsRoot(GlobalOptions.hoisted(Array(CommandLine.arguments.dropFirst())))
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
