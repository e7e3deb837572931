import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Small files that must survive a power cut once written: written to a new temporary file,
/// synced, renamed over the old one (or linked where nothing is), and the directory synced, so
/// that either the old or the new file is there afterwards, whole.
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

    /// Writes `data` to `url` with mode 0600 only if nothing is there: a file already there (even
    /// one made meanwhile) is never touched. The whole file appears at once, except on file
    /// systems without hard links (FAT on a USB stick), where it is written in place, created
    /// exclusively, and removed again if writing fails.
    ///
    /// - Throws: `POSIXError(.EEXIST)` when `url` exists; `POSIXError` with the reason otherwise.
    public static func create(_ data: Data, at url: URL) throws {
        let temp = try writeTemporary(data, beside: url)
        defer { unlink(temp) }
        if link(temp, url.path) == 0 {
            syncDirectory(of: url)
            return
        }
        let code = errno
        guard code == EPERM || code == EOPNOTSUPP || code == ENOSYS else { throw POSIXError(POSIXErrorCode(rawValue: code) ?? .EIO) }
        let fd = open(url.path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        if let failed = fill(fd, with: data) {
            unlink(url.path)
            throw POSIXError(POSIXErrorCode(rawValue: failed) ?? .EIO)
        }
        syncDirectory(of: url)
    }

    /// A new file beside `url`, with a name no one else holds (created exclusively, never through
    /// a symbolic link, mode 0600), holding `data`, synced; its path.
    private static func writeTemporary(_ data: Data, beside url: URL) throws -> String {
        let temp = url.path + ".tmp-" + String(UInt64.random(in: .min ... .max), radix: 16)
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        if let failed = fill(fd, with: data) {
            unlink(temp)
            throw POSIXError(POSIXErrorCode(rawValue: failed) ?? .EIO)
        }
        return temp
    }

    /// Writes all of `data` to `fd`, syncs and closes it; the errno of a failure, or nil.
    private static func fill(_ fd: Int32, with data: Data) -> Int32? {
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
        return failed == 0 ? nil : failed
    }

    private static func syncDirectory(of url: URL) {
        let directory = open(url.deletingLastPathComponent().path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directory >= 0 { fsync(directory); close(directory) }
    }
}
