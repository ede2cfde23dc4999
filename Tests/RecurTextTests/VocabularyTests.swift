import Foundation
import Testing
@testable import RecurText

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
