import CRecurKernels
import RecurCore

/// W_ih [G, D], W_hh [G, H], b_ih [G], b_hh [G] of one layer and direction, in PyTorch's layout and gate order.
struct DirectionWeights<S: RecurrentScalar> {
    let inputWeight: UnsafePointer<S>
    let hiddenWeight: UnsafePointer<S>
    let inputBias: UnsafePointer<S>
    let hiddenBias: UnsafePointer<S>
}

extension DirectionWeights {
    /// Groups pointers to (weight_ih, weight_hh, bias_ih, bias_hh, weight_ih, …) by layer and direction.
    static func grouping(_ pointers: [UnsafePointer<S>]) -> [DirectionWeights] {
        stride(from: 0, to: pointers.count, by: 4).map { i in
            DirectionWeights(inputWeight: pointers[i], hiddenWeight: pointers[i + 1], inputBias: pointers[i + 2],
                             hiddenBias: pointers[i + 3])
        }
    }
}

/// One layer and direction's weights prepared for the products of a forward pass.
struct PreparedDirection<S: RecurrentScalar> {
    /// op(B) = W_ihᵀ, [D, G].
    let input: S.PreparedMatrix
    /// op(B) = W_hhᵀ, [H, G] (course GRU: [H, 2H] and [H, H]).
    let recurrent: [S.PreparedMatrix]
}

extension PreparedDirection: Sendable where S.PreparedMatrix: Sendable {}

/// Where the gradients of one layer and direction's weights are added up; same shapes as `DirectionWeights`.
struct DirectionWeightGradients<S: RecurrentScalar> {
    let inputWeight: UnsafeMutablePointer<S>
    let hiddenWeight: UnsafeMutablePointer<S>
    let inputBias: UnsafeMutablePointer<S>
    let hiddenBias: UnsafeMutablePointer<S>

    /// Groups pointers in parameter order by layer and direction, as `DirectionWeights.grouping`.
    static func grouping(_ pointers: [UnsafeMutablePointer<S>]) -> [DirectionWeightGradients] {
        stride(from: 0, to: pointers.count, by: 4).map { i in
            DirectionWeightGradients(inputWeight: pointers[i], hiddenWeight: pointers[i + 1], inputBias: pointers[i + 2],
                                     hiddenBias: pointers[i + 3])
        }
    }
}

/// One layer run in one direction over a packed batch (see `SequenceBatch`), forward and backward through time.
///
/// Time-independent work is hoisted out of the loop: the input projection x·W_ihᵀ of every step is one matrix
/// product before it, and dW_ih, dW_hh, the biases' gradients and dx are one product each after the backward
/// loop. Inside the loop each step multiplies only the n_t live rows of the state by W_hh, packed once per pass
/// (or once for as long as the weights stay the same: `prepared`).
///
/// The reverse direction walks t = T−1 … 0; a sequence joins when t reaches its own last step, with its
/// initial state, so it starts from its own end, not from the padding. The cell equations live in
/// `RecurrentDirection+RNN.swift`, `+GRU.swift` and `+LSTM.swift`, each forward beside its backward.
final class RecurrentDirection<S: RecurrentScalar> {
    let configuration: RecurrentConfiguration
    let batch: SequenceBatch
    let reverse: Bool
    /// D of this layer.
    let inputSize: Int
    /// H.
    let hiddenSize: Int
    /// G.
    let gateWidth: Int
    let keepsCache: Bool
    let settings: ComputeSettings
    /// Each step computes its own rows of the input projection `x<t>`·W_ihᵀ just before its recurrent product, instead
    /// of one product for every step before the loop: only without a cache (which keeps every step's gates), and
    /// only while W_ih is small enough to be read again at every step (see `forwardLoop`).
    let projectsEachStep: Bool
    /// Largest W_ih, in bytes, that `projectsEachStep` reads at every step.
    static var eachStepProjectionLimit: Int { 1 << 20 }

    /// [N, G] (or [B, G] when `projectsEachStep`): first the projection W_ih x (the biases are added where each
    /// step reads it), then, step by step, its pre-activations (W_ih x + W_hh h) and, with a cache, the activated
    /// gates (not the RNN's: its output is its activation).
    let gates: ScalarBuffer<S>
    /// [N, H]: `h<t>` of every live row, rows `outputStride` apart.
    let output: ScalarBuffer<S>
    /// H, or 2H when `output` is one direction's half of a concatenated bidirectional output (inference only).
    let outputStride: Int
    /// [B, H], rows in `batch.order`: the running state; after the forward loop, each sequence's final state.
    let hidden: ScalarBuffer<S>
    /// [B, H], rows in `batch.order`: the LSTM's memory cell c (empty for other cells).
    let memory: ScalarBuffer<S>

    // What the backward pass reads (kept only with `keepsCache`), and the forward's per-step scratch.
    /// [N, H]: the state each row started its step from, `h<t-1>`.
    let previousHidden: ScalarBuffer<S>
    /// [N, H] LSTM: `c<t-1>` of each row.
    let previousMemory: ScalarBuffer<S>
    /// [N, H] LSTM: tanh(`c<t>`) (only with a cache).
    let memoryTanh: ScalarBuffer<S>
    /// [N, G] PyTorch GRU: W_hh `h<t-1>` (+ b_hn in the n block) ([B, G] scratch without cache).
    let hiddenGates: ScalarBuffer<S>
    /// [N, H] course GRU: Γr * `c<t-1>` ([B, H] scratch without cache); [B, 2H] scratch for the gate product.
    let resetHidden: ScalarBuffer<S>
    let gateScratch: ScalarBuffer<S>

    let workspace: Workspace?
    /// dL/d(gate pre-activations) [N, G] of a backward pass that left dx for later (`addInputGradient`).
    private var deferredGateGradients: ScalarBuffer<S>?

    /// - Parameters:
    ///   - outputStorage: where to write `output` ([N, H]) instead of a buffer of its own.
    ///   - outputStride: the distance between its rows: H (nil), or 2H for one half of a concatenated
    ///     bidirectional output, which a pass without a cache writes in place instead of merging afterwards.
    init(configuration: RecurrentConfiguration, layer: Int, reverse: Bool, batch: SequenceBatch,
         keepsCache: Bool, settings: ComputeSettings, workspace: Workspace? = nil,
         outputStorage: UnsafeMutablePointer<S>? = nil, outputStride: Int? = nil) {
        self.workspace = workspace
        self.configuration = configuration
        self.batch = batch
        self.reverse = reverse
        self.keepsCache = keepsCache
        self.settings = settings
        inputSize = configuration.inputSize(ofLayer: layer)
        hiddenSize = configuration.hiddenSize
        gateWidth = configuration.gateWidth
        let rows = batch.rowCount, b = batch.batchSize, h = hiddenSize, g = gateWidth
        let cell = configuration.cell, course = configuration.gruVariant == .course
        projectsEachStep = !keepsCache && inputSize * g * MemoryLayout<S>.stride <= Self.eachStepProjectionLimit
        // Written by the input projection before it is read.
        gates = ScalarBuffer(uninitializedCount: (projectsEachStep ? b : rows) * g, workspace: workspace)
        // The backward pass reads `output` (the RNN's activations) as [N, H]: only a pass without one spaces its rows.
        let stride = outputStride ?? h
        require(stride == h || (outputStorage != nil && !keepsCache && stride >= h),
                "a direction's output rows are H apart unless it writes into a wider output without a cache")
        self.outputStride = stride
        output = outputStorage.map { ScalarBuffer(borrowing: $0, count: rows == 0 ? 0 : (rows - 1) * stride + h) }   // every live row written once
            ?? ScalarBuffer(uninitializedCount: rows * h, workspace: workspace)
        hidden = ScalarBuffer(count: b * h, workspace: workspace)
        memory = ScalarBuffer(count: cell == .lstm ? b * h : 0, workspace: workspace)
        let perStep = keepsCache ? rows : b
        previousHidden = ScalarBuffer(uninitializedCount: keepsCache ? rows * h : 0, workspace: workspace)
        previousMemory = ScalarBuffer(uninitializedCount: keepsCache && cell == .lstm ? rows * h : 0, workspace: workspace)
        memoryTanh = ScalarBuffer(uninitializedCount: keepsCache && cell == .lstm ? rows * h : 0, workspace: workspace)
        hiddenGates = ScalarBuffer(uninitializedCount: cell == .gru && !course ? perStep * g : 0, workspace: workspace)
        resetHidden = ScalarBuffer(uninitializedCount: cell == .gru && course ? perStep * h : 0, workspace: workspace)
        gateScratch = ScalarBuffer(count: cell == .gru && course ? b * 2 * h : 0, workspace: workspace)
    }

    /// The rows of one step that one thread works on.
    struct StepRows {
        /// The step.
        let time: Int
        /// First state row (in `batch.order`) and first packed row of the step's live rows handled here.
        let first: Int, packedFirst: Int
        /// How many rows.
        let count: Int
        /// Threads the step's own products and loops may use: 1 when the batch is split across threads.
        let settings: ComputeSettings
    }

    /// The step's rows of a per-step buffer: its own rows with a cache, the matching rows of the [B, width]
    /// scratch without.
    func stepRows(_ buffer: ScalarBuffer<S>, _ rows: StepRows, width: Int) -> UnsafeMutablePointer<S> {
        buffer.pointer + (keepsCache ? rows.packedFirst : rows.first) * width
    }

    /// The step's rows of `gates`.
    func stepGates(_ rows: StepRows) -> UnsafeMutablePointer<S> {
        gates.pointer + (projectsEachStep ? rows.first : rows.packedFirst) * gateWidth
    }

    /// Calls `body` on consecutive ranges covering 0..<n, one per thread when the rows are many enough to share.
    func forEachRowBlock(_ n: Int, settings: ComputeSettings, _ body: (Range<Int>) -> Void) {
        let parts = n * hiddenSize >= 8192 ? min(settings.threadCount, n) : 1
        if parts <= 1 { body(0..<n); return }
        parallelFor(parts) { part in body((n * part / parts)..<(n * (part + 1) / parts)) }
    }

    /// One direction's loop over its steps: the steps in the order it takes them, what to start loading before
    /// each (see `forEachStep`), and the step itself.
    struct StepLoop {
        let direction: RecurrentDirection
        let order: [Int]
        let upcoming: (StepRows) -> Void
        let step: (StepRows) -> Void

        /// Runs the loop on the direction's own threads (`forEachStep`).
        func run() { direction.forEachStep(order, upcoming: upcoming, step) }
    }

    /// Runs `step(rows)` for every step in `order` (`rows.time`). Sequences never interact, so with enough of them
    /// each thread takes a share of the batch through all steps on its own, without waiting for the others at each
    /// step (the shares are rebalanced as they go, see `RowShares`); a small batch instead shares each step's
    /// product between the threads.
    ///
    /// Before each step, `upcoming(rows)` is told the rows of the step after it, to start loading what that
    /// step reads: arrays of T·B rows are written or read long before (or after) their step comes, so they
    /// are out of cache by then, and a matrix-product tile stalls on every miss.
    func forEachStep(_ order: [Int], upcoming: (StepRows) -> Void = { _ in }, _ step: (StepRows) -> Void) {
        let b = batch.batchSize, threads = settings.threadCount, minimumRows = Self.minimumShareRows
        if threads > 1 && b >= 2 * minimumRows {
            let parts = min(threads, b / minimumRows)
            withoutActuallyEscaping(upcoming) { upcoming in
                withoutActuallyEscaping(step) { step in
                    let loop = StepLoop(direction: self, order: order, upcoming: upcoming, step: step)
                    Self.run([loop], shares: (0..<parts).map { part in
                        RowShares.Share(loop: 0, rows: (b * part / parts)..<(b * (part + 1) / parts))
                    }, minimumRows: minimumRows)
                }
            }
        } else {
            let live = order.filter { batch.activeCounts[$0] > 0 }
            func rows(_ t: Int) -> StepRows {
                StepRows(time: t, first: 0, packedFirst: batch.offsets[t], count: batch.activeCounts[t], settings: settings)
            }
            for (index, t) in live.enumerated() {
                if index + 1 < live.count { upcoming(rows(live[index + 1])) }
                step(rows(t))
            }
        }
    }

    /// Runs the loops of directions over the same batch side by side, one thread each over the whole batch
    /// (their products on that thread alone), as `forEachStep` runs one direction's shares: a thread that has
    /// run all its steps takes over rows of a loop that has more left. Every direction must have its buffers
    /// ready for every step (its input projection done) before this is called.
    static func forEachStep(sideBySide loops: [StepLoop]) {
        guard let batch = loops.first?.direction.batch else { return }
        run(loops, shares: loops.indices.map { RowShares.Share(loop: $0, rows: 0..<batch.batchSize) },
            minimumRows: minimumShareRows)
    }

    /// The fewest rows a thread's share of a batch has, and so the fewest a thread takes over from another.
    static var minimumShareRows: Int { 8 }

    /// Each part starts on its share and goes on as `RowShares` hands out rows; products run on one thread.
    private static func run(_ loops: [StepLoop], shares initial: [RowShares.Share], minimumRows: Int) {
        let steps = loops[0].order.count
        require(loops.allSatisfy { $0.order.count == steps }, "loops run together take the same number of steps")
        let shares = RowShares(initial, stepCount: steps, minimumRows: minimumRows)
        parallelFor(initial.count) { part in
            var index = 0
            while true {
                let share = shares.share(of: part, at: index)
                if index == steps {
                    guard let from = shares.take(for: part) else { break }
                    index = from
                    continue
                }
                let loop = loops[share.loop]
                if let current = loop.direction.rows(loop.order[index], share.rows) {
                    if index + 1 < steps, let next = loop.direction.rows(loop.order[index + 1], share.rows) {
                        loop.upcoming(next)
                    }
                    loop.step(current)
                }
                index += 1
            }
        }
    }

    /// The live rows of step t among `share` (state rows, in `batch.order`), run on one thread; nil if none.
    private func rows(_ t: Int, _ share: Range<Int>) -> StepRows? {
        let n = min(batch.activeCounts[t], share.upperBound)
        if n <= share.lowerBound { return nil }
        var single = settings
        single.threadCount = 1
        return StepRows(time: t, first: share.lowerBound, packedFirst: batch.offsets[t] + share.lowerBound,
                        count: n - share.lowerBound, settings: single)
    }

    /// Starts loading `width` columns of the step's rows of `buffer` (its packed rows) into the caches.
    func prefetch(_ buffer: ScalarBuffer<S>, _ rows: StepRows, width: Int, forWriting: Bool) {
        guard buffer.count > 0 else { return }
        recur_prefetch(buffer.pointer + rows.packedFirst * width, rows.count * width * MemoryLayout<S>.stride,
                       forWriting ? 1 : 0)
    }

    /// Starts loading the step's rows of `output` into the caches for writing (only each row's H floats of a
    /// wider output).
    func prefetchOutput(_ rows: StepRows) {
        let h = hiddenSize, bytes = h * MemoryLayout<S>.stride, first = output.pointer + rows.packedFirst * outputStride
        if outputStride == h {
            recur_prefetch(first, rows.count * bytes, 1)
        } else {
            for row in 0..<rows.count { recur_prefetch(first + row * outputStride, bytes, 1) }
        }
    }

    /// A step's rows of the input, `x<t>` [m, D], and W_ihᵀ, for a step that projects its own input (`projectsEachStep`).
    struct StepProjection {
        let input: UnsafePointer<S>
        let weight: S.PreparedMatrix
    }

    /// The step's pre-activations z [m, G] (rows G apart), less the biases: z += `a<t-1>`·W_hhᵀ onto the projection
    /// computed before the loop, or, given the step's `projection`, z = `x<t>`·W_ihᵀ + `a<t-1>`·W_hhᵀ in one pass.
    func addRecurrentProduct(_ rows: StepRows, projection: StepProjection?, recurrent: S.PreparedMatrix,
                             into z: UnsafeMutablePointer<S>) {
        let h = hiddenSize, g = gateWidth, a = hidden.pointer + rows.first * h
        if let projection {
            S.multiply(m: rows.count, a: projection.input, lda: inputSize, prepared: projection.weight, plus: a, lda: h,
                       prepared: recurrent, c: z, ldc: g, accumulate: false, settings: rows.settings)
        } else {
            S.multiply(m: rows.count, a: a, lda: h, prepared: recurrent, c: z, ldc: g, accumulate: true,
                       settings: rows.settings)
        }
    }

    /// Steps in the order the forward pass takes them.
    var forwardSteps: [Int] { reverse ? Array((0..<batch.steps).reversed()) : Array(0..<batch.steps) }

    // MARK: - Forward

    /// The forward pass over the whole batch, in two parts: what comes before its loop (the input projection of
    /// every step, unless `projectsEachStep`; the initial state) is done here, and the loop is returned, to `run()`
    /// alone or side by side with another direction's (`forEachStep(sideBySide:)`).
    /// - Parameters:
    ///   - x: packed input, [N, D].
    ///   - initialHidden: `h<0>` per sequence, [B, H] in `batch.order` (nil: zeros). `initialMemory` likewise (LSTM).
    ///   - prepared: W_ihᵀ and W_hhᵀ prepared beforehand (by `prepare`), for passes of one step; nil: prepared here.
    func forwardLoop(input x: UnsafePointer<S>, weights w: DirectionWeights<S>, prepared: PreparedDirection<S>? = nil,
                     initialHidden: UnsafePointer<S>?, initialMemory: UnsafePointer<S>?) -> StepLoop {
        let rows = batch.rowCount, h = hiddenSize, g = gateWidth, d = inputSize
        // gates = x·W_ihᵀ (the biases are added step by step, below), [N, D]·[D, G]: for every step at once, or, when
        // `projectsEachStep`, each step's rows just before its recurrent product, which then adds to rows still in
        // cache rather than to rows written long before, and only [B, G] of gates is kept. Measured against one
        // product before the loop, best of 5–8 alternating rounds: C6 inference +2.8 to +4.2 % on one thread, +1.3 %
        // on two, peak RSS 110 → 48 MB; C3 and C4 inference within ±2.5 %. Without the limit on W_ih, C1 inference
        // lost 2–3 % on two threads: its second layer's W_ih, 4 MB, read at every step doubles what a step reads from
        // L3. Each row's sums are the same either way, so the results are too.
        var input: S.PreparedMatrix? = nil
        if projectsEachStep {
            input = prepared?.input ?? S.prepare(w.inputWeight, rows: d, columns: g, ldb: d, transposed: true,
                                                 settings: settings)
        } else if let prepared {
            S.multiply(m: rows, a: x, lda: d, prepared: prepared.input, c: gates.pointer, ldc: g,
                       accumulate: false, settings: settings)
        } else {
            S.multiply(m: rows, n: g, k: d, a: x, lda: d, transposeA: false,
                       b: w.inputWeight, ldb: d, transposeB: true, c: gates.pointer, ldc: g,
                       accumulate: false, settings: settings)
        }
        let bias = ScalarBuffer<S>(uninitializedCount: g, workspace: workspace)   // every element written below
        writeTimeIndependentBias(w, into: bias.pointer)
        if let initialHidden { hidden.pointer.update(from: initialHidden, count: batch.batchSize * h) }
        if let initialMemory, configuration.cell == .lstm {
            memory.pointer.update(from: initialMemory, count: batch.batchSize * h)
        }
        let recurrent = prepared?.recurrent ?? Self.prepareRecurrent(configuration, w, settings: settings)
        let pytorchGRUCache = keepsCache && configuration.cell == .gru && configuration.gruVariant == .pytorch
        let prefetchesOutput = rows * h * MemoryLayout<S>.stride >= 4 << 20
        let upcoming = { (rows: StepRows) in
            if input == nil {
                self.prefetch(self.gates, rows, width: g, forWriting: true)
            } else {
                recur_prefetch(x + rows.packedFirst * d, rows.count * d * MemoryLayout<S>.stride, 0)
            }
            if pytorchGRUCache { self.prefetch(self.hiddenGates, rows, width: g, forWriting: true) }
            // The output rows are written once and not read back here. When the output is larger than the caches,
            // each store of the cells' kernels waited for its line to come from memory (C3 inference, 13 MB: half
            // the RNN kernel's cycles, 3.7 → 2.2 % with the prefetch); a small one is still cached from the pass
            // before, and prefetching it only costs instructions (C4 inference, 0.8 MB: 1.3 % more cycles).
            if prefetchesOutput { self.prefetchOutput(rows) }
        }
        // The biases are added step by step, where the gates are read (by the cells' pointwise kernels).
        // Each cell's pointwise kernel writes the new state twice, to `hidden` and to the step's rows of `output`.
        return StepLoop(direction: self, order: forwardSteps, upcoming: upcoming) { [self] rows in
            let b = UnsafePointer(bias.pointer)   // the closure keeps the buffer
            // The LSTM and the RNN add their recurrent product to the whole of the projection: the two share a pass.
            let projection = input.map { StepProjection(input: x + rows.packedFirst * d, weight: $0) }
            if let input, configuration.cell == .gru {
                S.multiply(m: rows.count, a: x + rows.packedFirst * d, lda: d, prepared: input, c: stepGates(rows), ldc: g,
                           accumulate: false, settings: rows.settings)
            }
            if keepsCache {
                (previousHidden.pointer + rows.packedFirst * h).update(from: hidden.pointer + rows.first * h,
                                                                       count: rows.count * h)
            }
            let out = output.pointer + rows.packedFirst * outputStride
            switch configuration.cell {
            case .rnn: rnnForwardStep(rows, projection: projection, recurrent: recurrent, bias: b, output: out)
            case .lstm: lstmForwardStep(rows, projection: projection, recurrent: recurrent, bias: b, output: out)
            case .gru:
                if configuration.gruVariant == .course {
                    courseGRUForwardStep(rows, recurrent: recurrent, bias: b, output: out)
                } else {
                    pytorchGRUForwardStep(rows, recurrent: recurrent, bias: b, weights: w, output: out)
                }
            }
        }
    }

    /// bias[j] = b_ih + b_hh for j < G, except that PyTorch's GRU keeps b_hn for inside r * (W_hn h + b_hn).
    private func writeTimeIndependentBias(_ w: DirectionWeights<S>, into bias: UnsafeMutablePointer<S>) {
        let h = hiddenSize, keepsHiddenN = configuration.cell == .gru && configuration.gruVariant == .pytorch
        for j in 0..<gateWidth { bias[j] = w.inputBias[j] + (keepsHiddenN && j >= 2 * h ? 0 : w.hiddenBias[j]) }
    }

    /// W_ihᵀ and W_hhᵀ prepared for the forward products.
    static func prepare(_ configuration: RecurrentConfiguration, layer: Int, _ w: DirectionWeights<S>,
                        settings: ComputeSettings) -> PreparedDirection<S> {
        let d = configuration.inputSize(ofLayer: layer)
        return PreparedDirection(
            input: S.prepare(w.inputWeight, rows: d, columns: configuration.gateWidth, ldb: d, transposed: true,
                             settings: settings),
            recurrent: prepareRecurrent(configuration, w, settings: settings))
    }

    /// op(B) = W_hhᵀ packed for h·W_hhᵀ; the course GRU packs its gate rows [Γr; Γu] and its candidate rows apart.
    static func prepareRecurrent(_ configuration: RecurrentConfiguration, _ w: DirectionWeights<S>,
                                 settings: ComputeSettings) -> [S.PreparedMatrix] {
        let h = configuration.hiddenSize
        if configuration.cell == .gru && configuration.gruVariant == .course {
            return [S.prepare(w.hiddenWeight, rows: h, columns: 2 * h, ldb: h, transposed: true, settings: settings),
                    S.prepare(w.hiddenWeight + 2 * h * h, rows: h, columns: h, ldb: h, transposed: true, settings: settings)]
        }
        return [S.prepare(w.hiddenWeight, rows: h, columns: configuration.gateWidth, ldb: h, transposed: true,
                          settings: settings)]
    }

    // MARK: - Backward

    /// The loop of a backward pass, and what it leaves for the products after it (`finishBackward`). The loop holds
    /// W_hh packed: let it go before those products allocate their buffers (held through them, the heap's top was
    /// given back to the system after each pass and faulted in again by the next: C4 training, one thread, 4,600
    /// page faults → 13,700 and 3 % slower).
    struct BackwardLoop {
        let steps: StepLoop
        let gradients: Gradients

        struct Gradients {
            /// dL/dh and (LSTM) dL/dc of each sequence, [B, H] in `batch.order`: after the loop, of its initial state.
            let hidden: ScalarBuffer<S>, memory: ScalarBuffer<S>
            /// dL/d(pre-activation) of every gate, [N, G]; the PyTorch GRU's recurrent part of them, which differs
            /// in its n block (r * dn), else the same buffer.
            let gates: ScalarBuffer<S>, hiddenGates: ScalarBuffer<S>
        }
    }

    /// Back-propagation through time, in two parts: this sets up the loop over the steps, to `run()` alone or side
    /// by side with another direction's (`forEachStep(sideBySide:)`); `finishBackward` then adds the weights'
    /// gradients. Run the loop, keep its `gradients`, and let the loop go before `finishBackward` (see `BackwardLoop`).
    /// - Parameters:
    ///   - outputGradient: dL/`dh<t>` from above, [N, H] (nil: none).
    ///   - finalHiddenGradient, finalMemoryGradient: dL/d(final state), [B, H] in `batch.order` (nil: none).
    func backwardLoop(weights w: DirectionWeights<S>, outputGradient: UnsafePointer<S>?,
                      finalHiddenGradient: UnsafePointer<S>?, finalMemoryGradient: UnsafePointer<S>?) -> BackwardLoop {
        require(keepsCache, "backward needs a forward pass that kept its cache")
        let rows = batch.rowCount, b = batch.batchSize, h = hiddenSize, g = gateWidth
        let cell = configuration.cell, course = configuration.gruVariant == .course
        let dh = ScalarBuffer<S>(count: b * h, workspace: workspace)
        let dc = ScalarBuffer<S>(count: cell == .lstm ? b * h : 0, workspace: workspace)
        if let finalHiddenGradient { dh.pointer.update(from: finalHiddenGradient, count: b * h) }
        if let finalMemoryGradient, cell == .lstm { dc.pointer.update(from: finalMemoryGradient, count: b * h) }
        let dGates = ScalarBuffer<S>(uninitializedCount: rows * g, workspace: workspace)   // every live row written by its step
        let dHiddenGates = cell == .gru && !course ? ScalarBuffer<S>(uninitializedCount: rows * g, workspace: workspace) : dGates
        let recurrent = prepareBackward(w)
        let scratch = ScalarBuffer<S>(count: cell == .gru && course ? b * h : 0, workspace: workspace)
        let upcoming = { (rows: StepRows) in
            self.prefetch(cell == .rnn ? self.output : self.gates, rows, width: g, forWriting: false)
            self.prefetch(dGates, rows, width: g, forWriting: true)
            switch cell {
            case .rnn: break
            case .lstm:
                self.prefetch(self.memoryTanh, rows, width: h, forWriting: false)
                self.prefetch(self.previousMemory, rows, width: h, forWriting: false)
            case .gru:
                self.prefetch(self.previousHidden, rows, width: h, forWriting: false)
                if !course {
                    self.prefetch(self.hiddenGates, rows, width: g, forWriting: false)
                    self.prefetch(dHiddenGates, rows, width: g, forWriting: true)
                }
            }
            if let outputGradient {
                recur_prefetch(outputGradient + rows.packedFirst * h, rows.count * h * MemoryLayout<S>.stride, 0)
            }
        }
        let steps = StepLoop(direction: self, order: forwardSteps.reversed(), upcoming: upcoming) { [self] rows in
            if let outputGradient {
                let up = outputGradient + rows.packedFirst * h, down = dh.pointer + rows.first * h
                for k in 0..<(rows.count * h) { down[k] += up[k] }
            }
            switch cell {
            case .rnn: rnnBackwardStep(rows, recurrent: recurrent, dh: dh.pointer, dGates: dGates.pointer)
            case .lstm: lstmBackwardStep(rows, recurrent: recurrent, dh: dh.pointer, dc: dc.pointer, dGates: dGates.pointer)
            case .gru:
                if course {
                    courseGRUBackwardStep(rows, recurrent: recurrent, dh: dh.pointer, dGates: dGates.pointer,
                                          ds: scratch.pointer)
                } else {
                    pytorchGRUBackwardStep(rows, recurrent: recurrent, dh: dh.pointer, dGates: dGates.pointer,
                                           dHiddenGates: dHiddenGates.pointer)
                }
            }
        }
        return BackwardLoop(steps: steps,
                            gradients: .init(hidden: dh, memory: dc, gates: dGates, hiddenGates: dHiddenGates))
    }

    /// The products after the loop of `backwardLoop`: adds the weights' gradients to `gradients`, and dx.
    /// - Parameters:
    ///   - x: the packed input the forward pass read, [N, D].
    ///   - inputGradient: dx is added here, [N, D] (nil: dx is not needed, and not computed).
    ///   - defersInputGradient: keep the gate gradients instead, for `addInputGradient` to add dx later.
    /// - Returns: dL/`dh<0>` and (LSTM) dL/`dc<0>`, [B, H] in `batch.order`.
    func finishBackward(_ loop: BackwardLoop.Gradients, input x: UnsafePointer<S>, weights w: DirectionWeights<S>,
                        gradients dw: DirectionWeightGradients<S>, inputGradient dx: UnsafeMutablePointer<S>?,
                        defersInputGradient: Bool) -> (hidden: ScalarBuffer<S>, memory: ScalarBuffer<S>) {
        let rows = batch.rowCount, h = hiddenSize, g = gateWidth
        let course = configuration.cell == .gru && configuration.gruVariant == .course
        let dGates = loop.gates, dHiddenGates = loop.hiddenGates
        // dW_ih += dGatesᵀ·x: [G, N]·[N, D]. When D is not a whole number of tile columns and G is (D = 65, a
        // character vocabulary), the tiles' last column panel would be mostly padding: dW_ihᵀ = xᵀ·dGates,
        // [D, N]·[N, G], is computed instead and added transposed (measured at 512×65×1600: 56 GFLOP/s one way).
        // Where dW_hh's product reads dGates too (the LSTM and the RNN; not the GRUs), it is computed transposed
        // alongside, dW_hhᵀ = h<t-1>ᵀ·dGates, so that dGates is packed once, as B, for both: dW_hh = dGatesᵀ·h<t-1>
        // packed it again, as A (C4 training, one thread: packing 9.8 → 7.3 % of the samples, adding the
        // transposes 0.7 → 1.5 %).
        let panel = settings.kernel.tileColumns
        let inputTransposed = inputSize % panel != 0 && g % panel == 0
        let hiddenAlongside = inputTransposed && !course && dHiddenGates === dGates
        if inputTransposed {
            let transposed = ScalarBuffer<S>(uninitializedCount: inputSize * g, workspace: workspace)   // written whole
            let inputFactor = LeftFactor(m: inputSize, a: x, lda: inputSize, transposeA: true, c: transposed.pointer,
                                         ldc: g)
            if hiddenAlongside {
                let hiddenTransposed = ScalarBuffer<S>(uninitializedCount: h * g, workspace: workspace)   // written whole
                S.multiply(inputFactor,
                           LeftFactor(m: h, a: UnsafePointer(previousHidden.pointer), lda: h, transposeA: true,
                                      c: hiddenTransposed.pointer, ldc: g),
                           n: g, k: rows, sharing: dGates.pointer, ldb: g, accumulate: false, settings: settings)
                addTransposed(hiddenTransposed.pointer, into: dw.hiddenWeight, rows: g, columns: h)
            } else {
                S.multiply(m: inputSize, n: g, k: rows, a: x, lda: inputSize, transposeA: true,
                           b: dGates.pointer, ldb: g, transposeB: false, c: transposed.pointer, ldc: g,
                           accumulate: false, settings: settings)
            }
            addTransposed(transposed.pointer, into: dw.inputWeight, rows: g, columns: inputSize)
        } else {
            S.multiply(m: g, n: inputSize, k: rows, a: dGates.pointer, lda: g, transposeA: true,
                       b: x, ldb: inputSize, transposeB: false, c: dw.inputWeight, ldc: inputSize,
                       accumulate: true, settings: settings)
        }
        if course {
            // dW_h[Γr, Γu] += dGates[:, Γr Γu]ᵀ·c<t-1>;  dW_hc += dGates[:, c̃]ᵀ·(Γr * c<t-1>).
            S.multiply(m: 2 * h, n: h, k: rows, a: dGates.pointer, lda: g, transposeA: true,
                       b: previousHidden.pointer, ldb: h, transposeB: false, c: dw.hiddenWeight, ldc: h,
                       accumulate: true, settings: settings)
            S.multiply(m: h, n: h, k: rows, a: dGates.pointer + 2 * h, lda: g, transposeA: true,
                       b: resetHidden.pointer, ldb: h, transposeB: false, c: dw.hiddenWeight + 2 * h * h, ldc: h,
                       accumulate: true, settings: settings)
        } else if !hiddenAlongside {
            // dW_hh += dHiddenGatesᵀ·h<t-1>: [G, N]·[N, H].
            S.multiply(m: g, n: h, k: rows, a: dHiddenGates.pointer, lda: g, transposeA: true,
                       b: previousHidden.pointer, ldb: h, transposeB: false, c: dw.hiddenWeight, ldc: h,
                       accumulate: true, settings: settings)
        }
        // db_ih += Σ_rows dGates, db_hh += Σ_rows dHiddenGates: a row of ones times each, [1, N]·[N, G] (the
        // matrix–vector kernel, split by columns across threads). The two are one sum but for PyTorch's GRU.
        let ones = ScalarBuffer<S>(uninitializedCount: rows, workspace: workspace)
        ones.pointer.update(repeating: 1, count: rows)
        let sum = ScalarBuffer<S>(uninitializedCount: g, workspace: workspace)   // written whole by each product
        func columnSums(_ gradient: ScalarBuffer<S>) {
            S.multiply(m: 1, n: g, k: rows, a: ones.pointer, lda: rows, transposeA: false, b: gradient.pointer, ldb: g,
                       transposeB: false, c: sum.pointer, ldc: g, accumulate: false, settings: settings)
        }
        columnSums(dGates)
        for j in 0..<g { dw.inputBias[j] += sum.pointer[j] }
        if dHiddenGates !== dGates { columnSums(dHiddenGates) }
        for j in 0..<g { dw.hiddenBias[j] += sum.pointer[j] }
        // dx += dGates·W_ih: [N, G]·[G, D].
        if let dx {
            addInputGradient(dGates, into: dx, weights: w, settings: settings)
        } else if defersInputGradient {
            deferredGateGradients = dGates
        }
        return (loop.hidden, loop.memory)
    }

    /// dx += dGates·W_ih, [N, G]·[G, D], for a backward pass run with `defersInputGradient`; then lets the gate
    /// gradients go. Two directions run side by side add their dx this way, one after the other, as they would
    /// have one after the other.
    func addInputGradient(into dx: UnsafeMutablePointer<S>, weights w: DirectionWeights<S>, settings: ComputeSettings) {
        guard let dGates = deferredGateGradients else { return }
        addInputGradient(dGates, into: dx, weights: w, settings: settings)
        deferredGateGradients = nil
    }

    private func addInputGradient(_ dGates: ScalarBuffer<S>, into dx: UnsafeMutablePointer<S>, weights w: DirectionWeights<S>,
                                  settings: ComputeSettings) {
        S.multiply(m: batch.rowCount, n: inputSize, k: gateWidth, a: dGates.pointer, lda: gateWidth, transposeA: false,
                   b: w.inputWeight, ldb: inputSize, transposeB: false, c: dx, ldc: inputSize,
                   accumulate: true, settings: settings)
    }

    /// w[j, k] += t[k, j] for w [rows, columns] and t [columns, rows]: a weight's gradient computed transposed.
    /// Split by rows of w: on one thread the other waited (0.6 % of C4 training's samples).
    private func addTransposed(_ t: UnsafePointer<S>, into w: UnsafeMutablePointer<S>, rows: Int, columns: Int) {
        let parts = rows * columns >= 1 << 14 ? settings.threadCount : 1
        parallelFor(parts) { part in
            for j in (rows * part / parts)..<(rows * (part + 1) / parts) {
                for k in 0..<columns { w[j * columns + k] += t[k * rows + j] }
            }
        }
    }

    /// op(B) = W_hh packed for dGates·W_hh; the course GRU packs [W_hΓr; W_hΓu] and W_hc apart.
    private func prepareBackward(_ w: DirectionWeights<S>) -> [S.PreparedMatrix] {
        let h = hiddenSize
        if configuration.cell == .gru && configuration.gruVariant == .course {
            return [S.prepare(w.hiddenWeight, rows: 2 * h, columns: h, ldb: h, transposed: false, settings: settings),
                    S.prepare(w.hiddenWeight + 2 * h * h, rows: h, columns: h, ldb: h, transposed: false, settings: settings)]
        }
        return [S.prepare(w.hiddenWeight, rows: gateWidth, columns: h, ldb: h, transposed: false, settings: settings)]
    }
}
