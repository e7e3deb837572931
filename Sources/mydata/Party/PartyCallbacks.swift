import ArgumentParser
import Broker
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MyDataWire
import NIOCore
import Synchronization

struct PartyCallbacks: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "callbacks", abstract: "Revocation notices the broker sends you.", subcommands: [PartyCallbacksListen.self])
}

struct PartyCallbacksListen: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "listen",
        abstract: "Receive the broker's signed revocation notices: print each as a JSON line, or run a command for it.",
        discussion: """
            Checks each notice's RFC 9421 signature against the broker key (--broker-key), its Content-Digest, its freshness and that it was not received before; answers 204 to a good one (the broker then stops sending it) and 401 to anything else. With --exec, runs the command with the notice in $MYDATA_CONSENT_ID, $MYDATA_RECIPIENT and $MYDATA_LEDGER_SEQUENCE and its JSON on stdin, and answers 500 when the command fails (the broker sends the notice again later). The operator registers the URL: `mydata admin party callback <your id> --url http://HOST:PORT/`.
            """)
    @OptionGroup var global: GlobalOptions
    @OptionGroup var party: PartyOptions
    @Option(name: .long, help: "The address to listen on.") var host = "127.0.0.1"
    @Option(name: .long, help: "The port to listen on (0: any free port, printed).") var port = 8090
    @Option(name: .long, help: ArgumentHelp("A command run for each notice (through /bin/sh -c).", valueName: "command")) var exec: String?
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The callback URL as registered with the broker (default: http://HOST:PORT/ of this listener); notices are checked against it.",
            valueName: "url"))
    var url: String?
    @Option(
        name: .long,
        help: ArgumentHelp("Accept notices for this recipient only (default: the party of --key, when given).", valueName: "id"))
    var recipient: String?

    func run() async throws {
        try await reportingErrors {
            guard let path = party.brokerKeyPath else {
                throw CLIError(
                    message: "give a trusted copy of the broker's broker.pub with --broker-key FILE or MYDATA_BROKER_KEY",
                    exitCode: ExitCodes.keyProblem)
            }
            let brokerKey = try DataDirectory.readPublicKeys(URL(fileURLWithPath: path), id: "broker").verifyingKey()
            let seen = NonceMemory(), exec = self.exec
            let expected = try recipient ?? (party.keyPath != nil ? party.identity().id : nil)
            if let url, URL(string: url)?.host == nil { throw CLIError(message: "--url must be an http(s) URL: \(url)", exitCode: ExitCodes.failure) }
            // The URL the broker signed: the registered one, not one built from the request's own
            // Host header (which whoever sends it chooses). Known once the port is (with --port 0).
            let registered = Mutex<URL?>(url.flatMap(URL.init(string:)))
            let router = Router()
            let receive: @Sendable (Request, BasicRequestContext) async throws -> Response = { request, context in
                let body = try await request.body.collect(upTo: 65_536)
                var fields: [String: String] = [:]
                for field in request.headers { fields[field.name.canonicalName] = field.value }
                guard let url = registered.withLock({ $0 }) else { return Response(status: .serviceUnavailable) }
                let notice: RevocationNotice
                do {
                    notice = try RevocationNotice.verify(
                        method: request.method.rawValue, url: url, fields: fields, body: Array(body.readableBytesView), brokerKey: brokerKey,
                        seen: seen)
                    if let expected, notice.recipient != expected {
                        throw CLIError(message: "the notice is for \(notice.recipient), not \(expected)", exitCode: ExitCodes.refused)
                    }
                } catch {
                    FileHandle.standardError.write(Data("mydata: refused a notice: \(error)\n".utf8))
                    return Response(status: .unauthorized)
                }
                let line = String(decoding: try JSONEncoder.sorted.encode(notice), as: UTF8.self)
                guard let exec else {
                    FileHandle.standardOutput.write(Data((line + "\n").utf8))
                    return Response(status: .noContent)
                }
                return Response(status: try Self.run(exec, notice: notice, json: line) ? .noContent : .internalServerError)
            }
            // Any path: the root (which `**` does not match) and below.
            router.post("/", use: receive)
            router.post("**", use: receive)
            var logger = Logger(label: "mydata.callbacks")
            logger.logLevel = .warning
            let app = Application(
                router: router, configuration: .init(address: .hostname(host, port: port), serverName: "mydata-callbacks"),
                onServerRunning: { channel in
                    let listening = URL(string: "http://\(host):\(channel.localAddress?.port ?? port)/")
                    let checked = registered.withLock { url in
                        if url == nil { url = listening }
                        return url
                    }
                    FileHandle.standardError.write(
                        Data(
                            "Listening for revocation notices on \(listening?.absoluteString ?? "?"), checked as sent to \(checked?.absoluteString ?? "?")\n"
                                .utf8))
                },
                logger: logger)
            try await app.runService()
        }
    }

    /// Runs the notice's command; true when it exits 0.
    static func run(_ command: String, notice: RevocationNotice, json: String) throws -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        var environment = ProcessInfo.processInfo.environment
        environment["MYDATA_CONSENT_ID"] = notice.consentID
        environment["MYDATA_RECIPIENT"] = notice.recipient
        environment["MYDATA_LEDGER_SEQUENCE"] = "\(notice.ledgerSequence)"
        process.environment = environment
        let input = Pipe()
        process.standardInput = input
        try process.run()
        input.fileHandleForWriting.write(Data((json + "\n").utf8))
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        return process.terminationStatus == 0
    }
}

extension JSONEncoder {
    static var sorted: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
