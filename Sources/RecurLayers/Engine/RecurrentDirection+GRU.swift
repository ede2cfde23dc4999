/// The two GRUs. Both store their gate blocks in PyTorch's order: `weight_ih` [3H, D] and `weight_hh` [3H, H]
/// hold the rows of the relevance/reset gate, then the update gate, then the candidate.
///
/// Course (the full GRU; Γr acts on `c<t-1>` before the product), blocks Γr, Γu, c̃:
///
///     Γr    = σ(W_r[c<t-1>, x<t>] + b_r)
///     Γu    = σ(W_u[c<t-1>, x<t>] + b_u)
///     c̃<t>  = tanh(W_c[Γr * c<t-1>, x<t>] + b_c)
///     c<t>  = Γu * c̃<t> + (1 − Γu) * c<t-1>
///
/// PyTorch (`nn.GRU`; r acts after the product, b_hn inside it), blocks r, z, n:
///
///     r  = σ(W_ir x + b_ir + W_hr h + b_hr)
///     z  = σ(W_iz x + b_iz + W_hz h + b_hz)
///     n  = tanh(W_in x + b_in + r * (W_hn h + b_hn))
///     h′ = (1 − z) * n + z * h
///
/// Γu takes the new candidate where z keeps the old state: the course's Γu is PyTorch's 1 − z. The two forms
/// are not weight-convertible (see `RecurrentNetwork+PyTorch.swift`).
extension RecurrentDirection {
    // MARK: Course GRU

    /// `bias`: b_ih + b_hh, [3H]; `output`: the step's rows of the layer's output, [m, H], rows `outputStride` apart.
    func courseGRUForwardStep(_ rows: StepRows, recurrent: [S.PreparedMatrix], bias: UnsafePointer<S>,
                              output: UnsafeMutablePointer<S>) {
        let h = hiddenSize, g = gateWidth, settings = rows.settings, m = rows.count
        let z = stepGates(rows), hidden = self.hidden.pointer + rows.first * h
        let product = gateScratch.pointer + rows.first * 2 * h
        // [Γr, Γu] pre-activations: + c<t-1>·[W_hr; W_hu]ᵀ, [m, 2H].
        S.multiply(m: m, a: hidden, lda: h, prepared: recurrent[0], c: product, ldc: 2 * h, accumulate: false,
                   settings: settings)
        let reset = stepRows(resetHidden, rows, width: h)
        forEachRowBlock(m, settings: settings) { block in
            let first = block.lowerBound
            S.courseGRUGates(rows: block.count, hiddenSize: h, gates: z + first * g, bias: bias,
                             product: product + first * 2 * h,
                             hidden: hidden + first * h, resetHidden: reset + first * h, kernel: settings.kernel)
        }
        // c̃ pre-activation += (Γr * c<t-1>)·W_hcᵀ.
        S.multiply(m: m, a: reset, lda: h, prepared: recurrent[1], c: z + 2 * h, ldc: g, accumulate: true,
                   settings: settings)
        forEachRowBlock(m, settings: settings) { block in
            let first = block.lowerBound
            S.courseGRUUpdate(rows: block.count, hiddenSize: h, gates: z + first * g, bias: bias,
                              hidden: hidden + first * h, output: output + first * outputStride,
                              outputStride: outputStride, kernel: settings.kernel)
        }
    }

    /// Backward of the course GRU, with dc = dL/`dc<t>`:
    ///
    ///     dc̃      = dc * Γu * (1 − c̃²)                 (pre-activation gradients)
    ///     dΓu      = dc * (c̃ − c<t-1>) * Γu (1 − Γu)
    ///     ds       = W_hcᵀ dc̃                            (s = Γr * c<t-1>)
    ///     dΓr      = ds * c<t-1> * Γr (1 − Γr)
    ///     dc<t-1>  = dc * (1 − Γu) + ds * Γr + [W_hr; W_hu]ᵀ [dΓr; dΓu]
    func courseGRUBackwardStep(_ rows: StepRows, recurrent: [S.PreparedMatrix],
                               dh: UnsafeMutablePointer<S>, dGates: UnsafeMutablePointer<S>,
                               ds: UnsafeMutablePointer<S>) {
        let h = hiddenSize, g = gateWidth, settings = rows.settings, m = rows.count, r0 = rows.packedFirst
        let dcRows = dh + rows.first * h, dsRows = ds + rows.first * h
        forEachRowBlock(m, settings: settings) { block in
            let row = r0 + block.lowerBound, first = block.lowerBound
            S.courseGRUBackwardCandidate(rows: block.count, hiddenSize: h, gates: gates.pointer + row * g,
                                         previousHidden: previousHidden.pointer + row * h,
                                         hiddenGradient: dcRows + first * h, gateGradient: dGates + row * g,
                                         kernel: settings.kernel)
        }
        S.multiply(m: m, a: dGates + r0 * g + 2 * h, lda: g, prepared: recurrent[1], c: dsRows, ldc: h,
                   accumulate: false, settings: settings)
        forEachRowBlock(m, settings: settings) { block in
            let row = r0 + block.lowerBound, first = block.lowerBound
            S.courseGRUBackwardReset(rows: block.count, hiddenSize: h, gates: gates.pointer + row * g,
                                     previousHidden: previousHidden.pointer + row * h, resetGradient: dsRows + first * h,
                                     hiddenGradient: dcRows + first * h, gateGradient: dGates + row * g,
                                     kernel: settings.kernel)
        }
        S.multiply(m: m, a: dGates + r0 * g, lda: g, prepared: recurrent[0], c: dcRows, ldc: h, accumulate: true,
                   settings: settings)
    }

    // MARK: PyTorch GRU

    /// `bias`: b_ih + b_hh except b_hn (the n block holds b_in alone), [3H]; b_hn is read from `w`. `output`: the
    /// step's rows of the layer's output, [m, H], rows `outputStride` apart.
    func pytorchGRUForwardStep(_ rows: StepRows, recurrent: [S.PreparedMatrix], bias: UnsafePointer<S>,
                               weights w: DirectionWeights<S>, output: UnsafeMutablePointer<S>) {
        let h = hiddenSize, g = gateWidth, settings = rows.settings, m = rows.count
        let z = stepGates(rows), hidden = self.hidden.pointer + rows.first * h
        let hiddenGates = stepRows(self.hiddenGates, rows, width: g)
        // W_hh h for all three blocks, [m, 3H].
        S.multiply(m: m, a: hidden, lda: h, prepared: recurrent[0], c: hiddenGates, ldc: g, accumulate: false,
                   settings: settings)
        forEachRowBlock(m, settings: settings) { block in
            let first = block.lowerBound
            S.gruForward(rows: block.count, hiddenSize: h, gates: z + first * g, bias: bias,
                         hiddenGates: hiddenGates + first * g,
                         candidateHiddenBias: w.hiddenBias + 2 * h, hidden: hidden + first * h,
                         output: output + first * outputStride, outputStride: outputStride, keepsGates: keepsCache,
                         kernel: settings.kernel)
        }
    }

    /// Backward of PyTorch's GRU, with dh = dL/dh′ and hn = W_hn h + b_hn:
    ///
    ///     dn_pre  = dh * (1 − z) * (1 − n²)
    ///     dz_pre  = dh * (h − n) * z (1 − z)
    ///     dr_pre  = dn_pre * hn * r (1 − r)
    ///     input part:     [dr_pre; dz_pre; dn_pre]        (→ dW_ih, db_ih, dx)
    ///     recurrent part: [dr_pre; dz_pre; r * dn_pre]    (→ dW_hh, db_hh)
    ///     dh_prev = dh * z + W_hhᵀ (recurrent part)
    func pytorchGRUBackwardStep(_ rows: StepRows, recurrent: [S.PreparedMatrix],
                                dh: UnsafeMutablePointer<S>, dGates: UnsafeMutablePointer<S>,
                                dHiddenGates: UnsafeMutablePointer<S>) {
        let h = hiddenSize, g = gateWidth, settings = rows.settings, m = rows.count, r0 = rows.packedFirst
        let dhRows = dh + rows.first * h
        forEachRowBlock(m, settings: settings) { block in
            let row = r0 + block.lowerBound, first = block.lowerBound
            S.gruBackward(rows: block.count, hiddenSize: h, gates: gates.pointer + row * g,
                          hiddenGates: hiddenGates.pointer + row * g, previousHidden: previousHidden.pointer + row * h,
                          hiddenGradient: dhRows + first * h, gateGradient: dGates + row * g,
                          hiddenGateGradient: dHiddenGates + row * g, kernel: settings.kernel)
        }
        S.multiply(m: m, a: dHiddenGates + r0 * g, lda: g, prepared: recurrent[0], c: dhRows, ldc: h, accumulate: true,
                   settings: settings)
    }
}
