/// The characters of a corpus, each with an id: the seed's `char_to_ix` and `ix_to_char`.
///
/// Ids follow the characters' Unicode scalar order, as the course's `sorted(set(data))` does, so for the
/// dinosaur names '\n' is 0 and 'a'…'z' are 1…26. A character is an extended grapheme cluster (what Swift's
/// `Character` is), so "é" written as e + combining accent is one token.
public struct CharacterVocabulary: Codable, Equatable, Sendable {
    /// The characters, by id.
    public let tokens: [String]
    private let ids: [String: Int]

    /// The vocabulary of `text`: every distinct character, sorted.
    public init(text: String) {
        self.init(tokens: Set(text.map(String.init)).sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) })
    }

    /// A vocabulary with these tokens in this order (each must be one character, none repeated).
    public init(tokens: [String]) {
        precondition(tokens.allSatisfy { $0.count == 1 }, "every token of a character vocabulary is one character")
        precondition(Set(tokens).count == tokens.count, "a vocabulary cannot list a token twice")
        self.tokens = tokens
        ids = Dictionary(uniqueKeysWithValues: tokens.enumerated().map { ($1, $0) })
    }

    public var count: Int { tokens.count }

    /// The id of `character`, or nil when it is not in the vocabulary.
    public func id(of character: Character) -> Int? { ids[String(character)] }

    /// The ids of `text`; throws for the first character not in the vocabulary, with its position.
    public func encode(_ text: String) throws(VocabularyError) -> [Int] {
        var result: [Int] = []
        result.reserveCapacity(text.utf8.count)
        for (offset, character) in text.enumerated() {
            guard let id = ids[String(character)] else { throw .unknownCharacter(character, position: offset) }
            result.append(id)
        }
        return result
    }

    /// The text of `ids` (ids outside the vocabulary are skipped).
    public func decode(_ ids: [Int]) -> String {
        ids.reduce(into: "") { text, id in if tokens.indices.contains(id) { text += tokens[id] } }
    }

    private enum CodingKeys: String, CodingKey { case tokens }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let tokens = try container.decode([String].self, forKey: .tokens)
        guard tokens.allSatisfy({ $0.count == 1 }), Set(tokens).count == tokens.count else {
            throw DecodingError.dataCorruptedError(forKey: .tokens, in: container,
                                                   debugDescription: "a character vocabulary lists distinct single characters")
        }
        self.init(tokens: tokens)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(tokens, forKey: .tokens)
    }
}

public enum VocabularyError: Error, Equatable, CustomStringConvertible {
    case unknownCharacter(Character, position: Int)

    public var description: String {
        switch self {
        case .unknownCharacter(let character, let position):
            "character \(character.unicodeScalars.map { "U+" + String($0.value, radix: 16, uppercase: true) }.joined(separator: " ")) at position \(position) is not in the vocabulary"
        }
    }
}
