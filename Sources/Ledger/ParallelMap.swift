import Dispatch

/// An order-keeping map over every core, for CPU-bound work on pages of events.
public enum ParallelMap {
    /// `transform` applied to each element on `workers` threads (default: every core), results in
    /// order; the first error (by index) is rethrown.
    public static func map<T: Sendable, R: Sendable>(
        _ items: [T], workers: Int = ProcessInfoCores.count,
        _ transform: @Sendable (T) throws -> R
    ) throws -> [R] {
        let workers = min(workers, items.count)
        guard workers > 1 else { return try items.map(transform) }
        let results = ResultSlots<R>(count: items.count)
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            var i = w
            while i < items.count {
                results.set(i, Result { try transform(items[i]) })
                i += workers
            }
        }
        return try results.values()
    }
}

/// Slots each written by exactly one worker, read after all workers are done.
private final class ResultSlots<R>: @unchecked Sendable {
    private let slots: UnsafeMutableBufferPointer<Result<R, any Error>?>

    init(count: Int) {
        slots = .allocate(capacity: count)
        slots.initialize(repeating: nil)
    }

    deinit {
        slots.deinitialize()
        slots.deallocate()
    }

    func set(_ index: Int, _ value: Result<R, any Error>) { slots[index] = value }

    func values() throws -> [R] { try slots.map { try $0!.get() } }
}
