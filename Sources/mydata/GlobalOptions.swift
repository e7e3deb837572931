import ArgumentParser
import Foundation

/// Options every command takes.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The broker's data directory (default: $MYDATA_DATA_DIR, else ./demo-data).", valueName: "dir"))
    var dataDir: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Where your key file lives (default: $MYDATA_CONFIG_DIR, else $XDG_CONFIG_HOME/mydata or ~/.config/mydata).", valueName: "dir"))
    var configDir: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The ledger's store: a postgres://user:password@host:5432/database URL (default: $MYDATA_STORE, else the SQLite file in the data directory).",
            valueName: "url"))
    var store: String?

    @Option(
        name: .long,
        help: ArgumentHelp("Talk to a broker over HTTP at this URL instead of a local data directory (default: $MYDATA_BROKER).", valueName: "url"))
    var broker: String?

    @Flag(name: .long, help: "Print JSON instead of a table.")
    var json = false

    @Flag(
        name: .long,
        help:
            "Use a PostgreSQL server whose fsync or full_page_writes is off, which a crash of it can make lose acknowledged writes (refused without this flag)."
    )
    var allowAsyncCommit = false

    var resolvedBroker: String? {
        (broker ?? ProcessInfo.processInfo.environment["MYDATA_BROKER"]).flatMap { $0.isEmpty ? nil : $0 }
    }

    var resolvedStore: String? {
        (store ?? ProcessInfo.processInfo.environment["MYDATA_STORE"]).flatMap { $0.isEmpty ? nil : $0 }
    }

    var resolvedDataDir: String {
        dataDir ?? ProcessInfo.processInfo.environment["MYDATA_DATA_DIR"] ?? "demo-data"
    }

    var resolvedConfigDir: URL {
        let env = ProcessInfo.processInfo.environment
        if let configDir { return URL(fileURLWithPath: configDir, isDirectory: true) }
        if let dir = env["MYDATA_CONFIG_DIR"] { return URL(fileURLWithPath: dir, isDirectory: true) }
        if let xdg = env["XDG_CONFIG_HOME"], !xdg.isEmpty { return URL(fileURLWithPath: xdg).appendingPathComponent("mydata", isDirectory: true) }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".config/mydata", isDirectory: true)
    }

    var identityKeyURL: URL { resolvedConfigDir.appendingPathComponent("identity.key") }

    /// The global options that take a value, and the flags.
    static let valued: Set<String> = ["--data-dir", "--config-dir", "--store", "--broker"]
    static let flags: Set<String> = ["--json", "--allow-async-commit"]

    /// The arguments with the global options written before the subcommand (`mydata --broker URL
    /// grant req_1`) moved after it, where every command declares them; the parser reads options
    /// only after the command that declares them. Stops at the first argument that is not a global
    /// option; a value-taking option keeps its value (`--broker URL` or `--broker=URL`).
    static func hoisted(_ arguments: [String]) -> [String] {
        var leading: [String] = [], index = 0
        while index < arguments.count {
            let argument = arguments[index], name = String(argument.prefix { $0 != "=" })
            if flags.contains(argument) || (valued.contains(name) && argument.contains("=")) {
                leading.append(argument); index += 1
            } else if valued.contains(argument), index + 1 < arguments.count {
                leading += arguments[index...index + 1]; index += 2
            } else {
                break
            }
        }
        guard !leading.isEmpty else { return arguments }
        var rest = Array(arguments[index...])
        // Before a `--`, after which everything is a positional argument.
        rest.insert(contentsOf: leading, at: rest.firstIndex(of: "--") ?? rest.endIndex)
        return rest
    }
}
