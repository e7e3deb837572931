import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Small files that must survive a power cut once written: written to a temporary file, synced,
/// renamed over the old one, and the directory synced, so that either the old or the new file is
/// there afterwards, whole.
public enum DurableFile {
    /// Writes `data` to `url` with mode 0600.
    ///
    /// - Throws: `CocoaError` or `POSIXError` with the reason.
    public static func write(_ data: Data, to url: URL) throws {
        let temp = try writeTemporary(data, beside: url)
        guard rename(temp, url.path) == 0 else {
            let code = errno
            unlink(temp)
            throw POSIXError(POSIXErrorCode(rawValue: code) ?? .EIO)
        }
        syncDirectory(of: url)
    }

    /// Writes `data` to `url` with mode 0600 only if nothing is there: the whole file appears at
    /// once or not at all, and a file already there (even one made meanwhile) is never touched.
    ///
    /// - Throws: `POSIXError(.EEXIST)` when `url` exists; `POSIXError` with the reason otherwise.
    public static func create(_ data: Data, at url: URL) throws {
        let temp = try writeTemporary(data, beside: url)
        defer { unlink(temp) }
        guard link(temp, url.path) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        syncDirectory(of: url)
    }

    /// `url` + `.tmp` (mode 0600; one a crash left is overwritten) holding `data`, synced; its path.
    private static func writeTemporary(_ data: Data, beside url: URL) throws -> String {
        let temp = url.path + ".tmp"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        var failed: Int32 = 0
        data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 { if errno == EINTR { continue }; failed = errno; return }
                offset += n
            }
        }
        if failed == 0, fsync(fd) != 0 { failed = errno }
        close(fd)
        guard failed == 0 else {
            unlink(temp)
            throw POSIXError(POSIXErrorCode(rawValue: failed) ?? .EIO)
        }
        return temp
    }

    private static func syncDirectory(of url: URL) {
        let directory = open(url.deletingLastPathComponent().path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directory >= 0 { fsync(directory); close(directory) }
    }
}
