import Foundation
import RecurCore
import RecurLayers
import RecurText
import RecurTraining

/// What a classifier's checkpoint keeps beside its weights: the tokens its ids stand for and the names of its classes.
public struct ClassifierVocabulary: Codable, Equatable, Sendable {
    /// The tokens of the text it reads.
    public var tokens: Vocabulary
    /// The classes, by index: the labels of the training data.
    public var labels: [String]
    /// For a multi-label classifier: what separates an example's labels in its data (nil: single-label).
    public var labelSeparator: String?

    /// A vocabulary of `tokens` and `labels`.
    public init(tokens: Vocabulary, labels: [String], labelSeparator: String? = nil) {
        self.tokens = tokens
        self.labels = labels
        self.labelSeparator = labelSeparator
    }
}

extension SequenceClassifier {
    /// The checkpoint kind of a sequence classifier.
    public static let kind = "classifier"

    /// Every parameter's checkpoint name and shape for `configuration`, in `namedParameters` order.
    public static func parameterLayout(_ configuration: ClassifierConfiguration) -> [(name: String, shape: [Int])] {
        var layout: [(name: String, shape: [Int])] = []
        if let e = configuration.embeddingSize { layout.append(("embedding.weight", [configuration.vocabularySize, e])) }
        layout += RecurrentNetwork.parameterLayout(configuration.recurrent).map { ("rnn." + $0.name, $0.shape) }
        var width = configuration.recurrent.outputSize
        if let h = configuration.hiddenLayerSize {
            layout += [("hidden.weight", [h, width]), ("hidden.bias", [h])]
            width = h
        }
        layout += [("output.weight", [configuration.classCount, width]), ("output.bias", [configuration.classCount])]
        return layout
    }
}

/// A classifier and its vocabulary, loaded from a checkpoint (what `recur classify` and `recur eval` open).
public struct ClassifierFile {
    /// The JSON document of a classifier's checkpoint.
    public typealias Document = CheckpointDocument<ClassifierConfiguration, ClassifierVocabulary>

    /// The model, with the file's weights.
    public let model: SequenceClassifier
    /// Its tokens and classes.
    public let vocabulary: ClassifierVocabulary
    /// Everything else the file says: configuration and training history.
    public let document: Document

    /// Opens `url`, checking everything before allocating the model it describes.
    public static func load(_ url: URL) throws(CheckpointError) -> ClassifierFile {
        let (model, document) = try openModelCheckpoint(url, kind: SequenceClassifier.kind, layout: SequenceClassifier.parameterLayout,
                                                        make: { SequenceClassifier($0, using: &$1) }) { (document: Document) -> String? in
            let configuration = document.model
            if let first = configuration.problems.first { return "its model configuration is invalid: \(first)" }
            guard document.vocabulary.tokens.count == configuration.vocabularySize else {
                return "its vocabulary has \(document.vocabulary.tokens.count) tokens but the model reads \(configuration.vocabularySize)"
            }
            guard (document.vocabulary.labelSeparator != nil) == configuration.multiLabel else {
                return "its vocabulary and its model disagree on whether it is multi-label"
            }
            guard document.vocabulary.labels.count == configuration.classCount else {
                return "it names \(document.vocabulary.labels.count) classes but the model has \(configuration.classCount)"
            }
            return nil
        }
        return ClassifierFile(model: model, vocabulary: document.vocabulary, document: document)
    }
}
