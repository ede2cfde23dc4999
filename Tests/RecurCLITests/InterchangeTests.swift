import Foundation
import Testing
import Recur
import RecurTestSupport

/// What Scripts/make_interchange_fixtures.py wrote: PyTorch models and PyTorch's scores of sentences.
struct InterchangeFixtures: Decodable {
    struct Sentence: Decodable {
        var sentence: String
        var token_log_probabilities: [Double]
    }
    struct Model: Decodable {
        var state: String
        var config: String
        var rename: [String]
        var dtype: String
        var sentences: [Sentence]
    }
    struct Encoder: Decodable {
        var state: String
        var input_size: Int
        var hidden_size: Int
        var layers: Int
        var lengths: [Int]
    }
    var vocabulary: String
    var models: [String: Model]
    var encoder: Encoder

    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/interchange")
    /// The file, read once; a missing or malformed file fails each test that reads it, naming the script.
    static let shared = Result {
        try loadFixture(InterchangeFixtures.self, from: folder.appendingPathComponent("expected.json"),
                        writtenBy: "Scripts/make_interchange_fixtures.py")
    }
    static func path(_ name: String) -> String { folder.appendingPathComponent(name).path }
}

private func safetensors(_ path: String) throws -> Safetensors {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    return try data.withUnsafeBytes { try Safetensors.decode($0) }
}

@Suite("Moving between Recur and PyTorch", .serialized)
struct InterchangeTests {
    static var fixtures: InterchangeFixtures { get throws { try InterchangeFixtures.shared.get() } }

    /// Imports fixture model `name` with the built binary; returns the Recur model's path.
    static func imported(_ name: String, into folder: URL) throws -> String {
        let fixtures = try Self.fixtures
        let model = fixtures.models[name]!, output = folder.appendingPathComponent("\(name).recur").path
        let result = try RecurBinary.run(["import-torch", InterchangeFixtures.path(model.state),
                                          "--config", InterchangeFixtures.path(model.config),
                                          "--vocabulary", InterchangeFixtures.path(fixtures.vocabulary),
                                          "--output", output] + model.rename.flatMap { ["--rename", $0] })
        #expect(result.status == 0, "\(result.standardError)")
        return output
    }

    @Test("import-torch, then score: PyTorch's log-probabilities, to 1e-4 per token", arguments: ["lstm", "gru", "rnn"])
    func importAndScore(_ name: String) throws {
        let folder = try temporaryFolder("import-\(name)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = try Self.imported(name, into: folder)
        let model = (try Self.fixtures).models[name]!
        // Every token, through the library.
        let loaded = try LanguageModelFile.load(URL(fileURLWithPath: path))
        let ids = try model.sentences.map { try loaded.vocabulary.encodeSentence($0.sentence) }
        let scored = loaded.model.tokenLogProbabilities(ids, start: loaded.start)
        for (sentence, values) in zip(model.sentences, scored) {
            #expect(values.count == sentence.token_log_probabilities.count)
            for (recur, torch) in zip(values, sentence.token_log_probabilities) {
                #expect(abs(recur - torch) <= 1e-4, "\(name) \(model.dtype): \(sentence.sentence): \(recur) vs \(torch)")
            }
        }
        // The sentence totals, through `recur score --json`.
        let result = try RecurBinary.run(["score", path, "--json"] + model.sentences.map(\.sentence))
        #expect(result.status == 0, "\(result.standardError)")
        for line in result.standardOutput.split(separator: "\n") {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            let sentence = model.sentences.first { $0.sentence == object["sentence"] as? String }!
            let expected = sentence.token_log_probabilities.reduce(0, +)
            #expect(object["tokens"] as? Int == sentence.token_log_probabilities.count)
            #expect(abs((object["log_probability"] as! Double) - expected) <= 1e-4 * Double(sentence.token_log_probabilities.count))
        }
    }

    @Test("export-torch writes PyTorch's names, the values imported, the config and the vocabulary", arguments: ["lstm", "gru", "rnn"])
    func exportRoundTrip(_ name: String) throws {
        let folder = try temporaryFolder("export-\(name)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = try Self.imported(name, into: folder)
        let state = folder.appendingPathComponent("\(name).safetensors").path
        let result = try RecurBinary.run(["export-torch", path, "--output", state])
        #expect(result.status == 0, "\(result.standardError)")
        let model = (try Self.fixtures).models[name]!
        let original = try safetensors(InterchangeFixtures.path(model.state)), exported = try safetensors(state)
        let renamed = Dictionary(uniqueKeysWithValues: original.tensors.map { tensor -> (String, Tensor) in
            let name = tensor.name.hasPrefix("encoder.") ? "embedding." + tensor.name.dropFirst("encoder.".count) : tensor.name
            return (name, tensor.value)
        })
        #expect(exported.tensors.map(\.name).sorted() == renamed.keys.sorted())
        for (tensorName, value) in exported.tensors {
            #expect(value.shape == renamed[tensorName]?.shape && value.scalars == renamed[tensorName]?.scalars, "\(tensorName)")
        }
        #expect(exported.metadata["format"] == "pt")
        // The config says what the fixture's says (nn.RNN's nonlinearity is written out: tanh).
        let written = try PyTorchLanguageModelConfig.decode(Data(contentsOf: folder.appendingPathComponent("\(name).json")))
        var given = try PyTorchLanguageModelConfig.decode(Data(contentsOf: URL(fileURLWithPath: InterchangeFixtures.path(model.config))))
        if given.cell == "rnn" { given.nonlinearity = given.nonlinearity ?? "tanh" }
        #expect(written == given)
        let vocabulary = try String(contentsOfFile: folder.appendingPathComponent("\(name).vocab.txt").path, encoding: .utf8)
        #expect(vocabulary == (try String(contentsOfFile: InterchangeFixtures.path((try Self.fixtures).vocabulary), encoding: .utf8)))
    }

    @Test("a character vocabulary survives its file: line breaks, tabs, spaces and backslashes escaped")
    func characterVocabularyFile() throws {
        let vocabulary = Vocabulary(characters: "a b\\c\td\ne\r\n")
        let text = vocabulary.tokenListText
        #expect(text.split(separator: "\n").count == vocabulary.count, "one line per token")
        #expect(try Vocabulary.tokenList(text, level: .char) == vocabulary.tokens)
        #expect(throws: InterchangeError("line 2 repeats the token \"a\" of line 1")) { try Vocabulary.tokenList("a\na\n", level: .char) }
        #expect(throws: InterchangeError("line 1: \\q is not an escape (\\n, \\r, \\t or \\\\)")) { try Vocabulary.tokenList("\\q\n", level: .char) }
        #expect(throws: InterchangeError("line 2 is empty; every line names one token")) { try Vocabulary.tokenList("the\n\ncat\n", level: .word) }
    }

    @Test("what does not fit is named: a missing tensor, a wrong size, a bad config; the course GRU is refused with the reason")
    func refusals() throws {
        let folder = try temporaryFolder("interchange-refusals")
        defer { try? FileManager.default.removeItem(at: folder) }
        let rnn = (try Self.fixtures).models["rnn"]!, vocabulary = InterchangeFixtures.path((try Self.fixtures).vocabulary)
        let output = folder.appendingPathComponent("m.recur").path
        func importing(_ state: String, config: String) throws -> RecurBinary.Output {
            try RecurBinary.run(["import-torch", state, "--config", config, "--vocabulary", vocabulary, "--output", output])
        }
        let unrenamed = try importing(InterchangeFixtures.path(rnn.state), config: InterchangeFixtures.path(rnn.config))
        #expect(unrenamed.status == 1 && unrenamed.standardError.contains("it has no embedding.weight; it has encoder.weight, which the model does not (--rename old=new maps name prefixes)"),
                "\(unrenamed.standardError)")
        var settings = try PyTorchLanguageModelConfig.decode(Data(contentsOf: URL(fileURLWithPath: InterchangeFixtures.path((try Self.fixtures).models["lstm"]!.config))))
        settings.hiddenSize = 20
        let wrongSize = folder.appendingPathComponent("wrong.json")
        try settings.encoded().write(to: wrongSize)
        let misshapen = try importing(InterchangeFixtures.path((try Self.fixtures).models["lstm"]!.state), config: wrongSize.path)
        #expect(misshapen.status == 1 && misshapen.standardError.contains("rnn.weight_ih_l0 is [64, 8], the configuration needs [80, 8]"),
                "\(misshapen.standardError)")
        let missingKey = folder.appendingPathComponent("missing.json")
        try Data(#"{"cell": "lstm", "layers": 2}"#.utf8).write(to: missingKey)
        let noKey = try importing(InterchangeFixtures.path(rnn.state), config: missingKey.path)
        #expect(noKey.status == 1 && noKey.standardError.contains("\(missingKey.path): it has no \""), "\(noKey.standardError)")
        settings.hiddenSize = 16
        settings.vocabularySize = 13
        try settings.encoded().write(to: wrongSize)
        let wrongCount = try importing(InterchangeFixtures.path(rnn.state), config: wrongSize.path)
        #expect(wrongCount.status == 1 && wrongCount.standardError.contains("the vocabulary lists 12 tokens but \"vocabulary_size\" is 13"))
        #expect(!FileManager.default.fileExists(atPath: output), "nothing is written after an error")

        // A course GRU, trained for one step, has no nn.GRU form.
        let text = folder.appendingPathComponent("text.txt")
        try Data(String(repeating: "a course gru cannot be an nn.GRU.\n", count: 20).utf8).write(to: text)
        let course = folder.appendingPathComponent("course.recur").path
        let trained = try RecurBinary.run(["train", "--data", text.path, "--cell", "gru", "--gru-variant", "course",
                                           "--hidden-size", "8", "--steps", "1", "--batch-size", "2", "--quiet", "--output", course])
        #expect(trained.status == 0, "\(trained.standardError)")
        let refused = try RecurBinary.run(["export-torch", course, "--output", folder.appendingPathComponent("c.safetensors").path])
        #expect(refused.status == 1 && refused.standardError.contains("no nn.GRU computes the same function")
                && refused.standardError.contains("ONNX"), "\(refused.standardError)")
    }

    @Test("a bidirectional nn.LSTM's state_dict loads into a RecurrentNetwork and gives PyTorch's outputs over a packed batch")
    func bidirectionalEncoder() throws {
        let encoder = (try Self.fixtures).encoder
        let file = try safetensors(InterchangeFixtures.path(encoder.state))
        var weights: [String: Tensor] = [:]
        for (name, value) in file.tensors where name.hasPrefix("weight_") || name.hasPrefix("bias_") { weights[name] = value }
        var generator = SeededGenerator(seed: 0)
        let network = RecurrentNetwork(RecurrentConfiguration(cell: .lstm, inputSize: encoder.input_size, hiddenSize: encoder.hidden_size,
                                                              layers: encoder.layers, bidirectional: true), using: &generator)
        try network.loadPyTorchStateDictionary(weights)
        let output = network(file["input"]!, lengths: encoder.lengths)
        for (ours, theirs, what) in [(output.outputs, file["output"]!, "output"), (output.state.hidden, file["h_n"]!, "h_n"),
                                     (output.state.cellState!, file["c_n"]!, "c_n")] {
            #expect(ours.shape == theirs.shape, "\(what)")
            let worst = zip(ours.scalars, theirs.scalars).map { abs($0 - $1) }.max() ?? 0
            #expect(worst <= 1e-5, "\(what): largest difference \(worst)")
        }
    }
}
