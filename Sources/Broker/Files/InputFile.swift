import Foundation

/// Reads files that come from outside with a bound on their size, so that no file can make a
/// command read without end (a FIFO, `/dev/zero`, a multi-gigabyte "key").
public enum InputFile {
    /// The file's bytes, or nil when it does not exist or cannot be read.
    ///
    /// - Throws: `InputFileTooLarge` when the file holds more than `bytesMax` bytes.
    public static func read(_ path: String, bytesMax: Int) throws -> Data? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        // One byte past the limit tells "too large" from "exactly at the limit" without reading more.
        guard let data = try? handle.read(upToCount: bytesMax + 1) else { return Data() }
        guard data.count <= bytesMax else { throw InputFileTooLarge(path: path, bytesMax: bytesMax) }
        return data
    }
}

/// A file larger than what its kind may be.
public struct InputFileTooLarge: Error, Sendable, CustomStringConvertible {
    public let path: String
    public let bytesMax: Int
    public var description: String { "\(path) is larger than \(bytesMax) bytes, more than such a file can be; check that it is the right file" }
}
