/// The two GRUs. Both store their gate blocks in PyTorch's order: `weight_ih` [3H, D] and `weight_hh` [3H, H]
/// hold the rows of the relevance/reset gate, then the update gate, then the candidate.
///
/// Course (the full GRU; Γr acts on c<t-1> before the product), blocks Γr, Γu, c̃:
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

    func courseGRUForwardStep(_ rows: StepRows, recurrent: [S.PreparedMatrix]) {
        let h = hiddenSize, g = gateWidth, settings = rows.settings, m = rows.count
        let z = gates.pointer + rows.packedFirst * g, hidden = self.hidden.pointer + rows.first * h
        let product = gateScratch.pointer + rows.first * 2 * h
        // [Γr, Γu] pre-activations += c<t-1>·[W_hr; W_hu]ᵀ, [m, 2H].
        S.multiply(m: m, a: hidden, lda: h, prepared: recurrent[0], c: product, ldc: 2 * h, accumulate: false,
                   settings: settings)
        let reset = stepRows(resetHidden, rows, width: h)
        forEachRowBlock(m, settings: settings) { block in for row in block {
            let gate = z + row * g, p = product + row * 2 * h
            for k in 0..<(2 * h) { gate[k] += p[k] }
            S.sigmoid(gate, count: 2 * h, settings: settings)
            let c = hidden + row * h, s = reset + row * h
            for k in 0..<h { s[k] = gate[k] * c[k] }                                     // Γr * c<t-1>
        } }
        // c̃ pre-activation += (Γr * c<t-1>)·W_hcᵀ.
        S.multiply(m: m, a: reset, lda: h, prepared: recurrent[1], c: z + 2 * h, ldc: g, accumulate: true,
                   settings: settings)
        forEachRowBlock(m, settings: settings) { block in for row in block {
            let gate = z + row * g, c = hidden + row * h
            S.tanh(gate + 2 * h, count: h, settings: settings)
            for k in 0..<h {
                let update = gate[h + k], candidate = gate[2 * h + k]
                c[k] = update * candidate + (1 - update) * c[k]
            }
        } }
    }

    /// Backward of the course GRU, with dc = dL/dc<t>:
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
        forEachRowBlock(m, settings: settings) { block in for row in block {
            let gate = gates.pointer + (r0 + row) * g, d = dGates + (r0 + row) * g
            let cPrevious = previousHidden.pointer + (r0 + row) * h, dc = dcRows + row * h
            for k in 0..<h {
                let update = gate[h + k], candidate = gate[2 * h + k]
                d[2 * h + k] = dc[k] * update * (1 - candidate * candidate)
                d[h + k] = dc[k] * (candidate - cPrevious[k]) * update * (1 - update)
                dc[k] = dc[k] * (1 - update)
            }
        } }
        S.multiply(m: m, a: dGates + r0 * g + 2 * h, lda: g, prepared: recurrent[1], c: dsRows, ldc: h,
                   accumulate: false, settings: settings)
        forEachRowBlock(m, settings: settings) { block in for row in block {
            let gate = gates.pointer + (r0 + row) * g, d = dGates + (r0 + row) * g
            let cPrevious = previousHidden.pointer + (r0 + row) * h, dc = dcRows + row * h, dsRow = dsRows + row * h
            for k in 0..<h {
                let reset = gate[k]
                d[k] = dsRow[k] * cPrevious[k] * reset * (1 - reset)
                dc[k] += dsRow[k] * reset
            }
        } }
        S.multiply(m: m, a: dGates + r0 * g, lda: g, prepared: recurrent[0], c: dcRows, ldc: h, accumulate: true,
                   settings: settings)
    }

    // MARK: PyTorch GRU

    func pytorchGRUForwardStep(_ rows: StepRows, recurrent: [S.PreparedMatrix], weights w: DirectionWeights<S>) {
        let h = hiddenSize, g = gateWidth, settings = rows.settings, m = rows.count
        let z = gates.pointer + rows.packedFirst * g, hidden = self.hidden.pointer + rows.first * h
        let hiddenGates = stepRows(self.hiddenGates, rows, width: g)
        // W_hh h for all three blocks, [m, 3H].
        S.multiply(m: m, a: hidden, lda: h, prepared: recurrent[0], c: hiddenGates, ldc: g, accumulate: false,
                   settings: settings)
        let hiddenBiasN = w.hiddenBias + 2 * h
        forEachRowBlock(m, settings: settings) { block in for row in block {
            let gate = z + row * g, q = hiddenGates + row * g, state = hidden + row * h
            for k in 0..<(2 * h) { gate[k] += q[k] }
            S.sigmoid(gate, count: 2 * h, settings: settings)                           // r, z
            for k in 0..<h {
                q[2 * h + k] += hiddenBiasN[k]                                            // W_hn h + b_hn
                gate[2 * h + k] += gate[k] * q[2 * h + k]
            }
            S.tanh(gate + 2 * h, count: h, settings: settings)                           // n
            for k in 0..<h {
                let keep = gate[h + k], candidate = gate[2 * h + k]
                state[k] = (1 - keep) * candidate + keep * state[k]
            }
        } }
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
        forEachRowBlock(m, settings: settings) { block in for row in block {
            let gate = gates.pointer + (r0 + row) * g, q = hiddenGates.pointer + (r0 + row) * g
            let d = dGates + (r0 + row) * g, e = dHiddenGates + (r0 + row) * g
            let previous = previousHidden.pointer + (r0 + row) * h, dhRow = dhRows + row * h
            for k in 0..<h {
                let reset = gate[k], keep = gate[h + k], candidate = gate[2 * h + k]
                let dnPre = dhRow[k] * (1 - keep) * (1 - candidate * candidate)
                let dzPre = dhRow[k] * (previous[k] - candidate) * keep * (1 - keep)
                let drPre = dnPre * q[2 * h + k] * reset * (1 - reset)
                d[k] = drPre; d[h + k] = dzPre; d[2 * h + k] = dnPre
                e[k] = drPre; e[h + k] = dzPre; e[2 * h + k] = reset * dnPre
                dhRow[k] = dhRow[k] * keep
            }
        } }
        S.multiply(m: m, a: dHiddenGates + r0 * g, lda: g, prepared: recurrent[0], c: dhRows, ldc: h, accumulate: true,
                   settings: settings)
    }
}
