import CRecurKernels
import Synchronization

/// The rows of a batch each thread takes through the steps of one or more loops, rebalanced while they run.
///
/// Each thread starts with a fixed share: some rows of one loop (the loops are the two directions of a layer run
/// side by side, or one direction whose batch is split). One that has run every step of its rows takes the upper
/// half of the rows of the thread with the most work left, in that thread's loop, from that thread's next step on.
/// The cores of a shared machine are often slowed down one at a time by other work; with fixed shares the other
/// thread would wait for the slow one at the end of the pass (seen in a profile of C3 inference: one thread
/// waiting 20 % of the time).
///
/// Each sequence's steps stay in order: rows change hands at a step boundary, once the step their old owner is
/// running has finished. The products give every row the same bits whichever rows share its tile, so the
/// results do not depend on who ran which row.
final class RowShares: Sendable {
    /// Some rows of one of the loops (which all have the same number of steps).
    struct Share {
        let loop: Int
        let rows: Range<Int>
    }

    /// How far one thread has come. Written under the lock; read without it by a thread waiting for it.
    private final class Progress: Sendable {
        /// The index (into the order of steps) of the step whose rows the thread has read, and is running or about
        /// to run; −1 before its first step, the number of steps once it has run them all.
        let step = Atomic<Int>(-1)
        /// How many times it has run all the steps of its rows (it may take more rows after each).
        let finished = Atomic<Int>(0)
    }

    /// The rows each thread runs from its next step on.
    private let shares: Mutex<[Share]>
    private let progress: [Progress]
    /// Steps in each loop.
    let stepCount: Int
    /// Rows are taken only from a thread that has at least twice this many.
    let minimumRows: Int

    init(_ shares: [Share], stepCount: Int, minimumRows: Int) {
        self.shares = Mutex(shares)
        progress = shares.map { _ in Progress() }
        self.stepCount = stepCount
        self.minimumRows = minimumRows
    }

    /// The rows thread `part` runs at step `index` (of its loop's order), which it is about to run; `index` = the
    /// number of steps tells the others it has run all steps of its rows.
    func share(of part: Int, at index: Int) -> Share {
        shares.withLock { shares in
            progress[part].step.store(index, ordering: .releasing)
            if index == stepCount { progress[part].finished.add(1, ordering: .releasing) }
            return shares[part]
        }
    }

    /// For thread `part`, which has run all steps of its rows: takes the upper half of the rows of the thread with
    /// the most row-steps left (in that thread's loop), and returns the step index to continue them from, once
    /// their old owner has finished the step before it. nil: no thread has enough left to share.
    ///
    /// A thread waiting here still counts as finished (its step is the number of steps), so no one takes rows
    /// from it, and so no two threads wait for each other; it reads its new rows at the step it returns.
    func take(for part: Int) -> Int? {
        let taken: (from: Int, owner: Int, finished: Int)? = shares.withLock { shares in
            var owner: Int?, most = 0
            for other in shares.indices where other != part {
                // The owner may be running the step it is at with its old rows: the taker starts after it.
                let stepsLeft = stepCount - progress[other].step.load(ordering: .relaxed) - 1
                let rows = shares[other].rows.count
                if stepsLeft >= 2 && rows >= 2 * minimumRows && stepsLeft * rows > most {
                    owner = other
                    most = stepsLeft * rows
                }
            }
            guard let owner else { return nil }
            let shared = shares[owner].rows, cut = shared.lowerBound + shared.count / 2
            shares[owner] = Share(loop: shares[owner].loop, rows: shared.lowerBound..<cut)
            shares[part] = Share(loop: shares[owner].loop, rows: cut..<shared.upperBound)
            return (progress[owner].step.load(ordering: .relaxed) + 1, owner,
                    progress[owner].finished.load(ordering: .relaxed))
        }
        guard let taken else { return nil }
        // An owner that has not started reads its cut rows when it does: nothing to wait for (nor may the taker
        // wait: when the pool is busy, the parts run one after the other on one thread). Otherwise the owner
        // must pass step `from` or finish; the wait is without the lock, which a waiter taking it over and over
        // could keep from the owner.
        if taken.from == 0 { return 0 }
        let owner = progress[taken.owner]
        while owner.step.load(ordering: .acquiring) < taken.from
                && owner.finished.load(ordering: .acquiring) == taken.finished {
            recur_spin_pause()
        }
        return taken.from
    }
}
