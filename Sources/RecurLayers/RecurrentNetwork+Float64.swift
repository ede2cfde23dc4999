import RecurCore

/// The Float64 check path: a `RecurrentNetwork`'s weights in Double, run through the very same recurrent
/// code (`RecurrentPass`) with plain loops instead of the Float kernels.
///
/// It exists so that finite differences can test the production backward pass to 1e-6 (in Float32, rounding
/// alone limits such a check to about 1e-3), and so that a learner can print every step in full precision.
/// Arrays are row-major with the shapes of the Tensor API; `parameters` is in `RecurrentNetwork.parameters` order.
struct Float64Recurrent {
    let configuration: RecurrentConfiguration
    var parameters: [[Double]]

    /// Copies `network`'s weights.
    init(_ network: RecurrentNetwork) {
        configuration = network.configuration
        parameters = network.parameters.map { $0.value.scalars.map(Double.init) }
    }

    /// What `forward` returns; shapes as in `RecurrentOutput`.
    struct Output {
        var outputs: [Double], last: [Double], hidden: [Double], cellState: [Double]?
    }

    /// What `gradients` returns: dL/d(each parameter), dL/dx and dL/d(initial state).
    struct Gradients {
        var parameters: [[Double]], input: [Double], initialHidden: [Double], initialCellState: [Double]?
    }

    /// One forward pass.
    /// - Parameters: input [T, B, D]; initial states [L·Dir, B, H] (nil: zeros); `dropoutSeed` draws dropout
    ///   masks exactly as `RecurrentNetwork.forward` does with `SeededGenerator(seed:)` (nil: no dropout).
    func forward(input: [Double], steps: Int, batchSize: Int, lengths: [Int]? = nil,
                        initialHidden: [Double]? = nil, initialCellState: [Double]? = nil,
                        dropoutSeed: UInt64? = nil) -> Output {
        run(input: input, steps: steps, batchSize: batchSize, lengths: lengths, initialHidden: initialHidden,
            initialCellState: initialCellState, dropoutSeed: dropoutSeed).output
    }

    /// A forward and a backward pass; upstream gradients default to zeros.
    func gradients(input: [Double], steps: Int, batchSize: Int, lengths: [Int]? = nil,
                          initialHidden: [Double]? = nil, initialCellState: [Double]? = nil, dropoutSeed: UInt64? = nil,
                          outputGradient: [Double]? = nil, lastGradient: [Double]? = nil,
                          finalHiddenGradient: [Double]? = nil, finalCellStateGradient: [Double]? = nil) -> Gradients {
        let c = configuration
        let (_, pass) = run(input: input, steps: steps, batchSize: batchSize, lengths: lengths, initialHidden: initialHidden,
                            initialCellState: initialCellState, dropoutSeed: dropoutSeed)
        let stateCount = c.layers * c.directionCount * batchSize * c.hiddenSize
        var gradients = parameters.map { [Double](repeating: 0, count: $0.count) }
        var dx = [Double](repeating: 0, count: steps * batchSize * c.inputSize)
        var dh0 = [Double](repeating: 0, count: stateCount), dc0 = dh0
        var dhn = finalHiddenGradient ?? [Double](repeating: 0, count: stateCount)
        let dcn = finalCellStateGradient ?? [Double](repeating: 0, count: stateCount)
        if let lastGradient { pass.addLastGradient(lastGradient, into: &dhn) }
        let gradientPointers = gradients.indices.map { i in
            UnsafeMutablePointer<Double>.allocate(capacity: max(1, gradients[i].count))
        }
        for (pointer, values) in zip(gradientPointers, gradients) { pointer.initialize(from: values, count: values.count) }
        withDoubleWeights { weights in
            let directionGradients = DirectionWeightGradients.grouping(gradientPointers)
            pass.backward(weights: weights, gradients: directionGradients, outputGradient: outputGradient,
                          finalHiddenGradient: dhn, finalMemoryGradient: c.cell == .lstm ? dcn : nil,
                          inputGradient: &dx, initialHiddenGradient: &dh0,
                          initialMemoryGradient: &dc0)
        }
        for i in gradients.indices {
            gradients[i] = Array(UnsafeBufferPointer(start: gradientPointers[i], count: gradients[i].count))
            gradientPointers[i].deallocate()
        }
        return Gradients(parameters: gradients, input: dx, initialHidden: dh0, initialCellState: c.cell == .lstm ? dc0 : nil)
    }

    private func run(input: [Double], steps: Int, batchSize: Int, lengths: [Int]?, initialHidden: [Double]?,
                     initialCellState: [Double]?, dropoutSeed: UInt64?) -> (output: Output, pass: RecurrentPass<Double>) {
        let c = configuration
        require(input.count == steps * batchSize * c.inputSize, "input must hold T·B·D = \(steps * batchSize * c.inputSize) values")
        let batch = SequenceBatch(steps: steps, batchSize: batchSize, lengths: lengths)
        let pass = RecurrentPass<Double>(configuration: c, batch: batch, keepsCache: true,
                                         settings: ComputeSettings(kernel: .portable, threadCount: 1))
        let stateCount = c.layers * c.directionCount * batchSize * c.hiddenSize
        var outputs = [Double](repeating: 0, count: steps * batchSize * c.outputSize)
        var hidden = [Double](repeating: 0, count: stateCount), cell = hidden
        var last = [Double](repeating: 0, count: batchSize * c.outputSize)
        var generator = dropoutSeed.map { SeededGenerator(seed: $0) }
        withDoubleWeights { weights in
            pass.forward(input: input, weights: weights, initialHidden: initialHidden,
                         initialMemory: c.cell == .lstm ? initialCellState : nil, dropoutGenerator: &generator,
                         output: &outputs, finalHidden: &hidden, finalMemory: &cell)
        }
        pass.mergeLast(finalHidden: hidden, into: &last)
        return (Output(outputs: outputs, last: last, hidden: hidden, cellState: c.cell == .lstm ? cell : nil), pass)
    }

    private func withDoubleWeights<R>(_ body: ([DirectionWeights<Double>]) -> R) -> R {
        let copies = parameters.map { values -> UnsafeMutablePointer<Double> in
            let pointer = UnsafeMutablePointer<Double>.allocate(capacity: max(1, values.count))
            pointer.initialize(from: values, count: values.count)
            return pointer
        }
        defer { copies.forEach { $0.deallocate() } }
        return body(DirectionWeights.grouping(copies.map { UnsafePointer($0) }))
    }
}
