/// The basic RNN cell, in the course's notation:
///
///     a<t> = g(W_aa a<t-1> + W_ax x<t> + b_a)        g = tanh or relu
///
/// with W_ax = `weight_ih` [H, D], W_aa = `weight_hh` [H, H] and b_a = `bias_ih` + `bias_hh`. Stacking
/// W_a = [W_aa | W_ax] and acting on [a<t-1>, x<t>] is the same product split in two: the x part for
/// all steps at once before the loop, the a part at each step.
///
/// Backward, with da<t> = dL/da<t> from above plus from step t+1:
///
///     dz<t>    = da<t> * g′(a<t>)          tanh′ = 1 − a², relu′ = [a > 0]
///     da<t-1>  = W_aaᵀ dz<t>
///     dW_aa   += dz<t> a<t-1>ᵀ,  dW_ax += dz<t> x<t>ᵀ,  db_a += dz<t>    (after the loop)
extension RecurrentDirection {
    /// gates rows [n, H]: z = projection + a<t-1>·W_aaᵀ, then a<t> = g(z) (kept in place: it is the output).
    func rnnForwardStep(rows n: Int, firstRow r0: Int, recurrent: [S.PreparedMatrix]) {
        let h = hiddenSize
        let z = gates.pointer + r0 * h
        S.multiply(m: n, a: hidden.pointer, lda: h, prepared: recurrent[0], c: z, ldc: h, accumulate: true,
                   settings: settings)
        if configuration.activation == .relu {
            for k in 0..<(n * h) where !(z[k] > 0) { z[k] = 0 }
        } else {
            S.tanh(z, count: n * h, settings: settings)
        }
        hidden.pointer.update(from: z, count: n * h)
    }

    func rnnBackwardStep(rows n: Int, firstRow r0: Int, recurrent: [S.PreparedMatrix],
                         dh: UnsafeMutablePointer<S>, dGates: UnsafeMutablePointer<S>) {
        let h = hiddenSize
        let a = gates.pointer + r0 * h, dz = dGates + r0 * h
        if configuration.activation == .relu {
            for k in 0..<(n * h) { dz[k] = a[k] > 0 ? dh[k] : 0 }
        } else {
            for k in 0..<(n * h) { dz[k] = dh[k] * (1 - a[k] * a[k]) }
        }
        S.multiply(m: n, a: dz, lda: h, prepared: recurrent[0], c: dh, ldc: h, accumulate: false, settings: settings)
    }
}
