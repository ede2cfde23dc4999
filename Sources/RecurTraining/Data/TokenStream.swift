/// One long stream of tokens trained char-rnn style: truncated backpropagation through time over B lanes.
///
/// The predictions of the stream (each token predicting the next) are cut into B contiguous lanes, and each
/// step takes the next window of at most T predictions from every lane, so lane b's state carries from one
/// window to the next — gradients stop at window edges, the state does not.
///
/// With `documentStarts`, the stream is a series of documents and no window crosses from one into the next:
/// a window ends early at a document's end (shorter length in the batch), and the next window of that lane
/// starts the next document from a zero state. With `zeroInputAtDocumentStart`, each document's first token is
/// predicted too, from a zero input (the course's `x<1>` = 0); otherwise it is only read.
public struct TokenStream: BatchSource {
    /// The stream's ids.
    public let tokens: TokenIDs
    /// B, the lanes the stream is cut into.
    public let batchSize: Int
    /// T, the longest window.
    public let sequenceLength: Int
    /// Every window of every lane, by step: windows[index][lane].
    private let windows: [[Window]]

    struct Window: Equatable {
        /// First prediction (a position in `tokens` that is predicted) and how many.
        var first: Int
        var count: Int
        /// The first input is the zero input (−1) rather than tokens[first − 1].
        var zeroInput: Bool
        var reset: Bool
    }

    /// - Parameters: documentStarts sorted positions in `tokens` where documents begin (nil: one document);
    ///   batchSize B lanes; sequenceLength T.
    public init(tokens: [Int], documentStarts: [Int]? = nil, zeroInputAtDocumentStart: Bool = false,
                batchSize: Int, sequenceLength: Int) {
        self.init(tokens: TokenIDs(tokens), documentStarts: documentStarts, zeroInputAtDocumentStart: zeroInputAtDocumentStart,
                  batchSize: batchSize, sequenceLength: sequenceLength)
    }

    /// The same over compactly stored (perhaps memory-mapped) ids.
    public init(tokens: TokenIDs, documentStarts: [Int]? = nil, zeroInputAtDocumentStart: Bool = false,
                batchSize: Int, sequenceLength: Int) {
        precondition(batchSize >= 1 && sequenceLength >= 1, "batch size and sequence length must be at least 1")
        self.tokens = tokens
        self.batchSize = batchSize
        self.sequenceLength = sequenceLength
        // Every predicted position, document by document: (position, document start).
        let starts = (documentStarts ?? [0]).filter { $0 >= 0 && $0 < tokens.count }
        var documents: [Range<Int>] = []
        for (i, start) in starts.enumerated() {
            let end = i + 1 < starts.count ? starts[i + 1] : tokens.count
            if end > start { documents.append(start..<end) }
        }
        // Predictions of a document [s, e): s…e−1 with a zero first input, s+1…e−1 without.
        var predicted: [(range: Range<Int>, zeroFirst: Bool)] = documents.map { d in
            zeroInputAtDocumentStart ? (d, true) : ((d.lowerBound + 1)..<d.upperBound, false)
        }
        predicted.removeAll { $0.range.isEmpty }
        let total = predicted.reduce(0) { $0 + $1.range.count }
        precondition(total >= batchSize, "the stream has \(total) predictions, fewer than the \(batchSize) lanes")
        // Lane b owns predictions [b·P/B, (b+1)·P/B) in document order.
        var lanes: [[Window]] = []
        var documentIndex = 0, consumedBefore = 0
        for lane in 0..<batchSize {
            let laneStart = lane * total / batchSize, laneEnd = (lane + 1) * total / batchSize
            var windows: [Window] = []
            var q = laneStart, laneBegins = true
            while q < laneEnd {
                while consumedBefore + predicted[documentIndex].range.count <= q {
                    consumedBefore += predicted[documentIndex].range.count
                    documentIndex += 1
                }
                let document = predicted[documentIndex], offset = q - consumedBefore
                let count = min(sequenceLength, laneEnd - q, document.range.count - offset)
                let atDocumentStart = offset == 0
                windows.append(Window(first: document.range.lowerBound + offset, count: count,
                                      zeroInput: atDocumentStart && document.zeroFirst,
                                      reset: laneBegins || (atDocumentStart && documentStarts != nil)))
                laneBegins = false
                q += count
            }
            lanes.append(windows)
        }
        let steps = lanes.map(\.count).max() ?? 0
        windows = (0..<steps).map { index in
            lanes.map { index < $0.count ? $0[index] : Window(first: 0, count: 0, zeroInput: false, reset: true) }
        }
    }

    /// Windows of T in each lane: the batches of one pass over the stream.
    public var batchesPerEpoch: Int { windows.count }

    /// The batch `index` of an epoch (every epoch reads the same windows).
    public func batch(epoch: Int, index: Int) -> TokenBatch {
        let lanes = windows[index], b = batchSize, steps = lanes.map(\.count).max() ?? 0
        var inputs = [Int](repeating: -1, count: steps * b), targets = [Int](repeating: 0, count: steps * b)
        for (lane, window) in lanes.enumerated() {
            for t in 0..<window.count {
                let position = window.first + t
                inputs[t * b + lane] = t == 0 && window.zeroInput ? -1 : tokens[position - 1]
                targets[t * b + lane] = tokens[position]
            }
        }
        // Every epoch starts each lane afresh.
        let resets = lanes.map { index == 0 || $0.reset }
        return TokenBatch(steps: steps, batchSize: b, inputs: inputs, targets: targets, lengths: lanes.map(\.count),
                          resets: resets)
    }
}
