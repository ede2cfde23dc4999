import Foundation
import Recur

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

    init(_ command: TrainCommand) throws {
        if command.layout == "lines" {
            try self.init(lines: command)
        } else {
            try self.init(stream: command)
        }
    }

    /// The stream layout: one stream of token ids; the model reads the end token of the line before. The files
    /// are read a piece at a time, twice (once to count the tokens, once to encode them into a memory-mapped
    /// token file), so a corpus never has to fit in memory as text or as an array of ids.
    private init(stream command: TrainCommand) throws {
        let unit = command.level == "char" ? "characters" : "words"
        func forEachPiece(_ path: String, _ body: (String, Bool) throws -> Void) throws {
            do {
                try TextFile.forEachPiece(path, replacingInvalid: command.replaceInvalidUtf8,
                                          cutsAnywhereASCII: command.level == "char", body)
            } catch let error as TextFileError {
                throw CommandFailure("\(error)")
            }
        }
        var counter = TokenCounter(level: command.level == "word" ? .word : .char, lowercases: command.lowercase)
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
        for part in [command.layout, command.level] { crc.update(part.utf8) }
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
        let lanes = command.batchSize
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
    private init(lines command: TrainCommand) throws {
        func read(_ path: String) throws -> String {
            do {
                return try TextFile.read(path, replacingInvalid: command.replaceInvalidUtf8)
            } catch {
                throw CommandFailure("\(error)")
            }
        }
        let text = try read(command.data)
        let held = try command.valid.map(read)
        var counter = TokenCounter(level: command.level == "word" ? .word : .char, lowercases: command.lowercase)
        counter.add(text)
        try Self.requireTwoTokens(counter, endToken: command.eosToken, path: command.data, linesEnd: true)
        if let held, counter.level == .char { counter.add(held) }   // a word vocabulary comes from the training text alone
        let vocabulary = command.vocabulary(counted: counter)
        self.vocabulary = vocabulary
        var crc = CRC32()
        for part in [text, held ?? "", command.layout, command.level] { crc.update(part.utf8) }
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
        training = SequenceExamples(examples: lines, batchSize: min(command.batchSize, lines.count), seed: command.seed)
        validation = heldLines.isEmpty ? nil
            : SequenceExamples(examples: heldLines, batchSize: min(command.batchSize, heldLines.count), shuffles: false)
        description = "\(lines.count) lines (\(heldLines.count) held out), \(vocabulary.count) distinct \(unit)"
    }
}
