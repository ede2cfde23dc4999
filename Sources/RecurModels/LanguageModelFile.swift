import Foundation
import RecurCore
import RecurLayers
import RecurText
import RecurTraining

extension LanguageModel {
    /// The checkpoint kind of a language model.
    public static let kind = "language-model"

    /// Every parameter's checkpoint name and shape for `configuration`, in `namedParameters` order.
    public static func parameterLayout(_ configuration: LanguageModelConfiguration) -> [(name: String, shape: [Int])] {
        let v = configuration.vocabularySize
        var layout: [(name: String, shape: [Int])] = []
        if let e = configuration.embeddingSize { layout.append(("embedding.weight", [v, e])) }
        layout += RecurrentNetwork.parameterLayout(configuration.recurrent).map { ("rnn." + $0.name, $0.shape) }
        layout += [("decoder.weight", [v, configuration.recurrent.outputSize]), ("decoder.bias", [v])]
        return layout
    }
}

/// A language model and its vocabulary, loaded from a checkpoint (what `recur sample`, `score`, `eval` and
/// `inspect` open).
public struct LanguageModelFile {
    /// The JSON document of a language model's checkpoint.
    public typealias Document = CheckpointDocument<LanguageModelConfiguration, Vocabulary>

    /// The model, with the file's weights.
    public let model: LanguageModel
    /// Its vocabulary.
    public let vocabulary: Vocabulary
    /// Everything else the file says: configuration and training history.
    public let document: Document
    /// The input read before a sequence's first token (−1: zeros).
    public let start: Int

    /// Opens `url`, checking everything before allocating the model it describes.
    public static func load(_ url: URL) throws(CheckpointError) -> LanguageModelFile {
        let (model, document) = try openModelCheckpoint(url, kind: LanguageModel.kind, layout: LanguageModel.parameterLayout,
                                                        make: { LanguageModel($0, using: &$1) }) {
            (document: Document) -> String? in
            let configuration = document.model
            if let first = configuration.problems.first { return "its model configuration is invalid: \(first)" }
            guard document.vocabulary.count == configuration.vocabularySize else {
                return "its vocabulary has \(document.vocabulary.count) tokens but the model predicts \(configuration.vocabularySize)"
            }
            if let start = configuration.startToken, document.vocabulary.id(of: start) == nil {
                return "its start token \(start.debugDescription) is not in its vocabulary"
            }
            return nil
        }
        return LanguageModelFile(model: model, vocabulary: document.vocabulary, document: document,
                                 start: model.startID(in: document.vocabulary.tokens))
    }
}
