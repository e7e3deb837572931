import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Every process a test starts goes through here, so that none outlives its test: `stop` ends
/// it (SIGTERM, then SIGKILL after a grace period, then waits), and whatever a test leaves running
/// is killed when the test process exits.
///
/// SIGTERM alone is not enough: children of `Foundation.Process` inherit the test thread's signal
/// mask on Linux, so a child that relies on a signal handler (a Python server) may never see it.
public enum ChildProcesses {
    private static let running = Mutex<Set<Int32>>([])
    private static let exitHook: Void = { atexit { ChildProcesses.killAll() } }()

    /// Runs `process` and remembers it until it is stopped.
    public static func start(_ process: Process) throws {
        _ = exitHook
        try process.run()
        let pid = process.processIdentifier
        running.withLock { _ = $0.insert(pid) }
    }

    /// Ends `process`: SIGTERM, up to `graceSeconds` for it to exit, then SIGKILL; returns once it
    /// is gone.
    public static func stop(_ process: Process, graceSeconds: Double = 10) {
        let pid = process.processIdentifier
        defer { running.withLock { _ = $0.remove(pid) } }
        guard pid > 0, process.isRunning else { return }
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(graceSeconds)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(pid, SIGKILL) }
        process.waitUntilExit()
    }

    /// Remembers a process the test started indirectly (a daemon), to kill at exit if it is still there.
    public static func adopt(_ pid: Int32) {
        _ = exitHook
        running.withLock { _ = $0.insert(pid) }
    }

    /// Marks `process` as ended by the test itself (it waited for it to exit).
    public static func forget(_ process: Process) { forget(process.processIdentifier) }

    /// Marks the process `pid` as ended.
    public static func forget(_ pid: Int32) {
        running.withLock { _ = $0.remove(pid) }
    }

    private static func killAll() {
        for pid in running.withLock({ $0 }) { kill(pid, SIGKILL) }
    }
}
