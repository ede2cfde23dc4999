import RecurText

/// Pretrained word vectors from a text file, as GloVe and word2vec write them: one word per line followed by its
/// numbers, separated by spaces (word2vec's first line, `count dimension`, is recognized and skipped). Only the
/// words a caller asks for are kept, so a large file costs little memory.
public struct WordVectors: Sendable {
    /// The size of every vector.
    public let dimension: Int
    /// The vectors of the words that were asked for and found.
    public let vectors: [String: [Float]]
    /// Lines in the file (vectors read).
    public let lineCount: Int

    /// Reads the vectors of `wanted` words from `path` (nil: every word).
    /// - Throws: `TableError` naming the file, and the line of a malformed vector.
    public static func read(_ path: String, keeping wanted: Set<String>? = nil) throws(TableError) -> WordVectors {
        var dimension: Int?, vectors: [String: [Float]] = [:], lines = 0, lineNumber = 0
        do {
            try TextFile.forEachPiece(path) { text, _ in
                for line in Vocabulary.lines(text) {
                    lineNumber += 1
                    let fields = line.split(separator: " ", omittingEmptySubsequences: true)
                    if fields.isEmpty { continue }
                    if lineNumber == 1, fields.count == 2, Int(fields[0]) != nil, Int(fields[1]) != nil { continue }
                    let numbers = fields.dropFirst().map { Float($0) }
                    guard fields.count >= 2, numbers.allSatisfy({ $0?.isFinite == true }) else {
                        throw TableError(path: path, line: lineNumber, problem: "not a word followed by its numbers")
                    }
                    if dimension == nil { dimension = numbers.count }
                    guard numbers.count == dimension else {
                        throw TableError(path: path, line: lineNumber,
                                         problem: "a vector of \(numbers.count) numbers, but the first has \(dimension!)")
                    }
                    lines += 1
                    let word = String(fields[0])
                    if wanted?.contains(word) ?? true, vectors[word] == nil { vectors[word] = numbers.map { $0! } }
                }
            }
        } catch let error as TableError {
            throw error
        } catch let error as TextFileError {
            throw TableError(path: error.path, line: nil, problem: error.problem)
        } catch {
            throw TableError(path: path, line: nil, problem: "\(error)")
        }
        guard let dimension else { throw TableError(path: path, line: nil, problem: "it has no vectors") }
        return WordVectors(dimension: dimension, vectors: vectors, lineCount: lines)
    }
}
