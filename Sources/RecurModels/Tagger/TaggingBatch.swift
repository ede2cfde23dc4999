import RecurCore
import RecurTraining

/// One sentence for a tagger: each token's word id, its characters' ids, and its tag (−1 when unknown).
public struct TaggedSentence: Sendable, Equatable {
    /// [n] word ids.
    public var words: [Int]
    /// [n] the character ids of each token (empty when the tagger reads no characters).
    public var characters: [[Int]]
    /// [n] tag ids; −1 where there is none (text to tag).
    public var tags: [Int]

    /// A sentence of `words.count` tokens.
    public init(words: [Int], characters: [[Int]], tags: [Int]) {
        precondition(tags.count == words.count && (characters.isEmpty || characters.count == words.count),
                     "a sentence has one tag and one character sequence per word")
        self.words = words
        self.characters = characters
        self.tags = tags
    }
}

/// One minibatch of sentences for a many-to-many tagger (T_x = T_y), time-major as the recurrent layers take them:
///
///     words       [T, B]    word ids; −1 past each sentence's length
///     tags        [T, B]    tag ids; −1 past each length (and where unknown)
///     lengths     [B]       each sentence's tokens
///     positions   [N]       the t·B + b of each of the N = Σ lengths tokens, t-major
///     characters  [T_c, N]  each token's character ids; −1 past its length
///     characterLengths [N]  each token's characters
///
/// A tagger's unit is the token: the progress counts tokens.
public struct TaggingBatch: TrainingBatch, Equatable {
    /// T, the tokens of the longest sentence.
    public var steps: Int
    /// [T·B] word ids, −1 padded.
    public var words: [Int]
    /// [T·B] tag ids, −1 padded.
    public var tags: [Int]
    /// [B] tokens of each sentence.
    public var lengths: [Int]
    /// [N] the position t·B + b of every token.
    public var positions: [Int]
    /// T_c, the characters of the longest token (0 when no characters are read).
    public var characterSteps: Int
    /// [T_c·N] character ids, time-major over the tokens, −1 padded.
    public var characters: [Int]
    /// [N] characters of each token.
    public var characterLengths: [Int]

    /// B, the sentences.
    public var batchSize: Int { lengths.count }
    /// The tokens: what a tagger's progress counts.
    public var unitCount: Int { positions.count }

    /// Sentences side by side, padded to the longest.
    public init(packing sentences: [TaggedSentence]) {
        let b = sentences.count
        steps = sentences.map(\.words.count).max() ?? 0
        var words = [Int](repeating: -1, count: steps * b), tags = words
        for (column, sentence) in sentences.enumerated() {
            for t in sentence.words.indices {
                words[t * b + column] = sentence.words[t]
                tags[t * b + column] = sentence.tags[t]
            }
        }
        self.words = words
        self.tags = tags
        lengths = sentences.map(\.words.count)
        var positions: [Int] = [], spellings: [[Int]] = []
        for t in 0..<steps {
            for (column, sentence) in sentences.enumerated() where t < sentence.words.count {
                positions.append(t * b + column)
                if !sentence.characters.isEmpty { spellings.append(sentence.characters[t]) }
            }
        }
        self.positions = positions
        characterSteps = spellings.map(\.count).max() ?? 0
        let n = spellings.count
        var characters = [Int](repeating: -1, count: characterSteps * n)
        for (token, spelling) in spellings.enumerated() {
            for (t, id) in spelling.enumerated() { characters[t * n + token] = id }
        }
        self.characters = characters
        characterLengths = spellings.map(\.count)
    }
}

/// Tagged sentences, shuffled each epoch with a seeded generator and cut into minibatches of B.
public struct TaggedExamples: BatchSource {
    /// The sentences.
    public let sentences: [TaggedSentence]
    /// B, the sentences in each batch.
    public let batchSize: Int
    /// Order: shuffled per epoch from `seed`, or as given.
    public let shuffles: Bool
    /// The seed of each epoch's shuffle.
    public let seed: UInt64

    /// Sentences to batch.
    public init(sentences: [TaggedSentence], batchSize: Int, shuffles: Bool = true, seed: UInt64 = 0) {
        precondition(!sentences.isEmpty, "there must be at least one sentence")
        precondition(batchSize >= 1, "batch size must be at least 1, got \(batchSize)")
        self.sentences = sentences
        self.batchSize = batchSize
        self.shuffles = shuffles
        self.seed = seed
    }

    /// Every sentence once per epoch; the last batch is smaller when B does not divide their number.
    public var batchesPerEpoch: Int { (sentences.count + batchSize - 1) / batchSize }

    /// Batch `index` of `epoch`: the sentences in that epoch's order.
    public func batch(epoch: Int, index: Int) -> TaggingBatch {
        let order = epochOrder(count: sentences.count, epoch: epoch, shuffles: shuffles, seed: seed)
        return TaggingBatch(packing: order[(index * batchSize)..<min(order.count, (index + 1) * batchSize)].map { sentences[$0] })
    }
}
