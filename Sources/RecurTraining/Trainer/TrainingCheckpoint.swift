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
    public struct Training: Codable, Sendable {
        public var options: TrainingOptions
        public var progress: TrainingProgress
        public var optimizerStepCount: Int
        /// Steps the whole run takes.
        public var totalSteps: Int
        /// Epochs done at `progress.step`, fractional (for people reading the file; the step decides).
        public var epoch: Double
    }

    public var kind: String
    public var model: Configuration
    public var vocabulary: Vocabulary
    public var training: Training?
    public var recurVersion: String

    public init(kind: String, model: Configuration, vocabulary: Vocabulary, training: Training?) {
        self.kind = kind
        self.model = model
        self.vocabulary = vocabulary
        self.training = training
        recurVersion = Recur.version
    }

    public func encoded() -> Data {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        return try! encoder.encode(self)
    }

    public static func decode(_ data: Data) throws -> Self {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(Self.self, from: data)
    }
}

/// The library's version, written into every checkpoint.
public enum Recur {
    public static let version = "0.4.0"
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

/// Zeros sequence b's rows of a state [L·Dir, B, H] wherever `resets[b]`.
func resettingRows(_ state: RecurrentState, _ resets: [Bool]) -> RecurrentState {
    guard resets.contains(true) else { return state }
    func zeroed(_ tensor: Tensor) -> Tensor {
        var result = tensor
        let b = tensor.shape[1], h = tensor.shape[2]
        result.withUnsafeMutableBufferPointer { values in
            for slab in 0..<tensor.shape[0] {
                for row in 0..<b where resets[row] {
                    for k in 0..<h { values[(slab * b + row) * h + k] = 0 }
                }
            }
        }
        return result
    }
    return RecurrentState(hidden: zeroed(state.hidden), cellState: state.cellState.map(zeroed))
}
