import ArgumentParser
import Broker
import BrokerServer
import Foundation
import Hummingbird
import Ledger
import Ports
import ServiceLifecycle
import Vault

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the broker's HTTP API (signed requests, RFC 9421) on its store.",
        discussion: "Stops gracefully on SIGTERM or SIGINT: in-flight requests finish, a checkpoint is signed, the store is closed.")

    @OptionGroup var global: GlobalOptions
    @Option(name: .long, help: "Address to listen on.") var host = "127.0.0.1"
    @Option(name: .long, help: "Port to listen on (0 picks a free one).") var port = 8080
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The public trust store: a folder of <party>.pub files registered or rotated at start ('none' to skip; default Keys when it exists).",
            valueName: "dir"))
    var trustStore: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The broker's address as clients reach it, behind a TLS proxy (https://broker.example): signatures cover this scheme and host.",
            valueName: "url"))
    var publicURL: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Requests worked on at once; more are answered 503 with Retry-After at once (default: \(APILimits.requestsInFlightPerCore) per core). Grants, revocations and erasure have a reserve of a quarter more.",
            valueName: "n"))
    var requestsInFlightMax: Int?

    @Option(
        name: .customLong("witness"),
        help: ArgumentHelp(
            "A witness to submit each checkpoint to: its URL prefix and cosignature vkey (http://witness.example:8090=name+id+key); repeatable.",
            valueName: "url=vkey"))
    var witnesses: [String] = []

    func validate() throws {
        guard witnesses.count <= BrokerLimits.witnessesMax else { throw ValidationError("at most \(BrokerLimits.witnessesMax) --witness") }
        for witness in witnesses where WitnessSubmitter.Target(argument: witness) == nil {
            throw ValidationError(
                "--witness \(witness) is not <http(s) URL>=<cosignature vkey>, like http://127.0.0.1:8090=witness.example/w1+1a2b3c4d+BB…")
        }
        guard (0...65_535).contains(port) else { throw ValidationError("--port must be 0 to 65535") }
        if let requestsInFlightMax, !(1...100_000).contains(requestsInFlightMax) {
            throw ValidationError("--requests-in-flight-max must be 1 to 100000")
        }
        if let publicURL {
            guard let url = URL(string: publicURL), SignatureMiddleware.origin(of: url) != nil, url.path.isEmpty || url.path == "/" else {
                throw ValidationError("--public-url must be an http(s) URL with a host and no path, like https://broker.example")
            }
        }
    }

    /// `--trust-store`, or `Keys` in the working directory when it exists.
    var trustStoreFolder: URL? {
        switch trustStore {
        case "none": return nil
        case let path?: return URL(fileURLWithPath: path)
        case nil:
            var folder: ObjCBool = false
            return FileManager.default.fileExists(atPath: "Keys", isDirectory: &folder) && folder.boolValue ? URL(fileURLWithPath: "Keys") : nil
        }
    }

    func run() async throws {
        try await reportingErrors {
            let broker = try await LocalBroker.open(global)
            if let folder = trustStoreFolder {
                let trust = try TrustStore.load(folder)
                let outcome = try await trust.apply(to: broker.service)
                let rotated = outcome.rotated.isEmpty ? "" : " (\(outcome.rotated.joined(separator: ", ")))"
                FileHandle.standardOutput.write(
                    Data(
                        ("trust store \(folder.path): \(trust.parties.count) parties, "
                            + "\(outcome.registered.count) registered, \(outcome.rotated.count) rotated\(rotated)\n").utf8))
            }
            let host = self.host
            let transfer = try broker.transfer()
            // Background work, as services of the application: the store (ended last, with the
            // final checkpoint), checkpoints and sweeps, and revocation notices to recipients'
            // callback URLs, retried until acknowledged.
            let storeService = StoreService(broker: broker.service)
            let maintenance = MaintenanceService(broker: broker.service)
            let dispatcher = CallbackDispatcher(
                store: broker.store, broker: broker.service.identity, clock: broker.service.clock,
                logger: LocalBroker.logger("mydata.callbacks"))
            // Witnesses cosign each new checkpoint; receipts and proofs wait a bounded time for them.
            var services: [any Service] = [storeService, maintenance, dispatcher]
            if !witnesses.isEmpty {
                let submitter = WitnessSubmitter(
                    store: broker.store, targets: witnesses.compactMap(WitnessSubmitter.Target.init(argument:)),
                    logger: LocalBroker.logger("mydata.witnesses"))
                broker.service.witnessing = submitter
                services.append(submitter)
            }
            let metrics = BrokerMetrics.bootstrap()
            let dashboard = try DashboardFiles.shipped()
            FileHandle.standardOutput.write(Data("dashboard build \(dashboard.buildHash) (the person's page at /)\n".utf8))
            let app = BrokerApplication.make(
                service: broker.service, transfer: transfer, nonces: broker.store, metrics: metrics, host: host, port: port,
                publicURL: publicURL.flatMap(URL.init(string:)),
                admission: requestsInFlightMax.map { AdmissionGate(requestsInFlightMax: $0, priorityReserveMax: max(4, $0 / 4)) }
                    ?? .standard,
                // PostgreSQL's pool waits for a connection without end while the server
                // is gone; SQLite answers or fails by itself (its busy wait is bounded).
                requestDeadlineSeconds: broker.storeKind == .postgres ? APILimits.requestSecondsMax : nil,
                dashboard: dashboard, services: services,
                logger: LocalBroker.logger("mydata.server")
            ) { port in
                FileHandle.standardOutput.write(Data("mydata broker listening on http://\(host):\(port)\n".utf8))
            }
            do {
                try await app.runService()
            } catch {
                // The application failed (a port already in use): the store service may never have
                // closed the store. What was appended before is checkpointed by the next start.
                broker.store.close()
                throw error
            }
        }
    }
}
