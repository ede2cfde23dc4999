import RecurCore

/// Recur's recurrent weights are PyTorch's: the same names, shapes and gate orders, so moving between them
/// copies tensors and renames nothing.
///
/// | Recur configuration | PyTorch module | gate blocks of the G rows |
/// |---|---|---|
/// | `.rnn`, activation tanh/relu | `nn.RNN(nonlinearity='tanh'/'relu')` | one block |
/// | `.lstm` | `nn.LSTM` | i, f, g, o (course: Γu, Γf, c̃, Γo) |
/// | `.gru`, variant `.pytorch` | `nn.GRU` | r, z, n |
/// | `.gru`, variant `.course` | none (see below) | Γr, Γu, c̃ |
///
/// Per layer k and direction (suffix `_reverse` for the reverse one): `weight_ih_lk` [G, D_k] (D_0 = inputSize,
/// above it 2H or H), `weight_hh_lk` [G, H], `bias_ih_lk` [G], `bias_hh_lk` [G]. The course's single bias of
/// each gate is `bias_ih + bias_hh`; its stacked W = [W_a | W_x] acting on [`a<t-1>`, `x<t>`] is
/// [`weight_hh` | `weight_ih`].
///
/// The course GRU cannot be a `nn.GRU`: PyTorch applies r after the product (r * (W_hn h + b_hn)), the course
/// before it (W_hc (Γr * c)), and no choice of weights makes one equal the other. It maps exactly onto ONNX's
/// `GRU` with `linear_before_reset=0` and Keras' `GRU(reset_after=False)`, after reordering the blocks to
/// z, r, h and negating the update block's weights and biases (z = 1 − Γu = σ(−(W_u[c, x] + b_u))).
extension RecurrentNetwork {
    /// The PyTorch module that has these weights, e.g. `nn.LSTM(128, 512, num_layers=2, bidirectional=True)`.
    public var pytorchModule: String {
        let c = configuration
        var arguments = ["\(c.inputSize)", "\(c.hiddenSize)"]
        if c.layers != 1 { arguments.append("num_layers=\(c.layers)") }
        if c.cell == .rnn && c.activation == .relu { arguments.append("nonlinearity='relu'") }
        if c.bidirectional { arguments.append("bidirectional=True") }
        let name = switch c.cell { case .rnn: "RNN"; case .gru: "GRU"; case .lstm: "LSTM" }
        return "nn.\(name)(\(arguments.joined(separator: ", ")))"
    }

    /// The weights as PyTorch's `state_dict` names them, in its order.
    /// - Throws: `RecurrentWeightError.noPyTorchForm` for the course GRU, or a bidirectional network whose
    ///   directions are not concatenated (PyTorch only concatenates).
    public func pytorchStateDictionary() throws -> [(name: String, tensor: Tensor)] {
        try checkPyTorchForm()
        return parameters.map { ($0.name, $0.value) }
    }

    /// Replaces every weight with the tensor of the same PyTorch name.
    /// - Throws: `RecurrentWeightError` naming the first missing, unexpected or misshapen tensor; no weight
    ///   changes unless all are present and shaped right.
    public func loadPyTorchStateDictionary(_ tensors: [String: Tensor]) throws {
        try checkPyTorchForm()
        for parameter in parameters {
            guard let tensor = tensors[parameter.name] else { throw RecurrentWeightError.missing(parameter.name) }
            guard tensor.shape == parameter.value.shape else {
                throw RecurrentWeightError.shapeMismatch(parameter.name, expected: parameter.value.shape, found: tensor.shape)
            }
        }
        let known = Set(parameters.map(\.name))
        if let extra = tensors.keys.sorted().first(where: { !known.contains($0) }) {
            throw RecurrentWeightError.unexpected(extra, module: pytorchModule)
        }
        for parameter in parameters { parameter.value = tensors[parameter.name]! }
    }

    private func checkPyTorchForm() throws {
        if configuration.cell == .gru && configuration.gruVariant == .course {
            throw RecurrentWeightError.noPyTorchForm(
                "the course GRU applies its relevance gate before the product with W_c; nn.GRU applies it after, " +
                "so no nn.GRU computes the same function. Export it to ONNX (GRU with linear_before_reset=0) or " +
                "Keras (reset_after=False) instead, or train with gruVariant .pytorch")
        }
        if configuration.bidirectional && configuration.merge != .concatenate {
            throw RecurrentWeightError.noPyTorchForm(
                "PyTorch concatenates the two directions; this network merges them by \(configuration.merge.rawValue)")
        }
    }
}

/// Why weights could not move between Recur and another framework.
public enum RecurrentWeightError: Error, CustomStringConvertible, Equatable {
    /// The network has no PyTorch module (a course-form GRU).
    case noPyTorchForm(String)
    /// A tensor the network needs is missing.
    case missing(String)
    /// A tensor is not one of the module's.
    case unexpected(String, module: String)
    /// A tensor has the wrong shape.
    case shapeMismatch(String, expected: [Int], found: [Int])

    public var description: String {
        switch self {
        case .noPyTorchForm(let why): "this network has no PyTorch equivalent: \(why)"
        case .missing(let name): "the state dict has no tensor named \(name)"
        case .unexpected(let name, let module): "the state dict has a tensor \(name) that \(module) does not have"
        case .shapeMismatch(let name, let expected, let found): "\(name) should have shape \(expected), found \(found)"
        }
    }
}
