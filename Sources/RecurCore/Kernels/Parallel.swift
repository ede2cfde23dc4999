import CRecurKernels
import Foundation
import Synchronization

/// Runs `body(0) … body(count − 1)` at once, `body(0)` on the calling thread and the rest on Recur's
/// worker threads; returns when all have finished. With `count == 1`, or when another parallel region
/// is already running (a nested or concurrent call), the calls run one after another on this thread.
public func parallelFor(_ count: Int, _ body: (Int) -> Void) {
    if count <= 1 {
        if count == 1 { body(0) }
        return
    }
    WorkerPool.shared.run(count, body)
}

/// Persistent worker threads for fork–join parallelism with microsecond start-up.
///
/// A matrix product of one row takes tens of microseconds; waking a sleeping thread takes about as
/// long. So workers spin (with the CPU's pause hint) for a while after each task, and only then sleep
/// on a condition variable. A sleeper re-checks for work under the condition's lock, and the caller
/// broadcasts under the same lock after publishing work, so no wake-up can be lost between the two.
final class WorkerPool: @unchecked Sendable {
    static let shared = WorkerPool()

    /// How many pause-spins a worker waits for new work before it sleeps (about 0.1–0.5 ms).
    private static let spinLimit = 20_000

    private let generation = Atomic<Int>(0)
    private let pending = Atomic<Int>(0)
    private let busy = Atomic<Bool>(false)
    private let wakeUp = NSCondition()
    private let membership = Mutex<Int>(0)  // number of workers started
    // Written by the caller before `generation` is released; read by workers after acquiring it.
    private nonisolated(unsafe) var task: ((Int) -> Void)?
    private nonisolated(unsafe) var taskCount = 0

    func run(_ count: Int, _ body: (Int) -> Void) {
        guard busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            for index in 0..<count { body(index) }
            return
        }
        defer { busy.store(false, ordering: .releasing) }
        let workers = ensureWorkers(count - 1)
        withoutActuallyEscaping(body) { escapable in
            task = escapable
            taskCount = count
            pending.store(workers, ordering: .relaxed)
            generation.add(1, ordering: .releasing)
            wakeUp.lock()
            wakeUp.broadcast()
            wakeUp.unlock()
            escapable(0)
            while pending.load(ordering: .acquiring) > 0 { recur_spin_pause() }
            task = nil
        }
    }

    /// Starts workers until there are at least `wanted`; returns how many there are.
    private func ensureWorkers(_ wanted: Int) -> Int {
        membership.withLock { started in
            while started < wanted {
                let index = started + 1
                let seen = generation.load(ordering: .acquiring)
                let thread = Thread { [unowned self] in self.work(index: index, seen: seen) }
                thread.name = "recur-worker-\(index)"
                thread.start()
                started += 1
            }
            return started
        }
    }

    private func work(index: Int, seen initial: Int) {
        var seen = initial
        while true {
            var spins = 0
            while generation.load(ordering: .acquiring) == seen {
                if spins < WorkerPool.spinLimit {
                    spins += 1
                    recur_spin_pause()
                } else {
                    wakeUp.lock()
                    while generation.load(ordering: .acquiring) == seen { wakeUp.wait() }
                    wakeUp.unlock()
                }
            }
            seen = generation.load(ordering: .acquiring)
            do {
                if index < taskCount, let body = task { body(index) }
            }
            pending.subtract(1, ordering: .releasing)
        }
    }
}
