import Foundation
import Testing
import Recur
import RecurTestSupport

/// Just enough of a protocol-buffer reader to look inside the `.onnx` files Recur writes: fields by number.
struct ProtobufFields {
    enum Value { case varint(UInt64), fixed32(UInt32), fixed64(UInt64), bytes([UInt8]) }
    var fields: [(number: Int, value: Value)] = []

    init(_ bytes: [UInt8]) throws {
        var index = 0
        func varint() throws -> UInt64 {
            var result: UInt64 = 0, shift: UInt64 = 0
            while true {
                guard index < bytes.count, shift < 64 else { throw CocoaError(.fileReadCorruptFile) }
                let byte = bytes[index]; index += 1
                result |= UInt64(byte & 0x7F) << shift
                if byte < 0x80 { return result }
                shift += 7
            }
        }
        while index < bytes.count {
            let key = try varint(), number = Int(key >> 3)
            switch key & 7 {
            case 0: fields.append((number, .varint(try varint())))
            case 1:
                guard index + 8 <= bytes.count else { throw CocoaError(.fileReadCorruptFile) }
                fields.append((number, .fixed64(bytes[index..<(index + 8)].reversed().reduce(0) { $0 << 8 | UInt64($1) }))); index += 8
            case 5:
                guard index + 4 <= bytes.count else { throw CocoaError(.fileReadCorruptFile) }
                fields.append((number, .fixed32(bytes[index..<(index + 4)].reversed().reduce(0) { $0 << 8 | UInt32($1) }))); index += 4
            case 2:
                let length = Int(try varint())
                guard index + length <= bytes.count else { throw CocoaError(.fileReadCorruptFile) }
                fields.append((number, .bytes(Array(bytes[index..<(index + length)])))); index += length
            default: throw CocoaError(.fileReadCorruptFile)
            }
        }
    }

    func messages(_ number: Int) throws -> [ProtobufFields] {
        try fields.filter { $0.number == number }.compactMap { if case .bytes(let b) = $0.value { try ProtobufFields(b) } else { nil } }
    }
    func strings(_ number: Int) -> [String] {
        fields.filter { $0.number == number }.compactMap { if case .bytes(let b) = $0.value { String(decoding: b, as: UTF8.self) } else { nil } }
    }
    func ints(_ number: Int) -> [Int] {
        fields.filter { $0.number == number }.compactMap { if case .varint(let v) = $0.value { Int(Int64(bitPattern: v)) } else { nil } }
    }
    func rawBytes(_ number: Int) -> [UInt8] {
        for field in fields where field.number == number { if case .bytes(let b) = field.value { return b } }
        return []
    }
}

/// The graph of an exported file: op types in order, initializers by name, metadata.
struct ONNXSummary {
    var irVersion: Int, opset: Int
    var operators: [String]
    var attributes: [String: [String: Int]]
    var initializers: [String: (shape: [Int], values: [Float])]
    var inputs: [String], outputs: [String]
    var metadata: [String: String]

    init(_ bytes: [UInt8]) throws {
        let model = try ProtobufFields(bytes)
        irVersion = model.ints(1).first ?? 0
        opset = try model.messages(8).first?.ints(2).first ?? 0
        let graph = try model.messages(7)[0]
        let nodes = try graph.messages(1)
        operators = nodes.map { $0.strings(4)[0] }
        attributes = [:]
        for node in nodes {
            for attribute in try node.messages(5) {
                if let value = attribute.ints(3).first { attributes[node.strings(3)[0], default: [:]][attribute.strings(1)[0]] = value }
            }
        }
        initializers = [:]
        for tensor in try graph.messages(5) where tensor.ints(2).first == 1 {
            let raw = tensor.rawBytes(9)
            let values = stride(from: 0, to: raw.count, by: 4).map { i in
                Float(bitPattern: UInt32(raw[i]) | UInt32(raw[i + 1]) << 8 | UInt32(raw[i + 2]) << 16 | UInt32(raw[i + 3]) << 24)
            }
            initializers[tensor.strings(8)[0]] = (tensor.ints(1), values)
        }
        inputs = try graph.messages(11).map { $0.strings(1)[0] }
        outputs = try graph.messages(12).map { $0.strings(1)[0] }
        metadata = Dictionary(uniqueKeysWithValues: try model.messages(14).map { ($0.strings(1)[0], $0.strings(2)[0]) })
    }
}

@Suite("ONNX export", .serialized)
struct ONNXExportTests {
    static let folder = SharedTestFolder.make("onnx")

    /// A two-layer model of `cell` trained for a few steps with the built binary, exported; the model and the file.
    static func exported(_ arguments: [String], softmax: Bool) throws -> (LanguageModelFile, ONNXSummary) {
        let text = folder.appendingPathComponent("text.txt"), name = arguments.joined(separator: "-")
        try Data(String(repeating: "the apple and pear salad is good .\n", count: 30).utf8).write(to: text)
        let model = folder.appendingPathComponent("\(name).recur").path, onnx = folder.appendingPathComponent("\(name).onnx").path
        let trained = try RecurBinary.run(["train", "--data", text.path, "--layers", "2", "--hidden-size", "6", "--steps", "3",
                                           "--batch-size", "2", "--quiet", "--output", model] + arguments)
        #expect(trained.status == 0, "\(trained.standardError)")
        let result = try RecurBinary.run(["export-onnx", model, "--output", onnx] + (softmax ? ["--softmax"] : []))
        #expect(result.status == 0, "\(result.standardError)")
        return (try LanguageModelFile.load(URL(fileURLWithPath: model)),
                try ONNXSummary(Array(try Data(contentsOf: URL(fileURLWithPath: onnx)))))
    }

    /// Rows [first, first + count) of a row-major matrix of `width` columns.
    static func rows(_ tensor: Tensor, _ first: Int, _ count: Int, width: Int, sign: Float = 1) -> [Float] {
        Array(tensor.scalars[(first * width)..<((first + count) * width)]).map { $0 * sign }
    }

    @Test("the graph: Gather, one recurrent op per layer, MatMul, Add and Softmax at opset 14, with the vocabulary in its metadata")
    func graph() throws {
        let (file, onnx) = try Self.exported(["--cell", "lstm", "--embedding-size", "5"], softmax: true)
        #expect(onnx.irVersion == 8 && onnx.opset == 14)
        #expect(onnx.operators == ["Gather", "LSTM", "Squeeze", "LSTM", "Squeeze", "MatMul", "Add", "Softmax"])
        #expect(onnx.inputs == ["tokens", "sequence_lens"] && onnx.outputs == ["logits", "probabilities"])
        #expect(onnx.attributes["lstm_1"]?["hidden_size"] == 6)
        #expect(onnx.metadata["vocabulary"] == file.vocabulary.tokenListText && onnx.metadata["zero_input_id"] == "\(file.vocabulary.count)")
        let v = file.vocabulary.count, table = onnx.initializers["embedding_table"]!
        #expect(table.shape == [v + 1, 5] && Array(table.values.prefix(v * 5)) == file.model.embedding!.weight.value.scalars)
        #expect(table.values.suffix(5).allSatisfy { $0 == 0 }, "id V reads the zero vector")
        let decoder = onnx.initializers["decoder_weight_transposed"]!
        #expect(decoder.shape == [6, v] && decoder.values[1 * v + 2] == file.model.decoder.weight.value.scalars[2 * 6 + 1])
    }

    @Test("LSTM blocks go from PyTorch's i, f, g, o to ONNX's i, o, f, c; B is [b_ih; b_hh]")
    func lstmLayout() throws {
        let (file, onnx) = try Self.exported(["--cell", "lstm"], softmax: false)
        #expect(!onnx.operators.contains("Softmax") && onnx.outputs == ["logits"])
        let h = 6, weights = Dictionary(uniqueKeysWithValues: file.model.network.parameters.map { ($0.name, $0.value) })
        for layer in 0..<2 {
            let input = weights["weight_ih_l\(layer)"]!, width = input.shape[1]
            let expected = [0, 3, 1, 2].flatMap { Self.rows(input, $0 * h, h, width: width) }
            #expect(onnx.initializers["W_l\(layer)"]?.shape == [1, 4 * h, width] && onnx.initializers["W_l\(layer)"]?.values == expected)
            let recurrent = [0, 3, 1, 2].flatMap { Self.rows(weights["weight_hh_l\(layer)"]!, $0 * h, h, width: h) }
            #expect(onnx.initializers["R_l\(layer)"]?.values == recurrent)
            let bias = [0, 3, 1, 2].flatMap { Self.rows(weights["bias_ih_l\(layer)"]!, $0 * h, h, width: 1) }
                + [0, 3, 1, 2].flatMap { Self.rows(weights["bias_hh_l\(layer)"]!, $0 * h, h, width: 1) }
            #expect(onnx.initializers["B_l\(layer)"]?.shape == [1, 8 * h] && onnx.initializers["B_l\(layer)"]?.values == bias)
        }
    }

    @Test("GRU: PyTorch's form is linear_before_reset 1 (r, z, n → z, r, h); the course's is 0 with the update block negated",
          arguments: ["pytorch", "course"])
    func gruLayout(_ variant: String) throws {
        let (file, onnx) = try Self.exported(["--cell", "gru", "--gru-variant", variant], softmax: false)
        #expect(onnx.operators.filter { $0 == "GRU" }.count == 2 && onnx.metadata["gru_variant"] == variant)
        #expect(onnx.attributes["gru_1"]?["linear_before_reset"] == (variant == "course" ? 0 : 1))
        let h = 6, input = file.model.network.parameters.first { $0.name == "weight_ih_l0" }!.value, width = input.shape[1]
        let sign: Float = variant == "course" ? -1 : 1
        let expected = Self.rows(input, h, h, width: width, sign: sign) + Self.rows(input, 0, h, width: width)
            + Self.rows(input, 2 * h, h, width: width)
        #expect(onnx.initializers["W_l0"]?.values == expected)
    }

    @Test("RNN: the nonlinearity is the op's activation", arguments: ["tanh", "relu"])
    func rnnActivation(_ activation: String) throws {
        let (_, onnx) = try Self.exported(["--cell", "rnn", "--activation", activation], softmax: false)
        #expect(onnx.operators == ["Gather", "RNN", "Squeeze", "RNN", "Squeeze", "MatMul", "Add"])
        let file = try Data(contentsOf: Self.folder.appendingPathComponent("--cell-rnn---activation-\(activation).onnx"))
        let name = activation == "relu" ? "Relu" : "Tanh"
        #expect(file.range(of: Data(name.utf8)) != nil, "the activations attribute names \(name)")
    }
}
