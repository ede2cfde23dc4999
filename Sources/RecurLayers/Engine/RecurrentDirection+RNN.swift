/// The basic RNN cell, in the course's notation:
///
///     a<t> = g(W_aa a<t-1> + W_ax x<t> + b_a)        g = tanh or relu
///
/// with W_ax = `weight_ih` [H, D], W_aa = `weight_hh` [H, H] and b_a = `bias_ih` + `bias_hh`. Stacking
/// W_a = [W_aa | W_ax] and acting on [`a<t-1>`, `x<t>`] is the same product split in two: the x part for
/// all steps at once before the loop, the a part at each step.
///
/// Backward, with `da<t>` = dL/`da<t>` from above plus from step t+1:
///
///     dz<t>    = da<t> * g′(a<t>)          tanh′ = 1 − a², relu′ = [a > 0]
///     da<t-1>  = W_aaᵀ dz<t>
///     dW_aa   += dz<t> a<t-1>ᵀ,  dW_ax += dz<t> x<t>ᵀ,  db_a += dz<t>    (after the loop)
extension RecurrentDirection {
    /// gates rows [m, H]: z = `x<t>`·W_axᵀ + `a<t-1>`·W_aaᵀ (the first product made before the loop, or here when given
    /// the step's `projection`); then `a<t>` = g(z + b_a), into the state and `output`, the step's rows of the layer's
    /// output [m, H], rows `outputStride` apart (which the backward pass reads `a<t>` from).
    func rnnForwardStep(_ rows: StepRows, projection: StepProjection?, recurrent: [S.PreparedMatrix],
                        bias: UnsafePointer<S>, output: UnsafeMutablePointer<S>) {
        let h = hiddenSize, settings = rows.settings
        let z = stepGates(rows), a = hidden.pointer + rows.first * h
        addRecurrentProduct(rows, projection: projection, recurrent: recurrent[0], into: z)
        forEachRowBlock(rows.count, settings: settings) { block in
            let first = block.lowerBound * h
            S.rnnForward(rows: block.count, hiddenSize: h, preActivation: z + first, bias: bias,
                         relu: configuration.activation == .relu, hidden: a + first,
                         output: output + block.lowerBound * outputStride, outputStride: outputStride,
                         kernel: settings.kernel)
        }
    }

    func rnnBackwardStep(_ rows: StepRows, recurrent: [S.PreparedMatrix],
                         dh: UnsafeMutablePointer<S>, dGates: UnsafeMutablePointer<S>) {
        let h = hiddenSize, settings = rows.settings
        let a = output.pointer + rows.packedFirst * h, dz = dGates + rows.packedFirst * h, da = dh + rows.first * h
        forEachRowBlock(rows.count, settings: settings) { block in
            let span = (block.lowerBound * h)..<(block.upperBound * h)
            if configuration.activation == .relu {
                for k in span { dz[k] = a[k] > 0 ? da[k] : 0 }
            } else {
                S.tanhBackward(count: span.count, output: a + span.lowerBound, outputGradient: da + span.lowerBound,
                               inputGradient: dz + span.lowerBound, kernel: settings.kernel)
            }
        }
        S.multiply(m: rows.count, a: dz, lda: h, prepared: recurrent[0], c: da, ldc: h, accumulate: false, settings: settings)
    }
}
