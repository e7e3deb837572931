import ArgumentParser

struct AdminCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin", abstract: "Operator commands, run on the broker's host.",
        subcommands: [AdminInit.self, AdminPolicy.self, AdminParty.self, AdminRequest.self, AdminDevice.self,
                      AdminVerify.self, AdminCheckpoint.self, AdminRebuild.self])
}
