import Foundation
import RecurCore
import RecurLayers
import RecurText

/// How a PyTorch language model is described next to its `state_dict`: the JSON `recur import-torch` reads and
/// `recur export-torch` writes. The model is `nn.Embedding` (`embedding.weight`; absent with one-hot input),
/// `nn.RNN`/`nn.GRU`/`nn.LSTM` (`rnn.weight_ih_l{k}`, `rnn.weight_hh_l{k}`, `rnn.bias_ih_l{k}`, `rnn.bias_hh_l{k}`)
/// and `nn.Linear` (`decoder.weight`, `decoder.bias`):
///
///     {"cell": "lstm", "embedding_size": 200, "hidden_size": 200, "layers": 2, "vocabulary_size": 10000,
///      "level": "word", "bidirectional": false, "eos_token": "<eos>", "unk_token": "<unk>", "start_token": "<eos>"}
///
/// `start_token` is what the model reads before the first token (absent or null: a zero vector, the course's
/// `x<1>` = 0); `nonlinearity` ("tanh", the default, or "relu") is `nn.RNN`'s.
public struct PyTorchLanguageModelConfig: Codable, Equatable, Sendable {
    /// "rnn", "gru" or "lstm".
    public var cell: String
    /// E; nil for one-hot input (no `embedding.weight`).
    public var embeddingSize: Int?
    /// H.
    public var hiddenSize: Int
    /// Stacked recurrent layers.
    public var layers: Int
    /// V.
    public var vocabularySize: Int
    /// "char" or "word".
    public var level: String
    /// Must be false or absent: a language model reads forward.
    public var bidirectional: Bool?
    /// The token that ends each line.
    public var eosToken: String
    /// The token for anything outside the vocabulary, if any.
    public var unkToken: String?
    /// What the model reads before the first token; nil reads a zero vector.
    public var startToken: String?
    /// `nn.RNN`'s "tanh" (the default) or "relu".
    public var nonlinearity: String?

    /// Reads the JSON, naming what is missing or wrong.
    public static func decode(_ data: Data) throws(InterchangeError) -> PyTorchLanguageModelConfig {
        do {
            return try RecurJSON.decoder().decode(PyTorchLanguageModelConfig.self, from: data)
        } catch let DecodingError.keyNotFound(key, _) {
            throw InterchangeError("it has no \"\(key.stringValue)\"")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            let key = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw InterchangeError("\"\(key)\" has the wrong type (\(context.debugDescription))")
        } catch {
            throw InterchangeError("it is not valid JSON")
        }
    }

    /// The description as JSON, one key per line, as `recur export-torch` writes it.
    public func encoded() -> Data {
        try! RecurJSON.encoder(pretty: true).encode(self) + Data("\n".utf8)
    }

    /// The description of `configuration` with `vocabulary`.
    public init(_ configuration: LanguageModelConfiguration, vocabulary: Vocabulary) {
        let recurrent = configuration.recurrent
        cell = recurrent.cell.rawValue
        embeddingSize = configuration.embeddingSize
        hiddenSize = recurrent.hiddenSize
        layers = recurrent.layers
        vocabularySize = configuration.vocabularySize
        level = vocabulary.level.rawValue
        bidirectional = false
        eosToken = vocabulary.endToken
        unkToken = vocabulary.unknownToken
        startToken = configuration.startToken
        nonlinearity = recurrent.cell == .rnn ? recurrent.activation.rawValue : nil
    }

    /// The vocabulary these settings describe, from its tokens in id order.
    public func vocabulary(tokens: [String]) throws(InterchangeError) -> Vocabulary {
        guard let level = Vocabulary.Level(rawValue: level) else {
            throw InterchangeError("\"level\" must be \"word\" or \"char\", got \"\(self.level)\"")
        }
        guard tokens.count == vocabularySize else {
            throw InterchangeError("the vocabulary lists \(tokens.count) tokens but \"vocabulary_size\" is \(vocabularySize)")
        }
        for (key, token) in [("eos_token", eosToken), ("unk_token", unkToken), ("start_token", startToken)] {
            if let token, !tokens.contains(token) {
                throw InterchangeError("\"\(key)\" \(token.debugDescription) is not in the vocabulary")
            }
        }
        if level == .char, let long = tokens.first(where: { $0.count != 1 }) {
            throw InterchangeError("a character vocabulary lists one character per line, but it lists \(long.debugDescription)")
        }
        return Vocabulary(level: level, tokens: tokens, endToken: eosToken, unknownToken: unkToken)
    }

    /// The Recur configuration these settings describe.
    public func languageModelConfiguration() throws(InterchangeError) -> LanguageModelConfiguration {
        guard let cell = RecurrentConfiguration.Cell(rawValue: cell) else {
            throw InterchangeError("\"cell\" must be \"lstm\", \"gru\" or \"rnn\", got \"\(self.cell)\"")
        }
        guard let activation = Activation(rawValue: nonlinearity ?? "tanh") else {
            throw InterchangeError("\"nonlinearity\" must be \"tanh\" or \"relu\", got \"\(nonlinearity ?? "")\"")
        }
        if bidirectional == true {
            throw InterchangeError("a language model reads left to right; \"bidirectional\" must be false")
        }
        let recurrent = RecurrentConfiguration(cell: cell, inputSize: embeddingSize ?? vocabularySize, hiddenSize: hiddenSize,
                                               layers: layers, activation: activation, gruVariant: .pytorch)
        let configuration = LanguageModelConfiguration(vocabularySize: vocabularySize, embeddingSize: embeddingSize,
                                                       recurrent: recurrent, startToken: startToken)
        if let problem = configuration.problems.first { throw InterchangeError(problem) }
        return configuration
    }
}

extension LanguageModel {
    /// A model holding the weights of a PyTorch `state_dict` (names as in `PyTorchLanguageModelConfig`).
    /// - Throws: naming every missing and every unexpected tensor, and the first misshapen one.
    public static func importing(pytorch tensors: [String: Tensor],
                                 configuration: LanguageModelConfiguration) throws(InterchangeError) -> LanguageModel {
        let layout = parameterLayout(configuration)
        let expected = Set(layout.map(\.name))
        let missing = layout.map(\.name).filter { tensors[$0] == nil }
        let unexpected = tensors.keys.filter { !expected.contains($0) }.sorted()
        if !missing.isEmpty || !unexpected.isEmpty {
            var parts: [String] = []
            if !missing.isEmpty { parts.append("it has no \(missing.joined(separator: ", "))") }
            if !unexpected.isEmpty {
                parts.append("it has \(unexpected.joined(separator: ", ")), which the model does not (--rename old=new maps name prefixes)")
            }
            throw InterchangeError(parts.joined(separator: "; "))
        }
        for (name, shape) in layout where tensors[name]!.shape != shape {
            throw InterchangeError("\(name) is \(tensors[name]!.shape), the configuration needs \(shape)")
        }
        var unused = SeededGenerator(seed: 0)
        let model = LanguageModel(configuration, using: &unused)
        for (name, parameter) in model.namedParameters { parameter.value = tensors[name]! }
        return model
    }

    /// The weights under the names a PyTorch model of the same shape has (see `PyTorchLanguageModelConfig`).
    /// - Throws: for the course GRU, which no `nn.GRU` computes.
    public func pytorchStateDictionary() throws(InterchangeError) -> [(name: String, tensor: Tensor)] {
        do {
            _ = try network.pytorchStateDictionary()
        } catch {
            throw InterchangeError("\(error)")
        }
        return namedParameters.map { ($0.name, $0.parameter.value) }
    }
}

extension Vocabulary {
    /// The tokens of a vocabulary file: one token per line, in id order. At character level `\n`, `\r`, `\t`
    /// and `\\` stand for a line break, a carriage return, a tab and a backslash (a space is a line holding one
    /// space); word tokens are taken as written.
    public static func tokenList(_ text: String, level: Level) throws(InterchangeError) -> [String] {
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).map(String.init)
        if lines.last == "" { lines.removeLast() }
        var seen: [String: Int] = [:]
        var tokens: [String] = []
        for (index, line) in lines.enumerated() {
            let token = level == .char ? try unescaped(line, line: index + 1) : line
            if token.isEmpty { throw InterchangeError("line \(index + 1) is empty; every line names one token") }
            if let first = seen[token] {
                throw InterchangeError("line \(index + 1) repeats the token \(token.debugDescription) of line \(first)")
            }
            seen[token] = index + 1
            tokens.append(token)
        }
        if tokens.isEmpty { throw InterchangeError("it lists no tokens") }
        return tokens
    }

    /// The vocabulary file of these tokens (see `tokenList`).
    public var tokenListText: String {
        tokens.map { level == .char ? Vocabulary.escaped($0) : $0 }.joined(separator: "\n") + "\n"
    }

    private static func escaped(_ token: String) -> String {
        var result = ""
        for scalar in token.unicodeScalars {
            switch scalar {
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case "\\": result += "\\\\"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    private static func unescaped(_ line: String, line number: Int) throws(InterchangeError) -> String {
        var result = "", escaping = false
        for scalar in line.unicodeScalars {
            if escaping {
                switch scalar {
                case "n": result += "\n"
                case "r": result += "\r"
                case "t": result += "\t"
                case "\\": result += "\\"
                default: throw InterchangeError("line \(number): \\\(scalar) is not an escape (\\n, \\r, \\t or \\\\)")
                }
                escaping = false
            } else if scalar == "\\" {
                escaping = true
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        if escaping { throw InterchangeError("line \(number) ends with a lone backslash (write \\\\ for a backslash)") }
        return result
    }
}

/// Why weights, a configuration or a vocabulary could not move between Recur and PyTorch.
public struct InterchangeError: Error, CustomStringConvertible, Equatable {
    public var description: String
    /// An error that says `description`.
    public init(_ description: String) { self.description = description }
}
