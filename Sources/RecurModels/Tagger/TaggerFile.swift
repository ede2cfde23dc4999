import Foundation
import RecurCore
import RecurLayers
import RecurMetrics
import RecurText
import RecurTraining

/// What a tagger's checkpoint keeps beside its weights: the words and characters its ids stand for, and the scheme
/// its training data was written in (tags are written back in it). The tags themselves are in the configuration.
public struct TaggerVocabulary: Codable, Equatable, Sendable {
    /// The words (lowercased first when `words.lowercases`), with an unknown word.
    public var words: Vocabulary
    /// The characters of the training tokens, with U+FFFD for the unseen; nil when the tagger reads none.
    public var characters: Vocabulary?
    /// The tag scheme of the training data.
    public var dataScheme: TagScheme

    /// A vocabulary of `words`, `characters` and the data's scheme.
    public init(words: Vocabulary, characters: Vocabulary?, dataScheme: TagScheme) {
        precondition(words.unknownID != nil, "a tagger's word vocabulary needs an unknown word")
        self.words = words
        self.characters = characters
        self.dataScheme = dataScheme
    }

    /// The id of a token: itself (lowercased when the vocabulary lowercases), or the unknown word.
    public func wordID(_ token: String) -> Int {
        words.id(of: words.lowercases ? token.lowercased() : token) ?? words.unknownID!
    }

    /// The ids of a token's characters (case kept), the unseen as U+FFFD; empty without a character vocabulary.
    public func characterIDs(_ token: String) -> [Int] {
        guard let characters else { return [] }
        let unknown = characters.unknownID ?? 0
        return token.map { characters.id(of: $0) ?? unknown }
    }

    /// A sentence of tokens for a tagger, with its tag ids (nil: all −1, text to tag).
    public func sentence(_ tokens: [String], tagIDs: [Int]? = nil) -> TaggedSentence {
        TaggedSentence(words: tokens.map(wordID), characters: characters == nil ? [] : tokens.map(characterIDs),
                       tags: tagIDs ?? Array(repeating: -1, count: tokens.count))
    }
}

/// How a data set's tags become a tagger's: read by conlleval's rules (repairing what breaks the data's scheme) and
/// written in the model's scheme.
public struct TagEncoding: Sendable {
    /// The model's tags, by id.
    public let tags: [String]
    /// The scheme the model's tags are written in.
    public let scheme: TagScheme
    private let ids: [String: Int]

    /// An encoding into `tags`, written in `scheme`.
    public init(tags: [String], scheme: TagScheme) {
        self.tags = tags
        self.scheme = scheme
        ids = Dictionary(uniqueKeysWithValues: tags.enumerated().map { ($1, $0) })
    }

    /// The model's tags for the entity types of `sentences` (their tags in any scheme): `O` first, then each type's
    /// tags in `scheme`, types sorted.
    public static func tags(of sentences: [[String]], scheme: TagScheme) -> [String] {
        let types = Set(sentences.flatMap { TagScheme.chunks($0).map(\.type) }).sorted()
        let prefixes: [String] = switch scheme {
        case .iob1, .bio2: ["B", "I"]
        case .iobes: ["B", "I", "E", "S"]
        }
        return ["O"] + types.flatMap { type in prefixes.map { "\($0)-\(type)" } }
    }

    /// A sentence's tags as ids in the model's scheme; −1 for the tokens of an entity whose type the model lacks.
    /// - Returns: the ids, and how many of the original tags broke `dataScheme` (repaired as conlleval reads them).
    public func encode(_ tags: [String], dataScheme: TagScheme) -> (ids: [Int], repaired: Int) {
        let repaired = dataScheme.repaired(tags).changed
        let written = scheme.tags(TagScheme.chunks(tags), count: tags.count)
        return (written.map { ids[$0] ?? -1 }, repaired)
    }

    /// Tag ids of the model written as tags of `dataScheme` (the same entities).
    public func decode(_ ids: [Int], as dataScheme: TagScheme) -> [String] {
        dataScheme.tags(TagScheme.chunks(ids.map { tags[$0] }), count: ids.count)
    }
}

extension SequenceTagger {
    /// The checkpoint kind of a sequence tagger.
    public static let kind = "tagger"

    /// Every parameter's checkpoint name and shape for `configuration`, in `namedParameters` order.
    public static func parameterLayout(_ configuration: TaggerConfiguration) -> [(name: String, shape: [Int])] {
        var layout: [(name: String, shape: [Int])] = [("embedding.weight", [configuration.vocabularySize, configuration.embeddingSize])]
        if let characters = configuration.characters {
            layout.append(("char_embedding.weight", [characters.vocabularySize, characters.embeddingSize]))
            layout += RecurrentNetwork.parameterLayout(characters.recurrent).map { ("char_rnn." + $0.name, $0.shape) }
        }
        layout += RecurrentNetwork.parameterLayout(configuration.recurrent).map { ("rnn." + $0.name, $0.shape) }
        let k = configuration.tags.count
        layout += [("output.weight", [k, configuration.recurrent.outputSize]), ("output.bias", [k])]
        if configuration.outputLayer == .crf {
            layout += [("crf.transitions", [k, k]), ("crf.start_transitions", [k]), ("crf.end_transitions", [k])]
        }
        return layout
    }
}

/// A tagger and its vocabulary, loaded from a checkpoint (what `recur tag` and `recur eval` open).
public struct TaggerFile {
    /// The JSON document of a tagger's checkpoint.
    public typealias Document = CheckpointDocument<TaggerConfiguration, TaggerVocabulary>

    /// The model, with the file's weights.
    public let model: SequenceTagger
    /// Its words, characters and data scheme.
    public let vocabulary: TaggerVocabulary
    /// Everything else the file says: configuration and training history.
    public let document: Document

    /// How data tags become the model's.
    public var encoding: TagEncoding { TagEncoding(tags: model.configuration.tags, scheme: model.configuration.scheme) }

    /// Opens `url`, checking everything before allocating the model it describes.
    public static func load(_ url: URL) throws(CheckpointError) -> TaggerFile {
        let (model, document) = try openModelCheckpoint(url, kind: SequenceTagger.kind, layout: SequenceTagger.parameterLayout,
                                                        make: { SequenceTagger($0, using: &$1) }) { (document: Document) -> String? in
            let configuration = document.model
            if let first = configuration.problems.first { return "its model configuration is invalid: \(first)" }
            guard document.vocabulary.words.count == configuration.vocabularySize else {
                return "its vocabulary has \(document.vocabulary.words.count) words but the model reads \(configuration.vocabularySize)"
            }
            guard document.vocabulary.words.unknownID == configuration.unknownWordID else {
                return "its vocabulary's unknown word is not the model's"
            }
            guard (document.vocabulary.characters?.count) == configuration.characters?.vocabularySize else {
                return "its character vocabulary does not match the model's character features"
            }
            return nil
        }
        return TaggerFile(model: model, vocabulary: document.vocabulary, document: document)
    }

    /// The model's tags for each sentence of tokens, written in the training data's scheme. Sentences are tagged
    /// in batches of about the same length (less padding) and returned in the given order.
    public func tag(_ sentences: [[String]], settings: ComputeSettings = .current) -> [[String]] {
        let order = sentences.indices.sorted { sentences[$0].count < sentences[$1].count }, encoding = self.encoding
        var result = [[String]](repeating: [], count: sentences.count)
        for start in stride(from: 0, to: order.count, by: 64) {
            let part = Array(order[start..<min(order.count, start + 64)])
            let batch = TaggingBatch(packing: part.map { vocabulary.sentence(sentences[$0]) })
            for (offset, path) in model.decode(batch, settings: settings).enumerated() {
                result[part[offset]] = encoding.decode(path, as: vocabulary.dataScheme)
            }
        }
        return result
    }
}

extension TaggerFile {
    /// The tokens of a sentence of plain text, as CoNLL files split them: at spaces and tabs, with punctuation at
    /// either end of a word split off (`"spell."` → spell, .; `(Reuters)` → (, Reuters, )), except a final period of
    /// a word with another period inside (`U.S.`).
    public static func tokens(_ text: String) -> [String] {
        var tokens: [String] = []
        for piece in text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r\n" }) {
            var word = Substring(piece), leading: [String] = [], trailing: [String] = []
            func detaches(_ c: Character) -> Bool { c.isPunctuation || c.isSymbol }
            while word.count > 1, let first = word.first, detaches(first) {
                leading.append(String(first))
                word = word.dropFirst()
            }
            while word.count > 1, let last = word.last, detaches(last), !(last == "." && word.dropLast().contains(".")) {
                trailing.insert(String(last), at: 0)
                word = word.dropLast()
            }
            tokens += leading + [String(word)] + trailing
        }
        return tokens
    }
}

extension SequenceTagger {
    /// Sets the word vectors of the words `vectors` has (looked up as written, then lowercased), leaving the others
    /// as they were drawn. - Returns: how many words got a vector.
    @discardableResult
    public func loadWordVectors(_ vectors: [String: [Float]], vocabulary: Vocabulary) -> Int {
        let e = configuration.embeddingSize
        var found = 0
        embedding.weight.value.withUnsafeMutableBufferPointer { table in
            for (id, word) in vocabulary.tokens.enumerated() {
                guard let vector = vectors[word] ?? vectors[word.lowercased()], vector.count == e else { continue }
                for j in 0..<e { table[id * e + j] = vector[j] }
                found += 1
            }
        }
        return found
    }
}
