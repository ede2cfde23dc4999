import RecurCore

/// One forward (and, with a cache, backward) pass of a stack of recurrent layers over one batch.
///
/// Layer l reads `layerInputs[l]`, [N, D_l] in the packed layout of `SequenceBatch`: the gathered input for
/// l = 0, the previous layer's merged outputs (times its dropout mask while training) above. Without a cache
/// only the current layer's buffers are alive at any time.
final class RecurrentPass<S: RecurrentScalar> {
    let configuration: RecurrentConfiguration
    let batch: SequenceBatch
    let keepsCache: Bool
    let settings: ComputeSettings
    /// [N, D_l] per layer (with a cache; without, the last layer's only).
    private(set) var layerInputs: [ScalarBuffer<S>] = []
    /// [N, D_l] dropout scales (0 or 1/(1 − p)) of layer l's input; nil for layer 0 and when dropout is off.
    private(set) var masks: [ScalarBuffer<S>?] = []
    /// Index l·Dir + d (with a cache).
    private(set) var directions: [RecurrentDirection<S>] = []
    /// Where buffers come from and return to (nil: the system).
    let workspace: Workspace?

    /// The caller keeps the input and output memory of `forward` alive and unchanged until `backward` is done,
    /// so a pass that keeps its cache may use them in place too.
    let callerKeepsBuffers: Bool

    init(configuration: RecurrentConfiguration, batch: SequenceBatch, keepsCache: Bool, settings: ComputeSettings,
         workspace: Workspace? = nil, callerKeepsBuffers: Bool = false) {
        self.configuration = configuration
        self.batch = batch
        self.keepsCache = keepsCache
        self.callerKeepsBuffers = callerKeepsBuffers
        self.settings = settings
        self.workspace = workspace
    }

    private var stateSize: Int { batch.batchSize * configuration.hiddenSize }

    /// On two threads, a bidirectional layer runs its two directions side by side, one thread each over the
    /// whole batch, instead of one after the other with each step's batch split in two: a step's product then
    /// has twice the rows (measured, one LSTM direction H 256 on one thread: B 64 reaches 74–88 GFLOP/s, B 32
    /// 68–70). A thread that has run all steps of its direction takes over rows of the other's
    /// (`RecurrentDirection.forEachStep(sideBySide:)`). The results are the same bit for bit (every product gives
    /// the same bits on any thread count).
    private var directionsSideBySide: Bool { configuration.directionCount == 2 && settings.threadCount == 2 }

    /// The settings each direction runs with.
    private var directionSettings: ComputeSettings {
        var single = settings
        if directionsSideBySide { single.threadCount = 1 }
        return single
    }

    /// - Parameters:
    ///   - input: [T, B, D], padded past each sequence's length.
    ///   - weights: per layer and direction, index l·Dir + d.
    ///   - initialHidden, initialMemory: [L·Dir, B, H] in batch order (nil: zeros; memory: LSTM only).
    ///   - dropoutGenerator: draws the dropout masks; nil runs without dropout (inference).
    ///   - output: receives the top layer's merged outputs, [T, B, outputSize], zero past each length.
    ///   - finalHidden, finalMemory: receive each sequence's state after its own last step, [L·Dir, B, H].
    ///   - prepared: weights prepared beforehand, index l·Dir + d (nil: prepared by this pass).
    func forward(input: UnsafePointer<S>, weights: [DirectionWeights<S>], prepared: [PreparedDirection<S>]? = nil,
                 initialHidden: UnsafePointer<S>?, initialMemory: UnsafePointer<S>?,
                 dropoutGenerator: inout SeededGenerator?,
                 output: UnsafeMutablePointer<S>, finalHidden: UnsafeMutablePointer<S>,
                 finalMemory: UnsafeMutablePointer<S>?) {
        let c = configuration, rows = batch.rowCount, h = c.hiddenSize
        // With every sequence T long, the packed layout is the padded one: the first layer reads the input where
        // it is, and the top layer writes the output there itself (or merges its directions there), unless the
        // cache would outlive the caller's memory.
        let inPlace = batch.isDense && (!keepsCache || callerKeepsBuffers)
        var current: ScalarBuffer<S>
        if inPlace {
            current = ScalarBuffer(borrowing: UnsafeMutablePointer(mutating: input), count: rows * c.inputSize)
        } else {
            current = ScalarBuffer(uninitializedCount: rows * c.inputSize, workspace: workspace)   // gathered whole
            batch.gather(input, width: c.inputSize, into: current.pointer)
        }
        // Initial states in batch order, one per direction (the directions may run at the same time), when given.
        let sortedStates = (0..<(initialHidden == nil ? 0 : c.directionCount)).map { _ in
            ScalarBuffer<S>(uninitializedCount: stateSize, workspace: workspace)   // written by sortRows
        }
        let sortedMemories = (0..<(initialMemory == nil ? 0 : c.directionCount)).map { _ in
            ScalarBuffer<S>(uninitializedCount: stateSize, workspace: workspace)
        }
        for layer in 0..<c.layers {
            let width = c.inputSize(ofLayer: layer)
            var mask: ScalarBuffer<S>? = nil
            if layer > 0, c.dropout > 0, dropoutGenerator != nil {
                let drawn = makeMask(width: width, generator: &dropoutGenerator!)
                let dropped = ScalarBuffer<S>(count: rows * width, workspace: workspace)
                for k in 0..<(rows * width) { dropped.pointer[k] = current.pointer[k] * drawn.pointer[k] }
                current = dropped
                mask = drawn
            }
            if keepsCache { layerInputs.append(current); masks.append(mask) } else { layerInputs = [current] }
            // The caller's output is written in place by the top layer: by its one direction, by two concatenated
            // directions (below), or by the merge of two.
            let outputInPlace = inPlace && layer == c.layers - 1 ? output : nil
            // Without a cache, two directions whose outputs are concatenated write their halves of each merged row
            // themselves (rows 2H apart), so there is nothing to merge.
            let concatenated: ScalarBuffer<S>? = !keepsCache && c.directionCount == 2 && c.merge == .concatenate
                ? outputInPlace.map { ScalarBuffer(borrowing: $0, count: rows * 2 * h) }
                    ?? ScalarBuffer(uninitializedCount: rows * 2 * h, workspace: workspace)   // both halves written
                : nil
            let layerDirections = (0..<c.directionCount).map { direction in
                let index = layer * c.directionCount + direction
                if let initialHidden {
                    batch.sortRows(initialHidden + index * stateSize, width: h, into: sortedStates[direction].pointer)
                }
                if let initialMemory {
                    batch.sortRows(initialMemory + index * stateSize, width: h, into: sortedMemories[direction].pointer)
                }
                let storage = concatenated.map { $0.pointer + direction * h } ?? (c.directionCount == 1 ? outputInPlace : nil)
                return RecurrentDirection<S>(configuration: c, layer: layer, reverse: direction == 1, batch: batch,
                                             keepsCache: keepsCache, settings: directionSettings, workspace: workspace,
                                             outputStorage: storage, outputStride: concatenated == nil ? nil : 2 * h)
            }
            let layerInput = UnsafePointer(current.pointer)
            func loop(_ direction: Int) -> RecurrentDirection<S>.StepLoop {
                let index = layer * c.directionCount + direction
                return layerDirections[direction].forwardLoop(
                    input: layerInput, weights: weights[index], prepared: prepared?[index],
                    initialHidden: initialHidden == nil ? nil : UnsafePointer(sortedStates[direction].pointer),
                    initialMemory: initialMemory == nil ? nil : UnsafePointer(sortedMemories[direction].pointer))
            }
            if directionsSideBySide {
                let loops = (0..<2).map { _ in Slot<RecurrentDirection<S>.StepLoop>() }
                parallelFor(2) { direction in loops[direction].value = loop(direction) }
                RecurrentDirection.forEachStep(sideBySide: loops.map { $0.value! })
                for slot in loops { slot.value = nil }   // the loops hold W_hh packed
            } else {
                for direction in 0..<c.directionCount { loop(direction).run() }
            }
            for (direction, run) in layerDirections.enumerated() {
                let index = layer * c.directionCount + direction
                batch.unsortRows(run.hidden.pointer, width: h, into: finalHidden + index * stateSize)
                if let finalMemory, c.cell == .lstm {
                    batch.unsortRows(run.memory.pointer, width: h, into: finalMemory + index * stateSize)
                }
            }
            if keepsCache { directions += layerDirections }
            current = concatenated ?? merge(layerDirections.map(\.output), into: outputInPlace)
        }
        if current.pointer != output { batch.scatter(current.pointer, width: c.outputSize, into: output) }
    }

    /// Back-propagates `outputGradient` and the final states' gradients; adds every weight's gradient.
    /// - Parameters:
    ///   - outputGradient: [T, B, outputSize] (nil: none); values past a sequence's length are ignored.
    ///   - finalHiddenGradient, finalMemoryGradient: [L·Dir, B, H] (nil: none).
    ///   - inputGradient: receives dL/dx, [T, B, D], zero past each length (nil: not computed).
    ///   - initialHiddenGradient, initialMemoryGradient: receive dL/d(initial state), [L·Dir, B, H].
    func backward(weights: [DirectionWeights<S>], gradients: [DirectionWeightGradients<S>],
                  outputGradient: UnsafePointer<S>?, finalHiddenGradient: UnsafePointer<S>?,
                  finalMemoryGradient: UnsafePointer<S>?,
                  inputGradient: UnsafeMutablePointer<S>?, initialHiddenGradient: UnsafeMutablePointer<S>,
                  initialMemoryGradient: UnsafeMutablePointer<S>?) {
        require(keepsCache, "backward needs a forward pass that kept its cache")
        let c = configuration, rows = batch.rowCount, h = c.hiddenSize
        var upstream: ScalarBuffer<S>? = nil
        // With every sequence T long the packed layout is the padded one: the output gradient is read, and the
        // input gradient written, where the caller keeps them.
        if let outputGradient, batch.isDense {
            upstream = ScalarBuffer(borrowing: UnsafeMutablePointer(mutating: outputGradient), count: rows * c.outputSize)
        } else if let outputGradient {
            let packed = ScalarBuffer<S>(uninitializedCount: rows * c.outputSize, workspace: workspace)   // gathered whole
            batch.gather(outputGradient, width: c.outputSize, into: packed.pointer)
            upstream = packed
        }
        let sortedHidden = (0..<c.directionCount).map { _ in ScalarBuffer<S>(count: stateSize, workspace: workspace) }
        let sortedMemory = (0..<c.directionCount).map { _ in ScalarBuffer<S>(count: stateSize, workspace: workspace) }
        for layer in (0..<c.layers).reversed() {
            let width = c.inputSize(ofLayer: layer)
            let perDirection = upstream.map(split) ?? Array(repeating: nil, count: c.directionCount)
            // dx, [N, D]: each direction adds its part. Side by side, they add it after both have run, one after
            // the other, as one after the other they would (the same sums in the same order).
            let dx: ScalarBuffer<S>?
            if layer == 0, let inputGradient, batch.isDense {
                inputGradient.update(repeating: 0, count: rows * width)
                dx = ScalarBuffer(borrowing: inputGradient, count: rows * width)
            } else {
                dx = layer > 0 || inputGradient != nil ? ScalarBuffer<S>(count: rows * width, workspace: workspace) : nil
            }
            for direction in 0..<c.directionCount {
                let index = layer * c.directionCount + direction
                if let finalHiddenGradient {
                    batch.sortRows(finalHiddenGradient + index * stateSize, width: h, into: sortedHidden[direction].pointer)
                }
                if let finalMemoryGradient {
                    batch.sortRows(finalMemoryGradient + index * stateSize, width: h, into: sortedMemory[direction].pointer)
                }
            }
            let layerInput = UnsafePointer(layerInputs[layer].pointer)
            let finalHiddenGradients = sortedHidden.map { finalHiddenGradient == nil ? nil : UnsafePointer($0.pointer) }
            let finalMemoryGradients = sortedMemory.map { finalMemoryGradient == nil ? nil : UnsafePointer($0.pointer) }
            // Per direction: its loop, then dL/d(initial state); each slot written by one thread.
            let loops = (0..<c.directionCount).map { _ in Slot<RecurrentDirection<S>.BackwardLoop>() }
            let initialGradients = (0..<c.directionCount).map { _ in
                Slot<(hidden: ScalarBuffer<S>, memory: ScalarBuffer<S>)>()
            }
            func loop(_ direction: Int) {
                let index = layer * c.directionCount + direction
                loops[direction].value = directions[index].backwardLoop(
                    weights: weights[index], outputGradient: perDirection[direction].map { UnsafePointer($0.pointer) },
                    finalHiddenGradient: finalHiddenGradients[direction],
                    finalMemoryGradient: finalMemoryGradients[direction])
            }
            func finish(_ direction: Int) {
                let index = layer * c.directionCount + direction
                let loopGradients = loops[direction].value!.gradients
                loops[direction].value = nil   // see `RecurrentDirection.BackwardLoop`
                initialGradients[direction].value = directions[index].finishBackward(
                    loopGradients, input: layerInput, weights: weights[index], gradients: gradients[index],
                    inputGradient: directionsSideBySide ? nil : dx?.pointer,
                    defersInputGradient: directionsSideBySide && dx != nil)
            }
            if directionsSideBySide {
                parallelFor(2, loop)
                RecurrentDirection.forEachStep(sideBySide: loops.map { $0.value!.steps })
                parallelFor(2, finish)
            } else {
                for direction in 0..<c.directionCount {
                    loop(direction)
                    loops[direction].value!.steps.run()
                    finish(direction)
                }
            }
            if directionsSideBySide, let dx {
                for direction in 0..<c.directionCount {
                    let index = layer * c.directionCount + direction
                    directions[index].addInputGradient(into: dx.pointer, weights: weights[index], settings: settings)
                }
            }
            for direction in 0..<c.directionCount {
                let index = layer * c.directionCount + direction
                let (dh0, dc0) = initialGradients[direction].value!
                batch.unsortRows(dh0.pointer, width: h, into: initialHiddenGradient + index * stateSize)
                if let initialMemoryGradient, c.cell == .lstm {
                    batch.unsortRows(dc0.pointer, width: h, into: initialMemoryGradient + index * stateSize)
                }
            }
            guard let dx else { continue }
            if let mask = masks[layer] {
                for k in 0..<(rows * width) { dx.pointer[k] *= mask.pointer[k] }
            }
            if layer > 0 {
                upstream = dx
            } else if let inputGradient, dx.pointer != inputGradient {
                batch.scatter(dx.pointer, width: width, into: inputGradient)
            }
        }
    }

    // MARK: - Many-to-one

    /// last = the top layer's final states merged like its outputs.
    /// - Parameters: finalHidden [L·Dir, B, H]; last receives [B, outputSize].
    func mergeLast(finalHidden: UnsafePointer<S>, into last: UnsafeMutablePointer<S>) {
        let c = configuration, h = c.hiddenSize, b = batch.batchSize
        let top = finalHidden + (c.layers - 1) * c.directionCount * stateSize
        if c.directionCount == 1 { last.update(from: top, count: b * h); return }
        let f = top, r = top + stateSize
        for row in 0..<b {
            for k in 0..<h {
                switch c.merge {
                case .concatenate: last[row * 2 * h + k] = f[row * h + k]; last[row * 2 * h + h + k] = r[row * h + k]
                case .sum: last[row * h + k] = f[row * h + k] + r[row * h + k]
                case .average: last[row * h + k] = (f[row * h + k] + r[row * h + k]) / 2
                }
            }
        }
    }

    /// The adjoint of `mergeLast`: adds dL/d(last) [B, outputSize] to finalHiddenGradient [L·Dir, B, H].
    func addLastGradient(_ lastGradient: UnsafePointer<S>, into finalHiddenGradient: UnsafeMutablePointer<S>) {
        let c = configuration, h = c.hiddenSize, b = batch.batchSize
        let top = finalHiddenGradient + (c.layers - 1) * c.directionCount * stateSize
        for direction in 0..<c.directionCount {
            let d = top + direction * stateSize
            for row in 0..<b {
                for k in 0..<h {
                    switch (c.directionCount, c.merge) {
                    case (1, _), (_, .sum): d[row * h + k] += lastGradient[row * h + k]
                    case (_, .concatenate): d[row * h + k] += lastGradient[row * 2 * h + direction * h + k]
                    case (_, .average): d[row * h + k] += lastGradient[row * h + k] / 2
                    }
                }
            }
        }
    }

    // MARK: - Merging directions

    /// [N, H] per direction → [N, outputSize], written into `destination` if given, else into a buffer of its own.
    private func merge(_ outputs: [ScalarBuffer<S>], into destination: UnsafeMutablePointer<S>? = nil) -> ScalarBuffer<S> {
        if outputs.count == 1 { return outputs[0] }
        let rows = batch.rowCount, h = configuration.hiddenSize
        let merged = destination.map { ScalarBuffer(borrowing: $0, count: rows * configuration.outputSize) }
            ?? ScalarBuffer<S>(uninitializedCount: rows * configuration.outputSize, workspace: workspace)
        let f = outputs[0].pointer, r = outputs[1].pointer, m = merged.pointer
        let parts = rows * h >= 1 << 16 ? settings.threadCount : 1
        parallelFor(parts) { part in
            let block = (rows * part / parts)..<(rows * (part + 1) / parts)
            switch configuration.merge {
            case .concatenate:
                for row in block {
                    (m + row * 2 * h).update(from: f + row * h, count: h)
                    (m + row * 2 * h + h).update(from: r + row * h, count: h)
                }
            case .sum: for k in (block.lowerBound * h)..<(block.upperBound * h) { m[k] = f[k] + r[k] }
            case .average: for k in (block.lowerBound * h)..<(block.upperBound * h) { m[k] = (f[k] + r[k]) / 2 }
            }
        }
        return merged
    }

    /// The adjoint of `merge`: [N, outputSize] → [N, H] per direction.
    private func split(_ gradient: ScalarBuffer<S>) -> [ScalarBuffer<S>?] {
        if configuration.directionCount == 1 { return [gradient] }
        let rows = batch.rowCount, h = configuration.hiddenSize, m = gradient.pointer
        switch configuration.merge {
        case .concatenate:
            let f = ScalarBuffer<S>(uninitializedCount: rows * h, workspace: workspace)
            let r = ScalarBuffer<S>(uninitializedCount: rows * h, workspace: workspace)
            let parts = rows * h >= 1 << 16 ? settings.threadCount : 1
            parallelFor(parts) { part in
                for row in (rows * part / parts)..<(rows * (part + 1) / parts) {
                    (f.pointer + row * h).update(from: m + row * 2 * h, count: h)
                    (r.pointer + row * h).update(from: m + row * 2 * h + h, count: h)
                }
            }
            return [f, r]
        case .sum: return [gradient, gradient]
        case .average:
            let half = ScalarBuffer<S>(count: rows * h, workspace: workspace)
            for k in 0..<(rows * h) { half.pointer[k] = m[k] / 2 }
            return [half, half]
        }
    }

    // MARK: - Dropout

    /// [N, width] of 0 (probability p) or 1/(1 − p). Variational: one draw per sequence and feature, in batch
    /// order, shared by all its steps; otherwise one draw per packed row and feature.
    private func makeMask(width: Int, generator: inout SeededGenerator) -> ScalarBuffer<S> {
        let p = configuration.dropout, keep = S(1 / (1 - p)), rows = batch.rowCount
        let mask = ScalarBuffer<S>(count: rows * width, workspace: workspace)
        if configuration.variationalDropout {
            var perSequence = [S](repeating: 0, count: batch.batchSize * width)
            for k in perSequence.indices { perSequence[k] = generator.nextUnitDouble() < p ? 0 : keep }
            for t in 0..<batch.steps {
                for j in 0..<batch.activeCounts[t] {
                    let row = mask.pointer + (batch.offsets[t] + j) * width, example = batch.order[j] * width
                    for k in 0..<width { row[k] = perSequence[example + k] }
                }
            }
        } else {
            for k in 0..<(rows * width) { mask.pointer[k] = generator.nextUnitDouble() < p ? 0 : keep }
        }
        return mask
    }
}

/// A value written by one part of a `parallelFor` and read after it.
private final class Slot<Value>: @unchecked Sendable {
    var value: Value?
}
