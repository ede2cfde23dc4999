import Dispatch
import RecurCore

/// Times a recurrent network the way `recur bench rnn` reports it (and as the PyTorch peer script does):
/// after warm-up calls, each of `repeats` windows runs the call back to back for at least `minimumTime`
/// seconds; the median window gives the figure.
///
/// - `train`: forward keeping the cache, then backward of L = Σ outputs (no optimizer step; like the peer's,
///   no gradient for the input itself).
/// - `infer`: forward without caches.
/// - `step`: one time step per call with the state carried over, as sampling does.
/// Tokens are batch × sequence length per call (batch per call for `step`).
package struct RecurrentBenchmark {
    package enum Mode: String, CaseIterable, Sendable {
        case train, infer, step
    }

    package struct Result: Sendable {
        package var tokensPerSecond: Double
        package var microsecondsPerToken: Double { 1e6 / tokensPerSecond }
        /// Matrix-product GFLOP/s, counted as the peer does: 2·B·G·H·(D_l + H) per step, layer and direction,
        /// times 3 for training.
        package var gflops: Double
    }

    package var configuration: RecurrentConfiguration
    package var batchSize: Int
    package var sequenceLength: Int
    package var mode: Mode
    package var repeats: Int
    package var minimumTime: Double

    package init(configuration: RecurrentConfiguration, batchSize: Int, sequenceLength: Int, mode: Mode,
                repeats: Int = 7, minimumTime: Double = 0.25) {
        require(batchSize >= 1 && sequenceLength >= 1 && repeats >= 1 && minimumTime > 0,
                "a benchmark needs positive sizes, repeats and time")
        self.configuration = configuration
        self.batchSize = batchSize
        self.sequenceLength = sequenceLength
        self.mode = mode
        self.repeats = repeats
        self.minimumTime = minimumTime
    }

    /// Matrix-product FLOPs of one forward pass over `steps` steps.
    package func forwardOperations(steps: Int) -> Double {
        let c = configuration
        return (0..<c.layers).reduce(0.0) { total, layer in
            total + 2 * Double(batchSize * c.gateWidth) * Double(c.inputSize(ofLayer: layer) + c.hiddenSize)
                * Double(steps * c.directionCount)
        }
    }

    package func run(settings: ComputeSettings) -> Result {
        var generator = SeededGenerator(seed: 2024)
        let network = RecurrentNetwork(configuration, using: &generator)
        let call: () -> Void
        let tokensPerCall: Int
        let operationsPerCall: Double
        switch mode {
        case .train, .infer:
            let x = Tensor.normal([sequenceLength, batchSize, configuration.inputSize], using: &generator)
            let ones = Tensor.ones([sequenceLength, batchSize, configuration.outputSize])
            var dropout = SeededGenerator(seed: 1)
            tokensPerCall = sequenceLength * batchSize
            operationsPerCall = forwardOperations(steps: sequenceLength) * (mode == .train ? 3 : 1)
            call = mode == .infer ? { _ = network(x, settings: settings) } : {
                let (_, tape) = network.forward(x, dropoutGenerator: &dropout, settings: settings)
                _ = network.backward(tape, outputGradient: ones, needsInputGradient: false)
            }
        case .step:
            let stepper = RecurrentStepper(network, batchSize: batchSize, settings: settings)
            let inputs = (0..<200).map { _ in Tensor.normal([batchSize, configuration.inputSize], using: &generator) }
            var next = 0
            tokensPerCall = batchSize
            operationsPerCall = forwardOperations(steps: 1)
            call = {
                stepper.step(inputs[next])
                next = (next + 1) % inputs.count
            }
        }
        for _ in 0..<2 { call() }
        let once = DispatchTime.now().uptimeNanoseconds
        call()
        let single = max(1e-9, Double(DispatchTime.now().uptimeNanoseconds - once) / 1e9)
        let inner = max(1, Int(minimumTime / single))
        var seconds: [Double] = []
        for _ in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<inner { call() }
            seconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 / Double(inner))
        }
        let median = seconds.sorted()[seconds.count / 2]
        return Result(tokensPerSecond: Double(tokensPerCall) / median, gflops: operationsPerCall / median / 1e9)
    }
}
