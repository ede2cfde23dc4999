import Foundation
import RecurCore

/// A linear-chain conditional random field over tag sequences: the output layer of a tagger (BiLSTM-CRF) that
/// scores whole tag paths instead of each tag on its own, so that it learns which tags may follow which.
///
/// For emissions e<t>(j) (the score of tag j at step t, from the layer below), transitions A[i][j] (tag i followed by
/// tag j), start scores s(j) and end scores z(j), a path y of n tags scores
///
///     score(y)   = s(y<0>) + Σ_{t<n} e<t>(y<t>) + Σ_{0<t<n} A[y<t−1>][y<t>] + z(y<n−1>)
///     log p(y)   = score(y) − log Z,   log Z = log Σ_{all paths y'} exp score(y')
///
/// log Z comes from the forward algorithm in log space, α<0>(j) = s(j) + e<0>(j),
/// α<t>(j) = logsumexp_i(α<t−1>(i) + A[i][j]) + e<t>(j), log Z = logsumexp_j(α<n−1>(j) + z(j)); the backward
/// variables β<n−1>(j) = z(j), β<t>(i) = logsumexp_j(A[i][j] + e<t+1>(j) + β<t+1>(j)) give the marginals, and the
/// gradient of the negative log-likelihood L = log Z − score(gold) is
///
///     dL/de<t>(j)   = P(y<t> = j) − [gold<t> = j]
///     dL/dA[i][j]   = Σ_{0<t<n} P(y<t−1> = i, y<t> = j) − #(gold steps i → j)
///     dL/ds(j)      = P(y<0> = j) − [gold<0> = j]
///     dL/dz(j)      = P(y<n−1> = j) − [gold<n−1> = j]
///
/// Decoding is Viterbi's: the path of highest score. Parameters are named as pytorch-crf's `CRF` names them
/// (`transitions` [K, K], `start_transitions` [K], `end_transitions` [K]) and drawn as it draws them, uniform in
/// ±0.1. The arithmetic is in Double (K is small), so the Float layer and the Float64 gradient check run the same code.
///
/// **Constraints.** With `constraints`, a forbidden transition (an `I-PER` after `O` in BIO2, say) scores
/// `CRFConstraints.forbiddenScore` whatever its parameter holds, so no likely path and no decoded path takes it,
/// and its parameter gets no gradient.
public final class LinearChainCRF {
    /// K, the tags.
    public let tagCount: Int
    /// A, [K, K]: `transitions[i][j]` scores tag j following tag i.
    public let transitions: Parameter
    /// s, [K]: the score of starting with each tag.
    public let startTransitions: Parameter
    /// z, [K]: the score of ending with each tag.
    public let endTransitions: Parameter
    /// Which transitions, starts and ends are allowed (nil: all).
    public let constraints: CRFConstraints?

    /// A CRF over `tagCount` tags, its scores uniform in ±0.1 (pytorch-crf's initialization).
    public init(tagCount: Int, constraints: CRFConstraints? = nil, namePrefix: String = "", using generator: inout SeededGenerator) {
        require(tagCount >= 1, "a CRF needs at least one tag, got \(tagCount)")
        if let constraints {
            require(constraints.transitions.count == tagCount * tagCount && constraints.start.count == tagCount
                        && constraints.end.count == tagCount, "CRF constraints must be [\(tagCount), \(tagCount)], [\(tagCount)] and [\(tagCount)]")
        }
        self.tagCount = tagCount
        self.constraints = constraints
        transitions = Parameter(name: namePrefix + "transitions", value: .uniform([tagCount, tagCount], in: -0.1...0.1, using: &generator))
        startTransitions = Parameter(name: namePrefix + "start_transitions", value: .uniform([tagCount], in: -0.1...0.1, using: &generator))
        endTransitions = Parameter(name: namePrefix + "end_transitions", value: .uniform([tagCount], in: -0.1...0.1, using: &generator))
    }

    /// `transitions`, `startTransitions`, `endTransitions`.
    public var parameters: [Parameter] { [transitions, startTransitions, endTransitions] }

    private var scores: CRFMath.Scores {
        func masked(_ values: [Float], _ allowed: [Bool]?) -> [Double] {
            guard let allowed else { return values.map(Double.init) }
            return zip(values, allowed).map { $1 ? Double($0) : CRFConstraints.forbiddenScore }
        }
        return CRFMath.Scores(tagCount: tagCount, transitions: masked(transitions.value.scalars, constraints?.transitions),
                              start: masked(startTransitions.value.scalars, constraints?.start),
                              end: masked(endTransitions.value.scalars, constraints?.end))
    }

    /// The negative log-likelihood of the gold tags, summed over the batch, and its gradient: dL/d(emissions) is
    /// returned, dL/d(each score) is added into the parameters' gradients.
    /// - Parameters:
    ///   - emissions: e, [T, B, K].
    ///   - tags: the gold tags, [T·B] time-major (position t·B + b); entries past a sequence's length are ignored.
    ///   - lengths: n_b, B entries in 1…T (nil: all T).
    /// - Returns: Σ_b (log Z_b − score_b(gold)), and dL/de [T, B, K] (zero past each length).
    public func negativeLogLikelihood(emissions: Tensor, tags: [Int], lengths: [Int]? = nil) -> (value: Double, emissionGradient: Tensor) {
        let (steps, batchSize) = dimensions(emissions, lengths)
        let lengths = lengths ?? Array(repeating: steps, count: batchSize)
        require(tags.count == steps * batchSize, "a CRF needs \(steps * batchSize) tags [T·B], got \(tags.count)")
        let scores = self.scores, k = tagCount, e = emissions.scalars
        var total = 0.0
        var de = [Float](repeating: 0, count: e.count)
        var dA = [Double](repeating: 0, count: k * k), ds = [Double](repeating: 0, count: k), dz = [Double](repeating: 0, count: k)
        for b in 0..<batchSize {
            let n = lengths[b]
            let sequence = (0..<n).flatMap { t in (0..<k).map { Double(e[(t * batchSize + b) * k + $0]) } }
            let gold = (0..<n).map { tags[$0 * batchSize + b] }
            require(gold.allSatisfy { $0 >= 0 && $0 < k }, "CRF tags must be in 0..<\(k), got \(gold)")
            let result = CRFMath.negativeLogLikelihood(emissions: sequence, gold: gold, scores: scores)
            total += result.value
            for t in 0..<n { for j in 0..<k { de[(t * batchSize + b) * k + j] = Float(result.emissions[t * k + j]) } }
            for i in 0..<(k * k) { dA[i] += result.transitions[i] }
            for j in 0..<k { ds[j] += result.start[j]; dz[j] += result.end[j] }
        }
        if let constraints {
            for i in 0..<(k * k) where !constraints.transitions[i] { dA[i] = 0 }
            for j in 0..<k where !constraints.start[j] { ds[j] = 0 }
            for j in 0..<k where !constraints.end[j] { dz[j] = 0 }
        }
        transitions.gradient += Tensor(shape: [k, k], scalars: dA.map(Float.init))
        startTransitions.gradient += Tensor(shape: [k], scalars: ds.map(Float.init))
        endTransitions.gradient += Tensor(shape: [k], scalars: dz.map(Float.init))
        return (total, Tensor(shape: emissions.shape, scalars: de))
    }

    /// The highest-scoring tag path of each sequence (Viterbi), each as long as its sequence.
    /// - Parameters: emissions e [T, B, K]; lengths n_b (nil: all T).
    public func decode(emissions: Tensor, lengths: [Int]? = nil) -> [[Int]] {
        let (steps, batchSize) = dimensions(emissions, lengths)
        let lengths = lengths ?? Array(repeating: steps, count: batchSize)
        let scores = self.scores, k = tagCount, e = emissions.scalars
        return (0..<batchSize).map { b in
            CRFMath.viterbi(emissions: (0..<lengths[b]).flatMap { t in (0..<k).map { Double(e[(t * batchSize + b) * k + $0]) } },
                            scores: scores).path
        }
    }

    private func dimensions(_ emissions: Tensor, _ lengths: [Int]?) -> (Int, Int) {
        require(emissions.shape.count == 3 && emissions.shape[2] == tagCount,
                "CRF emissions must be [T, B, \(tagCount)], got \(emissions.shape)")
        let steps = emissions.shape[0], batchSize = emissions.shape[1]
        if let lengths {
            require(lengths.count == batchSize && lengths.allSatisfy { $0 >= 1 && $0 <= steps },
                    "a CRF needs \(batchSize) lengths in 1…\(steps), got \(lengths)")
        }
        return (steps, batchSize)
    }
}

/// Which tag transitions a `LinearChainCRF` allows: those of a tag scheme, say (see `TagScheme.allows` in
/// RecurMetrics).
public struct CRFConstraints: Codable, Equatable, Sendable {
    /// The score of a forbidden transition: exp(−10⁴) is 0 in Double, yet every sum stays finite.
    public static let forbiddenScore = -10_000.0
    /// [K, K] row-major: `transitions[i·K + j]` allows tag j after tag i.
    public var transitions: [Bool]
    /// [K]: tag j may start a sequence.
    public var start: [Bool]
    /// [K]: tag j may end a sequence.
    public var end: [Bool]

    /// Constraints for `tagCount` tags from a rule: `allows(i, j)` for tag j after tag i, nil for the start or end.
    public init(tagCount k: Int, allows: (Int?, Int?) -> Bool) {
        transitions = (0..<(k * k)).map { allows($0 / k, $0 % k) }
        start = (0..<k).map { allows(nil, $0) }
        end = (0..<k).map { allows($0, nil) }
    }
}

/// The CRF's arithmetic for one sequence, in Double: emissions [n, K] row-major, transitions [K, K].
enum CRFMath {
    struct Scores {
        var tagCount: Int
        var transitions: [Double]
        var start: [Double]
        var end: [Double]
    }

    static func logSumExp(_ values: [Double]) -> Double {
        guard let top = values.max(), top.isFinite else { return values.max() ?? -.infinity }
        return top + Foundation.log(values.reduce(0) { $0 + Foundation.exp($1 - top) })
    }

    /// score(gold), as the doc comment of `LinearChainCRF` defines it.
    static func score(emissions e: [Double], gold: [Int], scores: Scores) -> Double {
        let k = scores.tagCount
        var total = scores.start[gold[0]] + scores.end[gold[gold.count - 1]]
        for t in gold.indices {
            total += e[t * k + gold[t]]
            if t > 0 { total += scores.transitions[gold[t - 1] * k + gold[t]] }
        }
        return total
    }

    /// α [n, K] and log Z.
    static func forward(emissions e: [Double], scores: Scores) -> (alpha: [Double], logZ: Double) {
        let k = scores.tagCount, n = e.count / k
        var alpha = [Double](repeating: 0, count: n * k)
        for j in 0..<k { alpha[j] = scores.start[j] + e[j] }
        for t in 1..<max(1, n) {
            for j in 0..<k {
                alpha[t * k + j] = logSumExp((0..<k).map { alpha[(t - 1) * k + $0] + scores.transitions[$0 * k + j] }) + e[t * k + j]
            }
        }
        return (alpha, logSumExp((0..<k).map { alpha[(n - 1) * k + $0] + scores.end[$0] }))
    }

    /// β [n, K].
    static func backward(emissions e: [Double], scores: Scores) -> [Double] {
        let k = scores.tagCount, n = e.count / k
        var beta = [Double](repeating: 0, count: n * k)
        for j in 0..<k { beta[(n - 1) * k + j] = scores.end[j] }
        for t in stride(from: n - 2, through: 0, by: -1) {
            for i in 0..<k {
                beta[t * k + i] = logSumExp((0..<k).map { scores.transitions[i * k + $0] + e[(t + 1) * k + $0] + beta[(t + 1) * k + $0] })
            }
        }
        return beta
    }

    /// log Z − score(gold), and its gradients (the equations of `LinearChainCRF`).
    static func negativeLogLikelihood(emissions e: [Double], gold: [Int], scores: Scores)
        -> (value: Double, emissions: [Double], transitions: [Double], start: [Double], end: [Double]) {
        let k = scores.tagCount, n = gold.count
        let (alpha, logZ) = forward(emissions: e, scores: scores), beta = backward(emissions: e, scores: scores)
        var de = [Double](repeating: 0, count: n * k), dA = [Double](repeating: 0, count: k * k)
        var ds = [Double](repeating: 0, count: k), dz = [Double](repeating: 0, count: k)
        for t in 0..<n {
            for j in 0..<k { de[t * k + j] = Foundation.exp(alpha[t * k + j] + beta[t * k + j] - logZ) }
            de[t * k + gold[t]] -= 1
        }
        for t in 1..<max(1, n) {
            for i in 0..<k {
                for j in 0..<k {
                    dA[i * k + j] += Foundation.exp(alpha[(t - 1) * k + i] + scores.transitions[i * k + j] + e[t * k + j] + beta[t * k + j] - logZ)
                }
            }
            dA[gold[t - 1] * k + gold[t]] -= 1
        }
        for j in 0..<k {
            ds[j] = de[j] + (gold[0] == j ? 1 : 0)                    // P(y<0> = j)
            dz[j] = Foundation.exp(alpha[(n - 1) * k + j] + scores.end[j] - logZ)
        }
        ds[gold[0]] -= 1
        dz[gold[n - 1]] -= 1
        return (logZ - score(emissions: e, gold: gold, scores: scores), de, dA, ds, dz)
    }

    /// The path of highest score and its score.
    static func viterbi(emissions e: [Double], scores: Scores) -> (path: [Int], score: Double) {
        let k = scores.tagCount, n = e.count / k
        guard n > 0 else { return ([], 0) }
        var best = (0..<k).map { scores.start[$0] + e[$0] }
        var from = [[Int]]()
        for t in 1..<max(1, n) {
            var next = [Double](repeating: 0, count: k), pointers = [Int](repeating: 0, count: k)
            for j in 0..<k {
                var top = -Double.infinity, arg = 0
                for i in 0..<k where best[i] + scores.transitions[i * k + j] > top {
                    top = best[i] + scores.transitions[i * k + j]
                    arg = i
                }
                next[j] = top + e[t * k + j]
                pointers[j] = arg
            }
            best = next
            from.append(pointers)
        }
        let final = (0..<k).map { best[$0] + scores.end[$0] }
        var tag = final.indices.max { final[$0] < final[$1] }!
        let total = final[tag]
        var path = [tag]
        for pointers in from.reversed() {
            tag = pointers[tag]
            path.append(tag)
        }
        return (path.reversed(), total)
    }
}
