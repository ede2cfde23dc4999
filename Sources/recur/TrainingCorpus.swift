import ArgumentParser
import Foundation
import Recur

/// Where a language model's text comes from and how it becomes tokens: `recur train lm`'s data options.
struct TextDataOptions: ParsableArguments {
    @Option(help: "The training text (UTF-8).") var data: String
    @Option(help: "A separate validation text (default: the last --valid-fraction of --data).") var valid: String?
    @Option(help: "Fraction of --data held out for validation when --valid is not given (0 for none).")
    var validFraction: Double = 0.1
    @Option(help: "Tokens: char (every character) or word (split on spaces; <eos> ends each line).") var level: Vocabulary.Level = .char
    @Option(help: "stream (char-rnn windows over the whole text) or lines (each line a sequence).") var layout: TextLayout = .stream
    @Option(help: "stream: window length for truncated backpropagation.") var sequenceLength: Int = 64
    @Option(help: "lines: the most tokens a line may have (each line is trained whole; use --layout stream for long text).")
    var maxLineLength: Int = 10_000
    @Flag(help: "Lowercase the text before splitting it into tokens.") var lowercase = false
    @Option(help: "word: keep at most this many tokens (the end and unknown tokens included).") var maxVocabularySize: Int?
    @Option(help: "word: words seen fewer times become the unknown token.") var minCount: Int = 1
    @Option(help: "word: the token appended to every line.") var eosToken: String = "<eos>"
    @Option(help: "The token for words (or, at char level, characters) outside the vocabulary (char level: none unless given).")
    var unkToken: String?
    @Flag(name: .customLong("replace-invalid-utf8"), help: "Read bytes that are not UTF-8 as U+FFFD instead of refusing the file.")
    var replaceInvalidUtf8 = false

    func validate() throws {
        if let maxVocabularySize { try require(maxVocabularySize >= 3, "--max-vocabulary-size must be at least 3, got \(maxVocabularySize)") }
        try require(minCount >= 1, "--min-count must be at least 1, got \(minCount)")
        try require(!eosToken.isEmpty && !eosToken.contains(where: \.isWhitespace), "--eos-token must be one word, got '\(eosToken)'")
        if let unkToken {
            try require(!unkToken.isEmpty && !unkToken.contains(where: \.isWhitespace), "--unk-token must be one word, got '\(unkToken)'")
            try require(level == .word || unkToken.count == 1, "--unk-token at char level must be one character, got '\(unkToken)'")
        }
        try require(maxLineLength >= 1, "--max-line-length must be at least 1, got \(maxLineLength)")
        try require(sequenceLength >= 1 && sequenceLength <= 1 << 20, "--sequence-length must be between 1 and 1048576, got \(sequenceLength)")
        try require(validFraction >= 0 && validFraction < 1, "--valid-fraction must be in [0, 1), got \(validFraction)")
    }

    /// The vocabulary of text counted a piece at a time (the characters of both files, the words of `--data`).
    func vocabulary(counted counter: TokenCounter) -> Vocabulary {
        switch level {
        case .word:
            Vocabulary(words: counter, maximumSize: maxVocabularySize, minimumCount: minCount,
                       endToken: eosToken, unknownToken: unkToken ?? "<unk>")
        case .char:
            Vocabulary(characters: counter, unknownToken: unkToken)
        }
    }
}

/// How a text is cut into sequences (`--layout`).
enum TextLayout: String, CaseIterable, ExpressibleByArgument {
    /// One stream read in windows, the state carried from one to the next (char-rnn).
    case stream
    /// Each line a sequence of its own, from a zero input.
    case lines
}

/// The text `recur train` reads, as batches: the vocabulary, the training batches and the validation batches.
struct TrainingCorpus {
    let vocabulary: Vocabulary
    let training: any BatchSource<TokenBatch>
    let validation: (any BatchSource<TokenBatch>)?
    /// What the model reads before a sequence's first token (nil: the zero vector).
    let startToken: String?
    /// CRC-32 of the texts and how they are cut, so a resume with other data is refused.
    let checksum: UInt32
    let description: String

    /// The corpus `text` describes, cut into batches of `batchSize` (lanes of a stream, or lines), the lines'
    /// order shuffled from `seed`.
    init(text: TextDataOptions, batchSize: Int, seed: UInt64) throws {
        switch text.layout {
        case .lines: try self.init(lines: text, batchSize: batchSize, seed: seed)
        case .stream: try self.init(stream: text, batchSize: batchSize)
        }
    }

    /// The stream layout: one stream of token ids; the model reads the end token of the line before. The files
    /// are read a piece at a time, twice (once to count the tokens, once to encode them into a memory-mapped
    /// token file), so a corpus never has to fit in memory as text or as an array of ids.
    private init(stream command: TextDataOptions, batchSize: Int) throws {
        let unit = command.level == .char ? "characters" : "words"
        func forEachPiece(_ path: String, _ body: (String, Bool) throws -> Void) throws {
            do {
                try TextFile.forEachPiece(path, replacingInvalid: command.replaceInvalidUtf8,
                                          cutsAnywhereASCII: command.level == .char, body)
            } catch let error as TextFileError {
                throw CommandFailure("\(error)")
            }
        }
        var counter = TokenCounter(level: command.level, lowercases: command.lowercase)
        var crc = CRC32()
        try forEachPiece(command.data) { piece, _ in
            counter.add(piece)
            crc.update(piece.utf8)
        }
        try Self.requireTwoTokens(counter, endToken: command.eosToken, path: command.data)
        if let valid = command.valid {
            try forEachPiece(valid) { piece, _ in
                if counter.level == .char { counter.add(piece) }   // a word vocabulary comes from the training text alone
                crc.update(piece.utf8)
            }
        }
        for part in [command.layout.rawValue, command.level.rawValue] { crc.update(part.utf8) }
        checksum = crc.value
        let vocabulary = command.vocabulary(counted: counter)
        self.vocabulary = vocabulary
        startToken = vocabulary.endToken
        func encode(_ path: String) throws -> TokenIDs {
            do {
                let writer = try TokenFileWriter(vocabularySize: vocabulary.count)
                try forEachPiece(path) { piece, endsLine in
                    do {
                        try writer.append(vocabulary.encode(piece, completesLastLine: endsLine, firstPosition: writer.count))
                    } catch let error as VocabularyError {
                        throw CommandFailure("\(path): \(error)")
                    }
                }
                return try writer.finish()
            } catch let error as TokenFileError {
                throw CommandFailure("\(path): \(error)")
            }
        }
        var ids = try encode(command.data)
        var heldIDs = try command.valid.map(encode)
        if command.valid == nil && command.validFraction > 0 {
            let count = Int((Double(ids.count) * command.validFraction).rounded())
            heldIDs = ids[(ids.count - count)..<ids.count]
            ids = ids[0..<(ids.count - count)]
        }
        let lanes = batchSize
        guard ids.count > lanes else {
            throw CommandFailure("\(command.data): \(ids.count) training \(unit) are too few for --batch-size \(lanes) lanes")
        }
        training = TokenStream(tokens: ids, batchSize: lanes, sequenceLength: command.sequenceLength)
        if let heldIDs, heldIDs.count > 1 {
            validation = TokenStream(tokens: heldIDs, batchSize: min(lanes, heldIDs.count - 1),
                                     sequenceLength: command.sequenceLength)
        } else {
            validation = nil
        }
        description = "\(ids.count) \(unit) (\(heldIDs?.count ?? 0) held out), \(vocabulary.count) distinct"
    }

    /// Refuses a training text with fewer than two distinct tokens to predict: there is nothing to learn from
    /// it. The tokens are those counted, plus the end token at word level (it ends every line) and, with
    /// `linesEnd`, at character level too (the lines layout predicts '\n' after every line).
    private static func requireTwoTokens(_ counter: TokenCounter, endToken: String, path: String,
                                         linesEnd: Bool = false) throws {
        let level = counter.level
        var tokens = Set(counter.counts.keys)
        if level == .word { tokens.insert(endToken) } else if linesEnd { tokens.insert("\n") }
        guard tokens.count < 2 else { return }
        let kind = level == .char ? "character" : "token"
        let only = tokens.first.map { " (\($0.debugDescription))" } ?? ""
        throw CommandFailure("\(path): the text has only one distinct \(kind)\(only); a language model needs at least two to learn anything")
    }

    /// The lines layout: each line a sequence of its own, from the zero input: inputs [x<1> = 0, t1 … tn],
    /// targets [t1 … tn, end]. The lines are held in memory.
    private init(lines command: TextDataOptions, batchSize: Int, seed: UInt64) throws {
        func read(_ path: String) throws -> String {
            do {
                return try TextFile.read(path, replacingInvalid: command.replaceInvalidUtf8)
            } catch {
                throw CommandFailure("\(error)")
            }
        }
        let text = try read(command.data)
        let held = try command.valid.map(read)
        var counter = TokenCounter(level: command.level, lowercases: command.lowercase)
        counter.add(text)
        try Self.requireTwoTokens(counter, endToken: command.eosToken, path: command.data, linesEnd: true)
        if let held, counter.level == .char { counter.add(held) }   // a word vocabulary comes from the training text alone
        let vocabulary = command.vocabulary(counted: counter)
        self.vocabulary = vocabulary
        var crc = CRC32()
        for part in [text, held ?? "", command.layout.rawValue, command.level.rawValue] { crc.update(part.utf8) }
        checksum = crc.value
        let fraction = command.valid == nil ? command.validFraction : 0
        let unit = vocabulary.level == .char ? "characters" : "words"
        startToken = nil
        func examples(_ text: String, _ path: String) throws -> [(inputs: [Int], targets: [Int])] {
            try Vocabulary.lines(text).enumerated().filter { !$0.element.isEmpty }.map { index, line in
                let ids: [Int]
                do {
                    ids = try vocabulary.encodeSentence(String(line))
                } catch {
                    throw CommandFailure("\(path): line \(index + 1): \(error)")
                }
                guard ids.count <= command.maxLineLength else {
                    throw CommandFailure("\(path): line \(index + 1) has \(ids.count) tokens, more than --max-line-length \(command.maxLineLength) (with --layout lines each line is trained whole; use --layout stream for long text, or raise --max-line-length)")
                }
                return (inputs: [-1] + ids.dropLast(), targets: ids)
            }
        }
        var lines = try examples(text, command.data)
        var heldLines = try held.map { try examples($0, command.valid!) } ?? []
        if fraction > 0 {
            let count = Int((Double(lines.count) * fraction).rounded())
            heldLines = Array(lines.suffix(count))
            lines.removeLast(count)
        }
        guard !lines.isEmpty else { throw CommandFailure("\(command.data): no lines left to train on") }
        training = SequenceExamples(examples: lines, batchSize: min(batchSize, lines.count), seed: seed)
        validation = heldLines.isEmpty ? nil
            : SequenceExamples(examples: heldLines, batchSize: min(batchSize, heldLines.count), shuffles: false)
        description = "\(lines.count) lines (\(heldLines.count) held out), \(vocabulary.count) distinct \(unit)"
    }
}
