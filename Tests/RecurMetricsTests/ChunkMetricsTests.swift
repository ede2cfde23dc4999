import Foundation
import Testing
import RecurMetrics
import RecurTestSupport

/// What Scripts/make_metric_fixtures.py wrote from seqeval.
struct ChunkFixtures: Decodable {
    struct Entities: Decodable {
        var tags: [String]
        var chunks: [[Entry]]
    }
    enum Entry: Decodable {
        case type(String), index(Int)
        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let i = try? c.decode(Int.self) { self = .index(i) } else { self = .type(try c.decode(String.self)) }
        }
    }
    struct Scores: Decodable {
        struct TypeScores: Decodable {
            var precision: Double
            var recall: Double
            var f1: Double
            var support: Double
            enum CodingKeys: String, CodingKey { case precision, recall, f1 = "f1-score", support }
        }
        var truth: [[String]]
        var predicted: [[String]]
        var precision: Double
        var recall: Double
        var f1: Double
        var token_accuracy: Double
        var per_type: [String: TypeScores]
    }
    var entities: [Entities]
    var scores: [Scores]

    static let shared = Result {
        try loadFixture(ChunkFixtures.self,
                        from: URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/chunks.json"),
                        writtenBy: "Scripts/make_metric_fixtures.py")
    }
}

@Suite("Tag schemes and entity metrics")
struct ChunkMetricsTests {
    @Test("tags are read into entities as seqeval (conlleval's rules) reads them, valid or broken, in every scheme")
    func entitiesMatchSeqeval() throws {
        let fixtures = try ChunkFixtures.shared.get()
        #expect(fixtures.entities.count > 100)
        for sequence in fixtures.entities {
            let expected = sequence.chunks.map { entry -> Chunk in
                guard case .type(let type) = entry[0], case .index(let start) = entry[1], case .index(let end) = entry[2] else {
                    fatalError("malformed fixture")
                }
                return Chunk(type: type, start: start, end: end)
            }
            #expect(TagScheme.chunks(sequence.tags) == expected, "\(sequence.tags)")
        }
    }

    @Test("precision, recall, F1 overall and per type, and token accuracy are seqeval's")
    func scoresMatchSeqeval() throws {
        for set in try ChunkFixtures.shared.get().scores {
            let metrics = ChunkMetrics(truth: set.truth, predicted: set.predicted)
            #expect(abs(metrics.precision - set.precision) < 1e-12)
            #expect(abs(metrics.recall - set.recall) < 1e-12)
            #expect(abs(metrics.f1 - set.f1) < 1e-12)
            #expect(abs(metrics.tokenAccuracy - set.token_accuracy) < 1e-12)
            #expect(Set(metrics.types) == Set(set.per_type.keys))
            for (type, expected) in set.per_type {
                let counts = try #require(metrics.perType[type])
                #expect(abs(counts.precision - expected.precision) < 1e-12, "\(type)")
                #expect(abs(counts.recall - expected.recall) < 1e-12, "\(type)")
                #expect(abs(counts.f1 - expected.f1) < 1e-12, "\(type)")
                #expect(Double(counts.truth) == expected.support, "\(type)")
            }
        }
    }

    @Test("writing entities in a scheme and reading them back gives the same entities", arguments: TagScheme.allCases)
    func roundTrip(_ scheme: TagScheme) {
        let chunks = [Chunk(type: "PER", start: 0, end: 1), Chunk(type: "PER", start: 2, end: 2),
                      Chunk(type: "LOC", start: 4, end: 6), Chunk(type: "ORG", start: 7, end: 7)]
        let tags = scheme.tags(chunks, count: 9)
        #expect(TagScheme.chunks(tags) == chunks)
        #expect(scheme.repaired(tags).changed == 0)
        var previous: String? = nil
        for tag in tags + [nil] {
            #expect(scheme.allows(previous, tag), "\(scheme): \(previous ?? "start") → \(tag ?? "end") in \(tags)")
            previous = tag
        }
    }

    @Test("each scheme writes the course's example as it should")
    func schemes() {
        let chunks = [Chunk(type: "PER", start: 0, end: 1), Chunk(type: "PER", start: 2, end: 3), Chunk(type: "MISC", start: 5, end: 5)]
        #expect(TagScheme.iob1.tags(chunks, count: 6) == ["I-PER", "I-PER", "B-PER", "I-PER", "O", "I-MISC"])
        #expect(TagScheme.bio2.tags(chunks, count: 6) == ["B-PER", "I-PER", "B-PER", "I-PER", "O", "B-MISC"])
        #expect(TagScheme.iobes.tags(chunks, count: 6) == ["B-PER", "E-PER", "B-PER", "E-PER", "O", "S-MISC"])
    }

    @Test("a tag that breaks its scheme is repaired as conlleval reads it, and counted")
    func repairs() {
        let (tags, changed) = TagScheme.bio2.repaired(["O", "I-PER", "I-PER", "B-LOC", "I-ORG"])
        #expect(tags == ["O", "B-PER", "I-PER", "B-LOC", "B-ORG"])
        #expect(changed == 2)
        #expect(TagScheme.iobes.repaired(["B-PER", "O"]) == (["S-PER", "O"], 1))
    }

    @Test("the scheme of a data set is detected from its tags")
    func detection() {
        #expect(TagScheme.detect([["I-PER", "I-PER", "B-PER", "O", "I-LOC"]]) == .iob1)
        #expect(TagScheme.detect([["B-PER", "I-PER", "O"], ["O"]]) == .bio2)
        #expect(TagScheme.detect([["B-PER", "E-PER", "S-LOC"]]) == .iobes)
        #expect(TagScheme.detect([["O", "O"]]) == .bio2)
        #expect(TagScheme.detect([["I-PER", "O", "I-LOC", "O", "B-MISC"]]) == .iob1, "a slip does not outvote the rest")
    }

    @Test("transitions that break a scheme are refused; valid ones allowed")
    func constraints() {
        #expect(!TagScheme.bio2.allows(nil, "I-PER"))
        #expect(!TagScheme.bio2.allows("O", "I-PER"))
        #expect(!TagScheme.bio2.allows("B-LOC", "I-PER"))
        #expect(TagScheme.bio2.allows("B-PER", "I-PER"))
        #expect(!TagScheme.iob1.allows("O", "B-PER"))
        #expect(TagScheme.iob1.allows("I-PER", "B-PER"))
        #expect(TagScheme.iob1.allows("O", "I-PER"))
        #expect(!TagScheme.iobes.allows("B-PER", nil))
        #expect(!TagScheme.iobes.allows("B-PER", "O"))
        #expect(!TagScheme.iobes.allows("I-PER", "E-LOC"))
        #expect(TagScheme.iobes.allows("E-PER", "S-LOC"))
        #expect(!TagScheme.iobes.allows(nil, "E-PER"))
    }

    @Test("the report shows overall and per-type scores")
    func report() {
        let metrics = ChunkMetrics(truth: [["B-PER", "I-PER", "O", "B-LOC"]], predicted: [["B-PER", "I-PER", "O", "O"]])
        #expect(metrics.f1 > 0.66 && metrics.f1 < 0.67)
        #expect(metrics.report.contains("PER"))
        #expect(metrics.report.contains("100.00 %"))
        #expect(metrics.tokenAccuracy == 0.75)
    }
}
