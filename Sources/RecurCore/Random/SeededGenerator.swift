/// The random number generator Recur uses everywhere: xoshiro256** (Blackman & Vigna), its 256-bit
/// state filled from a 64-bit seed by SplitMix64.
///
/// The same seed gives the same numbers on every platform: the generator uses only integer arithmetic,
/// and the Float conversions below use only IEEE basic operations (no libm). Pass it `inout` to
/// everything that draws (`using: &generator`); Recur never draws from a hidden global generator.
///
///     var generator = SeededGenerator(seed: 42)
///     let weights = Tensor.uniform([4, 5], in: -0.1...0.1, using: &generator)
public struct SeededGenerator: RandomNumberGenerator, Sendable, Equatable, Codable {
    /// The four 64-bit words of state; saved in checkpoints so training resumes with the same draws.
    public private(set) var state: [UInt64]

    /// A generator whose state is derived from `seed` by SplitMix64.
    public init(seed: UInt64) {
        var mixer = SplitMix64(seed: seed)
        state = [mixer.next(), mixer.next(), mixer.next(), mixer.next()]
    }

    /// A generator that continues from a saved `state` (four words, not all zero).
    public init?(state: [UInt64]) {
        guard state.count == 4, state.contains(where: { $0 != 0 }) else { return nil }
        self.state = state
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let words = try container.decode([UInt64].self, forKey: .state)
        guard let restored = SeededGenerator(state: words) else {
            throw DecodingError.dataCorruptedError(forKey: .state, in: container,
                debugDescription: "a generator state is four words, not all zero; got \(words)")
        }
        self = restored
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        let result = rotateLeft(state[1] &* 5, 7) &* 9
        let shifted = state[1] << 17
        state[2] ^= state[0]
        state[3] ^= state[1]
        state[1] ^= state[2]
        state[0] ^= state[3]
        state[2] ^= shifted
        state[3] = rotateLeft(state[3], 45)
        return result
    }

    /// A Float uniformly distributed in [0, 1), with 24 random bits.
    public mutating func nextUnitFloat() -> Float {
        Float(next() >> 40) * 0x1p-24
    }

    /// A Double uniformly distributed in [0, 1), with 53 random bits.
    public mutating func nextUnitDouble() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    /// A standard normal draw (mean 0, standard deviation 1) by Marsaglia's polar method.
    /// Each call consumes pairs of uniforms until one lands inside the unit circle and returns one
    /// of the two normals it makes; the other is discarded, so each draw depends only on the state.
    public mutating func nextStandardNormal() -> Double {
        while true {
            let u = 2 * nextUnitDouble() - 1
            let v = 2 * nextUnitDouble() - 1
            let s = u * u + v * v
            if s > 0 && s < 1 {
                return u * (-2 * portableLog(s) / s).squareRoot()
            }
        }
    }

    private func rotateLeft(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
}

/// SplitMix64 (Steele, Lea & Flood): turns one 64-bit seed into well-mixed words.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    /// A generator whose first output is SplitMix64's for `seed`.
    public init(seed: UInt64) { state = seed }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Natural logarithm of a positive, finite Double from IEEE basic operations only, so that it gives
/// the same bits on every platform (libm's `log` may differ in the last place between systems).
/// x = m · 2^e with m in [√½, √2); ln m = 2·atanh(s), s = (m − 1)/(m + 1), |s| < 0.1716, summed to s^41.
func portableLog(_ x: Double) -> Double {
    require(x > 0 && x.isFinite, "portableLog needs a positive finite value, got \(x)")
    var exponent = Double(x.exponent)
    var mantissa = x.significand  // [1, 2)
    if mantissa > 1.4142135623730951 {
        mantissa /= 2
        exponent += 1
    }
    let s = (mantissa - 1) / (mantissa + 1)
    let s2 = s * s
    var term = s
    var sum = 0.0
    var denominator = 1.0
    for _ in 0..<21 {
        sum += term / denominator
        term *= s2
        denominator += 2
    }
    return 2 * sum + exponent * 0.6931471805599453
}
