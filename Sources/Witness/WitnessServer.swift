import Foundation
import Hummingbird
import Logging
import NIOCore

/// The witness's HTTP interface (c2sp.org/tlog-witness): `POST /add-checkpoint` and, for
/// monitors, `GET /<origin hash>/checkpoint`.
public enum WitnessServer {
    public static func router(_ witness: Witness) -> Router<BasicRequestContext> {
        let router = Router()
        router.post("add-checkpoint") { request, _ -> Response in
            let body: ByteBuffer
            do {
                body = try await request.body.collect(upTo: WitnessLimits.requestBytesMax)
            } catch {
                return text(.contentTooLarge, "the body is larger than \(WitnessLimits.requestBytesMax) bytes\n")
            }
            switch try await witness.addCheckpoint(Array(buffer: body)) {
            case .cosigned(let lines):
                return text(.ok, lines)
            case .conflict(let size):
                return Response(
                    status: .conflict, headers: [.contentType: "text/x.tlog.size"], body: ResponseBody(byteBuffer: ByteBuffer(string: "\(size)\n")))
            case .refused(let status, let reason):
                return text(HTTPResponse.Status(code: status), reason + "\n")
            }
        }
        router.get(":origin/checkpoint") { _, context -> Response in
            let hash = try context.parameters.require("origin")
            guard let note = try await witness.latestCheckpoint(originHash: hash) else {
                return text(.notFound, "this witness has cosigned no checkpoint of a log whose origin hashes to \(hash)\n")
            }
            return text(.ok, note)
        }
        return router
    }

    /// The witness listening on `host:port`, until SIGTERM or SIGINT.
    public static func make(
        _ witness: Witness, host: String, port: Int, logger: Logger, onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        Application(
            router: router(witness), configuration: .init(address: .hostname(host, port: port), serverName: "mydata-witness"),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) }, logger: logger)
    }

    private static func text(_ status: HTTPResponse.Status, _ body: String) -> Response {
        Response(
            status: status, headers: [.contentType: "text/plain; charset=utf-8"], body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }
}
