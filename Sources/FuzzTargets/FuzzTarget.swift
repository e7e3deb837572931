import Foundation
import MyDataWire

/// A parser that takes input from outside the broker, run on arbitrary bytes by libFuzzer
/// (`mydata-fuzz`) and by the corpus replay test. docs/fuzzing.md lists what each one covers.
///
/// Every target catches every error its parser throws: a thrown error is a rejection, which is
/// what arbitrary bytes should get. Only a trap (an overflow, an index out of range, a failed
/// precondition) or a broken property checked with `FuzzCheck.require` ends the process, and
/// libFuzzer then keeps the input.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// A submit body (`{"events": [WireEvent…]}`): the signed events as the HTTP API receives
    /// them, their canonical envelope, hash and signing input, and the broker's decoding.
    case envelope
    /// One event payload of any type and schema version, through the upcasters and back.
    case payload
    /// One file of the policy set, the others being the real `Policies/`.
    case policy
    /// RFC 9421 `Signature-Input` and `Signature` over the RFC's example request.
    case signature
    /// RFC 9530 `Content-Digest` against a body.
    case digest
    /// A telemetry push body as JSON (`{"records": […]}`), checked against the real policy.
    case telemetry
    /// A telemetry push body as NDJSON.
    case ndjson
    /// A consent receipt as `mydata receipt verify` reads it.
    case receipt
    /// A checkpoint file (`mydata admin checkpoint`, `--trusted-checkpoint`).
    case checkpoint
    /// A key file's contents.
    case keyfile
    /// A sealed JSON page of a pull, as its recipient opens it.
    case sealedpage
    /// A sealed NDJSON stream of a pull, as its recipient reads it.
    case sealedstream
    /// A transparency log proof (c2sp.org/tlog-proof), with the signed note and checkpoint in it.
    case logproof
    /// An analysis query (`POST /v1/analyses`) against the real energy rule, run over a few rows;
    /// and the same bytes through the analysis zone's fast field reader.
    case analysisquery

    /// Runs one input through the target; returns the error it was rejected with, nil when every
    /// step accepted it.
    @discardableResult
    public func run(_ input: [UInt8]) -> (any Error)? {
        do {
            switch self {
            case .envelope: try Self.envelope(input)
            case .payload: try Self.payload(input)
            case .policy: try Self.policy(input)
            case .signature: try Self.signature(input)
            case .digest: try Self.digest(input)
            case .telemetry: try Self.telemetry(input, contentType: "application/json")
            case .ndjson: try Self.telemetry(input, contentType: "application/x-ndjson")
            case .receipt: try Self.receipt(input)
            case .checkpoint: try Self.checkpoint(input)
            case .keyfile: try Self.keyFile(input)
            case .sealedpage: try Self.sealedPage(input)
            case .sealedstream: try Self.sealedStream(input)
            case .logproof: try Self.logProof(input)
            case .analysisquery: try Self.analysisQuery(input)
            }
            return nil
        } catch {
            // A rejection: what most arbitrary inputs should get.
            return error
        }
    }

    /// The environment variable that names the target of a fuzzing run.
    public static let environmentVariable = "MYDATA_FUZZ_TARGET"

    /// The target named by `MYDATA_FUZZ_TARGET`, read once; the process exits with status 2 and
    /// the list of targets when it is missing or unknown.
    public static let selected: FuzzTarget = {
        let name = ProcessInfo.processInfo.environment[environmentVariable] ?? ""
        guard let target = FuzzTarget(rawValue: name) else {
            let names = allCases.map(\.rawValue).joined(separator: " ")
            FileHandle.standardError.write(Data("set \(environmentVariable) to one of: \(names) (got '\(name)')\n".utf8))
            exit(2)
        }
        // Build what every input needs now, so that the first input's time is not the setup's.
        target.prepare()
        return target
    }()

    /// Set `MYDATA_FUZZ_VERBOSE=1` to have the fuzz binary print why each input was rejected
    /// (useful when running it on a few files to see how deep the seeds reach).
    public static let verbose = ProcessInfo.processInfo.environment["MYDATA_FUZZ_VERBOSE"] == "1"

    /// Builds the fixed keys and policy a target needs.
    func prepare() {
        _ = FuzzKeys.broker
        switch self {
        case .policy: _ = FuzzPolicy.standIns
        case .telemetry, .ndjson: _ = FuzzPolicy.active
        case .sealedstream: _ = FuzzStream.fixed
        default: break
        }
    }
}

/// Properties a target checks on what a parser accepted: a failure is a bug, reported as a crash.
enum FuzzCheck {
    static func require(_ condition: @autoclosure () throws -> Bool, _ message: @autoclosure () -> String) rethrows {
        guard try condition() else { preconditionFailure("fuzz property broken: \(message())") }
    }
}
