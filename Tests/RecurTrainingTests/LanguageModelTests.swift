import Foundation
import Testing
import RecurTraining
import RecurModels
import RecurLayers
import RecurCore

/// The pieces of a `LanguageModel` are checked in Float64 one by one (LayerGradientTests, GradientCheckTests);
/// this checks their wiring — ids into the embedding, the recurrent gradient back into it, the decoder — with
/// Float32 central differences (step 1e-2 on a summed loss, so rounding stays near 1e-3 relative).
@Suite("Language model")
struct LanguageModelTests {
    @Test("gradients of the whole model match finite differences", arguments: [8, nil] as [Int?])
    func gradients(embeddingSize: Int?) {
        var generator = SeededGenerator(seed: 8)
        let v = 7
        let configuration = LanguageModelConfiguration(
            vocabularySize: v, embeddingSize: embeddingSize,
            recurrent: RecurrentConfiguration(cell: .gru, inputSize: embeddingSize ?? v, hiddenSize: 6, layers: 2))
        let model = LanguageModel(configuration, using: &generator)
        let batch = TokenBatch(steps: 3, batchSize: 2, inputs: [-1, 3, 2, 3, 6, 0], targets: [1, 4, 4, 2, 0, 5],
                               lengths: [3, 2], resets: [true, true])
        let loss = SoftmaxCrossEntropy(reduction: .sum)
        let settings = ComputeSettings(threadCount: 1)
        let state = model.zeroState(batchSize: 2)
        var unused = SeededGenerator(seed: 0)
        model.parameters.forEach { $0.zeroGradient() }
        let (value, _) = model.lossAndGradient(batch, initialState: state, loss: loss, dropoutGenerator: &unused, settings: settings)
        #expect(value.tokens == 5)
        #expect(model.loss(batch, initialState: state, loss: loss, settings: settings).loss.value == value.value)
        for (name, parameter) in model.namedParameters {
            let analytic = parameter.gradient.scalars
            for index in stride(from: 0, to: parameter.value.count, by: max(1, parameter.value.count / 5)) {
                let original = parameter.value.scalars[index]
                func at(_ x: Float) -> Double {
                    parameter.value.withUnsafeMutableBufferPointer { $0[index] = x }
                    return model.loss(batch, initialState: state, loss: loss, settings: settings).loss.value
                }
                let numeric = (at(original + 0.01) - at(original - 0.01)) / 0.02
                _ = at(original)
                let error = abs(numeric - Double(analytic[index])) / max(abs(numeric), 0.05)
                #expect(error < 2e-2, "\(name)[\(index)]: numeric \(numeric), analytic \(analytic[index])")
            }
        }
    }
}
