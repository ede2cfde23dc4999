import Foundation
import Testing
import RecurMetrics
import RecurCore
import RecurTestSupport

/// What Scripts/make_metric_fixtures.py wrote (scikit-learn).
struct MetricFixtures: Decodable {
    struct Case: Decodable, CustomTestStringConvertible {
        var name: String
        var classes: Int
        var truth: [Int]
        var predicted: [Int]
        var accuracy: Double
        var precision: [Double]
        var recall: [Double]
        var f1: [Double]
        var support: [Int]
        var macro_f1: Double
        var confusion: [[Int]]
        var testDescription: String { name }
    }
    var cases: [Case]

    static let shared = Result {
        try loadFixture(MetricFixtures.self,
                        from: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
                            .appendingPathComponent("Fixtures/classification.json"),
                        writtenBy: "Scripts/make_metric_fixtures.py")
    }
}

@Suite("Classification metrics")
struct ClassificationMetricsTests {
    @Test("accuracy, precision, recall, F1, macro-F1 and the confusion matrix are scikit-learn's",
          arguments: try MetricFixtures.shared.get().cases)
    func matchesScikitLearn(_ expected: MetricFixtures.Case) {
        let labels = (0..<expected.classes).map { "c\($0)" }
        let metrics = ClassificationMetrics(labels: labels, truth: expected.truth, predicted: expected.predicted)
        #expect(metrics.confusion == expected.confusion)
        #expect(abs(metrics.accuracy - expected.accuracy) < 1e-12)
        #expect(abs(metrics.macroF1 - expected.macro_f1) < 1e-12)
        let scores = metrics.perClass
        #expect(scores.map(\.support) == expected.support)
        expectRelativelyClose(scores.map(\.precision), expected.precision, tolerance: 1e-12, "precision")
        expectRelativelyClose(scores.map(\.recall), expected.recall, tolerance: 1e-12, "recall")
        expectRelativelyClose(scores.map(\.f1), expected.f1, tolerance: 1e-12, "F1")
    }

    @Test("JSON has the documented keys and reads back; the text and SVG show every class")
    func formats() throws {
        let metrics = ClassificationMetrics(labels: ["negative", "positive", "<odd & \"quoted\">"],
                                            truth: [0, 0, 1, 1, 2], predicted: [0, 1, 1, 1, 0])
        let json = RecurJSON.line(metrics)
        let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as! [String: Any]
        #expect(Set(object.keys) == ["accuracy", "macro_f1", "per_class", "confusion", "labels"])
        let first = (object["per_class"] as! [[String: Any]])[0]
        #expect(Set(first.keys) == ["label", "precision", "recall", "f1", "support"])
        #expect(try RecurJSON.decoder().decode(ClassificationMetrics.self, from: Data(json.utf8)) == metrics)
        #expect(abs(metrics.accuracy - 0.6) < 1e-12)
        let text = metrics.text()
        #expect(text.contains("accuracy 60.00 %") && text.contains("negative") && text.contains("positive"))
        let svg = metrics.svg()
        #expect(svg.hasPrefix("<svg") && svg.contains("&lt;odd &amp; &quot;quoted&quot;&gt;") && !svg.contains("<odd"))
        #expect(svg.components(separatedBy: "<rect").count - 1 == 9)
    }

    @Test("no examples: every ratio is 0, nothing divides by zero")
    func empty() {
        let metrics = ClassificationMetrics(labels: ["a", "b"], truth: [], predicted: [])
        #expect(metrics.accuracy == 0 && metrics.macroF1 == 0 && metrics.perClass.allSatisfy { $0.f1 == 0 && $0.support == 0 })
    }
}
