import Testing
@testable import RecurLayers
import RecurCore
import RecurTestSupport

@Suite("Sequence batches")
struct SequenceBatchTests {
    @Test("the documented example: lengths [2, 1, 3]")
    func documentedExample() {
        let batch = SequenceBatch(steps: 3, batchSize: 3, lengths: [2, 1, 3])
        #expect(batch.order == [2, 0, 1])
        #expect(batch.activeCounts == [3, 2, 1])
        #expect(batch.offsets == [0, 3, 5, 6])
        #expect(!batch.isDense)
    }

    /// Longest first, ties in batch order; n_t = how many are longer than t; offsets their running sums. Lengths
    /// with many ties, zeros and full-length sequences, checked against those definitions written out.
    @Test("order, live counts and offsets follow their definitions")
    func definitions() {
        var generator = SeededGenerator(seed: 5)
        for (steps, batchSize) in [(1, 1), (5, 17), (12, 64), (40, 3), (7, 0)] {
            let lengths = (0..<batchSize).map { _ in Int(generator.next() % UInt64(steps + 1)) }
            let batch = SequenceBatch(steps: steps, batchSize: batchSize, lengths: lengths)
            let order = lengths.indices.sorted { lengths[$0] != lengths[$1] ? lengths[$0] > lengths[$1] : $0 < $1 }
            let counts = (0..<steps).map { t in lengths.filter { $0 > t }.count }
            #expect(batch.order == order, "T \(steps), lengths \(lengths)")
            #expect(batch.activeCounts == counts, "T \(steps), lengths \(lengths)")
            #expect(batch.offsets == [0] + counts.indices.map { counts[...$0].reduce(0, +) }, "T \(steps)")
            #expect(batch.isDense == lengths.allSatisfy { $0 == steps }, "T \(steps), lengths \(lengths)")
        }
        let dense = SequenceBatch(steps: 4, batchSize: 6, lengths: nil)
        #expect(dense.order == Array(0..<6) && dense.activeCounts == [6, 6, 6, 6] && dense.isDense)
    }
}
