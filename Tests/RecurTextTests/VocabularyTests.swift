import Foundation
import Testing
@testable import RecurText
import RecurTestSupport

@Suite("Vocabularies")
struct VocabularyTests {
    @Test("characters: sorted by Unicode scalar, '\\n' the end token, round trip, graphemes as one token")
    func characters() throws {
        let vocabulary = Vocabulary(characters: "ba\nc é")
        #expect(vocabulary.tokens == ["\n", " ", "a", "b", "c", "é"] && vocabulary.endToken == "\n" && vocabulary.unknownToken == nil)
        #expect(try vocabulary.encode("cab\n") == [4, 2, 3, 0])
        #expect(vocabulary.decode(try vocabulary.encode("a cé\n")) == "a cé\n")
        #expect(try vocabulary.encodeSentence("ab") == [2, 3, 0], "a sentence ends with the end token")
        let combining = Vocabulary(characters: "e\u{301}")
        #expect(combining.count == 2, "e + combining acute is one character")
        #expect(throws: VocabularyError.unknownToken("z", position: 1)) { try vocabulary.encode("az") }
        let withUnknown = Vocabulary(characters: "ab", unknownToken: "?")
        #expect(try withUnknown.encode("az") == [withUnknown.id(of: "a")!, withUnknown.unknownID!])
    }

    @Test("skipping unknown tokens: the ids of the text without them, each counted, nothing skipped with an unknown token")
    func skipping() throws {
        let vocabulary = Vocabulary(characters: "ba\nc ")
        var skipped = SkippedTokens()
        let ids = vocabulary.encode("a\u{200B}bé c!é\n", skipping: &skipped)
        #expect(ids == (try vocabulary.encode("ab c\n")))
        #expect(skipped.count == 4 && skipped.characters == 4)
        #expect(skipped.tokens == [.init(token: "\u{200B}", count: 1), .init(token: "é", count: 2), .init(token: "!", count: 1)])
        #expect(skipped.summary() == "U+200B \"\u{200B}\", U+E9 \"é\" ×2, U+21 \"!\"", "\(skipped.summary())")
        #expect(skipped.summary(limit: 1) == "U+200B \"\u{200B}\", and 2 more")
        #expect(vocabulary.encodeSentence("bé", skipping: &skipped) == [vocabulary.id(of: "b")!, vocabulary.endID])
        #expect(skipped.count == 5, "counts add up across calls")

        var none = SkippedTokens()
        let withUnknown = Vocabulary(characters: "ab", unknownToken: "?")
        #expect(withUnknown.encode("az", skipping: &none) == [withUnknown.id(of: "a")!, withUnknown.unknownID!])
        #expect(none == SkippedTokens())
        let words = Vocabulary(level: .word, tokens: ["the", "cat", "<eos>"], endToken: "<eos>", unknownToken: nil)
        #expect(words.encode("the dog cat\n", skipping: &none) == [0, 1, 2] && none.tokens.map(\.token) == ["dog"])
    }

    @Test("words: <eos> after every line, frequency order, <unk> for rare and unseen words")
    func words() throws {
        let text = "the cat sat\nthe dog sat\nthe end\n"
        let vocabulary = Vocabulary(words: text)
        #expect(vocabulary.tokens == ["the", "sat", "cat", "dog", "end", "<unk>", "<eos>"])
        #expect(vocabulary.split("the cat\nsat") == ["the", "cat", "<eos>", "sat", "<eos>"])
        let eos = vocabulary.endID, unk = vocabulary.unknownID!
        #expect(try vocabulary.encode("the bird sat") == [0, unk, 1, eos])
        #expect(try vocabulary.encodeSentence("the cat") == [0, 2, eos], "no second <eos>")
        #expect(vocabulary.decode([0, 2, eos, 1]) == "the cat\nsat")
        let small = Vocabulary(words: text, maximumSize: 4)
        #expect(small.tokens == ["the", "sat", "<unk>", "<eos>"])
        let frequent = Vocabulary(words: text, minimumCount: 2)
        #expect(frequent.tokens == ["the", "sat", "<unk>", "<eos>"])
        // PTB's files already hold <unk>: it stays one token, not a word counted twice.
        let ptb = Vocabulary(words: "a <unk> b\n<unk> a\n")
        #expect(ptb.tokens == ["a", "b", "<unk>", "<eos>"])
        #expect(Vocabulary(words: "x\ty  z\n").tokens == ["x", "y", "z", "<unk>", "<eos>"], "tabs and runs of spaces split words")
    }

    @Test("case: kept unless lowercasing is asked for, then applied when building and encoding")
    func lowercase() throws {
        #expect(Vocabulary(words: "The the\n").count == 4)
        let lower = Vocabulary(words: "The the\n", lowercases: true)
        let encoded = try lower.encode("THE")
        #expect(lower.tokens == ["the", "<unk>", "<eos>"] && encoded == [0, 2])
        #expect(Vocabulary(characters: "AbC", lowercases: true).tokens == ["\n", "a", "b", "c"])
    }

    @Test("punctuation: split into tokens of its own when asked, apostrophes and hyphens inside words kept, kept in JSON")
    func punctuation() throws {
        let text = "Great phone!! It isn't well-made, though... (3/5) -- 'ok'"
        let split = Vocabulary(words: text, splitsPunctuation: true)
        #expect(split.split(text) == ["Great", "phone", "!", "!", "It", "isn't", "well-made", ",", "though", ".", ".", ".",
                                      "(", "3", "/", "5", ")", "-", "-", "'", "ok", "'", "<eos>"])
        #expect(Vocabulary(words: text).split(text).count == 10)
        let decoded = try JSONDecoder().decode(Vocabulary.self, from: JSONEncoder().encode(split))
        #expect(decoded == split && decoded.splitsPunctuation)
        #expect(!Vocabulary(characters: text, lowercases: false).splitsPunctuation)
    }

    @Test("the byte-by-byte split of ASCII lines gives the words the Character-by-Character split gives")
    func asciiWordsMatchCharacterWords() {
        var state: UInt64 = 3
        func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state >> 33
        }
        let alphabet = Array("ab Z9\t'-.,!?()/\"$\u{7}")
        for _ in 0..<2000 {
            let line = String((0..<Int(next() % 14)).map { _ in alphabet[Int(next() % UInt64(alphabet.count))] })
            for splits in [false, true] {
                let fast = Array(line.utf8).withUnsafeBufferPointer { Vocabulary.asciiWords($0, splitsPunctuation: splits) }
                #expect(fast == Vocabulary.characterWords(Substring(line), splitsPunctuation: splits), "\(line.debugDescription)")
            }
        }
        #expect(Array("é".utf8).withUnsafeBufferPointer { Vocabulary.asciiWords($0, splitsPunctuation: true) } == nil)
    }

    @Test("a vocabulary survives JSON, and a damaged one is refused")
    func codable() throws {
        let vocabulary = Vocabulary(words: "a b\n", lowercases: true, endToken: "</s>", unknownToken: "<oov>")
        let data = try JSONEncoder().encode(vocabulary)
        #expect(try JSONDecoder().decode(Vocabulary.self, from: data) == vocabulary)
        let broken = #"{"level":"word","tokens":["a","a","<eos>"],"end_token":"<eos>","endToken":"<eos>"}"#
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(Vocabulary.self, from: Data(broken.utf8)) }
    }
}

@Suite("Text files")
struct TextFileTests {
    @Test("invalid UTF-8 is refused with its offset and line, or replaced when asked")
    func invalid() throws {
        let data = Data("ok\nbad ".utf8 + [0xC3, 0x28] + "\n".utf8)
        #expect(throws: TextFileError(path: "f.txt", problem: "it is not valid UTF-8 (a bad byte 0xC3 at offset 7, line 2); --replace-invalid-utf8 reads such bytes as U+FFFD")) {
            try TextFile.decode(data, path: "f.txt")
        }
        #expect(try TextFile.decode(data, path: "f.txt", replacingInvalid: true) == "ok\nbad \u{FFFD}(\n")
        #expect(throws: TextFileError(path: "e.txt", problem: "the file is empty")) { try TextFile.decode(Data(), path: "e.txt") }
        #expect(try TextFile.decode(Data("héllo".utf8), path: "u.txt") == "héllo")
    }
}

/// Every piece `TextFile.forEachPiece` gives for `path`.
private func pieces(_ path: String, pieceBytes: Int, cutsAnywhereASCII: Bool = false,
                    replacingInvalid: Bool = false) throws -> [(text: String, endsLine: Bool)] {
    var result: [(text: String, endsLine: Bool)] = []
    try TextFile.forEachPiece(path, pieceBytes: pieceBytes, replacingInvalid: replacingInvalid,
                              cutsAnywhereASCII: cutsAnywhereASCII) { result.append(($0, $1)) }
    return result
}

@Suite("Reading a corpus a piece at a time")
struct TextPieceTests {
    static let text = "the cat sat\nthe dog sat on the mat\né\u{301}tude ça va\r\nend of the very long line without a break here\nlast"

    @Test("pieces concatenate to the file's text and cut only after '\\n', or before a space in a long line",
          arguments: [1, 5, 16, 64, 1 << 20])
    func concatenate(pieceBytes: Int) throws {
        let path = try temporaryFile(Array(Self.text.utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        for anywhere in [false, true] {
            let parts = try pieces(path, pieceBytes: pieceBytes, cutsAnywhereASCII: anywhere)
            #expect(parts.map(\.text).joined() == Self.text)
            for (index, part) in parts.enumerated() where index + 1 < parts.count {
                if part.endsLine {
                    #expect(part.text.utf8.last == 0x0A, "a piece that ends its line ends with '\\n': \(part.text.debugDescription)")
                } else {
                    let next = parts[index + 1].text.unicodeScalars.first!
                    #expect(next.isASCII && (anywhere ? next.value > 0x20 || next == " " : next == " " || next == "\t"),
                            "a long line is cut before \(anywhere ? "printable ASCII" : "a space"), not before \(next)")
                }
            }
            #expect(parts.last!.endsLine)
            // Characters are never split: the pieces' characters are the text's.
            #expect(parts.flatMap { Array($0.text) } == Array(Self.text))
        }
    }

    @Test("errors in a later piece name the file's own offset and line; empty files, folders and missing files are refused")
    func errors() throws {
        let good = Array(String(repeating: "line of text\n", count: 40).utf8)   // 520 bytes, 40 lines
        let bad = try temporaryFile(good + Array("ok ".utf8) + [0xC3, 0x28] + Array("\n".utf8))
        let binary = try temporaryFile(good + [0x41, 0x00])
        let empty = try temporaryFile([])
        defer { [bad, binary, empty].forEach { try? FileManager.default.removeItem(atPath: $0) } }
        #expect(throws: TextFileError(path: bad, problem: "it is not valid UTF-8 (a bad byte 0xC3 at offset 523, line 41); --replace-invalid-utf8 reads such bytes as U+FFFD")) {
            _ = try pieces(bad, pieceBytes: 32)
        }
        #expect(try pieces(bad, pieceBytes: 32, replacingInvalid: true).map(\.text).joined().hasSuffix("ok \u{FFFD}(\n"))
        #expect(throws: TextFileError(path: binary, problem: "it looks binary, not text (a NUL byte at offset 521, line 41)")) {
            _ = try pieces(binary, pieceBytes: 32)
        }
        #expect(throws: TextFileError(path: empty, problem: "the file is empty")) { _ = try pieces(empty, pieceBytes: 32) }
        let folder = FileManager.default.temporaryDirectory.path
        #expect(throws: TextFileError(path: folder, problem: "it is a folder, not a file")) { _ = try pieces(folder, pieceBytes: 32) }
        #expect(throws: TextFileError(path: "/no/such/file.txt", problem: "there is no such file")) {
            _ = try pieces("/no/such/file.txt", pieceBytes: 32)
        }
    }

    @Test("counting and encoding piece by piece gives the vocabulary and ids of the whole text", arguments: Vocabulary.Level.allCases)
    func encodePieces(level: Vocabulary.Level) throws {
        let text = Self.text + "\n" + String(repeating: "a long line of words that goes on ", count: 6) + "\nthe end"
        let path = try temporaryFile(Array(text.utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        for lowercases in [false, true] {
            let whole = level == .char ? Vocabulary(characters: text, lowercases: lowercases)
                                       : Vocabulary(words: text, lowercases: lowercases)
            for pieceBytes in [7, 40, 1 << 20] {
                let parts = try pieces(path, pieceBytes: pieceBytes, cutsAnywhereASCII: level == .char)
                var counter = TokenCounter(level: level, lowercases: lowercases)
                for part in parts { counter.add(part.text) }
                let counted = level == .char ? Vocabulary(characters: counter) : Vocabulary(words: counter)
                #expect(counted == whole, "pieces of \(pieceBytes) bytes")
                let ids = try parts.flatMap { try whole.encode($0.text, completesLastLine: $0.endsLine) }
                #expect(ids == (try whole.encode(text)), "pieces of \(pieceBytes) bytes")
            }
        }
    }
}
