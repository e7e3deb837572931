import ArgumentParser
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A load generator in its own process, so that the server's figures are not the client's: it
/// sends requests that `APIBench` built and signed beforehand (raw HTTP/1.1, one file) over
/// keep-alive loopback connections, one blocking thread per connection, and prints each
/// request's status and latency. Closed loop (every connection sends its next request when the
/// last is answered) or open loop at a fixed rate, where a request's latency counts from when it
/// was due, so a stalled server cannot hide its queue (no coordinated omission).
///
/// Output: `elapsed <ns>`, then `<index> <status> <latency ns>` per request.
struct LoadGenerator: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load", abstract: "Send prepared HTTP requests to a loopback port and print each one's status and latency.")

    @Option(help: "The server's loopback port.") var port: Int
    @Option(help: "The requests: each an 8-byte little-endian length, then the raw request.") var requests: String
    @Option(help: "Connections, each on its own thread.") var connections = 4
    @Option(help: "Requests per second (open loop); 0 sends each connection's next request when the last is answered.") var rate = 0

    func run() throws {
        let file = try [UInt8](Data(contentsOf: URL(fileURLWithPath: requests)))
        var prepared: [[UInt8]] = []
        var at = 0
        while at + 8 <= file.count {
            let length = file[at..<at + 8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
            guard at + 8 + length <= file.count else { throw ValidationError("the requests file is cut short") }
            prepared.append(Array(file[at + 8..<at + 8 + length]))
            at += 8 + length
        }
        let shared = Shared(count: prepared.count)
        let start = Self.now()
        let interval = rate > 0 ? UInt64(1e9 / Double(rate)) : 0
        let group = DispatchGroup()
        for c in 0..<connections {
            group.enter()
            let thread = Thread { [prepared, port, connections] in
                defer { group.leave() }
                do {
                    let connection = try Connection(port: port)
                    defer { connection.close() }
                    var index = c
                    while true {
                        let i: Int
                        if interval > 0 {
                            // Open loop: this connection's share, each at its due time.
                            i = index
                            index += connections
                        } else {
                            i = shared.next.withLock { n in
                                defer { n += 1 }
                                return n
                            }
                        }
                        guard i < prepared.count else { return }
                        var due = Self.now()
                        if interval > 0 {
                            due = start + UInt64(i) * interval
                            Self.sleep(until: due)
                        }
                        let status = try connection.exchange(prepared[i])
                        let latency = Self.now() - due
                        shared.results.withLock { $0[i] = (status, latency) }
                    }
                } catch {
                    shared.failure.withLock { $0 = $0 ?? "\(error)" }
                }
            }
            thread.start()
        }
        group.wait()
        let elapsed = Self.now() - start
        if let failure = shared.failure.withLock({ $0 }) { throw ValidationError("the load generator failed: \(failure)") }
        var out = "elapsed \(elapsed)\n"
        shared.results.withLock { results in
            for (i, r) in results.enumerated() { out += "\(i) \(r.status) \(r.nanoseconds)\n" }
        }
        FileHandle.standardOutput.write(Data(out.utf8))
    }

    /// What the connection threads share.
    final class Shared: Sendable {
        let results: Mutex<[(status: Int, nanoseconds: UInt64)]>
        let next = Mutex(0)
        let failure = Mutex<String?>(nil)
        init(count: Int) { results = Mutex(Array(repeating: (0, 0), count: count)) }
    }

    static func now() -> UInt64 {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
    }

    static func sleep(until due: UInt64) {
        let now = now()
        guard due > now else { return }
        var wait = timespec(tv_sec: Int((due - now) / 1_000_000_000), tv_nsec: Int((due - now) % 1_000_000_000))
        var left = timespec()
        while nanosleep(&wait, &left) != 0 && errno == EINTR { wait = left }
    }
}

/// One keep-alive HTTP/1.1 connection to 127.0.0.1, with blocking reads and writes.
final class Connection {
    private let fd: Int32
    private var buffer: [UInt8] = []

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            Glibc.close(fd)
            throw Failure(description: "connect to 127.0.0.1:\(port): errno \(errno)")
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    func close() { Glibc.close(fd) }

    /// Sends one request and reads its whole response; returns the status.
    func exchange(_ request: [UInt8]) throws -> Int {
        var sent = 0
        while sent < request.count {
            let n = request[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw Failure(description: "send: errno \(errno)") }
            sent += n
        }
        let headerEnd = try readUntil("\r\n\r\n".utf8)
        let head = String(decoding: buffer[..<headerEnd], as: UTF8.self)
        buffer.removeFirst(headerEnd + 4)
        let lines = head.split(separator: "\r\n")
        guard let statusLine = lines.first, let status = statusLine.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else {
            throw Failure(description: "not an HTTP response: \(head.prefix(80))")
        }
        var length: Int?, chunked = false
        for line in lines.dropFirst() {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let name = parts[0].lowercased(), value = parts[1].trimmingCharacters(in: .whitespaces)
            if name == "content-length" { length = Int(value) }
            if name == "transfer-encoding", value.lowercased().contains("chunked") { chunked = true }
        }
        if chunked {
            while true {
                let lineEnd = try readUntil("\r\n".utf8)
                guard let size = Int(String(decoding: buffer[..<lineEnd], as: UTF8.self).split(separator: ";")[0], radix: 16) else {
                    throw Failure(description: "a bad chunk size")
                }
                buffer.removeFirst(lineEnd + 2)
                try fill(size + 2)
                buffer.removeFirst(size + 2)
                if size == 0 { break }
            }
        } else {
            try fill(length ?? 0)
            buffer.removeFirst(length ?? 0)
        }
        return status
    }

    /// The offset of `marker` in the buffer, reading until it arrives.
    private func readUntil(_ marker: String.UTF8View) throws -> Int {
        let marker = Array(marker)
        var searched = 0
        while true {
            if buffer.count >= marker.count, searched <= buffer.count - marker.count {
                for i in searched...(buffer.count - marker.count) where buffer[i..<i + marker.count].elementsEqual(marker) { return i }
                searched = buffer.count - marker.count + 1
            }
            try read()
        }
    }

    private func fill(_ count: Int) throws {
        while buffer.count < count { try read() }
    }

    private func read() throws {
        var chunk = [UInt8](repeating: 0, count: 65_536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { throw Failure(description: n == 0 ? "the server closed the connection" : "recv: errno \(errno)") }
        buffer += chunk[..<n]
    }
}
