extension Tensor {
    /// f applied to every element.
    public func applying(_ activation: Activation, settings: ComputeSettings = .current) -> Tensor {
        elementwise { x, y, count in activation.apply(x, y, count: count, kernel: settings.kernel) }
    }

    /// σ(x) = 1 / (1 + e^−x) of every element.
    public func sigmoid() -> Tensor { applying(.sigmoid) }
    /// tanh of every element.
    public func tanh() -> Tensor { applying(.tanh) }
    /// max(x, 0) of every element.
    public func relu() -> Tensor { applying(.relu) }

    /// e^x for every element (vectorized; inputs are clamped to [−87, 88]).
    public func exp(settings: ComputeSettings = .current) -> Tensor {
        elementwise { x, y, count in Activation.exp(x, y, count: count, kernel: settings.kernel) }
    }

    /// Softmax over the last axis.
    public func softmax(settings: ComputeSettings = .current) -> Tensor {
        rowwise { x, y, rows, width in Softmax.forward(x, y, rows: rows, width: width, kernel: settings.kernel) }
    }

    /// Log-softmax over the last axis.
    public func logSoftmax(settings: ComputeSettings = .current) -> Tensor {
        rowwise { x, y, rows, width in Softmax.logForward(x, y, rows: rows, width: width, kernel: settings.kernel) }
    }

    /// The input gradient of `activation` given its output (`self`) and the output gradient.
    public func activationBackward(_ activation: Activation, outputGradient: Tensor) -> Tensor {
        require(shape == outputGradient.shape, "output \(shape) and its gradient \(outputGradient.shape) differ in shape")
        var dx = Tensor(shape: shape)
        withUnsafeBufferPointer { y in
            outputGradient.withUnsafeBufferPointer { dy in
                dx.withUnsafeMutableBufferPointer { dxp in
                    activation.backward(output: y.baseAddress!, outputGradient: dy.baseAddress!,
                                        inputGradient: dxp.baseAddress!, count: count)
                }
            }
        }
        return dx
    }

    /// The input gradient of softmax given its output (`self`) and the output gradient.
    public func softmaxBackward(outputGradient: Tensor) -> Tensor {
        rowwiseBackward(outputGradient) { y, dy, dx, rows, width in
            Softmax.backward(output: y, outputGradient: dy, inputGradient: dx, rows: rows, width: width)
        }
    }

    /// The input gradient of log-softmax given its output (`self`) and the output gradient.
    public func logSoftmaxBackward(outputGradient: Tensor) -> Tensor {
        rowwiseBackward(outputGradient) { y, dy, dx, rows, width in
            Softmax.logBackward(output: y, outputGradient: dy, inputGradient: dx, rows: rows, width: width)
        }
    }

    /// A tensor of the same shape whose elements `body(x, y, count)` writes from this one's.
    private func elementwise(_ body: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void) -> Tensor {
        var y = Tensor(shape: shape)
        withUnsafeBufferPointer { x in
            y.withUnsafeMutableBufferPointer { yp in body(x.baseAddress!, yp.baseAddress!, count) }
        }
        return y
    }

    private func rowwise(_ body: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int, Int) -> Void) -> Tensor {
        require(rank >= 1, "a row-wise function needs a tensor of rank ≥ 1")
        let width = shape[rank - 1]
        var y = Tensor(shape: shape)
        withUnsafeBufferPointer { x in
            y.withUnsafeMutableBufferPointer { yp in
                body(x.baseAddress!, yp.baseAddress!, width == 0 ? 0 : count / width, width)
            }
        }
        return y
    }

    private func rowwiseBackward(
        _ outputGradient: Tensor,
        _ body: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int, Int) -> Void
    ) -> Tensor {
        require(shape == outputGradient.shape, "output \(shape) and its gradient \(outputGradient.shape) differ in shape")
        require(rank >= 1, "a row-wise function needs a tensor of rank ≥ 1")
        let width = shape[rank - 1]
        var dx = Tensor(shape: shape)
        withUnsafeBufferPointer { y in
            outputGradient.withUnsafeBufferPointer { dy in
                dx.withUnsafeMutableBufferPointer { dxp in
                    body(y.baseAddress!, dy.baseAddress!, dxp.baseAddress!, width == 0 ? 0 : count / width, width)
                }
            }
        }
        return dx
    }
}
