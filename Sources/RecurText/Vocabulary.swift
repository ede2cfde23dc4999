/// The tokens of a corpus, each with an id: the course's `char_to_ix` / `ix_to_char`, for characters or words.
///
/// **Characters** (`Vocabulary(characters:)`): every distinct character (an extended grapheme cluster, what
/// Swift's `Character` is, so "é" written as e + combining accent is one token), in Unicode scalar order as the
/// course's `sorted(set(data))` — for the dinosaur names '\n' is 0 and 'a'…'z' are 1…26. The end of a line,
/// '\n', is the end token.
///
/// **Words** (`Vocabulary(words:…)`): each line is split on spaces and tabs, and the end token (`<eos>` by
/// default) is appended to every line, as the course adds `<EOS>` at the end of each sentence and as PTB's
/// convention does. Words are ordered by count (most frequent first; ties alphabetically). Words below
/// `minimumCount`, or beyond the `maximumSize` most frequent, become the unknown token (`<unk>` by default,
/// always in a word vocabulary). Lines are split on '\n' and "\r\n" only (never on U+0085 or U+2028).
///
/// **Case.** Nothing is lowercased unless `lowercases` is set; then text is lowercased (Unicode's
/// default lowercasing) before it is split into tokens, both when building and when encoding.
///
/// **Punctuation.** A word vocabulary with `splitsPunctuation` also makes every punctuation mark and symbol a token
/// of its own ("great!" → great, !), except an apostrophe or hyphen between two letters or digits, which stays inside
/// its word ("isn't", "well-made").
public struct Vocabulary: Codable, Equatable, Sendable {
    /// What a token is: a character, or a word.
    public enum Level: String, Codable, Sendable, CaseIterable {
        /// A token is a character (`Character`), or a word (split on spaces and tabs).
        case char, word
    }

    /// Characters or words.
    public let level: Level
    /// The tokens, by id.
    public let tokens: [String]
    /// The token that ends each line: "\n" for characters, `<eos>` (or as chosen) for words.
    public let endToken: String
    /// The token that stands for anything outside the vocabulary (nil: such input is an error).
    public let unknownToken: String?
    /// Whether text is lowercased before it is split into tokens.
    public let lowercases: Bool
    /// Whether a word vocabulary makes punctuation marks and symbols tokens of their own.
    public let splitsPunctuation: Bool
    private let ids: [String: Int]

    /// A vocabulary with these tokens in this order.
    public init(level: Level, tokens: [String], endToken: String, unknownToken: String?, lowercases: Bool = false,
                splitsPunctuation: Bool = false) {
        precondition(Set(tokens).count == tokens.count, "a vocabulary cannot list a token twice")
        precondition(tokens.contains(endToken), "the end token \(endToken.debugDescription) must be in the vocabulary")
        precondition(unknownToken.map(tokens.contains) ?? true, "the unknown token must be in the vocabulary")
        precondition(level == .word || tokens.allSatisfy { $0.count == 1 }, "every token of a character vocabulary is one character")
        self.level = level
        self.tokens = tokens
        self.endToken = endToken
        self.unknownToken = unknownToken
        self.lowercases = lowercases
        self.splitsPunctuation = level == .word && splitsPunctuation
        ids = Dictionary(uniqueKeysWithValues: tokens.enumerated().map { ($1, $0) })
    }

    /// The character vocabulary of `text` (plus '\n', the end token, if the text has none).
    public init(characters text: String, lowercases: Bool = false, unknownToken: String? = nil) {
        var counter = TokenCounter(level: .char, lowercases: lowercases)
        counter.add(text)
        self.init(characters: counter, unknownToken: unknownToken)
    }

    /// The character vocabulary of the text `counter` has read.
    public init(characters counter: TokenCounter, unknownToken: String? = nil) {
        precondition(counter.level == .char, "a character vocabulary needs characters counted")
        var set = Set(counter.counts.keys)
        set.insert("\n")
        if let unknownToken { set.insert(unknownToken) }
        self.init(level: .char, tokens: set.sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) },
                  endToken: "\n", unknownToken: unknownToken, lowercases: counter.lowercases)
    }

    /// The word vocabulary of `text`.
    /// - Parameters: maximumSize counts the end and unknown tokens; minimumCount drops rarer words.
    public init(words text: String, maximumSize: Int? = nil, minimumCount: Int = 1, lowercases: Bool = false,
                splitsPunctuation: Bool = false, endToken: String = "<eos>", unknownToken: String = "<unk>") {
        var counter = TokenCounter(level: .word, lowercases: lowercases, splitsPunctuation: splitsPunctuation)
        counter.add(text)
        self.init(words: counter, maximumSize: maximumSize, minimumCount: minimumCount, endToken: endToken,
                  unknownToken: unknownToken)
    }

    /// The word vocabulary of the text `counter` has read (see `init(words:…)`).
    public init(words counter: TokenCounter, maximumSize: Int? = nil, minimumCount: Int = 1,
                endToken: String = "<eos>", unknownToken: String = "<unk>") {
        precondition(counter.level == .word, "a word vocabulary needs words counted")
        var counts = counter.counts
        counts[endToken] = nil
        counts[unknownToken] = nil
        var kept = counts.filter { $0.value >= minimumCount }.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
            .map(\.key)
        if let maximumSize { kept = Array(kept.prefix(max(0, maximumSize - 2))) }
        self.init(level: .word, tokens: kept + [unknownToken, endToken], endToken: endToken, unknownToken: unknownToken,
                  lowercases: counter.lowercases, splitsPunctuation: counter.splitsPunctuation)
    }

    /// V, the number of tokens.
    public var count: Int { tokens.count }
    /// The id of the end token.
    public var endID: Int { ids[endToken]! }
    /// The id of the unknown token, if the vocabulary has one.
    public var unknownID: Int? { unknownToken.flatMap { ids[$0] } }

    /// The id of `token`, or nil.
    public func id(of token: String) -> Int? { ids[token] }
    /// The id of a character token, or nil.
    public func id(of character: Character) -> Int? { ids[String(character)] }

    /// The tokens of `text`: its characters, or for each line its words and the end token.
    public func split(_ text: String) -> [String] {
        var result: [String] = []
        forEachToken(of: text) { result.append($0) }
        return result
    }

    /// The ids of `text` (see `split`); a token outside the vocabulary becomes the unknown token, or, without
    /// one, is an error naming it and its position (in tokens). Reads the text once, without an array of
    /// token strings, so a large corpus costs little more than its ids.
    /// - Parameters:
    ///   - text: the text, or a piece of it.
    ///   - completesLastLine: false when `text` is a piece of a longer text that stops inside a line (see
    ///     `TextFile.forEachPiece`): the end token then waits for the piece that ends the line.
    ///   - firstPosition: the position of `text`'s first token in the whole text, for the error's position.
    public func encode(_ text: String, completesLastLine: Bool = true, firstPosition: Int = 0) throws(VocabularyError) -> [Int] {
        try encode(text, completesLastLine: completesLastLine) { token, count throws(VocabularyError) in
            throw .unknownToken(token, position: firstPosition + count)
        }
    }

    /// The ids of `text` (see `split`), leaving out every token the vocabulary does not have and counting it in
    /// `skipped` (a vocabulary with an unknown token maps such tokens to it instead, and skips nothing). For
    /// scoring a text that holds a few characters a model never saw: the rest is read as if they were not there.
    public func encode(_ text: String, completesLastLine: Bool = true, skipping skipped: inout SkippedTokens) -> [Int] {
        encode(text, completesLastLine: completesLastLine) { token, _ in skipped.add(token) }
    }

    /// The ids of `text`; a token outside the vocabulary becomes the unknown token or, without one, goes to
    /// `unseen` with the number of ids so far, and gets no id.
    private func encode<E: Error>(_ text: String, completesLastLine: Bool,
                                  unseen: (String, Int) throws(E) -> Void) throws(E) -> [Int] {
        var result: [Int] = []
        result.reserveCapacity(level == .char ? text.utf8.count : text.utf8.count / 4)
        try forEachToken(of: text, completesLastLine: completesLastLine) { token throws(E) in
            if let id = ids[token] {
                result.append(id)
            } else if let unknown = unknownID {
                result.append(unknown)
            } else {
                try unseen(token, result.count)
            }
        }
        return result
    }

    /// Calls `body` with each token of `text` in order: the one definition of how text becomes tokens.
    private func forEachToken<E: Error>(of text: String, completesLastLine: Bool = true,
                                        _ body: (String) throws(E) -> Void) throws(E) {
        let source = lowercases ? text.lowercased() : text
        switch level {
        case .char:
            for character in source { try body(String(character)) }
        case .word:
            let lines = Vocabulary.lines(source), open = !completesLastLine && source.utf8.last != 0x0A
            for (index, line) in lines.enumerated() {
                for word in Vocabulary.words(line, splitsPunctuation: splitsPunctuation) { try body(word) }
                if !(open && index == lines.count - 1) { try body(endToken) }
            }
        }
    }

    /// The ids of one sentence followed by the end token, as a model scores it (`"the cat"` → the, cat, `<eos>`).
    public func encodeSentence(_ sentence: String) throws(VocabularyError) -> [Int] {
        endingSentence(try encode(Vocabulary.withoutLineBreak(sentence)))
    }

    /// ``encodeSentence(_:)`` leaving out the tokens the vocabulary does not have (see ``encode(_:completesLastLine:skipping:)``).
    public func encodeSentence(_ sentence: String, skipping skipped: inout SkippedTokens) -> [Int] {
        endingSentence(encode(Vocabulary.withoutLineBreak(sentence), skipping: &skipped))
    }

    /// A sentence's ids with the end token after them (a word vocabulary's encoding has it already).
    private func endingSentence(_ ids: [Int]) -> [Int] { level == .word ? ids : ids + [endID] }

    /// `sentence` without its final line break, if it has one.
    private static func withoutLineBreak(_ sentence: String) -> String {
        sentence.last == "\n" || sentence.last == "\r\n" ? String(sentence.dropLast()) : sentence
    }

    /// The text of `ids`: characters joined; words joined by spaces, the end token as a line break.
    public func decode(_ ids: [Int]) -> String {
        var text = ""
        for id in ids where tokens.indices.contains(id) { text += piece(id, after: text) }
        return text
    }

    /// What token `id` adds to `text` so far (a word gets a space before it unless it starts a line).
    public func piece(_ id: Int, after text: String) -> String {
        let token = tokens[id]
        switch level {
        case .char: return token
        case .word:
            if token == endToken { return "\n" }
            return text.isEmpty || text.hasSuffix("\n") ? token : " " + token
        }
    }

    /// Lines split on '\n' (or "\r\n", which is one Swift character) only; a final empty piece (text ending with a
    /// line break) is not a line.
    public static func lines(_ text: String) -> [Substring] {
        var pieces = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        if pieces.last?.isEmpty == true { pieces.removeLast() }
        return pieces
    }

    /// The words of a line: split on spaces and tabs, and around punctuation when `splitsPunctuation` is set.
    /// An ASCII line (the common case) is split byte by byte; any other by `Character`s, with the same rules.
    static func words(_ line: Substring, splitsPunctuation: Bool) -> [String] {
        if let words = line.utf8.withContiguousStorageIfAvailable({ asciiWords($0, splitsPunctuation: splitsPunctuation) }),
           let words {
            return words
        }
        return characterWords(line, splitsPunctuation: splitsPunctuation)
    }

    /// `words` by `Character`s: the definition, for any text.
    static func characterWords(_ line: Substring, splitsPunctuation: Bool) -> [String] {
        let pieces = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard splitsPunctuation else { return pieces.map(String.init) }
        var words: [String] = []
        for piece in pieces {
            let characters = Array(piece)
            var word = ""
            for (i, c) in characters.enumerated() {
                let joins = (c == "'" || c == "’" || c == "-") && i > 0 && i + 1 < characters.count
                    && isWordCharacter(characters[i - 1]) && isWordCharacter(characters[i + 1])
                if isWordCharacter(c) || joins {
                    word.append(c)
                } else {
                    if !word.isEmpty { words.append(word); word = "" }
                    words.append(String(c))
                }
            }
            if !word.isEmpty { words.append(word) }
        }
        return words
    }

    /// `words` of an ASCII line's bytes, without building `Character`s; nil when a byte is not ASCII.
    static func asciiWords(_ bytes: UnsafeBufferPointer<UInt8>, splitsPunctuation: Bool) -> [String]? {
        guard !bytes.contains(where: { $0 >= 0x80 }) else { return nil }
        var words: [String] = [], start: Int? = nil
        func finish(_ end: Int) {
            if let first = start { words.append(String(decoding: UnsafeBufferPointer(rebasing: bytes[first..<end]), as: UTF8.self)) }
            start = nil
        }
        for i in bytes.indices {
            let b = bytes[i]
            if b == 0x20 || b == 0x09 {                                   // space, tab
                finish(i)
                continue
            }
            func inWord(_ j: Int) -> Bool { j >= 0 && j < bytes.count && bytes[j] != 0x20 && bytes[j] != 0x09 && isWordByte(bytes[j]) }
            let joins = (b == 0x27 || b == 0x2D) && inWord(i - 1) && inWord(i + 1)
            if !splitsPunctuation || isWordByte(b) || joins {
                if start == nil { start = i }
            } else {
                finish(i)
                words.append(String(UnicodeScalar(b)))
            }
        }
        finish(bytes.count)
        return words
    }

    /// An ASCII letter, digit or control character: what `isWordCharacter` says of an ASCII byte.
    @inline(__always) private static func isWordByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b | 0x20 >= 0x61 && b | 0x20 <= 0x7A) || b < 0x21 || b == 0x7F
    }

    /// A letter, digit or combining mark: what a word is made of when punctuation is split off.
    private static func isWordCharacter(_ c: Character) -> Bool {
        if let ascii = c.asciiValue { return isWordByte(ascii) }          // the common case, without Unicode tables
        return c.isLetter || c.isNumber || !(c.isPunctuation || c.isSymbol)
    }

    // MARK: - Codable

    private enum CodingKeys: String, CodingKey { case level, tokens, endToken, unknownToken, lowercases, splitsPunctuation }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let level = try c.decode(Level.self, forKey: .level)
        let tokens = try c.decode([String].self, forKey: .tokens)
        let end = try c.decode(String.self, forKey: .endToken)
        let unknown = try c.decodeIfPresent(String.self, forKey: .unknownToken)
        guard Set(tokens).count == tokens.count, tokens.contains(end), unknown.map(tokens.contains) ?? true,
              level == .word || tokens.allSatisfy({ $0.count == 1 }) else {
            throw DecodingError.dataCorruptedError(forKey: .tokens, in: c,
                debugDescription: "a vocabulary lists distinct tokens including its end and unknown tokens")
        }
        self.init(level: level, tokens: tokens, endToken: end, unknownToken: unknown,
                  lowercases: try c.decodeIfPresent(Bool.self, forKey: .lowercases) ?? false,
                  splitsPunctuation: try c.decodeIfPresent(Bool.self, forKey: .splitsPunctuation) ?? false)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(level, forKey: .level)
        try c.encode(tokens, forKey: .tokens)
        try c.encode(endToken, forKey: .endToken)
        try c.encodeIfPresent(unknownToken, forKey: .unknownToken)
        try c.encode(lowercases, forKey: .lowercases)
        if splitsPunctuation { try c.encode(splitsPunctuation, forKey: .splitsPunctuation) }
    }
}

/// The tokens a text held that a vocabulary does not, left out by ``Vocabulary/encode(_:completesLastLine:skipping:)``.
public struct SkippedTokens: Equatable, Sendable {
    /// How many tokens were left out.
    public private(set) var count = 0
    /// How many characters they spanned.
    public private(set) var characters = 0
    /// A token left out, and how often.
    public struct Entry: Equatable, Sendable {
        /// The token.
        public var token: String
        /// How often it was left out.
        public var count: Int
    }

    /// Each distinct token left out, in order of first appearance, with how often it was.
    public private(set) var tokens: [Entry] = []
    private var index: [String: Int] = [:]

    /// Nothing skipped yet.
    public init() {}

    mutating func add(_ token: String) {
        count += 1
        characters += token.count
        if let i = index[token] {
            tokens[i].count += 1
        } else {
            index[token] = tokens.count
            tokens.append(Entry(token: token, count: 1))
        }
    }

    /// The tokens as a person reads them: `U+00E9 "é" ×3, U+00DF "ß"`, a character's code points shown
    /// so that an invisible one can be found; the first `limit` distinct tokens, then how many more.
    public func summary(limit: Int = 20) -> String {
        var parts = tokens.prefix(limit).map { entry in
            VocabularyError.shown(entry.token) + (entry.count > 1 ? " ×\(entry.count)" : "")
        }
        if tokens.count > limit { parts.append("and \(tokens.count - limit) more") }
        return parts.joined(separator: ", ")
    }
}

/// A text that a vocabulary cannot encode.
public enum VocabularyError: Error, Equatable, CustomStringConvertible {
    /// The token at this position (in tokens) is not in the vocabulary, and it has no unknown token.
    case unknownToken(String, position: Int)

    public var description: String {
        switch self {
        case .unknownToken(let token, let position):
            return "\(VocabularyError.shown(token)) at token \(position) is not in the vocabulary (and it has no unknown token)"
        }
    }

    /// A token as an error shows it: a single character with its code points first (`U+00E9 "é"`).
    static func shown(_ token: String) -> String {
        token.count == 1
            ? token.unicodeScalars.map { "U+" + String($0.value, radix: 16, uppercase: true) }.joined(separator: " ") + " \(token.debugDescription)"
            : token.debugDescription
    }
}

/// Counts the tokens of a text read a piece at a time (as `TextFile.forEachPiece` gives it), so a vocabulary can
/// be built from a corpus that is never held whole: characters, or the words of each line (pieces must not
/// split a word; the end token is not counted).
public struct TokenCounter: Sendable {
    /// Characters or words.
    public let level: Vocabulary.Level
    /// Whether text is lowercased before it is counted.
    public let lowercases: Bool
    /// Whether words are split around punctuation (see `Vocabulary`).
    public let splitsPunctuation: Bool
    /// How often each token occurred so far.
    public private(set) var counts: [String: Int] = [:]

    /// A counter that has read nothing yet.
    public init(level: Vocabulary.Level, lowercases: Bool = false, splitsPunctuation: Bool = false) {
        self.level = level
        self.lowercases = lowercases
        self.splitsPunctuation = level == .word && splitsPunctuation
    }

    /// Counts the tokens of the next piece of text.
    public mutating func add(_ text: String) {
        let source = lowercases ? text.lowercased() : text
        switch level {
        case .char:
            for character in source { counts[String(character), default: 0] += 1 }
        case .word:
            for line in Vocabulary.lines(source) {
                for word in Vocabulary.words(line, splitsPunctuation: splitsPunctuation) { counts[word, default: 0] += 1 }
            }
        }
    }
}
