import Foundation
import Testing
@testable import RecurTraining
import RecurLayers
import RecurCore
import RecurTestSupport

/// Two parameters with fixed values and gradients, for hand-computed updates.
private func parameters() -> [Parameter] {
    let a = Parameter(name: "a", value: Tensor(shape: [2], scalars: [1.0, -2.0]))
    let b = Parameter(name: "b", value: Tensor(shape: [1], scalars: [0.5]))
    return [a, b]
}

/// Sets the gradients used at step 1 and step 2.
private func setGradients(_ parameters: [Parameter], step: Int) {
    let values: [[Float]] = step == 1 ? [[0.5, -1.0], [2.0]] : [[-0.25, 0.75], [1.0]]
    for (p, v) in zip(parameters, values) { p.gradient = Tensor(shape: [v.count], scalars: v) }
}

/// Runs two steps and returns the values after them.
private func twoSteps(_ configuration: OptimizerConfiguration, learningRate: Double) -> [Float] {
    let ps = parameters()
    let optimizer = Optimizer(configuration, parameters: ps)
    for step in 1...2 {
        setGradients(ps, step: step)
        optimizer.step(learningRate: learningRate)
    }
    return ps.flatMap(\.value.scalars)
}

/// The same two steps written out by hand in Double, one formula per line, element by element.
private func byHand(_ update: (_ p: inout Double, _ g: Double, _ t: Int, _ state: inout [Double]) -> Void) -> [Float] {
    var result: [Float] = []
    let start: [Double] = [1, -2, 0.5]
    let gradients: [[Double]] = [[0.5, -1, 2], [-0.25, 0.75, 1]]
    for i in 0..<3 {
        var p = start[i], state = [0.0, 0.0]
        for t in 1...2 { update(&p, gradients[t - 1][i], t, &state) }
        result.append(Float(p))
    }
    return result
}

@Suite("Optimizers")
struct OptimizerTests {
    func expectClose(_ a: [Float], _ b: [Float], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(a.count == b.count, sourceLocation: sourceLocation)
        for (x, y) in zip(a, b) {
            #expect(abs(x - y) <= 1e-6 * max(1, abs(y)), "\(a) vs \(b)", sourceLocation: sourceLocation)
        }
    }

    @Test("SGD: p − η (g + λp)")
    func sgd() {
        expectClose(twoSteps(.init(kind: .sgd, weightDecay: 0.1), learningRate: 0.1),
                    byHand { p, g, _, _ in p -= 0.1 * (g + 0.1 * p) })
    }

    @Test("SGD with momentum and with Nesterov momentum")
    func momentum() {
        expectClose(twoSteps(.init(kind: .sgd, momentum: 0.9), learningRate: 0.1),
                    byHand { p, g, _, s in s[0] = 0.9 * s[0] + g; p -= 0.1 * s[0] })
        expectClose(twoSteps(.init(kind: .sgd, momentum: 0.9, nesterov: true, weightDecay: 0.01), learningRate: 0.1),
                    byHand { p, g, _, s in
                        let gd = g + 0.01 * p
                        s[0] = 0.9 * s[0] + gd
                        p -= 0.1 * (gd + 0.9 * s[0])
                    })
    }

    @Test("Adam and AdamW with bias correction")
    func adam() {
        func adam(decoupled: Bool, decay: Double) -> [Float] {
            byHand { p, g, t, s in
                if decoupled { p -= 0.01 * decay * p }
                let gd = decoupled ? g : g + decay * p
                s[0] = 0.9 * s[0] + 0.1 * gd
                s[1] = 0.999 * s[1] + 0.001 * gd * gd
                let mHat = s[0] / (1 - pow(0.9, Double(t))), vHat = s[1] / (1 - pow(0.999, Double(t)))
                p -= 0.01 * mHat / (vHat.squareRoot() + 1e-8)
            }
        }
        expectClose(twoSteps(.init(kind: .adam, weightDecay: 0.1), learningRate: 0.01), adam(decoupled: false, decay: 0.1))
        expectClose(twoSteps(.init(kind: .adamw), learningRate: 0.01), adam(decoupled: true, decay: 0.01))
    }

    @Test("RMSprop with and without momentum")
    func rmsprop() {
        expectClose(twoSteps(.init(kind: .rmsprop), learningRate: 0.01),
                    byHand { p, g, _, s in s[0] = 0.99 * s[0] + 0.01 * g * g; p -= 0.01 * g / (s[0].squareRoot() + 1e-8) })
        expectClose(twoSteps(.init(kind: .rmsprop, momentum: 0.5), learningRate: 0.01),
                    byHand { p, g, _, s in
                        s[0] = 0.99 * s[0] + 0.01 * g * g
                        s[1] = 0.5 * s[1] + g / (s[0].squareRoot() + 1e-8)
                        p -= 0.01 * s[1]
                    })
    }

    @Test("a frozen parameter is left as it is, with weight decay and a gradient; the others move")
    func frozen() {
        for kind in OptimizerConfiguration.Kind.allCases {
            let ps = parameters()
            ps[0].isFrozen = true
            let optimizer = Optimizer(OptimizerConfiguration(kind: kind, momentum: 0.9, weightDecay: 0.1), parameters: ps)
            setGradients(ps, step: 1)
            optimizer.step(learningRate: 0.1)
            #expect(ps[0].value.scalars == [1.0, -2.0], "\(kind)")
            #expect(ps[1].value.scalars != [0.5], "\(kind)")
        }
    }

    @Test("running averages that decay below the smallest normal Float become zero, not subnormal")
    func subnormalsFlushed() {
        for kind in OptimizerConfiguration.Kind.allCases where kind != .sgd {
            let ps = parameters()
            let optimizer = Optimizer(OptimizerConfiguration(kind: kind, momentum: 0.9), parameters: ps)
            setGradients(ps, step: 1)
            optimizer.step(learningRate: 0.001)
            var subnormal = 0
            for _ in 0..<1000 {          // 0.05 · 0.9^k is subnormal for k in about 800…960
                ps.forEach { $0.zeroGradient() }
                optimizer.step(learningRate: 0.001)
                for slot in optimizer.state.tensors {
                    subnormal += slot.value.scalars.filter { $0 != 0 && abs($0) < Float.leastNormalMagnitude }.count
                }
            }
            #expect(subnormal == 0, "\(kind)")
        }
    }

    @Test("optimizer state restores into a fresh optimizer and continues identically")
    func stateRoundTrip() throws {
        let configuration = OptimizerConfiguration(kind: .adam)
        let first = parameters(), second = parameters()
        let a = Optimizer(configuration, parameters: first), b = Optimizer(configuration, parameters: second)
        setGradients(first, step: 1)
        a.step(learningRate: 0.01)
        for (p, q) in zip(first, second) { q.value = p.value }
        let saved = a.state
        #expect(saved.tensors.map(\.name) == ["a.exp_avg", "a.exp_avg_sq", "b.exp_avg", "b.exp_avg_sq"])
        try b.restore(stepCount: saved.stepCount, tensors: Dictionary(uniqueKeysWithValues: saved.tensors.map { ($0.name, $0.value) }))
        setGradients(first, step: 2)
        setGradients(second, step: 2)
        a.step(learningRate: 0.01)
        b.step(learningRate: 0.01)
        #expect(first.map(\.value) == second.map(\.value))
        #expect(throws: OptimizerStateError.missing("a.exp_avg")) { try b.restore(stepCount: 1, tensors: [:]) }
    }

    @Test("bad constants are named")
    func problems() {
        #expect(OptimizerConfiguration(kind: .adam, nesterov: true).problems == ["Nesterov momentum needs SGD with a momentum above 0"])
        #expect(OptimizerConfiguration(kind: .sgd, momentum: 1).problems.count == 1)
        #expect(OptimizerConfiguration(kind: .adamw).weightDecay == 0.01)
    }
}

@Suite("Clipping and schedules")
struct ClippingTests {
    @Test("clipping by norm returns the norm before clipping and rescales to the threshold")
    func clipNorm() {
        let ps = parameters()
        ps[0].gradient = Tensor(shape: [2], scalars: [3, 0])
        ps[1].gradient = Tensor(shape: [1], scalars: [-4])
        let norm = GradientClipping.norm(2).apply(to: ps)
        #expect(norm == 5)
        let scale = Float(2 / (5 + 1e-6))
        #expect(ps[0].gradient.scalars == [3 * scale, 0] && ps[1].gradient.scalars == [-4 * scale])
        #expect(abs(GradientClipping.norm(of: ps) - 2) < 1e-5)
        // Under the threshold nothing changes.
        #expect(GradientClipping.norm(10).apply(to: ps) < 2.0001)
        #expect(ps[1].gradient.scalars == [-4 * scale])
    }

    @Test("clipping by value bounds every element and returns the norm before clipping")
    func clipValue() {
        let ps = parameters()
        ps[0].gradient = Tensor(shape: [2], scalars: [6, -0.5])
        ps[1].gradient = Tensor(shape: [1], scalars: [-8])
        let norm = GradientClipping.value(5).apply(to: ps)
        #expect(abs(norm - (36 + 0.25 + 64).squareRoot()) < 1e-9)
        #expect(ps[0].gradient.scalars == [5, -0.5] && ps[1].gradient.scalars == [-5])
        ps[1].gradient = Tensor(shape: [1], scalars: [.nan])
        #expect(GradientClipping.none.apply(to: ps).isNaN, "a NaN gradient shows in the norm")
    }

    @Test("schedules give the documented rates")
    func schedules() {
        #expect(LearningRateSchedule.constant.rate(base: 0.5, step: 1000) == 0.5)
        let decay = LearningRateSchedule.stepDecay(start: 4, every: 2, factor: 0.5)
        #expect((0..<9).map { decay.rate(base: 1, step: $0) } == [1, 1, 1, 1, 0.5, 0.5, 0.25, 0.25, 0.125])
        #expect(abs(LearningRateSchedule.exponential(factor: 0.9).rate(base: 2, step: 3) - 2 * 0.729) < 1e-12)
        let cosine = LearningRateSchedule.warmupCosine(warmupSteps: 4, totalSteps: 14, minimum: 0.1)
        #expect(cosine.rate(base: 1, step: 0) == 0.25 && cosine.rate(base: 1, step: 3) == 1)
        #expect(abs(cosine.rate(base: 1, step: 4) - 1) < 1e-12)
        #expect(abs(cosine.rate(base: 1, step: 9) - 0.55) < 1e-12)
        #expect(abs(cosine.rate(base: 1, step: 14) - 0.1) < 1e-12)
    }

    @Test("reduce-on-plateau cuts the rate after `patience` validations without improvement")
    func plateau() throws {
        let schedule = LearningRateSchedule.reduceOnPlateau(factor: 0.5, patience: 1, minimum: 0.1)
        var state = PlateauState()
        var rates: [Double] = []
        for loss in [3.0, 2.0, 2.1, 2.05, 1.0, 1.5, 1.5, 1.5, 1.5, 1.5, 1.5] {
            schedule.observe(validationLoss: loss, plateau: &state)
            rates.append(schedule.rate(base: 1, step: 0, plateau: state))
        }
        #expect(rates == [1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.125, 0.125, 0.1])
        let encoded = try JSONEncoder().encode(state)
        #expect(try JSONDecoder().decode(PlateauState.self, from: encoded) == state)
    }
}
