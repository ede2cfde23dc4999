import RecurCore
import Synchronization

/// The state a recurrent network carries between steps: h for every cell, and c for the LSTM.
public struct RecurrentState: Equatable, Sendable {
    /// h, [L·Dir, B, H]: index l·Dir + d, layer-major as in PyTorch (d = 1 is the reverse direction).
    public var hidden: Tensor
    /// The LSTM's memory cell c, [L·Dir, B, H]; nil for the RNN and GRU.
    public var cellState: Tensor?

    /// A state; both tensors [L·Dir, B, H], the cell state for an LSTM only.
    public init(hidden: Tensor, cellState: Tensor? = nil) {
        self.hidden = hidden
        self.cellState = cellState
    }
}

/// What a forward pass returns.
public struct RecurrentOutput: Sendable {
    /// The top layer's output at every step (many-to-many), [T, B, outputSize]; zero past each sequence's length.
    public var outputs: Tensor
    /// One vector per sequence (many-to-one), [B, outputSize]: the top layer's final state; for a bidirectional
    /// network the merge of the forward direction's state after the sequence's last step and the reverse
    /// direction's after its first.
    public var last: Tensor
    /// Every layer's state after each sequence's own last step, [L·Dir, B, H].
    public var state: RecurrentState
}

/// The gradients a backward pass returns (parameter gradients are added to the `Parameter`s).
public struct RecurrentInputGradient: Sendable {
    /// dL/dx, [T, B, D]; zero past each sequence's length. Nil when `backward` was told the input needs none
    /// (token embeddings fed by a fixed one-hot input, say), which saves one matrix product.
    public var input: Tensor?
    /// dL/d(initial state), shaped like the state.
    public var initialState: RecurrentState
}

/// What a training forward pass keeps for its backward pass. Use it once, with weights unchanged.
public final class RecurrentTape {
    let pass: RecurrentPass<Float>
    let steps: Int
    let batchSize: Int
    /// The forward pass's input and outputs, whose memory the pass may use in place (a copy-on-write tensor's
    /// storage is not written while another copy holds it).
    let keptAlive: [Tensor]

    init(pass: RecurrentPass<Float>, steps: Int, batchSize: Int, keptAlive: [Tensor]) {
        self.pass = pass
        self.steps = steps
        self.batchSize = batchSize
        self.keptAlive = keptAlive
    }
}

/// A stack of recurrent layers — basic RNN, GRU (course or PyTorch form) or LSTM — optionally bidirectional,
/// over batches of sequences whose lengths differ, with exact backpropagation through time.
///
/// Input is time-major, [T, B, D], with an optional length per sequence (at most T): steps past a sequence's
/// length are never computed, their outputs are zero, and they receive and pass no gradient.
///
///     var generator = SeededGenerator(seed: 7)
///     let lstm = RecurrentNetwork(RecurrentConfiguration(cell: .lstm, inputSize: 4, hiddenSize: 5, layers: 2),
///                                 using: &generator)
///     let x = Tensor.normal([3, 2, 4], using: &generator)         // T = 3, B = 2, D = 4
///     let y = lstm(x, lengths: [3, 1])                             // y.outputs [3, 2, 5], y.last [2, 5]
///
/// Parameters are PyTorch's, with its names, shapes and gate orders (see `RecurrentNetwork+PyTorch.swift`):
/// for each layer k and direction, `weight_ih_lk` [G, D_k], `weight_hh_lk` [G, H], `bias_ih_lk` [G],
/// `bias_hh_lk` [G], with the suffix `_reverse` for the reverse direction.
public final class RecurrentNetwork {
    /// What the network is.
    public let configuration: RecurrentConfiguration
    /// In PyTorch's registration order: per layer, per direction, weight_ih, weight_hh, bias_ih, bias_hh.
    public let parameters: [Parameter]
    /// Buffers kept from one pass for the next (about one pass's peak memory); `workspace.release()` frees them.
    public let workspace = Workspace()
    /// W_ihᵀ and W_hhᵀ of every layer and direction packed for inference passes (as much memory as the weights),
    /// with the parameter versions and kernel they were packed for. A training pass packs its own: the optimizer
    /// changes the weights between passes.
    private let weightsPackedForInference = Mutex<PackedWeights?>(nil)

    private struct PackedWeights: Sendable {
        let versions: [Int]
        let kernel: CPUKernel
        let directions: [PreparedDirection<Float>]
    }

    /// A network with PyTorch's initialization: every weight and bias uniform in [−1/√H, 1/√H], then the
    /// LSTM's forget-gate block of `bias_ih` set to `configuration.forgetGateBias` (when not nil).
    public init(_ configuration: RecurrentConfiguration, using generator: inout SeededGenerator) {
        let problems = configuration.problems
        require(problems.isEmpty, "invalid recurrent configuration: \(problems.joined(separator: "; "))")
        self.configuration = configuration
        let bound = 1 / Float(configuration.hiddenSize).squareRoot()
        var parameters: [Parameter] = []
        for layer in 0..<configuration.layers {
            for direction in 0..<configuration.directionCount {
                for (name, shape) in Self.parameterShapes(configuration, layer: layer) {
                    let fullName = Self.parameterName(name, layer: layer, direction: direction)
                    parameters.append(Parameter(name: fullName, value: .uniform(shape, in: -bound...bound, using: &generator)))
                }
                if configuration.cell == .lstm, let forgetBias = configuration.forgetGateBias {
                    let bias = parameters[parameters.count - 2]          // bias_ih: blocks i, f, g, o
                    let h = configuration.hiddenSize
                    bias.value.withUnsafeMutableBufferPointer { b in
                        for k in h..<(2 * h) { b[k] = forgetBias }
                    }
                    parameters[parameters.count - 1].value.withUnsafeMutableBufferPointer { b in
                        for k in h..<(2 * h) { b[k] = 0 }
                    }
                }
            }
        }
        self.parameters = parameters
    }

    /// The four parameters of one layer and direction, without suffixes: (name, shape).
    static func parameterShapes(_ c: RecurrentConfiguration, layer: Int) -> [(String, [Int])] {
        [("weight_ih", [c.gateWidth, c.inputSize(ofLayer: layer)]), ("weight_hh", [c.gateWidth, c.hiddenSize]),
         ("bias_ih", [c.gateWidth]), ("bias_hh", [c.gateWidth])]
    }

    /// Every parameter's name and shape, in `parameters` order, without making the network (to check a file
    /// before allocating what it describes).
    public static func parameterLayout(_ c: RecurrentConfiguration) -> [(name: String, shape: [Int])] {
        (0..<c.layers).flatMap { layer in
            (0..<c.directionCount).flatMap { direction in
                parameterShapes(c, layer: layer).map { (parameterName($0.0, layer: layer, direction: direction), $0.1) }
            }
        }
    }

    /// Every parameter's name, in `parameters` order.
    static func parameterNames(_ c: RecurrentConfiguration) -> [String] {
        (0..<c.layers).flatMap { layer in
            (0..<c.directionCount).flatMap { direction in
                parameterShapes(c, layer: layer).map { parameterName($0.0, layer: layer, direction: direction) }
            }
        }
    }

    /// `weight_ih` → `weight_ih_l1_reverse` for layer 1, direction 1.
    static func parameterName(_ base: String, layer: Int, direction: Int) -> String {
        "\(base)_l\(layer)\(direction == 1 ? "_reverse" : "")"
    }

    /// Total number of scalars in all parameters.
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.value.count } }

    /// Sets every parameter's gradient to zero.
    public func zeroGradients() { parameters.forEach { $0.zeroGradient() } }

    /// A zero state for `batchSize` sequences.
    public func zeroState(batchSize: Int) -> RecurrentState {
        let shape = [configuration.layers * configuration.directionCount, batchSize, configuration.hiddenSize]
        return RecurrentState(hidden: .zeros(shape), cellState: configuration.cell == .lstm ? .zeros(shape) : nil)
    }

    // MARK: - Forward

    /// Runs the network for inference: no dropout, and nothing is kept for a backward pass.
    /// - Parameters:
    ///   - input: [T, B, D].
    ///   - lengths: steps of each of the B sequences, each in 0…T (nil: all T).
    ///   - initialState: [L·Dir, B, H] (nil: zeros).
    ///   - settings: the kernel and the number of threads.
    /// - Returns: the outputs [T, B, outputSize], the last outputs [B, outputSize] and the final state.
    public func callAsFunction(_ input: Tensor, lengths: [Int]? = nil, initialState: RecurrentState? = nil,
                               settings: ComputeSettings = .current) -> RecurrentOutput {
        var noDropout: SeededGenerator? = nil
        return run(input, lengths: lengths, initialState: initialState, keepsCache: false,
                   dropoutGenerator: &noDropout, settings: settings).output
    }

    /// Runs the network for training and keeps what `backward` needs. Dropout (if configured) draws its
    /// masks from `dropoutGenerator`.
    /// - Parameters: as `callAsFunction`.
    public func forward(_ input: Tensor, lengths: [Int]? = nil, initialState: RecurrentState? = nil,
                        dropoutGenerator: inout SeededGenerator,
                        settings: ComputeSettings = .current) -> (output: RecurrentOutput, tape: RecurrentTape) {
        var generator: SeededGenerator? = dropoutGenerator
        let result = run(input, lengths: lengths, initialState: initialState, keepsCache: true,
                         dropoutGenerator: &generator, settings: settings)
        dropoutGenerator = generator!
        return (result.output, result.tape!)
    }

    private func run(_ input: Tensor, lengths: [Int]?, initialState: RecurrentState?, keepsCache: Bool,
                     dropoutGenerator: inout SeededGenerator?,
                     settings: ComputeSettings) -> (output: RecurrentOutput, tape: RecurrentTape?) {
        let c = configuration
        require(input.rank == 3 && input.shape[2] == c.inputSize,
                "recurrent input must be [T, B, \(c.inputSize)] (time, batch, features), got \(input.shape)")
        let steps = input.shape[0], batchSize = input.shape[1]
        if let lengths {
            require(lengths.count == batchSize, "lengths has \(lengths.count) entries for a batch of \(batchSize)")
            require(lengths.allSatisfy { $0 >= 0 && $0 <= steps }, "every length must be in 0…\(steps), got \(lengths)")
        }
        let stateShape = [c.layers * c.directionCount, batchSize, c.hiddenSize]
        if let initialState {
            require(initialState.hidden.shape == stateShape,
                    "initial hidden state must be \(stateShape) (layers·directions, batch, hidden), got \(initialState.hidden.shape)")
            if c.cell == .lstm {
                require(initialState.cellState?.shape == stateShape,
                        "an LSTM's initial state needs a cell state of \(stateShape), got \(initialState.cellState.map { "\($0.shape)" } ?? "none")")
            }
        }
        let batch = SequenceBatch(steps: steps, batchSize: batchSize, lengths: lengths)
        let pass = RecurrentPass<Float>(configuration: c, batch: batch, keepsCache: keepsCache, settings: settings,
                                        workspace: workspace, callerKeepsBuffers: true)   // the tape keeps them
        let weights = parameters.map(\.value)
        let (outputs, state) = runForward(pass, input: input, weights: weights,
                                          prepared: keepsCache ? nil : packedWeights(weights, settings: settings),
                                          initialState: initialState, dropoutGenerator: &dropoutGenerator)
        var last = Tensor.unfilled([batchSize, c.outputSize])   // every element written by mergeLast
        state.hidden.withUnsafeBufferPointer { hn in
            last.withUnsafeMutableBufferPointer { pass.mergeLast(finalHidden: hn.baseAddress!, into: $0.baseAddress!) }
        }
        let output = RecurrentOutput(outputs: outputs, last: last, state: state)
        return (output, keepsCache ? RecurrentTape(pass: pass, steps: steps, batchSize: batchSize,
                                                   keptAlive: [input, outputs]) : nil)
    }

    /// `weights` (the parameters' values) packed for inference: packed again only when a parameter or the kernel
    /// has changed since.
    private func packedWeights(_ weights: [Tensor], settings: ComputeSettings) -> [PreparedDirection<Float>] {
        let versions = parameters.map(\.version), kernel = settings.kernel, c = configuration
        return weightsPackedForInference.withLock { packed in
            if let packed, packed.versions == versions, packed.kernel == kernel { return packed.directions }
            let directions = prepareDirections(c, weights: weights, settings: settings)
            packed = PackedWeights(versions: versions, kernel: kernel, directions: directions)
            return directions
        }
    }

    // MARK: - Backward

    /// Back-propagates through time and adds dL/d(parameter) to every parameter's `gradient`.
    /// - Parameters:
    ///   - tape: from `forward`, with the parameters unchanged since.
    ///   - outputGradient: dL/d`outputs`, [T, B, outputSize] (nil: the loss does not use them).
    ///   - lastGradient: dL/d`last`, [B, outputSize] (nil: not used).
    ///   - finalStateGradient: dL/d`state` (nil: not used), e.g. from the next window of truncated BPTT.
    ///   - needsInputGradient: false skips dL/dx (PyTorch does likewise for an input that does not require grad).
    /// - Returns: dL/dx (unless skipped) and dL/d(initial state).
    public func backward(_ tape: RecurrentTape, outputGradient: Tensor? = nil, lastGradient: Tensor? = nil,
                         finalStateGradient: RecurrentState? = nil, needsInputGradient: Bool = true) -> RecurrentInputGradient {
        let c = configuration, steps = tape.steps, batchSize = tape.batchSize, h = c.hiddenSize
        let stateShape = [c.layers * c.directionCount, batchSize, h]
        if let outputGradient {
            require(outputGradient.shape == [steps, batchSize, c.outputSize],
                    "output gradient must be \([steps, batchSize, c.outputSize]), got \(outputGradient.shape)")
        }
        var hiddenGradient = finalStateGradient?.hidden ?? Tensor.zeros(stateShape)
        require(hiddenGradient.shape == stateShape, "final hidden gradient must be \(stateShape), got \(hiddenGradient.shape)")
        let cellGradient: Tensor? = c.cell == .lstm ? (finalStateGradient?.cellState ?? Tensor.zeros(stateShape)) : nil
        if let cellGradient { require(cellGradient.shape == stateShape, "final cell-state gradient must be \(stateShape), got \(cellGradient.shape)") }
        if let lastGradient {
            require(lastGradient.shape == [batchSize, c.outputSize],
                    "last-output gradient must be \([batchSize, c.outputSize]), got \(lastGradient.shape)")
            lastGradient.withUnsafeBufferPointer { g in
                hiddenGradient.withUnsafeMutableBufferPointer { tape.pass.addLastGradient(g.baseAddress!, into: $0.baseAddress!) }
            }
        }
        var inputGradient: Tensor? = needsInputGradient ? Tensor.unfilled([steps, batchSize, c.inputSize]) : nil
        var initialHidden = Tensor.zeros(stateShape)
        var initialCell: Tensor? = c.cell == .lstm ? Tensor.zeros(stateShape) : nil
        withWeights { weights in
            parameters.withGradientPointers { gradientPointers in
                let gradients = DirectionWeightGradients.grouping(gradientPointers)
                withOptionalPointer(outputGradient) { dy in
                    hiddenGradient.withUnsafeBufferPointer { dhn in
                        withOptionalPointer(cellGradient) { dcn in
                            withOptionalMutablePointer(&inputGradient) { dx in
                                initialHidden.withUnsafeMutableBufferPointer { dh0 in
                                    withOptionalMutablePointer(&initialCell) { dc0 in
                                        tape.pass.backward(weights: weights, gradients: gradients, outputGradient: dy,
                                                           finalHiddenGradient: dhn.baseAddress!, finalMemoryGradient: dcn,
                                                           inputGradient: dx, initialHiddenGradient: dh0.baseAddress!,
                                                           initialMemoryGradient: dc0)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return RecurrentInputGradient(input: inputGradient, initialState: RecurrentState(hidden: initialHidden, cellState: initialCell))
    }

    /// Calls `body` with every layer and direction's weights, index l·Dir + d.
    func withWeights<R>(_ body: ([DirectionWeights<Float>]) -> R) -> R {
        parameters.map(\.value).withScalarPointers { body(DirectionWeights.grouping($0)) }
    }
}

/// Runs `pass` forward on tensors — the pointer plumbing `RecurrentNetwork` and `RecurrentStepper` share.
/// - Parameters: input [T, B, D]; weights in parameter order; initialState [L·Dir, B, H] (nil: zeros).
/// - Returns: outputs [T, B, outputSize] and the final state [L·Dir, B, H].
func runForward(_ pass: RecurrentPass<Float>, input: Tensor, weights: [Tensor], prepared: [PreparedDirection<Float>]?,
                initialState: RecurrentState?, dropoutGenerator: inout SeededGenerator?) -> (outputs: Tensor, state: RecurrentState) {
    let c = pass.configuration, steps = input.shape[0], batchSize = input.shape[1]
    let stateShape = [c.layers * c.directionCount, batchSize, c.hiddenSize]
    var outputs = Tensor.unfilled([steps, batchSize, c.outputSize])   // every element written by the pass
    var hidden = Tensor.unfilled(stateShape)   // every layer and direction's final state written by the pass
    var cellState: Tensor? = c.cell == .lstm ? Tensor.unfilled(stateShape) : nil
    weights.withScalarPointers { pointers in
        input.withUnsafeBufferPointer { x in
            withOptionalPointer(initialState?.hidden) { h0 in
                withOptionalPointer(c.cell == .lstm ? initialState?.cellState : nil) { c0 in
                    outputs.withUnsafeMutableBufferPointer { y in
                        hidden.withUnsafeMutableBufferPointer { hn in
                            withOptionalMutablePointer(&cellState) { cn in
                                pass.forward(input: x.baseAddress!, weights: DirectionWeights.grouping(pointers),
                                             prepared: prepared, initialHidden: h0, initialMemory: c0,
                                             dropoutGenerator: &dropoutGenerator, output: y.baseAddress!,
                                             finalHidden: hn.baseAddress!, finalMemory: cn)
                            }
                        }
                    }
                }
            }
        }
    }
    return (outputs, RecurrentState(hidden: hidden, cellState: cellState))
}

/// Every layer and direction's W_ihᵀ and W_hhᵀ prepared for forward passes, index l·Dir + d; `weights` in
/// `parameters` order.
func prepareDirections(_ c: RecurrentConfiguration, weights: [Tensor], settings: ComputeSettings)
    -> [PreparedDirection<Float>] {
    weights.withScalarPointers { pointers in
        DirectionWeights.grouping(pointers).enumerated().map { index, w in
            RecurrentDirection<Float>.prepare(c, layer: index / c.directionCount, w, settings: settings)
        }
    }
}

func withOptionalPointer<R>(_ tensor: Tensor?, _ body: (UnsafePointer<Float>?) -> R) -> R {
    guard let tensor else { return body(nil) }
    return tensor.withUnsafeBufferPointer { body($0.baseAddress) }
}

func withOptionalMutablePointer<R>(_ tensor: inout Tensor?, _ body: (UnsafeMutablePointer<Float>?) -> R) -> R {
    guard tensor != nil else { return body(nil) }
    return tensor!.withUnsafeMutableBufferPointer { body($0.baseAddress) }
}
