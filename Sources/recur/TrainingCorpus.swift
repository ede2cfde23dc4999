import Foundation
import Recur

/// The text `recur train` reads, as batches: the vocabulary, the training batches and the validation batches.
struct TrainingCorpus {
    let vocabulary: Vocabulary
    let training: any BatchSource
    let validation: (any BatchSource)?
    /// What the model reads before a sequence's first token (nil: the zero vector).
    let startToken: String?
    /// CRC-32 of the texts and how they are cut, so a resume with other data is refused.
    let checksum: UInt32
    let description: String

    init(_ command: TrainCommand) throws {
        func read(_ path: String) throws -> String {
            do {
                return try TextFile.read(path, replacingInvalid: command.replaceInvalidUtf8)
            } catch {
                throw CommandFailure("\(error)")
            }
        }
        let text = try read(command.data)
        let held = try command.valid.map(read)
        let vocabulary = command.vocabulary(text: text, held: held)
        self.vocabulary = vocabulary
        var crc = CRC32()
        for part in [text, held ?? "", command.layout, command.level] { Array(part.utf8).withUnsafeBytes { crc.update($0) } }
        checksum = crc.value
        let fraction = command.valid == nil ? command.validFraction : 0
        func encode(_ text: String, _ path: String) throws -> [Int] {
            do {
                return try vocabulary.encode(text)
            } catch {
                throw CommandFailure("\(path): \(error)")
            }
        }
        let unit = vocabulary.level == .char ? "characters" : "words"
        if command.layout == "lines" {
            // Each line, from the zero input: inputs [x<1> = 0, t1 … tn], targets [t1 … tn, end].
            startToken = nil
            func examples(_ text: String, _ path: String) throws -> [(inputs: [Int], targets: [Int])] {
                try Vocabulary.lines(text).filter { !$0.isEmpty }.map { line in
                    let ids: [Int]
                    do {
                        ids = try vocabulary.encodeSentence(String(line))
                    } catch {
                        throw CommandFailure("\(path): \(error)")
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
        } else {
            // One stream; the model reads the end token of the line before.
            startToken = vocabulary.endToken
            var ids = try encode(text, command.data)
            var heldIDs = try held.map { try encode($0, command.valid!) } ?? []
            if fraction > 0 {
                let count = Int((Double(ids.count) * fraction).rounded())
                heldIDs = Array(ids.suffix(count))
                ids.removeLast(count)
            }
            let lanes = command.batchSize
            guard ids.count > lanes else {
                throw CommandFailure("\(command.data): \(ids.count) training \(unit) are too few for --batch-size \(lanes) lanes")
            }
            training = TokenStream(tokens: ids, batchSize: lanes, sequenceLength: command.sequenceLength)
            if heldIDs.count > 1 {
                validation = TokenStream(tokens: heldIDs, batchSize: min(lanes, heldIDs.count - 1),
                                         sequenceLength: command.sequenceLength)
            } else {
                validation = nil
            }
            description = "\(ids.count) \(unit) (\(heldIDs.count) held out), \(vocabulary.count) distinct"
        }
    }
}
