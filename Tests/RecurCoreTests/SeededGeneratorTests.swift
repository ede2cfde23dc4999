import Foundation
import Testing
@testable import RecurCore
import RecurTestSupport

@Suite("Seeded generator")
struct SeededGeneratorTests {
    @Test("Words, unit floats and normals match the Python reference", arguments: try CoreFixtures.shared.get().generator)
    func matchesReference(_ expected: CoreFixtures.Generator) {
        let seed = UInt64(expected.seed)!
        var generator = SeededGenerator(seed: seed)
        #expect((0..<expected.words.count).map { _ in String(generator.next()) } == expected.words)
        generator = SeededGenerator(seed: seed)
        #expect((0..<expected.unit_floats.count).map { _ in Double(generator.nextUnitFloat()) } == expected.unit_floats)
        generator = SeededGenerator(seed: seed)
        for normal in expected.normals {
            let draw = generator.nextStandardNormal()
            #expect(abs(draw - normal) <= 1e-14 * max(1, abs(normal)), "\(draw) vs \(normal)")
        }
    }

    @Test("portableLog matches Foundation's log to a few ulps")
    func portableLogAccuracy() {
        var generator = SeededGenerator(seed: 9)
        var worst = 0.0
        for _ in 0..<20_000 {
            let x = Foundation.exp(40 * generator.nextUnitDouble() - 20)
            worst = max(worst, abs(portableLog(x) - Foundation.log(x)) / max(1, abs(Foundation.log(x))))
        }
        for x in [1.0, 0.5, 2.0, 1e-300, 1e300, Double.leastNormalMagnitude, 1.4142135623730951] {
            worst = max(worst, abs(portableLog(x) - Foundation.log(x)) / max(1, abs(Foundation.log(x))))
        }
        #expect(worst < 4e-16, "largest relative error \(worst)")
    }

    @Test("Same seed, same tensors; another seed, other tensors; normals have the right moments")
    func tensorsAreSeeded() {
        var first = SeededGenerator(seed: 11), second = SeededGenerator(seed: 11), third = SeededGenerator(seed: 12)
        let a = Tensor.uniform([50, 40], in: -0.5...0.25, using: &first)
        #expect(a == Tensor.uniform([50, 40], in: -0.5...0.25, using: &second))
        #expect(a != Tensor.uniform([50, 40], in: -0.5...0.25, using: &third))
        #expect(a.min() >= -0.5 && a.max() <= 0.25)
        #expect(abs(a.mean() - (-0.125)) < 0.01)
        let n = Tensor.normal([200, 100], mean: 3, standardDeviation: 2, using: &first)
        let mean = n.mean()
        let variance = (n - mean).squaredSum() / Float(n.count)
        #expect(abs(mean - 3) < 0.05 && abs(variance.squareRoot() - 2) < 0.05, "mean \(mean), variance \(variance)")
    }

    @Test("A saved state continues the same sequence")
    func stateRoundTrip() {
        var generator = SeededGenerator(seed: 5)
        _ = generator.next()
        var resumed = SeededGenerator(state: generator.state)!
        #expect((0..<5).map { _ in generator.next() } == (0..<5).map { _ in resumed.next() })
        #expect(SeededGenerator(state: [0, 0, 0, 0]) == nil)
        let saved = try! JSONEncoder().encode(generator)
        var decoded = try! JSONDecoder().decode(SeededGenerator.self, from: saved)
        #expect(decoded.next() == generator.next())
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(SeededGenerator.self, from: Data(#"{"state":[0,0,0,0]}"#.utf8))
        }
        #expect(SeededGenerator(state: [1, 2]) == nil)
    }
}
