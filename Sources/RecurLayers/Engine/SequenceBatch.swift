import RecurCore

/// Which sequences of a batch are alive at each time step, when their lengths differ.
///
/// The examples are ordered longest first (ties keep their batch order). At step t the first
/// n_t = #{i : length_i > t} of them are alive, so every step works on a leading block of rows and
/// padding costs nothing: the rows of step t are stored one after another at `offsets[t]`, giving a
/// packed layout of N = Σ_t n_t rows (PyTorch's PackedSequence, with `activeCounts` = its batch_sizes).
///
///     lengths [2, 1, 3]  →  order [2, 0, 1], activeCounts [3, 2, 1], offsets [0, 3, 5, 6]
struct SequenceBatch: Sendable {
    /// T: steps of the padded input.
    let steps: Int
    /// B: sequences.
    let batchSize: Int
    /// Steps of each sequence, in batch order.
    let lengths: [Int]
    /// order[j] = the batch index of the j-th longest sequence.
    let order: [Int]
    /// n_t for t in 0..<T.
    let activeCounts: [Int]
    /// First packed row of each step; offsets[T] = N.
    let offsets: [Int]
    /// Every sequence is T long: packed rows are the padded rows.
    let isDense: Bool

    /// N: rows of the packed layout.
    var rowCount: Int { offsets[steps] }

    init(steps: Int, batchSize: Int, lengths: [Int]?) {
        let lengths = lengths ?? Array(repeating: steps, count: batchSize)
        self.steps = steps
        self.batchSize = batchSize
        self.lengths = lengths
        // By counting, in O(B + T): a pass starts with this, and sorting and counting with closures per step were
        // 0.2 % of C4 inference's samples (its whole serial part between passes is about 1 %).
        // atLeast[l] = how many sequences are at least l steps long, for l in 0...T + 1 (lengths are in 0...T, the
        // callers' check; clamped here all the same, so that every position of `order` is filled).
        let clamped = lengths.map { min(max($0, 0), steps) }
        var atLeast = [Int](repeating: 0, count: steps + 2)
        for length in clamped { atLeast[length] += 1 }
        for l in stride(from: steps, through: 0, by: -1) { atLeast[l] += atLeast[l + 1] }
        // Sequences of length l start at position atLeast[l + 1] of `order` (after every longer one), in batch order.
        var next = (0...steps).map { atLeast[$0 + 1] }
        var order = [Int](repeating: 0, count: lengths.count)
        for (index, length) in clamped.enumerated() {
            order[next[length]] = index
            next[length] += 1
        }
        self.order = order
        activeCounts = (0..<steps).map { atLeast[$0 + 1] }
        var offsets = [Int](repeating: 0, count: steps + 1)
        for t in 0..<steps { offsets[t + 1] = offsets[t] + activeCounts[t] }
        self.offsets = offsets
        isDense = atLeast[steps] == lengths.count
    }

    /// packed[offsets[t] + j] = padded[t, order[j]] for the live rows.
    /// - Parameters: padded `[T, B, width]`; packed `[N, width]`.
    func gather<S>(_ padded: UnsafePointer<S>, width: Int, into packed: UnsafeMutablePointer<S>) {
        if isDense { copyInParallel(from: padded, to: packed, count: rowCount * width); return }
        for t in 0..<steps {
            for j in 0..<activeCounts[t] {
                (packed + (offsets[t] + j) * width).update(from: padded + (t * batchSize + order[j]) * width, count: width)
            }
        }
    }

    /// The inverse of `gather`: padded[t, order[j]] = packed[offsets[t] + j]; padded rows are set to 0.
    func scatter<S: Numeric>(_ packed: UnsafePointer<S>, width: Int, into padded: UnsafeMutablePointer<S>) {
        if isDense { copyInParallel(from: packed, to: padded, count: rowCount * width); return }
        padded.update(repeating: 0, count: steps * batchSize * width)
        for t in 0..<steps {
            for j in 0..<activeCounts[t] {
                (padded + (t * batchSize + order[j]) * width).update(from: packed + (offsets[t] + j) * width, count: width)
            }
        }
    }

    /// sorted[j] = original[order[j]] for B rows of `width`.
    func sortRows<S>(_ original: UnsafePointer<S>, width: Int, into sorted: UnsafeMutablePointer<S>) {
        for j in 0..<batchSize { (sorted + j * width).update(from: original + order[j] * width, count: width) }
    }

    /// original[order[j]] = sorted[j] for B rows of `width`.
    func unsortRows<S>(_ sorted: UnsafePointer<S>, width: Int, into original: UnsafeMutablePointer<S>) {
        for j in 0..<batchSize { (original + order[j] * width).update(from: sorted + j * width, count: width) }
    }
}

/// target[0..<count] = source[0..<count], large copies split between Recur's threads.
func copyInParallel<S>(from source: UnsafePointer<S>, to target: UnsafeMutablePointer<S>, count: Int) {
    let parts = count >= 1 << 18 ? ComputeSettings.coreCount : 1
    parallelFor(parts) { part in
        let range = (count * part / parts)..<(count * (part + 1) / parts)
        (target + range.lowerBound).update(from: source + range.lowerBound, count: range.count)
    }
}
