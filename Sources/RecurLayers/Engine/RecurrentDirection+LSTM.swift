/// The LSTM cell. Gate blocks are stored in PyTorch's order i, f, g, o; in the course's notation
/// i = Γu (update), f = Γf (forget), g = c̃ (candidate), o = Γo (output):
///
///     c̃<t>  = tanh(W_c[a<t-1>, x<t>] + b_c)
///     Γu    = σ(W_u[a<t-1>, x<t>] + b_u)
///     Γf    = σ(W_f[a<t-1>, x<t>] + b_f)
///     Γo    = σ(W_o[a<t-1>, x<t>] + b_o)
///     c<t>  = Γu * c̃<t> + Γf * c<t-1>
///     a<t>  = Γo * tanh(c<t>)
///
/// `weight_ih` [4H, D] holds the x columns of [W_u; W_f; W_c; W_o], `weight_hh` [4H, H] the a columns.
///
/// Backward, with da = dL/da<t> and dc = dL/dc<t> arriving from above and from step t+1:
///
///     dc      += da * Γo * (1 − tanh²(c<t>))
///     dΓo      = da * tanh(c<t>) * Γo (1 − Γo)          (pre-activation gradients, as all below)
///     dΓu      = dc * c̃<t> * Γu (1 − Γu)
///     dΓf      = dc * c<t-1> * Γf (1 − Γf)
///     dc̃       = dc * Γu * (1 − c̃²)
///     dc<t-1>  = dc * Γf
///     da<t-1>  = W_hhᵀ [dΓu; dΓf; dc̃; dΓo]
extension RecurrentDirection {
    func lstmForwardStep(_ rows: StepRows, recurrent: [S.PreparedMatrix]) {
        let h = hiddenSize, g = gateWidth, settings = rows.settings
        let z = gates.pointer + rows.packedFirst * g
        let a = hidden.pointer + rows.first * h, c = memory.pointer + rows.first * h
        S.multiply(m: rows.count, a: a, lda: h, prepared: recurrent[0], c: z, ldc: g, accumulate: true, settings: settings)
        let tanhC = stepRows(memoryTanh, rows, width: h)
        let cPrevious = keepsCache ? previousMemory.pointer + rows.packedFirst * h : nil
        forEachRowBlock(rows.count, settings: settings) { block in
            let first = block.lowerBound * h, count = block.count * h
            cPrevious?.advanced(by: first).update(from: c + first, count: count)
            for row in block {
                let gate = z + row * g
                S.sigmoid(gate, count: 2 * h, settings: settings)          // Γu, Γf
                S.tanh(gate + 2 * h, count: h, settings: settings)          // c̃
                S.sigmoid(gate + 3 * h, count: h, settings: settings)       // Γo
                let update = gate, forget = gate + h, candidate = gate + 2 * h, cRow = c + row * h
                for k in 0..<h { cRow[k] = update[k] * candidate[k] + forget[k] * cRow[k] }
            }
            (tanhC + first).update(from: c + first, count: count)
            S.tanh(tanhC + first, count: count, settings: settings)
            for row in block {
                let outputGate = z + row * g + 3 * h, t = tanhC + row * h, aRow = a + row * h
                for k in 0..<h { aRow[k] = outputGate[k] * t[k] }
            }
        }
    }

    func lstmBackwardStep(_ rows: StepRows, recurrent: [S.PreparedMatrix],
                          dh: UnsafeMutablePointer<S>, dc: UnsafeMutablePointer<S>, dGates: UnsafeMutablePointer<S>) {
        let h = hiddenSize, g = gateWidth, settings = rows.settings, r0 = rows.packedFirst
        let daRows = dh + rows.first * h, dcRows = dc + rows.first * h
        forEachRowBlock(rows.count, settings: settings) { block in for row in block {
            let gate = gates.pointer + (r0 + row) * g, d = dGates + (r0 + row) * g
            let tanhC = memoryTanh.pointer + (r0 + row) * h, cPrevious = previousMemory.pointer + (r0 + row) * h
            let da = daRows + row * h, dcRow = dcRows + row * h
            for k in 0..<h {
                let update = gate[k], forget = gate[h + k], candidate = gate[2 * h + k], outputGate = gate[3 * h + k]
                let t = tanhC[k]
                let dcTotal = dcRow[k] + da[k] * outputGate * (1 - t * t)
                d[k] = dcTotal * candidate * update * (1 - update)
                d[h + k] = dcTotal * cPrevious[k] * forget * (1 - forget)
                d[2 * h + k] = dcTotal * update * (1 - candidate * candidate)
                d[3 * h + k] = da[k] * t * outputGate * (1 - outputGate)
                dcRow[k] = dcTotal * forget
            }
        } }
        S.multiply(m: rows.count, a: dGates + r0 * g, lda: g, prepared: recurrent[0], c: daRows, ldc: h, accumulate: false,
                   settings: settings)
    }
}
