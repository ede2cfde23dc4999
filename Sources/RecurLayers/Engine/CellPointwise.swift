import Foundation
import CRecurKernels
import RecurCore

/// The pointwise parts of the cells: everything in a step after the matrix products, for `rows` rows of
/// H units. Arrays [rows, H] have rows H apart, but for `output`, whose rows are `outputStride` apart (H, or 2H
/// when one direction writes its half of a concatenated bidirectional output); gate arrays rows G apart
/// (3H GRU, 4H LSTM), blocks in PyTorch's order. `RecurrentDirection+LSTM.swift` and `+GRU.swift` give the
/// equations these transcribe.
///
/// `Float` runs them in C (`templates/Cells.inc.h`, vectorized per instruction set: Swift itself compiles
/// for the SSE2 baseline); `Double` runs the reference below, which the finite-difference checks test.
/// The tests compare the two on odd sizes for every kernel this machine has.
protocol CellPointwise {
    /// LSTM forward: c ← f*c + i*g (`previousCellState`, when given, receives the old c); hidden ← o * tanh(c), and
    /// `output` ← the same when given. With `cellTanh` given (training), the gates (i, f, g, o pre-activations
    /// without the bias, + bias [4H]) are activated in place and cellTanh ← tanh(c); without it (inference) the
    /// gates are left as they were.
    static func lstmForward(rows: Int, hiddenSize: Int, gates: UnsafeMutablePointer<Self>, bias: UnsafePointer<Self>,
                            cellState: UnsafeMutablePointer<Self>,
                            previousCellState: UnsafeMutablePointer<Self>?, cellTanh: UnsafeMutablePointer<Self>?,
                            hidden: UnsafeMutablePointer<Self>, output: UnsafeMutablePointer<Self>?,
                            outputStride: Int, kernel: CPUKernel)
    /// LSTM backward: from the activated gates, tanh(`c<t>`), `c<t-1>`, da and dc (updated to `dc<t-1>`), the
    /// pre-activation gate gradients.
    static func lstmBackward(rows: Int, hiddenSize: Int, gates: UnsafePointer<Self>, cellTanh: UnsafePointer<Self>,
                             previousCellState: UnsafePointer<Self>, hiddenGradient: UnsafePointer<Self>,
                             cellGradient: UnsafeMutablePointer<Self>, gateGradient: UnsafeMutablePointer<Self>,
                             kernel: CPUKernel)
    /// PyTorch GRU forward: from gates (r, z, n input parts) + bias [3H] (every bias but b_hn) and hiddenGates
    /// (W_hh h), hidden ← (1 − z) n + z hidden, and `output` ← the same when given. With `keepsGates` (training) the
    /// gates become the activated r, z, n and hiddenGates' n block receives + b_hn; without, both are left as they were.
    static func gruForward(rows: Int, hiddenSize: Int, gates: UnsafeMutablePointer<Self>, bias: UnsafePointer<Self>,
                           hiddenGates: UnsafeMutablePointer<Self>, candidateHiddenBias: UnsafePointer<Self>,
                           hidden: UnsafeMutablePointer<Self>, output: UnsafeMutablePointer<Self>?,
                           outputStride: Int, keepsGates: Bool, kernel: CPUKernel)
    /// PyTorch GRU backward: the input part's and the recurrent part's gate gradients; hiddenGradient ← dh * z.
    static func gruBackward(rows: Int, hiddenSize: Int, gates: UnsafePointer<Self>, hiddenGates: UnsafePointer<Self>,
                            previousHidden: UnsafePointer<Self>, hiddenGradient: UnsafeMutablePointer<Self>,
                            gateGradient: UnsafeMutablePointer<Self>, hiddenGateGradient: UnsafeMutablePointer<Self>,
                            kernel: CPUKernel)
    /// Course GRU, first half: [Γr, Γu] ← σ(gates + bias + product) (bias [3H], of which the first 2H are read;
    /// product [rows, 2H] = `c<t-1>`·[W_hr; W_hu]ᵀ); resetHidden ← Γr * `c<t-1>`.
    static func courseGRUGates(rows: Int, hiddenSize: Int, gates: UnsafeMutablePointer<Self>, bias: UnsafePointer<Self>,
                               product: UnsafePointer<Self>,
                               hidden: UnsafePointer<Self>, resetHidden: UnsafeMutablePointer<Self>, kernel: CPUKernel)
    /// Course GRU, second half: c̃ ← tanh(gates' c̃ block + bias's c̃ block); c ← Γu c̃ + (1 − Γu) c, and `output` ←
    /// the same when given.
    static func courseGRUUpdate(rows: Int, hiddenSize: Int, gates: UnsafeMutablePointer<Self>, bias: UnsafePointer<Self>,
                                hidden: UnsafeMutablePointer<Self>, output: UnsafeMutablePointer<Self>?,
                                outputStride: Int, kernel: CPUKernel)
    /// Basic RNN: a ← g(preActivation + bias [H]), g = relu when `relu`, else tanh, written to hidden and to
    /// `output` when given.
    static func rnnForward(rows: Int, hiddenSize: Int, preActivation: UnsafePointer<Self>, bias: UnsafePointer<Self>,
                           relu: Bool, hidden: UnsafeMutablePointer<Self>, output: UnsafeMutablePointer<Self>?,
                           outputStride: Int, kernel: CPUKernel)
    /// Course GRU backward, first half: dc̃ and dΓu pre-activation gradients; hiddenGradient ← dc (1 − Γu).
    static func courseGRUBackwardCandidate(rows: Int, hiddenSize: Int, gates: UnsafePointer<Self>,
                                           previousHidden: UnsafePointer<Self>, hiddenGradient: UnsafeMutablePointer<Self>,
                                           gateGradient: UnsafeMutablePointer<Self>, kernel: CPUKernel)
    /// Course GRU backward, second half, with ds = dL/d(Γr * `c<t-1>`): dΓr; hiddenGradient += ds Γr.
    static func courseGRUBackwardReset(rows: Int, hiddenSize: Int, gates: UnsafePointer<Self>,
                                       previousHidden: UnsafePointer<Self>, resetGradient: UnsafePointer<Self>,
                                       hiddenGradient: UnsafeMutablePointer<Self>, gateGradient: UnsafeMutablePointer<Self>,
                                       kernel: CPUKernel)
    /// dx = dy (1 − y²) for `count` elements, y = tanh(x).
    static func tanhBackward(count: Int, output: UnsafePointer<Self>, outputGradient: UnsafePointer<Self>,
                             inputGradient: UnsafeMutablePointer<Self>, kernel: CPUKernel)
}

extension Float: CellPointwise {
    static func lstmForward(rows: Int, hiddenSize: Int, gates: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>,
                                   cellState: UnsafeMutablePointer<Float>, previousCellState: UnsafeMutablePointer<Float>?,
                                   cellTanh: UnsafeMutablePointer<Float>?, hidden: UnsafeMutablePointer<Float>,
                                   output: UnsafeMutablePointer<Float>?, outputStride: Int, kernel: CPUKernel) {
        recur_lstm_forward(kernel.isa, rows, hiddenSize, gates, bias, cellState, previousCellState, cellTanh,
                           hidden, output, outputStride)
    }

    static func lstmBackward(rows: Int, hiddenSize: Int, gates: UnsafePointer<Float>, cellTanh: UnsafePointer<Float>,
                                    previousCellState: UnsafePointer<Float>, hiddenGradient: UnsafePointer<Float>,
                                    cellGradient: UnsafeMutablePointer<Float>, gateGradient: UnsafeMutablePointer<Float>,
                                    kernel: CPUKernel) {
        recur_lstm_backward(kernel.isa, rows, hiddenSize, gates, cellTanh, previousCellState, hiddenGradient, cellGradient,
                            gateGradient)
    }

    static func gruForward(rows: Int, hiddenSize: Int, gates: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>,
                                  hiddenGates: UnsafeMutablePointer<Float>, candidateHiddenBias: UnsafePointer<Float>,
                                  hidden: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>?,
                                  outputStride: Int, keepsGates: Bool, kernel: CPUKernel) {
        recur_gru_forward(kernel.isa, rows, hiddenSize, gates, bias, hiddenGates, candidateHiddenBias, hidden, output,
                          outputStride, keepsGates ? 1 : 0)
    }

    static func gruBackward(rows: Int, hiddenSize: Int, gates: UnsafePointer<Float>, hiddenGates: UnsafePointer<Float>,
                                   previousHidden: UnsafePointer<Float>, hiddenGradient: UnsafeMutablePointer<Float>,
                                   gateGradient: UnsafeMutablePointer<Float>, hiddenGateGradient: UnsafeMutablePointer<Float>,
                                   kernel: CPUKernel) {
        recur_gru_backward(kernel.isa, rows, hiddenSize, gates, hiddenGates, previousHidden, hiddenGradient, gateGradient,
                           hiddenGateGradient)
    }

    static func courseGRUGates(rows: Int, hiddenSize: Int, gates: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>,
                                      product: UnsafePointer<Float>, hidden: UnsafePointer<Float>,
                                      resetHidden: UnsafeMutablePointer<Float>, kernel: CPUKernel) {
        recur_course_gru_gates(kernel.isa, rows, hiddenSize, gates, bias, product, hidden, resetHidden)
    }

    static func courseGRUUpdate(rows: Int, hiddenSize: Int, gates: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>,
                                       hidden: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>?,
                                       outputStride: Int, kernel: CPUKernel) {
        recur_course_gru_update(kernel.isa, rows, hiddenSize, gates, bias, hidden, output, outputStride)
    }

    static func rnnForward(rows: Int, hiddenSize: Int, preActivation: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                                  relu: Bool, hidden: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>?,
                                  outputStride: Int, kernel: CPUKernel) {
        recur_rnn_forward(kernel.isa, rows, hiddenSize, preActivation, bias, relu ? 1 : 0, hidden, output, outputStride)
    }

    static func courseGRUBackwardCandidate(rows: Int, hiddenSize: Int, gates: UnsafePointer<Float>,
                                                  previousHidden: UnsafePointer<Float>, hiddenGradient: UnsafeMutablePointer<Float>,
                                                  gateGradient: UnsafeMutablePointer<Float>, kernel: CPUKernel) {
        recur_course_gru_backward_candidate(kernel.isa, rows, hiddenSize, gates, previousHidden, hiddenGradient, gateGradient)
    }

    static func courseGRUBackwardReset(rows: Int, hiddenSize: Int, gates: UnsafePointer<Float>,
                                              previousHidden: UnsafePointer<Float>, resetGradient: UnsafePointer<Float>,
                                              hiddenGradient: UnsafeMutablePointer<Float>, gateGradient: UnsafeMutablePointer<Float>,
                                              kernel: CPUKernel) {
        recur_course_gru_backward_reset(kernel.isa, rows, hiddenSize, gates, previousHidden, resetGradient, hiddenGradient,
                                        gateGradient)
    }

    static func tanhBackward(count: Int, output: UnsafePointer<Float>, outputGradient: UnsafePointer<Float>,
                                    inputGradient: UnsafeMutablePointer<Float>, kernel: CPUKernel) {
        recur_tanh_backward(kernel.isa, count, output, outputGradient, inputGradient)
    }
}

/// The reference transcription, one unit at a time: what `Double` runs, and the twin the C kernels are tested against.
extension Double: CellPointwise {
    private static func sigmoid(_ x: Double) -> Double { 1 / (1 + Foundation.exp(-x)) }
    private static func tanh(_ x: Double) -> Double { Foundation.tanh(x) }

    static func lstmForward(rows: Int, hiddenSize h: Int, gates: UnsafeMutablePointer<Double>,
                                   bias b: UnsafePointer<Double>, cellState: UnsafeMutablePointer<Double>,
                                   previousCellState: UnsafeMutablePointer<Double>?, cellTanh: UnsafeMutablePointer<Double>?,
                                   hidden: UnsafeMutablePointer<Double>, output: UnsafeMutablePointer<Double>?,
                                   outputStride: Int, kernel: CPUKernel) {
        for row in 0..<rows {
            let gate = gates + row * 4 * h, c = cellState + row * h
            for k in 0..<h {
                let update = sigmoid(gate[k] + b[k]), forget = sigmoid(gate[h + k] + b[h + k])
                let candidate = tanh(gate[2 * h + k] + b[2 * h + k]), outputGate = sigmoid(gate[3 * h + k] + b[3 * h + k])
                previousCellState?[row * h + k] = c[k]
                c[k] = update * candidate + forget * c[k]                 // c<t> = Γu * c̃ + Γf * c<t-1>
                let t = tanh(c[k])
                hidden[row * h + k] = outputGate * t                      // a<t> = Γo * tanh(c<t>)
                output?[row * outputStride + k] = outputGate * t
                if let cellTanh {
                    cellTanh[row * h + k] = t
                    gate[k] = update; gate[h + k] = forget; gate[2 * h + k] = candidate; gate[3 * h + k] = outputGate
                }
            }
        }
    }

    static func lstmBackward(rows: Int, hiddenSize h: Int, gates: UnsafePointer<Double>, cellTanh: UnsafePointer<Double>,
                                    previousCellState: UnsafePointer<Double>, hiddenGradient: UnsafePointer<Double>,
                                    cellGradient: UnsafeMutablePointer<Double>, gateGradient: UnsafeMutablePointer<Double>,
                                    kernel: CPUKernel) {
        for row in 0..<rows {
            let gate = gates + row * 4 * h, d = gateGradient + row * 4 * h
            for k in 0..<h {
                let i = row * h + k
                let update = gate[k], forget = gate[h + k], candidate = gate[2 * h + k], output = gate[3 * h + k]
                let t = cellTanh[i], da = hiddenGradient[i]
                let dc = cellGradient[i] + da * output * (1 - t * t)
                d[k] = dc * candidate * update * (1 - update)
                d[h + k] = dc * previousCellState[i] * forget * (1 - forget)
                d[2 * h + k] = dc * update * (1 - candidate * candidate)
                d[3 * h + k] = da * t * output * (1 - output)
                cellGradient[i] = dc * forget
            }
        }
    }

    static func gruForward(rows: Int, hiddenSize h: Int, gates: UnsafeMutablePointer<Double>,
                                  bias b: UnsafePointer<Double>, hiddenGates: UnsafeMutablePointer<Double>,
                                  candidateHiddenBias: UnsafePointer<Double>, hidden: UnsafeMutablePointer<Double>,
                                  output: UnsafeMutablePointer<Double>?,
                                  outputStride: Int, keepsGates: Bool, kernel: CPUKernel) {
        for row in 0..<rows {
            let gate = gates + row * 3 * h, q = hiddenGates + row * 3 * h, state = hidden + row * h
            for k in 0..<h {
                let reset = sigmoid(gate[k] + b[k] + q[k]), keep = sigmoid(gate[h + k] + b[h + k] + q[h + k])
                let hn = q[2 * h + k] + candidateHiddenBias[k]                          // W_hn h + b_hn
                let candidate = tanh(gate[2 * h + k] + b[2 * h + k] + reset * hn)       // n
                state[k] = (1 - keep) * candidate + keep * state[k]                     // h′ = (1 − z) n + z h
                output?[row * outputStride + k] = state[k]
                if keepsGates { gate[k] = reset; gate[h + k] = keep; gate[2 * h + k] = candidate; q[2 * h + k] = hn }
            }
        }
    }

    static func gruBackward(rows: Int, hiddenSize h: Int, gates: UnsafePointer<Double>, hiddenGates: UnsafePointer<Double>,
                                   previousHidden: UnsafePointer<Double>, hiddenGradient: UnsafeMutablePointer<Double>,
                                   gateGradient: UnsafeMutablePointer<Double>, hiddenGateGradient: UnsafeMutablePointer<Double>,
                                   kernel: CPUKernel) {
        for row in 0..<rows {
            let gate = gates + row * 3 * h, q = hiddenGates + row * 3 * h
            let d = gateGradient + row * 3 * h, e = hiddenGateGradient + row * 3 * h
            for k in 0..<h {
                let i = row * h + k, dh = hiddenGradient[i]
                let reset = gate[k], keep = gate[h + k], candidate = gate[2 * h + k]
                let dn = dh * (1 - keep) * (1 - candidate * candidate)
                let dz = dh * (previousHidden[i] - candidate) * keep * (1 - keep)
                let dr = dn * q[2 * h + k] * reset * (1 - reset)
                d[k] = dr; d[h + k] = dz; d[2 * h + k] = dn
                e[k] = dr; e[h + k] = dz; e[2 * h + k] = reset * dn
                hiddenGradient[i] = dh * keep
            }
        }
    }

    static func courseGRUGates(rows: Int, hiddenSize h: Int, gates: UnsafeMutablePointer<Double>,
                                      bias b: UnsafePointer<Double>, product: UnsafePointer<Double>,
                                      hidden: UnsafePointer<Double>, resetHidden: UnsafeMutablePointer<Double>,
                                      kernel: CPUKernel) {
        for row in 0..<rows {
            let gate = gates + row * 3 * h, p = product + row * 2 * h
            for k in 0..<h {
                gate[k] = sigmoid(gate[k] + b[k] + p[k])                              // Γr
                gate[h + k] = sigmoid(gate[h + k] + b[h + k] + p[h + k])              // Γu
                resetHidden[row * h + k] = gate[k] * hidden[row * h + k]              // Γr * c<t-1>
            }
        }
    }

    static func courseGRUUpdate(rows: Int, hiddenSize h: Int, gates: UnsafeMutablePointer<Double>,
                                       bias b: UnsafePointer<Double>, hidden: UnsafeMutablePointer<Double>,
                                       output: UnsafeMutablePointer<Double>?, outputStride: Int, kernel: CPUKernel) {
        for row in 0..<rows {
            let gate = gates + row * 3 * h, c = hidden + row * h
            for k in 0..<h {
                gate[2 * h + k] = tanh(gate[2 * h + k] + b[2 * h + k])                // c̃
                c[k] = gate[h + k] * gate[2 * h + k] + (1 - gate[h + k]) * c[k]       // c = Γu c̃ + (1 − Γu) c
                output?[row * outputStride + k] = c[k]
            }
        }
    }

    static func rnnForward(rows: Int, hiddenSize h: Int, preActivation: UnsafePointer<Double>,
                                  bias b: UnsafePointer<Double>, relu: Bool, hidden: UnsafeMutablePointer<Double>,
                                  output: UnsafeMutablePointer<Double>?, outputStride: Int, kernel: CPUKernel) {
        for row in 0..<rows {
            for k in 0..<h {
                let z = preActivation[row * h + k] + b[k]                             // W_aa a<t-1> + W_ax x<t> + b_a
                let a = relu ? (z > 0 ? z : 0) : tanh(z)                              // a<t> = g(z)
                hidden[row * h + k] = a
                output?[row * outputStride + k] = a
            }
        }
    }

    static func courseGRUBackwardCandidate(rows: Int, hiddenSize h: Int, gates: UnsafePointer<Double>,
                                                  previousHidden: UnsafePointer<Double>,
                                                  hiddenGradient: UnsafeMutablePointer<Double>,
                                                  gateGradient: UnsafeMutablePointer<Double>, kernel: CPUKernel) {
        for row in 0..<rows {
            let gate = gates + row * 3 * h, d = gateGradient + row * 3 * h
            for k in 0..<h {
                let i = row * h + k, dc = hiddenGradient[i]
                let update = gate[h + k], candidate = gate[2 * h + k]
                d[2 * h + k] = dc * update * (1 - candidate * candidate)
                d[h + k] = dc * (candidate - previousHidden[i]) * update * (1 - update)
                hiddenGradient[i] = dc * (1 - update)
            }
        }
    }

    static func courseGRUBackwardReset(rows: Int, hiddenSize h: Int, gates: UnsafePointer<Double>,
                                              previousHidden: UnsafePointer<Double>, resetGradient: UnsafePointer<Double>,
                                              hiddenGradient: UnsafeMutablePointer<Double>,
                                              gateGradient: UnsafeMutablePointer<Double>, kernel: CPUKernel) {
        for row in 0..<rows {
            for k in 0..<h {
                let i = row * h + k, reset = gates[row * 3 * h + k]
                gateGradient[row * 3 * h + k] = resetGradient[i] * previousHidden[i] * reset * (1 - reset)
                hiddenGradient[i] += resetGradient[i] * reset
            }
        }
    }

    static func tanhBackward(count: Int, output: UnsafePointer<Double>, outputGradient: UnsafePointer<Double>,
                                    inputGradient: UnsafeMutablePointer<Double>, kernel: CPUKernel) {
        for k in 0..<count { inputGradient[k] = outputGradient[k] * (1 - output[k] * output[k]) }
    }
}
