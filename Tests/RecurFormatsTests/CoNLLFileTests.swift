import Foundation
import Testing
import RecurFormats
import RecurTestSupport

@Suite("CoNLL files")
struct CoNLLFileTests {
    static let text = """
        -DOCSTART- -X- O O

        EU NNP I-NP I-ORG
        rejects VBZ I-VP O
        German JJ I-NP I-MISC

        Peter NNP I-NP I-PER
        Blackburn NNP I-NP I-PER


        """

    @Test("sentences, their first lines and the last column's tags; -DOCSTART- and extra blank lines ignored")
    func reads() throws {
        let file = try CoNLLFile.parse(Self.text, path: "train.txt")
        #expect(file.sentences == [
            .init(tokens: ["EU", "rejects", "German"], tags: ["I-ORG", "O", "I-MISC"], line: 3),
            .init(tokens: ["Peter", "Blackburn"], tags: ["I-PER", "I-PER"], line: 7),
        ])
        let chunks = try CoNLLFile.parse(Self.text, path: "train.txt", columns: .init(token: 0, tag: 2))
        #expect(chunks.sentences[0].tags == ["I-NP", "I-VP", "I-NP"])
        let tokens = try CoNLLFile.parse("a\nb\n\nc", path: "in.txt", columns: .init(readsTags: false))
        #expect(tokens.sentences.map(\.tokens) == [["a", "b"], ["c"]] && tokens.sentences[0].tags == nil)
    }

    @Test("a line with a different number of columns, a missing column and an empty file are refused with file and line")
    func refuses() throws {
        #expect(throws: TableError(path: "f", line: 2, problem: "3 columns, but the sentence starting on line 1 has 2")) {
            try CoNLLFile.parse("a O\nb X O\n", path: "f")
        }
        #expect(throws: TableError(path: "f", line: 1, problem: "no tag column after the token (the line has 1 columns)")) {
            try CoNLLFile.parse("a\n", path: "f")
        }
        #expect(throws: TableError(path: "f", line: 1, problem: "no tag column 5 (the line has 2 columns)")) {
            try CoNLLFile.parse("a O\n", path: "f", columns: .init(tag: 4))
        }
        #expect(throws: TableError(path: "f", line: nil, problem: "it has no sentences")) {
            try CoNLLFile.parse("-DOCSTART- O\n\n\n", path: "f")
        }
        let binary = try temporaryFile([0x61, 0x20, 0x4f, 0x0a, 0xff, 0xfe, 0x00])
        defer { try? FileManager.default.removeItem(atPath: binary) }
        #expect(throws: TableError.self) { try CoNLLFile.read(binary) }
    }
}
