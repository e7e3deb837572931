import ArgumentParser
import Broker
import Consent
import Foundation
import Ledger
import MyDataClient
import Sodium

/// The exit codes documented in docs/cli.md; never renumbered.
enum ExitCodes {
    static let failure: Int32 = 1
    static let refused: Int32 = 3
    static let verificationFailed: Int32 = 4
    static let keyProblem: Int32 = 5
    static let storeProblem: Int32 = 6
    static let aborted: Int32 = 7
    /// The ledger is missing, empty, or not the one this data directory was initialised with.
    static let ledgerIdentity: Int32 = 8
    /// The broker's transparency log shrank, forked or changed its key since this CLI last saw it.
    static let logInconsistent: Int32 = 9
}

/// An error the CLI reports with its own exit code.
struct CLIError: Error, CustomStringConvertible {
    let message: String
    let exitCode: Int32
    var description: String { message }
}

/// Runs a command body, printing any error as one line on stderr with its documented exit code.
func reportingErrors(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as ExitCode {
        throw error
    } catch let error as CleanExit {
        throw error
    } catch {
        let (message, code) = describe(error)
        FileHandle.standardError.write(Data("mydata: \(message)\n".utf8))
        throw ExitCode(code)
    }
}

private func describe(_ error: any Error) -> (String, Int32) {
    switch error {
    case let e as CLIError: (e.message, e.exitCode)
    case let e as ConsentError: ("refused (\(e.code)): \(e.message)", ExitCodes.refused)
    case let e as KeyFileError: (e.message, ExitCodes.keyProblem)
    case let e as SodiumError: ("key problem: \(e.message)", ExitCodes.keyProblem)
    case let e as LedgerIdentityError: (e.message, ExitCodes.ledgerIdentity)
    case let e as InputFileTooLarge: (e.description, ExitCodes.failure)
    case let e as PolicyError: ("policy error: \(e.description)", ExitCodes.failure)
    case let e as LogInconsistency: (e.description, ExitCodes.logInconsistent)
    case let e as ReceiptError: ("receipt does not verify: \(e.message)", ExitCodes.verificationFailed)
    case let e as LedgerError where e.code == .storeUnavailable: (e.description, ExitCodes.storeProblem)
    case let e as LedgerError: ("\(e.code): \(e.description)", ExitCodes.failure)
    case MyDataClientError.problem(let p, _) where p.status == 401:
        ("the broker refused the request's signature (\(p.code)): \(p.detail)", ExitCodes.keyProblem)
    case MyDataClientError.problem(let p, _) where p.status >= 500: ("the broker failed (\(p.code)): \(p.detail)", ExitCodes.storeProblem)
    case MyDataClientError.problem(let p, _): ("refused (\(p.code)): \(p.detail)", ExitCodes.refused)
    case let e as MyDataClientError: ("\(e)", ExitCodes.verificationFailed)
    case let e as URLError: ("cannot reach the broker: \(e.localizedDescription)", ExitCodes.storeProblem)
    default: ("\(error)", ExitCodes.failure)
    }
}
