import Foundation
import RecurCore
import RecurLayers
import RecurText
import RecurTraining

/// A language model as an ONNX graph of standard operators (opset 14), what `recur export-onnx` writes:
///
///     tokens [T, B] int64 ──Gather(table)──▶ [T, B, E] ──LSTM|GRU|RNN, Squeeze──▶ … one op per layer …
///         ──MatMul(decoder.weightᵀ), Add(decoder.bias)──▶ logits [T, B, V] (──Softmax──▶ probabilities)
///
/// Inputs: `tokens` [T, B] (int64), the ids the model reads — the start token first, then each token but the
/// last; id V (one past the vocabulary) reads the zero vector, for models without a start token (the course's
/// `x<1>` = 0) — and `sequence_lens` [B] (int32), each sequence's length (outputs past it are not meaningful).
/// Outputs: `logits` [T, B, V] and, with `softmax`, `probabilities`. The table is `embedding.weight` with a zero
/// row appended (one-hot models: the identity with a zero row).
///
/// Weights move into ONNX's layouts: W [1, G, D], R [1, G, H], B [1, 2G] = [b_ih; b_hh], gate blocks reordered
/// from PyTorch's (LSTM i, f, g, o → ONNX i, o, f, c; GRU r, z, n → z, r, h). PyTorch's GRU is
/// `linear_before_reset=1`. The course GRU is `linear_before_reset=0` with its update block negated: ONNX's z
/// keeps the old state where the course's Γu takes the candidate, and z = 1 − Γu = σ(−(W_u[c, x] + b_u)).
extension LanguageModel {
    /// The ONNX file's bytes.
    /// - Parameters: vocabulary and its tokens are stored in the file's metadata (`vocabulary`, one token per
    ///   line as in `Vocabulary.tokenListText`; `configuration`, the PyTorch-style JSON; `zero_input_id`, V;
    ///   `gru_variant` for a GRU); softmax adds the `probabilities` output.
    public func onnxModel(vocabulary: Vocabulary, softmax: Bool = false) -> [UInt8] {
        let c = configuration, r = c.recurrent, v = c.vocabularySize, h = r.hiddenSize
        var graph = ProtobufMessage()
        var nodeCount = 0
        func node(_ type: String, _ inputs: [String], _ outputs: [String], attributes: [ProtobufMessage] = []) {
            var n = ProtobufMessage()
            for input in inputs { n.string(1, input) }
            for output in outputs { n.string(2, output) }
            n.string(3, "\(type.lowercased())_\(nodeCount)")
            n.string(4, type)
            for attribute in attributes { n.message(5, attribute) }
            graph.message(1, n)
            nodeCount += 1
        }
        func initializer(_ name: String, shape: [Int], _ values: [Float]) {
            precondition(values.count == shape.reduce(1, *), "\(name): \(values.count) values for shape \(shape)")
            var t = ProtobufMessage()
            for d in shape { t.int(1, d) }
            t.int(2, 1)                                                   // FLOAT
            t.string(8, name)
            var raw: [UInt8] = []
            raw.reserveCapacity(values.count * 4)
            for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { raw.append(contentsOf: $0) } }
            t.bytes(9, raw)
            graph.message(5, t)
        }
        func integers(_ name: String, _ values: [Int]) {
            var t = ProtobufMessage()
            t.int(1, values.count)
            t.int(2, 7)                                                   // INT64
            t.string(8, name)
            var raw: [UInt8] = []
            for value in values { withUnsafeBytes(of: Int64(value).littleEndian) { raw.append(contentsOf: $0) } }
            t.bytes(9, raw)
            graph.message(5, t)
        }
        func valueInfo(_ name: String, elementType: Int, _ dimensions: [Any]) -> ProtobufMessage {
            var shape = ProtobufMessage()
            for d in dimensions {
                var dimension = ProtobufMessage()
                if let value = d as? Int { dimension.int(1, value) } else { dimension.string(2, "\(d)") }
                shape.message(1, dimension)
            }
            var tensor = ProtobufMessage()
            tensor.int(1, elementType)
            tensor.message(2, shape)
            var type = ProtobufMessage()
            type.message(1, tensor)
            var info = ProtobufMessage()
            info.string(1, name)
            info.message(2, type)
            return info
        }

        // The table Gather reads: one row per id, and a zero row at id V.
        let table: [Float], width: Int
        if let embedding {
            width = embedding.weight.value.shape[1]
            table = embedding.weight.value.scalars + [Float](repeating: 0, count: width)
        } else {
            width = v
            var identity = [Float](repeating: 0, count: (v + 1) * v)
            for i in 0..<v { identity[i * v + i] = 1 }
            table = identity
        }
        initializer("embedding_table", shape: [v + 1, width], table)
        node("Gather", ["embedding_table", "tokens"], ["layer_0_input"], attributes: [Self.onnxAttribute("axis", int: 0)])

        // One recurrent op per layer; the blocks of G rows reordered (and, course GRU, the update block negated).
        let blocks: [(index: Int, sign: Float)] = switch r.cell {
        case .lstm: [(0, 1), (3, 1), (1, 1), (2, 1)]
        case .gru: r.gruVariant == .course ? [(1, -1), (0, 1), (2, 1)] : [(1, 1), (0, 1), (2, 1)]
        case .rnn: [(0, 1)]
        }
        func reordered(_ tensor: Tensor) -> [Float] {
            let values = tensor.scalars, rowWidth = values.count / (blocks.count * h)
            var result: [Float] = []
            result.reserveCapacity(values.count)
            for (index, sign) in blocks {
                result += values[(index * h * rowWidth)..<((index + 1) * h * rowWidth)].map { $0 * sign }
            }
            return result
        }
        integers("squeeze_axes", [1])
        let parameters = Dictionary(uniqueKeysWithValues: network.parameters.map { ($0.name, $0.value) })
        let g = blocks.count * h
        for layer in 0..<r.layers {
            let d = r.inputSize(ofLayer: layer), suffix = "_l\(layer)"
            initializer("W" + suffix, shape: [1, g, d], reordered(parameters["weight_ih" + suffix]!))
            initializer("R" + suffix, shape: [1, g, h], reordered(parameters["weight_hh" + suffix]!))
            initializer("B" + suffix, shape: [1, 2 * g],
                        reordered(parameters["bias_ih" + suffix]!) + reordered(parameters["bias_hh" + suffix]!))
            var attributes = [Self.onnxAttribute("hidden_size", int: h)]
            switch r.cell {
            case .gru: attributes.append(Self.onnxAttribute("linear_before_reset", int: r.gruVariant == .course ? 0 : 1))
            case .rnn: attributes.append(Self.onnxAttribute("activations", strings: [r.activation == .relu ? "Relu" : "Tanh"]))
            case .lstm: break
            }
            let op = switch r.cell { case .lstm: "LSTM"; case .gru: "GRU"; case .rnn: "RNN" }
            node(op, ["layer_\(layer)_input", "W" + suffix, "R" + suffix, "B" + suffix, "sequence_lens"],
                 ["layer_\(layer)_y"], attributes: attributes)
            // Y [T, 1, B, H] → [T, B, H].
            node("Squeeze", ["layer_\(layer)_y", "squeeze_axes"], ["layer_\(layer + 1)_input"])
        }

        // logits = h·decoder.weightᵀ + decoder.bias.
        let decoderWeight = decoder.weight.value.scalars            // [V, H]
        let k = r.outputSize
        var transposed = [Float](repeating: 0, count: k * v)
        for row in 0..<v { for column in 0..<k { transposed[column * v + row] = decoderWeight[row * k + column] } }
        initializer("decoder_weight_transposed", shape: [k, v], transposed)
        initializer("decoder_bias", shape: [v], decoder.bias!.value.scalars)
        node("MatMul", ["layer_\(r.layers)_input", "decoder_weight_transposed"], ["decoded"])
        node("Add", ["decoded", "decoder_bias"], ["logits"])
        if softmax { node("Softmax", ["logits"], ["probabilities"], attributes: [Self.onnxAttribute("axis", int: -1)]) }

        graph.string(2, "recur_language_model")
        graph.message(11, valueInfo("tokens", elementType: 7, ["sequence", "batch"]))
        graph.message(11, valueInfo("sequence_lens", elementType: 6, ["batch"]))
        graph.message(12, valueInfo("logits", elementType: 1, ["sequence", "batch", v]))
        if softmax { graph.message(12, valueInfo("probabilities", elementType: 1, ["sequence", "batch", v])) }

        var model = ProtobufMessage()
        model.int(1, 8)                                                   // IR version 8 (opset 14 needs ≥ 7)
        model.string(2, "Recur")
        model.string(3, RecurVersion.current)
        model.message(7, graph)
        var opset = ProtobufMessage()
        opset.string(1, "")
        opset.int(2, 14)
        model.message(8, opset)
        let settings = String(decoding: PyTorchLanguageModelConfig(configuration, vocabulary: vocabulary).encoded(), as: UTF8.self)
        var metadata = [("vocabulary", vocabulary.tokenListText), ("configuration", settings), ("zero_input_id", "\(v)")]
        if r.cell == .gru { metadata.append(("gru_variant", r.gruVariant.rawValue)) }
        for (key, value) in metadata {
            var entry = ProtobufMessage()
            entry.string(1, key)
            entry.string(2, value)
            model.message(14, entry)
        }
        return model.bytes
    }

    private static func onnxAttribute(_ name: String, int value: Int) -> ProtobufMessage {
        var a = ProtobufMessage()
        a.string(1, name)
        a.int(3, value)
        a.int(20, 2)                                                      // INT
        return a
    }

    private static func onnxAttribute(_ name: String, strings values: [String]) -> ProtobufMessage {
        var a = ProtobufMessage()
        a.string(1, name)
        for value in values { a.string(9, value) }
        a.int(20, 8)                                                      // STRINGS
        return a
    }
}
