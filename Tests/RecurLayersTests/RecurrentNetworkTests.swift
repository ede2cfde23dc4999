import Testing
@testable import RecurLayers
import RecurCore
import RecurTestSupport

@Suite("Recurrent network behaviour")
struct RecurrentNetworkTests {
    static func network(_ kind: CellKind, layers: Int = 2, bidirectional: Bool = true, dropout: Double = 0,
                        variational: Bool = false, inputSize: Int = 4, hiddenSize: Int = 5) -> RecurrentNetwork {
        var generator = SeededGenerator(seed: 3)
        return RecurrentNetwork(kind.configuration(inputSize: inputSize, hiddenSize: hiddenSize, layers: layers,
                                                   bidirectional: bidirectional, dropout: dropout,
                                                   variationalDropout: variational), using: &generator)
    }

    /// Each sequence of a ragged batch gives what it gives alone, cut to its length: padding influences
    /// nothing, the final state is the state at its own last step, and the reverse direction starts there.
    @Test("a ragged batch equals each sequence run alone", arguments: CellKind.all)
    func raggedEqualsAlone(_ kind: CellKind) {
        let network = Self.network(kind)
        let steps = 5, batchSize = 3, lengths = [2, 5, 3]
        var generator = SeededGenerator(seed: 9)
        var x = Tensor.normal([steps, batchSize, 4], using: &generator)
        for b in 0..<batchSize { for t in lengths[b]..<steps { for d in 0..<4 { x[element: t, b, d] = 1e6 } } }  // garbage padding
        let batch = network(x, lengths: lengths)
        for b in 0..<batchSize {
            let alone = Tensor(shape: [lengths[b], 1, 4]) { i in x[element: i / 4, b, i % 4] }
            let single = network(alone)
            for t in 0..<steps {
                for k in 0..<network.configuration.outputSize {
                    let expected = t < lengths[b] ? single.outputs[element: t, 0, k] : 0
                    #expect(abs(batch.outputs[element: t, b, k] - expected) <= 1e-6, "t \(t) b \(b) k \(k)")
                }
            }
            for index in 0..<4 {
                for k in 0..<5 {
                    #expect(abs(batch.state.hidden[element: index, b, k] - single.state.hidden[element: index, 0, k]) <= 1e-6)
                }
            }
            for k in 0..<network.configuration.outputSize {
                #expect(abs(batch.last[element: b, k] - single.last[element: 0, k]) <= 1e-6)
            }
        }
    }

    /// Small batches share each step's product between threads; 16 or more sequences are split between
    /// threads for the whole pass. Both must agree with the Float64 path.
    @Test("a sequence of length 0 keeps its initial state, outputs zeros and passes its state gradient through",
          arguments: CellKind.all)
    func emptySequence(_ kind: CellKind) {
        let network = Self.network(kind)
        var generator = SeededGenerator(seed: 10)
        let x = Tensor.normal([3, 2, 4], using: &generator)
        var initial = network.zeroState(batchSize: 2)
        initial.hidden = .normal(initial.hidden.shape, using: &generator)
        if initial.cellState != nil { initial.cellState = .normal(initial.hidden.shape, using: &generator) }
        let (y, tape) = network.forward(x, lengths: [3, 0], initialState: initial, dropoutGenerator: &generator)
        for t in 0..<3 { #expect(y.outputs[t][1].scalars.allSatisfy { $0 == 0 }) }
        for index in 0..<4 { #expect(y.state.hidden[index][1] == initial.hidden[index][1]) }
        let upstream = RecurrentState(hidden: .ones(initial.hidden.shape),
                                      cellState: initial.cellState.map { .ones($0.shape) })
        let gradient = network.backward(tape, finalStateGradient: upstream)
        // The last layer's state gradient reaches the empty sequence's initial state unchanged.
        #expect(gradient.initialState.hidden[3][1].scalars.allSatisfy { $0 == 1 })
        #expect(gradient.input!.scalars.allSatisfy { $0.isFinite })
        let nothing = network(Tensor.zeros([0, 2, 4]))
        #expect(nothing.outputs.shape == [0, 2, 10] && nothing.state.hidden.scalars.allSatisfy { $0 == 0 })
    }

    /// Ragged batches go through the packed layout; a dense one (every sequence T long) is read and written where
    /// the caller keeps it: the input and output gradient always, the input and output at inference.
    @Test("the Float32 path agrees with the Float64 check path", arguments: CellKind.all, [4, 19, -19])
    func floatAgreesWithFloat64(_ kind: CellKind, batchSize signedBatchSize: Int) {
        let network = Self.network(kind, inputSize: 7, hiddenSize: 33)
        let model = Float64Recurrent(network)
        let batchSize = abs(signedBatchSize), dense = signedBatchSize < 0
        let steps = 6, lengths = (0..<batchSize).map { dense ? 6 : [6, 2, 5, 1][$0 % 4] }
        let input = randomValues(steps * batchSize * 7, seed: 1)
        let upstream = randomValues(steps * batchSize * network.configuration.outputSize, seed: 2)
        var dropout = SeededGenerator(seed: 1)
        let (y, tape) = network.forward(Tensor(shape: [steps, batchSize, 7], scalars: floats(input)), lengths: lengths,
                                        dropoutGenerator: &dropout, settings: ComputeSettings(threadCount: 2))
        let gradient = network.backward(tape, outputGradient: Tensor(shape: y.outputs.shape, scalars: floats(upstream)))
        let reference = model.forward(input: input, steps: steps, batchSize: batchSize, lengths: lengths)
        let referenceGradient = model.gradients(input: input, steps: steps, batchSize: batchSize, lengths: lengths,
                                                outputGradient: upstream)
        expectRelativelyClose(doubles(y.outputs.scalars), reference.outputs, tolerance: 1e-5, floor: 1, "outputs")
        expectRelativelyClose(doubles(gradient.input!.scalars), referenceGradient.input, tolerance: 1e-5, floor: 1, "dx")
        for (parameter, expected) in zip(network.parameters, referenceGradient.parameters) {
            expectRelativelyClose(doubles(parameter.gradient.scalars), expected, tolerance: 1e-5, floor: 1, parameter.name)
        }
    }

    /// At inference a dense batch is read where the caller keeps it and, with one direction, the top layer writes
    /// the caller's output itself; two concatenated directions write their halves of the merged rows themselves,
    /// in the caller's output (dense) or the pass's own buffer (ragged, and every layer below the top). With a
    /// cache all of it goes through each direction's own buffers and a merge afterwards. The two must agree.
    @Test("inference equals the forward pass that keeps its cache, dense (in place) and ragged",
          arguments: CellKind.all, [false, true])
    func inferenceEqualsCachedForward(_ kind: CellKind, bidirectional: Bool) {
        let network = Self.network(kind, bidirectional: bidirectional, inputSize: 7, hiddenSize: 33)
        var generator = SeededGenerator(seed: 12)
        let x = Tensor.normal([5, 19, 7], using: &generator)
        let ragged = (0..<19).map { [5, 2, 4, 1][$0 % 4] }
        for (lengths, threads) in [(nil, 1), (nil, 2), (ragged, 1), (ragged, 2)] as [([Int]?, Int)] {
            let settings = ComputeSettings(threadCount: threads), comment = "\(lengths == nil ? "dense" : "ragged"), \(threads) threads"
            let inference = network(x, lengths: lengths, settings: settings)
            var unused = SeededGenerator(seed: 1)   // the network has no dropout
            let (training, _) = network.forward(x, lengths: lengths, dropoutGenerator: &unused, settings: settings)
            expectRelativelyClose(doubles(inference.outputs.scalars), doubles(training.outputs.scalars), tolerance: 1e-6,
                                  floor: 1, "outputs, \(comment)")
            expectRelativelyClose(doubles(inference.state.hidden.scalars), doubles(training.state.hidden.scalars),
                                  tolerance: 1e-6, floor: 1, "final states, \(comment)")
        }
    }

    /// Inference keeps the weights packed between calls; any change to a parameter, in place or by assignment, and
    /// a change of kernel must pack them again. A training pass (which packs its own) is the reference each time.
    @Test("inference's packed weights follow every change of the parameters and of the kernel", arguments: CellKind.all)
    func packedWeightsFollowChanges(_ kind: CellKind) {
        let network = Self.network(kind, inputSize: 6, hiddenSize: 9)
        var generator = SeededGenerator(seed: 14)
        let x = Tensor.normal([4, 3, 6], using: &generator)
        func expectInferenceMatchesTraining(_ comment: String, kernel: CPUKernel = .detected) -> Tensor {
            let settings = ComputeSettings(kernel: kernel, threadCount: 1)
            let inference = network(x, settings: settings).outputs
            var unused = SeededGenerator(seed: 1)   // the network has no dropout
            let training = network.forward(x, dropoutGenerator: &unused, settings: settings).output.outputs
            expectRelativelyClose(doubles(inference.scalars), doubles(training.scalars), tolerance: 1e-6, floor: 1, comment)
            return inference
        }
        let before = expectInferenceMatchesTraining("as initialized")
        let hiddenWeight = network.parameters[1], version = hiddenWeight.version
        hiddenWeight.value.withUnsafeMutableBufferPointer { w in for k in w.indices { w[k] *= 1.5 } }
        #expect(hiddenWeight.version != version, "an in-place change must count as a change")
        let changed = expectInferenceMatchesTraining("after an in-place change of \(hiddenWeight.name)")
        #expect(changed != before, "the change must show in the outputs")
        network.parameters[4].value = .normal(network.parameters[4].value.shape, using: &generator)
        let assigned = expectInferenceMatchesTraining("after assigning \(network.parameters[4].name)")
        #expect(assigned != changed)
        for kernel in CPUKernel.supported {
            _ = expectInferenceMatchesTraining("kernel \(kernel)", kernel: kernel)
        }
    }

    /// A dense training pass keeps using the caller's input and outputs in place; changing them between forward
    /// and backward (copy-on-write then copies) must not change the gradients.
    @Test("changing the input and outputs after a dense forward pass leaves backward's gradients the same",
          arguments: CellKind.all)
    func denseTrainingKeepsItsBuffers(_ kind: CellKind) {
        let network = Self.network(kind, bidirectional: false, inputSize: 7, hiddenSize: 33)
        var generator = SeededGenerator(seed: 13)
        let scalars = Tensor.normal([5, 19, 7], using: &generator).scalars
        var results: [[[Float]]] = []
        for overwrite in [false, true] {
            network.zeroGradients()
            var x = Tensor(shape: [5, 19, 7], scalars: scalars)   // its storage held by no one else
            var (y, tape) = network.forward(x, dropoutGenerator: &generator)
            let upstream = Tensor.ones(y.outputs.shape)
            if overwrite {
                x.withUnsafeMutableBufferPointer { $0.update(repeating: 1e3) }
                y.outputs.withUnsafeMutableBufferPointer { $0.update(repeating: -1e3) }
            }
            let gradient = network.backward(tape, outputGradient: upstream)
            results.append(network.parameters.map(\.gradient.scalars) + [gradient.input!.scalars])
        }
        #expect(results[0] == results[1])
        #expect(results[0][0].contains { $0 != 0 })
    }

    @Test("backward adds to parameter gradients")
    func gradientsAccumulate() {
        let network = Self.network(CellKind(cell: .lstm), bidirectional: false)
        var generator = SeededGenerator(seed: 4)
        let x = Tensor.normal([3, 2, 4], using: &generator)
        var once: [[Float]] = []
        for repeatCount in 1...2 {
            network.zeroGradients()
            for _ in 0..<repeatCount {
                let (y, tape) = network.forward(x, dropoutGenerator: &generator)
                _ = network.backward(tape, lastGradient: .ones(y.last.shape))
            }
            if repeatCount == 1 { once = network.parameters.map(\.gradient.scalars) }
        }
        for (parameter, single) in zip(network.parameters, once) {
            #expect(parameter.gradient.scalars == single.map { $0 + $0 }, "\(parameter.name)")
        }
        #expect(once[0].contains { $0 != 0 })
    }

    @Test("skipping the input gradient leaves every weight gradient the same")
    func withoutInputGradient() {
        let network = Self.network(CellKind(cell: .gru, gruVariant: .course))
        var generator = SeededGenerator(seed: 8)
        let x = Tensor.normal([4, 3, 4], using: &generator)
        var results: [[[Float]]] = []
        for needed in [true, false] {
            network.zeroGradients()
            let (y, tape) = network.forward(x, lengths: [4, 1, 3], dropoutGenerator: &generator)
            let gradient = network.backward(tape, outputGradient: .ones(y.outputs.shape), needsInputGradient: needed)
            #expect((gradient.input != nil) == needed)
            results.append(network.parameters.map(\.gradient.scalars))
        }
        #expect(results[0] == results[1])
    }

    /// On two threads a bidirectional layer runs its directions side by side, on one thread one after the other;
    /// outputs, states and every gradient must not differ in a single bit. H = 90 makes the LSTM's and GRU's gate
    /// width (360, 270) pass the products' 256-deep blocks, so dx is summed over several blocks per direction.
    @Test("bidirectional layers give the same bits with their directions side by side", arguments: CellKind.all)
    func directionsSideBySide(_ kind: CellKind) {
        let network = Self.network(kind, inputSize: 6, hiddenSize: 90)
        var generator = SeededGenerator(seed: 12)
        let x = Tensor.normal([5, 20, 6], using: &generator)
        let lengths = (0..<20).map { [5, 3, 1, 4][$0 % 4] }
        var initial = RecurrentState(hidden: .normal([4, 20, 90], using: &generator))
        if kind.cell == .lstm { initial.cellState = .normal([4, 20, 90], using: &generator) }
        let upstream = Tensor.normal([5, 20, 180], using: &generator)
        var results: [[[Float]]] = []
        for threads in [1, 2] {
            network.zeroGradients()
            var unused = SeededGenerator(seed: 1)   // the network has no dropout
            let (y, tape) = network.forward(x, lengths: lengths, initialState: initial, dropoutGenerator: &unused,
                                            settings: ComputeSettings(threadCount: threads))
            let gradient = network.backward(tape, outputGradient: upstream)
            var arrays = [y.outputs.scalars, y.state.hidden.scalars, gradient.input!.scalars,
                          gradient.initialState.hidden.scalars]
            if kind.cell == .lstm {
                arrays += [y.state.cellState!.scalars, gradient.initialState.cellState!.scalars]
            }
            results.append(arrays + network.parameters.map(\.gradient.scalars))
        }
        // Arrays: outputs, final h, dx, dh<0>, (LSTM: final c, dc<0>), then every parameter's gradient.
        for (index, (one, two)) in zip(results[0], results[1]).enumerated() {
            let identical = one == two
            #expect(identical, "array \(index) differs between one and two threads")
        }
        #expect(results[0][2].contains { $0 != 0 })
    }

    /// A row's sums must not depend on how many rows its product has: here, on two threads, the second thread's
    /// share has one or two live rows at the late steps (a matrix–vector product) where one thread has 21 or 22
    /// (tiles); and inference projects each step's input on its own where training projects every step at once.
    /// Outputs and final states must not differ in a single bit.
    @Test("outputs have the same bits on one and two threads, in inference and in training", arguments: CellKind.all)
    func sameBitsWhateverTheRows(_ kind: CellKind) {
        let network = Self.network(kind, bidirectional: false, inputSize: 7, hiddenSize: 20)
        var generator = SeededGenerator(seed: 14)
        let lengths = (0..<40).map { $0 < 21 ? 6 : $0 == 21 ? 5 : 3 }
        let x = Tensor.normal([6, 40, 7], using: &generator)
        var results: [[[Float]]] = []
        for threads in [1, 2] {
            let settings = ComputeSettings(threadCount: threads)
            let inferred = network(x, lengths: lengths, settings: settings)
            var unused = SeededGenerator(seed: 1)   // the network has no dropout
            let (trained, _) = network.forward(x, lengths: lengths, dropoutGenerator: &unused, settings: settings)
            results += [[inferred.outputs.scalars, inferred.state.hidden.scalars],
                        [trained.outputs.scalars, trained.state.hidden.scalars]]
        }
        for (index, result) in results.enumerated().dropFirst() {
            let mode = index % 2 == 0 ? "inference" : "training"
            #expect(result == results[0], "run \(index) (threads \(index / 2 + 1), \(mode)) differs")
        }
    }

    /// Training at the sizes where its serial parts are split between threads (W_hh packed by both, dW_ih added
    /// back from its transpose by both, since D = 65 is not a whole number of tile columns): every gradient must
    /// have the same bits on one and two threads.
    @Test("training gradients have the same bits on one and two threads where their serial parts are shared")
    func gradientsWhateverTheThreads() {
        let network = Self.network(CellKind(cell: .lstm), layers: 1, bidirectional: false, inputSize: 65, hiddenSize: 128)
        var generator = SeededGenerator(seed: 16)
        let x = Tensor.normal([3, 16, 65], using: &generator)
        let upstream = Tensor.normal([3, 16, 128], using: &generator)
        var results: [[[Float]]] = []
        for threads in [1, 2] {
            network.zeroGradients()
            var unused = SeededGenerator(seed: 1)   // the network has no dropout
            let settings = ComputeSettings(threadCount: threads)
            let (_, tape) = network.forward(x, dropoutGenerator: &unused, settings: settings)
            _ = network.backward(tape, outputGradient: upstream)
            results.append(network.parameters.map(\.gradient.scalars))
        }
        #expect(results[0] == results[1])
        #expect(results[0][0].contains { $0 != 0 })
    }

    /// Inference projects each step's input at its step unless W_ih is too big to read at every step; then it
    /// projects every step at once, as training does. Both must give training's bits.
    @Test("inference with a W_ih too big to project step by step gives training's bits")
    func inferenceWithLargeInputWeight() {
        let inputSize = RecurrentDirection<Float>.eachStepProjectionLimit / (4 * 8 * 4) + 1   // W_ih [4H, D]: just over
        let network = Self.network(CellKind(cell: .lstm), layers: 1, bidirectional: true, inputSize: inputSize, hiddenSize: 8)
        let configuration = network.configuration
        let batch = SequenceBatch(steps: 4, batchSize: 20, lengths: nil)
        let direction = RecurrentDirection<Float>(configuration: configuration, layer: 0, reverse: false, batch: batch,
                                                  keepsCache: false, settings: .current)
        #expect(!direction.projectsEachStep)
        var generator = SeededGenerator(seed: 15)
        let x = Tensor.normal([4, 20, inputSize], using: &generator)
        let lengths = (0..<20).map { 4 - $0 % 3 }
        for threads in [1, 2] {
            let settings = ComputeSettings(threadCount: threads)
            let inferred = network(x, lengths: lengths, settings: settings)
            var unused = SeededGenerator(seed: 1)   // the network has no dropout
            let (trained, _) = network.forward(x, lengths: lengths, dropoutGenerator: &unused, settings: settings)
            #expect(inferred.outputs.scalars == trained.outputs.scalars, "threads \(threads)")
            #expect(inferred.state.hidden.scalars == trained.state.hidden.scalars, "threads \(threads)")
        }
    }

    @Test("the workspace reuses a pass's buffers, within its limit, and passes over reused memory are exact")
    func workspace() {
        let pool = Workspace(limit: 4096)
        var first: UnsafeMutablePointer<Float>? = nil
        do {
            let buffer = ScalarBuffer<Float>(count: 100, workspace: pool)
            first = buffer.pointer
        }
        #expect(pool.keptBytes == 400)
        let reused = ScalarBuffer<Float>(count: 60, workspace: pool)              // at least half the kept size
        #expect(reused.pointer == first && reused.pointer[59] == 0 && pool.keptBytes == 0)
        let fresh = ScalarBuffer<Float>(count: 2000, workspace: pool)
        _ = fresh
        let tooBig = ScalarBuffer<Float>(count: 5000, workspace: pool)           // 20 000 bytes: over the limit, freed
        _ = tooBig

        let network = Self.network(CellKind(cell: .lstm))
        var generator = SeededGenerator(seed: 12)
        let x = Tensor.normal([5, 3, 4], using: &generator)
        let runs = (0..<3).map { _ in network(x, lengths: [5, 2, 4]).outputs }
        #expect(network.workspace.keptBytes > 0)
        #expect(runs[0] == runs[1] && runs[1] == runs[2])
        network.workspace.release()
        #expect(network.workspace.keptBytes == 0)
    }

    @Test("stepping one step at a time equals running the sequence", arguments: CellKind.all)
    func stepperMatchesSequence(_ kind: CellKind) {
        let network = Self.network(kind, bidirectional: false)
        var generator = SeededGenerator(seed: 5)
        let x = Tensor.normal([4, 2, 4], using: &generator)
        let whole = network(x)
        let stepper = RecurrentStepper(network, batchSize: 2)
        for t in 0..<4 {
            let y = stepper.step(x[t])
            expectRelativelyClose(doubles(y.scalars), doubles(whole.outputs[t].scalars), tolerance: 1e-6, floor: 1, "step \(t)")
        }
        #expect(stepper.state.hidden.scalars.map(Double.init).elementsEqual(doubles(whole.state.hidden.scalars)) {
            abs($0 - $1) <= 1e-6 })
        stepper.reset()
        #expect(stepper.state.hidden.scalars.allSatisfy { $0 == 0 })
    }

    /// Sizes where the one-row products take the matrix–vector path and the weights span several packed blocks.
    @Test("stepping equals running the sequence at batch 1 and larger sizes", arguments: [(64, 256, 1), (3, 300, 1), (65, 128, 3)])
    func stepperLargerSizes(_ inputSize: Int, _ hiddenSize: Int, _ batchSize: Int) {
        var generator = SeededGenerator(seed: 6)
        let network = RecurrentNetwork(RecurrentConfiguration(cell: .lstm, inputSize: inputSize, hiddenSize: hiddenSize, layers: 2),
                                       using: &generator)
        let x = Tensor.normal([3, batchSize, inputSize], using: &generator)
        let whole = network(x)
        let stepper = RecurrentStepper(network, batchSize: batchSize)
        for t in 0..<3 {
            let y = stepper.step(x[t])
            expectRelativelyClose(doubles(y.scalars), doubles(whole.outputs[t].scalars), tolerance: 1e-5, floor: 1, "step \(t)")
        }
    }

    @Test("dropout: seeded, off for inference, variational masks shared across time")
    func dropout() {
        for variational in [false, true] {
            let network = Self.network(CellKind(cell: .gru), layers: 3, dropout: 0.5, variational: variational)
            var generator = SeededGenerator(seed: 6)
            let x = Tensor.normal([4, 3, 4], using: &generator)
            var first = SeededGenerator(seed: 1), second = SeededGenerator(seed: 1), third = SeededGenerator(seed: 2)
            let a = network.forward(x, lengths: [4, 2, 3], dropoutGenerator: &first)
            let b = network.forward(x, lengths: [4, 2, 3], dropoutGenerator: &second)
            let c = network.forward(x, lengths: [4, 2, 3], dropoutGenerator: &third)
            #expect(a.output.outputs == b.output.outputs)
            #expect(a.output.outputs != c.output.outputs)
            #expect(network(x, lengths: [4, 2, 3]).outputs == network(x, lengths: [4, 2, 3]).outputs)
            #expect(network(x, lengths: [4, 2, 3]).outputs != a.output.outputs)
            let pass = a.tape.pass
            for layer in 1..<3 {
                let mask = pass.masks[layer]!, width = network.configuration.outputSize
                let zeros = (0..<mask.count).filter { mask.pointer[$0] == 0 }.count
                #expect(zeros > mask.count / 4 && zeros < 3 * mask.count / 4, "about half dropped, got \(zeros) of \(mask.count)")
                // Sequence order[0] (the longest) is row 0 of every step.
                let rowsAgree = (1..<4).allSatisfy { t in
                    (0..<width).allSatisfy { k in mask.pointer[pass.batch.offsets[t] * width + k] == mask.pointer[k] }
                }
                #expect(rowsAgree == variational, "variational \(variational), layer \(layer)")
            }
        }
    }

    @Test("weights move to and from PyTorch's state dict by name")
    func pytorchStateDictionary() throws {
        let network = Self.network(CellKind(cell: .lstm))
        let names = try network.pytorchStateDictionary().map(\.name)
        #expect(names == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
                          "weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse", "bias_hh_l0_reverse",
                          "weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1",
                          "weight_ih_l1_reverse", "weight_hh_l1_reverse", "bias_ih_l1_reverse", "bias_hh_l1_reverse"])
        #expect(network.pytorchModule == "nn.LSTM(4, 5, num_layers=2, bidirectional=True)")
        let other = Self.network(CellKind(cell: .lstm))
        var generator = SeededGenerator(seed: 99)
        other.parameters.forEach { $0.value = .normal($0.value.shape, using: &generator) }
        var dictionary = Dictionary(uniqueKeysWithValues: try other.pytorchStateDictionary().map { ($0.name, $0.tensor) })
        try network.loadPyTorchStateDictionary(dictionary)
        #expect(zip(network.parameters, other.parameters).allSatisfy { $0.value == $1.value })

        dictionary["weight_hh_l1"] = .zeros([3, 3])
        #expect(throws: RecurrentWeightError.shapeMismatch("weight_hh_l1", expected: [20, 5], found: [3, 3])) {
            try network.loadPyTorchStateDictionary(dictionary)
        }
        dictionary["weight_hh_l1"] = nil
        #expect(throws: RecurrentWeightError.missing("weight_hh_l1")) { try network.loadPyTorchStateDictionary(dictionary) }
        #expect(zip(network.parameters, other.parameters).allSatisfy { $0.value == $1.value }, "nothing changed")

        let course = Self.network(CellKind(cell: .gru, gruVariant: .course))
        #expect {
            _ = try course.pytorchStateDictionary()
        } throws: { error in
            "\(error)".contains("linear_before_reset=0")
        }
    }

    @Test("initialization: uniform ±1/√H, LSTM forget bias 1 in bias_ih")
    func initialization() {
        let network = Self.network(CellKind(cell: .lstm), layers: 1, bidirectional: false, hiddenSize: 16)
        let bound: Float = 0.25
        for parameter in network.parameters {
            let values = parameter.name == "bias_ih_l0" ? Array(parameter.value.scalars[0..<16] + parameter.value.scalars[32...])
                                                        : parameter.value.scalars
            #expect(values.allSatisfy { abs($0) <= bound }, "\(parameter.name)")
        }
        let biasIH = network.parameters[2].value.scalars, biasHH = network.parameters[3].value.scalars
        #expect(biasIH[16..<32].allSatisfy { $0 == 1 } && biasHH[16..<32].allSatisfy { $0 == 0 })
        #expect(biasIH[0..<16].contains { $0 != 0 && $0 != 1 })
    }

    @Test("the README's example runs and gives the shapes it states")
    func readmeExample() {
        var generator = SeededGenerator(seed: 42)
        let lstm = RecurrentNetwork(
            RecurrentConfiguration(cell: .lstm, inputSize: 4, hiddenSize: 5, layers: 2, bidirectional: true),
            using: &generator)
        let x = Tensor.normal([3, 2, 4], using: &generator)
        let y = lstm(x, lengths: [3, 1])
        #expect(y.outputs.shape == [3, 2, 10] && y.last.shape == [2, 10] && y.state.hidden.shape == [4, 2, 5])
        var dropout = SeededGenerator(seed: 1)
        let (output, tape) = lstm.forward(x, lengths: [3, 1], dropoutGenerator: &dropout)
        let gradient = lstm.backward(tape, lastGradient: .ones(output.last.shape))
        #expect(gradient.input?.shape == [3, 2, 4] && gradient.initialState.hidden.shape == [4, 2, 5])
        #expect(lstm.parameters.allSatisfy { $0.gradient.scalars.contains { $0 != 0 } })
    }

    @Test("the basic RNN needs tanh or relu; bad configurations list their problems")
    func configurationProblems() {
        var c = RecurrentConfiguration(cell: .rnn, inputSize: 0, hiddenSize: 3, layers: 0, dropout: 1)
        c.activation = .sigmoid
        #expect(c.problems.count == 4)
        #expect(RecurrentConfiguration(cell: .gru, inputSize: 1, hiddenSize: 1).problems.isEmpty)
    }
}
