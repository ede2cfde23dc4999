import RecurCore

/// What a `RecurrentNetwork` is: the cell, its sizes, depth, directions and dropout.
///
/// Letters used in shapes throughout: T time steps, B batch, D input features (`inputSize`),
/// H hidden units (`hiddenSize`), L layers, Dir directions (1 or 2), G gate width (1·H RNN, 3·H GRU, 4·H LSTM).
///
///     let configuration = RecurrentConfiguration(cell: .lstm, inputSize: 65, hiddenSize: 128, layers: 2)
public struct RecurrentConfiguration: Codable, Equatable, Sendable {
    /// The recurrent cell of every layer.
    public enum Cell: String, Codable, CaseIterable, Sendable {
        /// Basic RNN: `a<t> = g(W_aa a<t-1> + W_ax x<t> + b_a)`, g = tanh or relu (`activation`).
        case rnn
        /// Gated recurrent unit, in the form `gruVariant` names.
        case gru
        /// Long short-term memory.
        case lstm

        /// Gates computed per hidden unit: 1 (RNN), 3 (GRU), 4 (LSTM).
        public var gateCount: Int {
            switch self {
            case .rnn: 1
            case .gru: 3
            case .lstm: 4
            }
        }
    }

    /// Where the GRU's relevance (reset) gate acts.
    public enum GRUVariant: String, Codable, CaseIterable, Sendable {
        /// The course's full GRU: Γr multiplies `c<t-1>` before the product with W_c, and
        /// `c<t>` = Γu * `c̃<t>` + (1 − Γu) * `c<t-1>` (ONNX `linear_before_reset=0`, Keras `reset_after=False`).
        case course
        /// PyTorch's `nn.GRU`: r multiplies `W_hn h + b_hn` after the product, and h = (1 − z) * n + z * h_prev
        /// (ONNX `linear_before_reset=1`, Keras `reset_after=True`).
        case pytorch
    }

    /// How a bidirectional layer combines its forward and reverse outputs.
    public enum Merge: String, Codable, CaseIterable, Sendable {
        /// [forward, reverse] along features: width 2H (PyTorch's only form).
        case concatenate
        /// forward + reverse: width H.
        case sum
        /// (forward + reverse) / 2: width H.
        case average
    }

    /// The cell of every layer.
    public var cell: Cell
    /// D: features of each input step.
    public var inputSize: Int
    /// H: units of each layer's state.
    public var hiddenSize: Int
    /// L: stacked layers; layer l > 0 reads layer l − 1's (merged) outputs.
    public var layers: Int
    /// Whether each layer also runs from each sequence's last step back to its first.
    public var bidirectional: Bool
    /// How the two directions' outputs are combined (bidirectional only); applies after every layer.
    public var merge: Merge
    /// g of the basic RNN: `.tanh` (default) or `.relu`.
    public var activation: Activation
    /// Which GRU (GRU only).
    public var gruVariant: GRUVariant
    /// Probability of zeroing each input feature of layers 1…L−1 while training (inverted dropout: kept
    /// values are scaled by 1/(1 − p)). Never applied to the network's own input or output.
    public var dropout: Double
    /// Draw one dropout mask per sequence and reuse it at every time step (Gal & Ghahramani's variational
    /// dropout) instead of a fresh mask at every step.
    public var variationalDropout: Bool
    /// Initial value of the LSTM forget-gate bias b_f (LSTM only), or nil to draw it like every other bias.
    ///
    /// The default, 1, makes Γf = σ(1) ≈ 0.73 at the start, so the cell state and its gradient survive
    /// many steps from the first update instead of halving at each (Gers et al. 2000; Jozefowicz et al. 2015
    /// measured it helps on every task they tried; char-rnn and Keras' `unit_forget_bias` do the same).
    /// It is written to `bias_ih`'s forget block; `bias_hh`'s stays 0, so the sum the cell sees is exactly this.
    public var forgetGateBias: Float?

    /// A configuration; see each property. `problems` lists what is out of range.
    public init(cell: Cell, inputSize: Int, hiddenSize: Int, layers: Int = 1, bidirectional: Bool = false,
                merge: Merge = .concatenate, activation: Activation = .tanh, gruVariant: GRUVariant = .pytorch,
                dropout: Double = 0, variationalDropout: Bool = false, forgetGateBias: Float? = 1) {
        self.cell = cell
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        self.layers = layers
        self.bidirectional = bidirectional
        self.merge = merge
        self.activation = activation
        self.gruVariant = gruVariant
        self.dropout = dropout
        self.variationalDropout = variationalDropout
        self.forgetGateBias = forgetGateBias
    }

    /// Problems with this configuration, one sentence each; empty when it is valid.
    public var problems: [String] {
        var found: [String] = []
        if inputSize < 1 { found.append("inputSize must be at least 1, got \(inputSize)") }
        if hiddenSize < 1 { found.append("hiddenSize must be at least 1, got \(hiddenSize)") }
        if layers < 1 { found.append("layers must be at least 1, got \(layers)") }
        if !(dropout >= 0 && dropout < 1) { found.append("dropout must be in [0, 1), got \(dropout)") }
        if cell == .rnn && activation != .tanh && activation != .relu {
            found.append("the basic RNN's activation must be tanh or relu, got \(activation.rawValue)")
        }
        if let bias = forgetGateBias, !bias.isFinite { found.append("forgetGateBias must be finite, got \(bias)") }
        return found
    }

    /// Dir: 2 when bidirectional, else 1.
    public var directionCount: Int { bidirectional ? 2 : 1 }
    /// G: rows of each weight matrix.
    public var gateWidth: Int { cell.gateCount * hiddenSize }
    /// Width of each layer's output: 2H for concatenated bidirectional layers, else H.
    public var outputSize: Int { bidirectional && merge == .concatenate ? 2 * hiddenSize : hiddenSize }
    /// D for layer 0; the previous layer's output width above it.
    public func inputSize(ofLayer layer: Int) -> Int { layer == 0 ? inputSize : outputSize }
}
