import Foundation
import RecurCore
import RecurLayers

/// What `recur export-torch` writes beside a classifier's or a tagger's `state_dict`: the model's kind,
/// configuration and vocabulary, as its checkpoint holds them (JSON, snake-case keys). The module it describes has
/// one attribute per name prefix of the state_dict:
///
/// - classifier: `embedding` (`nn.Embedding`; absent for one-hot input), `rnn` (`nn.LSTM`, `nn.GRU` or `nn.RNN`),
///   `hidden` (`nn.Linear` followed by tanh, if any), `output` (`nn.Linear`); pooling `last` is the top layer's
///   final states (`h_n`, both directions concatenated), `mean` and `max` run over each sequence's own steps;
/// - tagger: `embedding`, `char_embedding` and `char_rnn` (bidirectional; a word's vector is its final states
///   `h_n`, concatenated after its word vector), `rnn`, `output` (`nn.Linear` to the tags), and `crf` (pytorch-crf's
///   `CRF`: `transitions`, `start_transitions`, `end_transitions`) with a CRF output layer; with
///   `constrains_transitions`, the transitions the tag scheme forbids score −10⁴.
///
/// `Scripts/check_task_export.py` builds both modules from this description and checks PyTorch's losses and
/// predictions against Recur's.
public struct PyTorchTaskExport<Configuration: Codable & Equatable & Sendable, Vocabulary: Codable & Sendable>: Encodable {
    /// `classifier` or `tagger`.
    public var kind: String
    /// The model's configuration.
    public var configuration: Configuration
    /// Its tokens, and its labels (a classifier) or the training data's tag scheme (a tagger).
    public var vocabulary: Vocabulary

    /// The description of a model of `kind`.
    public init(kind: String, configuration: Configuration, vocabulary: Vocabulary) {
        self.kind = kind
        self.configuration = configuration
        self.vocabulary = vocabulary
    }

    /// The description as JSON, as `recur export-torch` writes it.
    public func encoded() -> Data {
        try! RecurJSON.encoder(pretty: true).encode(self) + Data("\n".utf8)
    }
}

/// The weights of a model under their PyTorch names, after checking that every recurrent network has a PyTorch form.
func pytorchStateDictionary(_ namedParameters: [(name: String, parameter: Parameter)],
                            networks: [RecurrentNetwork]) throws(InterchangeError) -> [(name: String, tensor: Tensor)] {
    for network in networks {
        do {
            _ = try network.pytorchStateDictionary()
        } catch {
            throw InterchangeError("\(error)")
        }
    }
    return namedParameters.map { ($0.name, $0.parameter.value) }
}

extension SequenceClassifier {
    /// The weights under the names the module of `PyTorchTaskExport` has.
    /// - Throws: for the course GRU, which no `nn.GRU` computes.
    public func pytorchStateDictionary() throws(InterchangeError) -> [(name: String, tensor: Tensor)] {
        try RecurModels.pytorchStateDictionary(namedParameters, networks: [network])
    }
}

extension SequenceTagger {
    /// The weights under the names the module of `PyTorchTaskExport` has.
    /// - Throws: for the course GRU, which no `nn.GRU` computes.
    public func pytorchStateDictionary() throws(InterchangeError) -> [(name: String, tensor: Tensor)] {
        try RecurModels.pytorchStateDictionary(namedParameters, networks: [network] + (characterNetwork.map { [$0] } ?? []))
    }
}
