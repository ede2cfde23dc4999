import ArgumentParser
import Foundation
import Recur

/// Writes `bytes` to `path` atomically, naming the file when it cannot.
private func writeFile(_ bytes: [UInt8], to path: String) throws {
    do {
        try bytes.withUnsafeBytes { try AtomicFile.write($0, to: URL(fileURLWithPath: path)) }
    } catch {
        throw CommandFailure("\(error)")
    }
}

/// The file at `path`, or an error naming it.
private func readFile(_ path: String) throws -> Data {
    do { return try TextFile.contents(path) } catch { throw CommandFailure("\(error)") }
}

// MARK: - import-torch

struct ImportTorchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import-torch",
        abstract: "Make a Recur model from a PyTorch language model's state_dict (safetensors).",
        discussion: """
            The state_dict holds embedding.weight (nn.Embedding), rnn.weight_ih_l{k}, rnn.weight_hh_l{k}, \
            rnn.bias_ih_l{k}, rnn.bias_hh_l{k} (nn.RNN, nn.GRU or nn.LSTM) and decoder.weight, decoder.bias \
            (nn.Linear), as safetensors.torch.save_file writes it; F32, F16, BF16 and F64 are read. Other prefixes \
            map with --rename (e.g. --rename encoder.=embedding.). The config is JSON with cell, embedding_size, \
            hidden_size, layers, vocabulary_size, level, bidirectional (false), eos_token, unk_token and \
            start_token (absent: the model reads a zero vector first). The vocabulary file lists one token per \
            line in id order (at char level, \\n \\r \\t \\\\ stand for a line break, a carriage return, a tab and \
            a backslash).
            """
    )

    @Argument(help: "The state_dict, a safetensors file.") var state: String
    @Option(help: "The model's description (JSON).") var config: String
    @Option(help: "The vocabulary: one token per line, in id order.") var vocabulary: String
    @Option(help: "The Recur model file to write.") var output: String
    @Option(help: "Rename tensors whose names start with OLD to start with NEW instead (OLD=NEW; repeatable).")
    var rename: [String] = []

    func validate() throws {
        for mapping in rename where !mapping.contains("=") || mapping.hasPrefix("=") {
            throw ValidationError("--rename takes OLD=NEW, got '\(mapping)'")
        }
    }

    func run() throws {
        let settings: PyTorchLanguageModelConfig
        do { settings = try PyTorchLanguageModelConfig.decode(try readFile(config)) } catch let error as InterchangeError {
            throw CommandFailure("\(config): \(error)")
        }
        let tokenText: String
        do { tokenText = try TextFile.read(vocabulary) } catch { throw CommandFailure("\(error)") }
        let vocabularyValue: Vocabulary, configuration: LanguageModelConfiguration
        do {
            let level = Vocabulary.Level(rawValue: settings.level) ?? .word
            let tokens: [String]
            do { tokens = try Vocabulary.tokenList(tokenText, level: level) } catch {
                throw CommandFailure("\(vocabulary): \(error)")
            }
            vocabularyValue = try settings.vocabulary(tokens: tokens)
            configuration = try settings.languageModelConfiguration()
        } catch let error as InterchangeError {
            throw CommandFailure("\(config): \(error)")
        }
        let file: Safetensors
        do {
            let data = try readFile(state)
            file = try data.withUnsafeBytes { bytes throws(SafetensorsError) in try Safetensors.decode(bytes) }
        } catch let error as SafetensorsError {
            throw CommandFailure("\(state): \(error)")
        }
        var tensors: [String: Tensor] = [:]
        for (name, tensor) in file.tensors {
            var renamed = name
            for mapping in rename {
                let parts = mapping.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                if renamed.hasPrefix(parts[0]) { renamed = String(parts[1]) + renamed.dropFirst(parts[0].count); break }
            }
            if tensors[renamed] != nil { throw CommandFailure("\(state): two tensors are named \(renamed) after renaming") }
            tensors[renamed] = tensor
        }
        let model: LanguageModel
        do { model = try LanguageModel.importing(pytorch: tensors, configuration: configuration) } catch {
            throw CommandFailure("\(state): \(error)")
        }
        let document = LanguageModelFile.Document(kind: LanguageModel.kind, model: configuration, vocabulary: vocabularyValue,
                                                  training: nil)
        let checkpoint = CheckpointFile(tensors: model.namedParameters.map { ($0.name, $0.parameter.value) },
                                        document: document.encoded())
        do { try checkpoint.save(to: URL(fileURLWithPath: output)) } catch { throw CommandFailure("\(error)") }
        let count = model.namedParameters.reduce(0) { $0 + $1.parameter.value.count }
        print("wrote \(output): \(model.network.pytorchModule), \(count) parameters, \(vocabularyValue.count) \(settings.level == "char" ? "characters" : "tokens")")
    }
}

// MARK: - export-torch

struct ExportTorchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export-torch",
        abstract: "Write a Recur model as a PyTorch state_dict (safetensors), with its config and vocabulary.",
        discussion: """
            The names are PyTorch's (embedding.weight, rnn.weight_ih_l0, …, decoder.weight, decoder.bias), so \
            model.load_state_dict(safetensors.torch.load_file(STATE)) loads it into a module built as the config \
            says, with no conversion. A classifier's or tagger's config JSON holds its kind, configuration and \
            vocabulary (labels, tags) in one file (the Interchange article describes its module; \
            Scripts/check_task_export.py builds it). A course-form GRU has no nn.GRU equivalent and is refused.
            """
    )

    @Argument(help: "The Recur model.") var model: String
    @Option(help: "The state_dict to write (safetensors).") var output: String
    @Option(help: "Where the config JSON goes (default: OUTPUT with .json instead of .safetensors).") var configOutput: String?
    @Option(help: "Where the vocabulary goes (default: OUTPUT with .vocab.txt instead of .safetensors).")
    var vocabularyOutput: String?

    /// `output` with its `.safetensors` extension (if any) replaced by `suffix`.
    private func beside(_ suffix: String) -> String {
        (output.hasSuffix(".safetensors") ? String(output.dropLast(".safetensors".count)) : output) + suffix
    }

    func run() throws {
        switch try modelKind(model) {
        case SequenceClassifier.kind:
            let loaded = try openClassifier(model)
            return try write(kind: SequenceClassifier.kind, tensors: { () throws(InterchangeError) in try loaded.model.pytorchStateDictionary() },
                             configuration: loaded.model.configuration, vocabulary: loaded.vocabulary)
        case SequenceTagger.kind:
            let loaded = try openTagger(model)
            return try write(kind: SequenceTagger.kind, tensors: { () throws(InterchangeError) in try loaded.model.pytorchStateDictionary() },
                             configuration: loaded.model.configuration, vocabulary: loaded.vocabulary)
        default: break
        }
        let loaded = try openModel(model)
        let tensors: [(name: String, tensor: Tensor)]
        do { tensors = try loaded.model.pytorchStateDictionary() } catch { throw CommandFailure("\(model): \(error)") }
        let settings = PyTorchLanguageModelConfig(loaded.model.configuration, vocabulary: loaded.vocabulary)
        let configPath = configOutput ?? beside(".json"), vocabularyPath = vocabularyOutput ?? beside(".vocab.txt")
        try writeFile(Safetensors(tensors: tensors.map { ($0.name, $0.tensor) }, metadata: ["format": "pt"]).encoded(),
                      to: output)
        try writeFile(Array(settings.encoded()), to: configPath)
        try writeFile(Array(loaded.vocabulary.tokenListText.utf8), to: vocabularyPath)
        print("wrote \(output) (\(tensors.count) tensors for \(loaded.model.network.pytorchModule)), \(configPath) and \(vocabularyPath)")
    }

    /// A classifier's or tagger's state_dict and its description (kind, configuration, vocabulary) in one JSON file.
    private func write<C: Codable & Equatable & Sendable, V: Codable & Sendable>(kind: String, tensors: () throws(InterchangeError) -> [(name: String, tensor: Tensor)],
                             configuration: C, vocabulary: V) throws {
        guard vocabularyOutput == nil else {
            throw CommandFailure("--vocabulary-output: a \(kind)'s vocabulary is written in its config JSON")
        }
        let state: [(name: String, tensor: Tensor)]
        do { state = try tensors() } catch { throw CommandFailure("\(model): \(error)") }
        let configPath = configOutput ?? beside(".json")
        try writeFile(Safetensors(tensors: state.map { ($0.name, $0.tensor) }, metadata: ["format": "pt"]).encoded(), to: output)
        try writeFile(Array(PyTorchTaskExport(kind: kind, configuration: configuration, vocabulary: vocabulary).encoded()), to: configPath)
        print("wrote \(output) (\(state.count) tensors of a \(kind)) and \(configPath)")
    }
}

// MARK: - export-onnx

struct ExportONNXCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export-onnx",
        abstract: "Write a Recur language model as an ONNX graph of standard operators (opset 14).",
        discussion: """
            Gather for the embedding, one LSTM, GRU (linear_before_reset 1 for the PyTorch form, 0 for the \
            course form) or RNN operator per layer with sequence_lens, MatMul and Add for the output layer, and \
            with --softmax a Softmax. Inputs: tokens [T, B] int64 (the ids the model reads: the start token \
            first; id V reads the zero vector) and sequence_lens [B] int32. Outputs: logits [T, B, V] (and \
            probabilities). The vocabulary and the config are in the file's metadata.
            """
    )

    @Argument(help: "The Recur model.") var model: String
    @Option(help: "The ONNX file to write.") var output: String
    @Flag(help: "Add a Softmax: a probabilities output beside the logits.") var softmax = false

    func run() throws {
        let loaded = try openModel(model)
        let bytes = loaded.model.onnxModel(vocabulary: loaded.vocabulary, softmax: softmax)
        try writeFile(bytes, to: output)
        let r = loaded.model.configuration.recurrent
        let op = switch r.cell { case .lstm: "LSTM"; case .gru: "GRU"; case .rnn: "RNN" }
        print("wrote \(output): Gather, \(r.layers) × \(op), MatMul, Add\(softmax ? ", Softmax" : ""); opset 14; \(bytes.count) bytes")
    }
}
