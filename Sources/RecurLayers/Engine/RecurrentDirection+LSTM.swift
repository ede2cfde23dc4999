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
/// Backward, with da = dL/`da<t>` and dc = dL/`dc<t>` arriving from above and from step t+1:
///
///     dc      += da * Γo * (1 − tanh²(c<t>))
///     dΓo      = da * tanh(c<t>) * Γo (1 − Γo)          (pre-activation gradients, as all below)
///     dΓu      = dc * c̃<t> * Γu (1 − Γu)
///     dΓf      = dc * c<t-1> * Γf (1 − Γf)
///     dc̃       = dc * Γu * (1 − c̃²)
///     dc<t-1>  = dc * Γf
///     da<t-1>  = W_hhᵀ [dΓu; dΓf; dc̃; dΓo]
extension RecurrentDirection {
    /// `bias`: b_ih + b_hh, [4H]; `output`: the step's rows of the layer's output, [m, H], rows `outputStride` apart.
    /// `projection`: the step's input and W_ihᵀ when it projects its own input (nil: done before the loop).
    func lstmForwardStep(_ rows: StepRows, projection: StepProjection?, recurrent: [S.PreparedMatrix],
                         bias: UnsafePointer<S>, output: UnsafeMutablePointer<S>) {
        let h = hiddenSize, g = gateWidth, settings = rows.settings
        let z = stepGates(rows)
        let a = hidden.pointer + rows.first * h, c = memory.pointer + rows.first * h
        // z (+)= [x<t>·W_ihᵀ +] a<t-1>·W_hhᵀ
        addRecurrentProduct(rows, projection: projection, recurrent: recurrent[0], into: z)
        // Without a cache nothing but the state is written: not the activated gates, tanh(c) or c<t-1>.
        let tanhC = keepsCache ? memoryTanh.pointer + rows.packedFirst * h : nil
        let cPrevious = keepsCache ? previousMemory.pointer + rows.packedFirst * h : nil
        forEachRowBlock(rows.count, settings: settings) { block in
            let first = block.lowerBound
            S.lstmForward(rows: block.count, hiddenSize: h, gates: z + first * g, bias: bias, cellState: c + first * h,
                          previousCellState: cPrevious.map { $0 + first * h }, cellTanh: tanhC.map { $0 + first * h },
                          hidden: a + first * h, output: output + first * outputStride, outputStride: outputStride,
                          kernel: settings.kernel)
        }
    }

    func lstmBackwardStep(_ rows: StepRows, recurrent: [S.PreparedMatrix],
                          dh: UnsafeMutablePointer<S>, dc: UnsafeMutablePointer<S>, dGates: UnsafeMutablePointer<S>) {
        let h = hiddenSize, g = gateWidth, settings = rows.settings, r0 = rows.packedFirst
        let da = dh + rows.first * h, dcRows = dc + rows.first * h
        forEachRowBlock(rows.count, settings: settings) { block in
            let row = r0 + block.lowerBound, first = block.lowerBound
            S.lstmBackward(rows: block.count, hiddenSize: h, gates: gates.pointer + row * g,
                           cellTanh: memoryTanh.pointer + row * h, previousCellState: previousMemory.pointer + row * h,
                           hiddenGradient: da + first * h, cellGradient: dcRows + first * h,
                           gateGradient: dGates + row * g, kernel: settings.kernel)
        }
        // da<t-1> = [dΓu; dΓf; dc̃; dΓo]·W_hh
        S.multiply(m: rows.count, a: dGates + r0 * g, lda: g, prepared: recurrent[0], c: da, ldc: h, accumulate: false,
                   settings: settings)
    }
}
