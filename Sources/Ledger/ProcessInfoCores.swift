import Foundation

/// The number of cores to use for parallel work.
public enum ProcessInfoCores {
    /// Active processor count, at least 1.
    public static var count: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }
}
