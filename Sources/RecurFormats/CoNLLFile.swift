import RecurText

/// Sentences in CoNLL's column format, as CoNLL-2003 and WNUT-17 are written: one token per line, its columns
/// separated by spaces or tabs (`EU NNP I-NP I-ORG`), a blank line between sentences, and `-DOCSTART-` lines (the
/// start of a document) ignored.
///
/// Every line of a sentence must have as many columns as the sentence's first line. The file is read as checked
/// UTF-8 (`TextFile`): an empty, binary or non-UTF-8 file is refused, naming the byte offset and line.
public struct CoNLLFile: Sendable, Equatable {
    /// One sentence: its tokens, their tags when a tag column was read, and the line it starts on.
    public struct Sentence: Sendable, Equatable {
        /// The tokens, in order.
        public var tokens: [String]
        /// Each token's tag (nil when only tokens were read).
        public var tags: [String]?
        /// The line of the first token (1 for the file's first line).
        public var line: Int

        /// A sentence starting on `line`.
        public init(tokens: [String], tags: [String]?, line: Int) {
            self.tokens = tokens
            self.tags = tags
            self.line = line
        }
    }

    /// Which columns to read, counted from 0.
    public struct Columns: Sendable, Equatable {
        /// The token's column.
        public var token: Int
        /// The tag's column: a column, or nil for the last one; not read when `readsTags` is false.
        public var tag: Int?
        /// Whether to read tags at all.
        public var readsTags: Bool

        /// The token from column `token`, the tag from column `tag` (nil: the last), if `readsTags`.
        public init(token: Int = 0, tag: Int? = nil, readsTags: Bool = true) {
            self.token = token
            self.tag = tag
            self.readsTags = readsTags
        }
    }

    /// The file the sentences were read from.
    public let path: String
    /// The sentences, in file order.
    public let sentences: [Sentence]

    /// Reads the sentences of `path`.
    /// - Throws: `TableError` naming the file, and the line for a malformed token line.
    public static func read(_ path: String, columns: Columns = Columns()) throws(TableError) -> CoNLLFile {
        let text: String
        do {
            text = try TextFile.read(path)
        } catch {
            throw TableError(path: error.path, line: nil, problem: error.problem)
        }
        return try parse(text, path: path, columns: columns)
    }

    /// The sentences of `text`, as read from `path` (named in errors).
    public static func parse(_ text: String, path: String, columns: Columns = Columns()) throws(TableError) -> CoNLLFile {
        var sentences: [Sentence] = []
        var tokens: [String] = [], tags: [String] = [], first = 0, width = 0
        func finish() {
            if !tokens.isEmpty { sentences.append(Sentence(tokens: tokens, tags: columns.readsTags ? tags : nil, line: first)) }
            tokens = []
            tags = []
        }
        for (index, line) in Vocabulary.lines(text).enumerated() {
            let number = index + 1
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if fields.isEmpty {
                finish()
                continue
            }
            if fields[0] == "-DOCSTART-" {
                finish()
                continue
            }
            if tokens.isEmpty {
                first = number
                width = fields.count
            } else if fields.count != width {
                throw TableError(path: path, line: number,
                                 problem: "\(fields.count) columns, but the sentence starting on line \(first) has \(width)")
            }
            guard columns.token < fields.count else {
                throw TableError(path: path, line: number, problem: "no token column \(columns.token + 1) (the line has \(fields.count) columns)")
            }
            tokens.append(String(fields[columns.token]))
            if columns.readsTags {
                let column = columns.tag ?? fields.count - 1
                guard column < fields.count, column != columns.token else {
                    throw TableError(path: path, line: number,
                                     problem: "no tag column \(columns.tag.map { "\($0 + 1)" } ?? "after the token") (the line has \(fields.count) columns)")
                }
                tags.append(String(fields[column]))
            }
        }
        finish()
        guard !sentences.isEmpty else { throw TableError(path: path, line: nil, problem: "it has no sentences") }
        return CoNLLFile(path: path, sentences: sentences)
    }

    private init(path: String, sentences: [Sentence]) {
        self.path = path
        self.sentences = sentences
    }
}
