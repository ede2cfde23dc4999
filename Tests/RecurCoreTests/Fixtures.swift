import Foundation
import RecurTestSupport

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

    /// The file, read once; a missing or malformed file fails each test that reads it, naming the script.
    static let shared = Result {
        try loadFixture(CoreFixtures.self,
                        from: URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/core.json"),
                        writtenBy: "python3 Scripts/make_core_fixtures.py")
    }
}
