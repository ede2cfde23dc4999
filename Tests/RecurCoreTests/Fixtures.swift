import Foundation

/// The reference values written by Scripts/make_core_fixtures.py.
struct CoreFixtures: Decodable {
    struct Generator: Decodable {
        var seed: String
        var words: [String]
        var unit_floats: [Double]
        var normals: [Double]
    }
    struct Softmax: Decodable {
        var input: [[Double]]
        var softmax: [[Double]]
        var log_softmax: [[Double]]
    }
    var generator: [Generator]
    var softmax: Softmax

    static let shared: CoreFixtures = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/core.json")
        do {
            return try JSONDecoder().decode(CoreFixtures.self, from: Data(contentsOf: url))
        } catch {
            fatalError("cannot read \(url.path): \(error) — regenerate with python3 Scripts/make_core_fixtures.py")
        }
    }()
}
