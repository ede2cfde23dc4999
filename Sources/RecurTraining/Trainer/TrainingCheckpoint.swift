import Foundation
import RecurCore
import RecurLayers

/// The "recur" JSON document of a model checkpoint. Keys are snake case:
///
///     kind            what the model is, e.g. "language-model"
///     model           its configuration
///     vocabulary      the tokens its ids stand for
///     training        options, progress and the optimizer's step count — absent in a model-only file
///     recur_version   the Recur that wrote it
public struct CheckpointDocument<Configuration: Codable & Equatable & Sendable, Vocabulary: Codable & Sendable>: Codable, Sendable {
    /// The training state of a checkpoint written during a run.
    public struct Training: Codable, Sendable {
        /// The run's options.
        public var options: TrainingOptions
        /// Where the run was when it saved.
        public var progress: TrainingProgress
        /// Updates the optimizer had made (Adam's bias correction needs it).
        public var optimizerStepCount: Int
        /// Steps the whole run takes.
        public var totalSteps: Int
        /// Epochs done at `progress.step`, fractional (for people reading the file; the step decides).
        public var epoch: Double
    }

    /// What the model is, e.g. "language-model".
    public var kind: String
    /// The model's configuration.
    public var model: Configuration
    /// The tokens the model's ids stand for.
    public var vocabulary: Vocabulary
    /// The training state; nil in a file that holds only the model.
    public var training: Training?
    /// The version of Recur that wrote the file.
    public var recurVersion: String

    /// A document written by this version of Recur.
    public init(kind: String, model: Configuration, vocabulary: Vocabulary, training: Training?) {
        self.kind = kind
        self.model = model
        self.vocabulary = vocabulary
        self.training = training
        recurVersion = RecurVersion.current
    }

    /// The document as JSON (`RecurJSON`: snake-case keys, sorted).
    public func encoded() -> Data {
        Data(RecurJSON.line(self).utf8)
    }

    /// Reads a document that `encoded()` wrote.
    public static func decode(_ data: Data) throws -> Self {
        try RecurJSON.decoder().decode(Self.self, from: data)
    }
}

/// The library's release.
public enum RecurVersion {
    /// The version of this build of Recur, as in CHANGELOG.md: written into every checkpoint and ONNX export.
    public static let current = "0.5.0"
}

/// Names of the tensors a training checkpoint holds besides the model's own.
enum CheckpointNames {
    static let optimizerPrefix = "optimizer."
    static let carriedHidden = "state.hidden"
    static let carriedCellState = "state.cell_state"
}

extension SequenceModel {
    /// Copies the weights of a checkpoint into this model.
    /// - Throws: `.mismatch` naming the first missing tensor or wrong shape.
    public func loadParameters(from file: CheckpointFile) throws(CheckpointError.Problem) {
        var values: [Tensor] = []
        for (name, parameter) in namedParameters {
            guard let tensor = file[name] else { throw .mismatch("it has no tensor \(name)") }
            guard tensor.shape == parameter.value.shape else {
                throw .mismatch("tensor \(name) is \(tensor.shape), the model needs \(parameter.value.shape)")
            }
            values.append(tensor)
        }
        for ((_, parameter), value) in zip(namedParameters, values) { parameter.value = value }
    }
}
