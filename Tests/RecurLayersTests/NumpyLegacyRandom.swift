import Foundation
import RecurTestSupport

/// numpy's legacy `np.random.seed(k)` + `randn`, rebuilt so the course's test inputs can be regenerated
/// exactly instead of committed: a Mersenne Twister (MT19937, seeded by `init_genrand`), 53-bit doubles
/// (`genrand_res53`), and the polar Box–Muller method that returns f·x2 and keeps f·x1 for the next call.
struct NumpyLegacyRandom {
    private var state = [UInt32](repeating: 0, count: 624)
    private var index = 624
    private var cachedGaussian: Double?

    init(seed: UInt32) {
        state[0] = seed
        for i in 1..<624 {
            state[i] = 1_812_433_253 &* (state[i - 1] ^ (state[i - 1] >> 30)) &+ UInt32(i)
        }
    }

    mutating func nextUInt32() -> UInt32 {
        if index >= 624 { twist() }
        var y = state[index]
        index += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C_5680
        y ^= (y << 15) & 0xEFC6_0000
        y ^= y >> 18
        return y
    }

    private mutating func twist() {
        for i in 0..<624 {
            let y = (state[i] & 0x8000_0000) | (state[(i + 1) % 624] & 0x7FFF_FFFF)
            state[i] = state[(i + 397) % 624] ^ (y >> 1) ^ (y & 1 == 0 ? 0 : 0x9908_B0DF)
        }
        index = 0
    }

    /// `random_sample()`: a uniform double in [0, 1) from two draws.
    mutating func nextDouble() -> Double {
        let a = Double(nextUInt32() >> 5), b = Double(nextUInt32() >> 6)
        return (a * 67_108_864 + b) / 9_007_199_254_740_992
    }

    /// One `randn()` value.
    mutating func nextGaussian() -> Double {
        if let cached = cachedGaussian {
            cachedGaussian = nil
            return cached
        }
        var x1 = 0.0, x2 = 0.0, r2 = 0.0
        repeat {
            x1 = 2 * nextDouble() - 1
            x2 = 2 * nextDouble() - 1
            r2 = x1 * x1 + x2 * x2
        } while r2 >= 1 || r2 == 0
        let f = (-2 * log(r2) / r2).squareRoot()
        cachedGaussian = f * x1
        return f * x2
    }

    /// `randn(*shape)` flattened in row-major order.
    mutating func randn(_ shape: Int...) -> [Double] {
        (0..<shape.reduce(1, *)).map { _ in nextGaussian() }
    }
}
