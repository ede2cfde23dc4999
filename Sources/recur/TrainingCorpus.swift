import Foundation
import Recur

/// The text `recur train` reads, as batches: the vocabulary of every character in the data (and the
/// validation text), the training batches and the validation batches.
struct TrainingCorpus {
    let vocabulary: CharacterVocabulary
    let training: any BatchSource
    let validation: (any BatchSource)?
    /// CRC-32 of the texts and the layout, so a resume with other data is refused.
    let checksum: UInt32
    let description: String

    init(_ command: TrainCommand) throws {
        func read(_ path: String) throws -> String {
            do {
                return try TextFile.read(path)
            } catch {
                throw CommandFailure("\(error)")
            }
        }
        let text = try read(command.data)
        let held = try command.valid.map(read)
        let vocabulary = CharacterVocabulary(text: text + (held ?? "") + (command.layout == "lines" ? "\n" : ""))
        self.vocabulary = vocabulary
        var crc = CRC32()
        for part in [text, held ?? "", command.layout] { Array(part.utf8).withUnsafeBytes { crc.update($0) } }
        checksum = crc.value
        let fraction = command.valid == nil ? command.validFraction : 0
        if command.layout == "lines" {
            // Each line: inputs [x<1> = 0, c1 … cn], targets [c1 … cn, '\n'].
            let newline = vocabulary.id(of: "\n")!
            func examples(_ text: String) throws -> [(inputs: [Int], targets: [Int])] {
                try text.split(separator: "\n", omittingEmptySubsequences: true).map { line in
                    let ids = try vocabulary.encode(String(line))
                    return (inputs: [-1] + ids, targets: ids + [newline])
                }
            }
            var lines = try examples(text)
            var heldLines = try held.map(examples) ?? []
            if fraction > 0 {
                let count = Int((Double(lines.count) * fraction).rounded())
                heldLines = Array(lines.suffix(count))
                lines.removeLast(count)
            }
            guard !lines.isEmpty else { throw CommandFailure("\(command.data): no lines left to train on") }
            training = SequenceExamples(examples: lines, batchSize: min(command.batchSize, lines.count), seed: command.seed)
            validation = heldLines.isEmpty ? nil
                : SequenceExamples(examples: heldLines, batchSize: min(command.batchSize, heldLines.count), shuffles: false)
            description = "\(lines.count) lines (\(heldLines.count) held out), \(vocabulary.count) characters"
        } else {
            var ids = try vocabulary.encode(text)
            var heldIDs = try held.map { try vocabulary.encode($0) } ?? []
            if fraction > 0 {
                let count = Int((Double(ids.count) * fraction).rounded())
                heldIDs = Array(ids.suffix(count))
                ids.removeLast(count)
            }
            let lanes = command.batchSize
            guard ids.count > lanes else {
                throw CommandFailure("\(command.data): \(ids.count) training characters are too few for --batch-size \(lanes) lanes")
            }
            training = TokenStream(tokens: ids, batchSize: lanes, sequenceLength: command.sequenceLength)
            if heldIDs.count > 1 {
                validation = TokenStream(tokens: heldIDs, batchSize: min(lanes, heldIDs.count - 1),
                                         sequenceLength: command.sequenceLength)
            } else {
                validation = nil
            }
            description = "\(ids.count) characters (\(heldIDs.count) held out), \(vocabulary.count) distinct"
        }
    }
}
