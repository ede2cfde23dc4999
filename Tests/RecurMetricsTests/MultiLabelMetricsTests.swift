import Foundation
import Testing
import RecurMetrics
import RecurTestSupport

/// What Scripts/make_metric_fixtures.py wrote from scikit-learn for multi-hot rows.
struct MultiLabelFixtures: Decodable {
    struct Case: Decodable {
        var labels: Int
        var truth: [[Int]]
        var predicted: [[Int]]
        var precision: [Double]
        var recall: [Double]
        var f1: [Double]
        var support: [Int]
        var micro_f1: Double
        var macro_f1: Double
        var subset_accuracy: Double
        var hamming_loss: Double
    }
    var cases: [Case]

    static let shared = Result {
        try loadFixture(MultiLabelFixtures.self,
                        from: URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/multilabel.json"),
                        writtenBy: "Scripts/make_metric_fixtures.py")
    }
}

@Suite("Multi-label metrics")
struct MultiLabelMetricsTests {
    @Test("per-label scores, micro- and macro-F1, subset accuracy and Hamming loss are scikit-learn's")
    func matchesScikitLearn() throws {
        let cases = try MultiLabelFixtures.shared.get().cases
        #expect(cases.count == 2)
        for expected in cases {
            func sets(_ rows: [[Int]]) -> [Set<Int>] { rows.map { row in Set(row.indices.filter { row[$0] == 1 }) } }
            let metrics = MultiLabelMetrics(labels: (0..<expected.labels).map { "l\($0)" }, truth: sets(expected.truth),
                                            predicted: sets(expected.predicted))
            let close = { (a: Double, b: Double) in abs(a - b) < 1e-12 }
            #expect(zip(metrics.perLabel.map(\.precision), expected.precision).allSatisfy(close))
            #expect(zip(metrics.perLabel.map(\.recall), expected.recall).allSatisfy(close))
            #expect(zip(metrics.perLabel.map(\.f1), expected.f1).allSatisfy(close))
            #expect(metrics.perLabel.map(\.support) == expected.support)
            #expect(close(metrics.microF1, expected.micro_f1) && close(metrics.macroF1, expected.macro_f1))
            #expect(close(metrics.subsetAccuracy, expected.subset_accuracy) && close(metrics.hammingLoss, expected.hamming_loss))
            #expect(metrics.text().contains("micro-F1"))
        }
    }
}
