import Foundation
import Testing
@testable import RecurLayers
import RecurCore
import RecurTestSupport

/// What Scripts/make_crf_fixtures.py wrote (pytorch-crf, float64).
struct CRFFixture: Decodable {
    var steps: Int
    var batch_size: Int
    var tag_count: Int
    var lengths: [Int]
    var emissions: [Double]
    var tags: [Int]
    var transitions: [Double]
    var start_transitions: [Double]
    var end_transitions: [Double]
    var negative_log_likelihood: Double
    var emission_gradient: [Double]
    var transitions_gradient: [Double]
    var start_transitions_gradient: [Double]
    var end_transitions_gradient: [Double]
    var paths: [[Int]]

    static let shared = Result {
        try loadFixture(CRFFixture.self,
                        from: URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/crf.json"),
                        writtenBy: "Scripts/make_crf_fixtures.py")
    }
}

@Suite("Linear-chain CRF")
struct LinearChainCRFTests {
    let k = 3
    var scores: CRFMath.Scores {
        CRFMath.Scores(tagCount: k, transitions: randomValues(k * k, seed: 21), start: randomValues(k, seed: 22),
                       end: randomValues(k, seed: 23))
    }

    /// Every path of `n` tags.
    func paths(_ n: Int) -> [[Int]] {
        (0..<Int(pow(Double(k), Double(n)))).map { code in (0..<n).map { code / Int(pow(Double(k), Double($0))) % k } }
    }

    @Test("log Z, the likelihood, the marginals and Viterbi agree with enumerating every path", arguments: [1, 2, 4])
    func bruteForce(n: Int) {
        let e = randomValues(n * k, seed: UInt64(30 + n)), scores = self.scores
        let all = paths(n).map { CRFMath.score(emissions: e, gold: $0, scores: scores) }
        let logZ = CRFMath.logSumExp(all)
        #expect(abs(CRFMath.forward(emissions: e, scores: scores).logZ - logZ) < 1e-12)
        let gold = paths(n)[5 % all.count]
        let result = CRFMath.negativeLogLikelihood(emissions: e, gold: gold, scores: scores)
        #expect(abs(result.value - (logZ - CRFMath.score(emissions: e, gold: gold, scores: scores))) < 1e-12)
        // P(y<t> = j) from enumeration equals dL/de<t>(j) + [gold<t> = j].
        for t in 0..<n {
            for j in 0..<k {
                let marginal = zip(paths(n), all).filter { $0.0[t] == j }.reduce(0) { $0 + exp($1.1 - logZ) }
                #expect(abs(result.emissions[t * k + j] + (gold[t] == j ? 1 : 0) - marginal) < 1e-12)
            }
        }
        let best = all.indices.max { all[$0] < all[$1] }!
        let viterbi = CRFMath.viterbi(emissions: e, scores: scores)
        #expect(viterbi.path == paths(n)[best] && abs(viterbi.score - all[best]) < 1e-12)
    }

    @Test("the negative log-likelihood's gradients match finite differences in Float64")
    func gradients() {
        let n = 4, gold = [2, 0, 0, 1]
        var e = randomValues(n * k, seed: 41)
        var scores = self.scores
        let result = CRFMath.negativeLogLikelihood(emissions: e, gold: gold, scores: scores)
        let base = scores
        expectRelativelyClose(result.emissions, finiteDifferences(of: &e) {
            CRFMath.negativeLogLikelihood(emissions: $0, gold: gold, scores: base).value
        }, tolerance: 1e-7, "de")
        let eNow = e
        var a = scores.transitions, s = scores.start, z = scores.end
        expectRelativelyClose(result.transitions, finiteDifferences(of: &a) {
            scores.transitions = $0; return CRFMath.negativeLogLikelihood(emissions: eNow, gold: gold, scores: scores).value
        }, tolerance: 1e-7, "dA")
        scores = base
        expectRelativelyClose(result.start, finiteDifferences(of: &s) {
            scores.start = $0; return CRFMath.negativeLogLikelihood(emissions: eNow, gold: gold, scores: scores).value
        }, tolerance: 1e-7, "ds")
        scores = base
        expectRelativelyClose(result.end, finiteDifferences(of: &z) {
            scores.end = $0; return CRFMath.negativeLogLikelihood(emissions: eNow, gold: gold, scores: scores).value
        }, tolerance: 1e-7, "dz")
    }

    @Test("the Float layer gives pytorch-crf's log-likelihood, gradients and Viterbi paths over a ragged batch")
    func matchesPyTorchCRF() throws {
        let f = try CRFFixture.shared.get()
        var generator = SeededGenerator(seed: 0)
        let crf = LinearChainCRF(tagCount: f.tag_count, using: &generator)
        crf.transitions.value = Tensor(shape: [f.tag_count, f.tag_count], scalars: floats(f.transitions))
        crf.startTransitions.value = Tensor(shape: [f.tag_count], scalars: floats(f.start_transitions))
        crf.endTransitions.value = Tensor(shape: [f.tag_count], scalars: floats(f.end_transitions))
        crf.parameters.forEach { $0.zeroGradient() }
        let emissions = Tensor(shape: [f.steps, f.batch_size, f.tag_count], scalars: floats(f.emissions))
        let (value, de) = crf.negativeLogLikelihood(emissions: emissions, tags: f.tags, lengths: f.lengths)
        #expect(abs(value - f.negative_log_likelihood) < 1e-5 * abs(f.negative_log_likelihood))
        expectClose(de.scalars, floats(f.emission_gradient), tolerance: 1e-6, "emissions")
        expectClose(crf.transitions.gradient.scalars, floats(f.transitions_gradient), tolerance: 1e-6, "transitions")
        expectClose(crf.startTransitions.gradient.scalars, floats(f.start_transitions_gradient), tolerance: 1e-6, "start")
        expectClose(crf.endTransitions.gradient.scalars, floats(f.end_transitions_gradient), tolerance: 1e-6, "end")
        #expect(crf.decode(emissions: emissions, lengths: f.lengths) == f.paths)
        #expect(crf.parameters.map(\.name) == ["transitions", "start_transitions", "end_transitions"])
    }

    @Test("with constraints, log Z sums only the allowed paths, Viterbi takes only them, and forbidden scores get no gradient")
    func constraints() {
        // Tag 2 may not follow tag 0, may not start, and tag 1 may not end.
        let constraints = CRFConstraints(tagCount: k) { i, j in !(i == 0 && j == 2) && !(i == nil && j == 2) && !(i == 1 && j == nil) }
        var generator = SeededGenerator(seed: 5)
        let crf = LinearChainCRF(tagCount: k, constraints: constraints, using: &generator)
        let n = 4, e = randomValues(n * k, seed: 51)
        let allowed = paths(n).filter { path in
            path[0] != 2 && path[n - 1] != 1 && !zip(path, path.dropFirst()).contains { $0 == 0 && $1 == 2 }
        }
        let free = CRFMath.Scores(tagCount: k, transitions: crf.transitions.value.scalars.map(Double.init),
                                  start: crf.startTransitions.value.scalars.map(Double.init),
                                  end: crf.endTransitions.value.scalars.map(Double.init))
        let all = allowed.map { CRFMath.score(emissions: e, gold: $0, scores: free) }
        let logZ = CRFMath.logSumExp(all)
        let gold = allowed[3]
        let emissions = Tensor(shape: [n, 1, k], scalars: e.map(Float.init))
        let (value, _) = crf.negativeLogLikelihood(emissions: emissions, tags: gold)
        #expect(abs(value - (logZ - CRFMath.score(emissions: e, gold: gold, scores: free))) < 1e-4)
        #expect(crf.decode(emissions: emissions) == [allowed[all.indices.max { all[$0] < all[$1] }!]])
        #expect(crf.transitions.gradient.scalars[0 * k + 2] == 0)
        #expect(crf.startTransitions.gradient.scalars[2] == 0 && crf.endTransitions.gradient.scalars[1] == 0)
        #expect(crf.transitions.gradient.scalars[0 * k + 1] != 0)
    }
}
