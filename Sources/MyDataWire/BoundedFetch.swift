import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// An HTTP exchange whose answer is read only up to a limit: the transfer is cancelled as soon as
/// the body grows past it, so a hostile server cannot make a client hold more than that in
/// memory (`URLSession.data(for:)` reads the whole body first, and this Foundation has no
/// streaming `bytes(for:)`).
public enum BoundedFetch {
    /// The body was larger than the limit.
    public struct TooLarge: Error, CustomStringConvertible {
        public let bytesMax: Int
        public var description: String { "the answer is larger than \(bytesMax) bytes" }
    }

    /// Sends `request`; returns the status and the body (at most `bytesMax` bytes).
    ///
    /// - Throws: `TooLarge`, or the transport's error.
    public static func send(_ request: URLRequest, bytesMax: Int) async throws -> (status: Int, body: Data) {
        let collector = Collector(bytesMax: bytesMax)
        let session = URLSession(configuration: .ephemeral, delegate: collector, delegateQueue: nil)
        defer { session.finishTasksAndInvalidate() }
        return try await withCheckedThrowingContinuation { continuation in
            collector.start(continuation)
            session.dataTask(with: request).resume()
        }
    }

    private final class Collector: NSObject, URLSessionDataDelegate, @unchecked Sendable {
        let bytesMax: Int
        private let lock = NSLock()
        private var body = Data()
        private var continuation: CheckedContinuation<(status: Int, body: Data), any Error>?

        init(bytesMax: Int) { self.bytesMax = bytesMax }

        func start(_ continuation: CheckedContinuation<(status: Int, body: Data), any Error>) {
            lock.withLock { self.continuation = continuation }
        }

        private func finish(_ result: Result<(status: Int, body: Data), any Error>) {
            let waiting = lock.withLock { () -> CheckedContinuation<(status: Int, body: Data), any Error>? in
                defer { continuation = nil }
                return continuation
            }
            waiting?.resume(with: result)
        }

        func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
            let over = lock.withLock { () -> Bool in
                body.append(data)
                return body.count > bytesMax
            }
            if over {
                dataTask.cancel()
                finish(.failure(TooLarge(bytesMax: bytesMax)))
            }
        }

        func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
            if let error { return finish(.failure(error)) }
            let status = (task.response as? HTTPURLResponse)?.statusCode ?? 0
            finish(.success((status, lock.withLock { body })))
        }
    }
}
