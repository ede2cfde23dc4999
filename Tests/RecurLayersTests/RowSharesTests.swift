import Foundation
import Synchronization
import Testing
@testable import RecurLayers
import RecurCore
import RecurTestSupport

@Suite("Rows shared between threads", .serialized)
struct RowSharesTests {
    /// One thread is made slow (a sleep in each of its steps), so the other finishes its share early and takes
    /// rows from it. Every live row must still be run exactly once at every step, each row's steps in order.
    /// When the worker pool is busy (another pass runs at the same time), the parts run one after the other on
    /// the calling thread; a part that took rows must not wait for one that has not started.
    @Test("parts run one after the other still cover every row once")
    func partsInSequence() {
        let configuration = CellKind(cell: .rnn).configuration(inputSize: 4, hiddenSize: 8)
        let batch = SequenceBatch(steps: 6, batchSize: 32, lengths: nil)
        let direction = RecurrentDirection<Float>(configuration: configuration, layer: 0, reverse: false, batch: batch,
                                                  keepsCache: false, settings: ComputeSettings(threadCount: 2))
        let log = Mutex<[(t: Int, rows: Range<Int>)]>([])
        // The outer parallelFor holds the pool, so the inner one runs its parts in sequence on this thread.
        parallelFor(2) { part in
            guard part == 0 else { return }
            direction.forEachStep(direction.forwardSteps) { rows in
                log.withLock { $0.append((rows.time, rows.first..<(rows.first + rows.count))) }
            }
        }
        let entries = log.withLock { $0 }
        for row in 0..<32 {
            #expect(entries.filter { $0.rows.contains(row) }.map(\.t) == Array(0..<6), "row \(row)")
        }
    }

    @Test("a thread that finishes early takes rows from a slow one; every row runs every step once, in order",
          arguments: [(false, 2), (true, 2), (false, 4)])
    func slowThreadLosesRows(reverse: Bool, threads: Int) {
        let configuration = CellKind(cell: .rnn).configuration(inputSize: 4, hiddenSize: 8)
        let lengths = (0..<64).map { 12 - $0 % 5 }
        let batch = SequenceBatch(steps: 12, batchSize: 64, lengths: lengths)
        let direction = RecurrentDirection<Float>(configuration: configuration, layer: 0, reverse: reverse, batch: batch,
                                                  keepsCache: false, settings: ComputeSettings(threadCount: threads))
        let order = direction.forwardSteps
        let slowThread = Mutex<pthread_t?>(nil)
        let log = Mutex<[(t: Int, rows: Range<Int>)]>([])
        direction.forEachStep(order) { rows in
            let me = pthread_self()
            let slow = slowThread.withLock { slow in
                if slow == nil && rows.first == 32 { slow = me }
                return slow.map { pthread_equal($0, me) != 0 } ?? false
            }
            if slow { usleep(2_000) }
            log.withLock { $0.append((rows.time, rows.first..<(rows.first + rows.count))) }
        }
        let entries = log.withLock { $0 }
        for row in 0..<64 {
            let expected = order.filter { lengths[batch.order[row]] > $0 }
            let ran = entries.filter { $0.rows.contains(row) }.map(\.t)
            #expect(ran == expected, "row \(row): steps \(ran), expected \(expected)")
        }
        let firsts = Set(stride(from: 0, to: 64, by: 64 / threads))
        #expect(entries.contains { !firsts.contains($0.rows.lowerBound) }, "no rows changed hands: \(entries.map(\.rows))")
    }

    /// Two directions side by side, each starting on one thread over the whole batch; the reverse one's thread is
    /// made slow, so the other, done with its own direction, takes over rows of the reverse one. Every live row of
    /// each direction must still run every step exactly once, in its direction's order.
    @Test("directions side by side: the thread done first takes rows of the other direction")
    func directionsLendRows() {
        let configuration = CellKind(cell: .rnn).configuration(inputSize: 4, hiddenSize: 8)
        let lengths = (0..<64).map { 12 - $0 % 5 }
        let batch = SequenceBatch(steps: 12, batchSize: 64, lengths: lengths)
        let directions = [false, true].map { reverse in
            RecurrentDirection<Float>(configuration: configuration, layer: 0, reverse: reverse, batch: batch,
                                      keepsCache: false, settings: ComputeSettings(threadCount: 1))
        }
        let slowThread = Mutex<pthread_t?>(nil)
        let log = Mutex<[(direction: Int, t: Int, rows: Range<Int>)]>([])
        let loops = directions.enumerated().map { index, direction in
            RecurrentDirection<Float>.StepLoop(direction: direction, order: direction.forwardSteps,
                                               upcoming: { _ in }) { rows in
                // The thread that starts the reverse direction (on all its rows, from row 0) is the slow one.
                let me = pthread_self()
                let slow = slowThread.withLock { slow in
                    if slow == nil && index == 1 && rows.first == 0 { slow = me }
                    return slow.map { pthread_equal($0, me) != 0 } ?? false
                }
                if slow { usleep(2_000) }
                log.withLock { $0.append((index, rows.time, rows.first..<(rows.first + rows.count))) }
            }
        }
        RecurrentDirection<Float>.forEachStep(sideBySide: loops)
        let entries = log.withLock { $0 }
        for (index, direction) in directions.enumerated() {
            for row in 0..<64 {
                let expected = direction.forwardSteps.filter { lengths[batch.order[row]] > $0 }
                let ran = entries.filter { $0.direction == index && $0.rows.contains(row) }.map(\.t)
                #expect(ran == expected, "direction \(index), row \(row): steps \(ran), expected \(expected)")
            }
        }
        #expect(entries.contains { $0.direction == 1 && $0.rows.lowerBound != 0 },
                "no rows of the slow direction changed hands: \(entries.filter { $0.direction == 1 }.map(\.rows))")
    }
}
